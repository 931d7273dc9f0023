# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible_collections.cxpe.rollout.plugins.module_utils.routers import RouterError, make_router


def route(to, alternates=None):
    spec = {"host": "web.example.com", "to": dict(to, kind="Service"), "port": {"targetPort": "http"}}
    if alternates is not None:
        spec["alternateBackends"] = [dict(item, kind="Service") for item in alternates]
    return {"apiVersion": "route.openshift.io/v1", "kind": "Route", "metadata": {"name": "web", "namespace": "ns"}, "spec": spec}


ROUTER = make_router({"kind": "route"}, "ns", "web")


def test_a_route_without_weights_sends_everything_to_spec_to():
    obj = route({"name": "web-blue"})
    assert ROUTER.shares(obj) == {"blue": 100}
    assert ROUTER.weighted is True


def test_weights_are_shares_and_zero_weights_serve_nothing():
    obj = route({"name": "web-blue", "weight": 3}, [{"name": "web-green", "weight": 1}, {"name": "web-blue", "weight": 0}])
    assert ROUTER.shares(obj) == {"blue": 75, "green": 25}
    assert ROUTER.backends(obj) == [("web-blue", "blue", 75), ("web-green", "green", 25)]
    assert ROUTER.shares(route({"name": "web-blue", "weight": 0})) == {}


def test_switching_points_spec_to_at_the_target_and_drops_the_alternates():
    obj = route({"name": "web-blue", "weight": 90}, [{"name": "web-green", "weight": 10}])
    routed = ROUTER.route(obj, {"green": 100})
    assert routed["spec"]["to"] == {"kind": "Service", "name": "web-green", "weight": 100}
    assert "alternateBackends" not in routed["spec"]
    assert routed["spec"]["port"] == obj["spec"]["port"]
    assert ROUTER.route(routed, {"green": 100}) is None
    # Already all on one color, whatever the written weight: nothing to do.
    assert ROUTER.route(route({"name": "web-green"}, [{"name": "web-blue", "weight": 0}]), {"green": 100}) is None


def test_weighted_shares_keep_the_current_backend_in_spec_to():
    routed = ROUTER.route(route({"name": "web-stable"}), {"stable": 95, "canary": 5})
    assert routed["spec"]["to"] == {"kind": "Service", "name": "web-stable", "weight": 95}
    assert routed["spec"]["alternateBackends"] == [{"kind": "Service", "name": "web-canary", "weight": 5}]


def test_a_backend_that_is_not_a_color_service_is_refused():
    with pytest.raises(RouterError, match=r"Route ns/web routes spec.alternateBackends\[0\] to Service api, which is not one of web-<color>"):
        ROUTER.shares(route({"name": "web-blue"}, [{"name": "api"}]))
    with pytest.raises(RouterError, match="Route ns/web has no spec.to"):
        ROUTER.shares({"kind": "Route", "metadata": {}, "spec": {}})
