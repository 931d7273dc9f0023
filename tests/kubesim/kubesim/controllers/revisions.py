"""ControllerRevisions: the history of pod templates that StatefulSets and DaemonSets keep.

A revision records a patch that restores its owner's pod template, is named
``<owner>-<hash of that patch>`` (the hash also in its ``controller.kubernetes.io/hash`` label) and
numbered; going back to an older template renumbers that revision as the latest (a rollback).
"""

from .. import resources
from ..errors import AlreadyExists
from ..store import copy_json
from .meta import content_hash, mutate_if_changed, name_of, namespace_of, owner_reference, semantic, try_write

REVISION_HASH_LABEL = "controller.kubernetes.io/hash"


def revision_data(owner):
    """What a ControllerRevision records: a patch that restores the owner's pod template."""
    template = copy_json((owner.get("spec") or {}).get("template") or {})
    template["$patch"] = "replace"
    return {"spec": {"template": template}}


def revision_template(revision):
    template = copy_json(((revision.get("data") or {}).get("spec") or {}).get("template") or {})
    template.pop("$patch", None)
    return template


def revision_number(revision):
    return revision.get("revision", 0)


def revision_hash(revision):
    return (revision["metadata"].get("labels") or {}).get(REVISION_HASH_LABEL, "")


def current_revision(store, owner_rtype, owner, revisions):
    """The ControllerRevision of the owner's current template: an equal one (renumbered as the latest if
    it is an older one, a rollback), else a new one. None after a name collision: the owner's
    ``status.collisionCount`` goes up and the next pass hashes differently."""
    data = revision_data(owner)
    ordered = sorted(revisions, key=revision_number)
    latest = max((revision_number(r) for r in ordered), default=0)
    equal = [r for r in ordered if semantic(r.get("data")) == semantic(data)]
    if equal:
        chosen = equal[-1]
        if revision_number(chosen) == latest:
            return chosen
        return try_write(store.mutate, resources.CONTROLLERREVISIONS, namespace_of(chosen), name_of(chosen),
                         lambda r: r.__setitem__("revision", latest + 1)) or chosen
    collisions = (owner.get("status") or {}).get("collisionCount", 0)
    digest = content_hash(data, collisions)
    revision = {
        "apiVersion": "apps/v1", "kind": "ControllerRevision",
        "metadata": {"name": f"{name_of(owner)}-{digest}", "namespace": namespace_of(owner),
                     "labels": dict(((owner["spec"].get("template") or {}).get("metadata") or {}).get("labels") or {},
                                    **{REVISION_HASH_LABEL: digest}),
                     "ownerReferences": [owner_reference(owner)]},
        "data": data, "revision": latest + 1,
    }
    try:
        return store.create(resources.CONTROLLERREVISIONS, revision)
    except AlreadyExists:
        existing = store.find(resources.CONTROLLERREVISIONS, namespace_of(owner), name_of(revision))
        if existing is not None and semantic(existing.get("data")) == semantic(data):
            return existing
        mutate_if_changed(store, owner_rtype, owner, lambda o: o.setdefault("status", {}).__setitem__("collisionCount", collisions + 1),
                          subresource="status")
        return None


def truncate_history(store, owner, revisions, live_names):
    """Delete the oldest revisions not in ``live_names`` beyond the owner's revisionHistoryLimit."""
    history = sorted((r for r in revisions if name_of(r) not in live_names), key=revision_number)
    limit = (owner.get("spec") or {}).get("revisionHistoryLimit", 10)
    for revision in history[: max(len(history) - limit, 0)]:
        try_write(store.delete, resources.CONTROLLERREVISIONS, namespace_of(revision), name_of(revision))
