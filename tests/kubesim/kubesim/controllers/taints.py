"""The taint eviction controller (the taint manager): pods leave nodes whose NoExecute taints they do not tolerate.

A pod on a node with a NoExecute taint it does not tolerate is deleted at once; one that tolerates
every such taint stays, or is deleted once the shortest ``tolerationSeconds`` among the tolerations
it uses has passed (simulated), counted from when the controller first saw it so exposed. A taint
removed in time cancels the eviction. Before deleting a pod the controller marks it with the
``DisruptionTarget`` condition and records ``TaintManagerEviction`` on it, in the real wording.
"""

from .. import resources
from .events import NORMAL
from .meta import earliest, find_condition, is_deleting, mutate_if_changed, name_of, namespace_of, try_write, uid_of
from .pods import TERMINAL_PHASES, phase

COMPONENT = "taint-eviction-controller"
NO_EXECUTE = "NoExecute"


def tolerates(toleration, taint):
    """Whether one toleration matches one taint (operator Equal by default, Exists with no key matches all)."""
    if toleration.get("effect") and toleration["effect"] != taint.get("effect"):
        return False
    if toleration.get("operator") == "Exists":
        return not toleration.get("key") or toleration["key"] == taint.get("key")
    return toleration.get("key") == taint.get("key") and toleration.get("value", "") == taint.get("value", "")


def eviction_delay(tolerations, taints):
    """Simulated seconds a pod may stay under these NoExecute taints: 0 (now), a number, or None (forever)."""
    used = []
    for taint in taints:
        matching = [t for t in tolerations if tolerates(t, taint)]
        if not matching:
            return 0
        used += matching
    bounded = [t["tolerationSeconds"] for t in used if t.get("tolerationSeconds") is not None]
    if not bounded:
        return None
    return max(min(bounded), 0)


def _disruption_target(now):
    def change(pod):
        status = pod.setdefault("status", {})
        current = find_condition(status.get("conditions"), "DisruptionTarget")
        if current is not None and current.get("status") == "True":
            return
        others = [c for c in status.get("conditions") or [] if c.get("type") != "DisruptionTarget"]
        status["conditions"] = others + [{"type": "DisruptionTarget", "status": "True", "lastProbeTime": None, "lastTransitionTime": now,
                                          "reason": "DeletionByTaintManager", "message": "Taint manager: deleting due to NoExecute taint"}]
    return change


class TaintEvictionController:
    def __init__(self, store, clock, recorder):
        self.store = store
        self.clock = clock
        self.recorder = recorder
        self._exposed_since = {}  # pod uid -> monotonic moment the controller first saw it under NoExecute taints

    def reconcile(self):
        tainted = {name_of(node): [t for t in (node.get("spec") or {}).get("taints") or [] if t.get("effect") == NO_EXECUTE]
                   for node in self.store.list(resources.NODES)[0]}
        tainted = {node: taints for node, taints in tainted.items() if taints}
        if not tainted and not self._exposed_since:
            return None
        delays = []
        pods, _ = self.store.list(resources.PODS)
        for uid in set(self._exposed_since) - {uid_of(pod) for pod in pods}:
            del self._exposed_since[uid]
        for pod in pods:
            if is_deleting(pod) or phase(pod) in TERMINAL_PHASES:
                self._exposed_since.pop(uid_of(pod), None)
                continue
            allowed = eviction_delay((pod.get("spec") or {}).get("tolerations") or [], tainted.get((pod.get("spec") or {}).get("nodeName"), []))
            if allowed is None:
                self._cancel(pod)
            else:
                delays.append(self._check(pod, allowed))
        return earliest(delays)

    def _cancel(self, pod):
        """A pod no longer under a NoExecute taint it must leave for keeps its place."""
        if self._exposed_since.pop(uid_of(pod), None) is not None:
            self.recorder.record(pod, NORMAL, "TaintManagerEviction", f"Cancelling deletion of Pod {namespace_of(pod)}/{name_of(pod)}", COMPONENT)

    def _check(self, pod, allowed):
        """Evict the pod if its time is up; returns the real seconds until it will be."""
        since = self._exposed_since.setdefault(uid_of(pod), self.clock.monotonic())
        remaining = since + self.clock.real_seconds(allowed) - self.clock.monotonic()
        if remaining > 0:
            return remaining
        self._evict(pod)
        return None

    def _evict(self, pod):
        self._exposed_since.pop(uid_of(pod), None)
        subject = f"{namespace_of(pod)}/{name_of(pod)}"
        self.recorder.record(pod, NORMAL, "TaintManagerEviction", f"Marking for deletion Pod {subject}", COMPONENT)
        mutate_if_changed(self.store, resources.PODS, pod, _disruption_target(self.clock.timestamp()), subresource="status")
        try_write(self.store.delete, resources.PODS, namespace_of(pod), name_of(pod))
