# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import socket

import pytest
from ansible_collections.cxpe.rollout.plugins.module_utils import ledger as ledgers
from ansible_collections.cxpe.rollout.plugins.module_utils import preflight
from ansible_collections.cxpe.rollout.plugins.module_utils.cluster import Cluster
from ansible_collections.cxpe.rollout.plugins.module_utils.lease import microtime
from ansible_collections.cxpe.rollout.plugins.module_utils.status import platform_status
from cluster_support import FakeClient, Response

NOW = datetime.datetime(2026, 1, 31, 12, 0, 0, tzinfo=datetime.timezone.utc)
RECORDED = "2026-01-31T11:58:00Z"
VERSION = {"major": "1", "minor": "32", "gitVersion": "v1.32.4", "platform": "linux/amd64"}
OPTIONS = {"min_kubernetes_version": "1.27", "endpoint_timeout": 3.0, "max_release_gap": 2, "allow_downgrade": False,
           "namespaces": [], "priority_classes": [], "endpoints": [], "services": []}
SERVED = set([("v1", "ConfigMap"), ("v1", "Service"), ("apps/v1", "Deployment"), ("v1", "Namespace"),
              ("scheduling.k8s.io/v1", "PriorityClass"), ("coordination.k8s.io/v1", "Lease")])


def options(**changed):
    return dict(OPTIONS, **changed)


def request(service, version=None, namespace="gws", strategy=None):
    return {"namespace": namespace, "service": service, "version": version, "strategy": strategy}


def deployment(name, service, version, namespace="gws", color=None):
    labels = {"app.kubernetes.io/name": service, "app.kubernetes.io/version": version}
    if color:
        labels["cxpe.io/color"] = color
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": namespace, "labels": dict(labels), "generation": 1},
            "spec": {"replicas": 1, "template": {"metadata": {"labels": labels},
                                                 "spec": {"containers": [{"name": "app", "image": "r/%s:%s" % (service, version)}]}}},
            "status": {"observedGeneration": 1, "replicas": 1, "readyReplicas": 1, "updatedReplicas": 1, "availableReplicas": 1}}


def service(name, selector, namespace="gws"):
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": namespace},
            "spec": {"selector": dict(selector)}}


def color_service(name, color, namespace="gws", service_name=None):
    return service(name, {"app.kubernetes.io/name": service_name or name, "cxpe.io/color": color}, namespace)


def ledger_entry(service_name, strategy, namespace="gws", **fields):
    ledger = ledgers.new_ledger(service_name, strategy, RECORDED)
    ledger.update(fields)
    return ledgers.public(ledger, {"metadata": {"namespace": namespace, "name": ledgers.ledger_name(service_name)}})


def lease(name, holder="ci@runner-2/7", renewed=-10, duration=60, namespace="gws"):
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": name, "namespace": namespace},
            "spec": {"holderIdentity": holder, "leaseDurationSeconds": duration,
                     "acquireTime": microtime(NOW - datetime.timedelta(seconds=600)),
                     "renewTime": microtime(NOW + datetime.timedelta(seconds=renewed))}}


def reads(deployments=(), services=(), found_ledgers=(), found_leases=None, **changed):
    by_namespace = {}
    for obj in deployments:
        by_namespace.setdefault(obj["metadata"]["namespace"], []).append(obj)
    services_by_namespace = {}
    for obj in services:
        services_by_namespace.setdefault(obj["metadata"]["namespace"], []).append(obj)
    read = {"version": VERSION, "namespaces": {}, "priority_classes": {}, "endpoints": [],
            "status": platform_status(by_namespace, services_by_namespace), "ledgers": list(found_ledgers),
            "leases": found_leases or {}, "now": NOW, "host": "runner-1", "alive": {}}
    read.update(changed)
    return read


# ------------------------------------------------------------ Kubernetes --

@pytest.mark.parametrize("text, parsed", [("1.27", (1, 27)), ("v1.32.4", (1, 32)), (" 1.30 ", (1, 30)), ("2.0", (2, 0))])
def test_a_kubernetes_version_is_its_major_and_minor(text, parsed):
    assert preflight.kubernetes_release(text) == parsed


@pytest.mark.parametrize("text", ["1", "one.two", "", "latest"])
def test_a_kubernetes_version_that_does_not_parse_is_an_error_naming_it(text):
    with pytest.raises(ValueError, match="%r is not a Kubernetes version like 1.27" % text):
        preflight.kubernetes_release(text)


@pytest.mark.parametrize("document, release", [
    (VERSION, (1, 32)),
    ({"major": "1", "minor": "27+", "gitVersion": "v1.27.16-eks-a18cd3a"}, (1, 27)),
    ({"major": "", "minor": "", "gitVersion": "v1.29.1+k3s1"}, (1, 29)),
    ({"gitVersion": "unknown"}, None),
    ({}, None),
])
def test_the_server_release_comes_from_major_and_minor_else_the_git_version(document, release):
    assert preflight.server_release(document) == release


@pytest.mark.parametrize("document, minimum, problems", [
    (VERSION, "1.27", []),
    (VERSION, "1.32", []),
    ({"major": "2", "minor": "0"}, "1.27", []),
    (VERSION, "1.33", ["the Kubernetes API server runs 1.32 (v1.32.4), older than the 1.33 the upgrade needs"]),
    ({"major": "1", "minor": "26+"}, "1.27", ["the Kubernetes API server runs 1.26, older than the 1.27 the upgrade needs"]),
    # Compared as numbers, not as text: 1.9 is older than 1.27.
    ({"major": "1", "minor": "9"}, "1.27", ["the Kubernetes API server runs 1.9, older than the 1.27 the upgrade needs"]),
])
def test_the_server_must_run_at_least_the_minimum(document, minimum, problems):
    assert preflight.kubernetes_problems(document, minimum)[1] == problems


def test_a_version_document_without_a_version_is_a_problem():
    assert preflight.kubernetes_problems({"platform": "x"}, "1.27") == (
        None, ["the Kubernetes API server's /version tells no version: {'platform': 'x'}"])


# ------------------------------------------------------------- releases --

@pytest.mark.parametrize("running, target, gap, problems", [
    ("9.0.100.01", "9.0.102.01", 2, []),
    ("9.0.100.01", "9.0.100.01", 0, []),
    ("9.0.100.01", "9.0.103.01", 3, ["gws/chat: the target 9.0.103.01 is 3 releases ahead of the running 9.0.100.01; "
                                     "the N-2 release policy allows at most 2"]),
    ("9.0.100.01", "9.0.99.07", -1, ["gws/chat: the target 9.0.99.07 is older than the running 9.0.100.01: a downgrade "
                                     "(allow_downgrade permits it)"]),
    ("9.0.100.02", "9.0.100.01", 0, ["gws/chat: the target 9.0.100.01 is older than the running 9.0.100.02: a downgrade "
                                     "(allow_downgrade permits it)"]),
    ("9.0.100.01", "100.0.1000014", None, ["gws/chat: the target 100.0.1000014 and the running 9.0.100.01 are of different "
                                           "release lines, which the N-2 release policy does not compare"]),
    ("1.0", "latest", None, [
        "gws/chat: the target version 'latest' is not a Genesys service version like 9.0.100.01 or 100.0.1000014, so the "
        "release policy cannot be checked",
        "gws/chat: the running version '1.0' is not a Genesys service version like 9.0.100.01 or 100.0.1000014, so the "
        "release policy cannot be checked"]),
])
def test_the_release_policy(running, target, gap, problems):
    assert preflight.release_problems(request("chat", target), running, 2, False) == (gap, problems)


def test_a_downgrade_passes_when_allowed_and_the_gap_follows_the_policy_given():
    assert preflight.release_problems(request("chat", "9.0.98.01"), "9.0.100.01", 2, True) == (-2, [])
    assert preflight.release_problems(request("chat", "9.0.101.01"), "9.0.100.01", 0, False)[1] == [
        "gws/chat: the target 9.0.101.01 is 1 release ahead of the running 9.0.100.01; the N-0 release policy allows at most 0"]


def test_a_service_that_does_not_run_yet_or_has_no_target_has_nothing_to_check():
    assert preflight.release_problems(request("chat", "9.0.109.01"), None, 2, False) == (None, [])
    assert preflight.release_problems(request("chat"), "9.0.100.01", 2, False) == (None, [])


# ------------------------------------------------------------- rollouts --

def test_a_canary_in_progress_is_a_problem_and_an_ended_one_is_not():
    progressing = ledger_entry("dialplan", "canary", "voice", phase="progressing", weight=25, step=1, canary={"version": "9.0.101.01"})
    assert preflight.ledger_problems(progressing, None) == [
        "a canary of voice/dialplan is in progress: version 9.0.101.01 takes 25% of the traffic (step 1, recorded "
        "2026-01-31T11:58:00Z); promote or abort it first"]
    for phase in ("promoted", "aborted"):
        assert preflight.ledger_problems(dict(progressing, phase=phase, weight=0), None) == []


def test_a_rolling_drain_with_pods_left_is_a_problem_and_a_completed_one_is_not():
    plan = {"workload": "Deployment/auth", "revision": "abc", "pods": ["auth-1", "auth-2", "auth-3"]}
    draining = ledger_entry("auth", "rolling_update", "gauth", phase="draining", plan=plan,
                            progress={"done": ["auth-1"], "current": ["auth-2"]})
    assert preflight.ledger_problems(draining, None) == [
        "a rolling drain of gauth/auth (Deployment/auth) has 2 of its 3 pods left to replace (phase draining, recorded "
        "2026-01-31T11:58:00Z); let it finish or roll it back first"]
    # A drain that failed half-way leaves the workload on two revisions too.
    assert "has 2 of its 3 pods left" in preflight.ledger_problems(dict(draining, phase="failed"), None)[0]
    done = dict(draining, phase="completed", progress={"done": plan["pods"]})
    assert preflight.ledger_problems(done, None) == []
    assert preflight.ledger_problems(dict(draining, progress={"done": plan["pods"]}), None) == []


def test_a_blue_green_switch_that_left_the_service_on_another_color_is_incomplete():
    switched = ledger_entry("chat", "blue_green", phase="active", active={"color": "green", "version": "9.0.101.01"},
                            routers={"Service/chat": {"kind": "service", "shares": {"blue": 100}}})
    assert preflight.ledger_problems(switched, "blue") == [
        "a blue/green switch of gws/chat is incomplete: its ledger says green is active (recorded 2026-01-31T11:58:00Z), "
        "but Service gws/chat selects blue; finish the switch or switch back first"]
    assert preflight.ledger_problems(switched, "green") == []
    assert preflight.ledger_problems(switched, None) == []
    # A switch of an Ingress leaves the Service alone: its selector says nothing about the switch.
    assert preflight.ledger_problems(dict(switched, routers={"Ingress/chat": {}}), "blue") == []


def test_a_ledger_that_cannot_be_read_leaves_the_rollout_unknown():
    broken = {"namespace": "gws", "name": "chat-rollout", "service": "chat", "valid": False,
              "error": "rollout ledger ConfigMap gws/chat-rollout: key weight: 'x' is not a number"}
    assert preflight.ledger_problems(broken, None) == [
        "the rollout ledger ConfigMap gws/chat-rollout cannot be read, so whether a rollout of gws/chat is in progress is "
        "unknown: rollout ledger ConfigMap gws/chat-rollout: key weight: 'x' is not a number"]


def test_a_lease_another_run_holds_is_a_problem_until_it_expires():
    (problem,) = preflight.lease_problems([lease("auth-rollout", namespace="gauth")], NOW)
    assert problem.startswith("Lease gauth/auth-rollout is held by ci@runner-2/7 since 2026-01-31T11:50:00.000000Z")
    assert problem.endswith("another run is rolling this workload")
    assert preflight.lease_problems([lease("auth-rollout", renewed=-61)], NOW) == []
    assert preflight.lease_problems([lease("auth-rollout", holder="")], NOW) == []


def test_a_lease_of_a_run_gone_from_this_host_is_no_problem_before_it_expires():
    held = [lease("auth-rollout", namespace="gauth", holder="ci@runner-1/7")]
    # The next run on runner-1 takes it over at once, as rollout_lease does.
    assert preflight.lease_problems(held, NOW, "runner-1", {7: False}.get) == []
    (problem,) = preflight.lease_problems(held, NOW, "runner-1", {7: True}.get)
    assert problem.endswith("its process 7 is running on runner-1): another run is rolling this workload")
    # Whether a process of another host runs is not known here: only the Lease's expiry counts.
    (problem,) = preflight.lease_problems(held, NOW, "runner-2", {}.get)
    assert "is held by ci@runner-1/7" in problem


def test_the_plan_leaves_out_a_lease_whose_run_is_gone_from_this_host():
    found = {("gauth", "auth"): [lease("auth-rollout", namespace="gauth", holder="ci@runner-1/7")]}
    requests = [request("auth", "9.0.101.01", "gauth")]
    assert preflight.plan(reads(found_leases=found, alive={7: False}), options(services=requests))["problems"] == []
    (problem,) = preflight.plan(reads(found_leases=found, alive={7: True}), options(services=requests))["problems"]
    assert problem.startswith("Lease gauth/auth-rollout is held by ci@runner-1/7")


# ----------------------------------------------------------------- plan --

def test_a_clean_platform_passes_and_reports_what_each_service_runs():
    found = reads(
        deployments=[deployment("chat-blue", "chat", "9.0.100.01", color="blue"),
                     deployment("chat-green", "chat", "9.0.101.01", color="green"),
                     deployment("dialplan", "dialplan", "9.0.100.01", "voice"),
                     deployment("dialplan-canary", "dialplan", "9.0.104.01", "voice")],
        services=[color_service("chat", "green"), color_service("chat-preview", "blue", service_name="chat")],
        namespaces={"gws": True, "voice": True}, priority_classes={"genesysengage-high-priority": True},
        endpoints=[({"name": "consul", "host": "127.0.0.1", "port": 8500}, None)])
    result = preflight.plan(found, options(services=[
        request("chat", "9.0.103.01", strategy="blue_green"), request("dialplan", "9.0.102.01", "voice", "canary"),
        request("auth", "9.0.200.01", "gauth", "rolling_update")]))
    assert result == {"problems": [], "server_version": "1.32", "services": [
        {"namespace": "gws", "service": "chat", "strategy": "blue_green", "running": "9.0.101.01", "target": "9.0.103.01", "gap": 2},
        {"namespace": "voice", "service": "dialplan", "strategy": "canary", "running": "9.0.100.01", "target": "9.0.102.01", "gap": 2},
        {"namespace": "gauth", "service": "auth", "strategy": "rolling_update", "running": None, "target": "9.0.200.01", "gap": None},
    ]}


def test_without_a_strategy_a_service_whose_service_selects_a_color_is_blue_green():
    found = reads(deployments=[deployment("chat-blue", "chat", "9.0.100.01", color="blue"), deployment("auth", "auth", "9.0.100.01")],
                  services=[color_service("chat", "blue")])
    result = preflight.plan(found, options(services=[request("chat", "9.0.104.01"), request("auth", "9.0.101.01")]))
    assert [(entry["strategy"], entry["running"], entry["gap"]) for entry in result["services"]] == [
        ("blue_green", "9.0.100.01", 4), (None, "9.0.100.01", 1)]
    assert result["problems"] == ["gws/chat: the target 9.0.104.01 is 4 releases ahead of the running 9.0.100.01; the N-2 "
                                  "release policy allows at most 2"]


def test_every_problem_is_reported_at_once_each_once():
    found = reads(
        deployments=[deployment("auth", "auth", "9.0.100.01", "gauth")],
        found_ledgers=[ledger_entry("auth", "rolling_update", "gauth", phase="draining",
                                    plan={"workload": "Deployment/auth", "pods": ["auth-1"]}, progress={"done": []})],
        found_leases={("gauth", "auth"): [lease("auth-rollout", namespace="gauth")]},
        version={"major": "1", "minor": "25"}, namespaces={"gauth": True, "gws": False},
        priority_classes={"genesysengage-high-priority": False},
        endpoints=[({"name": "kafka", "host": "kafka.kafka", "port": 9092}, "[Errno 111] Connection refused")])
    auth = request("auth", "9.0.103.01", "gauth", "rolling_update")
    result = preflight.plan(found, options(services=[auth, auth]))
    assert result["problems"][:5] == [
        "the Kubernetes API server runs 1.25, older than the 1.27 the upgrade needs",
        "namespace gws does not exist",
        "PriorityClass genesysengage-high-priority does not exist",
        "endpoint kafka (kafka.kafka:9092) does not accept a TCP connection within 3s: [Errno 111] Connection refused",
        "gauth/auth: the target 9.0.103.01 is 3 releases ahead of the running 9.0.100.01; the N-2 release policy allows at most 2",
    ]
    assert result["problems"][5].startswith("a rolling drain of gauth/auth (Deployment/auth) has 1 of its 1 pods left")
    assert result["problems"][6].startswith("Lease gauth/auth-rollout is held by ci@runner-2/7")
    assert len(result["problems"]) == 7
    assert result["server_version"] == "1.25"


def test_an_incomplete_switch_is_told_from_the_service_not_the_ledger():
    found = reads(deployments=[deployment("chat-blue", "chat", "9.0.100.01", color="blue"),
                               deployment("chat-green", "chat", "9.0.101.01", color="green")],
                  services=[color_service("chat", "blue")],
                  found_ledgers=[ledger_entry("chat", "blue_green", phase="active", active={"color": "green", "version": "9.0.101.01"},
                                              routers={"Service/chat": {}})])
    result = preflight.plan(found, options(services=[request("chat", "9.0.101.01")]))
    assert result["services"][0]["running"] == "9.0.100.01"
    assert result["problems"] == ["a blue/green switch of gws/chat is incomplete: its ledger says green is active (recorded "
                                  "2026-01-31T11:58:00Z), but Service gws/chat selects blue; finish the switch or switch back first"]


# ----------------------------------------------------------------- read --

class VersionClient(FakeClient):
    """The dynamic client stand-in, answering GET /version too."""

    def request(self, method, path, body=None, serialize=True, _request_timeout=None):
        self.requests.append((method, path, None))
        return Response(VERSION)


class Connector(object):
    """socket.create_connection's stand-in: refuses the ports in `refused`, records every attempt."""

    def __init__(self, refused=()):
        self.refused, self.attempts = set(refused), []

    def __call__(self, address, timeout):
        self.attempts.append((address, timeout))
        if address[1] in self.refused:
            raise ConnectionRefusedError(111, "Connection refused")
        return socket.socket()


def test_read_lists_once_per_namespace_and_writes_nothing():
    other_lease = lease("unrelated-leader", namespace="gauth")
    client = VersionClient([
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "gauth"}},
        {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": "genesysengage-high-priority"}},
        deployment("auth", "auth", "9.0.100.01", "gauth"), service("auth", {"app.kubernetes.io/name": "auth"}, "gauth"),
        ledgers.render(ledgers.new_ledger("auth", "rolling_update", RECORDED), "gauth"),
        lease("auth-rollout", namespace="gauth"), other_lease,
    ], served=SERVED)
    cluster = Cluster(client)
    connect = Connector(refused=[9092])
    endpoints = [{"name": "consul", "host": "127.0.0.1", "port": 8500}, {"name": "kafka", "host": "127.0.0.1", "port": 9092}]
    found = preflight.read(cluster, options(
        namespaces=["gauth", "gws", "gauth"], priority_classes=["genesysengage-high-priority", "genesysengage-low-priority"],
        endpoints=endpoints, endpoint_timeout=0.5,
        services=[request("auth", "9.0.101.01", "gauth"), request("sip", "9.0.101.01", "gauth")]), connect, lambda: NOW,
        "runner-2", lambda pid: pid == 7)
    assert found["version"] == VERSION
    assert found["namespaces"] == {"gauth": True, "gws": False}
    assert found["priority_classes"] == {"genesysengage-high-priority": True, "genesysengage-low-priority": False}
    assert found["endpoints"] == [(endpoints[0], None), (endpoints[1], "[Errno 111] Connection refused")]
    assert connect.attempts == [(("127.0.0.1", 8500), 0.5), (("127.0.0.1", 9092), 0.5)]
    assert [(item["name"], item["version"]) for item in found["status"]["deployments"]] == [("auth", "9.0.100.01")]
    assert [(entry["service"], entry["valid"]) for entry in found["ledgers"]] == [("auth", True)]
    assert [obj["metadata"]["name"] for obj in found["leases"][("gauth", "auth")]] == ["auth-rollout"]
    assert found["leases"][("gauth", "sip")] == []
    assert found["now"] == NOW
    # Both Leases are held by process 7 of runner-2, this host.
    assert found["host"] == "runner-2" and found["alive"] == {7: True}
    assert cluster.writes == 0 and cluster.operations == []
    assert sorted(set(verb for verb, _kind, _name in client.requests)) == ["get", "list"]
    assert [kind for verb, kind, _name in client.requests if verb == "list"] == ["Deployment", "Service", "ConfigMap", "Lease"]


def test_a_probe_says_why_an_endpoint_does_not_answer():
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    error = preflight.probe({"name": "consul", "host": "127.0.0.1", "port": port}, 1.0)
    assert "Connection refused" in error
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen(1)
        assert preflight.probe({"name": "consul", "host": "127.0.0.1", "port": listening.getsockname()[1]}, 1.0) is None
