# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible_collections.cxpe.rollout.plugins.module_utils.routers import RouterError, make_router

ANNOTATION = "nginx.ingress.kubernetes.io/"


def canary_ingress(annotations=None, backend="web-canary"):
    rule = {"host": "web.example.com", "http": {"paths": [{"path": "/", "pathType": "Prefix",
                                                          "backend": {"service": {"name": backend, "port": {"number": 80}}}}]}}
    merged = {ANNOTATION + "canary": "true"}
    merged.update(annotations or {})
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": "web-canary", "namespace": "ns", "annotations": merged}, "spec": {"rules": [rule]}}


ROUTER = make_router({"kind": "nginx"}, "ns", "web")


def test_the_canary_ingress_is_named_after_the_service_and_its_weight_is_the_canary_share():
    assert ROUTER.name == "web-canary" and ROUTER.weighted
    assert ROUTER.shares(canary_ingress()) == {"stable": 100}
    obj = canary_ingress({ANNOTATION + "canary-weight": "25"})
    assert ROUTER.shares(obj) == {"stable": 75, "canary": 25}
    assert ROUTER.backends(obj) == [("web-stable", "stable", 75), ("web-canary", "canary", 25)]


def test_a_weight_total_scales_the_weight_and_a_total_below_100_counts_as_100():
    assert ROUTER.shares(canary_ingress({ANNOTATION + "canary-weight": "250", ANNOTATION + "canary-weight-total": "1000"})) == {
        "stable": 75, "canary": 25}
    assert ROUTER.shares(canary_ingress({ANNOTATION + "canary-weight": "30", ANNOTATION + "canary-weight-total": "50"})) == {
        "stable": 70, "canary": 30}
    routed = ROUTER.route(canary_ingress({ANNOTATION + "canary-weight-total": "1000"}), {"stable": 95, "canary": 5})
    assert routed["metadata"]["annotations"][ANNOTATION + "canary-weight"] == "50"


def test_routing_sets_the_weight_and_the_header_entry_point_once():
    router = make_router({"kind": "nginx", "header": "X-Canary", "header_value": "yes"}, "ns", "web")
    routed = router.route(canary_ingress(), {"stable": 75, "canary": 25})
    annotations = routed["metadata"]["annotations"]
    assert annotations[ANNOTATION + "canary-weight"] == "25"
    assert annotations[ANNOTATION + "canary-by-header"] == "X-Canary"
    assert annotations[ANNOTATION + "canary-by-header-value"] == "yes"
    assert router.route(routed, {"stable": 75, "canary": 25}) is None
    assert router.snapshot(routed) == {"annotations": dict((key, value) for key, value in annotations.items() if key != ANNOTATION + "canary")}


@pytest.mark.parametrize("obj, message", [
    (canary_ingress({ANNOTATION + "canary": "false"}), 'Ingress ns/web-canary is not an ingress-nginx canary'),
    (canary_ingress(backend="web-stable"), "leads to Service web-stable, not web-canary"),
    (canary_ingress(backend="other"), "which is not one of web-<color>"),
    (canary_ingress({ANNOTATION + "canary-weight": "ten"}), "canary-weight is 'ten', not a whole number"),
])
def test_an_ingress_that_is_not_the_service_canary_is_refused(obj, message):
    with pytest.raises(RouterError, match=message):
        ROUTER.shares(obj)


def test_variants_other_than_the_tracks_are_refused():
    with pytest.raises(RouterError, match="routes only stable and canary, not green"):
        ROUTER.route(canary_ingress(), {"green": 100})
