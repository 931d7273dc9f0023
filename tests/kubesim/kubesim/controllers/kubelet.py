"""The kubelets of the simulated nodes: pod start-up, readiness, crash loops and graceful termination.

The behaviour model lives on the pod (copied from its template):

- ``kubesim.cxpe.io/ready-after: "<simulated seconds>"`` (default 2): the containers run at once
  and turn Ready that long after they started.
- ``kubesim.cxpe.io/crash-loop: "true"``, or a container image tag ending in ``-crashloop``: the
  container exits as it starts and is restarted with the kubelet's exponential back-off, so the
  pod never turns Ready and its restart count keeps growing.

The pod is Ready when its containers are and every condition its ``readinessGates`` name is True.

A pod with a deletionTimestamp goes through the schedule :mod:`kubesim.lifecycle` computes: the
preStop hook (still serving, still Ready), SIGTERM, then the app drains, exits or ignores the
signal; the pod is removed once its containers have stopped, at the latest when the grace period
(in simulated seconds) has passed.

The kubelet's events go with the status writes that show what they report: Pulled, Created and
Started for each container that starts (again, for a restart), BackOff when a crashing one waits
to be restarted, Killing for each running container of a pod being deleted.
"""

import hashlib

from .. import resources
from ..lifecycle import DRAIN
from ..traffic.behaviour import image_tag, number
from .events import NORMAL, WARNING, container_field_path
from .meta import annotations, earliest, find_condition, is_deleting, mutate_if_changed, name_of, namespace_of, uid_of
from .pods import PodController, is_ready, phase

READY_AFTER_ANNOTATION = "kubesim.cxpe.io/ready-after"
CRASH_LOOP_ANNOTATION = "kubesim.cxpe.io/crash-loop"
CRASH_LOOP_TAG_SUFFIX = "-crashloop"
DEFAULT_READY_AFTER_SECONDS = 2.0
# The kubelet's restart back-off: 10s, doubling, at most five minutes (simulated seconds).
BACKOFF_INITIAL_SECONDS = 10
BACKOFF_MAX_SECONDS = 300
_CONDITION_ORDER = ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")
COMPONENT = "kubelet"
# How often (real seconds) a draining pod looks again for the traffic model's word that its app has exited.
DRAIN_RECHECK_SECONDS = 0.05


def ready_after(pod):
    return max(number(annotations(pod).get(READY_AFTER_ANNOTATION), DEFAULT_READY_AFTER_SECONDS), 0.0)


def crash_loops(pod, container):
    return (annotations(pod).get(CRASH_LOOP_ANNOTATION, "").lower() == "true"
            or image_tag(container.get("image")).endswith(CRASH_LOOP_TAG_SUFFIX))


def backoff(restarts):
    """The back-off (simulated seconds) before restart number ``restarts + 1``."""
    return min(BACKOFF_INITIAL_SECONDS * 2 ** min(restarts, 16), BACKOFF_MAX_SECONDS)


def restarts_after(elapsed):
    """(restarts done, simulated seconds until the next) for a container crashing since ``elapsed`` ago."""
    restarts, next_restart = 0, backoff(0)
    while next_restart <= elapsed:
        restarts += 1
        next_restart += backoff(restarts)
    return restarts, next_restart - elapsed


def _digest(*parts):
    return hashlib.sha256("/".join(parts).encode()).hexdigest()


def image_id(image):
    repository = image.split("@", 1)[0]
    last = repository.rsplit("/", 1)
    if ":" in last[-1]:
        repository = repository[: repository.rindex(":")]
    return f"{repository}@sha256:{_digest(image)}"


def go_duration(milliseconds):
    """A millisecond-truncated time.Duration as Go prints it: 512ms, 1s, 1.203s."""
    if milliseconds < 1000:
        return f"{milliseconds}ms"
    return f"{milliseconds / 1000:.3f}".rstrip("0").rstrip(".") + "s"


def pull_messages(container):
    """(reason, message) of the image events before a container is created, as the image manager words them."""
    image = container.get("image", "")
    if container.get("imagePullPolicy") != "Always":
        return [("Pulled", f'Container image "{image}" already present on machine')]
    # A pull that takes a plausible, stable time for the image and reports a stable size.
    seed = int(_digest(image)[:8], 16)
    took = go_duration(200 + seed % 1800)
    return [("Pulling", f'Pulling image "{image}"'),
            ("Pulled", f'Successfully pulled image "{image}" in {took} ({took} including waiting). Image size: {20_000_000 + seed % 80_000_000} bytes.')]


def restart_counts(pod):
    return {c["name"]: c.get("restartCount", 0) for c in (pod.get("status") or {}).get("containerStatuses") or []}


def _condition_rank(condition):
    kind = condition.get("type")
    return _CONDITION_ORDER.index(kind) if kind in _CONDITION_ORDER else len(_CONDITION_ORDER)


def _merge_conditions(current, desired, now):
    """The pod's conditions with ``desired`` applied, in the kubelet's order (others, like a
    DisruptionTarget, stay); lastTransitionTime moves only when a condition's status changes."""
    desired_types = [c["type"] for c in desired]
    merged = [c for c in current or [] if c.get("type") not in desired_types]
    for condition in desired:
        previous = find_condition(current, condition["type"])
        changed = previous is None or previous.get("status") != condition["status"]
        merged.append(dict(condition, lastProbeTime=None, lastTransitionTime=now if changed else previous.get("lastTransitionTime", now)))
    return sorted(merged, key=_condition_rank)


def _not_ready(condition_type, containers):
    names = " ".join(sorted(c["name"] for c in containers))
    return {"type": condition_type, "status": "False", "reason": "ContainersNotReady", "message": f"containers with unready status: [{names}]"}


def _unmet_readiness_gates(pod, conditions):
    """The kubelet's message for each readiness gate whose condition is not True."""
    messages = []
    for gate in (pod.get("spec") or {}).get("readinessGates") or []:
        gate_type = gate.get("conditionType", "")
        condition = find_condition(conditions, gate_type)
        if condition is None:
            messages.append(f'corresponding condition of pod readiness gate "{gate_type}" does not exist.')
        elif condition.get("status") != "True":
            messages.append(f'the status of pod readiness gate "{gate_type}" is not "True", but {condition.get("status")}')
    return messages


def _pod_ready(pod, containers_ready, conditions):
    """The Ready condition: the containers' readiness, then the readiness gates'."""
    gates = _unmet_readiness_gates(pod, conditions)
    if containers_ready["status"] == "True" and not gates:
        return dict(containers_ready, type="Ready")
    if containers_ready["status"] == "True":
        return {"type": "Ready", "status": "False", "reason": "ReadinessGatesNotReady", "message": ", ".join(gates)}
    return dict(containers_ready, type="Ready", message=", ".join([containers_ready["message"], *gates]))


def _running_container(container, pod_uid, current, ready, now):
    started_at = ((current or {}).get("state") or {}).get("running", {}).get("startedAt", now)
    restarts = (current or {}).get("restartCount", 0)
    return {
        "name": container["name"], "image": container.get("image", ""), "imageID": image_id(container.get("image", "")),
        "containerID": f"containerd://{_digest(pod_uid, container['name'], str(restarts))}",
        "ready": ready, "started": True, "restartCount": restarts,
        "state": {"running": {"startedAt": started_at}}, "lastState": (current or {}).get("lastState", {}),
    }


def _crashing_container(container, pod, current, restarts, now):
    if current is not None and current.get("restartCount") == restarts and "waiting" in (current.get("state") or {}):
        return current
    uid = uid_of(pod)
    previous_id = f"containerd://{_digest(uid, container['name'], str(max(restarts - 1, 0)))}"
    return {
        "name": container["name"], "image": container.get("image", ""), "imageID": image_id(container.get("image", "")),
        "containerID": previous_id, "ready": False, "started": False, "restartCount": restarts,
        "state": {"waiting": {
            "reason": "CrashLoopBackOff",
            "message": f"back-off {backoff(restarts)}s restarting failed container={container['name']} "
                       f"pod={name_of(pod)}_{namespace_of(pod)}({uid})",
        }},
        "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "startedAt": now, "finishedAt": now, "containerID": previous_id}},
    }


def _completed_init_container(container, pod_uid, start_stamp):
    return {
        "name": container["name"], "image": container.get("image", ""), "imageID": image_id(container.get("image", "")),
        "containerID": f"containerd://{_digest(pod_uid, container['name'], 'init')}",
        "ready": True, "started": False, "restartCount": 0, "lastState": {},
        "state": {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": start_stamp, "finishedAt": start_stamp}},
    }


class Kubelet(PodController):
    """Runs the pods bound to the simulated nodes."""

    def __init__(self, store, clock, ready_times, recorder, terminations):
        super().__init__(store, clock, ready_times, recorder)
        self.terminations = terminations
        self._stopping = set()  # uids of deleted pods whose containers were told to stop
        self._started = {}  # pod uid -> (monotonic, wall) when its containers started
        self._next_ip = {}  # node name -> next host number to try in its pod CIDR
        # The grace period runs from the deletion itself, not from the next pass of the engine.
        store.add_listener(self._notice_deletion)

    def reconcile(self):
        listed_at = self.clock.now()
        nodes = {name_of(node): node for node in self.store.list(resources.NODES)[0]}
        pods, _ = self.store.list(resources.PODS)
        delays = []
        for pod in pods:
            node = nodes.get((pod.get("spec") or {}).get("nodeName"))
            if is_deleting(pod):
                delays.append(self._terminate(pod, node))
            elif node is not None:
                delays.append(self._run(pod, node, pods))
        self._forget({uid_of(pod) for pod in pods}, listed_at)
        return earliest(delays)

    def _forget(self, live, listed_at):
        for uid in set(self._started) - live:
            del self._started[uid]
        self._stopping &= live
        self.terminations.forget(live, listed_at)
        self.ready_times.forget(live)

    # ---------------------------------------------------------------- running

    def _start_time(self, pod):
        uid = uid_of(pod)
        if uid not in self._started:
            stamp = (pod.get("status") or {}).get("startTime")
            wall = self.clock.parse_timestamp(stamp) if stamp else self.clock.wall()
            self._started[uid] = (self.clock.monotonic_at(wall), wall)
        return self._started[uid]

    def _run(self, pod, node, pods):
        """Bring the pod's status to what its containers are doing now; returns when to look again."""
        started_mono, started_wall = self._start_time(pod)
        elapsed = self.clock.simulated_seconds(self.clock.monotonic() - started_mono)
        containers = (pod.get("spec") or {}).get("containers") or []
        crashing = [c for c in containers if crash_loops(pod, c)]
        restarts, until_restart = restarts_after(elapsed)
        ready = not crashing and elapsed >= ready_after(pod)
        pod_ip = (pod.get("status") or {}).get("podIP") or self._allocate_ip(node, pods)
        now = self.clock.timestamp()

        def change(target):
            self._running_status(target, node, pod_ip, ready, restarts if crashing else 0, self.clock.timestamp(started_wall), now)

        updated = mutate_if_changed(self.store, resources.PODS, pod, change, subresource="status")
        if updated is not None:
            self._record_starts(pod, updated, name_of(node))
            if is_ready(updated):
                self.ready_times.mark_ready(updated)
        if crashing:
            return self.clock.real_seconds(until_restart)
        if not ready:
            return self.clock.real_seconds(ready_after(pod) - elapsed)
        return None

    def _running_status(self, pod, node, pod_ip, ready, restarts, start_stamp, now):
        status = pod.setdefault("status", {})
        spec = pod.get("spec") or {}
        current = {c["name"]: c for c in status.get("containerStatuses") or []}
        statuses = []
        for container in spec.get("containers") or []:
            if crash_loops(pod, container):
                statuses.append(_crashing_container(container, pod, current.get(container["name"]), restarts, now))
            else:
                statuses.append(_running_container(container, uid_of(pod), current.get(container["name"]), ready, now))
        unready = [c for c in statuses if not c["ready"]]
        containers_ready = _not_ready("ContainersReady", unready) if unready else {"type": "ContainersReady", "status": "True"}
        pod_ready = _pod_ready(pod, containers_ready, status.get("conditions"))
        scheduled = find_condition(status.get("conditions"), "PodScheduled") or {"type": "PodScheduled", "status": "True"}
        desired = [{"type": "PodReadyToStartContainers", "status": "True"}, {"type": "Initialized", "status": "True"},
                   pod_ready, containers_ready, {k: v for k, v in scheduled.items() if k not in ("lastProbeTime", "lastTransitionTime")}]
        host_ip = next((a["address"] for a in (node.get("status") or {}).get("addresses") or [] if a.get("type") == "InternalIP"), "")
        status.update(
            phase="Running", conditions=_merge_conditions(status.get("conditions"), desired, now),
            hostIP=host_ip, hostIPs=[{"ip": host_ip}], podIP=pod_ip, podIPs=[{"ip": pod_ip}],
            startTime=status.get("startTime") or start_stamp,
            containerStatuses=sorted(statuses, key=lambda c: c["name"]),
        )
        if spec.get("initContainers"):
            status["initContainerStatuses"] = [_completed_init_container(c, uid_of(pod), start_stamp) for c in spec["initContainers"]]

    def _record_starts(self, before, after, host):
        """The events of the containers this status write started: all of them when the pod starts,
        the crashed ones whose restart count went up later on."""
        spec = before.get("spec") or {}
        first_start = phase(before) != "Running"
        restarts_before, restarts_after_write = restart_counts(before), restart_counts(after)
        started = [(c, True) for c in spec.get("initContainers") or []] if first_start else []
        started += [(c, False) for c in spec.get("containers") or []
                    if first_start or restarts_after_write.get(c["name"], 0) > restarts_before.get(c["name"], 0)]
        for container, init in started:
            field_path = container_field_path(container["name"], init)
            events = pull_messages(container) + [("Created", f"Created container: {container['name']}"),
                                                 ("Started", f"Started container {container['name']}")]
            for reason, message in events:
                self.recorder.record(before, NORMAL, reason, message, COMPONENT, field_path=field_path, host=host)
            if not init and crash_loops(before, container):
                message = (f"Back-off restarting failed container {container['name']} in pod "
                           f"{name_of(before)}_{namespace_of(before)}({uid_of(before)})")
                self.recorder.record(before, WARNING, "BackOff", message, COMPONENT, field_path=field_path, host=host)

    def _allocate_ip(self, node, pods):
        """The next free address of the node's pod CIDR (10.244.<node>.2 upwards), cycling so a freed
        address is not handed out again at once."""
        prefix = ".".join(((node.get("spec") or {}).get("podCIDR") or "10.244.0.0/24").split("/")[0].split(".")[:3])
        used = {(p.get("status") or {}).get("podIP") for p in pods}
        host = self._next_ip.get(name_of(node), 2)
        for _ in range(253):
            candidate = f"{prefix}.{host}"
            host = host + 1 if host < 254 else 2
            if candidate not in used:
                self._next_ip[name_of(node)] = host
                return candidate
        raise RuntimeError(f"node {name_of(node)} has no free pod address")

    # ---------------------------------------------------------------- termination

    def _notice_deletion(self, event_type, rtype, obj):
        if event_type == "MODIFIED" and rtype.key == resources.PODS.key and is_deleting(obj) and (obj.get("spec") or {}).get("nodeName"):
            self.terminations.begin(obj, self.clock.now())

    def _terminate(self, pod, node):
        """Follow the pod's termination schedule: Ready while its preStop hook runs, NotReady once
        its app stops answering its readiness probe, removed once its containers have stopped (at
        once if it never ran)."""
        if node is None:
            self._finish(pod)
            return None
        now = self.clock.now()
        termination = self.terminations.begin(pod, now)
        if uid_of(pod) not in self._stopping:
            self._stopping.add(uid_of(pod))
            self._record_killing(pod, name_of(node))
        if now >= termination.stopped_at:
            self._finish(pod)
            return None
        if not termination.ready_at(now):
            self.ready_times.mark_not_ready(pod)
            stamp = self.clock.timestamp()
            mutate_if_changed(self.store, resources.PODS, pod, lambda p: _stop_serving(p, stamp), subresource="status")
        next_change = min(moment for moment in (termination.sigterm_at, termination.stopped_at) if moment > now)
        delay = self.clock.real_seconds(next_change - now)
        if termination.on_sigterm == DRAIN and termination.drain_ends_at is None and now >= termination.sigterm_at:
            # The traffic model says when the app's last session ends.
            delay = min(delay, DRAIN_RECHECK_SECONDS)
        return delay

    def _record_killing(self, pod, host):
        """Killing for each running container: one in a crash loop's back-off has nothing to stop."""
        for status in (pod.get("status") or {}).get("containerStatuses") or []:
            if "running" in (status.get("state") or {}):
                self.recorder.record(pod, NORMAL, "Killing", f"Stopping container {status['name']}", COMPONENT,
                                     field_path=container_field_path(status["name"]), host=host)

    def _finish(self, pod):
        """The containers have stopped: the pod goes, unless finalizers hold it (then it shows as finished)."""
        if not pod["metadata"].get("finalizers"):
            self.store.remove(resources.PODS, namespace_of(pod), name_of(pod))
            return
        if phase(pod) in ("Succeeded", "Failed"):
            return
        stamp = self.clock.timestamp()
        mutate_if_changed(self.store, resources.PODS, pod, lambda p: _stopped(p, stamp), subresource="status")


def _stop_serving(pod, now):
    """A terminating pod whose app no longer answers its readiness probe: still running, not Ready."""
    status = pod.setdefault("status", {})
    containers = status.get("containerStatuses") or []
    if not containers:
        return
    for container in containers:
        container["ready"] = False
    unready = _not_ready("ContainersReady", containers)
    status["conditions"] = _merge_conditions(status.get("conditions"), [dict(unready, type="Ready"), unready], now)


def _stopped(pod, now):
    status = pod.setdefault("status", {})
    for container in status.get("containerStatuses") or []:
        running = (container.get("state") or {}).get("running") or {}
        container.update(ready=False, started=False, state={"terminated": {
            "exitCode": 0, "reason": "Completed", "startedAt": running.get("startedAt", now), "finishedAt": now,
            "containerID": container.get("containerID", "")}})
    status["phase"] = "Succeeded"
    _stop_serving(pod, now)
