"""Admission (defaults and validation) of the workload kinds beyond Deployments, ReplicaSets and
StatefulSets: DaemonSets, Jobs, CronJobs and HorizontalPodAutoscalers, as the real API server has them."""

from .. import resources
from .admission import (FORBIDDEN, INVALID, _immutable_selector, _int_or_percent_errors, _set_defaults, default_template, invalid, not_supported,
                        required, template_errors)


def default_daemonset(obj, _old, _store):
    spec = obj.setdefault("spec", {})
    _set_defaults(spec, {"revisionHistoryLimit": 10, "updateStrategy": {"type": "RollingUpdate"}})
    if spec["updateStrategy"].get("type") == "RollingUpdate":
        _set_defaults(spec["updateStrategy"], {"rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}})
    default_template(obj)


def validate_daemonset(obj, old):
    spec = obj.get("spec") or {}
    errors = template_errors(obj, "daemonset")
    strategy = spec.get("updateStrategy") or {}
    if strategy.get("type") not in ("RollingUpdate", "OnDelete"):
        errors.append(not_supported("spec.updateStrategy.type", strategy.get("type"), ("OnDelete", "RollingUpdate")))
    rolling = strategy.get("rollingUpdate") or {}
    if strategy.get("type") == "OnDelete" and rolling:
        errors.append(("spec.updateStrategy.rollingUpdate", FORBIDDEN, "Forbidden: may not be specified when strategy `type` is 'OnDelete'"))
    for key in ("maxUnavailable", "maxSurge"):
        errors += _int_or_percent_errors(f"spec.updateStrategy.rollingUpdate.{key}", rolling.get(key))
    if strategy.get("type") == "RollingUpdate" and rolling.get("maxUnavailable") in (0, "0%") and rolling.get("maxSurge") in (0, "0%", None):
        errors.append((f"spec.updateStrategy.rollingUpdate.maxUnavailable", INVALID,
                       f"Invalid value: {rolling.get('maxUnavailable')}: may not be 0 when `maxSurge` is 0"))
    if old is not None:
        errors += _immutable_selector(obj, old)
    return errors


DEFAULTERS = {
    resources.DAEMONSETS.key: default_daemonset,
}

INITIAL_STATUS = {
    resources.DAEMONSETS.key: {"currentNumberScheduled": 0, "numberMisscheduled": 0, "desiredNumberScheduled": 0, "numberReady": 0},
}

VALIDATORS = {
    resources.DAEMONSETS.key: validate_daemonset,
}
