# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible_collections.cxpe.rollout.plugins.module_utils.routers import RouterError, make_router


def service(selector):
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "ns", "resourceVersion": "7"},
            "spec": {"selector": dict(selector), "ports": [{"port": 80}]}}


ROUTER = make_router({"kind": "service"}, "ns", "web")


def test_the_service_router_reads_the_color_from_its_selector():
    obj = service({"app": "web", "cxpe.io/color": "blue"})
    assert ROUTER.shares(obj) == {"blue": 100}
    assert ROUTER.backends(obj) == [("web", "blue", 100)]
    assert ROUTER.key == "Service/web" and ROUTER.describe() == "Service ns/web"


def test_switching_changes_only_the_selector_key():
    obj = service({"app": "web", "cxpe.io/color": "blue"})
    routed = ROUTER.route(obj, {"green": 100})
    assert routed["spec"]["selector"] == {"app": "web", "cxpe.io/color": "green"}
    assert routed["spec"]["ports"] == obj["spec"]["ports"]
    assert obj["spec"]["selector"]["cxpe.io/color"] == "blue"
    assert ROUTER.route(routed, {"green": 100}) is None


def test_a_selector_key_the_service_lacks_is_refused_with_its_selector():
    router = make_router({"kind": "service", "name": "web", "selector_key": "cxpe.io/colour"}, "ns", "web")
    obj = service({"app": "web", "cxpe.io/color": "blue"})
    with pytest.raises(RouterError, match=r"Service ns/web has no selector key cxpe.io/colour \(its selector: app=web, cxpe.io/color=blue\)"):
        router.shares(obj)
    with pytest.raises(RouterError, match="no selector key"):
        router.route(obj, {"green": 100})


def test_a_service_cannot_split_traffic():
    with pytest.raises(RouterError, match="Service ns/web sends all of its traffic to one variant; it cannot split it as blue 50%, green 50%"):
        ROUTER.route(service({"cxpe.io/color": "blue"}), {"blue": 50, "green": 50})


@pytest.mark.parametrize("shares", [{"green": 90}, {"green": 120, "blue": -20}])
def test_shares_must_add_up_to_100(shares):
    with pytest.raises(RouterError, match="shares must be non-negative and add up to 100"):
        ROUTER.route(service({"cxpe.io/color": "blue"}), shares)


def test_the_state_records_the_shares_and_the_routing_fields():
    obj = service({"app": "web", "cxpe.io/color": "blue"})
    assert ROUTER.snapshot(obj) == {"selector": {"app": "web", "cxpe.io/color": "blue"}}
    assert ROUTER.state(obj) == {"kind": "service", "name": "web", "shares": {"blue": 100},
                                 "spec": {"selector": {"app": "web", "cxpe.io/color": "blue"}}}
