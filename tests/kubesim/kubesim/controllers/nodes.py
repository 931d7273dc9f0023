"""The simulated nodes and the scheduler that places pods on them."""

from .. import resources
from ..selectors import matches
from .events import NORMAL, WARNING
from .meta import find_condition, is_deleting, labels, mutate_if_changed, name_of, namespace_of, try_write
from .pods import TERMINAL_PHASES, phase
from .taints import tolerates
from .volumes import SELECTED_NODE, claim_names

NODE_POOL_LABEL = "cxpe.io/node-pool"
NODE_POOLS = ("general", "realtime")
KUBELET_VERSION = "v1.32.4"
_TAINT_EFFECTS_THAT_BLOCK = ("NoSchedule", "NoExecute")
_UNSCHEDULABLE_TAINT = "node.kubernetes.io/unschedulable"
SCHEDULER_NAME = "default-scheduler"


def node_name(index):
    return f"kubesim-node-{index}"


def node_host_ip(index):
    return f"172.18.0.{index + 1}"


def node_pod_cidr(index):
    return f"10.244.{index}.0/24"


def new_node(index, created_at):
    """Node ``index`` (from 1) as its kubelet registers it: Ready, with capacity and addresses."""
    name = node_name(index)
    capacity = {"cpu": "8", "memory": "32863636Ki", "pods": "110", "ephemeral-storage": "102626232Ki", "hugepages-2Mi": "0"}
    allocatable = dict(capacity, memory="32761236Ki", **{"ephemeral-storage": "94580335255"})
    healthy = [
        ("MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
        ("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
        ("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
    ]
    conditions = [
        {"type": kind, "status": "False", "reason": reason, "message": message,
         "lastHeartbeatTime": created_at, "lastTransitionTime": created_at}
        for kind, reason, message in healthy
    ]
    conditions.append({"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status",
                       "lastHeartbeatTime": created_at, "lastTransitionTime": created_at})
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {
                "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": "amd64",
                "topology.kubernetes.io/zone": f"zone-{'abc'[(index - 1) % 3]}",
                NODE_POOL_LABEL: NODE_POOLS[(index - 1) % len(NODE_POOLS)],
            },
            "annotations": {"node.alpha.kubernetes.io/ttl": "0", "volumes.kubernetes.io/controller-managed-attach-detach": "true"},
        },
        "spec": {"podCIDR": node_pod_cidr(index), "podCIDRs": [node_pod_cidr(index)], "providerID": f"kubesim://{name}"},
        "status": {
            "capacity": capacity,
            "allocatable": allocatable,
            "conditions": conditions,
            "addresses": [{"type": "InternalIP", "address": node_host_ip(index)}, {"type": "Hostname", "address": name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "architecture": "amd64", "operatingSystem": "linux", "osImage": "Debian GNU/Linux 12 (bookworm)",
                "kernelVersion": "6.1.0-kubesim", "containerRuntimeVersion": "containerd://1.7.24",
                "kubeletVersion": KUBELET_VERSION, "kubeProxyVersion": KUBELET_VERSION,
                "machineID": f"{index:032x}", "systemUUID": f"00000000-0000-0000-0000-{index:012x}", "bootID": f"{index:08x}-b007",
            },
        },
    }


def unschedulable_taint_synced(now):
    """A change giving a cordoned node the ``node.kubernetes.io/unschedulable`` taint, and taking it from an uncordoned one."""
    def change(target):
        spec = target.setdefault("spec", {})
        others = [t for t in spec.get("taints") or [] if t.get("key") != _UNSCHEDULABLE_TAINT]
        current = next((t for t in spec.get("taints") or [] if t.get("key") == _UNSCHEDULABLE_TAINT), None)
        if spec.get("unschedulable"):
            others.append(current or {"key": _UNSCHEDULABLE_TAINT, "effect": "NoSchedule", "timeAdded": now})
        if others:
            spec["taints"] = others
        else:
            spec.pop("taints", None)
    return change


_READINESS_TAINTS = {"False": "node.kubernetes.io/not-ready", "Unknown": "node.kubernetes.io/unreachable"}


def readiness_taints_synced(now):
    """A change giving a node whose Ready condition is False (Unknown) the ``not-ready`` (``unreachable``) taints,
    NoSchedule and NoExecute, and taking them from a Ready one, as the node lifecycle controller does."""
    def change(target):
        ready = find_condition((target.get("status") or {}).get("conditions"), "Ready") or {}
        key = _READINESS_TAINTS.get(ready.get("status"))
        spec = target.setdefault("spec", {})
        current = spec.get("taints") or []
        kept = [t for t in current if t.get("key") not in _READINESS_TAINTS.values() or t.get("key") == key]
        for effect in ("NoSchedule", "NoExecute") if key else ():
            if not any(t.get("key") == key and t.get("effect") == effect for t in kept):
                kept.append({"key": key, "effect": effect, "timeAdded": now})
        if kept:
            spec["taints"] = kept
        else:
            spec.pop("taints", None)
    return change


def taints_synced(now):
    cordon, readiness = unschedulable_taint_synced(now), readiness_taints_synced(now)

    def change(target):
        cordon(target)
        readiness(target)
    return change


class NodeController:
    """Keeps the simulated nodes registered, as their kubelets would (a deleted node re-registers), and
    taints cordoned and not-ready ones, as the node lifecycle controller does."""

    def __init__(self, store, clock, count):
        self.store = store
        self.clock = clock
        self.count = count

    def reconcile(self):
        nodes = {name_of(node): node for node in self.store.list(resources.NODES)[0]}
        for index in range(1, self.count + 1):
            if node_name(index) not in nodes:
                try_write(self.store.create, resources.NODES, new_node(index, self.clock.timestamp()))
        for node in nodes.values():
            mutate_if_changed(self.store, resources.NODES, node, taints_synced(self.clock.timestamp()))
        return None


def node_is_ready(node):
    condition = find_condition((node.get("status") or {}).get("conditions"), "Ready")
    return condition is not None and condition.get("status") == "True"


def _tolerates(tolerations, taint):
    return any(tolerates(toleration, taint) for toleration in tolerations)


def _requirements(expressions):
    return [(e["key"], e["operator"], tuple(e.get("values") or ())) for e in expressions or []
            if e.get("operator") in ("In", "NotIn", "Exists", "DoesNotExist")]


def _node_selector_terms_match(terms, node):
    """Required node affinity: any term matches when all its label expressions and its fields
    (``metadata.name``, what a DaemonSet's pods name) do; an empty term matches nothing."""
    if not terms:
        return True
    fields = {"metadata.name": name_of(node)}
    return any(
        (term.get("matchExpressions") or term.get("matchFields"))
        and matches(_requirements(term.get("matchExpressions")), labels(node)) and matches(_requirements(term.get("matchFields")), fields)
        for term in terms
    )


def unfit_reason(pod, node):
    """Why ``pod`` cannot run on ``node`` (the scheduler's filter plugins), or None if it can."""
    spec = pod.get("spec") or {}
    node_labels = labels(node)
    taints = list((node.get("spec") or {}).get("taints") or [])
    if (node.get("spec") or {}).get("unschedulable"):
        taints.append({"key": _UNSCHEDULABLE_TAINT, "effect": "NoSchedule"})
    tolerations = spec.get("tolerations") or []
    if not node_is_ready(node):
        return "node(s) were not ready"
    blocking = [t for t in taints if t.get("effect") in _TAINT_EFFECTS_THAT_BLOCK and not _tolerates(tolerations, t)]
    if blocking:
        if blocking[0].get("key") == _UNSCHEDULABLE_TAINT:
            return "node(s) were unschedulable"
        return f"node(s) had untolerated taint {{{blocking[0].get('key')}: {blocking[0].get('value', '')}}}"
    selector = spec.get("nodeSelector") or {}
    affinity = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms")
    if any(node_labels.get(k) != v for k, v in selector.items()) or not _node_selector_terms_match(affinity, node):
        return "node(s) didn't match Pod's node affinity/selector"
    return None


def unschedulable_message(reasons, node_count):
    """The scheduler's FailedScheduling summary: ``0/3 nodes are available: 3 node(s) ...``."""
    counts = {}
    for reason in reasons:
        counts[reason] = counts.get(reason, 0) + 1
    details = ", ".join(f"{count} {reason}" for reason, count in sorted(counts.items()))
    return (f"0/{node_count} nodes are available: {details}. preemption: 0/{node_count} nodes are available: "
            f"{node_count} Preemption is not helpful for scheduling.")


def _scheduled_condition(status, reason, message, now):
    condition = {"type": "PodScheduled", "status": "False" if reason else "True", "lastProbeTime": None, "lastTransitionTime": now}
    if reason:
        condition.update(reason=reason, message=message)
    current = find_condition(status.get("conditions"), "PodScheduled")
    if current is not None and current.get("status") == condition["status"]:
        condition["lastTransitionTime"] = current.get("lastTransitionTime", now)
    others = [c for c in status.get("conditions") or [] if c.get("type") != "PodScheduled"]
    status["conditions"] = others + [condition]


def _prefilter_message(reason, node_count):
    """A verdict reached before looking at nodes (the pod's claims), as the scheduler words it."""
    return (f"0/{node_count} nodes are available: {reason}. preemption: 0/{node_count} nodes are available: "
            f"{node_count} Preemption is not helpful for scheduling.")


class ClaimView:
    """What the scheduler's VolumeBinding plugin needs: the claims and classes a pending pod's volumes depend on."""

    def __init__(self, store):
        self.store = store
        self.claims = {(namespace_of(c), name_of(c)): c for c in store.list(resources.PVCS)[0]}
        self.classes = {name_of(c): c for c in store.list(resources.STORAGECLASSES)[0]}

    def _waits_for_consumer(self, claim):
        storage_class = self.classes.get((claim.get("spec") or {}).get("storageClassName") or "") or {}
        return storage_class.get("volumeBindingMode") == "WaitForFirstConsumer"

    def problem(self, pod):
        """Why the pod's claims keep it from being scheduled anywhere, or None."""
        for name in claim_names(pod):
            claim = self.claims.get((namespace_of(pod), name))
            if claim is None:
                return f'persistentvolumeclaim "{name}" not found'
            if is_deleting(claim):
                return f'persistentvolumeclaim "{name}" is being deleted'
        unbound = [self.claims[(namespace_of(pod), name)] for name in claim_names(pod)
                   if not (self.claims[(namespace_of(pod), name)].get("spec") or {}).get("volumeName")]
        if any(not self._waits_for_consumer(claim) for claim in unbound):
            return "pod has unbound immediate PersistentVolumeClaims"
        return None

    def ready_for(self, pod, node):
        """Whether the pod may be bound to ``node`` now: every claim is bound; the unbound ones waiting for
        their first consumer are told the chosen node (``volume.kubernetes.io/selected-node``) and bind later."""
        waiting = [self.claims[(namespace_of(pod), name)] for name in claim_names(pod)
                   if not (self.claims[(namespace_of(pod), name)].get("spec") or {}).get("volumeName")]
        for claim in waiting:
            def select(target):
                target["metadata"].setdefault("annotations", {}).setdefault(SELECTED_NODE, node)
            mutate_if_changed(self.store, resources.PVCS, claim, select)
        return not waiting


class Scheduler:
    """Binds each pending pod to the least loaded node that fits it (ties go to the first by name)."""

    field_manager = "kube-scheduler"

    def __init__(self, store, clock, recorder):
        self.store = store
        self.clock = clock
        self.recorder = recorder

    def reconcile(self):
        pods, _ = self.store.list(resources.PODS)
        pending = [pod for pod in pods if self._wants_scheduling(pod)]
        if not pending:
            return None
        nodes, _ = self.store.list(resources.NODES)
        load = {name_of(node): 0 for node in nodes}
        for pod in pods:
            node = (pod.get("spec") or {}).get("nodeName")
            if node in load and phase(pod) not in TERMINAL_PHASES:
                load[node] += 1
        volumes = ClaimView(self.store) if any(claim_names(pod) for pod in pending) else None
        for pod in pending:
            self._schedule(pod, nodes, load, volumes)
        return None

    @staticmethod
    def _wants_scheduling(pod):
        spec = pod.get("spec") or {}
        return (not spec.get("nodeName") and not is_deleting(pod) and spec.get("schedulerName", SCHEDULER_NAME) == SCHEDULER_NAME
                and not spec.get("schedulingGates"))

    def _schedule(self, pod, nodes, load, volumes):
        reasons = {name_of(node): unfit_reason(pod, node) for node in nodes}
        fitting = [name for name, reason in reasons.items() if reason is None]
        now = self.clock.timestamp()
        claims_problem = volumes.problem(pod) if volumes is not None else None
        if claims_problem or not fitting:
            if claims_problem:
                message = _prefilter_message(claims_problem, len(nodes))
            else:
                message = unschedulable_message(reasons.values(), len(nodes)) if nodes else "no nodes available to schedule pods"
            reported = mutate_if_changed(self.store, resources.PODS, pod,
                                         lambda p: _scheduled_condition(p.setdefault("status", {}), "Unschedulable", message, now), subresource="status")
            # Reported once per verdict: the real scheduler's retries fold into the Event's series.
            if reported is not None:
                self.recorder.record_action(pod, WARNING, "FailedScheduling", "Scheduling", message, SCHEDULER_NAME)
            return
        chosen = min(fitting, key=lambda name: (load[name], name))
        if volumes is not None and not volumes.ready_for(pod, chosen):
            # Binding waits until the volumes of the claims waiting for their first consumer are provisioned.
            return

        def bind(target):
            if not (target.get("spec") or {}).get("nodeName"):
                target["spec"]["nodeName"] = chosen

        # A binding sets nodeName without a managedFields entry, as the pods/binding subresource does.
        with self.store.writer(None):
            bound = try_write(self.store.mutate, resources.PODS, namespace_of(pod), name_of(pod), bind)
        if bound is None:
            return
        self.recorder.record_action(pod, NORMAL, "Scheduled", "Binding", f"Successfully assigned {namespace_of(pod)}/{name_of(pod)} to {chosen}",
                                    SCHEDULER_NAME)
        load[chosen] += 1
        try_write(self.store.mutate, resources.PODS, namespace_of(pod), name_of(pod),
                  lambda p: _scheduled_condition(p.setdefault("status", {}), None, None, now), subresource="status")
