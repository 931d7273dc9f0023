"""CustomResourceDefinitions and the custom resources they define.

- A CRD's admission: the real defaults (``listKind``, ``singular``, conversion ``None``) and
  validation (its name is ``<plural>.<group>``, one storage version, a schema per version) and the
  status it starts with (``storedVersions``, empty ``acceptedNames``).
- A custom resource's admission against its version's ``openAPIV3Schema``: ``default`` values
  filled in, then the types, required fields, enums, bounds, lengths and patterns checked, with
  the real validator's wording (``spec.replicas in body must be of type integer: "string"``).
- A custom resource's ``additionalPrinterColumns`` for ``kubectl get`` (its structure, for the
  unknown-field checks, is ``fields.schema_structure``).
"""

import re

from .. import resources
from ..errors import ApiError
from ..store import copy_json

CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"
_JSON_TYPES = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer", float: "number", type(None): "null"}
_ROOT = ("apiVersion", "kind", "metadata")


# ---------------------------------------------------------------- the CustomResourceDefinition itself


def storage_version(crd):
    return next((v for v in (crd.get("spec") or {}).get("versions") or [] if v.get("storage")), None)


def accepted_names(crd):
    """The names as the CRD's NamesAccepted condition accepts them, defaults filled in."""
    names = dict((crd.get("spec") or {}).get("names") or {})
    names.setdefault("singular", (names.get("kind") or "").lower())
    names.setdefault("listKind", f"{names.get('kind', '')}List")
    return names


def default_crd(obj, old, _store):
    spec = obj.setdefault("spec", {})
    spec.setdefault("conversion", {"strategy": "None"})
    names = spec.setdefault("names", {})
    if names.get("kind"):
        names.setdefault("singular", names["kind"].lower())
        names.setdefault("listKind", f"{names['kind']}List")
    if old is None:
        stored = storage_version(obj)
        obj["status"] = {"acceptedNames": {"plural": "", "kind": ""}, "storedVersions": [stored["name"]] if stored else []}


def _crd_invalid(path, value, detail):
    quoted = f'"{value}"' if isinstance(value, str) else str(value)
    return (path, "FieldValueInvalid", f"Invalid value: {quoted}: {detail}")


def validate_crd(obj, old):
    spec = obj.get("spec") or {}
    names = spec.get("names") or {}
    errors = []
    if not spec.get("group"):
        errors.append(("spec.group", "FieldValueRequired", "Required value"))
    elif "." not in spec["group"]:
        errors.append(_crd_invalid("spec.group", spec["group"], "should be a domain with at least one dot"))
    for key in ("plural", "kind"):
        if not names.get(key):
            errors.append((f"spec.names.{key}", "FieldValueRequired", "Required value"))
    expected = f"{names.get('plural', '')}.{spec.get('group', '')}"
    if names.get("plural") and spec.get("group") and obj["metadata"].get("name") != expected:
        errors.append(_crd_invalid("metadata.name", obj["metadata"].get("name"), 'must be spec.names.plural+"."+spec.group'))
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        errors.append(("spec.scope", "FieldValueNotSupported", f'Unsupported value: "{spec.get("scope", "")}": supported values: "Cluster", "Namespaced"'))
    versions = spec.get("versions") or []
    if not versions:
        errors.append(("spec.versions", "FieldValueInvalid", "Invalid value: \"null\": must have exactly one version marked as storage version"))
    elif sum(1 for v in versions if v.get("storage")) != 1:
        errors.append(_crd_invalid("spec.versions", "null" if not versions else versions[0].get("name"), "must have exactly one version marked as storage version"))
    if versions and not any(v.get("served") for v in versions):
        errors.append(_crd_invalid("spec.versions", versions[0].get("name"), "must have at least one version marked as served"))
    for index, version in enumerate(versions):
        if not ((version.get("schema") or {}).get("openAPIV3Schema")):
            errors.append((f"spec.versions[{index}].schema.openAPIV3Schema", "FieldValueRequired", "Required value: schemas are required"))
    if old is not None:
        for path, new_value, old_value in (("spec.group", spec.get("group"), (old.get("spec") or {}).get("group")),
                                           ("spec.scope", spec.get("scope"), (old.get("spec") or {}).get("scope"))):
            if new_value != old_value:
                errors.append(_crd_invalid(path, new_value, "field is immutable"))
    return errors


def _condition_true(crd, condition_type):
    return any(c.get("type") == condition_type and c.get("status") == "True" for c in (crd.get("status") or {}).get("conditions") or [])


def is_established(crd):
    return _condition_true(crd, "Established")


def is_terminating(crd):
    return _condition_true(crd, "Terminating")


def start_deletion(crd, now):
    """What deleting a CRD does first, as the real registry does: it gets the cleanup finalizer (so it stays
    until its custom resources are gone) and the Terminating condition."""
    finalizers = crd["metadata"].setdefault("finalizers", [])
    if CLEANUP_FINALIZER not in finalizers:
        finalizers.append(CLEANUP_FINALIZER)
    status = crd.setdefault("status", {})
    others = [c for c in status.get("conditions") or [] if c.get("type") != "Terminating"]
    status["conditions"] = others + [{"type": "Terminating", "status": "True", "lastTransitionTime": now,
                                      "reason": "InstanceDeletionInProgress", "message": "CustomResource deletion is in progress"}]


# ---------------------------------------------------------------- custom resources


def schema_of(rtype):
    return (((rtype.definition or {}).get("schema") or {}).get("openAPIV3Schema")) or {}


def _apply_defaults(value, schema):
    """Fill in the ``default`` of each property the value lacks, as structural defaulting does."""
    if isinstance(value, dict):
        for name, child in (schema.get("properties") or {}).items():
            if name not in value and "default" in child:
                value[name] = copy_json(child["default"])
            if name in value:
                _apply_defaults(value[name], child)
        additional = schema.get("additionalProperties")
        if isinstance(additional, dict):
            for child in value.values():
                _apply_defaults(child, additional)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            _apply_defaults(item, schema["items"])


def _type_matches(value, expected, schema):
    if schema.get("x-kubernetes-int-or-string"):
        return isinstance(value, (int, str)) and not isinstance(value, bool)
    actual = _JSON_TYPES.get(type(value), "object")
    if expected == "number":
        return actual in ("number", "integer")
    if expected == "integer" and isinstance(value, float) and value.is_integer():
        return True
    return actual == expected


def _shown(value):
    return f'"{value}"' if isinstance(value, str) else ("true" if value is True else "false" if value is False else str(value))


def _value_errors(value, schema, path):
    """The field errors of one value against its schema, as the real validator words them."""
    if value is None:
        if schema.get("nullable") or not schema.get("type"):
            return []
        return [(path, "FieldValueInvalid", f'Invalid value: "null": {path} in body must be of type {schema["type"]}: "null"')]
    expected = schema.get("type")
    if expected and not _type_matches(value, expected, schema):
        actual = _JSON_TYPES.get(type(value), "object")
        return [(path, "FieldValueInvalid", f'Invalid value: "{actual}": {path} in body must be of type {expected}: "{actual}"')]
    errors = []
    if "enum" in schema and value not in schema["enum"]:
        errors.append((path, "FieldValueNotSupported", f"Unsupported value: {_shown(value)}: supported values: {', '.join(_shown(v) for v in schema['enum'])}"))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append((path, "FieldValueInvalid", f"Invalid value: {value}: {path} in body should be greater than or equal to {schema['minimum']}"))
        if "maximum" in schema and value > schema["maximum"]:
            errors.append((path, "FieldValueInvalid", f"Invalid value: {value}: {path} in body should be less than or equal to {schema['maximum']}"))
    if isinstance(value, str):
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            errors.append((path, "FieldValueTooLong", f"Too long: may not be more than {schema['maxLength']} bytes"))
        if "minLength" in schema and len(value) < schema["minLength"]:
            errors.append((path, "FieldValueInvalid", f'Invalid value: "{value}": {path} in body should be at least {schema["minLength"]} chars long'))
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append((path, "FieldValueInvalid", f"Invalid value: \"{value}\": {path} in body should match '{schema['pattern']}'"))
    if isinstance(value, list):
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            errors.append((path, "FieldValueTooMany", f"Too many: {len(value)}: must have at most {schema['maxItems']} items"))
        if "minItems" in schema and len(value) < schema["minItems"]:
            errors.append((path, "FieldValueInvalid", f"Invalid value: {len(value)}: {path} in body should have at least {schema['minItems']} items"))
        for index, item in enumerate(value):
            errors += _value_errors(item, schema.get("items") or {}, f"{path}[{index}]")
    if isinstance(value, dict):
        prefix = f"{path}." if path else ""
        for name in schema.get("required") or []:
            if name not in value:
                errors.append((f"{prefix}{name}", "FieldValueRequired", "Required value"))
        for name, child in sorted((schema.get("properties") or {}).items()):
            if name in value and not (not path and name in _ROOT):
                errors += _value_errors(value[name], child, f"{prefix}{name}")
        additional = schema.get("additionalProperties")
        if isinstance(additional, dict):
            for name, child_value in value.items():
                errors += _value_errors(child_value, additional, f"{prefix}{name}")
    return errors


def admit_custom(rtype, obj):
    """Default a custom resource from its schema and return its field errors."""
    schema = schema_of(rtype)
    _apply_defaults(obj, schema)
    return _value_errors(obj, schema, "")


def refuse_while_terminating(store, rtype, name):
    crd = store.find(resources.CRDS, None, f"{rtype.plural}.{rtype.group}")
    if crd is not None and (crd["metadata"].get("deletionTimestamp") or is_terminating(crd)):
        raise ApiError("create not allowed while custom resource definition is terminating", code=405, reason="MethodNotAllowed",
                       details={"name": name, "group": rtype.group, "kind": rtype.plural})


# ---------------------------------------------------------------- printing


def _json_path(obj, path):
    """A value at a simple JSONPath (``.spec.replicas``, ``.status.conditions[0].type``,
    ``.status.conditions[?(@.type=="Ready")].status``), or None."""
    current = obj
    for part in re.findall(r"\.([A-Za-z0-9_\-]+)|\[(\d+)\]|\[\?\(@\.([A-Za-z0-9_]+)==\"([^\"]*)\"\)\]", path):
        name, index, key, wanted = part
        if name:
            current = current.get(name) if isinstance(current, dict) else None
        elif index:
            current = current[int(index)] if isinstance(current, list) and int(index) < len(current) else None
        else:
            current = next((item for item in current or [] if isinstance(item, dict) and item.get(key) == wanted), None) if isinstance(current, list) else None
        if current is None:
            return None
    return current


def printer_columns(rtype, name_column, age_column, human_since):
    """The Table columns of a custom resource: Name, then its printer columns (Age when it declares none)."""
    declared = (rtype.definition or {}).get("additionalPrinterColumns")
    if declared is None:
        return (name_column, age_column)
    columns = [name_column]
    for column in declared:
        kind = column.get("type", "string")

        def cell(obj, path=column.get("jsonPath", ""), kind=kind):
            value = _json_path(obj, path)
            if value is None:
                return "<none>" if kind == "string" else None
            if kind == "date" and isinstance(value, str):
                return human_since(value)
            return value

        columns.append((column.get("name", ""), "string" if kind == "date" else kind, column.get("priority", 0), cell))
    return tuple(columns)
