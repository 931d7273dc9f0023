"""Admission (defaults and validation) of the workload kinds beyond Deployments, ReplicaSets and
StatefulSets: DaemonSets, Jobs, CronJobs and HorizontalPodAutoscalers, as the real API server has them."""

import zoneinfo

from .. import cron, resources
from .admission import (FORBIDDEN, INVALID, _go_label_selector, _immutable, _immutable_selector, _int_or_percent_errors, _set_defaults, default_pod_spec,
                        default_template, invalid, label_errors, not_supported, pod_spec_errors, required, template_errors)

JOB_UID_LABEL = "batch.kubernetes.io/controller-uid"
JOB_NAME_LABEL = "batch.kubernetes.io/job-name"
# The labels a Job's pods carried before 1.27; the real server still adds both.
LEGACY_JOB_UID_LABEL = "controller-uid"
LEGACY_JOB_NAME_LABEL = "job-name"
# A CronJob's name, with the 11 characters of its Jobs' suffix, must stay a valid label value.
CRONJOB_NAME_MAX = 52


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


def default_job(obj, old, _store):
    spec = obj.setdefault("spec", {})
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
    _set_defaults(spec, {"parallelism": 1, "completionMode": "NonIndexed", "suspend": False,
                         "podReplacementPolicy": "Failed" if spec.get("podFailurePolicy") else "TerminatingOrFailed"})
    if spec.get("backoffLimitPerIndex") is None:
        spec.setdefault("backoffLimit", 6)
    if old is None and not spec.get("manualSelector"):
        _generate_job_selector(obj)
    default_template(obj)


def _generate_job_selector(job):
    """The selector the server makes for a Job, from its uid, and the labels that go with it on the pod template."""
    uid, name = job["metadata"]["uid"], job["metadata"].get("name", "")
    spec = job["spec"]
    template_metadata = spec.setdefault("template", {}).setdefault("metadata", {})
    template_metadata["labels"] = dict(template_metadata.get("labels") or {}, **{
        JOB_UID_LABEL: uid, JOB_NAME_LABEL: name, LEGACY_JOB_UID_LABEL: uid, LEGACY_JOB_NAME_LABEL: name})
    spec.setdefault("selector", {"matchLabels": {JOB_UID_LABEL: uid}})


def _non_negative(spec, path, keys):
    return [invalid(f"{path}.{key}", spec[key], "must be greater than or equal to 0")
            for key in keys if isinstance(spec.get(key), int) and spec[key] < 0]


def job_spec_errors(spec, path, uid=None):
    template = spec.get("template") or {}
    errors = _non_negative(spec, path, ("parallelism", "completions", "backoffLimit", "activeDeadlineSeconds", "ttlSecondsAfterFinished"))
    errors += label_errors(f"{path}.template.metadata.labels", (template.get("metadata") or {}).get("labels"))
    errors += pod_spec_errors(f"{path}.template.spec", template.get("spec") or {})
    policy = (template.get("spec") or {}).get("restartPolicy")
    if policy not in ("OnFailure", "Never"):
        errors.append(not_supported(f"{path}.template.spec.restartPolicy", policy, ("OnFailure", "Never")))
    if spec.get("completionMode") not in (None, "NonIndexed", "Indexed"):
        errors.append(not_supported(f"{path}.completionMode", spec.get("completionMode"), ("NonIndexed", "Indexed")))
    selector = spec.get("selector")
    if uid is not None and not spec.get("manualSelector") and (selector or {}).get("matchLabels", {}).get(JOB_UID_LABEL) != uid:
        errors.append((f"{path}.selector", INVALID, f"Invalid value: {_go_label_selector(selector)}: `selector` not auto-generated"))
    return errors


def validate_job(obj, old):
    spec = obj.get("spec") or {}
    errors = job_spec_errors(spec, "spec", obj["metadata"].get("uid"))
    if old is not None:
        old_spec = old.get("spec") or {}
        errors += _immutable_selector(obj, old)
        errors += _immutable("spec.completions", spec.get("completions"), old_spec.get("completions"))
        if spec.get("template") != old_spec.get("template"):
            errors.append(invalid("spec.template", spec.get("template"), "field is immutable"))
    return errors


def default_cronjob(obj, _old, _store):
    spec = obj.setdefault("spec", {})
    _set_defaults(spec, {"concurrencyPolicy": "Allow", "suspend": False, "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 1})
    template = spec.setdefault("jobTemplate", {}).setdefault("spec", {}).setdefault("template", {})
    template.setdefault("metadata", {}).setdefault("creationTimestamp", None)
    default_pod_spec(template.setdefault("spec", {}))


def schedule_errors(spec):
    schedule, zone = spec.get("schedule"), spec.get("timeZone")
    if not schedule:
        return [required("spec.schedule")]
    errors = []
    if "TZ" in schedule:
        errors.append(invalid("spec.schedule", schedule, "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"))
    else:
        try:
            cron.parse(schedule)
        except cron.CronError as exc:
            errors.append(invalid("spec.schedule", schedule, str(exc)))
    if zone is not None:
        try:
            zoneinfo.ZoneInfo(zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            errors.append(invalid("spec.timeZone", zone, "unknown time zone " + zone))
    return errors


def validate_cronjob(obj, _old):
    spec = obj.get("spec") or {}
    errors = schedule_errors(spec)
    name = obj["metadata"].get("name") or ""
    if len(name) > CRONJOB_NAME_MAX:
        errors.append(invalid("metadata.name", name, f"must be no more than {CRONJOB_NAME_MAX} characters"))
    if spec.get("concurrencyPolicy") not in ("Allow", "Forbid", "Replace"):
        errors.append(not_supported("spec.concurrencyPolicy", spec.get("concurrencyPolicy"), ("Allow", "Forbid", "Replace")))
    errors += _non_negative(spec, "spec", ("startingDeadlineSeconds", "successfulJobsHistoryLimit", "failedJobsHistoryLimit"))
    errors += job_spec_errors((spec.get("jobTemplate") or {}).get("spec") or {}, "spec.jobTemplate.spec")
    return errors


_METRIC_TYPES = ("ContainerResource", "External", "Object", "Pods", "Resource")


def _scaling_rules(rules, stabilization, policies):
    """An HPA behavior's scaleUp/scaleDown rules with their defaults filled in."""
    rules = dict(rules or {})
    rules.setdefault("stabilizationWindowSeconds", stabilization)
    rules.setdefault("selectPolicy", "Max")
    rules.setdefault("policies", policies)
    return rules


def default_hpa(obj, _old, _store):
    spec = obj.setdefault("spec", {})
    spec.setdefault("minReplicas", 1)
    if not spec.get("metrics"):
        spec["metrics"] = [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]
    behavior = spec.get("behavior")
    if isinstance(behavior, dict):
        behavior["scaleUp"] = _scaling_rules(behavior.get("scaleUp"), 0, [{"type": "Pods", "value": 4, "periodSeconds": 15},
                                                                            {"type": "Percent", "value": 100, "periodSeconds": 15}])
        behavior["scaleDown"] = _scaling_rules(behavior.get("scaleDown"), 300, [{"type": "Percent", "value": 100, "periodSeconds": 15}])


def validate_hpa(obj, _old):
    spec = obj.get("spec") or {}
    target = spec.get("scaleTargetRef") or {}
    errors = [required(f"spec.scaleTargetRef.{key}") for key in ("kind", "name") if not target.get(key)]
    minimum, maximum = spec.get("minReplicas"), spec.get("maxReplicas")
    if isinstance(minimum, int) and minimum < 1:
        errors.append(invalid("spec.minReplicas", minimum, "must be greater than or equal to 1"))
    if not isinstance(maximum, int) or maximum < 1:
        errors.append(invalid("spec.maxReplicas", maximum, "must be greater than 0"))
    elif isinstance(minimum, int) and maximum < minimum:
        errors.append(invalid("spec.maxReplicas", maximum, "must be greater than or equal to `minReplicas`"))
    for index, metric in enumerate(spec.get("metrics") or []):
        if (metric or {}).get("type") not in _METRIC_TYPES:
            errors.append(not_supported(f"spec.metrics[{index}].type", (metric or {}).get("type"), _METRIC_TYPES))
    return errors


DEFAULTERS = {
    resources.HPAS.key: default_hpa,
    resources.DAEMONSETS.key: default_daemonset,
    resources.JOBS.key: default_job,
    resources.CRONJOBS.key: default_cronjob,
}

INITIAL_STATUS = {
    resources.DAEMONSETS.key: {"currentNumberScheduled": 0, "numberMisscheduled": 0, "desiredNumberScheduled": 0, "numberReady": 0},
    resources.JOBS.key: {},
    resources.CRONJOBS.key: {},
    resources.HPAS.key: {"desiredReplicas": 0},
}

VALIDATORS = {
    resources.HPAS.key: validate_hpa,
    resources.DAEMONSETS.key: validate_daemonset,
    resources.JOBS.key: validate_job,
    resources.CRONJOBS.key: validate_cronjob,
}
