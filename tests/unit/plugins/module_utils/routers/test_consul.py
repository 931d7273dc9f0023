# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible_collections.cxpe.rollout.plugins.module_utils.routers import RouterError, make_router

ROUTER = make_router({"kind": "consul"}, "ns", "web")


def splitter(*splits):
    return {"apiVersion": "consul.hashicorp.com/v1alpha1", "kind": "ServiceSplitter",
            "metadata": {"name": "web", "namespace": "ns"}, "spec": {"splits": list(splits)}}


def resolver(*subsets):
    return {"spec": {"subsets": dict((name, {"filter": "Service.Meta.track == %s" % name}) for name in subsets)}}


def test_the_splits_are_the_shares_of_the_subsets():
    obj = splitter({"serviceSubset": "stable", "weight": 75}, {"serviceSubset": "canary", "weight": 25})
    assert ROUTER.shares(obj) == {"stable": 75, "canary": 25}
    assert ROUTER.backends(obj) == [("web-stable", "stable", 75), ("web-canary", "canary", 25)]
    assert ROUTER.shares(splitter({"serviceSubset": "stable", "weight": 100}, {"serviceSubset": "canary", "weight": 0})) == {
        "stable": 100}


def test_routing_keeps_both_subsets_listed():
    routed = ROUTER.route(splitter({"serviceSubset": "stable", "weight": 100}), {"stable": 95, "canary": 5})
    assert routed["spec"]["splits"] == [{"serviceSubset": "stable", "weight": 95}, {"serviceSubset": "canary", "weight": 5}]
    back = ROUTER.route(routed, {"stable": 100, "canary": 0})
    assert back["spec"]["splits"] == [{"serviceSubset": "stable", "weight": 100}, {"serviceSubset": "canary", "weight": 0}]
    assert ROUTER.route(back, {"stable": 100}) is None


@pytest.mark.parametrize("obj, message", [
    (splitter(), "has no splits"),
    (splitter({"serviceSubset": "v2", "weight": 100}), "goes to subset 'v2', not one of stable, canary"),
    (splitter({"service": "other", "serviceSubset": "stable", "weight": 100}), "goes to service other, not web"),
])
def test_splitters_the_router_does_not_understand_are_refused(obj, message):
    with pytest.raises(RouterError, match=message):
        ROUTER.shares(obj)


def test_the_resolver_must_define_both_subsets():
    ((api_version, kind, name, problems),) = ROUTER.companions()
    assert (api_version, kind, name) == ("consul.hashicorp.com/v1alpha1", "ServiceResolver", "web")
    assert problems(resolver("stable", "canary")) == []
    assert problems(resolver("stable")) == ["ServiceResolver ns/web defines no subset canary"]
