"""Events as the real components record them: core/v1 Event objects that ``kubectl describe`` shows.

Two recorders exist in a real cluster and both are modelled, since clients see their events differently:

- client-go's legacy recorder (kube-controller-manager, the kubelet): ``source``, ``firstTimestamp``,
  ``lastTimestamp`` and ``count``. Its correlator folds a repetition (same source, object, type,
  reason and message) into the Event already written: ``count`` goes up, ``lastTimestamp`` moves.
- the events.k8s.io/v1 recorder (the scheduler): ``eventTime``, ``action`` and ``reportingInstance``,
  an empty ``source`` and no counts; a repetition (same action, reason and object) turns into a
  ``series`` of two, and later ones are only counted in memory, as the real broadcaster does.

An Event is named ``<object>.<nanoseconds, hex>``. Recording is best-effort like the real one: a
write the API refuses (a terminating namespace) is dropped and never fails the controller.
"""

import collections

from .. import resources
from ..store import copy_json
from .meta import name_of, namespace_of, try_write, uid_of

NORMAL = "Normal"
WARNING = "Warning"
# client-go keeps this many recently recorded events to fold repetitions into (maxLruCacheEntries).
REMEMBERED_EVENTS = 4096
# The scheduler's reportingInstance is "<component>-<hostname>"; the simulated control plane's host name.
CONTROL_PLANE_HOST = "kubesim-control-plane"


def object_reference(obj, field_path=None):
    """reference.GetReference: what ``involvedObject`` holds (and what describe's field selector matches)."""
    reference = {"kind": obj["kind"], "namespace": namespace_of(obj), "name": name_of(obj), "uid": uid_of(obj),
                 "apiVersion": obj["apiVersion"], "resourceVersion": obj["metadata"].get("resourceVersion")}
    if field_path:
        reference["fieldPath"] = field_path
    return {key: value for key, value in reference.items() if value}


def container_field_path(container_name, init=False):
    """The kubelet's reference to one container of a pod, as in ``spec.containers{web}``."""
    return f"spec.{'initContainers' if init else 'containers'}{{{container_name}}}"


def _counted_again(now):
    def change(event):
        event["count"] = event.get("count", 1) + 1
        event["lastTimestamp"] = now
    return change


def _series_started(now):
    def change(event):
        event["series"] = {"count": 2, "lastObservedTime": now}
    return change


class Recorder:
    """The event recorders of every simulated component; one is shared by all controllers."""

    def __init__(self, store, clock):
        self.store = store
        self.clock = clock
        # aggregation key -> [namespace, event name, occurrences], least recently recorded first
        self._recent = collections.OrderedDict()
        self._last_nanoseconds = 0

    def record(self, obj, event_type, reason, message, component, field_path=None, host=None):
        """Record with the legacy recorder: a new Event, or one more occurrence of the same Event."""
        reference = object_reference(obj, field_path)
        key = (component, host or "", reference["kind"], reference.get("namespace", ""), reference["name"], field_path or "",
               reference["uid"], reference["apiVersion"], event_type, reason, message)
        now = self.clock.timestamp()
        if self._count_again(key, _counted_again(now)):
            return
        event = self._new_event(reference, event_type, reason, message)
        event.update(source={"component": component, **({"host": host} if host else {})}, firstTimestamp=now, lastTimestamp=now,
                     count=1, eventTime=None, reportingComponent=component, reportingInstance=host or "")
        self._create(key, event)

    def record_action(self, obj, event_type, reason, action, message, component):
        """Record with the events.k8s.io/v1 recorder (the scheduler's): an Event, or the start of its series."""
        reference = object_reference(obj)
        key = (action, reason, component, reference["kind"], reference.get("namespace", ""), reference["name"], reference["uid"])
        wall = self.clock.wall()
        remembered = self._recent.get(key)
        if remembered is not None:
            remembered[2] += 1
            self._recent.move_to_end(key)
            # The broadcaster writes the second occurrence as a series and only counts the later ones.
            if remembered[2] > 2 or try_write(self.store.mutate, resources.EVENTS, remembered[0], remembered[1],
                                              _series_started(self.clock.micro_timestamp(wall))) is not None:
                return
        event = self._new_event(reference, event_type, reason, message)
        event.update(source={}, firstTimestamp=None, lastTimestamp=None, eventTime=self.clock.micro_timestamp(wall), action=action,
                     reportingComponent=component, reportingInstance=f"{component}-{CONTROL_PLANE_HOST}")
        self._create(key, event)

    def _count_again(self, key, change):
        """Fold an occurrence into the Event recorded for ``key``; False if there is none (any more)."""
        remembered = self._recent.get(key)
        if remembered is None:
            return False
        self._recent.move_to_end(key)
        if try_write(self.store.mutate, resources.EVENTS, remembered[0], remembered[1], change) is None:
            del self._recent[key]
            return False
        remembered[2] += 1
        return True

    def _new_event(self, reference, event_type, reason, message):
        nanoseconds = max(self.clock.wall_nanoseconds(), self._last_nanoseconds + 1)
        self._last_nanoseconds = nanoseconds
        namespace = reference.get("namespace") or "default"
        return {"apiVersion": "v1", "kind": "Event",
                "metadata": {"name": f"{reference['name']}.{nanoseconds:x}", "namespace": namespace},
                "involvedObject": copy_json(reference), "reason": reason, "message": message, "type": event_type}

    def _create(self, key, event):
        created = try_write(self.store.create, resources.EVENTS, event)
        if created is None:
            return
        self._recent[key] = [namespace_of(created), name_of(created), 1]
        self._recent.move_to_end(key)
        while len(self._recent) > REMEMBERED_EVENTS:
            self._recent.popitem(last=False)
