# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The router package: its registry and the check of what routers serve."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible_collections.cxpe.rollout.plugins.module_utils.args_common import ROUTER_KINDS
from ansible_collections.cxpe.rollout.plugins.module_utils.routers import (
    RouterError,
    make_router,
    normalized,
    ready_endpoint_pods,
    router_kinds,
    serving_problems,
    single_variant,
    strategy_problems,
)


def test_the_argument_spec_offers_exactly_the_registered_kinds():
    assert ROUTER_KINDS == router_kinds() == ["consul", "ingress", "nginx", "replicas", "route", "service"]


def test_an_unknown_kind_is_refused_with_the_known_ones():
    with pytest.raises(RouterError, match="unknown router kind 'istio'; known kinds: consul, ingress, nginx, replicas, route, service"):
        make_router({"kind": "istio"}, "ns", "web")


def test_a_router_is_named_after_the_service_unless_told_otherwise():
    assert make_router({"kind": "service", "name": None}, "ns", "web").name == "web"
    assert make_router({"kind": "route", "name": "api"}, "ns", "web").name == "api"


def test_shares_helpers():
    assert normalized({"a": 1, "b": 3, "c": 0}) == {"a": 25, "b": 75}
    assert normalized({"a": 0}) == {}
    assert single_variant({"a": 100, "b": 0}) == "a"
    assert single_variant({"a": 60, "b": 40}) is None


def endpoint_slice(service, *endpoints):
    return {"metadata": {"labels": {"kubernetes.io/service-name": service}},
            "endpoints": [{"targetRef": {"kind": "Pod", "name": name}, "conditions": {"ready": ready}} for name, ready in endpoints] or None}


def test_ready_endpoint_pods_reads_slices_like_kube_proxy():
    slices = [endpoint_slice("web", ("a", True), ("b", False), ("c", None)), endpoint_slice("web")]
    assert ready_endpoint_pods(slices) == {"a", "c"}


def test_serving_problems_name_what_still_serves_the_old_color():
    backends = [("web", "green", 100)]
    pods = {"green": ["g1", "g2"]}
    assert serving_problems(backends, {"web": [endpoint_slice("web", ("g1", True), ("g2", True))]}, pods) == []
    assert serving_problems(backends, {"web": [endpoint_slice("web", ("g1", True), ("b1", True))]}, pods) == [
        "Service web still sends traffic to pods that are not green: b1"]
    assert serving_problems(backends, {}, pods) == ["Service web has no ready endpoint"]
    # A backend that takes no share is not looked at.
    assert serving_problems([("web-blue", "blue", 0)], {}, pods) == []


def test_each_strategy_takes_only_the_router_kinds_that_route_its_variants():
    kinds = ["service", "ingress", "route", "nginx", "consul", "replicas"]
    routers = [make_router({"kind": kind}, "ns", "web") for kind in kinds]
    assert strategy_problems(routers, "blue_green", "blue/green colors") == [
        "router kind %s does not route blue/green colors; use ingress, route, service" % kind for kind in ("nginx", "consul", "replicas")]
    assert strategy_problems(routers, "canary", "canary tracks") == [
        "router kind %s does not route canary tracks; use consul, nginx, replicas, route" % kind for kind in ("service", "ingress")]
