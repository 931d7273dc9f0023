# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rolling-drain planner: which pods of a Deployment or StatefulSet still run the old revision, in
which order and batches they are drained and replaced, and whether the workload lets this be done
safely. Pure: API objects (dicts) in, plans and problems out.

A pod leaves rotation when its serving label (default `cxpe.io/serving`) turns from "true" to "false":
every Service in front of the workload selects on it, so no new session reaches the pod while the ones
it has continue. The workload's own selector does not include the label, so the pod stays owned.

- StatefulSet: `updateStrategy: OnDelete`, so the controller gives the new revision only to the pods
  this module evicts; pods go from the highest ordinal down, as the controller's own rollout would.
- Deployment: paused while its new template waits (its controller then creates nothing). For each
  batch the module lowers the drained pods' `controller.kubernetes.io/pod-deletion-cost` and resumes
  the Deployment with a budget of exactly the batch (step_fields): the controller scales the old
  ReplicaSets down by the batch, removing the cheapest pods, the drained ones, and the new one up,
  and can do nothing more however late the module pauses it again.

  The budget is the controller's rolling-update arithmetic (pkg/controller/deployment/rolling.go). With
  maxSurge 0 it scales the new ReplicaSet up only into the room the old ones leave, and the old ones
  down (unavailable pods first) by (old replicas) + (new pods available) - (replicas - maxUnavailable).
  With maxUnavailable = (old pods already gone) + batch - (new pods available), that is the batch; once
  they are down, it is the number of new pods that have turned available since, so none may: while the
  drain holds the Deployment its minReadySeconds is out of reach (and progressDeadlineSeconds, which
  must stay above it). The new pods are Ready and serve (endpoints follow readiness); they count as
  available once the last step gives the Deployment back its own strategy, minReadySeconds and
  progressDeadlineSeconds, which the first step keeps in the ORIGINAL_SPEC annotation for whichever run
  ends the drain (this one, a resume, a rollback).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import hashlib
import json

from ansible_collections.cxpe.rollout.plugins.module_utils.labels import NOT_SERVING, SERVING
from ansible_collections.cxpe.rollout.plugins.module_utils.readiness import pod_is_ready

STRATEGY = "rolling_update"
DEPLOYMENT = "Deployment"
STATEFULSET = "StatefulSet"
KINDS = (DEPLOYMENT, STATEFULSET)
POD_TEMPLATE_HASH = "pod-template-hash"
CONTROLLER_REVISION_HASH = "controller-revision-hash"
DELETION_COST = "controller.kubernetes.io/pod-deletion-cost"
# Below any cost a user would set, so a scale-down removes the drained pods first.
DRAINED_COST = "-2147483648"
# A Deployment's own values of the fields its steps change, as JSON, from its first step to its last.
ORIGINAL_SPEC = "cxpe.io/rolling-original-spec"
HELD_FIELDS = ("strategy", "minReadySeconds", "progressDeadlineSeconds")
# The largest progressDeadlineSeconds, which the controller takes for no deadline, and the largest minReadySeconds
# below it (the API server requires it below): no pod turns available while the drain holds the Deployment.
NO_PROGRESS_DEADLINE = 2147483647
HELD_MIN_READY_SECONDS = NO_PROGRESS_DEADLINE - 1
DRAINING = "draining"
COMPLETED = "completed"
FAILED = "failed"


def labels_of(obj):
    return (obj.get("metadata") or {}).get("labels") or {}


def template_of(workload):
    return (workload.get("spec") or {}).get("template") or {}


def fingerprint(template):
    """A short digest of a pod template: the revision a run is rolling to, stable across runs."""
    return hashlib.sha256(json.dumps(template, sort_keys=True).encode("utf-8")).hexdigest()[:12]


def _without_hash(template):
    stripped = copy.deepcopy(template or {})
    ((stripped.get("metadata") or {}).get("labels") or {}).pop(POD_TEMPLATE_HASH, None)
    return stripped


def new_replicaset(deployment, replicasets):
    """The ReplicaSet whose template is the Deployment's (None while a paused Deployment has not made it)."""
    wanted = _without_hash(template_of(deployment))
    for replicaset in replicasets:
        if _without_hash(template_of(replicaset)) == wanted:
            return replicaset
    return None


def pods_to_replace(kind, workload, pods, replicasets=()):
    """The pods still on the old revision (deleted ones aside)."""
    live = [pod for pod in pods if not (pod.get("metadata") or {}).get("deletionTimestamp")]
    if kind == STATEFULSET:
        target = (workload.get("status") or {}).get("updateRevision")
        return [pod for pod in live if labels_of(pod).get(CONTROLLER_REVISION_HASH) != target]
    current = new_replicaset(workload, replicasets)
    target = labels_of(current).get(POD_TEMPLATE_HASH) if current else None
    return [pod for pod in live if target is None or labels_of(pod).get(POD_TEMPLATE_HASH) != target]


def on_target(kind, workload, pods, replicasets=()):
    """The pods on the new revision, Ready and in rotation, by name."""
    old = set(pod["metadata"]["name"] for pod in pods_to_replace(kind, workload, pods, replicasets))
    return sorted(pod["metadata"]["name"] for pod in pods
                  if pod["metadata"]["name"] not in old and pod_is_ready(pod))


def _ordinal(pod):
    name = pod["metadata"]["name"]
    suffix = name.rsplit("-", 1)[-1]
    return int(suffix) if suffix.isdigit() else -1


def order(kind, pods, serving_label):
    """The order pods are drained in: those a previous run already took out of rotation first (a resumed
    drain finishes them), then StatefulSet pods from the highest ordinal down, Deployment pods by name."""
    def key(pod):
        resumed = labels_of(pod).get(serving_label) == NOT_SERVING
        return (not resumed, -_ordinal(pod) if kind == STATEFULSET else 0, pod["metadata"]["name"])
    return sorted(pods, key=key)


def batches(names, size):
    return [names[index:index + size] for index in range(0, len(names), size)]


def option_problems(params):
    """What is wrong with the module's options on their own."""
    problems = []
    if params["batch_size"] < 1:
        problems.append("batch_size must be at least 1, not %d" % params["batch_size"])
    if params["max_unavailable"] < 1:
        problems.append("max_unavailable must be at least 1, not %d" % params["max_unavailable"])
    elif params["batch_size"] > params["max_unavailable"]:
        problems.append("batch_size %d would take more pods out of rotation than max_unavailable %d allows"
                        % (params["batch_size"], params["max_unavailable"]))
    for name in ("drain_timeout", "ready_timeout", "eviction_timeout", "timeout_grace_period"):
        if (params.get(name) or 0) < 0:
            problems.append("%s must not be negative, not %d" % (name, params[name]))
    if params["poll_interval"] <= 0:
        problems.append("poll_interval must be above 0, not %g" % params["poll_interval"])
    if params["rotation_delay"] < 0:
        problems.append("rotation_delay must not be negative, not %g" % params["rotation_delay"])
    if params["lease_duration"] < 1:
        problems.append("lease_duration must be at least 1 second, not %d" % params["lease_duration"])
    return problems


def selects(selector, labels):
    return bool(selector) and all(labels.get(key) == value for key, value in selector.items())


def workload_problems(kind, workload, pods, services, serving_label, old_pods):
    """What keeps the workload from being drained safely."""
    metadata = workload["metadata"]
    where = "%s %s/%s" % (kind, metadata["namespace"], metadata["name"])
    labels = (template_of(workload).get("metadata") or {}).get("labels") or {}
    problems = []
    if not pods:
        problems.append("%s: its selector matches no pod" % where)
    if labels.get(serving_label) != SERVING:
        problems.append('%s: its pod template does not carry the label %s="true", so no Service can take a pod out of '
                        'rotation' % (where, serving_label))
    # Headless Services give pods their DNS names, which a draining pod keeps; the others balance its traffic.
    fronting = [service for service in services if selects((service.get("spec") or {}).get("selector"), labels)
                and (service.get("spec") or {}).get("clusterIP") != "None"]
    for service in fronting:
        if (service["spec"]["selector"] or {}).get(serving_label) != SERVING:
            problems.append('Service %s/%s selects the pods of %s but not on %s="true": a drained pod would keep getting '
                            'new sessions through it' % (metadata["namespace"], service["metadata"]["name"], where, serving_label))
    spec = workload.get("spec") or {}
    if kind == STATEFULSET and (spec.get("updateStrategy") or {}).get("type") != "OnDelete":
        problems.append("%s: its updateStrategy is %s, not OnDelete, so its controller would replace pods without "
                        "draining them" % (where, (spec.get("updateStrategy") or {}).get("type") or "RollingUpdate"))
    if kind == DEPLOYMENT and old_pods and not spec.get("paused"):
        problems.append("%s is not paused: its controller would replace pods without draining them (pause it, then "
                        "change its template)" % where)
    if kind == DEPLOYMENT and (spec.get("strategy") or {}).get("type", "RollingUpdate") != "RollingUpdate":
        problems.append("%s: its strategy is %s, not RollingUpdate" % (where, spec["strategy"]["type"]))
    return problems


def replicas(obj):
    return (obj.get("spec") or {}).get("replicas", 1)


def step_fields(deployment, replicasets, batch_size):
    """The Deployment's spec fields for one step that replaces `batch_size` old pods and no more (see the module
    docstring), from its ReplicaSets as they are now."""
    current = new_replicaset(deployment, replicasets)
    old = sum(replicas(replicaset) for replicaset in replicasets if replicaset is not current)
    available = ((current or {}).get("status") or {}).get("availableReplicas") or 0
    gone = replicas(deployment) - old
    return {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": gone + batch_size - available}},
            "minReadySeconds": HELD_MIN_READY_SECONDS, "progressDeadlineSeconds": NO_PROGRESS_DEADLINE}


def _with(deployment, annotations, spec):
    return dict(deployment, metadata=dict(deployment["metadata"], annotations=annotations), spec=spec)


def stepping(deployment, fields):
    """The Deployment resumed with a step's `fields`, its own values of them kept in ORIGINAL_SPEC unless an earlier
    step, maybe of an earlier run, already keeps them: a run that finds the Deployment mid-drain sees a step's values."""
    spec = deployment["spec"]
    annotations = dict(deployment["metadata"].get("annotations") or {})
    annotations.setdefault(ORIGINAL_SPEC, json.dumps(dict((name, spec.get(name)) for name in HELD_FIELDS), sort_keys=True))
    return _with(deployment, annotations, dict(spec, paused=False, **fields))


def released(deployment):
    """The Deployment resumed with its own values of the fields the steps changed, without ORIGINAL_SPEC (as it is
    when no step changed them)."""
    annotations = dict(deployment["metadata"].get("annotations") or {})
    spec = dict(deployment["spec"], paused=False)
    for name, value in json.loads(annotations.pop(ORIGINAL_SPEC, "{}")).items():
        if value is None:
            spec.pop(name, None)
        else:
            spec[name] = value
    return _with(deployment, annotations, spec)


def new_plan(kind, workload, revision, names, batch_size, now):
    return {"workload": "%s/%s" % (kind, workload["metadata"]["name"]), "revision": revision, "batch_size": batch_size,
            "pods": list(names), "started": now}


def resumable(ledger, kind, workload, revision):
    """The plan of an interrupted drain of this workload to this revision, or None."""
    plan = (ledger or {}).get("plan") or {}
    if (ledger or {}).get("phase") != DRAINING or plan.get("revision") != revision:
        return None
    if plan.get("workload") != "%s/%s" % (kind, workload["metadata"]["name"]):
        return None
    return plan
