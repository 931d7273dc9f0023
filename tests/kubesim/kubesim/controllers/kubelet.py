"""The kubelets of the simulated nodes: image pulls, pod start-up, readiness, crash loops and graceful termination.

The behaviour model lives on the pod (copied from its template):

- ``kubesim.cxpe.io/ready-after: "<simulated seconds>"`` (default 2): the containers turn Ready that
  long after they started.
- ``kubesim.cxpe.io/crash-loop: "true"``, or a container image tag ending in ``-crashloop``: the
  container exits as it starts and is restarted with the kubelet's exponential back-off, so the
  pod never turns Ready and its restart count keeps growing.

Before a container starts its image is found on the node or pulled, as the image manager
(``pulls.py``) decides: the container waits ``ContainerCreating`` (the pod Pending) while its image
is pulled; an image the registry does not have leaves it in ``ErrImagePull`` / ``ImagePullBackOff``.

The pod is Ready when its containers are and every condition its ``readinessGates`` name is True.

A pod with a deletionTimestamp goes through the schedule :mod:`kubesim.lifecycle` computes: the
preStop hook (still serving, still Ready), SIGTERM, then the app drains, exits or ignores the
signal; the pod is removed once its containers have stopped, at the latest when the grace period
(in simulated seconds) has passed.

The kubelet's events go with what they report: Pulling (and Failed, BackOff for a failed pull) as
a pull goes, Pulled, Created and Started for each container that starts (again, for a restart),
BackOff when a crashing one waits to be restarted, Killing for each running container of a pod
being deleted.
"""

import hashlib
import math
from dataclasses import dataclass

from .. import resources
from ..images import ImageRegistry
from ..lifecycle import DRAIN
from ..traffic.behaviour import image_tag, number
from . import pulls
from .events import NORMAL, WARNING, container_field_path
from .meta import annotations, controller_reference, earliest, find_condition, is_deleting, mutate_if_changed, name_of, namespace_of, uid_of
from .pods import PodController, is_ready, phase
from .pulls import backoff

READY_AFTER_ANNOTATION = "kubesim.cxpe.io/ready-after"
CRASH_LOOP_ANNOTATION = "kubesim.cxpe.io/crash-loop"
COMPLETE_AFTER_ANNOTATION = "kubesim.cxpe.io/complete-after"
EXIT_CODE_ANNOTATION = "kubesim.cxpe.io/exit-code"
DEFAULT_JOB_RUN_SECONDS = 5.0
CRASH_LOOP_TAG_SUFFIX = "-crashloop"
DEFAULT_READY_AFTER_SECONDS = 2.0
_CONDITION_ORDER = ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")
# Waiting reasons of a container whose image is not there yet: it has never started.
_IMAGE_WAITS = (pulls.CREATING, pulls.ERR_IMAGE_PULL, pulls.IMAGE_PULL_BACKOFF, pulls.ERR_IMAGE_NEVER_PULL)
COMPONENT = "kubelet"
# How often (real seconds) a draining pod looks again for the traffic model's word that its app has exited.
DRAIN_RECHECK_SECONDS = 0.05


def ready_after(pod):
    return max(number(annotations(pod).get(READY_AFTER_ANNOTATION), DEFAULT_READY_AFTER_SECONDS), 0.0)


def crash_loops(pod, container):
    return (annotations(pod).get(CRASH_LOOP_ANNOTATION, "").lower() == "true"
            or image_tag(container.get("image")).endswith(CRASH_LOOP_TAG_SUFFIX))


def restart_policy(pod):
    return (pod.get("spec") or {}).get("restartPolicy") or "Always"


def run_seconds(pod):
    """How long (simulated) each run of the pod's containers lasts before they exit, or None if they run until
    stopped. Only containers their restart policy lets finish (Never, OnFailure) do: after the complete-after
    annotation, by default a few seconds for a Job's pod."""
    if restart_policy(pod) == "Always":
        return None
    seconds = number(annotations(pod).get(COMPLETE_AFTER_ANNOTATION), None)
    if seconds is None and (controller_reference(pod) or {}).get("kind") == "Job":
        seconds = DEFAULT_JOB_RUN_SECONDS
    return None if seconds is None else max(seconds, 0.0)


def exit_code(pod):
    try:
        return int(annotations(pod).get(EXIT_CODE_ANNOTATION, 0))
    except ValueError:
        return 0


def restarts_after(elapsed, run=0.0):
    """(restarts so far, whether a run is going on, simulated seconds until that changes) for a container that
    started ``elapsed`` ago and exits ``run`` seconds into each run (0: as it starts, a crash loop), restarted
    each time after the kubelet's back-off."""
    restarts, start = 0, 0.0
    while True:
        if elapsed < start + run:
            return restarts, True, start + run - elapsed
        next_start = start + run + backoff(restarts)
        if elapsed < next_start:
            return restarts, False, next_start - elapsed
        restarts, start = restarts + 1, next_start


@dataclass(frozen=True)
class ContainerNow:
    """What one container of a pod is doing at a moment: waiting for its image (``waiting``), or started
    ``started_after`` simulated seconds after its pod started; then running, exited for good
    (``exit_code`` set, not ``crashing``) or waiting to be restarted (``crashing``, after exiting with
    ``exit_code``), ``restarts`` times restarted so far. ``next_change``: simulated seconds until that
    changes (None: not by itself)."""

    pull: pulls.Pull
    waiting: pulls.Waiting | None = None
    started_after: float = 0.0
    crashing: bool = False
    exit_code: int | None = None
    restarts: int = 0
    next_change: float | None = None

    @property
    def running(self):
        return self.waiting is None and not self.crashing and self.exit_code is None


def container_now(pod, container, pull, elapsed):
    if not pull.starts or elapsed < pull.seconds:
        waiting = pulls.waiting(pull, elapsed)
        return ContainerNow(pull, waiting=waiting, next_change=waiting.next_step_in)
    started = elapsed - pull.seconds
    if crash_loops(pod, container):
        restarts, _, until_restart = restarts_after(started)
        return ContainerNow(pull, started_after=pull.seconds, crashing=True, exit_code=1, restarts=restarts, next_change=until_restart)
    run = run_seconds(pod)
    if run is None:
        return ContainerNow(pull, started_after=pull.seconds)
    code = exit_code(pod)
    if code == 0 or restart_policy(pod) == "Never":
        if started < run:
            return ContainerNow(pull, started_after=pull.seconds, next_change=run - started)
        return ContainerNow(pull, started_after=pull.seconds, exit_code=code)
    restarts, in_run, until = restarts_after(started, run)
    return ContainerNow(pull, started_after=pull.seconds, crashing=not in_run, exit_code=None if in_run else code, restarts=restarts,
                        next_change=until)


def pod_phase(now_of):
    """Pending while a container has never started, Succeeded or Failed once every container exited for good, else Running."""
    states = list(now_of.values())
    if any(state.waiting is not None for state in states):
        return "Pending"
    if states and all(state.exit_code is not None and not state.crashing for state in states):
        return "Succeeded" if all(state.exit_code == 0 for state in states) else "Failed"
    return "Running"


def _digest(*parts):
    return hashlib.sha256("/".join(parts).encode()).hexdigest()


def image_id(image):
    repository = image.split("@", 1)[0]
    last = repository.rsplit("/", 1)
    if ":" in last[-1]:
        repository = repository[: repository.rindex(":")]
    return f"{repository}@sha256:{_digest(image)}"


def waits_for_image(container_status):
    return ((container_status.get("state") or {}).get("waiting") or {}).get("reason") in _IMAGE_WAITS


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


def _running_container(container, pod_uid, current, ready, now, restarts):
    started_at = ((current or {}).get("state") or {}).get("running", {}).get("startedAt", now)
    return {
        "name": container["name"], "image": container.get("image", ""), "imageID": image_id(container.get("image", "")),
        "containerID": f"containerd://{_digest(pod_uid, container['name'], str(restarts))}",
        "ready": ready, "started": True, "restartCount": restarts,
        "state": {"running": {"startedAt": started_at}}, "lastState": (current or {}).get("lastState", {}),
    }


def _readiness_conditions(pod, statuses, phase_now, conditions):
    """The pod conditions the kubelet reports besides PodScheduled: a finished pod's say why it is not Ready."""
    if phase_now in ("Succeeded", "Failed"):
        reason = "PodCompleted" if phase_now == "Succeeded" else "PodFailed"
        return [{"type": "PodReadyToStartContainers", "status": "False"}, {"type": "Initialized", "status": "True", "reason": "PodCompleted"},
                {"type": "Ready", "status": "False", "reason": reason}, {"type": "ContainersReady", "status": "False", "reason": reason}]
    unready = [c for c in statuses if not c["ready"]]
    containers_ready = _not_ready("ContainersReady", unready) if unready else {"type": "ContainersReady", "status": "True"}
    return [{"type": "PodReadyToStartContainers", "status": "True"}, {"type": "Initialized", "status": "True"},
            _pod_ready(pod, containers_ready, conditions), containers_ready]


def _waiting_container(container, reason):
    """A container that has not started: its image is being pulled, or cannot be."""
    waiting = {"reason": reason}
    message = pulls.waiting_message(reason, container.get("image", ""))
    if message:
        waiting["message"] = message
    return {"name": container["name"], "image": container.get("image", ""), "imageID": "", "ready": False, "started": False,
            "restartCount": 0, "state": {"waiting": waiting}, "lastState": {}}


def _terminated_container(container, pod_uid, current, restarts, code, now):
    """A container that exited for good (its restart policy keeps it down)."""
    state = (current or {}).get("state") or {}
    if "terminated" in state:
        return current
    container_id = f"containerd://{_digest(pod_uid, container['name'], str(restarts))}"
    return {
        "name": container["name"], "image": container.get("image", ""), "imageID": image_id(container.get("image", "")),
        "containerID": container_id, "ready": False, "started": False, "restartCount": restarts, "lastState": (current or {}).get("lastState", {}),
        "state": {"terminated": {"exitCode": code, "reason": "Completed" if code == 0 else "Error",
                                 "startedAt": (state.get("running") or {}).get("startedAt", now), "finishedAt": now, "containerID": container_id}},
    }


def _crashing_container(container, pod, current, restarts, now, code=1):
    current_wait = ((current or {}).get("state") or {}).get("waiting") or {}
    if current is not None and current.get("restartCount") == restarts and current_wait.get("reason") == "CrashLoopBackOff":
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
        "lastState": {"terminated": {"exitCode": code, "reason": "Error", "startedAt": now, "finishedAt": now, "containerID": previous_id}},
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

    field_manager = COMPONENT

    def __init__(self, store, clock, ready_times, recorder, terminations, images=None):
        super().__init__(store, clock, ready_times, recorder)
        self.terminations = terminations
        self._settled = {}  # pod uid -> ((pod, node resourceVersions), monotonic moment its answer expires) of a pass that wrote nothing
        self.images = images or ImageRegistry()
        self._node_images = {}  # node name -> images pulled there
        self._pulls = {}  # pod uid -> {container name: Pull}
        self._pull_steps = {}  # (pod uid, container name) -> the last pull step whose events were recorded
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
                delays.append(self._run_unless_settled(pod, node, pods))
        self._forget({uid_of(pod) for pod in pods}, listed_at)
        return earliest(delays)

    def _run_unless_settled(self, pod, node, pods):
        """Run the pod, unless neither it nor its node changed since a pass that found nothing to
        write and its next timer has not come: then that pass's answer still holds."""
        versions = (pod["metadata"]["resourceVersion"], node["metadata"]["resourceVersion"])
        settled = self._settled.get(uid_of(pod))
        now = self.clock.monotonic()
        if settled is not None and settled[0] == versions and settled[1] > now:
            return None if settled[1] == math.inf else settled[1] - now
        delay, wrote = self._run(pod, node, pods)
        if wrote:
            self._settled.pop(uid_of(pod), None)
        else:
            self._settled[uid_of(pod)] = (versions, math.inf if delay is None else now + delay)
        return delay

    def _forget(self, live, listed_at):
        for uid in set(self._started) - live:
            del self._started[uid]
        for uid in set(self._settled) - live:
            del self._settled[uid]
        for uid in set(self._pulls) - live:
            del self._pulls[uid]
        for key in [key for key in self._pull_steps if key[0] not in live]:
            del self._pull_steps[key]
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

    def _pull_plans(self, pod, node):
        """{container name: Pull}, decided once, when the kubelet first runs the pod."""
        uid = uid_of(pod)
        if uid not in self._pulls:
            held = self._node_images.setdefault(name_of(node), set())
            self._pulls[uid] = {
                c["name"]: pulls.plan(c, c.get("image", "") in held or self.images.preloaded_on_nodes(c.get("image", "")), self.images)
                for c in (pod.get("spec") or {}).get("containers") or []
            }
        return self._pulls[uid]

    def _run(self, pod, node, pods):
        """Bring the pod's status to what its containers are doing now; returns (when to look again,
        whether it wrote)."""
        started_mono, started_wall = self._start_time(pod)
        elapsed = self.clock.simulated_seconds(self.clock.monotonic() - started_mono)
        plans = self._pull_plans(pod, node)
        containers = (pod.get("spec") or {}).get("containers") or []
        now_of = {c["name"]: container_now(pod, c, plans[c["name"]], elapsed) for c in containers}
        running = all(n.running for n in now_of.values())
        ready_at = max((n.started_after for n in now_of.values()), default=0.0) + ready_after(pod)
        ready = running and elapsed >= ready_at
        pod_ip = (pod.get("status") or {}).get("podIP") or self._allocate_ip(node, pods)
        now = self.clock.timestamp()

        def change(target):
            self._running_status(target, node, pod_ip, now_of, ready, self.clock.timestamp(started_wall), now)

        self._record_pull_steps(pod, containers, now_of, name_of(node))
        updated = mutate_if_changed(self.store, resources.PODS, pod, change, subresource="status")
        if updated is not None:
            self._record_starts(pod, updated, name_of(node), plans)
            if is_ready(updated):
                self.ready_times.mark_ready(updated)
            else:
                self.ready_times.mark_not_ready(updated)
        held = self._node_images.setdefault(name_of(node), set())
        held.update(c.get("image", "") for c in containers if now_of[c["name"]].waiting is None)
        delays = [n.next_change for n in now_of.values()] + ([ready_at - elapsed] if running and not ready else [])
        return earliest(self.clock.real_seconds(delay) for delay in delays if delay is not None), updated is not None

    def _running_status(self, pod, node, pod_ip, now_of, ready, start_stamp, now):
        status = pod.setdefault("status", {})
        spec = pod.get("spec") or {}
        current = {c["name"]: c for c in status.get("containerStatuses") or []}
        statuses = []
        for container in spec.get("containers") or []:
            state, previous = now_of[container["name"]], current.get(container["name"])
            if state.waiting is not None:
                statuses.append(_waiting_container(container, state.waiting.reason))
            elif state.crashing:
                statuses.append(_crashing_container(container, pod, previous, state.restarts, now, state.exit_code))
            elif state.exit_code is not None:
                statuses.append(_terminated_container(container, uid_of(pod), previous, state.restarts, state.exit_code, now))
            else:
                statuses.append(_running_container(container, uid_of(pod), previous, ready, now, state.restarts))
        phase_now = pod_phase(now_of)
        scheduled = find_condition(status.get("conditions"), "PodScheduled") or {"type": "PodScheduled", "status": "True"}
        desired = _readiness_conditions(pod, statuses, phase_now, status.get("conditions")) + [{k: v for k, v in scheduled.items() if k not in ("lastProbeTime", "lastTransitionTime")}]
        host_ip = next((a["address"] for a in (node.get("status") or {}).get("addresses") or [] if a.get("type") == "InternalIP"), "")
        status.update(
            phase=phase_now, conditions=_merge_conditions(status.get("conditions"), desired, now),
            hostIP=host_ip, hostIPs=[{"ip": host_ip}], podIP=pod_ip, podIPs=[{"ip": pod_ip}],
            startTime=status.get("startTime") or start_stamp,
            containerStatuses=sorted(statuses, key=lambda c: c["name"]),
        )
        if spec.get("initContainers"):
            status["initContainerStatuses"] = [_completed_init_container(c, uid_of(pod), start_stamp) for c in spec["initContainers"]]

    def _record_pull_steps(self, pod, containers, now_of, host):
        """The image manager's events for each step a pull has reached since the last pass (Pulling, a
        failure, a back-off); a pull that already finished gets its Pulling before its Pulled."""
        for container in containers:
            container_state = now_of[container["name"]]
            key = (uid_of(pod), container["name"])
            if container_state.waiting is not None:
                reached = container_state.waiting.step
            elif container_state.pull.outcome == pulls.PULLED:
                reached = 0
            else:
                continue
            last = self._pull_steps.get(key, -1)
            if reached <= last:
                continue
            self._pull_steps[key] = reached
            for step in range(last + 1, reached + 1):
                for event_type, reason, message in pulls.step_events(container_state.pull, container.get("image", ""), step):
                    self.recorder.record(pod, event_type, reason, message, COMPONENT, field_path=container_field_path(container["name"]), host=host)

    def _record_starts(self, before, after, host, plans):
        """The events of the containers this status write started: the init containers and each container
        when it first runs, the crashed ones whose restart count went up later on."""
        spec = before.get("spec") or {}
        before_statuses = {c["name"]: c for c in (before.get("status") or {}).get("containerStatuses") or []}
        after_statuses = {c["name"]: c for c in (after.get("status") or {}).get("containerStatuses") or []}
        started = [(c, True, pulls.Pull(pulls.PRESENT), True) for c in spec.get("initContainers") or []] if not before_statuses else []
        for container in spec.get("containers") or []:
            now_status, was = after_statuses.get(container["name"]), before_statuses.get(container["name"])
            if now_status is None or waits_for_image(now_status):
                continue
            first = was is None or waits_for_image(was)
            if first or now_status.get("restartCount", 0) > was.get("restartCount", 0):
                started.append((container, False, plans[container["name"]], first))
        for container, init, pull, first in started:
            field_path = container_field_path(container["name"], init)
            events = pulls.start_events(container, pull, first) + [("Created", f"Created container: {container['name']}"),
                                                                   ("Started", f"Started container {container['name']}")]
            for reason, message in events:
                self.recorder.record(before, NORMAL, reason, message, COMPONENT, field_path=field_path, host=host)
            backing_off = ((after_statuses.get(container["name"]) or {}).get("state") or {}).get("waiting", {}).get("reason") == "CrashLoopBackOff"
            if not init and backing_off:
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
