# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible_collections.cxpe.rollout.plugins.module_utils import ledger as ledgers
from ansible_collections.cxpe.rollout.plugins.module_utils.routers import make_router
from ansible_collections.cxpe.rollout.plugins.module_utils.strategies.bluegreen import (
    Refusal,
    apply_entry,
    deployment_to_read,
    plan_switch,
    target_color,
)
from workload_objects import deployment, pod, pods

NOW = "2026-01-31T12:00:00Z"


def service(name, color):
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "ns"},
            "spec": {"selector": {"app.kubernetes.io/name": "web", "cxpe.io/color": color}}}


def request(**changes):
    return dict({"service": "web", "namespace": "ns", "state": "active", "color": "green", "version": None,
                 "min_ready_replicas": 1, "reason": "upgrade", "actor": "ops", "ledger_where": "ConfigMap ns/web-rollout"}, **changes)


MAIN = make_router({"kind": "service"}, "ns", "web")
PREVIEW = make_router({"kind": "service", "name": "web-preview"}, "ns", "web")


def plan(req=None, deployments=None, target_pods=None, routers=None, preview=None, ledger=None):
    return plan_switch(req or request(), deployments or {"green": deployment("green", "2"), "blue": deployment("blue", "1")},
                       pods() if target_pods is None else target_pods,
                       routers or [(MAIN, service("web", "blue"))], preview, ledger, NOW)


def test_a_switch_moves_the_router_the_preview_and_records_the_ledger():
    result = plan(preview=(PREVIEW, service("web-preview", "green")))
    assert result["target"] == "green" and result["previous_color"] == "blue" and result["target_version"] == "2"
    ((router, before, after),) = result["changes"]
    assert router is MAIN and after["spec"]["selector"]["cxpe.io/color"] == "green"
    assert before["spec"]["selector"]["cxpe.io/color"] == "blue"
    assert result["preview_change"][2]["spec"]["selector"]["cxpe.io/color"] == "blue"
    ledger = apply_entry(ledgers.new_ledger("web", "blue_green", NOW), result["ledger_entry"])
    assert ledger["active"] == {"color": "green", "version": "2"}
    assert ledger["previous"] == {"color": "blue", "version": "1"}
    assert ledger["phase"] == "active" and ledger["weight"] == 100 and ledger["strategy"] == "blue_green"
    assert ledger["routers"]["Service/web"]["shares"] == {"blue": 100}
    assert ledger["history"] == [{"at": NOW, "action": "switch", "from": {"color": "blue", "version": "1"},
                                  "to": {"color": "green", "version": "2"}, "by": "ops", "why": "upgrade"}]


def recorded(active, previous, phase="active"):
    ledger = ledgers.new_ledger("web", "blue_green", NOW)
    ledger.update(active=active, previous=previous, phase=phase)
    return ledger


def test_nothing_to_do_when_routers_and_ledger_already_say_so():
    ledger = recorded({"color": "green", "version": "2"}, {"color": "blue", "version": "1"})
    result = plan(routers=[(MAIN, service("web", "green"))], preview=(PREVIEW, service("web-preview", "blue")), ledger=ledger)
    assert result["changes"] == [] and result["preview_change"] is None and result["ledger_entry"] is None
    assert result["previous_color"] == "green"


def test_a_stale_ledger_is_brought_up_to_date_without_touching_the_router():
    ledger = recorded({"color": "blue", "version": "1"}, {"color": None, "version": None})
    result = plan(routers=[(MAIN, service("web", "green"))], ledger=ledger)
    assert result["changes"] == []
    assert apply_entry(ledger, result["ledger_entry"])["active"] == {"color": "green", "version": "2"}


def test_routers_moved_by_a_switch_killed_before_its_ledger_write_are_recorded_as_coming_from_the_ledger_s_color():
    ledger = recorded({"color": "blue", "version": "1"}, {"color": "green", "version": "0.9"})
    result = plan(routers=[(MAIN, service("web", "green"))], ledger=ledger)
    assert result["changes"] == []
    after = apply_entry(ledger, result["ledger_entry"])
    assert after["active"] == {"color": "green", "version": "2"} and after["previous"] == {"color": "blue", "version": "1"}


def test_rolled_back_goes_to_the_previous_color_once():
    ledger = recorded({"color": "green", "version": "2"}, {"color": "blue", "version": "1"})
    assert target_color("rolled_back", None, ledger, "x") == "blue"
    result = plan(req=request(state="rolled_back", color=None),
                  deployments={"blue": deployment("blue", "1")}, target_pods=pods("blue"),
                  routers=[(MAIN, service("web", "green"))], ledger=ledger)
    after = apply_entry(ledger, result["ledger_entry"])
    assert after["phase"] == "rolled_back" and after["history"][-1]["action"] == "rollback"
    assert after["active"] == {"color": "blue", "version": "1"} and after["previous"] == {"color": "green", "version": "2"}
    # Run again: the ledger says it was rolled back to blue, so blue stays.
    assert target_color("rolled_back", None, after, "x") == "blue"


@pytest.mark.parametrize("ledger, message", [
    (None, "there is no rollout ledger ConfigMap ns/web-rollout, so nothing says which color to roll back to"),
    (recorded({"color": "green", "version": "2"}, {"color": None, "version": None}),
     "the rollout ledger ConfigMap ns/web-rollout names no previous color to roll back to"),
])
def test_rolled_back_needs_a_previous_color(ledger, message):
    with pytest.raises(Refusal, match=message):
        target_color("rolled_back", None, ledger, "ConfigMap ns/web-rollout")


def test_an_unknown_color_is_refused():
    with pytest.raises(Refusal, match="color 'purple' is not one of blue, green"):
        target_color("active", "purple", None, "x")


def test_every_problem_is_reported_at_once():
    not_ready = deployment("green", "2", ready=1)
    looping = pods()[:1] + [pod("web-green-1", ready=False, waiting="CrashLoopBackOff", restarts=2)]
    missing_key = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "ns"}, "spec": {"selector": {"app": "web"}}}
    with pytest.raises(Refusal) as refusal:
        plan(req=request(version="3"), deployments={"green": not_ready}, target_pods=looping,
             routers=[(MAIN, missing_key), (make_router({"kind": "ingress", "name": "web"}, "ns", "web"), None)],
             preview=(PREVIEW, None))
    assert refusal.value.problems == [
        "Deployment ns/web-green runs version 2, not 3",
        "Deployment ns/web-green: 1 of 3 desired replicas are Ready",
        "pod web-green-1: container app is in CrashLoopBackOff (restarted 2 times)",
        "Service ns/web has no selector key cxpe.io/color (its selector: app=web)",
        "Ingress ns/web does not exist",
        "Service ns/web-preview does not exist",
    ]


def test_a_missing_target_deployment_is_refused():
    with pytest.raises(Refusal, match="Deployment ns/web-green does not exist"):
        plan(deployments={"blue": deployment("blue")}, target_pods=[])


def test_the_other_deployment_is_read_only_when_the_ledger_lacks_its_version():
    routers = [(MAIN, service("web", "blue"))]
    assert deployment_to_read(routers, None, "green") == "blue"
    assert deployment_to_read(routers, recorded({"color": "blue", "version": "1"}, {}), "green") is None
    assert deployment_to_read([(MAIN, service("web", "green"))], None, "green") is None
    # Without the blue Deployment the ledger's version is used.
    result = plan(deployments={"green": deployment("green", "2")}, ledger=recorded({"color": "blue", "version": "1"}, {}))
    assert result["ledger_entry"]["state"]["previous"] == {"color": "blue", "version": "1"}
