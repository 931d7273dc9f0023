"""``metadata.managedFields``: which field manager set which fields, recorded on every write.

A write by manager M (operation ``Update``) gives M the fields it added or changed, in the FieldsV1
form (``{"f:spec": {"f:replicas": {}}}``); those fields leave any other manager that owned them, and
fields the write removed leave every manager. A manager left owning nothing is dropped. Entries are
per manager, operation and subresource (``status``, ``scale``); ``time`` moves when a manager's
entry changes. Server-side apply writes its own ``Apply`` entries (``api/rest.py``).

Lists with a merge key (containers by name, ports by port and protocol, conditions by type, ...)
are owned element by element (``k:{"name":"web"}``), lists of scalars with set semantics by value
(``v:"x"``), other lists as a whole. A map the write created is owned itself too (``".": {}``).
The merge keys are the strategic-merge metadata of ``api/patch.py``.

The manager is the request's ``fieldManager``, else the part of its User-Agent before the first
``/`` (``kubectl``, ``OpenAPI-Generator`` for the Python client), as the real API server takes it.
"""

import functools
import json

from .api.patch import PRIMITIVE_SET, MergeList, schema_for
from .frozen import FrozenJSON

UPDATE, APPLY = "Update", "Apply"
MAX_MANAGER_BYTES = 128
# Metadata the server owns or that names the object: never owned by a manager.
_UNTRACKED_METADATA = frozenset({"name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp", "deletionTimestamp",
                                 "deletionGracePeriodSeconds", "managedFields", "selfLink"})
# Root fields that are structs, not maps: their own presence is not owned.
_STRUCT_ROOTS = ("metadata", "spec", "status")
_ABSENT = object()


@functools.lru_cache(maxsize=64)
def manager_from_user_agent(user_agent):
    """The characters before the first ``/`` of a User-Agent, printable ones only, within 128 bytes."""
    kept, size = [], 0
    for char in (user_agent or "").split("/", 1)[0]:
        if not char.isprintable():
            continue
        size += len(char.encode("utf-8"))
        if size > MAX_MANAGER_BYTES:
            break
        kept.append(char)
    return "".join(kept)


def _child(schema, key):
    return schema.get(key) if isinstance(schema, dict) else None


def _element_key(item, merge):
    names = [merge.key] + (["protocol"] if merge.key in ("containerPort", "port") and "protocol" in item else [])
    return "k:" + json.dumps({name: item.get(name) for name in sorted(names)}, separators=(",", ":"))


def _all_fields(value, schema, owns_itself=True):
    """The fields of a value its writer created whole."""
    if isinstance(value, dict) and value:
        fields = {f"f:{key}": _all_fields(child, _child(schema, key)) for key, child in value.items()}
        return {".": {}, **fields} if owns_itself else fields
    if isinstance(value, list) and value and isinstance(schema, MergeList):
        return {_element_key(item, schema): _all_fields(item, schema.item) for item in value if isinstance(item, dict)}
    if isinstance(value, list) and value and schema == PRIMITIVE_SET:
        return {"v:" + json.dumps(item, separators=(",", ":")): {} for item in value}
    return {}


def _changed(old, new, schema, root=False):
    """The fields ``new`` adds or changes over ``old`` (both maps)."""
    result = {}
    for key, value in new.items():
        before = old.get(key, _ABSENT)
        if before == value:
            continue
        below = _changed_value(before, value, _child(schema, key), owns_itself=not (root and key in _STRUCT_ROOTS))
        if below is not None:
            result[f"f:{key}"] = below
    return result


def _changed_value(before, value, schema, owns_itself=True):
    """What changed in one field; None when nothing was added or changed (only removals)."""
    if before is _ABSENT or type(before) is not type(value):
        return _all_fields(value, schema, owns_itself)
    if isinstance(value, dict):
        return _changed(before, value, schema) or None
    if isinstance(value, list) and isinstance(schema, MergeList):
        previous = {_element_key(item, schema): item for item in before if isinstance(item, dict)}
        result = {}
        for item in value:
            if not isinstance(item, dict):
                continue
            key = _element_key(item, schema)
            if key not in previous:
                result[key] = _all_fields(item, schema.item)
            elif previous[key] != item:
                result[key] = _changed(previous[key], item, schema.item)
        return result or None
    if isinstance(value, list) and schema == PRIMITIVE_SET:
        return {"v:" + json.dumps(item, separators=(",", ":")): {} for item in value if item not in before} or None
    return {}


def _find_element(items, key):
    wanted = json.loads(key[2:])
    return next((item for item in items if isinstance(item, dict) and all(item.get(k) == v for k, v in wanted.items())), _ABSENT)


def prune(fields, value, schema):
    """The part of ``fields`` that still exists in ``value``."""
    kept = {}
    for key, below in fields.items():
        if key == ".":
            kept[key] = below
            continue
        if key.startswith("f:"):
            child, child_schema = value.get(key[2:], _ABSENT) if isinstance(value, dict) else _ABSENT, _child(schema, key[2:])
        elif key.startswith("k:") and isinstance(value, list) and isinstance(schema, MergeList):
            child, child_schema = _find_element(value, key), schema.item
        elif key.startswith("v:") and isinstance(value, list):
            child, child_schema = (json.loads(key[2:]) if json.loads(key[2:]) in value else _ABSENT), None
        else:
            child, child_schema = _ABSENT, None
        if child is _ABSENT:
            continue
        if not below:
            kept[key] = below
        else:
            remaining = prune(below, child, child_schema)
            if remaining:
                kept[key] = remaining
    return kept


def subtract(fields, taken):
    """``fields`` without those in ``taken`` (a field taken whole takes everything below it)."""
    result = {}
    for key, below in fields.items():
        if key not in taken:
            result[key] = below
            continue
        if not taken[key] or not below:
            continue
        remaining = subtract(below, taken[key])
        if remaining:
            result[key] = remaining
    return result


def union(first, second):
    result = dict(first)
    for key, below in second.items():
        if key not in result or not result[key]:
            result[key] = below
        elif below:
            result[key] = union(result[key], below)
    return result


def _tracked(obj, subresource, has_status):
    """The part of an object a write of this kind may own fields of."""
    if subresource == "status":
        return {"status": obj["status"]} if "status" in obj else {}
    view = {key: value for key, value in obj.items() if key not in ("apiVersion", "kind") and not (has_status and key == "status")}
    if isinstance(view.get("metadata"), dict):
        view["metadata"] = {key: value for key, value in view["metadata"].items() if key not in _UNTRACKED_METADATA}
    return view


def _root_fields(view, schema):
    return {f"f:{key}": _all_fields(value, _child(schema, key), owns_itself=key not in _STRUCT_ROOTS) for key, value in view.items()
            if value not in ({}, None) or key not in _STRUCT_ROOTS}


def record(old, new, manager, subresource, rtype, now):
    """Record in ``new`` (edited in place) the write by ``manager`` that turns ``old`` (None: a create) into it.
    ``now()`` is the time of the write."""
    schema = schema_for(rtype)
    metadata = new["metadata"]
    entries = metadata.get("managedFields")
    if not isinstance(entries, list) or not entries:
        entries = (old or {}).get("metadata", {}).get("managedFields") or []
    after = _tracked(new, subresource, rtype.has_status())
    if old is None:
        changed = _root_fields(after, schema)
    else:
        changed = _changed(_tracked(old, subresource, rtype.has_status()), after, schema, root=True)
    whole = _tracked(new, None, False)
    label = subresource or ""
    updated, mine = [], None
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        if (entry.get("manager"), entry.get("operation"), entry.get("subresource", "")) == (manager, UPDATE, label):
            mine = dict(entry)
            updated.append(mine)
            continue
        owned = entry.get("fieldsV1") or {}
        remaining = prune(subtract(owned, changed), whole, schema)
        if remaining == owned:
            updated.append(entry)
        elif remaining:
            updated.append(dict(entry, fieldsV1=remaining))
    if mine is None and changed:
        mine = {"manager": manager, "operation": UPDATE, "apiVersion": rtype.api_version, "time": None, "fieldsType": "FieldsV1", "fieldsV1": {}}
        if label:
            mine["subresource"] = label
        updated.append(mine)
    if mine is not None:
        owned = prune(union(mine.get("fieldsV1") or {}, changed), whole, schema)
        if changed:
            mine.update(apiVersion=rtype.api_version, time=now())
        mine["fieldsV1"] = owned
        if not owned:
            updated.remove(mine)
    if updated:
        # Frozen, so the many copies of the object made on reads share the entries instead of copying them.
        metadata["managedFields"] = [FrozenJSON.of(entry) for entry in updated]
    else:
        metadata.pop("managedFields", None)
