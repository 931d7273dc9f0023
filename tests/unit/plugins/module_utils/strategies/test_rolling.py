# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json

import pytest
from ansible_collections.cxpe.rollout.plugins.module_utils import ledger as ledgers
from ansible_collections.cxpe.rollout.plugins.module_utils.strategies import rolling
from workload_objects import deployment, pod

NOW = "2026-01-31T12:00:00Z"
SERVING = "cxpe.io/serving"


def statefulset(update_strategy="OnDelete", serving=True):
    labels = {"app.kubernetes.io/name": "sip"}
    if serving:
        labels[SERVING] = "true"
    spec = {"replicas": 3, "serviceName": "sip", "selector": {"matchLabels": {"app.kubernetes.io/name": "sip"}},
            "template": {"metadata": {"labels": labels},
                         "spec": {"containers": [{"name": "sip", "image": "registry.example.com/sip:2"}]}}}
    if update_strategy:
        spec["updateStrategy"] = {"type": update_strategy}
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "sip", "namespace": "ns"}, "spec": spec,
            "status": {"currentRevision": "sip-6d5f", "updateRevision": "sip-7c9b"}}


def member(name, revision, serving="true", ready=True, **metadata):
    obj = pod(name, ready)
    obj["metadata"].update(metadata, labels={"app.kubernetes.io/name": "sip", SERVING: serving,
                                             rolling.CONTROLLER_REVISION_HASH: revision})
    return obj


def web(version="2", paused=True, strategy="RollingUpdate", serving=True):
    obj = deployment("green", version)
    if serving:
        obj["spec"]["template"]["metadata"]["labels"][SERVING] = "true"
    obj["spec"]["paused"] = paused
    obj["spec"]["strategy"] = {"type": strategy}
    if strategy == "RollingUpdate":
        obj["spec"]["strategy"]["rollingUpdate"] = {"maxSurge": "25%", "maxUnavailable": "25%"}
    return obj


def replicaset(version, template_hash):
    """The ReplicaSet the Deployment controller makes for a template: the hash label on it and on its template."""
    template = copy.deepcopy(web(version)["spec"]["template"])
    template["metadata"]["labels"][rolling.POD_TEMPLATE_HASH] = template_hash
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": "web-green-%s" % template_hash, "namespace": "ns", "labels": dict(template["metadata"]["labels"])},
            "spec": {"replicas": 1, "template": template}}


REPLICASETS = [replicaset("1", "5d8f"), replicaset("2", "7b4c")]


def replica(name, template_hash, serving="true", ready=True, **metadata):
    obj = pod(name, ready)
    obj["metadata"].update(metadata, labels={"app.kubernetes.io/name": "web", "cxpe.io/color": "green", SERVING: serving,
                                             rolling.POD_TEMPLATE_HASH: template_hash})
    return obj


def names(pods):
    return [obj["metadata"]["name"] for obj in pods]


def service(name, selector):
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "ns"}, "spec": {"selector": selector}}


# ------------------------------------------------------------------ revisions --

def test_statefulset_pods_off_the_update_revision_are_replaced_and_deleted_ones_ignored():
    pods = [member("sip-0", "sip-7c9b"), member("sip-1", "sip-6d5f"), member("sip-2", "sip-6d5f", deletionTimestamp=NOW),
            member("sip-3", "sip-7c9b", ready=False)]
    assert names(rolling.pods_to_replace(rolling.STATEFULSET, statefulset(), pods)) == ["sip-1"]
    # On target: on the update revision and Ready; a terminating pod is neither old nor on target.
    assert rolling.on_target(rolling.STATEFULSET, statefulset(), pods) == ["sip-0"]


def test_deployment_pods_off_the_replicaset_of_its_template_are_replaced():
    pods = [replica("web-green-a", "5d8f"), replica("web-green-b", "7b4c"), replica("web-green-c", "5d8f", deletionTimestamp=NOW),
            replica("web-green-d", "7b4c", ready=False)]
    # The new ReplicaSet's template carries the hash label the Deployment's lacks: they still match.
    assert rolling.new_replicaset(web(), REPLICASETS) is REPLICASETS[1]
    assert names(rolling.pods_to_replace(rolling.DEPLOYMENT, web(), pods, REPLICASETS)) == ["web-green-a"]
    assert rolling.on_target(rolling.DEPLOYMENT, web(), pods, REPLICASETS) == ["web-green-b"]


def test_before_the_deployment_makes_its_new_replicaset_every_live_pod_is_old():
    pods = [replica("web-green-a", "5d8f"), replica("web-green-b", "5d8f"), replica("web-green-c", "5d8f", deletionTimestamp=NOW)]
    assert rolling.new_replicaset(web(), REPLICASETS[:1]) is None
    assert names(rolling.pods_to_replace(rolling.DEPLOYMENT, web(), pods, REPLICASETS[:1])) == ["web-green-a", "web-green-b"]
    assert rolling.on_target(rolling.DEPLOYMENT, web(), pods, REPLICASETS[:1]) == []
    assert names(rolling.pods_to_replace(rolling.DEPLOYMENT, web(), pods)) == ["web-green-a", "web-green-b"]


# ---------------------------------------------------------------- order, batches --

def test_statefulset_pods_go_from_the_highest_ordinal_down_after_those_already_out_of_rotation():
    pods = [member("sip-%d" % ordinal, "sip-6d5f") for ordinal in (0, 2, 9, 10, 11)] + [member("sip-1", "sip-6d5f", serving="false")]
    assert names(rolling.order(rolling.STATEFULSET, pods, SERVING)) == ["sip-1", "sip-11", "sip-10", "sip-9", "sip-2", "sip-0"]


def test_deployment_pods_go_by_name_after_those_already_out_of_rotation():
    pods = [replica("web-green-c", "5d8f"), replica("web-green-a", "5d8f"), replica("web-green-d", "5d8f", serving="false"),
            replica("web-green-b", "5d8f", serving="false")]
    assert names(rolling.order(rolling.DEPLOYMENT, pods, SERVING)) == ["web-green-b", "web-green-d", "web-green-a", "web-green-c"]


def test_the_serving_label_is_the_one_configured():
    pods = [member("sip-0", "sip-6d5f"), member("sip-1", "sip-6d5f")]
    pods[0]["metadata"]["labels"]["example.com/in-rotation"] = "false"
    assert names(rolling.order(rolling.STATEFULSET, pods, "example.com/in-rotation")) == ["sip-0", "sip-1"]


def test_batches_keep_the_order_and_the_last_one_takes_the_rest():
    assert rolling.batches(["a", "b", "c", "d", "e"], 2) == [["a", "b"], ["c", "d"], ["e"]]
    assert rolling.batches(["a", "b"], 5) == [["a", "b"]]
    assert rolling.batches([], 1) == []


# ------------------------------------------------------------- Deployment steps --

def removed_by_controller(replicas, old, new, new_available, max_unavailable, old_unavailable=0):
    """How many old pods the Deployment controller removes in one sync with maxSurge 0: reconcileOldReplicaSets in
    pkg/controller/deployment/rolling.go, cleanupUnhealthyReplicas then scaleDownOldReplicaSetsForRollingUpdate."""
    min_available = replicas - max_unavailable
    budget = old + new - min_available - (new - new_available)
    if budget <= 0:
        return 0
    cleaned = min(old_unavailable, budget)
    return cleaned + min(max(old - old_unavailable + new_available - min_available, 0), old - cleaned)


def sized(template_hash, version, replicas, available):
    obj = replicaset(version, template_hash)
    obj["spec"]["replicas"] = replicas
    obj["status"] = {"replicas": replicas, "availableReplicas": available}
    return obj


@pytest.mark.parametrize("replicas, old, new, new_available, old_unavailable, batch", [
    (4, 4, 0, 0, 0, 1),  # the first step: the paused Deployment has not made its new ReplicaSet yet
    (4, 3, 1, 0, 0, 1),
    (5, 3, 2, 0, 0, 2),
    (4, 2, 2, 1, 0, 1),  # a new pod of an earlier run (or the ReplicaSet a rollback returns to) is available
    (4, 3, 1, 0, 1, 1),  # an old pod is not available: removed by the same budget, not on top of it
    (5, 5, 0, 0, 0, 2),
    (3, 2, 1, 0, 0, 1),
])
def test_a_deployment_step_lets_the_controller_remove_exactly_the_batch_however_late_it_is_paused(
        replicas, old, new, new_available, old_unavailable, batch):
    deployment = web()
    deployment["spec"]["replicas"] = replicas
    replicasets = [sized("5d8f", "1", old, old - old_unavailable)] + ([sized("7b4c", "2", new, new_available)] if new else [])
    fields = rolling.step_fields(deployment, replicasets, batch)
    assert fields["strategy"]["type"] == "RollingUpdate" and fields["strategy"]["rollingUpdate"]["maxSurge"] == 0
    allowed = fields["strategy"]["rollingUpdate"]["maxUnavailable"]
    assert allowed == (replicas - old) + batch - new_available
    assert removed_by_controller(replicas, old, new, new_available, allowed, old_unavailable) == batch
    # Once the batch is gone (the new ReplicaSet grown or not yet), the controller has nothing left to remove...
    for grown in (new, new + batch):
        assert removed_by_controller(replicas, old - batch, grown, new_available, allowed) == 0
    # ...unless a new pod turned available, which is why the step holds minReadySeconds out of reach.
    assert removed_by_controller(replicas, old - batch, new + batch, new_available + 1, allowed) == 1
    assert (fields["minReadySeconds"], fields["progressDeadlineSeconds"]) == (2147483646, 2147483647)
    assert fields["minReadySeconds"] < fields["progressDeadlineSeconds"]


def annotations_of(obj):
    return obj["metadata"].get("annotations") or {}


def test_the_first_step_keeps_the_deployments_own_settings_and_the_last_gives_them_back():
    deployment = web()
    deployment["spec"].update(progressDeadlineSeconds=600)
    deployment["metadata"]["annotations"] = {"deployment.kubernetes.io/revision": "3"}
    fields = rolling.step_fields(deployment, [sized("5d8f", "1", 3, 3)], 1)
    stepped = rolling.stepping(deployment, fields)
    assert stepped["spec"] == dict(deployment["spec"], paused=False, **fields)
    assert json.loads(annotations_of(stepped)[rolling.ORIGINAL_SPEC]) == {
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
        "minReadySeconds": None, "progressDeadlineSeconds": 600}
    assert annotations_of(stepped)["deployment.kubernetes.io/revision"] == "3"
    assert deployment["spec"]["paused"] is True and rolling.ORIGINAL_SPEC not in annotations_of(deployment)

    # A later step, maybe of another run (a resume, a rollback), finds a step's values: it keeps the Deployment's own.
    paused = dict(stepped, spec=dict(stepped["spec"], paused=True))
    again = rolling.stepping(paused, rolling.step_fields(paused, [sized("5d8f", "1", 2, 2), sized("7b4c", "2", 1, 0)], 1))
    assert again["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 0, "maxUnavailable": 2}
    assert annotations_of(again)[rolling.ORIGINAL_SPEC] == annotations_of(stepped)[rolling.ORIGINAL_SPEC]

    released = rolling.released(dict(again, spec=dict(again["spec"], paused=True)))
    assert released["spec"] == dict(deployment["spec"], paused=False)
    assert "minReadySeconds" not in released["spec"]
    assert annotations_of(released) == {"deployment.kubernetes.io/revision": "3"}


def test_a_deployment_no_step_changed_is_only_resumed_at_the_end():
    deployment = web()
    deployment["spec"].update(minReadySeconds=10, progressDeadlineSeconds=900)
    released = rolling.released(deployment)
    assert released["spec"] == dict(deployment["spec"], paused=False) and annotations_of(released) == {}


# ---------------------------------------------------------------------- options --

def options(**changes):
    return dict({"batch_size": 1, "max_unavailable": 1, "drain_timeout": 3600, "ready_timeout": 600, "eviction_timeout": 600,
                 "lease_duration": 60, "poll_interval": 5, "rotation_delay": 5, "timeout_grace_period": None}, **changes)


@pytest.mark.parametrize("changes, problems", [
    ({}, []),
    ({"batch_size": 2, "max_unavailable": 2, "drain_timeout": 0, "ready_timeout": 0, "eviction_timeout": 0, "lease_duration": 1}, []),
    ({"batch_size": 0}, ["batch_size must be at least 1, not 0"]),
    ({"batch_size": 3, "max_unavailable": 2}, ["batch_size 3 would take more pods out of rotation than max_unavailable 2 allows"]),
    ({"max_unavailable": 0}, ["max_unavailable must be at least 1, not 0"]),
    ({"drain_timeout": -1, "eviction_timeout": -5}, ["drain_timeout must not be negative, not -1", "eviction_timeout must not be negative, not -5"]),
    ({"ready_timeout": -1}, ["ready_timeout must not be negative, not -1"]),
    ({"lease_duration": 0}, ["lease_duration must be at least 1 second, not 0"]),
    ({"poll_interval": 0, "rotation_delay": -1}, ["poll_interval must be above 0, not 0", "rotation_delay must not be negative, not -1"]),
    ({"timeout_grace_period": -1}, ["timeout_grace_period must not be negative, not -1"]),
])
def test_option_problems(changes, problems):
    assert rolling.option_problems(options(**changes)) == problems


# --------------------------------------------------------------------- workload --

FRONT = service("sip", {"app.kubernetes.io/name": "sip", SERVING: "true"})


def sip_problems(workload=None, pods=None, services=(FRONT,)):
    pods = [member("sip-0", "sip-6d5f"), member("sip-1", "sip-6d5f")] if pods is None else pods
    return rolling.workload_problems(rolling.STATEFULSET, workload or statefulset(), pods, list(services), SERVING, pods)


def web_problems(workload=None, old=True):
    pods = [replica("web-green-a", "5d8f")]
    return rolling.workload_problems(rolling.DEPLOYMENT, workload or web(), pods,
                                     [service("web", {"app.kubernetes.io/name": "web", SERVING: "true"})], SERVING, pods if old else [])


def test_a_workload_fronted_on_the_serving_label_can_be_drained():
    # Services of other workloads and Services without a selector (their endpoints kept by hand) do not matter.
    assert sip_problems(services=[FRONT, service("other", {"app.kubernetes.io/name": "other"}), service("manual", None)]) == []
    assert web_problems() == []
    # A Deployment with every pod on its template may run unpaused.
    assert web_problems(web(paused=False), old=False) == []


def test_a_workload_without_pods_is_refused():
    assert sip_problems(pods=[]) == ["StatefulSet ns/sip: its selector matches no pod"]


def test_a_template_without_the_serving_label_is_refused():
    assert sip_problems(statefulset(serving=False), services=[]) == [
        'StatefulSet ns/sip: its pod template does not carry the label cxpe.io/serving="true", so no Service can take a pod '
        'out of rotation']


def test_a_service_selecting_the_pods_but_not_on_the_serving_label_is_refused():
    assert sip_problems(services=[FRONT, service("sip-direct", {"app.kubernetes.io/name": "sip"})]) == [
        'Service ns/sip-direct selects the pods of StatefulSet ns/sip but not on cxpe.io/serving="true": a drained pod would keep '
        'getting new sessions through it']


def test_a_headless_service_keeps_the_pods_dns_names_and_is_not_checked():
    governing = service("sip-pods", {"app.kubernetes.io/name": "sip"})
    governing["spec"]["clusterIP"] = "None"
    assert sip_problems(services=[FRONT, governing]) == []


@pytest.mark.parametrize("update_strategy, shown", [("RollingUpdate", "RollingUpdate"), (None, "RollingUpdate")])
def test_a_statefulset_not_on_delete_is_refused(update_strategy, shown):
    assert sip_problems(statefulset(update_strategy)) == [
        "StatefulSet ns/sip: its updateStrategy is %s, not OnDelete, so its controller would replace pods without draining them" % shown]


def test_a_deployment_with_old_pods_must_be_paused():
    assert web_problems(web(paused=False)) == [
        "Deployment ns/web-green is not paused: its controller would replace pods without draining them (pause it, then change "
        "its template)"]


def test_a_recreate_deployment_is_refused():
    assert web_problems(web(strategy="Recreate")) == ["Deployment ns/web-green: its strategy is Recreate, not RollingUpdate"]


def test_every_problem_is_named_at_once():
    problems = rolling.workload_problems(rolling.STATEFULSET, statefulset("RollingUpdate", serving=False), [],
                                         [service("sip-direct", {"app.kubernetes.io/name": "sip"})], SERVING, [])
    assert len(problems) == 4 and problems[0] == "StatefulSet ns/sip: its selector matches no pod"
    assert "does not carry the label" in problems[1] and problems[2].startswith("Service ns/sip-direct") and "OnDelete" in problems[3]


# ------------------------------------------------------------------ plan, resume --

def test_the_fingerprint_is_the_template_not_how_its_dict_was_built():
    template = web()["spec"]["template"]
    reordered = {"spec": copy.deepcopy(template["spec"]),
                 "metadata": {"labels": dict(reversed(list(template["metadata"]["labels"].items())))}}
    assert rolling.fingerprint(template) == rolling.fingerprint(reordered) == rolling.fingerprint(copy.deepcopy(template))
    assert len(rolling.fingerprint(template)) == 12 and int(rolling.fingerprint(template), 16) >= 0
    assert rolling.fingerprint(web("3")["spec"]["template"]) != rolling.fingerprint(template)


def test_a_plan_names_the_workload_revision_batches_and_pods():
    # What a Deployment had before the drain is on the Deployment (ORIGINAL_SPEC), where a rollback's new plan finds it.
    plan = rolling.new_plan(rolling.DEPLOYMENT, web(), "abc123abc123", ["web-green-a", "web-green-b"], 2, NOW)
    assert plan == {"workload": "Deployment/web-green", "revision": "abc123abc123", "batch_size": 2,
                    "pods": ["web-green-a", "web-green-b"], "started": NOW}


def drain_ledger(plan, phase=rolling.DRAINING):
    return ledgers.record(ledgers.new_ledger("sip", rolling.STRATEGY, NOW), "drain", {"revision": plan["revision"]},
                          {"pods": plan["pods"][:1]}, "upgrade", "ops", NOW, strategy=rolling.STRATEGY, phase=phase, plan=plan,
                          progress={"done": [], "total": len(plan["pods"]), "current": plan["pods"][:1], "phase": "draining"})


def test_only_a_draining_ledger_of_the_same_workload_and_revision_is_resumed():
    revision = rolling.fingerprint(rolling.template_of(statefulset()))
    plan = rolling.new_plan(rolling.STATEFULSET, statefulset(), revision, ["sip-2", "sip-1"], 1, NOW)
    assert rolling.resumable(drain_ledger(plan), rolling.STATEFULSET, statefulset(), revision) == plan
    assert rolling.resumable(drain_ledger(plan, rolling.COMPLETED), rolling.STATEFULSET, statefulset(), revision) is None
    assert rolling.resumable(drain_ledger(plan, rolling.FAILED), rolling.STATEFULSET, statefulset(), revision) is None
    assert rolling.resumable(drain_ledger(plan), rolling.STATEFULSET, statefulset(), "0123456789ab") is None
    assert rolling.resumable(drain_ledger(dict(plan, workload="StatefulSet/sip-b")), rolling.STATEFULSET, statefulset(), revision) is None
    assert rolling.resumable(drain_ledger(dict(plan, workload="Deployment/sip")), rolling.STATEFULSET, statefulset(), revision) is None
    assert rolling.resumable(ledgers.new_ledger("sip", rolling.STRATEGY, NOW), rolling.STATEFULSET, statefulset(), revision) is None
    assert rolling.resumable(None, rolling.STATEFULSET, statefulset(), revision) is None
