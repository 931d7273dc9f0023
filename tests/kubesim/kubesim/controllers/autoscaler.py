"""The horizontal pod autoscaler controller, as it behaves on a cluster without a metrics API.

Every 15 simulated seconds (and at once when an HPA changes) it reads the scale of its target. A
target outside ``[minReplicas, maxReplicas]`` is scaled back into it (``SuccessfulRescale``: ``New
size: 5; reason: Current number of replicas above Spec.MaxReplicas``); a target at 0 replicas
disables scaling; otherwise the controller would compute replicas from the metrics, and since
kubesim serves no metrics API that fails as on a real cluster without metrics-server: the Events
``FailedGetResourceMetric`` (or the Pods/Object/External/ContainerResource counterpart) and
``FailedComputeMetricsReplicas``, the condition ``ScalingActive=False`` with the same reason, and an
empty entry in ``currentMetrics`` per metric. ``AbleToScale`` says whether the target's scale could
be read (``SucceededGetScale``, ``SucceededRescale``, ``FailedGetScale``).
"""

from .. import resources
from ..errors import NotFound
from .events import NORMAL, WARNING
from .meta import earliest, mutate_if_changed, name_of, namespace_of, try_write, uid_of

SYNC_PERIOD_SECONDS = 15
_NO_METRICS_API = "unable to fetch metrics from resource metrics API: the server could not find the requested resource (get pods.metrics.k8s.io)"
_NO_CUSTOM_METRICS = "unable to fetch metrics from custom metrics API: no custom metrics API (custom.metrics.k8s.io) registered"
_NO_EXTERNAL_METRICS = "unable to fetch metrics from external metrics API: no external metrics API (external.metrics.k8s.io) registered"


def metric_failure(metric):
    """(event reason, the metric's own error, the error computeReplicasForMetric wraps it in) for one metric spec."""
    kind = (metric or {}).get("type", "")
    if kind in ("Resource", "ContainerResource"):
        source = metric.get("resource" if kind == "Resource" else "containerResource") or {}
        name = source.get("name", "")
        measure = "utilization" if (source.get("target") or {}).get("type", "Utilization") == "Utilization" else "usage"
        error = f"failed to get {name} {measure}: unable to get metrics for resource {name}: {_NO_METRICS_API}"
        wrapped = f"failed to get {name} resource metric value: {error}" if kind == "Resource" else f"failed to get {name} container resource metric value: {error}"
        return f"FailedGet{kind}Metric", error, wrapped
    source = metric.get({"Pods": "pods", "Object": "object", "External": "external"}.get(kind, ""), {}) or {}
    name = (source.get("metric") or {}).get("name", "")
    missing = _NO_EXTERNAL_METRICS if kind == "External" else _NO_CUSTOM_METRICS
    error = f"unable to get {'external ' if kind == 'External' else ''}metric {name}: {missing}"
    return f"FailedGet{kind}Metric", error, f"failed to get {kind.lower()} metric value: {error}"


def set_condition(conditions, condition_type, status, reason, message, now):
    """The HPA's conditions with one set; its lastTransitionTime moves only when its status does."""
    current = next((c for c in conditions if c.get("type") == condition_type), None)
    since = current.get("lastTransitionTime") if current is not None and current.get("status") == status else now
    updated = {"type": condition_type, "status": status, "lastTransitionTime": since, "reason": reason, "message": message}
    if current is None:
        return conditions + [updated]
    return [updated if c is current else c for c in conditions]


def scale_target(hpa):
    """(resource type, name) of the HPA's scale target, or (None, name) when no served kind has a scale subresource by that name."""
    reference = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
    rtype = resources.by_kind(reference.get("apiVersion", ""), reference.get("kind", ""))
    return (rtype if rtype is not None and "scale" in rtype.subresources else None), reference.get("name", "")


class HorizontalPodAutoscalerController:
    def __init__(self, store, clock, recorder):
        self.store = store
        self.clock = clock
        self.recorder = recorder
        self._synced = {}  # hpa uid -> (generation synced, monotonic moment of that sync)

    def reconcile(self):
        hpas, _ = self.store.list(resources.HPAS)
        for uid in set(self._synced) - {uid_of(h) for h in hpas}:
            del self._synced[uid]
        period = self.clock.real_seconds(SYNC_PERIOD_SECONDS)
        delays = []
        for hpa in hpas:
            generation, synced_at = self._synced.get(uid_of(hpa), (None, None))
            now = self.clock.monotonic()
            if generation != hpa["metadata"].get("generation") or now >= synced_at + period:
                self._sync(hpa)
                self._synced[uid_of(hpa)] = (hpa["metadata"].get("generation"), now)
                delays.append(period)
            else:
                delays.append(synced_at + period - now)
        return earliest(delays)

    def record(self, hpa, event_type, reason, message):
        self.recorder.record(hpa, event_type, reason, message, "horizontal-pod-autoscaler")

    def _sync(self, hpa):
        """One reconcileAutoscaler: read the target's scale, clamp it into the bounds, or try the metrics."""
        spec, status = hpa.get("spec") or {}, dict(hpa.get("status") or {})
        stamp = self.clock.timestamp()
        conditions = list(status.get("conditions") or [])
        rtype, name = scale_target(hpa)
        target = self.store.find(rtype, namespace_of(hpa), name) if rtype is not None else None
        if target is None:
            missing = NotFound.for_object(rtype or resources.DEPLOYMENTS, name).message if rtype else f'no matches for kind "{(spec.get("scaleTargetRef") or {}).get("kind")}"'
            self.record(hpa, WARNING, "FailedGetScale", missing)
            conditions = set_condition(conditions, "AbleToScale", "False", "FailedGetScale",
                                       f"the HPA controller was unable to get the target's current scale: {missing}", stamp)
            return self._write(hpa, dict(status, conditions=conditions))
        current = (target.get("spec") or {}).get("replicas", 1)
        minimum, maximum = spec.get("minReplicas", 1), spec.get("maxReplicas", 1)
        conditions = set_condition(conditions, "AbleToScale", "True", "SucceededGetScale", "the HPA controller was able to get the target's current scale", stamp)
        status["currentReplicas"] = current
        if current == 0 and minimum != 0:
            conditions = set_condition(conditions, "ScalingActive", "False", "ScalingDisabled",
                                       "scaling is disabled since the replica count of the target is zero", stamp)
            return self._write(hpa, dict(status, desiredReplicas=0, conditions=conditions))
        if minimum <= current <= maximum:
            return self._write(hpa, dict(status, conditions=self._metrics_fail(hpa, conditions, stamp), currentMetrics=[{"type": ""} for _ in spec.get("metrics") or []]))
        desired, why = (maximum, "above Spec.MaxReplicas") if current > maximum else (minimum, "below Spec.MinReplicas")
        if self._rescale(rtype, target, desired):
            conditions = set_condition(conditions, "AbleToScale", "True", "SucceededRescale", f"the HPA controller was able to update the target scale to {desired}", stamp)
            self.record(hpa, NORMAL, "SuccessfulRescale", f"New size: {desired}; reason: Current number of replicas {why}")
            status["lastScaleTime"] = stamp
        status.pop("currentMetrics", None)
        return self._write(hpa, dict(status, desiredReplicas=desired, conditions=conditions))

    def _metrics_fail(self, hpa, conditions, stamp):
        """computeReplicasForMetrics without a metrics API: every metric fails, and so does the computation."""
        metrics = (hpa.get("spec") or {}).get("metrics") or []
        failures = [metric_failure(metric) for metric in metrics]
        for reason, error, _ in failures:
            self.record(hpa, WARNING, reason, error)
        if not failures:
            return conditions
        self.record(hpa, WARNING, "FailedComputeMetricsReplicas",
                    f"invalid metrics ({len(failures)} invalid out of {len(metrics)}), first error is: {failures[0][2]}")
        reason, error, _ = failures[-1]
        return set_condition(conditions, "ScalingActive", "False", reason, f"the HPA was unable to compute the replica count: {error}", stamp)

    def _rescale(self, rtype, target, replicas):
        """Set the target's replicas through its scale subresource, as the controller does."""
        def change(obj):
            obj.setdefault("spec", {})["replicas"] = replicas

        with self.store.writer("kube-controller-manager", subresource="scale"):
            return try_write(self.store.mutate, rtype, namespace_of(target), name_of(target), change) is not None

    def _write(self, hpa, status):
        mutate_if_changed(self.store, resources.HPAS, hpa, lambda target: target.__setitem__("status", status), subresource="status")
