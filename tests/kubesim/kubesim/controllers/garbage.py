"""The garbage collector and the namespace controller: what deletion of an owner or a namespace sets off.

- A dependent none of whose owners exist any more is deleted (pods gracefully); references to
  owners that are gone are dropped from a dependent that still has a live owner.
- An owner deleted with ``propagationPolicy=Foreground`` carries the ``foregroundDeletion``
  finalizer: its dependents are deleted first, then the finalizer goes and so does the owner.
- An owner deleted with ``Orphan`` carries the ``orphan`` finalizer: its dependents lose their
  reference to it, then the finalizer goes.
- A Terminating namespace has all its content deleted, then its ``kubernetes`` finalizer goes.
"""

from .. import resources
from .meta import find_condition, is_deleting, mutate_if_changed, name_of, namespace_of, release, try_write, uid_of

ORPHAN = "orphan"
FOREGROUND = "foregroundDeletion"
NAMESPACE_FINALIZER = "kubernetes"
# A safety net: rescan now and then even when no deletion was noticed.
FULL_SCAN_SECONDS = 5.0


def without_finalizer(finalizer):
    def change(obj):
        remaining = [f for f in obj["metadata"].get("finalizers") or [] if f != finalizer]
        if remaining:
            obj["metadata"]["finalizers"] = remaining
        else:
            obj["metadata"].pop("finalizers", None)
    return change


def finalizers(obj):
    return obj["metadata"].get("finalizers") or []


def deleting_in_foreground(obj):
    return is_deleting(obj) and FOREGROUND in finalizers(obj)


class GarbageCollector:
    def __init__(self, store, clock):
        self.store = store
        self.clock = clock
        self._dirty = True
        self._next_scan = 0.0
        store.add_listener(self._notice)

    def _notice(self, event_type, _rtype, obj):
        """Called under the store lock for every write: only note whether a scan could find work."""
        metadata = obj["metadata"]
        if event_type == "DELETED" or metadata.get("deletionTimestamp") or (event_type == "ADDED" and metadata.get("ownerReferences")):
            self._dirty = True

    def reconcile(self):
        now = self.clock.monotonic()
        if not self._dirty and now < self._next_scan:
            return FULL_SCAN_SECONDS
        self._dirty = False
        self._next_scan = now + FULL_SCAN_SECONDS
        objects = [(rtype, obj) for rtype in resources.RESOURCES for obj in self.store.list(rtype)[0]]
        by_uid = {uid_of(obj): obj for _, obj in objects}
        dependents = {}
        for rtype, obj in objects:
            for reference in obj["metadata"].get("ownerReferences") or []:
                dependents.setdefault(reference.get("uid"), []).append((rtype, obj, reference))
        for rtype, obj in objects:
            if obj["metadata"].get("ownerReferences"):
                self._collect(rtype, obj, by_uid, dependents)
            if is_deleting(obj):
                self._finalize(rtype, obj, dependents.get(uid_of(obj), []))
        return FULL_SCAN_SECONDS

    def _collect(self, rtype, obj, by_uid, dependents):
        references = obj["metadata"]["ownerReferences"]
        owners = [by_uid.get(reference.get("uid")) for reference in references]
        solid = [owner for owner in owners if owner is not None and not deleting_in_foreground(owner)]
        waiting = [owner for owner in owners if owner is not None and deleting_in_foreground(owner)]
        if len(solid) == len(references):
            return
        if solid:
            gone = [reference.get("uid") for reference, owner in zip(references, owners) if owner is None or deleting_in_foreground(owner)]
            mutate_if_changed(self.store, rtype, obj, release(*gone))
            return
        if is_deleting(obj):
            return
        policy = "Foreground" if waiting and dependents.get(uid_of(obj)) else "Background"
        try_write(self.store.delete, rtype, namespace_of(obj), name_of(obj), propagation_policy=policy)

    def _finalize(self, rtype, owner, owned):
        if ORPHAN in finalizers(owner):
            for dependent_rtype, dependent, _ in owned:
                try_write(self.store.mutate, dependent_rtype, namespace_of(dependent), name_of(dependent), release(uid_of(owner)))
            try_write(self.store.mutate, rtype, namespace_of(owner), name_of(owner), without_finalizer(ORPHAN))
        elif FOREGROUND in finalizers(owner) and not any(reference.get("blockOwnerDeletion") for _, _, reference in owned):
            try_write(self.store.mutate, rtype, namespace_of(owner), name_of(owner), without_finalizer(FOREGROUND))


def _resource_label(rtype):
    return f"{rtype.plural}.{rtype.group}"


def _namespace_conditions(current, remaining, held, now):
    """The conditions a Terminating namespace reports while its content goes."""
    content = ", ".join(f"{_resource_label(rtype)} has {count} resource instances" for rtype, count in remaining)
    held_text = ", ".join(f"{finalizer} in {count} resource instances" for finalizer, count in held)
    desired = [
        ("NamespaceDeletionDiscoveryFailure", "False", "ResourcesDiscovered", "All resources successfully discovered"),
        ("NamespaceDeletionGroupVersionParsingFailure", "False", "ParsedGroupVersions", "All legacy kube types successfully parsed"),
        ("NamespaceDeletionContentFailure", "False", "ContentDeleted", "All content successfully deleted, may be waiting on finalization"),
        ("NamespaceContentRemaining", "True", "SomeResourcesRemain", f"Some resources are remaining: {content}") if remaining
        else ("NamespaceContentRemaining", "False", "ContentRemoved", "All content successfully removed"),
        ("NamespaceFinalizersRemaining", "True", "SomeFinalizersRemain", f"Some content in the namespace has finalizers remaining: {held_text}")
        if held else ("NamespaceFinalizersRemaining", "False", "ContentHasNoFinalizers", "All content-preserving finalizers finished"),
    ]
    conditions = []
    for kind, status, reason, message in desired:
        previous = find_condition(current, kind)
        since = previous.get("lastTransitionTime") if previous is not None and previous.get("status") == status else now
        conditions.append({"type": kind, "status": status, "lastTransitionTime": since, "reason": reason, "message": message})
    return conditions


class NamespaceController:
    def __init__(self, store, clock):
        self.store = store
        self.clock = clock

    def reconcile(self):
        for namespace in self.store.list(resources.NAMESPACES)[0]:
            if is_deleting(namespace):
                self._empty(namespace)
        return None

    def _empty(self, namespace):
        """Delete what is left in the namespace; once nothing is, release the namespace itself."""
        name = name_of(namespace)
        remaining, held = [], {}
        for rtype in resources.RESOURCES:
            if not rtype.namespaced:
                continue
            items, _ = self.store.list(rtype, name)
            for item in items:
                if not is_deleting(item):
                    try_write(self.store.delete, rtype, name, name_of(item))
                for finalizer in finalizers(item):
                    held[finalizer] = held.get(finalizer, 0) + 1
            # What went at once (no grace period, no finalizers) is not reported as remaining.
            lingering = sum(1 for item in items if self.store.find(rtype, name, name_of(item)) is not None)
            if lingering:
                remaining.append((rtype, lingering))
        if not remaining:
            def finalize(target):
                without_finalizer(NAMESPACE_FINALIZER)(target)
                spec_finalizers = [f for f in (target.get("spec") or {}).get("finalizers") or [] if f != NAMESPACE_FINALIZER]
                target.setdefault("spec", {})["finalizers"] = spec_finalizers
            try_write(self.store.mutate, resources.NAMESPACES, None, name, finalize)
            return
        now = self.clock.timestamp()

        def report(target):
            status = target.setdefault("status", {})
            status["conditions"] = _namespace_conditions(status.get("conditions"), remaining, sorted(held.items()), now)

        mutate_if_changed(self.store, resources.NAMESPACES, namespace, report, subresource="status")
