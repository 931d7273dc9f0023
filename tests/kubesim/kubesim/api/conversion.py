"""Versions served by conversion: the object is stored in one version and read and written in others.

- ``autoscaling/v1`` HorizontalPodAutoscalers (what ``kubectl autoscale`` writes), stored as v2: the
  CPU utilization target is ``targetCPUUtilizationPercentage``; what v1 cannot hold (other metrics,
  behavior, conditions, other current metrics) travels in the ``autoscaling.alpha.kubernetes.io/*``
  annotations, as the real conversion keeps it.
- The other served versions of a custom resource (conversion strategy ``None``): only
  ``apiVersion`` changes.
"""

import json

from ..store import copy_json

_ANNOTATION = "autoscaling.alpha.kubernetes.io/"
_METRICS, _BEHAVIOR, _CONDITIONS, _CURRENT = (f"{_ANNOTATION}{name}" for name in ("metrics", "behavior", "conditions", "current-metrics"))


def _is_cpu_utilization(metric):
    resource = (metric or {}).get("resource") or {}
    return metric.get("type") == "Resource" and resource.get("name") == "cpu" and (resource.get("target") or {}).get("type") == "Utilization"


def _annotations(obj):
    return obj.setdefault("metadata", {}).setdefault("annotations", {})


def _stash(obj, key, value):
    """Keep a v2 field that v1 cannot hold in an annotation (or drop the annotation when there is nothing)."""
    if value:
        _annotations(obj)[key] = json.dumps(value, separators=(",", ":"))


def _unstash(obj, key):
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    text = annotations.pop(key, None)
    if not annotations and "annotations" in (obj.get("metadata") or {}):
        obj["metadata"].pop("annotations")
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def hpa_to_v1(stored):
    """An autoscaling/v2 HorizontalPodAutoscaler as autoscaling/v1 shows it."""
    obj = copy_json(stored)
    obj["apiVersion"] = "autoscaling/v1"
    spec, status = obj.get("spec") or {}, obj.get("status")
    metrics = spec.pop("metrics", None) or []
    cpu = next((m for m in metrics if _is_cpu_utilization(m)), None)
    if cpu is not None:
        spec["targetCPUUtilizationPercentage"] = cpu["resource"]["target"].get("averageUtilization")
    _stash(obj, _METRICS, [m for m in metrics if m is not cpu])
    _stash(obj, _BEHAVIOR, spec.pop("behavior", None))
    if isinstance(status, dict):
        current = status.pop("currentMetrics", None) or []
        cpu_now = next((m for m in current if (m.get("resource") or {}).get("name") == "cpu"), None)
        if cpu_now is not None and (cpu_now["resource"].get("current") or {}).get("averageUtilization") is not None:
            status["currentCPUUtilizationPercentage"] = cpu_now["resource"]["current"]["averageUtilization"]
        _stash(obj, _CURRENT, [m for m in current if m is not cpu_now and m.get("type")])
        _stash(obj, _CONDITIONS, status.pop("conditions", None))
    return obj


def hpa_to_v2(document):
    """An autoscaling/v1 HorizontalPodAutoscaler (a request body) as it is stored, in autoscaling/v2."""
    obj = copy_json(document)
    obj["apiVersion"] = "autoscaling/v2"
    spec = obj.setdefault("spec", {})
    metrics = _unstash(obj, _METRICS) or []
    target = spec.pop("targetCPUUtilizationPercentage", None)
    if target is not None:
        metrics.append({"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": target}}})
    if metrics:
        spec["metrics"] = metrics
    behavior = _unstash(obj, _BEHAVIOR)
    if behavior:
        spec["behavior"] = behavior
    conditions, current = _unstash(obj, _CONDITIONS), _unstash(obj, _CURRENT)
    status = obj.get("status")
    if isinstance(status, dict):
        status.pop("currentCPUUtilizationPercentage", None)
        if conditions:
            status["conditions"] = conditions
        if current:
            status["currentMetrics"] = current
    return obj


class Conversion:
    """How one served version relates to the stored one."""

    def __init__(self, served, to_served, to_stored):
        self.served = served
        self.stored = served.stored_as
        self.to_served = to_served
        self.to_stored = to_stored

    def render(self, body):
        """A response body of the stored version as the served version answers it (Status and Table bodies pass)."""
        if isinstance(body, bytes):
            body = json.loads(body)
        if not isinstance(body, dict):
            return body
        if body.get("kind") == self.stored.kind:
            return self.to_served(body)
        if body.get("kind") == self.stored.list_kind:
            return dict(body, apiVersion=self.served.api_version, items=[self.to_served(item) for item in body.get("items") or []])
        return body


def _with_api_version(api_version):
    def convert(obj):
        return dict(obj, apiVersion=api_version)
    return convert


def conversion_for(rtype):
    """The Conversion that serves ``rtype``, or None when it is the stored version."""
    if rtype.stored_as is None:
        return None
    if rtype.kind == "HorizontalPodAutoscaler":
        return Conversion(rtype, hpa_to_v1, hpa_to_v2)
    return Conversion(rtype, _with_api_version(rtype.api_version), _with_api_version(rtype.stored_as.api_version))
