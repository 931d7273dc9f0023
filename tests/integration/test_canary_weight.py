# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""cxpe.rollout.canary_weight against kubesim, through ansible-playbook and kubectl: every weighted router,
checked through the objects written, the API server's write count and the traffic kubesim routes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import math
import time

import pytest
from bluegreen_support import (
    READY_AFTER,
    api_writes,
    apply,
    get,
    ledger,
    new_namespace,
    propagate,
    resource_versions,
    wait_rollout,
)
from canary_support import CANARY_KINDS, canary_service, canary_share, router_objects, track_deployment, version_counts
from playbook_support import run_tasks

REQUEST_RATE = 100
# Real seconds of traffic to measure a share over: 20 simulated seconds per real one, 100 requests a second.
MEASURE_SECONDS = 1.5
OBJECT_KINDS = {"nginx": ("Ingress", "web-canary"), "route": ("Route", "web"), "consul": ("ServiceSplitter", "web")}


@pytest.fixture(name="simulator")
def simulator_fixture(shared_kubesim):
    return shared_kubesim


def weight(namespace, kind, value, **arguments):
    arguments = dict({"namespace": namespace, "service": "web", "weight": value, "routers": [{"kind": kind}]}, **arguments)
    return ("cxpe.rollout.canary_weight", arguments)


def measured_share(simulator, namespace):
    """The canary's share of the requests kubesim served over MEASURE_SECONDS, once the routers caught up."""
    propagate(simulator)
    before = version_counts(simulator, namespace)
    time.sleep(MEASURE_SECONDS)
    return canary_share(before, version_counts(simulator, namespace))


def assert_share(simulator, namespace, expected):
    share, requests = measured_share(simulator, namespace)
    # Four standard deviations of a binomial share, plus a little for requests in flight at the edges.
    margin = 4 * math.sqrt(expected * (1 - expected) / max(requests, 1)) + 0.02
    assert requests > 500, requests
    assert abs(share - expected) <= margin, "canary share %.3f of %d requests, expected %.2f" % (share, requests, expected)


def canary_pods(simulator, namespace):
    result = simulator.kubectl("get", "pods", "-n", namespace, "-l", "cxpe.io/track=canary", "-o", "jsonpath={.items[*].metadata.name}")
    return sorted(result.stdout.split())


@pytest.mark.parametrize("kind", CANARY_KINDS)
def test_a_weight_reaches_the_router_and_the_traffic_and_an_abort_brings_it_all_back(simulator, tmp_path, request, kind):
    namespace = new_namespace(simulator, request.node.name)
    canary_service(simulator, namespace, kind, request_rate=REQUEST_RATE)

    writes_before = api_writes(simulator)
    _run, (step, again) = run_tasks(simulator.env, tmp_path, [
        weight(namespace, kind, 25, step=1, version="2.0", reason="canary 2.0"), weight(namespace, kind, 25, step=1)])
    # One write per router object (the replicas router scales up the canary only: the stable keeps its 3) and one for the ledger.
    assert api_writes(simulator) - writes_before == 2
    assert step["changed"] is True and step["writes"] == 2, step
    assert (step["previous_weight"], step["weight"], step["effective_weight"]) == (0, 25, 25)
    assert (step["stable_version"], step["canary_version"]) == ("1.0", "2.0")
    assert step["duration_ms"] < 10000
    assert again["changed"] is False and again["writes"] == 0 and again["effective_weight"] == 25
    record = ledger(simulator, namespace, "web")
    assert (record["strategy"], record["phase"], record["weight"], record["step"]) == ("canary", "progressing", "25", "1")
    assert (record["active.version"], record["canary.version"]) == ("1.0", "2.0")
    assert json.loads(record["history"])[-1]["why"] == "canary 2.0"
    if kind in OBJECT_KINDS:
        object_kind, name = OBJECT_KINDS[kind]
        written = get(simulator, namespace, object_kind, name)
        if kind == "nginx":
            assert written["metadata"]["annotations"]["nginx.ingress.kubernetes.io/canary-weight"] == "25"
        elif kind == "route":
            assert written["spec"]["to"] == {"kind": "Service", "name": "web-stable", "weight": 75}
            assert written["spec"]["alternateBackends"] == [{"kind": "Service", "name": "web-canary", "weight": 25}]
        else:
            assert written["spec"]["splits"] == [{"serviceSubset": "stable", "weight": 75}, {"serviceSubset": "canary", "weight": 25}]
    else:
        assert get(simulator, namespace, "deployment", "web-canary")["spec"]["replicas"] == 1
        assert get(simulator, namespace, "deployment", "web")["spec"]["replicas"] == 3
    assert_share(simulator, namespace, 0.25)

    _run, (aborted,) = run_tasks(simulator.env, tmp_path, [
        weight(namespace, kind, 0, outcome="aborted", reason="error ratio", measurements=[{"name": "errors", "value": 0.2}])])
    assert aborted["changed"] is True and aborted["effective_weight"] == 0, aborted
    record = ledger(simulator, namespace, "web")
    assert (record["phase"], record["weight"]) == ("aborted", "0")
    assert json.loads(record["measurements"]) == [{"name": "errors", "value": 0.2}]
    share, requests = measured_share(simulator, namespace)
    assert share == 0.0 and requests > 500
    # Every request of the whole run was served: moving the weight failed none.
    counts = version_counts(simulator, namespace)
    assert sum(errors for _requests, errors in counts.values()) == 0, counts


@pytest.mark.parametrize("kind", ("nginx", "replicas"))
def test_check_mode_and_diff_write_nothing(simulator, tmp_path, request, kind):
    namespace = new_namespace(simulator, request.node.name)
    canary_service(simulator, namespace, kind)
    before = resource_versions(simulator, namespace)
    writes_before = api_writes(simulator)
    _run, (checked,) = run_tasks(simulator.env, tmp_path, [weight(namespace, kind, 50)], "--check", "--diff")
    assert api_writes(simulator) == writes_before
    assert resource_versions(simulator, namespace) == before
    assert checked["changed"] is True and checked["writes"] == 0 and checked["effective_weight"] == 50
    assert [operation["kind"] for operation in checked["operations"]][-1] == "ConfigMap"
    assert len(checked["diff"]) == (3 if kind == "replicas" else 2)


def test_bad_input_is_refused_naming_the_problem_and_nothing_changes(simulator, tmp_path, request):
    namespace = new_namespace(simulator, request.node.name)
    canary_service(simulator, namespace, "nginx")
    for kind in ("route", "consul"):
        # The canary service `bare` has the kind's objects removed below; `web` keeps the nginx ones.
        objects, _entry = router_objects("bare", kind)
        apply(simulator, namespace, *objects)
    simulator.kubectl("delete", "-n", namespace, "serviceresolver", "bare")
    apply(simulator, namespace, track_deployment("slow", "stable", "1.0", 1),
          track_deployment("slow", "canary", "2.0", 1, {READY_AFTER: "100000"}))
    wait_rollout(simulator, namespace, "slow")
    before = resource_versions(simulator, namespace)
    writes_before = api_writes(simulator)
    cases = [
        (weight(namespace, "nginx", 150), "weight must be between 0 and 100, not 150"),
        (weight(namespace, "nginx", -1), "weight must be between 0 and 100, not -1"),
        (weight(namespace, "nginx", "abc"), "argument 'weight' is of type str and we were unable to convert to int"),
        (weight(namespace, "istio", 5), "value of kind must be one of: consul, ingress, nginx, replicas, route, service, got: istio"),
        (weight(namespace, "service", 5), "router kind service does not route canary tracks; use consul, nginx, replicas, route"),
        (weight(namespace, "nginx", 5, version="3.0"), "Deployment %s/web-canary runs version 2.0, not 3.0" % namespace),
        (weight(namespace, "nginx", 0, outcome="promoted"), "the stable track runs version 1.0, not the canary's 2.0"),
        (dict(weight(namespace, "nginx", 5)[1], service="lonely"),
         "Deployment %s/lonely (the stable track) does not exist; Deployment %s/lonely-canary does not exist; "
         "Ingress %s/lonely-canary does not exist" % (namespace, namespace, namespace)),
        (dict(weight(namespace, "route", 5)[1], routers=[{"kind": "route", "name": "nope"}]), "Route %s/nope does not exist" % namespace),
        (dict(weight(namespace, "consul", 5)[1], service="bare"), "ServiceResolver %s/bare does not exist" % namespace),
        (dict(weight(namespace, "nginx", 5)[1], service="slow"), "Deployment %s/slow-canary: 0 of 1 desired replicas are Ready" % namespace),
        (dict(weight(namespace, "nginx", 5)[1], service="slow"), "Service %s/slow-canary does not exist; Service %s/slow-stable does not exist"
         % (namespace, namespace)),
    ]
    tasks = [case if isinstance(case, tuple) else ("cxpe.rollout.canary_weight", case) for case, _message in cases]
    _run, results = run_tasks(simulator.env, tmp_path, tasks)
    for (_case, message), result in zip(cases, results):
        assert result.get("failed") is True, result
        assert message in result["msg"], (message, result["msg"])
        assert result.get("writes", 0) == 0
    assert api_writes(simulator) == writes_before
    assert resource_versions(simulator, namespace) == before
