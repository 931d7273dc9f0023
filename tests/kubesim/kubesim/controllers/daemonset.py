"""The DaemonSet controller: one pod on every node the set's pods may run on.

A node is eligible when a daemon pod fits it (``nodeSelector``, required node affinity, taints
tolerated; daemon pods tolerate the node conditions and cordoning). Each pod is pinned to its node
by node affinity on ``metadata.name`` and placed there by the scheduler, as on a real cluster. Pods
on nodes no longer eligible, extra pods and failed pods are deleted. Templates are recorded as
ControllerRevisions; pods carry the revision's hash (``controller-revision-hash``) and the set's
``pod-template-generation``. RollingUpdate replaces old pods node by node within ``maxUnavailable``
(or, with ``maxSurge``, starts the new pod beside the old one first); OnDelete only gives the new
template to pods that are deleted.
"""

from .. import resources
from ..store import copy_json
from .events import NORMAL
from .meta import by_namespace, claim, earliest, int_or_percent, is_deleting, labels, mutate_if_changed, name_of, namespace_of, try_write
from .nodes import unfit_reason
from .pods import TERMINAL_PHASES, PodController, is_ready, phase, pod_from_template
from .revisions import current_revision, revision_hash, truncate_history

COMPONENT = "daemonset-controller"
CONTROLLER_REVISION_HASH = "controller-revision-hash"
TEMPLATE_GENERATION = "pod-template-generation"
# The tolerations the controller gives every daemon pod: it stays through node conditions and cordoning.
DAEMON_TOLERATIONS = (
    ("node.kubernetes.io/not-ready", "NoExecute"), ("node.kubernetes.io/unreachable", "NoExecute"),
    ("node.kubernetes.io/disk-pressure", "NoSchedule"), ("node.kubernetes.io/memory-pressure", "NoSchedule"),
    ("node.kubernetes.io/pid-pressure", "NoSchedule"), ("node.kubernetes.io/unschedulable", "NoSchedule"),
)


def node_of(pod):
    """The node a daemon pod is for: where it runs, else the node its affinity names."""
    bound = (pod.get("spec") or {}).get("nodeName")
    if bound:
        return bound
    terms = ((((pod.get("spec") or {}).get("affinity") or {}).get("nodeAffinity") or {})
             .get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms") or []
    for term in terms:
        for field in term.get("matchFields") or []:
            if field.get("key") == "metadata.name" and field.get("values"):
                return field["values"][0]
    return None


def daemon_pod_spec(template_spec, node_name):
    """The template's pod spec pinned to ``node_name``, with the daemon tolerations added."""
    spec = copy_json(template_spec)
    pin = {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node_name]}]}
    required = spec.setdefault("affinity", {}).setdefault("nodeAffinity", {}).setdefault("requiredDuringSchedulingIgnoredDuringExecution", {})
    terms = required.get("nodeSelectorTerms") or [{}]
    required["nodeSelectorTerms"] = [dict(term, matchFields=pin["matchFields"]) for term in terms]
    tolerations = spec.setdefault("tolerations", [])
    for key, effect in DAEMON_TOLERATIONS:
        if not any(t.get("key") == key and t.get("effect") == effect for t in tolerations):
            tolerations.append({"key": key, "operator": "Exists", "effect": effect})
    return spec


class DaemonSetController(PodController):
    def reconcile(self):
        sets, _ = self.store.list(resources.DAEMONSETS)
        if not sets:
            return None
        nodes, _ = self.store.list(resources.NODES)
        pods = by_namespace(self.store.list(resources.PODS)[0])
        revisions = by_namespace(self.store.list(resources.CONTROLLERREVISIONS)[0])
        return earliest([self._sync(ds, nodes, pods.get(namespace_of(ds), []), revisions.get(namespace_of(ds), [])) for ds in sets])

    def _sync(self, ds, nodes, namespace_pods, namespace_revisions):
        revisions = claim(self.store, resources.CONTROLLERREVISIONS, ds, namespace_revisions)
        pods = claim(self.store, resources.PODS, ds, namespace_pods)
        revision = current_revision(self.store, resources.DAEMONSETS, ds, revisions)
        if revision is None:
            return None
        current_hash = revision_hash(revision)
        eligible = [name_of(node) for node in nodes if self._fits(ds, node)]
        # A node whose NoSchedule taints a daemon pod does not tolerate keeps the pod it already runs.
        tolerated = [name_of(node) for node in nodes if self._fits(ds, node, ignore_no_schedule=True)]
        by_node = {}
        for pod in pods:
            by_node.setdefault(node_of(pod), []).append(pod)
        if not is_deleting(ds):
            DaemonSetRound(self, ds, current_hash, eligible, tolerated, by_node).run()
        in_use = {labels(pod).get(CONTROLLER_REVISION_HASH) for pod in pods}
        truncate_history(self.store, ds, revisions, {name_of(revision)} | {name_of(r) for r in revisions if revision_hash(r) in in_use})
        return self._update_status(ds, current_hash, eligible, by_node)

    def _fits(self, ds, node, ignore_no_schedule=False):
        template = (ds.get("spec") or {}).get("template") or {}
        spec = daemon_pod_spec(template.get("spec") or {}, name_of(node))
        if ignore_no_schedule:
            spec["tolerations"].append({"operator": "Exists", "effect": "NoSchedule"})
        return unfit_reason({"metadata": {"name": name_of(ds)}, "spec": spec}, node) is None

    def _available_wait(self, ds, pod):
        return self.ready_times.available_in(pod, (ds.get("spec") or {}).get("minReadySeconds") or 0)

    def is_available(self, ds, pod):
        return phase(pod) == "Running" and self._available_wait(ds, pod) == 0.0

    def _update_status(self, ds, current_hash, eligible, by_node):
        live = {node: [p for p in pods if not is_deleting(p) and phase(p) not in TERMINAL_PHASES] for node, pods in by_node.items()}
        scheduled = [node for node in eligible if live.get(node)]
        daemon_pods = [pods[0] for node, pods in live.items() if node in eligible and pods]
        waits = [self._available_wait(ds, pod) for pod in daemon_pods if is_ready(pod)]
        available = sum(1 for wait in waits if wait == 0.0)
        counts = {
            "desiredNumberScheduled": len(eligible), "currentNumberScheduled": len(scheduled),
            "numberMisscheduled": sum(1 for node, pods in live.items() if pods and node not in eligible),
            "numberReady": sum(1 for pod in daemon_pods if is_ready(pod)),
            "updatedNumberScheduled": sum(1 for pod in daemon_pods if labels(pod).get(CONTROLLER_REVISION_HASH) == current_hash),
            "numberAvailable": available, "numberUnavailable": len(eligible) - available,
        }

        def change(target):
            status = target.setdefault("status", {})
            for key, value in counts.items():
                # These four are always written; the others are left out when zero, as the API does.
                if value or key in ("desiredNumberScheduled", "currentNumberScheduled", "numberMisscheduled", "numberReady"):
                    status[key] = value
                else:
                    status.pop(key, None)
            status["observedGeneration"] = target["metadata"].get("generation", 1)

        mutate_if_changed(self.store, resources.DAEMONSETS, ds, change, subresource="status")
        return min((wait for wait in waits if wait), default=None)


class DaemonSetRound:
    """One pass of the real syncDaemonSet over one set: the pods each node should and should not have,
    then the rolling update."""

    def __init__(self, controller, ds, current_hash, eligible, tolerated, by_node):
        self.controller = controller
        self.store = controller.store
        self.ds = ds
        self.current_hash = current_hash
        self.eligible = eligible
        self.tolerated = tolerated
        self.by_node = by_node
        self.deleted = set()  # names of the pods this round deleted

    def leaving(self, pod):
        return is_deleting(pod) or name_of(pod) in self.deleted

    def is_current(self, pod):
        return labels(pod).get(CONTROLLER_REVISION_HASH) == self.current_hash

    def run(self):
        for node in self.eligible:
            self.manage_node(node)
        for node, pods in self.by_node.items():
            if node not in self.eligible and node not in self.tolerated:
                for pod in pods:
                    self.delete(pod)
        if ((self.ds.get("spec") or {}).get("updateStrategy") or {}).get("type", "RollingUpdate") == "RollingUpdate":
            self.roll()

    def manage_node(self, node):
        """A node should have exactly one running daemon pod: create it, replace a failed one, drop extras."""
        pods = [pod for pod in self.by_node.get(node, []) if not self.leaving(pod)]
        for pod in pods:
            if phase(pod) == "Failed":
                self.delete(pod)
        running = [pod for pod in pods if phase(pod) != "Failed"]
        # A replacement waits until the pod it replaces is gone.
        if not running and not any(self.leaving(pod) for pod in self.by_node.get(node, [])):
            self.create(node)
        surplus = sorted(running, key=lambda pod: (not self.is_current(pod), pod["metadata"].get("creationTimestamp") or ""))[1:]
        if len(running) > 1 and not self.surging(node, running):
            for pod in surplus:
                self.delete(pod)

    def surging(self, node, running):
        """With maxSurge, a node briefly runs the new pod beside the old one until the new one is available."""
        return len(running) == 2 and sum(1 for pod in running if self.is_current(pod)) == 1 and self.max_surge() > 0

    def create(self, node):
        template = (self.ds.get("spec") or {}).get("template") or {}
        pod = pod_from_template(dict(template, spec=daemon_pod_spec(template.get("spec") or {}, node)), self.ds)
        pod["metadata"]["labels"].update({CONTROLLER_REVISION_HASH: self.current_hash,
                                          TEMPLATE_GENERATION: str(self.ds["metadata"].get("generation", 1))})
        created = try_write(self.store.create, resources.PODS, pod)
        if created is not None:
            self.by_node.setdefault(node, []).append(created)
            self.controller.recorder.record(self.ds, NORMAL, "SuccessfulCreate", f"Created pod: {name_of(created)}", COMPONENT)

    def delete(self, pod):
        if self.leaving(pod):
            return
        if try_write(self.store.delete, resources.PODS, namespace_of(pod), name_of(pod)) is not None:
            self.deleted.add(name_of(pod))
            self.controller.recorder.record(self.ds, NORMAL, "SuccessfulDelete", f"Deleted pod: {name_of(pod)}", COMPONENT)

    def rolling_value(self, key, default):
        rolling = ((self.ds.get("spec") or {}).get("updateStrategy") or {}).get("rollingUpdate") or {}
        return rolling.get(key, default)

    def max_surge(self):
        return int_or_percent(self.rolling_value("maxSurge", 0), len(self.eligible), round_up=True)

    def roll(self):
        """Replace old pods node by node: with maxSurge, start new pods beside old ones and remove each old
        one once its replacement is available; else delete old pods while fewer than maxUnavailable nodes
        lack an available pod (unavailable old pods first)."""
        nodes_pods = {node: [p for p in self.by_node.get(node, []) if not self.leaving(p) and phase(p) != "Failed"] for node in self.eligible}
        if self.max_surge() > 0:
            self.roll_with_surge(nodes_pods)
            return
        allowed = max(int_or_percent(self.rolling_value("maxUnavailable", 1), len(self.eligible), round_up=True), 1)
        unavailable = sum(1 for pods in nodes_pods.values() if not any(self.controller.is_available(self.ds, p) for p in pods))
        old = [pod for pods in nodes_pods.values() for pod in pods if not self.is_current(pod)]
        for pod in sorted(old, key=lambda pod: self.controller.is_available(self.ds, pod)):
            if not self.controller.is_available(self.ds, pod):
                self.delete(pod)
            elif unavailable < allowed:
                self.delete(pod)
                unavailable += 1

    def roll_with_surge(self, nodes_pods):
        surging = sum(1 for pods in nodes_pods.values() if len(pods) > 1)
        for node, pods in nodes_pods.items():
            old = [pod for pod in pods if not self.is_current(pod)]
            new = [pod for pod in pods if self.is_current(pod)]
            if old and new and self.controller.is_available(self.ds, new[0]):
                for pod in old:
                    self.delete(pod)
            elif old and not new and surging < self.max_surge():
                self.create(node)
                surging += 1
