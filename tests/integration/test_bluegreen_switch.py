# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""cxpe.rollout.bluegreen_switch and rollout_info against kubesim, through ansible-playbook and kubectl."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re
import time

import pytest
from bluegreen_support import (
    CRASH_LOOP,
    READY_AFTER,
    ROUTER_KINDS,
    api_writes,
    apply,
    blue_green_service,
    deployment,
    endpoint_pods,
    get,
    ledger,
    new_namespace,
    pod_names,
    poll,
    resource_versions,
    router_color,
    router_objects,
    traffic_totals,
    wait_rollout,
)
from playbook_support import run_tasks

# shared_kubesim runs 20 simulated seconds per real second. Endpoint changes
# reach kubesim's traffic about one simulated second (kube-proxy) or two
# (ingress-nginx) after the API says so; SETTLE_SECONDS of real time covers
# that with room to spare.
SETTLE_SECONDS = 0.5
REQUEST_RATE = 50


OBJECT_KINDS = {"service": "Service", "ingress": "Ingress", "route": "Route"}


@pytest.fixture(name="simulator")
def simulator_fixture(shared_kubesim):
    """One simulator for the module; each test has its own namespace."""
    return shared_kubesim


def switch(**arguments):
    return ("cxpe.rollout.bluegreen_switch", dict({"namespace": arguments.pop("namespace"), "service": "web"}, **arguments))


def routers_of(kind):
    return [{"kind": kind, "name": "web"}]


def preview_of(kind):
    return {"kind": kind, "name": "web-preview"}


def switch_to(kind, namespace, **arguments):
    return switch(namespace=namespace, routers=routers_of(kind), preview=preview_of(kind), **arguments)


def backend_of(kind, color):
    return "web" if kind == "service" else "web-" + color


def scale(simulator, namespace, name, replicas):
    simulator.kubectl("scale", "-n", namespace, "deployment/" + name, "--replicas=%d" % replicas)


@pytest.mark.parametrize("kind", ROUTER_KINDS)
def test_switch_idempotence_and_rollback_through_each_router(simulator, tmp_path, request, kind):
    namespace = new_namespace(simulator, request.node.name)
    blue_green_service(simulator, namespace, kind=kind, request_rate=REQUEST_RATE)
    green_pods = pod_names(simulator, namespace, "web", "green")

    writes_before = api_writes(simulator)
    _run, (switched, again) = run_tasks(simulator.env, tmp_path, [
        switch_to(kind, namespace, color="green", version="2.0", reason="upgrade to 2.0"),
        switch_to(kind, namespace, color="green")])
    # What the API server counted: router + preview + ledger, and nothing for the second run.
    assert api_writes(simulator) - writes_before == 3
    assert switched["changed"] is True, switched
    assert (switched["previous_color"], switched["active_color"], switched["active_version"]) == ("blue", "green", "2.0")
    assert switched["writes"] == 3
    assert [(op["verb"], op["kind"], op["name"]) for op in switched["operations"]] == [
        ("patch", OBJECT_KINDS[kind], "web"), ("patch", OBJECT_KINDS[kind], "web-preview"), ("create", "ConfigMap", "web-rollout")]
    assert switched["routers"] == [{"kind": kind, "name": "web", "shares": {"green": 100}}]
    assert router_color(simulator, namespace, kind, "web") == "green"
    assert router_color(simulator, namespace, kind, "web-preview") == "blue"
    # The module returned once the router served only green's ready pods.
    assert endpoint_pods(simulator, namespace, backend_of(kind, "green")) == green_pods
    record = ledger(simulator, namespace, "web")
    assert (record["active.color"], record["active.version"], record["previous.color"], record["previous.version"]) == (
        "green", "2.0", "blue", "1.0")
    assert json.loads(record["history"])[-1]["why"] == "upgrade to 2.0"
    assert again["changed"] is False and again["writes"] == 0 and again["previous_color"] == "green"

    # The old color goes once the traffic has moved.
    time.sleep(SETTLE_SECONDS)
    scale(simulator, namespace, "web-blue", 0)
    poll(lambda: pod_names(simulator, namespace, "web", "blue"), lambda names: names == [], "blue pods to go")
    scale(simulator, namespace, "web-blue", 3)
    wait_rollout(simulator, namespace, "web-blue")
    blue_pods = pod_names(simulator, namespace, "web", "blue")

    before = resource_versions(simulator, namespace)
    writes_before = api_writes(simulator)
    _run, (rolled_back, rolled_back_again) = run_tasks(simulator.env, tmp_path, [
        switch(namespace=namespace, state="rolled_back", routers=routers_of(kind), preview=preview_of(kind), reason="bad"),
        switch(namespace=namespace, state="rolled_back", routers=routers_of(kind), preview=preview_of(kind))])
    assert api_writes(simulator) - writes_before == 3
    assert rolled_back["changed"] is True and rolled_back["writes"] == 3
    assert (rolled_back["previous_color"], rolled_back["active_color"]) == ("green", "blue")
    assert router_color(simulator, namespace, kind, "web") == "blue"
    assert endpoint_pods(simulator, namespace, backend_of(kind, "blue")) == blue_pods
    record = ledger(simulator, namespace, "web")
    assert (record["phase"], record["active.color"], record["previous.color"]) == ("rolled_back", "blue", "green")
    assert rolled_back_again["changed"] is False and rolled_back_again["writes"] == 0
    changed = [key for key, version in resource_versions(simulator, namespace).items() if before.get(key) != version]
    assert sorted(changed) == [("ConfigMap", "web-rollout"), (OBJECT_KINDS[kind], "web"), (OBJECT_KINDS[kind], "web-preview")]

    time.sleep(SETTLE_SECONDS)
    scale(simulator, namespace, "web-green", 0)
    poll(lambda: pod_names(simulator, namespace, "web", "green"), lambda names: names == [], "green pods to go")
    time.sleep(SETTLE_SECONDS)
    requests, errors = traffic_totals(simulator, namespace)
    # Traffic enters at the router object, and kept flowing through switch, rollback and scale-downs.
    assert requests > 0, "no traffic entered at the %s router" % kind
    assert errors == 0


@pytest.mark.parametrize("kind", ROUTER_KINDS)
def test_check_mode_reports_the_writes_and_changes_nothing(simulator, tmp_path, request, kind):
    namespace = new_namespace(simulator, request.node.name)
    blue_green_service(simulator, namespace, kind=kind)
    before = resource_versions(simulator, namespace)

    run, (checked,) = run_tasks(simulator.env, tmp_path, [switch_to(kind, namespace, color="green")], "--check", "--diff")
    assert checked["changed"] is True and checked["writes"] == 0
    assert [(op["verb"], op["name"]) for op in checked["operations"]] == [
        ("patch", "web"), ("patch", "web-preview"), ("create", "web-rollout")]
    assert checked["active_color"] == "green" and checked["ledger"]["active"] == {"color": "green", "version": "2.0"}
    assert resource_versions(simulator, namespace) == before
    assert router_color(simulator, namespace, kind, "web") == "blue"
    assert "before: %s %s/web" % (get(simulator, namespace, kind, "web")["kind"], namespace) in run.stdout


def test_diff_shows_each_router_before_and_after(simulator, tmp_path, request):
    namespace = new_namespace(simulator, request.node.name)
    blue_green_service(simulator, namespace)

    run, (switched,) = run_tasks(simulator.env, tmp_path, [switch_to("service", namespace, color="green")], "--diff")
    assert switched["writes"] == 3
    # The Service's diff, then the preview's, then the ledger's (created).
    headers = [header for header in re.findall(r"^\+\+\+ after: (.*)$", run.stdout, re.M) if not header.endswith("results.json")]
    assert headers == ["Service %s/web" % namespace, "Service %s/web-preview (preview)" % namespace,
                       "ConfigMap %s/web-rollout (ledger)" % namespace]
    service_diff = run.stdout.split("+++ after: Service %s/web\n" % namespace)[1].split("--- before")[0]
    assert re.search(r'^-\s+"cxpe.io/color": "blue"', service_diff, re.M)
    assert re.search(r'^\+\s+"cxpe.io/color": "green"', service_diff, re.M)


def test_rollout_info_reads_ledgers_and_routers(simulator, tmp_path, request):
    namespace = new_namespace(simulator, request.node.name)
    blue_green_service(simulator, namespace)
    apply(simulator, namespace, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": "broken-rollout", "labels": {"cxpe.io/rollout-ledger": "broken"}}, "data": {"schema-version": "x"}})

    _run, (_switched, info, routers) = run_tasks(simulator.env, tmp_path, [
        switch_to("service", namespace, color="green"),
        ("cxpe.rollout.rollout_info", {"namespaces": [namespace]}),
        ("cxpe.rollout.rollout_info", {"namespaces": [namespace], "service": "web",
                                       "routers": [{"kind": "service"}, {"kind": "service", "name": "web-preview"},
                                                   {"kind": "ingress", "name": "absent"}]})])
    assert [(entry["service"], entry["valid"]) for entry in info["rollouts"]] == [("broken", False), ("web", True)]
    assert info["rollouts"][0]["error"] == "rollout ledger ConfigMap %s/broken-rollout: key service, strategy is missing" % namespace
    web = info["rollouts"][1]
    assert (web["strategy"], web["phase"], web["active"], web["previous"]) == (
        "blue_green", "active", {"color": "green", "version": "2.0"}, {"color": "blue", "version": "1.0"})
    assert [(item["name"], item["serving"], item.get("error")) for item in routers["routers"]] == [
        ("web", "green", None), ("web-preview", "blue", None), ("absent", None, "Ingress %s/absent does not exist" % namespace)]
    assert [entry["service"] for entry in routers["rollouts"]] == ["web"]


def test_every_refusal_names_the_problem_and_changes_nothing(simulator, tmp_path, request):
    namespace = new_namespace(simulator, request.node.name)
    blue_green_service(simulator, namespace)
    blue_green_service(simulator, namespace, "slow", green_annotations={READY_AFTER: "100000"})
    blue_green_service(simulator, namespace, "crash", green_annotations={CRASH_LOOP: "true"})
    apply(simulator, namespace, deployment("lonely", "blue", "1.0"), *router_objects("lonely", "service"))
    blue_green_service(simulator, namespace, "led")
    apply(simulator, namespace, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": "led-rollout", "labels": {"cxpe.io/rollout-ledger": "led"}},
        "data": {"schema-version": "1", "service": "led", "strategy": "blue_green", "active.color": "purple"}})
    wait_rollout(simulator, namespace, "lonely-blue")
    poll(lambda: simulator.kubectl("get", "pods", "-n", namespace, "-l", "app.kubernetes.io/name=crash,cxpe.io/color=green",
                                   "-o", "jsonpath={.items[*].status.containerStatuses[*].state.waiting.reason}").stdout,
         lambda reasons: "CrashLoopBackOff" in reasons, "crash-green to crash-loop")
    before = resource_versions(simulator, namespace)

    cases = [
        (dict(color="purple"), "value of color must be one of: blue, green, got: purple"),
        (dict(color="green", routers=[{"kind": "service", "name": "nope"}]), "Service %s/nope does not exist" % namespace),
        (dict(service="lonely", color="green"), "Deployment %s/lonely-green does not exist" % namespace),
        (dict(service="slow", color="green"), "Deployment %s/slow-green: 0 of 3 desired replicas are Ready" % namespace),
        (dict(service="crash", color="green"), "container app is in CrashLoopBackOff"),
        (dict(color="green", routers=[{"kind": "service", "selector_key": "cxpe.io/colour"}]),
         "Service %s/web has no selector key cxpe.io/colour (its selector: app.kubernetes.io/name=web, cxpe.io/color=blue)" % namespace),
        (dict(service="led", color="green"), "rollout ledger ConfigMap %s/led-rollout: key active.color: 'purple' is not one of blue, green" % namespace),
        (dict(color="green", routers=[{"kind": "ingress", "name": "nope"}]), "Ingress %s/nope does not exist" % namespace),
        (dict(color="green", preview={"name": "nope"}), "Service %s/nope does not exist" % namespace),
        (dict(state="rolled_back"), "there is no rollout ledger ConfigMap %s/web-rollout, so nothing says which color to roll back to" % namespace),
        (dict(color="green", version="3.0"), "Deployment %s/web-green runs version 2.0, not 3.0" % namespace),
        (dict(color="green", routers=[{"kind": "nginx"}]), "router kind nginx does not route blue/green colors; use ingress, route, service"),
    ]
    _run, results = run_tasks(simulator.env, tmp_path, [switch(namespace=namespace, **arguments) for arguments, _message in cases])
    for (arguments, message), result in zip(cases, results):
        assert result.get("failed") is True, (arguments, result)
        assert message in result["msg"], (arguments, result["msg"])
        assert result.get("writes", 0) == 0, arguments
    assert resource_versions(simulator, namespace) == before
