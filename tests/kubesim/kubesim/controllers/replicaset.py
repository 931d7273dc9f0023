"""The ReplicaSet controller: as many active pods as ``spec.replicas``, and a status that counts them."""

from .. import resources
from ..errors import AlreadyExists, ApiError
from .events import NORMAL, WARNING
from .meta import annotations, by_namespace, claim, earliest, find_condition, is_deleting, labels, mutate_if_changed, name_of, namespace_of, try_write
from .pods import PodController, is_active, is_ready, phase, pod_from_template, restart_count

POD_DELETION_COST_ANNOTATION = "controller.kubernetes.io/pod-deletion-cost"
_PHASE_RANK = {"Pending": 0, "Unknown": 1, "Running": 2}
_NAME_ATTEMPTS = 5
COMPONENT = "replicaset-controller"


def _deletion_cost(pod):
    try:
        return int(annotations(pod).get(POD_DELETION_COST_ANNOTATION, 0))
    except ValueError:
        return 0


def deletion_order(pods, ready_times, clock):
    """Pods in the order a scale-down deletes them, the real controller's ranking: unscheduled before
    scheduled, Pending before Running, not ready before ready, lower deletion cost first, pods sharing
    a node with more of their siblings first, ready for less time first, more restarts first, newer first."""
    per_node = {}
    for pod in pods:
        node = (pod.get("spec") or {}).get("nodeName")
        per_node[node] = per_node.get(node, 0) + 1

    def rank(pod):
        node = (pod.get("spec") or {}).get("nodeName")
        ready_since = ready_times.ready_since(pod) or 0.0
        created = clock.parse_timestamp(pod["metadata"]["creationTimestamp"]) if pod["metadata"].get("creationTimestamp") else 0.0
        return (
            bool(node), _PHASE_RANK.get(phase(pod), 0), is_ready(pod), _deletion_cost(pod), -per_node[node] if node else 0,
            -ready_since, -restart_count(pod), -created,
        )

    return sorted(pods, key=rank)


def replica_counts(rs, active, ready_times):
    """(fullyLabeled, ready, available) among the active pods, and the real seconds until one more turns available."""
    spec = rs.get("spec") or {}
    template_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    min_ready = spec.get("minReadySeconds") or 0
    fully_labeled = sum(1 for pod in active if all(labels(pod).get(k) == v for k, v in template_labels.items()))
    ready = [pod for pod in active if is_ready(pod)]
    waits = [ready_times.available_in(pod, min_ready) for pod in ready]
    available = sum(1 for wait in waits if wait == 0.0)
    pending = [wait for wait in waits if wait]
    return fully_labeled, len(ready), available, min(pending, default=None)


def _namespace_terminating(error):
    return any(cause.get("reason") == "NamespaceTerminating" for cause in (error.details or {}).get("causes") or [])


def _failure_condition(error, now):
    return {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate", "message": error.message, "lastTransitionTime": now}


class ReplicaSetController(PodController):
    def reconcile(self):
        replicasets, _ = self.store.list(resources.REPLICASETS)
        if not replicasets:
            return None
        pods = by_namespace(self.store.list(resources.PODS)[0])
        delays = [self._sync(rs, pods.get(namespace_of(rs), [])) for rs in replicasets]
        return earliest(delays)

    def _sync(self, rs, namespace_pods):
        active = [pod for pod in claim(self.store, resources.PODS, rs, namespace_pods) if is_active(pod)]
        error = None
        if not is_deleting(rs):
            active, error = self._manage(rs, active)
        return self._update_status(rs, active, error)

    def _manage(self, rs, active):
        """Create or delete pods until the active ones match spec.replicas; returns (active pods, creation error)."""
        wanted = (rs.get("spec") or {}).get("replicas", 1)
        if len(active) > wanted:
            ordered = deletion_order(active, self.ready_times, self.clock)
            for pod in ordered[: len(active) - wanted]:
                if try_write(self.store.delete, resources.PODS, namespace_of(pod), name_of(pod)) is not None:
                    self.recorder.record(rs, NORMAL, "SuccessfulDelete", f"Deleted pod: {name_of(pod)}", COMPONENT)
            return ordered[len(active) - wanted:], None
        created = []
        for _ in range(wanted - len(active)):
            try:
                pod = self._create_pod(rs)
            except ApiError as error:
                self._report_failed_create(rs, error)
                return active + created, error
            created.append(pod)
            self.recorder.record(rs, NORMAL, "SuccessfulCreate", f"Created pod: {name_of(pod)}", COMPONENT)
        return active + created, None

    def _report_failed_create(self, rs, error):
        """FailedCreate, as the real PodControl records it (not for a terminating namespace); once per
        error, since this controller retries on every pass where the real one backs off."""
        reported = find_condition((rs.get("status") or {}).get("conditions"), "ReplicaFailure")
        if not _namespace_terminating(error) and (reported is None or reported.get("message") != error.message):
            self.recorder.record(rs, WARNING, "FailedCreate", f"Error creating: {error.message}", COMPONENT)

    def _create_pod(self, rs):
        """A new pod; a generated name that is taken is drawn again, as the API server does."""
        template = rs["spec"].get("template") or {}
        for _ in range(_NAME_ATTEMPTS - 1):
            try:
                return self.store.create(resources.PODS, pod_from_template(template, rs))
            except AlreadyExists:
                continue
        return self.store.create(resources.PODS, pod_from_template(template, rs))

    def _update_status(self, rs, active, error):
        fully_labeled, ready, available, next_available = replica_counts(rs, active, self.ready_times)
        now = self.clock.timestamp()

        def change(target):
            status = target.setdefault("status", {})
            conditions = [c for c in status.get("conditions") or [] if c.get("type") != "ReplicaFailure"]
            failure = find_condition(status.get("conditions"), "ReplicaFailure")
            if error is not None:
                conditions.append(failure if failure and failure.get("message") == error.message else _failure_condition(error, now))
            counts = {"fullyLabeledReplicas": fully_labeled, "readyReplicas": ready, "availableReplicas": available,
                      "observedGeneration": target["metadata"].get("generation", 1)}
            for key, value in counts.items():
                if value:
                    status[key] = value
                else:
                    status.pop(key, None)
            status["replicas"] = len(active)
            if conditions:
                status["conditions"] = conditions
            else:
                status.pop("conditions", None)

        mutate_if_changed(self.store, resources.REPLICASETS, rs, change, subresource="status")
        return next_available
