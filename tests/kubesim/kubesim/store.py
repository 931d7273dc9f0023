"""The object store: the simulator's etcd plus the generic registry logic of the API server.

One global resourceVersion counter orders every write. Each committed write is an event
(ADDED / MODIFIED / DELETED) kept in a bounded history, so a watch can resume from any recent
resourceVersion, and pushed to the open watches and to the listeners (the controller engine).

Writes are all-or-nothing: admission (defaulting and validation) runs on a copy before anything
is stored, so a rejected write changes nothing and emits nothing.
"""

import collections
import contextlib
import json
import queue
import random
import string
import threading
import uuid

from . import managedfields, resources
from .frozen import FrozenJSON
from .errors import AlreadyExists, BadRequest, Conflict, Gone, Invalid, NotFound
from .selectors import fields_match, matches

HISTORY_LENGTH = 20000
# Fields the server owns: a client's update cannot change them.
_SERVER_METADATA = ("uid", "creationTimestamp", "namespace", "name", "deletionTimestamp", "deletionGracePeriodSeconds", "generation")
_NOT_SPEC = ("metadata", "status", "kind", "apiVersion")
# Kinds whose metadata.generation tracks their desired state (what a controller observes).
_GENERATION_GROUPS = ("apps", "batch", "autoscaling", "networking.k8s.io", "policy", "apiextensions.k8s.io", "route.openshift.io",
                      "consul.hashicorp.com")


def copy_json(value):
    """Deep copy for JSON-shaped data; several times faster than copy.deepcopy. Frozen parts are shared."""
    if isinstance(value, dict):
        if type(value) is FrozenJSON:
            return value
        return {k: copy_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [copy_json(v) for v in value]
    return value


def _spec_of(obj):
    return {k: v for k, v in obj.items() if k not in _NOT_SPEC}


def _tracks_generation(rtype):
    return rtype.group in _GENERATION_GROUPS or rtype.definition is not None


class Watch:
    """An open watch: an iterator of (event_type, object) fed by the store."""

    def __init__(self, store, rtype, namespace, label_requirements, field_requirements):
        self._store = store
        self.rtype = rtype
        self.namespace = namespace
        self.label_requirements = label_requirements
        self.field_requirements = field_requirements
        self.events = queue.Queue()
        self.closed = False

    def wants(self, rtype, obj):
        if rtype.key != self.rtype.key:
            return False
        if self.namespace and obj["metadata"].get("namespace") != self.namespace:
            return False
        return matches(self.label_requirements, obj["metadata"].get("labels")) and fields_match(self.field_requirements, obj)

    def next(self, timeout):
        """The next (type, object), or None when nothing arrived within ``timeout`` seconds."""
        try:
            return self.events.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self):
        if not self.closed:
            self.closed = True
            self._store.remove_watch(self)


class Store:
    def __init__(self, clock):
        self.clock = clock
        self._lock = threading.RLock()
        self._objects = {}
        # The same objects by kind: rtype.key -> {(namespace, name): object}, so a list looks at its kind only.
        self._by_kind = collections.defaultdict(dict)
        # key -> the stored object as JSON, made on the first read that sends it whole and dropped on its next write.
        self._encodings = {}
        self._rv = 0
        self._history = collections.deque(maxlen=HISTORY_LENGTH)
        self._watches = []
        self._listeners = []
        # admission(rtype, obj, old, store) -> obj: defaulting and validation; raises ApiError.
        self.admission = lambda rtype, obj, old, store: obj
        # Per thread: (field manager, operation, subresource label) that the writes made now are recorded under.
        self._local = threading.local()

    # ---------------------------------------------------------------- plumbing

    @staticmethod
    def _key(rtype, namespace, name):
        return (rtype.key, namespace or "" if rtype.namespaced else "", name)

    @property
    def resource_version(self):
        with self._lock:
            return str(self._rv)

    def add_listener(self, listener):
        """listener(event_type, rtype, obj) is called after each committed write, under the store lock."""
        self._listeners.append(listener)

    @contextlib.contextmanager
    def writer(self, manager, operation=managedfields.UPDATE, subresource=None):
        """Record the writes made inside (on this thread) in managedFields as ``manager``'s (None: not recorded).
        ``subresource`` labels them when it is not what the store sees (the ``scale`` subresource)."""
        previous = getattr(self._local, "writer", None)
        self._local.writer = (manager, operation, subresource)
        try:
            yield
        finally:
            self._local.writer = previous

    @contextlib.contextmanager
    def shared_reads(self):
        """Lists made inside (on this thread) hand out the stored objects themselves instead of copies:
        for the controllers, which read what they list and change objects only through ``mutate``
        (on a fresh copy). A stored object is replaced on every write, never edited, so what a list
        handed out stays as it was when listed."""
        previous = getattr(self._local, "shared", False)
        self._local.shared = True
        try:
            yield
        finally:
            self._local.shared = previous

    def _record_write(self, rtype, old, new, subresource):
        manager, operation, label = getattr(self._local, "writer", None) or (None, None, None)
        # Server-side apply writes its own entries.
        if manager is not None and operation == managedfields.UPDATE:
            managedfields.record(old, new, manager, subresource or label, rtype, self.clock.timestamp)

    def remove_watch(self, watch):
        with self._lock:
            if watch in self._watches:
                self._watches.remove(watch)

    def _commit(self, event_type, rtype, obj):
        self._rv += 1
        obj["metadata"]["resourceVersion"] = str(self._rv)
        key = self._key(rtype, obj["metadata"].get("namespace"), obj["metadata"]["name"])
        self._encodings.pop(key, None)
        if event_type == "DELETED":
            self._objects.pop(key, None)
            self._by_kind[key[0]].pop(key[1:], None)
        else:
            self._objects[key] = obj
            self._by_kind[key[0]][key[1:]] = obj
        self._history.append((self._rv, event_type, rtype, obj))
        for watch in self._watches:
            if watch.wants(rtype, obj):
                watch.events.put((event_type, copy_json(obj)))
        for listener in self._listeners:
            listener(event_type, rtype, obj)
        return copy_json(obj)

    def _stored(self, rtype, namespace, name):
        obj = self._objects.get(self._key(rtype, namespace, name))
        if obj is None:
            raise NotFound.for_object(rtype, name)
        return obj

    def _require_namespace(self, rtype, namespace):
        if not rtype.namespaced:
            return
        if not namespace:
            raise BadRequest("the server could not find the requested resource: a namespace is required")
        if self._key(resources.NAMESPACES, None, namespace) not in self._objects:
            raise NotFound.for_object(resources.NAMESPACES, namespace)

    # ---------------------------------------------------------------- reads

    def get(self, rtype, namespace, name):
        with self._lock:
            return copy_json(self._stored(rtype, namespace, name))

    def find(self, rtype, namespace, name):
        """Like get, but None when absent."""
        with self._lock:
            obj = self._objects.get(self._key(rtype, namespace, name))
            return copy_json(obj) if obj is not None else None

    def _selected(self, rtype, namespace, label_requirements, field_requirements):
        """[((namespace, name), stored object)] of the matching objects of a kind, ordered by namespace and name."""
        return [
            (position, obj) for position, obj in sorted(self._by_kind.get(rtype.key, {}).items())
            if (not namespace or position[0] == namespace)
            and matches(label_requirements, obj["metadata"].get("labels"))
            and fields_match(field_requirements, obj)
        ]

    def list(self, rtype, namespace=None, label_requirements=(), field_requirements=()):
        """(items, resourceVersion) of the matching objects, ordered by namespace and name: copies,
        or the stored objects themselves inside ``shared_reads``."""
        with self._lock:
            selected = self._selected(rtype, namespace, label_requirements, field_requirements)
            if getattr(self._local, "shared", False):
                return [obj for _, obj in selected], str(self._rv)
            return [copy_json(obj) for _, obj in selected], str(self._rv)

    def _encoded(self, key, obj):
        encoded = self._encodings.get(key)
        if encoded is None:
            encoded = self._encodings[key] = json.dumps(obj, separators=(",", ":")).encode()
        return encoded

    def get_encoded(self, rtype, namespace, name):
        """The object as JSON bytes, for a read that sends it as it is: no copy, and no encoding twice."""
        with self._lock:
            return self._encoded(self._key(rtype, namespace, name), self._stored(rtype, namespace, name))

    def list_encoded(self, rtype, namespace=None, label_requirements=(), field_requirements=()):
        """Like ``list``, as ([((namespace, name), JSON bytes)], resourceVersion)."""
        with self._lock:
            items = [(position, self._encoded((rtype.key,) + position, obj))
                     for position, obj in self._selected(rtype, namespace, label_requirements, field_requirements)]
            return items, str(self._rv)

    def count(self):
        with self._lock:
            return len(self._objects)

    # ---------------------------------------------------------------- writes

    def create(self, rtype, obj, dry_run=False):
        with self._lock:
            obj = copy_json(obj)
            metadata = obj.setdefault("metadata", {})
            if not isinstance(metadata, dict):
                raise BadRequest("metadata must be an object")
            if not metadata.get("name") and metadata.get("generateName"):
                suffix = "".join(random.choices(string.ascii_lowercase + string.digits, k=5))
                metadata["name"] = f"{metadata['generateName']}{suffix}"
            obj["apiVersion"], obj["kind"] = rtype.api_version, rtype.kind
            if rtype.namespaced:
                metadata.setdefault("namespace", "default")
            else:
                metadata.pop("namespace", None)
            for field in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds"):
                metadata.pop(field, None)
            # Set before admission, as the real server's BeforeCreate does (a Job's selector is made from its uid).
            metadata["uid"] = str(uuid.uuid4())
            metadata["creationTimestamp"] = self.clock.timestamp()
            obj = self.admission(rtype, obj, None, self)
            self._require_namespace(rtype, metadata.get("namespace"))
            if self._key(rtype, metadata.get("namespace"), metadata["name"]) in self._objects:
                raise AlreadyExists.for_object(rtype, metadata["name"])
            if _tracks_generation(rtype):
                metadata["generation"] = 1
            self._record_write(rtype, None, obj, None)
            if dry_run:
                return obj
            return self._commit("ADDED", rtype, obj)

    def update(self, rtype, obj, subresource=None, dry_run=False):
        """Replace an object (PUT). ``subresource='status'`` replaces only its status.

        A resourceVersion in the body must match the stored one (optimistic concurrency); an
        update that changes nothing is not a write: no new resourceVersion, no event.
        """
        with self._lock:
            metadata = obj.get("metadata") or {}
            old = self._stored(rtype, metadata.get("namespace"), metadata.get("name"))
            sent_rv = metadata.get("resourceVersion")
            if sent_rv and sent_rv != old["metadata"]["resourceVersion"]:
                raise Conflict.stale(rtype, metadata.get("name"))
            new = self._merge_update(rtype, old, copy_json(obj), subresource)
            if subresource is None:
                new = self.admission(rtype, new, copy_json(old), self)
            if _spec_of(new) != _spec_of(old) and _tracks_generation(rtype):
                new["metadata"]["generation"] = old["metadata"].get("generation", 1) + 1
            if self._unchanged(old, new):
                return copy_json(old)
            self._record_write(rtype, old, new, subresource)
            if dry_run:
                return new
            if new["metadata"].get("deletionTimestamp") and not new["metadata"].get("finalizers") and not self._awaits_kubelet(rtype, new):
                return self._commit("DELETED", rtype, new)
            return self._commit("MODIFIED", rtype, new)

    @staticmethod
    def _merge_update(rtype, old, new, subresource):
        new["apiVersion"], new["kind"] = rtype.api_version, rtype.kind
        new_metadata = new.setdefault("metadata", {})
        for field in _SERVER_METADATA:
            if field in old["metadata"]:
                new_metadata[field] = old["metadata"][field]
            else:
                new_metadata.pop(field, None)
        if not new_metadata.get("managedFields") and "managedFields" in old["metadata"]:
            # An update that leaves managedFields out keeps them, as the real server does.
            new_metadata["managedFields"] = copy_json(old["metadata"]["managedFields"])
        if subresource == "status":
            status_only = copy_json(old)
            if "status" in new:
                status_only["status"] = new["status"]
            else:
                status_only.pop("status", None)
            return status_only
        if rtype.has_status():
            if "status" in old:
                new["status"] = copy_json(old["status"])
            else:
                new.pop("status", None)
        return new

    @staticmethod
    def _unchanged(old, new):
        def comparable(obj):
            trimmed = dict(obj)
            trimmed["metadata"] = {k: v for k, v in obj["metadata"].items() if k != "resourceVersion"}
            return trimmed

        return comparable(old) == comparable(new)

    @staticmethod
    def _awaits_kubelet(rtype, obj):
        """A scheduled pod is removed by its kubelet once its containers stop, not by the API."""
        return rtype.key == resources.PODS.key and bool((obj.get("spec") or {}).get("nodeName"))

    def delete(self, rtype, namespace, name, grace_period_seconds=None, propagation_policy=None, preconditions=None, dry_run=False):
        """Delete, gracefully where the kind has a grace period. Returns the object as it now is.

        A scheduled pod gets deletionTimestamp/deletionGracePeriodSeconds and stays (Terminating)
        until the kubelet removes it; an object with finalizers stays until they are cleared;
        ``Orphan`` and ``Foreground`` propagation are expressed as the finalizers the garbage
        collector acts on, as the real server does.
        """
        with self._lock:
            obj = copy_json(self._stored(rtype, namespace, name))
            metadata = obj["metadata"]
            preconditions = preconditions or {}
            if preconditions.get("uid") and preconditions["uid"] != metadata["uid"]:
                raise Conflict(
                    f"Precondition failed: UID in precondition: {preconditions['uid']}, UID in object meta: {metadata['uid']}",
                    details={"name": name, "kind": rtype.plural},
                )
            if preconditions.get("resourceVersion") and preconditions["resourceVersion"] != metadata["resourceVersion"]:
                raise Conflict.stale(rtype, name)
            if propagation_policy not in (None, "Orphan", "Background", "Foreground"):
                raise Invalid(rtype, rtype.kind, name, [("propagationPolicy", "FieldValueNotSupported",
                                                        f'Unsupported value: "{propagation_policy}": supported values: "Foreground", "Background", "Orphan"')])
            if dry_run:
                return obj
            finalizers = list(metadata.get("finalizers") or [])
            if propagation_policy == "Orphan" and "orphan" not in finalizers:
                finalizers.append("orphan")
            if propagation_policy == "Foreground" and "foregroundDeletion" not in finalizers:
                finalizers.append("foregroundDeletion")
            if rtype.key == resources.NAMESPACES.key:
                finalizers = finalizers or ["kubernetes"]
                obj.setdefault("status", {})["phase"] = "Terminating"
            grace = self._grace_period(rtype, obj, grace_period_seconds)
            if grace > 0 or finalizers:
                terminating = bool(metadata.get("deletionTimestamp"))
                shortens = grace < (metadata.get("deletionGracePeriodSeconds") or 0)
                if terminating and not shortens and finalizers == (metadata.get("finalizers") or []):
                    return obj
                if not terminating or shortens:
                    metadata["deletionTimestamp"] = self.clock.timestamp(self.clock.wall() + grace)
                metadata["deletionGracePeriodSeconds"] = grace
                if finalizers:
                    metadata["finalizers"] = finalizers
                return self._commit("MODIFIED", rtype, obj)
            return self._commit("DELETED", rtype, obj)

    def _grace_period(self, rtype, obj, requested):
        if rtype.key != resources.PODS.key or not self._awaits_kubelet(rtype, obj):
            return 0
        if requested is not None:
            return max(int(requested), 0)
        return int((obj.get("spec") or {}).get("terminationGracePeriodSeconds", 30))

    def remove(self, rtype, namespace, name):
        """Remove an object outright: the kubelet's and the garbage collector's final step."""
        with self._lock:
            obj = self._objects.get(self._key(rtype, namespace, name))
            if obj is None:
                return None
            return self._commit("DELETED", rtype, copy_json(obj))

    def mutate(self, rtype, namespace, name, change, subresource=None):
        """Apply ``change(obj)`` (edits in place) to the current object and store it atomically.

        For controllers: no conflicts, since the read and the write happen under one lock.
        Returns the stored object, or None if it does not exist.
        """
        with self._lock:
            obj = self.find(rtype, namespace, name)
            if obj is None:
                return None
            change(obj)
            return self.update(rtype, obj, subresource=subresource)

    # ---------------------------------------------------------------- watch

    def watch(self, rtype, namespace=None, resource_version=None, label_requirements=(), field_requirements=()):
        """Open a watch. With a resourceVersion, replay every later event first (410 if too old);
        without one (or "0"), start with ADDED events for the current objects, as the real server does."""
        with self._lock:
            watch = Watch(self, rtype, namespace, label_requirements, field_requirements)
            if resource_version in (None, "", "0"):
                items, _ = self.list(rtype, namespace, label_requirements, field_requirements)
                for item in items:
                    watch.events.put(("ADDED", item))
            else:
                try:
                    since = int(resource_version)
                except ValueError as exc:
                    raise BadRequest(f"invalid resource version: {resource_version!r}") from exc
                oldest = self._history[0][0] if self._history else self._rv + 1
                if since < oldest - 1 and since < self._rv:
                    raise Gone(f"too old resource version: {since} ({oldest - 1})")
                for rv, event_type, event_rtype, obj in self._history:
                    if rv > since and watch.wants(event_rtype, obj):
                        watch.events.put((event_type, copy_json(obj)))
            self._watches.append(watch)
            return watch
