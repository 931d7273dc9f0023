"""The apiextensions controllers: a CustomResourceDefinition's kind is served once it is Established, and goes with it.

- Establishing: a new (or changed) CRD's names are accepted (``NamesAccepted``: ``NoConflicts``) and
  it is ``Established`` (``InitialNamesAccepted``); from then on its kind is in discovery and
  served, in every served version (the storage version stored, the others converted by
  ``apiVersion``), with the status and scale subresources it declares.
- Deleting: a deleted CRD stays Terminating (its cleanup finalizer) while its custom resources are
  deleted; then the finalizer goes, and the kind is no longer served.
"""

from .. import resources
from ..api import crds as definitions
from .garbage import without_finalizer
from .meta import is_deleting, mutate_if_changed, name_of, namespace_of, try_write

# While a CRD is being deleted, look again this often for its custom resources to be gone.
CLEANUP_POLL_SECONDS = 0.05


def _path(json_path, default):
    return (json_path or default).lstrip(".")


def resource_types(crd):
    """(stored ResourceType, [the other served versions' ResourceTypes]) of a CRD."""
    spec, names = crd.get("spec") or {}, definitions.accepted_names(crd)

    def served(version, stored_as=None):
        declared = version.get("subresources") or {}
        scale = declared.get("scale") or {}
        return resources.ResourceType(
            spec["group"], version["name"], names["kind"], names["plural"], namespaced=spec.get("scope") == "Namespaced",
            short_names=tuple(names.get("shortNames") or ()), subresources=tuple(n for n in ("status", "scale") if n in declared),
            categories=tuple(names.get("categories") or ()), singular=names["singular"],
            scale_paths=(_path(scale.get("specReplicasPath"), "spec.replicas"), _path(scale.get("statusReplicasPath"), "status.replicas"),
                         _path(scale.get("labelSelectorPath"), "")),
            definition=version, stored_as=stored_as)

    stored = served(definitions.storage_version(crd))
    others = [served(v, stored) for v in spec.get("versions") or [] if v.get("served") and not v.get("storage")]
    return stored, others


def establish(store, crd, now):
    """Serve the CRD's kind, and say so in its status."""
    stored, others = resource_types(crd)
    resources.register(stored, others)
    names = definitions.accepted_names(crd)

    def change(target):
        status = target.setdefault("status", {})
        conditions = {c.get("type"): c for c in status.get("conditions") or []}
        for kind, reason, message in (("NamesAccepted", "NoConflicts", "no conflicts found"),
                                      ("Established", "InitialNamesAccepted", "the initial names have been accepted")):
            current = conditions.get(kind)
            if current is None or current.get("status") != "True":
                conditions[kind] = {"type": kind, "status": "True", "lastTransitionTime": now, "reason": reason, "message": message}
        status["conditions"] = list(conditions.values())
        status["acceptedNames"] = names
        stored_versions = status.setdefault("storedVersions", [])
        if stored.version not in stored_versions:
            stored_versions.append(stored.version)

    mutate_if_changed(store, resources.CRDS, crd, change, subresource="status")


class CustomResourceDefinitionController:
    def __init__(self, store, clock):
        self.store = store
        self.clock = clock
        self._dirty = True
        self._served = {}  # CRD name -> the generation whose kind is being served
        store.add_listener(self._notice)

    def _notice(self, _event_type, rtype, _obj):
        if rtype.key == resources.CRDS.key:
            self._dirty = True

    def reconcile(self):
        if not self._dirty:
            return None
        self._dirty = False
        crds, _ = self.store.list(resources.CRDS)
        cleaning = False
        for crd in crds:
            if is_deleting(crd):
                cleaning = self._clean_up(crd) or cleaning
            elif self._served.get(name_of(crd)) != crd["metadata"].get("generation") or not definitions.is_established(crd):
                establish(self.store, crd, self.clock.timestamp())
                self._served[name_of(crd)] = crd["metadata"].get("generation")
        for name in set(self._served) - {name_of(crd) for crd in crds}:
            group_and_plural = name.split(".", 1)
            resources.unregister((group_and_plural[1], group_and_plural[0]))
            del self._served[name]
        if cleaning:
            self._dirty = True
            return CLEANUP_POLL_SECONDS
        return None

    def _clean_up(self, crd):
        """Delete the CRD's custom resources; once none is left, release the CRD. True while some remain."""
        stored, _ = resource_types(crd)
        remaining, _ = self.store.list(stored)
        for obj in remaining:
            if not is_deleting(obj):
                try_write(self.store.delete, stored, namespace_of(obj), name_of(obj))
        if self.store.list(stored)[0]:
            return True
        try_write(self.store.mutate, resources.CRDS, None, name_of(crd), without_finalizer(definitions.CLEANUP_FINALIZER))
        return False
