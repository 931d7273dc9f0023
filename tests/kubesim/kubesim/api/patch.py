"""The four PATCH media types: JSON patch (RFC 6902), JSON merge patch (RFC 7386), strategic merge
patch and server-side apply.

A strategic merge patch merges lists of objects by a merge key (containers by ``name``, ports by
``containerPort``, ...) instead of replacing them, and understands the directives kubectl puts in
its patches: ``$patch: replace|delete|merge``, ``$retainKeys``, ``$setElementOrder/<list>`` and
``$deleteFromPrimitiveList/<list>``. The merge keys come from the Kubernetes types' patch metadata,
so only built-in kinds accept it; custom resources answer 415, as a real server does for CRDs.
"""

import json
from dataclasses import dataclass, field

import jsonpatch
import yaml

from .. import resources
from ..errors import ApiError, BadRequest, UnsupportedMediaType

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
SUPPORTED = (JSON_PATCH, MERGE_PATCH, APPLY_PATCH, STRATEGIC_MERGE_PATCH)
_CUSTOM_RESOURCE_TYPES = (JSON_PATCH, MERGE_PATCH, APPLY_PATCH)


@dataclass(frozen=True)
class MergeList:
    """A list merged element by element, matching elements on ``key``."""

    key: str
    item: dict = field(default_factory=dict)


# A list of scalars merged as a set (strategy "merge" without a merge key), e.g. finalizers.
PRIMITIVE_SET = "primitive-set"

# ---------------------------------------------------------------- patch metadata of the served kinds

_CONDITIONS = MergeList("type")
_OBJECT_META = {"ownerReferences": MergeList("uid"), "finalizers": PRIMITIVE_SET}
_CONTAINER = {"env": MergeList("name"), "ports": MergeList("containerPort"), "volumeMounts": MergeList("mountPath"),
              "volumeDevices": MergeList("devicePath")}
_POD_SPEC = {
    "containers": MergeList("name", _CONTAINER), "initContainers": MergeList("name", _CONTAINER),
    "ephemeralContainers": MergeList("name", _CONTAINER), "volumes": MergeList("name"), "imagePullSecrets": MergeList("name"),
    "hostAliases": MergeList("ip"), "topologySpreadConstraints": MergeList("topologyKey"), "resourceClaims": MergeList("name"),
    "schedulingGates": MergeList("name"),
}
_POD_STATUS = {"conditions": _CONDITIONS, "podIPs": MergeList("ip"), "hostIPs": MergeList("ip")}
_POD_TEMPLATE = {"metadata": _OBJECT_META, "spec": _POD_SPEC}
_WORKLOAD = {"metadata": _OBJECT_META, "spec": {"template": _POD_TEMPLATE}, "status": {"conditions": _CONDITIONS}}
_WITH_CONDITIONS = {"metadata": _OBJECT_META, "status": {"conditions": _CONDITIONS}}
_PLAIN = {"metadata": _OBJECT_META}

_SCHEMAS = {
    resources.PODS.key: {"metadata": _OBJECT_META, "spec": _POD_SPEC, "status": _POD_STATUS},
    resources.DEPLOYMENTS.key: _WORKLOAD,
    resources.REPLICASETS.key: _WORKLOAD,
    resources.STATEFULSETS.key: _WORKLOAD,
    resources.DAEMONSETS.key: _WORKLOAD,
    resources.JOBS.key: _WORKLOAD,
    resources.CRONJOBS.key: {"metadata": _OBJECT_META, "spec": {"jobTemplate": {"metadata": _OBJECT_META, "spec": {"template": _POD_TEMPLATE}}},
                             "status": {"active": MergeList("uid")}},
    resources.HPAS.key: _WITH_CONDITIONS,
    resources.PVCS.key: _WITH_CONDITIONS,
    resources.CRDS.key: _WITH_CONDITIONS,
    resources.SERVICES.key: {"metadata": _OBJECT_META, "spec": {"ports": MergeList("port")}, "status": {"conditions": _CONDITIONS}},
    resources.NODES.key: {"metadata": _OBJECT_META, "status": {"conditions": _CONDITIONS, "addresses": MergeList("type")}},
    resources.NAMESPACES.key: _WITH_CONDITIONS,
    resources.PDBS.key: _WITH_CONDITIONS,
}
_CUSTOM_GROUPS = (resources.ROUTES.group, resources.SERVICESPLITTERS.group)
SCALE_SCHEMA = _PLAIN


def schema_for(rtype):
    """The strategic-merge metadata of a kind, or None for custom resources (which have none)."""
    if rtype.group in _CUSTOM_GROUPS or rtype.definition is not None:
        return None
    return _SCHEMAS.get(rtype.key, _PLAIN)


# ---------------------------------------------------------------- entry point


def apply(content_type, body, current, schema):
    """The object ``current`` with the patch ``body`` (bytes) of ``content_type`` applied.

    ``schema`` is the kind's strategic-merge metadata, None for a custom resource.
    """
    media_type = (content_type or "").split(";")[0].strip().lower()
    accepted = SUPPORTED if schema is not None else _CUSTOM_RESOURCE_TYPES
    if media_type not in accepted:
        raise UnsupportedMediaType(
            f"the body of the request was in an unknown format - accepted media types include: {', '.join(accepted)}"
        )
    if media_type == JSON_PATCH:
        return _json_patch(current, body)
    document = _decode(body, yaml_allowed=media_type == APPLY_PATCH)
    if not isinstance(document, dict):
        raise BadRequest(f"json: cannot unmarshal {type(document).__name__} into Go value of type map[string]interface {{}}")
    if media_type == MERGE_PATCH or schema is None:
        return merge_patch(current, document)
    return strategic_merge(current, document, schema)


def decode_apply_configuration(body):
    document = _decode(body, yaml_allowed=True)
    if not isinstance(document, dict):
        raise BadRequest("error decoding YAML: the apply configuration must be an object")
    return document


def _decode(body, yaml_allowed):
    try:
        if yaml_allowed:
            return yaml.safe_load(body.decode("utf-8"))
        return json.loads(body)
    except (ValueError, yaml.YAMLError) as exc:
        raise BadRequest(f"error decoding patch: {exc}") from exc


# ---------------------------------------------------------------- RFC 6902 / RFC 7386


def _json_patch(current, body):
    try:
        operations = json.loads(body)
    except ValueError as exc:
        raise BadRequest(f"error decoding patch: {exc}") from exc
    if not isinstance(operations, list) or not all(isinstance(op, dict) for op in operations):
        raise BadRequest("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    document = current
    for operation in operations:
        try:
            document = jsonpatch.JsonPatch([operation]).apply(document)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, KeyError, IndexError, TypeError) as exc:
            # The real server reports a patch that does not apply as a generic 422 with the cause attached.
            raise ApiError(
                "the server rejected our request due to an error in our request", code=422, reason="Invalid",
                details={"causes": [{"reason": "UnexpectedServerResponse", "message": _json_patch_failure(operation, exc)}]},
            ) from exc
    return document


def _json_patch_failure(operation, exc):
    """The cause as the server's JSON patch library words it."""
    path = operation.get("path")
    if isinstance(exc, jsonpatch.JsonPatchTestFailed):
        return f"testing value {path} failed: test failed"
    if isinstance(exc, (jsonpatch.JsonPatchConflict, jsonpatch.JsonPointerException, KeyError, IndexError)):
        return f'{operation.get("op")} operation does not apply: doc is missing path: "{path}": missing value'
    return f"Unexpected kind: {operation.get('op')}" if isinstance(exc, jsonpatch.InvalidJsonPatch) else str(exc)


def merge_patch(target, patch):
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# ---------------------------------------------------------------- strategic merge

_SET_ORDER = "$setElementOrder/"
_DELETE_FROM = "$deleteFromPrimitiveList/"
_PLAIN_DIRECTIVES = ("$patch", "$retainKeys")


def _is_directive(key):
    return key in _PLAIN_DIRECTIVES or key.startswith((_SET_ORDER, _DELETE_FROM))


def _without_directives(value):
    """A patch value stored as it is: directives stripped, nulls in maps dropped."""
    if isinstance(value, dict):
        return {k: _without_directives(v) for k, v in value.items() if not _is_directive(k) and v is not None}
    if isinstance(value, list):
        return [_without_directives(v) for v in value if not (isinstance(v, dict) and v.get("$patch") == "replace" and len(v) == 1)]
    return value


def strategic_merge(original, patch, schema):
    if patch.get("$patch") == "replace":
        return _without_directives(patch)
    result = dict(original) if isinstance(original, dict) else {}
    for key, value in patch.items():
        if _is_directive(key):
            continue
        if value is None or (isinstance(value, dict) and value.get("$patch") == "delete"):
            result.pop(key, None)
            continue
        result[key] = _merge_field(result.get(key), value, schema.get(key) if isinstance(schema, dict) else None)
    for key, value in patch.items():
        if key.startswith(_DELETE_FROM):
            name = key[len(_DELETE_FROM):]
            result[name] = [item for item in result.get(name) or [] if item not in value]
    for key, value in patch.items():
        if key.startswith(_SET_ORDER):
            name = key[len(_SET_ORDER):]
            if name in result:
                result[name] = _ordered(result[name], value, schema.get(name) if isinstance(schema, dict) else None)
    if "$retainKeys" in patch:
        retained = patch["$retainKeys"]
        if not isinstance(retained, list):
            raise BadRequest("invalid patch: $retainKeys must be a list")
        result = {k: v for k, v in result.items() if k in retained}
    return result


def _merge_field(current, value, field_schema):
    if isinstance(value, dict):
        return strategic_merge(current, value, field_schema if isinstance(field_schema, dict) else {})
    if isinstance(value, list) and isinstance(field_schema, MergeList):
        return _merge_list(current if isinstance(current, list) else [], value, field_schema)
    if isinstance(value, list) and field_schema == PRIMITIVE_SET:
        merged = list(current) if isinstance(current, list) else []
        return merged + [item for item in value if item not in merged]
    return _without_directives(value)


def _merge_list(current, patch_items, spec):
    if any(isinstance(item, dict) and item.get("$patch") == "replace" for item in patch_items):
        return _without_directives(patch_items)
    result = list(current)
    for item in patch_items:
        if not isinstance(item, dict) or spec.key not in item:
            shown = " ".join(f"{k}:{v}" for k, v in item.items()) if isinstance(item, dict) else item
            raise ApiError(f"map: map[{shown}] does not contain declared merge key: {spec.key}")
        position = next((i for i, existing in enumerate(result) if isinstance(existing, dict) and existing.get(spec.key) == item[spec.key]), None)
        if item.get("$patch") == "delete":
            if position is not None:
                del result[position]
        elif position is None:
            result.append(strategic_merge({}, item, spec.item))
        else:
            result[position] = strategic_merge(result[position], item, spec.item)
    return result


def _ordered(items, order, field_schema):
    """Reorder a merged list by a $setElementOrder list; elements it does not name keep their place at the end."""
    if not isinstance(items, list) or not isinstance(order, list):
        return items

    def identity(element):
        if isinstance(field_schema, MergeList) and isinstance(element, dict):
            return json.dumps(element.get(field_schema.key))
        return json.dumps(element, sort_keys=True)

    rank = {identity(element): index for index, element in enumerate(order)}
    listed = sorted((item for item in items if identity(item) in rank), key=lambda item: rank[identity(item)])
    return listed + [item for item in items if identity(item) not in rank]


# ---------------------------------------------------------------- server-side apply field ownership

# Fields that name the object rather than configure it: applying them claims nothing.
_IDENTITY = {"apiVersion", "kind", "metadata.name", "metadata.namespace", "metadata.managedFields", "metadata.resourceVersion"}


def field_set(configuration, prefix=""):
    """The fields an apply configuration sets, in the managedFields FieldsV1 form ({"f:spec": {"f:replicas": {}}}).
    A list is owned as a whole."""
    owned = {}
    for key, value in configuration.items():
        path = f"{prefix}{key}"
        if path in _IDENTITY:
            continue
        if isinstance(value, dict) and value:
            owned[f"f:{key}"] = {".": {}, **field_set(value, f"{path}.")}
        else:
            owned[f"f:{key}"] = {}
    return owned


def release_fields(obj, previous, current):
    """Remove from ``obj`` the map fields a manager owned (``previous``) and no longer applies (``current``)."""
    for key, below in previous.items():
        if not key.startswith("f:") or not isinstance(obj, dict):
            continue
        name = key[2:]
        if key not in current:
            obj.pop(name, None)
        elif below and isinstance(obj.get(name), dict):
            release_fields(obj[name], below, current[key])
