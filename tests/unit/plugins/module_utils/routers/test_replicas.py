# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible_collections.cxpe.rollout.plugins.module_utils.routers import RouterError, make_router
from ansible_collections.cxpe.rollout.plugins.module_utils.routers.replicas import split_replicas


def pair(stable, canary):
    def deployment(name, replicas):
        return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "ns", "resourceVersion": "1"},
                "spec": {"replicas": replicas}}
    return {"stable": deployment("web", stable), "canary": deployment("web-canary", canary)}


@pytest.mark.parametrize("weight, expected", [
    (0, (3, 0)), (5, (3, 1)), (25, (3, 1)), (50, (3, 3)), (75, (1, 3)), (95, (1, 3)), (100, (0, 3)),
])
def test_the_split_never_leaves_fewer_pods_than_the_base(weight, expected):
    split = split_replicas(3, weight)
    assert (split["stable"], split["canary"]) == expected
    assert sum(split.values()) >= 3


def router_at(stable, canary, ledger=None):
    router = make_router({"kind": "replicas"}, "ns", "web")
    router.prepare(pair(stable, canary), ledger)
    return router


def test_the_base_is_the_stable_count_or_what_the_ledger_recorded_when_the_canary_began():
    assert router_at(3, 0).base == 3
    ledger = {"phase": "progressing", "routers": {"Deployment/web-canary": {"spec": {"replicas": {"stable": 4, "canary": 0}}}}}
    assert router_at(1, 4, ledger).base == 4
    with pytest.raises(RouterError, match="both have 0 replicas"):
        router_at(0, 0)


def test_shares_follow_the_replicas_and_routing_changes_both_deployments():
    router = router_at(3, 0)
    assert router.describe() == "Deployments ns/web and ns/web-canary"
    assert router.shares(pair(3, 1)) == {"stable": 75, "canary": 25}
    routed = router.route(pair(3, 0), {"stable": 0, "canary": 100})
    assert (routed["stable"]["spec"]["replicas"], routed["canary"]["spec"]["replicas"]) == (0, 3)
    assert router.route(pair(3, 1), {"stable": 75, "canary": 25}) is None


class RecordingCluster(object):
    def __init__(self):
        self.calls = []

    def update(self, api_version, kind, name, namespace, mutate, current=None):
        after = mutate(current)
        self.calls.append(("update", name, after["spec"]["replicas"]))
        return current, after


def test_scaling_up_comes_first_and_the_scale_down_waits_for_it():
    cluster, router = RecordingCluster(), router_at(3, 0)
    router.apply(cluster, pair(3, 0), {"stable": 0, "canary": 100},
                 settle=lambda names: cluster.calls.append(("settle", names)))
    assert cluster.calls == [("update", "web-canary", 3), ("settle", ["web-canary"]), ("update", "web", 0)]
    cluster.calls[:] = []
    router.apply(cluster, pair(0, 3), {"stable": 100, "canary": 0}, settle=lambda names: cluster.calls.append(("settle", names)))
    assert cluster.calls == [("update", "web", 3), ("settle", ["web"]), ("update", "web-canary", 0)]
