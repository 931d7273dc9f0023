"""PodDisruptionBudget status, kept up to date by the disruption controller and consulted by evictions.

Both go through :func:`evaluate`, so an eviction sees exactly the numbers the controller writes.
"""

import math

from .. import resources
from ..selectors import selector_matches

# Pods an eviction has just allowed count as disrupted (not healthy) until they are deleted, for
# at most this long, as in the real disruption controller.
DISRUPTED_POD_TIMEOUT_SECONDS = 120


def is_healthy(pod):
    """Ready and not on its way out."""
    if pod["metadata"].get("deletionTimestamp"):
        return False
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def matching_pods(store, pdb):
    pods, _ = store.list(resources.PODS, pdb["metadata"]["namespace"])
    selector = (pdb.get("spec") or {}).get("selector")
    return [pod for pod in pods if selector_matches(selector, pod["metadata"].get("labels"))]


def _controller_reference(obj):
    return next((ref for ref in obj["metadata"].get("ownerReferences") or [] if ref.get("controller")), None)


_SCALABLE = {"ReplicaSet": resources.REPLICASETS, "Deployment": resources.DEPLOYMENTS, "StatefulSet": resources.STATEFULSETS}


def _scale_owner(store, namespace, reference):
    """The object whose spec.replicas says how many pods a controller reference stands for:
    a ReplicaSet's Deployment if it has one, else the controller itself."""
    rtype = _SCALABLE.get(reference.get("kind"))
    owner = store.find(rtype, namespace, reference["name"]) if rtype else None
    if owner is not None and rtype is resources.REPLICASETS:
        parent = _controller_reference(owner)
        if parent and parent.get("kind") == "Deployment":
            return store.find(resources.DEPLOYMENTS, namespace, parent["name"]) or owner
    return owner


def expected_pod_count(store, pods):
    """How many pods the budget covers: the desired replicas of the pods' controllers, one per bare pod."""
    owners, bare = {}, 0
    for pod in pods:
        reference = _controller_reference(pod)
        owner = _scale_owner(store, pod["metadata"]["namespace"], reference) if reference else None
        if owner is None:
            bare += 1
        else:
            owners[owner["metadata"]["uid"]] = (owner.get("spec") or {}).get("replicas", 1)
    return sum(owners.values()) + bare


def _scaled(value, total, round_up):
    """An IntOrString budget figure as a pod count."""
    if isinstance(value, str) and value.endswith("%"):
        exact = int(value[:-1]) * total / 100
        return math.ceil(exact) if round_up else math.floor(exact)
    return int(value)


def desired_healthy(spec, expected):
    if spec.get("maxUnavailable") is not None:
        return max(expected - _scaled(spec["maxUnavailable"], expected, round_up=True), 0)
    if spec.get("minAvailable") is not None:
        return _scaled(spec["minAvailable"], expected, round_up=True)
    return 0


def _recently_disrupted(status, now_epoch, clock):
    disrupted = {}
    for name, when in (status.get("disruptedPods") or {}).items():
        if now_epoch - clock.parse_timestamp(when) < DISRUPTED_POD_TIMEOUT_SECONDS:
            disrupted[name] = when
    return disrupted


def evaluate(store, pdb):
    """The status the budget should have now, given its pods."""
    spec, status = pdb.get("spec") or {}, pdb.get("status") or {}
    pods = matching_pods(store, pdb)
    live_names = {pod["metadata"]["name"] for pod in pods if not pod["metadata"].get("deletionTimestamp")}
    disrupted = {name: when for name, when in _recently_disrupted(status, store.clock.wall(), store.clock).items() if name in live_names}
    healthy = sum(1 for pod in pods if is_healthy(pod) and pod["metadata"]["name"] not in disrupted)
    expected = expected_pod_count(store, pods)
    desired = desired_healthy(spec, expected)
    allowed = max(healthy - desired, 0)
    new_status = {
        "observedGeneration": pdb["metadata"].get("generation", 1),
        "disruptionsAllowed": allowed,
        "currentHealthy": healthy,
        "desiredHealthy": desired,
        "expectedPods": expected,
        "conditions": [_condition(status, allowed)],
    }
    if disrupted:
        new_status["disruptedPods"] = disrupted
    return new_status


def _condition(status, allowed):
    sufficient = allowed > 0
    wanted = {"type": "DisruptionAllowed", "status": "True" if sufficient else "False",
              "reason": "SufficientPods" if sufficient else "InsufficientPods", "message": ""}
    for existing in status.get("conditions") or []:
        if existing.get("type") == "DisruptionAllowed" and all(existing.get(k) == v for k, v in wanted.items()):
            return existing
    return dict(wanted, observedGeneration=0, lastTransitionTime=None)


def _stamped(condition, clock, generation):
    if condition.get("lastTransitionTime") is None:
        return dict(condition, lastTransitionTime=clock.timestamp(), observedGeneration=generation)
    return condition


def write_status(store, pdb, status):
    """Store a budget status if it differs; True when it was written."""
    status = dict(status, conditions=[_stamped(c, store.clock, status["observedGeneration"]) for c in status["conditions"]])
    if pdb.get("status") == status:
        return False

    def change(obj):
        obj["status"] = status

    store.mutate(resources.PDBS, pdb["metadata"]["namespace"], pdb["metadata"]["name"], change, subresource="status")
    return True


class DisruptionController:
    """Keeps every PodDisruptionBudget's status in line with its pods."""

    def __init__(self, store):
        self.store = store

    def reconcile(self):
        budgets, _ = self.store.list(resources.PDBS)
        for pdb in budgets:
            write_status(self.store, pdb, evaluate(self.store, pdb))
        # Disrupted-pod entries expire by time, not by a store change.
        return 5.0 if any((pdb.get("status") or {}).get("disruptedPods") for pdb in budgets) else None
