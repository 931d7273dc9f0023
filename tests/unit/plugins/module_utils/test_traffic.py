# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible_collections.cxpe.rollout.plugins.module_utils.cluster import Cluster, ClusterError
from ansible_collections.cxpe.rollout.plugins.module_utils.routers import make_router
from ansible_collections.cxpe.rollout.plugins.module_utils.traffic import (
    diff_entry,
    move,
    put_back,
    read_routers,
    wait_until_serving,
)
from cluster_support import FakeClient, ScriptedWatch, api_error


def service(name, color):
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "ns"},
            "spec": {"selector": {"app": "web", "cxpe.io/color": color}}}


def endpoint_slice(name, service_name, *pods):
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": name, "namespace": "ns", "labels": {"kubernetes.io/service-name": service_name}},
            "endpoints": [{"targetRef": {"kind": "Pod", "name": pod}, "conditions": {"ready": True}} for pod in pods]}


def test_read_apply_and_diff_one_router():
    client = FakeClient([service("web", "blue")])
    cluster = Cluster(client)
    ((router, obj),) = read_routers(cluster, [make_router({"kind": "service"}, "ns", "web")])
    before, after = router.apply(cluster, obj, {"green": 100})
    assert after["spec"]["selector"]["cxpe.io/color"] == "green" and cluster.writes == 1
    entry = diff_entry(before, after, router.describe())
    assert entry["before"]["spec"]["selector"]["cxpe.io/color"] == "blue"
    assert "resourceVersion" not in entry["after"]["metadata"]


def test_a_missing_router_reads_as_none():
    client = FakeClient(served=set([("networking.k8s.io/v1", "Ingress")]))
    ((_router, obj),) = read_routers(Cluster(client), [make_router({"kind": "ingress"}, "ns", "web")])
    assert obj is None


def test_wait_until_serving_follows_the_endpoint_slices():
    watch = ScriptedWatch([[{"type": "MODIFIED", "object": endpoint_slice("web-abc", "web", "g1", "g2")}]])
    client = FakeClient([endpoint_slice("web-abc", "web", "b1")])
    wait_until_serving(Cluster(client, watcher=watch), "ns", [("web", "green", 100)], {"green": ["g1", "g2"]}, 5)
    assert watch.calls[0]["label_selector"] == "kubernetes.io/service-name in (web)"


def test_a_timeout_says_what_still_serves():
    now = [0.0]

    def clock():
        now[0] += 4
        return now[0]

    watch = ScriptedWatch([[]])
    client = FakeClient([endpoint_slice("web-abc", "web", "b1")])
    with pytest.raises(ClusterError, match="timed out after 5s waiting for Services web to serve only the target's ready pods: "
                                           "Service web still sends traffic to pods that are not green: b1"):
        wait_until_serving(Cluster(client, watcher=watch, clock=clock), "ns", [("web", "green", 100)], {"green": ["g1"]}, 5)


def switched(client, names):
    """Two Service routers of blue, planned to green, and the change made to as many of them as `names` lists."""
    cluster = Cluster(client, sleep=lambda seconds: None)
    routers = read_routers(cluster, [make_router({"kind": "service", "name": name}, "ns", "web") for name in ("web", "web-internal")])
    changes = [(router, obj, router.route(obj, {"green": 100})) for router, obj in routers]
    move(cluster, [change for change in changes if change[0].name in names], {"green": 100})
    return cluster, changes


def colors(client):
    return [client.objects[("Service", "ns", name)]["spec"]["selector"]["cxpe.io/color"] for name in ("web", "web-internal")]


def test_put_back_routes_the_routers_a_failed_change_reached_as_before():
    client = FakeClient([service("web", "blue"), service("web-internal", "blue")])
    cluster, changes = switched(client, ["web"])
    assert colors(client) == ["green", "blue"]
    error = put_back(cluster, changes, ClusterError("cannot update ConfigMap ns/web-rollout: etcd timed out", 500, "Internal Server Error"))
    assert colors(client) == ["blue", "blue"]
    assert str(error) == "cannot update ConfigMap ns/web-rollout: etcd timed out; put back as they were: Service ns/web"
    assert error.status == 500
    # The one it never reached is read, not written.
    assert [verb for verb, kind, _name in client.requests[-3:]] == ["get", "get", "patch"]


def test_put_back_says_when_nothing_had_changed_and_when_a_router_cannot_be_put_back():
    client = FakeClient([service("web", "blue"), service("web-internal", "blue")])
    cluster, changes = switched(client, [])
    assert str(put_back(cluster, changes, ClusterError("cannot update Service ns/web: boom", 500))) == (
        "cannot update Service ns/web: boom; no router had changed yet")
    cluster, changes = switched(client, ["web", "web-internal"])
    client.failures["patch"] = [api_error(403, 'services "web-internal" is forbidden')]
    error = put_back(cluster, changes, ClusterError("cannot create ConfigMap ns/web-rollout: boom", 500))
    assert str(error) == ("cannot create ConfigMap ns/web-rollout: boom; putting Service ns/web-internal back failed too, so it "
                          "routes what the ledger does not say: cannot update Service ns/web-internal: services \"web-internal\" is forbidden")
