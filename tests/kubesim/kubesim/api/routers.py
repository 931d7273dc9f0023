"""Admission of the weighted routers' objects, as the components that own them admit them.

- OpenShift Route (route.openshift.io/v1): openshift-apiserver's defaults (target kind Service,
  weight 100, wildcardPolicy None) and validation (a weight is 0..256, at most 3 alternate
  backends, every backend a named Service), reported as a 422 Invalid with its wording.
- Consul ServiceSplitter (consul.hashicorp.com/v1alpha1): consul-k8s's mutating webhook
  (``mutate-servicesplitter.consul.hashicorp.com``) checks each split's weight (0, or 0.01..100)
  and that the weights add up to exactly 100 in float32 arithmetic, and denies the request with
  400, reported as the API server reports a webhook's denial.
- NGINX Ingress canary annotations: ingress-nginx's admission webhook accepts any value (the
  controller falls back to weight 0 and total 100 with a log warning), so kubesim rejects what the
  controller would silently misread with a 422 of its own: ``canary-weight`` must be an integer
  within 0..``canary-weight-total`` (default 100), ``canary-weight-total`` a positive integer.
"""

import json
import re
import struct

from ..errors import AdmissionDenied
from .field_errors import invalid, quote, required

ROUTE_MAX_WEIGHT = 256
ROUTE_MAX_ALTERNATE_BACKENDS = 3
ROUTE_WEIGHT_DEFAULT = 100

CANARY_WEIGHT = "nginx.ingress.kubernetes.io/canary-weight"
CANARY_WEIGHT_TOTAL = "nginx.ingress.kubernetes.io/canary-weight-total"
CANARY_WEIGHT_TOTAL_DEFAULT = 100
_GO_INTEGER = re.compile(r"[+-]?\d+")

SPLITTER_WEBHOOK = "mutate-servicesplitter.consul.hashicorp.com"
# consul-k8s names the kind by its lower-case Kubernetes kind in its errors.
SPLITTER_KIND = "servicesplitter.consul.hashicorp.com"
_SPLIT_FIELDS = ("weight", "service", "serviceSubset", "namespace", "partition", "requestHeaders", "responseHeaders")
_HEADER_FIELDS = ("add", "set", "remove")

# ---------------------------------------------------------------- OpenShift Route


def _route_targets(spec):
    """(field path, target) of the Route's backends: spec.to, then each alternate backend."""
    targets = [("spec.to", spec.get("to"))]
    targets += [(f"spec.alternateBackends[{index}]", target) for index, target in enumerate(spec.get("alternateBackends") or [])]
    return [(path, target) for path, target in targets if isinstance(target, dict)]


def default_route(obj, _old, _store):
    spec = obj.setdefault("spec", {})
    spec.setdefault("wildcardPolicy", "None")
    spec.setdefault("to", {})
    for _, target in _route_targets(spec):
        target.setdefault("kind", "Service")
        target.setdefault("weight", ROUTE_WEIGHT_DEFAULT)


def _route_target_errors(path, target):
    errors = []
    if not target.get("name"):
        errors.append(required(f"{path}.name"))
    if target.get("kind") != "Service":
        errors.append(invalid(f"{path}.kind", target.get("kind"), "must reference a Service"))
    weight = target.get("weight")
    if weight is not None and not 0 <= weight <= ROUTE_MAX_WEIGHT:
        errors.append(invalid(f"{path}.weight", weight, f"weight must be an integer between 0 and {ROUTE_MAX_WEIGHT}"))
    return errors


def validate_route(obj, _old):
    spec = obj.get("spec") or {}
    errors = []
    targets = _route_targets(spec)
    if len(spec.get("alternateBackends") or []) > ROUTE_MAX_ALTERNATE_BACKENDS:
        errors.append(required("spec.alternateBackends", f"cannot specify more than {ROUTE_MAX_ALTERNATE_BACKENDS} alternate backends"))
    for path, target in targets:
        errors += _route_target_errors(path, target)
    return errors


# ---------------------------------------------------------------- NGINX Ingress canary


def _annotation_path(key):
    return f"metadata.annotations[{key}]"


def _go_integer(text):
    return int(text) if isinstance(text, str) and _GO_INTEGER.fullmatch(text) else None


def validate_ingress(obj, _old):
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    errors, total = [], CANARY_WEIGHT_TOTAL_DEFAULT
    if CANARY_WEIGHT_TOTAL in annotations:
        text = annotations[CANARY_WEIGHT_TOTAL]
        value = _go_integer(text)
        if value is None:
            errors.append(invalid(_annotation_path(CANARY_WEIGHT_TOTAL), text, "must be an integer"))
        elif value <= 0:
            errors.append(invalid(_annotation_path(CANARY_WEIGHT_TOTAL), text, "must be greater than zero"))
        else:
            total = value
    if CANARY_WEIGHT in annotations:
        text = annotations[CANARY_WEIGHT]
        value = _go_integer(text)
        if value is None:
            errors.append(invalid(_annotation_path(CANARY_WEIGHT), text, "must be an integer"))
        elif not 0 <= value <= total:
            errors.append(invalid(_annotation_path(CANARY_WEIGHT), text, f"must be between 0 and {total}, inclusive"))
    return errors


# ---------------------------------------------------------------- Consul ServiceSplitter (its webhook)


def float32(value):
    """``value`` rounded to a Go float32."""
    return struct.unpack("f", struct.pack("f", value))[0]


class Float32(float):
    """A float32 that prints as Go's %v prints it (in a field error): 0.001, not 0.0010000000474974513."""

    def __str__(self):
        return go_float32(self)


def _shortest_float32(value):
    """(digits, exponent) of the shortest decimal that reads back as the float32 ``value``: d.ddd × 10^exponent."""
    for precision in range(1, 10):
        mantissa, exponent = f"{value:.{precision - 1}e}".split("e")
        if float32(float(f"{mantissa}e{exponent}")) == value:
            return mantissa.replace(".", "").lstrip("-"), int(exponent)
    raise AssertionError("a float32 has at most 9 significant digits")


def _fixed(digits, exponent):
    """Plain decimal notation of d.ddd × 10^exponent."""
    if exponent < 0:
        return "0." + "0" * (-exponent - 1) + digits
    whole = digits[:exponent + 1].ljust(exponent + 1, "0")
    fraction = digits[exponent + 1:]
    return f"{whole}.{fraction}" if fraction else whole


def _scientific(digits, exponent, minimum_exponent_digits):
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return f"{mantissa}e{'-' if exponent < 0 else '+'}{abs(exponent):0{minimum_exponent_digits}d}"


def go_float32(value, for_json=False):
    """A float32 as Go prints it: fmt's %v (exponent form below 1e-4 or from 1e6 on) or encoding/json's
    (plain decimals between 1e-6 and 1e21)."""
    if value == 0:
        return "0"
    digits, exponent = _shortest_float32(value)
    sign = "-" if value < 0 else ""
    plain = -6 <= exponent < 21 if for_json else -4 <= exponent < 6
    if plain:
        return sign + _fixed(digits, exponent)
    return sign + _scientific(digits, exponent, 1 if for_json else 2)


def _go_json(value):
    """encoding/json's form of a string or string map/list (sorted keys; <, > and & escaped)."""
    text = json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _split_json(split):
    """One ServiceSplit as consul-k8s marshals it: its fields in struct order, empty ones left out."""
    parts = []
    for name in _SPLIT_FIELDS:
        value = split.get(name)
        if not value:
            continue
        if name == "weight":
            parts.append(f'"weight":{go_float32(float32(value), for_json=True)}')
        elif name.endswith("Headers"):
            headers = ",".join(f'"{key}":{_go_json(value[key])}' for key in _HEADER_FIELDS if value.get(key))
            parts.append(f'"{name}":{{{headers}}}')
        else:
            parts.append(f'"{name}":{_go_json(value)}')
    return "{" + ",".join(parts) + "}"


def _splits_json(splits):
    return "null" if splits is None else "[" + ",".join(_split_json(split) for split in splits) + "]"


def _undecodable_weight(splits):
    """The webhook's decoding error for a weight that is not a number, if any."""
    for split in splits or []:
        weight = split.get("weight") if isinstance(split, dict) else None
        if weight is not None and (isinstance(weight, bool) or not isinstance(weight, (int, float))):
            kind = {str: "string", bool: "bool", list: "array", dict: "object"}.get(type(weight), "value")
            return f"json: cannot unmarshal {kind} into Go struct field ServiceSplit.spec.splits.weight of type float32"
    return None


def _splitter_errors(splits):
    errors, total = [], float32(0)
    for index, split in enumerate(splits or []):
        weight = Float32(float32(split.get("weight") or 0))
        if weight != 0 and not float32(0.01) <= weight <= 100:
            errors.append(invalid(f"spec.splits[{index}].weight", weight, "weight must be a percentage between 0.01 and 100"))
        total = float32(total + weight)
    if total != 100:
        errors.append(invalid("spec.splits", _splits_json(splits),
                              f"the sum of weights across all splits must add up to 100 percent, but adds up to {total:f}"))
    return errors


def admit_splitter(obj):
    """consul-k8s's webhook: deny a ServiceSplitter whose weights are out of range or do not add up to 100."""
    splits = (obj.get("spec") or {}).get("splits")
    undecodable = _undecodable_weight(splits)
    if undecodable:
        raise AdmissionDenied(SPLITTER_WEBHOOK, undecodable)
    errors = _splitter_errors(splits)
    if not errors:
        return
    name = (obj.get("metadata") or {}).get("name", "")
    summary = ", ".join(f"{field}: {message}" for field, _, message in errors)
    if len(errors) > 1:
        summary = f"[{summary}]"
    raise AdmissionDenied(SPLITTER_WEBHOOK, f"{SPLITTER_KIND} {quote(name)} is invalid: {summary}")

