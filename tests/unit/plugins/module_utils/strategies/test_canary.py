# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

import pytest
from ansible_collections.cxpe.rollout.plugins.module_utils import ledger as ledgers
from ansible_collections.cxpe.rollout.plugins.module_utils.routers import make_router
from ansible_collections.cxpe.rollout.plugins.module_utils.strategies import Refusal
from ansible_collections.cxpe.rollout.plugins.module_utils.strategies.canary import apply_entry, plan_weight
from workload_objects import deployment, pod

NOW = "2026-01-31T12:00:00Z"
WEIGHT = "nginx.ingress.kubernetes.io/canary-weight"


def track(name, version, replicas=1, **status):
    obj = deployment("x", version, replicas, **status)
    obj["metadata"]["name"] = name
    return obj


def canary_ingress(weight="0"):
    rule = {"http": {"paths": [{"path": "/", "backend": {"service": {"name": "web-canary"}}}]}}
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": "web-canary", "namespace": "ns",
                         "annotations": {"nginx.ingress.kubernetes.io/canary": "true", WEIGHT: weight}},
            "spec": {"rules": [rule]}}


def request(**changes):
    return dict({"namespace": "ns", "service": "web", "weight": 25, "outcome": "progressing", "version": None,
                 "step": 1, "measurements": None, "reason": "canary", "actor": "ops"}, **changes)


NGINX = make_router({"kind": "nginx"}, "ns", "web")


def plan(req=None, stable=None, canary=None, canary_pods=None, routers=None, ledger=None, companions=()):
    return plan_weight(req or request(), stable or track("web", "1", 3), canary or track("web-canary", "2"),
                       [pod("web-canary-0")] if canary_pods is None else canary_pods,
                       routers or [(NGINX, canary_ingress())], list(companions), ledger, NOW)


def test_a_step_writes_the_router_and_records_weight_versions_step_and_the_routers_before():
    result = plan()
    ((router, _before, after),) = result["changes"]
    assert router is NGINX and after["metadata"]["annotations"][WEIGHT] == "25"
    assert (result["previous_weight"], result["stable_version"], result["canary_version"]) == (0, "1", "2")
    ledger = apply_entry(ledgers.new_ledger("web", "canary", NOW), result["ledger_entry"])
    assert (ledger["strategy"], ledger["phase"], ledger["weight"], ledger["step"]) == ("canary", "progressing", 25, 1)
    assert ledger["active"]["version"] == "1" and ledger["canary"] == {"version": "2"}
    assert ledger["routers"]["Ingress/web-canary"]["shares"] == {"stable": 100}
    assert ledger["history"][-1]["from"] == {"weight": 0, "version": "2"}
    # The next step keeps the routers recorded when the canary began.
    later = plan(request(weight=50, step=2), routers=[(NGINX, after)], ledger=ledger)
    assert "routers" not in later["ledger_entry"]["state"] and later["previous_weight"] == 25
    # The same step again changes nothing.
    again = plan(routers=[(NGINX, after)], ledger=ledger)
    assert again["changes"] == [] and again["ledger_entry"] is None


@pytest.mark.parametrize("changes, message", [
    ({"weight": 150}, "weight must be between 0 and 100, not 150"),
    ({"weight": -1}, "weight must be between 0 and 100, not -1"),
    ({"outcome": "aborted"}, "outcome aborted sends every request back to the stable track: the weight must be 0, not 25"),
    ({"version": "3"}, "Deployment ns/web-canary runs version 2, not 3"),
])
def test_bad_requests_are_refused(changes, message):
    with pytest.raises(Refusal, match=message):
        plan(request(**changes))


def test_a_canary_that_is_not_ready_gets_no_traffic_through_a_router():
    with pytest.raises(Refusal) as refusal:
        plan(canary=track("web-canary", "2", ready=0), canary_pods=[pod("web-canary-0", ready=False, waiting="ImagePullBackOff")])
    assert "Deployment ns/web-canary: 0 of 1 desired replicas are Ready" in refusal.value.problems
    assert "pod web-canary-0: container app is in ImagePullBackOff (restarted 0 times)" in refusal.value.problems


def test_missing_objects_are_all_named():
    with pytest.raises(Refusal) as refusal:
        plan_weight(request(), None, None, [], [(NGINX, None)], ["ServiceResolver ns/web does not exist"], None, NOW)
    assert refusal.value.problems == ["Deployment ns/web (the stable track) does not exist", "Deployment ns/web-canary does not exist",
                                      "Ingress ns/web-canary does not exist", "ServiceResolver ns/web does not exist"]


def test_a_promotion_needs_the_stable_track_on_the_canary_version():
    with pytest.raises(Refusal, match="the stable track runs version 1, not the canary's 2"):
        plan(request(weight=0, outcome="promoted"))
    ledger = apply_entry(ledgers.new_ledger("web", "canary", NOW), plan()["ledger_entry"])
    promoted = plan(request(weight=0, outcome="promoted"), stable=track("web", "2", 3), routers=[(NGINX, canary_ingress("100"))],
                    ledger=ledger)
    after = apply_entry(ledger, promoted["ledger_entry"])
    assert (after["phase"], after["weight"], after["active"]["version"], after["previous"]["version"]) == ("promoted", 0, "2", "1")
    assert after["history"][-1]["action"] == "promote"


def test_an_abort_records_the_measurements():
    ledger = apply_entry(ledgers.new_ledger("web", "canary", NOW), plan()["ledger_entry"])
    measured = [{"name": "error-ratio", "value": 0.2, "passed": False}]
    aborted = plan(request(weight=0, outcome="aborted", measurements=measured), routers=[(NGINX, canary_ingress("25"))],
                   ledger=copy.deepcopy(ledger))
    after = apply_entry(ledger, aborted["ledger_entry"])
    assert (after["phase"], after["weight"], after["measurements"]) == ("aborted", 0, measured)
    assert after["history"][-1]["action"] == "abort"
    assert after["routers"] == ledger["routers"]
