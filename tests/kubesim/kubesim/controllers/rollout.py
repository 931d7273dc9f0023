"""The arithmetic of Deployment rollouts, as the real deployment controller does it.

Pure functions over Deployment and ReplicaSet objects: surge and unavailability fenceposts, how far
to scale the new ReplicaSet, proportional scaling across ReplicaSets, revisions and the annotations
that carry them, conditions and the status a Deployment reports.
"""

import math

from ..store import copy_json
from .meta import annotations, find_condition, int_or_percent, name_of, semantic

REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
POD_TEMPLATE_HASH = "pod-template-hash"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
# Annotations of a Deployment that are not copied to its ReplicaSets.
NOT_COPIED = frozenset({LAST_APPLIED, REVISION, REVISION_HISTORY, DESIRED_REPLICAS, MAX_REPLICAS, "deprecated.deployment.rollback.to"})
# The controller's --deployment-controller... default: revision-history is kept under 2000 characters.
MAX_REVISION_HISTORY_CHARS = 2000
NO_PROGRESS_DEADLINE = 2147483647

# Progressing condition reasons.
NEW_RS_CREATED = "NewReplicaSetCreated"
FOUND_NEW_RS = "FoundNewReplicaSet"
RS_UPDATED = "ReplicaSetUpdated"
NEW_RS_AVAILABLE = "NewReplicaSetAvailable"
TIMED_OUT = "ProgressDeadlineExceeded"
PAUSED = "DeploymentPaused"
RESUMED = "DeploymentResumed"


def desired_replicas(deployment):
    return (deployment.get("spec") or {}).get("replicas", 1)


def spec_replicas(rs):
    return (rs.get("spec") or {}).get("replicas", 0) if rs else 0


def status_count(obj, field):
    return ((obj or {}).get("status") or {}).get(field, 0)


def is_rolling(deployment):
    return ((deployment.get("spec") or {}).get("strategy") or {}).get("type", "RollingUpdate") == "RollingUpdate"


def fenceposts(deployment):
    """(maxSurge, maxUnavailable) as pod counts: surge rounds up, unavailability down, and both 0 means 1 unavailable."""
    rolling = ((deployment.get("spec") or {}).get("strategy") or {}).get("rollingUpdate") or {}
    desired = desired_replicas(deployment)
    surge = int_or_percent(rolling.get("maxSurge", "25%"), desired, round_up=True)
    unavailable = int_or_percent(rolling.get("maxUnavailable", "25%"), desired, round_up=False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def max_surge(deployment):
    return fenceposts(deployment)[0] if is_rolling(deployment) else 0


def max_unavailable(deployment):
    desired = desired_replicas(deployment)
    if not is_rolling(deployment) or desired == 0:
        return 0
    return min(fenceposts(deployment)[1], desired)


def template_without_hash(template):
    trimmed = copy_json(template or {})
    (trimmed.get("metadata") or {}).get("labels", {}).pop(POD_TEMPLATE_HASH, None)
    return semantic(trimmed)


def equal_ignoring_hash(template, other):
    return template_without_hash(template) == template_without_hash(other)


def revision(obj):
    try:
        return int(annotations(obj).get(REVISION, "0"))
    except ValueError:
        return 0


def creation_order(rs):
    """Oldest first; within one second (timestamps have no finer grain) the lower revision first."""
    return (rs["metadata"].get("creationTimestamp") or "", revision(rs), name_of(rs))


def is_active(rs):
    return spec_replicas(rs) > 0


def new_rs_replicas(deployment, all_rss, new_rs):
    """How many replicas the new ReplicaSet may have now."""
    desired = desired_replicas(deployment)
    if not is_rolling(deployment):
        return desired
    current = sum(spec_replicas(rs) for rs in all_rss)
    ceiling = desired + max_surge(deployment)
    if current >= ceiling:
        return spec_replicas(new_rs)
    return spec_replicas(new_rs) + min(ceiling - current, desired - spec_replicas(new_rs))


def _annotated_int(rs, key):
    try:
        return int(annotations(rs)[key])
    except (KeyError, ValueError):
        return None


def is_saturated(deployment, rs):
    desired = desired_replicas(deployment)
    return (rs is not None and spec_replicas(rs) == desired and _annotated_int(rs, DESIRED_REPLICAS) == desired
            and status_count(rs, "availableReplicas") == desired)


def replica_annotations_outdated(rs, desired, most):
    return _annotated_int(rs, DESIRED_REPLICAS) != desired or _annotated_int(rs, MAX_REPLICAS) != most


def with_replica_annotations(rs_annotations, desired, most):
    return dict(rs_annotations, **{DESIRED_REPLICAS: str(desired), MAX_REPLICAS: str(most)})


def new_rs_annotations(deployment, rs_annotations, new_revision, exists):
    """The new ReplicaSet's annotations: the Deployment's (less its own bookkeeping), the revision
    raised to ``new_revision`` with the one it replaces kept in revision-history (a rollback),
    and for a ReplicaSet about to be created, its replica annotations."""
    result = dict(rs_annotations)
    for key, value in annotations(deployment).items():
        if key not in NOT_COPIED:
            result[key] = value
    old_text = result.get(REVISION, "")
    try:
        old_revision = int(old_text or 0)
    except ValueError:
        return result
    if old_revision < new_revision:
        result[REVISION] = str(new_revision)
        if old_text:
            result[REVISION_HISTORY] = _append_revision_history(result.get(REVISION_HISTORY, ""), old_text)
    if not exists:
        desired = desired_replicas(deployment)
        result = with_replica_annotations(result, desired, desired + max_surge(deployment))
    return result


def _append_revision_history(history, old_revision):
    revisions = [r for r in history.split(",") if r] + [old_revision]
    while len(",".join(revisions)) > MAX_REVISION_HISTORY_CHARS and len(revisions) > 1:
        revisions.pop(0)
    return ",".join(revisions)


def find_active_or_latest(new_rs, old_rss):
    """The one ReplicaSet to scale when the rest are at zero: the only active one, else the newest."""
    if new_rs is None and not old_rss:
        return None
    newest_first = sorted(old_rss, key=creation_order, reverse=True)
    active = [rs for rs in newest_first + [new_rs] if rs is not None and is_active(rs)]
    if not active:
        return new_rs if new_rs is not None else newest_first[0]
    return active[0] if len(active) == 1 else None


def _round_half_away(value):
    return int(math.floor(value + 0.5)) if value >= 0 else -int(math.floor(-value + 0.5))


def _fraction(rs, deployment):
    """How many replicas ``rs`` gains (negative: loses) to keep its share when the Deployment is resized."""
    desired = desired_replicas(deployment)
    if desired == 0:
        return -spec_replicas(rs)
    total = desired + max_surge(deployment)
    annotated = _annotated_int(rs, MAX_REPLICAS)
    if annotated is None:
        annotated = status_count(deployment, "replicas")
    if annotated <= 0:
        return 0
    return _round_half_away(spec_replicas(rs) * total / annotated) - spec_replicas(rs)


def proportional_sizes(deployment, active_rss):
    """Sizes for the active ReplicaSets of a Deployment resized mid-rollout, each keeping its share
    (the leftover goes to the largest). Returns the ReplicaSets in scaling order and {name: size}."""
    desired = desired_replicas(deployment)
    allowed = desired + max_surge(deployment) if desired > 0 else 0
    to_add = allowed - sum(spec_replicas(rs) for rs in active_rss)
    # Larger first; among equals the newer first when adding, the older first when removing.
    ordered = sorted(active_rss, key=creation_order, reverse=to_add > 0)
    ordered.sort(key=lambda rs: -spec_replicas(rs))
    sizes, added = {}, 0
    for rs in ordered:
        share = 0
        if to_add and spec_replicas(rs) and to_add != added:
            fraction, left = _fraction(rs, deployment), to_add - added
            share = min(fraction, left) if to_add > 0 else max(fraction, left)
        sizes[name_of(rs)] = spec_replicas(rs) + share
        added += share
    if to_add and ordered:
        largest = name_of(ordered[0])
        sizes[largest] = max(sizes[largest] + to_add - added, 0)
    return ordered, sizes


# ---------------------------------------------------------------- conditions and status


def has_progress_deadline(deployment):
    deadline = (deployment.get("spec") or {}).get("progressDeadlineSeconds")
    return deadline is not None and deadline != NO_PROGRESS_DEADLINE


def new_condition(condition_type, status, reason, message, now):
    return {"type": condition_type, "status": status, "lastUpdateTime": now, "lastTransitionTime": now, "reason": reason, "message": message}


def set_condition(status, condition):
    """SetDeploymentCondition: no change for the same status and reason; the transition time stays
    while the status does. Returns whether the condition was replaced."""
    conditions = status.get("conditions") or []
    current = find_condition(conditions, condition["type"])
    if current is not None and current.get("status") == condition["status"] and current.get("reason") == condition["reason"]:
        return False
    if current is not None and current.get("status") == condition["status"]:
        condition = dict(condition, lastTransitionTime=current.get("lastTransitionTime"))
    status["conditions"] = [c for c in conditions if c.get("type") != condition["type"]] + [condition]
    return True


def remove_condition(status, condition_type):
    remaining = [c for c in status.get("conditions") or [] if c.get("type") != condition_type]
    if remaining:
        status["conditions"] = remaining
    else:
        status.pop("conditions", None)


def calculate_status(all_rss, new_rs, deployment, now):
    """The Deployment's status from its ReplicaSets (zero counts are left out, as the API omits them)."""
    available = sum(status_count(rs, "availableReplicas") for rs in all_rss)
    total = sum(spec_replicas(rs) for rs in all_rss)
    counts = {
        "observedGeneration": deployment["metadata"].get("generation", 1),
        "replicas": sum(status_count(rs, "replicas") for rs in all_rss),
        "updatedReplicas": status_count(new_rs, "replicas"),
        "readyReplicas": sum(status_count(rs, "readyReplicas") for rs in all_rss),
        "availableReplicas": available,
        "unavailableReplicas": max(total - available, 0),
    }
    status = {key: value for key, value in counts.items() if value}
    old_status = deployment.get("status") or {}
    if "collisionCount" in old_status:
        status["collisionCount"] = old_status["collisionCount"]
    if old_status.get("conditions"):
        status["conditions"] = copy_json(old_status["conditions"])
    if available >= desired_replicas(deployment) - max_unavailable(deployment):
        set_condition(status, new_condition("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.", now))
    else:
        set_condition(status, new_condition("Available", "False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability.", now))
    return status


def copy_replica_failure(status, new_rs, all_rss):
    """A ReplicaSet's ReplicaFailure condition shows on its Deployment: the new one's, else an old one's."""
    def failure(rs):
        return find_condition(((rs or {}).get("status") or {}).get("conditions"), "ReplicaFailure")

    found = failure(new_rs) or next((failure(rs) for rs in all_rss if failure(rs)), None)
    if found is None:
        remove_condition(status, "ReplicaFailure")
        return
    since = found.get("lastTransitionTime")
    set_condition(status, {"type": "ReplicaFailure", "status": found.get("status"), "lastUpdateTime": since, "lastTransitionTime": since,
                           "reason": found.get("reason"), "message": found.get("message")})


def is_complete(deployment, status):
    desired = desired_replicas(deployment)
    return (status.get("updatedReplicas", 0) == desired and status.get("replicas", 0) == desired
            and status.get("availableReplicas", 0) == desired
            and status.get("observedGeneration", 0) >= deployment["metadata"].get("generation", 1))


def made_progress(deployment, status):
    """Whether ``status`` shows progress over the Deployment's last reported status."""
    old = deployment.get("status") or {}
    old_leftover = old.get("replicas", 0) - old.get("updatedReplicas", 0)
    new_leftover = status.get("replicas", 0) - status.get("updatedReplicas", 0)
    return (status.get("updatedReplicas", 0) > old.get("updatedReplicas", 0) or new_leftover < old_leftover
            or status.get("readyReplicas", 0) > old.get("readyReplicas", 0)
            or status.get("availableReplicas", 0) > old.get("availableReplicas", 0))
