"""What the controllers need to know about a pod: is it active, ready, available, and since when.

Conditions carry one-second timestamps, too coarse once time is compressed (at 20x one real
second is twenty simulated ones), so the kubelet also notes on a :class:`ReadyTimes` the exact
moment each pod became Ready; availability (``minReadySeconds``) is measured from that.
"""

from ..store import copy_json
from .meta import find_condition, is_deleting, name_of, namespace_of, owner_reference, random_suffix, uid_of

TERMINAL_PHASES = ("Succeeded", "Failed")


def phase(pod):
    return (pod.get("status") or {}).get("phase", "")


def is_active(pod):
    """Counts toward its controller's replicas: neither on its way out nor finished."""
    return not is_deleting(pod) and phase(pod) not in TERMINAL_PHASES


def ready_condition(pod):
    return find_condition((pod.get("status") or {}).get("conditions"), "Ready")


def is_ready(pod):
    condition = ready_condition(pod)
    return condition is not None and condition.get("status") == "True"


def is_running_and_ready(pod):
    return phase(pod) == "Running" and is_ready(pod)


def restart_count(pod):
    return sum(status.get("restartCount", 0) for status in (pod.get("status") or {}).get("containerStatuses") or [])


class ReadyTimes:
    """Exact (monotonic) moments pods became Ready, shared by the kubelet and the workload controllers."""

    def __init__(self, clock):
        self.clock = clock
        self._ready_since = {}

    def mark_ready(self, pod):
        self._ready_since.setdefault(uid_of(pod), self.clock.monotonic())

    def mark_not_ready(self, pod):
        self._ready_since.pop(uid_of(pod), None)

    def forget(self, live_uids):
        for uid in set(self._ready_since) - set(live_uids):
            del self._ready_since[uid]

    def ready_since(self, pod):
        """When the pod became Ready (monotonic seconds), or None if it is not Ready."""
        if not is_ready(pod):
            return None
        since = self._ready_since.get(uid_of(pod))
        if since is not None:
            return since
        # Ready before this process noticed (a seeded pod): trust the condition's timestamp.
        return self.clock.monotonic_since(ready_condition(pod).get("lastTransitionTime"))

    def available_in(self, pod, min_ready_seconds):
        """Real seconds until the pod counts as available: 0 if it already does, None if it is not Ready."""
        since = self.ready_since(pod)
        if since is None:
            return None
        remaining = since + self.clock.real_seconds(min_ready_seconds or 0) - self.clock.monotonic()
        return max(remaining, 0.0)


class PodController:
    """What the controllers that act on pods share: the store, the clock, the moments pods turned Ready, and the event recorder."""

    def __init__(self, store, clock, ready_times, recorder):
        self.store = store
        self.clock = clock
        self.ready_times = ready_times
        self.recorder = recorder


# apiserver keeps generated names within 63 characters: at most 58 of prefix and a 5-character suffix.
_MAX_GENERATED_PREFIX = 58


def pod_from_template(template, owner, name=None):
    """A pod as a controller creates it from its template; without a name, one is generated from
    the owner's name as the API server does for ``generateName``."""
    template_metadata = template.get("metadata") or {}
    metadata = {
        "namespace": namespace_of(owner),
        "labels": dict(template_metadata.get("labels") or {}),
        "ownerReferences": [owner_reference(owner)],
    }
    for key in ("annotations", "finalizers"):
        if template_metadata.get(key):
            metadata[key] = copy_json(template_metadata[key])
    if name is None:
        metadata["generateName"] = f"{name_of(owner)[:_MAX_GENERATED_PREFIX]}-"
        metadata["name"] = metadata["generateName"] + random_suffix()
    else:
        metadata["name"] = name
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": copy_json(template.get("spec") or {})}
