# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible_collections.cxpe.rollout.plugins.module_utils.backup import KINDS, clean, kept, read_backup
from ansible_collections.cxpe.rollout.plugins.module_utils.cluster import Cluster, ClusterError
from cluster_support import FakeClient, api_error, configmap

SERVER_METADATA = {"uid": "u-1", "resourceVersion": "7", "managedFields": [{"manager": "kubectl"}], "generation": 3,
                   "creationTimestamp": "2026-01-31T12:00:00Z", "selfLink": "/apis/x"}
CORE_KINDS = set([("apps/v1", "Deployment"), ("apps/v1", "StatefulSet"), ("v1", "Service"), ("networking.k8s.io/v1", "Ingress"),
                  ("v1", "ConfigMap"), ("policy/v1", "PodDisruptionBudget")])
ROUTER_KINDS = set([("route.openshift.io/v1", "Route"), ("consul.hashicorp.com/v1alpha1", "ServiceResolver"),
                    ("consul.hashicorp.com/v1alpha1", "ServiceSplitter")])


def service(name, namespace="gws", cluster_ip="10.96.0.12"):
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": dict(SERVER_METADATA, name=name, namespace=namespace, labels={"app.kubernetes.io/name": name}),
            "spec": {"selector": {"app.kubernetes.io/name": name, "cxpe.io/color": "blue"}, "clusterIP": cluster_ip,
                     "clusterIPs": [cluster_ip], "type": "ClusterIP", "ports": [{"port": 80, "targetPort": "http"}]},
            "status": {"loadBalancer": {}}}


def deployment(name, namespace="gws", owners=()):
    metadata = dict(SERVER_METADATA, name=name, namespace=namespace,
                    annotations={"deployment.kubernetes.io/revision": "2"})
    if owners:
        metadata["ownerReferences"] = list(owners)
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": metadata,
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": name}},
                     "template": {"spec": {"containers": [{"name": name, "image": "r/%s:1" % name}]}}},
            "status": {"replicas": 3, "readyReplicas": 3}}


def route(name, namespace="gws"):
    return {"apiVersion": "route.openshift.io/v1", "kind": "Route", "metadata": {"name": name, "namespace": namespace},
            "spec": {"to": {"kind": "Service", "name": name + "-blue", "weight": 100}}, "status": {"ingress": []}}


def cluster(objects, served=CORE_KINDS | ROUTER_KINDS):
    client = FakeClient(objects, served=set(served))
    return Cluster(client, sleep=lambda seconds: None), client


def test_clean_drops_what_the_server_owns_and_keeps_the_rest():
    original = deployment("gws-chat-blue")
    original["metadata"].update(deletionTimestamp="2026-01-31T12:01:00Z", deletionGracePeriodSeconds=30)
    assert clean(original) == {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "gws-chat-blue", "namespace": "gws", "annotations": {"deployment.kubernetes.io/revision": "2"}},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "gws-chat-blue"}},
                 "template": {"spec": {"containers": [{"name": "gws-chat-blue", "image": "r/gws-chat-blue:1"}]}}},
    }
    assert original["status"] == {"replicas": 3, "readyReplicas": 3}
    assert original["metadata"]["uid"] == "u-1"


def test_a_service_loses_its_allocated_cluster_ips_but_a_headless_one_stays_headless():
    assert clean(service("gws-chat"))["spec"] == {"selector": {"app.kubernetes.io/name": "gws-chat", "cxpe.io/color": "blue"},
                                                  "type": "ClusterIP", "ports": [{"port": 80, "targetPort": "http"}]}
    headless = clean(service("voice-sip", cluster_ip="None"))["spec"]
    assert headless["clusterIP"] == "None" and headless["clusterIPs"] == ["None"]


def test_the_root_ca_configmap_and_objects_another_controls_are_left_out():
    assert not kept(configmap("kube-root-ca.crt"))
    assert kept(configmap("gws-chat-rollout"))
    assert kept(deployment("gws-chat-blue"))
    assert kept(deployment("x", owners=[{"kind": "Helm", "name": "x", "uid": "u"}]))
    assert not kept(deployment("x", owners=[{"kind": "Operator", "name": "x", "uid": "u", "controller": True}]))


def test_a_backup_reads_every_kind_in_every_namespace_in_a_stable_order():
    api, client = cluster([
        service("gws-chat"), service("webrtc-gateway", "webrtc"), service("gws-chat-preview"),
        deployment("gws-chat-blue"), deployment("gws-chat-green"),
        configmap("kube-root-ca.crt", namespace="gws"), configmap("gws-chat-rollout", {"service": "gws-chat"}, namespace="gws"),
        configmap("elsewhere", namespace="other"), route("gws-chat"),
    ])
    backup = read_backup(api, ["webrtc", "gws", "webrtc"])
    assert [(obj["kind"], obj["metadata"]["namespace"], obj["metadata"]["name"]) for obj in backup["objects"]] == [
        ("Deployment", "gws", "gws-chat-blue"), ("Deployment", "gws", "gws-chat-green"),
        ("Service", "gws", "gws-chat"), ("Service", "gws", "gws-chat-preview"), ("Service", "webrtc", "webrtc-gateway"),
        ("ConfigMap", "gws", "gws-chat-rollout"), ("Route", "gws", "gws-chat"),
    ]
    assert backup["counts"] == {"Deployment": 2, "StatefulSet": 0, "Service": 3, "Ingress": 0, "ConfigMap": 1,
                                "PodDisruptionBudget": 0, "Route": 1, "ServiceResolver": 0, "ServiceSplitter": 0}
    assert backup["skipped_kinds"] == []
    assert all("status" not in obj and "resourceVersion" not in obj["metadata"] for obj in backup["objects"])
    # Only lists: one per kind and namespace, each namespace once.
    assert set(verb for verb, _kind, _name in client.requests) == set(["list"])
    assert len(client.requests) == len(KINDS) * 2


def test_list_items_get_the_kind_and_api_version_they_lack():
    api, client = cluster([configmap("settings", namespace="gws")])
    del client.objects[("ConfigMap", "gws", "settings")]["apiVersion"]
    (saved,) = read_backup(api, ["gws"])["objects"]
    assert (saved["apiVersion"], saved["kind"]) == ("v1", "ConfigMap")


def test_kinds_the_server_does_not_serve_are_skipped_and_named():
    api, client = cluster([service("gws-chat")], served=CORE_KINDS | set([("route.openshift.io/v1", "Route")]))
    backup = read_backup(api, ["gws"])
    assert backup["skipped_kinds"] == ["ServiceResolver", "ServiceSplitter"]
    assert "ServiceSplitter" not in backup["counts"] and backup["counts"]["Route"] == 0
    assert [obj["metadata"]["name"] for obj in backup["objects"]] == ["gws-chat"]
    assert not [request for request in client.requests if request[1] in ("ServiceResolver", "ServiceSplitter")]


def test_a_failed_read_fails_the_backup_naming_what_could_not_be_read():
    api, client = cluster([service("gws-chat")])
    client.failures["list"] = [api_error(403, 'deployments.apps is forbidden: User "x" cannot list resource "deployments"')]
    with pytest.raises(ClusterError, match=r"cannot list Deployments in gws: deployments.apps is forbidden"):
        read_backup(api, ["gws"])


def test_a_discovery_failure_is_not_taken_for_a_kind_that_is_not_served():
    api, client = cluster([])

    def unreachable(api_version, kind):
        raise OSError("connection refused")
    client.resources.get = unreachable
    with pytest.raises(ClusterError, match="cannot discover Deployment .*unreachable"):
        read_backup(api, ["gws"])
