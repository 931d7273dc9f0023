# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Drain.step_deployment against the in-memory client: what a Deployment step writes, and in which order."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json

import pytest

from ansible_collections.cxpe.rollout.plugins.module_utils.cluster import Cluster, ClusterError
from ansible_collections.cxpe.rollout.plugins.module_utils.drain import Drain, Workload
from ansible_collections.cxpe.rollout.plugins.module_utils.strategies import rolling
from cluster_support import FakeClient, api_error
from workload_objects import deployment

SERVED = set([("apps/v1", "Deployment"), ("apps/v1", "ReplicaSet"), ("v1", "Pod")])
PARAMS = {"serving_label": "cxpe.io/serving", "ready_timeout": 60, "lease_duration": 60}
OWN_STRATEGY = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
KEY = ("Deployment", "ns", "web-green")


class Lease(object):
    def renew(self):
        pass


def paused_web(replicas=4):
    obj = deployment(version="2", replicas=replicas)
    obj["metadata"]["annotations"] = {"deployment.kubernetes.io/revision": "2"}
    obj["spec"].update(paused=True, strategy=copy.deepcopy(OWN_STRATEGY), progressDeadlineSeconds=600)
    return obj


def replicaset(version, template_hash, replicas, available):
    template = copy.deepcopy(deployment(version=version)["spec"]["template"])
    template["metadata"]["labels"][rolling.POD_TEMPLATE_HASH] = template_hash
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web-green-" + template_hash, "namespace": "ns"},
            "spec": {"replicas": replicas, "template": template}, "status": {"replicas": replicas, "availableReplicas": available}}


def drain_of(client):
    cluster = Cluster(client, sleep=lambda seconds: None)
    return Drain(cluster, Workload(cluster, rolling.DEPLOYMENT, "web-green", "ns"), PARAMS, None, Lease(), (None, None, "web-green-rollout"))


def deployment_patches(client):
    return [request for request in client.requests if request == ("patch", "Deployment", "web-green")]


def the_controller_steps(client, old, new):
    """Stands for the Deployment controller acting on the step: its ReplicaSets as they are once it has."""
    client.before_patch = lambda fake: [fake.put(replicaset) for replicaset in (old, new)]


def test_a_step_resumes_the_deployment_with_a_budget_of_the_batch_then_pauses_it_again():
    client = FakeClient([paused_web(), replicaset("1", "5d8f", 4, 4)], served=SERVED)
    drain = drain_of(client)
    the_controller_steps(client, replicaset("1", "5d8f", 3, 3), replicaset("2", "7b4c", 1, 0))
    drain.step_deployment(1, last=False)

    step, pause = [operation["body"] for operation in drain.cluster.operations]
    assert step["spec"] == {"paused": False, "strategy": {"rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}},
                            "minReadySeconds": rolling.HELD_MIN_READY_SECONDS, "progressDeadlineSeconds": rolling.NO_PROGRESS_DEADLINE}
    assert json.loads(step["metadata"]["annotations"][rolling.ORIGINAL_SPEC]) == {
        "strategy": OWN_STRATEGY, "minReadySeconds": None, "progressDeadlineSeconds": 600}
    assert pause["spec"] == {"paused": True}
    assert len(deployment_patches(client)) == 2


def test_a_step_that_never_comes_leaves_the_deployment_paused():
    client = FakeClient([paused_web(), replicaset("1", "5d8f", 4, 4)], served=SERVED)
    drain = drain_of(client)

    def times_out(*args, **kwargs):
        raise ClusterError("timed out after 60s waiting for the step", 504, "Timeout")

    drain.wait = times_out
    with pytest.raises(ClusterError, match="timed out"):
        drain.step_deployment(1, last=False)
    assert [operation["body"]["spec"]["paused"] for operation in drain.cluster.operations] == [False, True]


def test_a_later_run_keeps_what_the_deployment_had_before_the_first_step_and_the_last_step_gives_it_back():
    client = FakeClient([paused_web(), replicaset("1", "5d8f", 4, 4)], served=SERVED)
    first = drain_of(client)
    the_controller_steps(client, replicaset("1", "5d8f", 3, 3), replicaset("2", "7b4c", 1, 0))
    first.step_deployment(1, last=False)
    kept = client.objects[KEY]["metadata"]["annotations"][rolling.ORIGINAL_SPEC]

    # A run that finds the Deployment mid-drain (a resume, a rollback): its steps count the pods already replaced.
    second = drain_of(client)
    the_controller_steps(client, replicaset("1", "5d8f", 1, 1), replicaset("2", "7b4c", 3, 0))
    second.step_deployment(2, last=False)
    step = second.cluster.operations[0]["body"]
    assert step["spec"] == {"paused": False, "strategy": {"rollingUpdate": {"maxUnavailable": 3}}}
    assert client.objects[KEY]["metadata"]["annotations"][rolling.ORIGINAL_SPEC] == kept

    drain_of(client).step_deployment(1, last=True)
    assert len(deployment_patches(client)) == 5
    spec = client.objects[KEY]["spec"]
    assert spec == dict(paused_web()["spec"], paused=False)
    assert client.objects[KEY]["metadata"]["annotations"] == {"deployment.kubernetes.io/revision": "2"}


def test_a_deployment_no_step_changed_is_only_resumed():
    client = FakeClient([paused_web(), replicaset("2", "7b4c", 4, 4)], served=SERVED)
    drain = drain_of(client)
    drain.step_deployment(0, last=True)
    assert [operation["body"]["spec"] for operation in drain.cluster.operations] == [{"paused": False}]


class StepRefused(FakeClient):
    """Every write of a Deployment fails (500), whatever else goes through."""

    def patch(self, resource, **kwargs):
        if resource.kind == "Deployment":
            self.requests.append(("patch", "Deployment", kwargs["name"]))
            raise api_error(500, "Internal error occurred: etcdserver: leader changed")
        return super(StepRefused, self).patch(resource, **kwargs)


def test_a_batch_its_controller_was_not_given_goes_back_into_rotation_when_the_run_fails():
    labels = {"app.kubernetes.io/name": "web", "cxpe.io/color": "green", "cxpe.io/serving": "true"}
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-green-5d8f-a", "namespace": "ns", "labels": labels}}
    client = StepRefused([paused_web(), replicaset("1", "5d8f", 4, 4), pod],
                         served=SERVED | set([("v1", "ConfigMap"), ("discovery.k8s.io/v1", "EndpointSlice")]))
    cluster = Cluster(client, sleep=lambda seconds: None)
    params = dict(PARAMS, rotation_delay=0, poll_interval=0, drain_timeout=10, on_timeout="fail", progress_interval=30,
                  reason=None, actor="me")
    drain = Drain(cluster, Workload(cluster, rolling.DEPLOYMENT, "web-green", "ns"), params, None, Lease(), (None, None, "web-green-rollout"))
    plan = rolling.new_plan(rolling.DEPLOYMENT, paused_web(), "2", ["web-green-5d8f-a"], 1, "2026-01-31T12:00:00Z")
    with pytest.raises(ClusterError, match="cannot update Deployment ns/web-green: Internal error occurred: etcdserver: leader changed"):
        drain.run(plan, [])
    # Labelled out of rotation for its drain, then back once the step was refused.
    stored = client.objects[("Pod", "ns", "web-green-5d8f-a")]["metadata"]
    assert stored["labels"]["cxpe.io/serving"] == "true" and rolling.DELETION_COST not in (stored.get("annotations") or {})
    assert drain.handed == set()
