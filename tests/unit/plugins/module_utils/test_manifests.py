# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible_collections.cxpe.rollout.plugins.module_utils.catalog import (
    DNS1123_LABEL,
    DNS1123_LABEL_MAX,
    STRATEGIES,
    max_service_name_length,
)
from ansible_collections.cxpe.rollout.plugins.module_utils.labels import LABEL_SERVING
from ansible_collections.cxpe.rollout.plugins.module_utils.manifests import (
    ManifestError,
    foundation_manifests,
    service_manifests,
    step_manifests,
)
from ansible_collections.cxpe.rollout.plugins.module_utils.strategies import rolling

REGISTRY = "registry.example.com/genesys/"


def service(strategy, name="svc", group="grp", namespace="ns", step=3):
    return {
        "name": name, "title": name, "group": group, "strategy": strategy, "namespace": namespace,
        "step": step, "priority_class": "genesysengage-critical-priority", "priority": 10000000,
    }


def by_kind(manifests):
    result = {}
    for manifest in manifests:
        result.setdefault(manifest["kind"], []).append(manifest)
    return result


def test_rolling_update_service_is_one_deployment_and_its_service():
    manifests = by_kind(service_manifests(service("rolling_update"), "1.2.3", REGISTRY, 3))
    (deployment,), (svc,) = manifests["Deployment"], manifests["Service"]
    assert deployment["metadata"] == {
        "name": "svc", "namespace": "ns",
        "labels": {
            "app.kubernetes.io/name": "svc", "app.kubernetes.io/part-of": "grp",
            "app.kubernetes.io/version": "1.2.3", "app.kubernetes.io/managed-by": "cxpe.rollout",
        },
    }
    spec = deployment["spec"]
    assert spec["replicas"] == 3
    # The serving label is the pods' only: a pod a rolling drain flips to "false" stays owned.
    assert spec["selector"] == {"matchLabels": {"app.kubernetes.io/name": "svc"}}
    assert spec["template"]["metadata"] == {"labels": dict(deployment["metadata"]["labels"], **{"cxpe.io/serving": "true"})}
    pod = spec["template"]["spec"]
    assert pod["priorityClassName"] == "genesysengage-critical-priority"
    assert pod["containers"][0]["image"] == "registry.example.com/genesys/svc:1.2.3"
    assert svc["metadata"]["name"] == "svc"
    assert svc["spec"]["selector"] == {"app.kubernetes.io/name": "svc", "cxpe.io/serving": "true"}
    assert svc["spec"]["ports"][0]["targetPort"] == "http"


def test_a_rolling_update_service_is_ready_for_a_rolling_drain():
    deployment, svc = service_manifests(service("rolling_update"), "1.2.3", REGISTRY, 3)
    pod = {"metadata": {"name": "svc-1", "labels": deployment["spec"]["template"]["metadata"]["labels"]}}
    assert rolling.workload_problems("Deployment", deployment, [pod], [svc], LABEL_SERVING, []) == []


@pytest.mark.parametrize("strategy", ["blue_green", "canary"])
def test_only_rolling_update_services_select_on_the_serving_label(strategy):
    manifests = by_kind(service_manifests(service(strategy), "1", REGISTRY, 1))
    assert all(LABEL_SERVING not in item["spec"]["template"]["metadata"]["labels"] for item in manifests["Deployment"])
    assert all(LABEL_SERVING not in item["spec"]["selector"] for item in manifests["Service"])


def test_canary_service_has_a_stable_and_an_idle_canary_track_and_a_service_per_track():
    manifests = by_kind(service_manifests(service("canary"), "1.2.3", REGISTRY, 2))
    deployments = dict((item["metadata"]["name"], item) for item in manifests["Deployment"])
    assert sorted(deployments) == ["svc", "svc-canary"]
    assert deployments["svc"]["spec"]["replicas"] == 2
    assert deployments["svc-canary"]["spec"]["replicas"] == 0
    for name, track in (("svc", "stable"), ("svc-canary", "canary")):
        spec = deployments[name]["spec"]
        assert spec["selector"]["matchLabels"] == {"app.kubernetes.io/name": "svc", "cxpe.io/track": track}
        assert spec["template"]["metadata"]["labels"]["cxpe.io/track"] == track
        # consul-k8s turns the annotation into the service meta a ServiceResolver subset filters on.
        assert spec["template"]["metadata"]["annotations"] == {"consul.hashicorp.com/service-meta-track": track}
        # On first deploy the canary runs what the stable track runs.
        assert spec["template"]["spec"]["containers"][0]["image"] == "registry.example.com/genesys/svc:1.2.3"
        assert deployments[name]["metadata"]["labels"]["app.kubernetes.io/version"] == "1.2.3"
    services = dict((item["metadata"]["name"], item["spec"]["selector"]) for item in manifests["Service"])
    assert services == {
        "svc": {"app.kubernetes.io/name": "svc"},
        "svc-stable": {"app.kubernetes.io/name": "svc", "cxpe.io/track": "stable"},
        "svc-canary": {"app.kubernetes.io/name": "svc", "cxpe.io/track": "canary"},
    }


def test_canary_track_keeps_what_it_runs_and_its_replicas():
    manifests = service_manifests(service("canary"), "1.2.3", REGISTRY, 3,
                                  deployment_versions={"svc-canary": "1.3.0"}, canary_replicas=1)
    deployments = dict((item["metadata"]["name"], item) for item in by_kind(manifests)["Deployment"])
    assert deployments["svc"]["spec"]["template"]["spec"]["containers"][0]["image"].endswith("/svc:1.2.3")
    assert deployments["svc-canary"]["spec"]["template"]["spec"]["containers"][0]["image"].endswith("/svc:1.3.0")
    assert deployments["svc-canary"]["spec"]["replicas"] == 1


def test_the_track_annotation_joins_the_pod_annotations_and_wins_over_them():
    manifests = service_manifests(service("canary"), "1", REGISTRY, 1, pod_annotations={
        "kubesim.cxpe.io/ready-after": "2", "consul.hashicorp.com/service-meta-track": "mine"})
    annotations = [item["spec"]["template"]["metadata"]["annotations"] for item in manifests if item["kind"] == "Deployment"]
    assert annotations == [
        {"kubesim.cxpe.io/ready-after": "2", "consul.hashicorp.com/service-meta-track": "stable"},
        {"kubesim.cxpe.io/ready-after": "2", "consul.hashicorp.com/service-meta-track": "canary"},
    ]


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_the_longest_service_name_the_catalog_accepts_gives_valid_object_names(strategy):
    name = "a" * max_service_name_length(strategy)
    for manifest in service_manifests(service(strategy, name), "1", REGISTRY, 1):
        assert len(manifest["metadata"]["name"]) <= DNS1123_LABEL_MAX and DNS1123_LABEL.match(manifest["metadata"]["name"])


@pytest.mark.parametrize("active, idle", [("blue", "green"), ("green", "blue")])
def test_blue_green_service_has_an_active_and_an_idle_color(active, idle):
    manifests = by_kind(service_manifests(service("blue_green"), "1.2.3", REGISTRY, 3, active_color=active))
    deployments = dict((item["metadata"]["name"], item) for item in manifests["Deployment"])
    assert sorted(deployments) == ["svc-blue", "svc-green"]
    assert deployments["svc-" + active]["spec"]["replicas"] == 3
    assert deployments["svc-" + idle]["spec"]["replicas"] == 0
    for color in (active, idle):
        spec = deployments["svc-" + color]["spec"]
        assert spec["selector"]["matchLabels"] == {"app.kubernetes.io/name": "svc", "cxpe.io/color": color}
        assert spec["template"]["metadata"]["labels"]["cxpe.io/color"] == color
    services = dict((item["metadata"]["name"], item) for item in manifests["Service"])
    assert sorted(services) == ["svc", "svc-preview"]
    assert services["svc"]["spec"]["selector"] == {"app.kubernetes.io/name": "svc", "cxpe.io/color": active}
    # The preview entry point always selects the idle color.
    assert services["svc-preview"]["spec"]["selector"] == {"app.kubernetes.io/name": "svc", "cxpe.io/color": idle}
    assert services["svc-preview"]["metadata"]["labels"]["app.kubernetes.io/name"] == "svc"


def test_pod_annotations_go_to_the_pod_template_only():
    (deployment, _svc) = service_manifests(
        service("rolling_update"), "1", REGISTRY, 1, pod_annotations={"kubesim.cxpe.io/ready-after": "2"})
    assert deployment["spec"]["template"]["metadata"]["annotations"] == {"kubesim.cxpe.io/ready-after": "2"}
    assert "annotations" not in deployment["metadata"]


@pytest.mark.parametrize("version", ["", "-1", "1.0-", "a" * 64, "1.0+build", 100])
def test_versions_must_be_label_values(version):
    with pytest.raises(ManifestError, match="is not a valid label value"):
        service_manifests(service("rolling_update"), version, REGISTRY, 1)


def test_unknown_active_color():
    with pytest.raises(ManifestError, match="active color 'red'"):
        service_manifests(service("blue_green"), "1", REGISTRY, 1, active_color="red")


def groups():
    return [
        {"name": "a", "namespaces": ["a"], "step": 2, "strategy": "rolling_update",
         "services": [service("rolling_update", "a1", "a", "a", 2)]},
        {"name": "b", "namespaces": ["b1", "b2"], "step": 3, "strategy": "blue_green",
         "services": [service("blue_green", "b1", "b", "b1", 3), service("blue_green", "b2", "b", "b2", 8)]},
        {"name": "c", "namespaces": ["c"], "step": 3, "strategy": "canary",
         "services": [service("canary", "c1", "c", "c", 3)]},
    ]


def test_foundation_is_namespaces_then_priority_classes():
    manifests = foundation_manifests(groups(), [{"name": "top", "value": 5, "description": "d"}])
    assert [(item["kind"], item["metadata"]["name"]) for item in manifests] == [
        ("Namespace", "a"), ("Namespace", "b1"), ("Namespace", "b2"), ("Namespace", "c"), ("PriorityClass", "top"),
    ]
    assert manifests[-1]["value"] == 5
    assert manifests[-1]["globalDefault"] is False


def test_steps_hold_their_services_in_order():
    plan = step_manifests(groups(), version="1", registry=REGISTRY, replicas=2)
    assert [(entry["step"], entry["groups"], entry["services"]) for entry in plan] == [
        (2, ["a"], ["a1"]), (3, ["b", "c"], ["b1", "c1"]), (8, ["b"], ["b2"]),
    ]
    assert [item["metadata"]["name"] for item in plan[1]["manifests"]] == [
        "b1-blue", "b1-green", "b1", "b1-preview", "c1", "c1-canary", "c1", "c1-stable", "c1-canary",
    ]


def test_versions_override_the_platform_version():
    plan = step_manifests(groups(), version="1", registry=REGISTRY, replicas=1, versions={"c1": "2"})
    images = [item["spec"]["template"]["spec"]["containers"][0]["image"]
              for entry in plan for item in entry["manifests"] if item["kind"] == "Deployment"]
    assert images == [
        "registry.example.com/genesys/a1:1", "registry.example.com/genesys/b1:1", "registry.example.com/genesys/b1:1",
        "registry.example.com/genesys/c1:2", "registry.example.com/genesys/c1:2",
        "registry.example.com/genesys/b2:1", "registry.example.com/genesys/b2:1",
    ]


def test_versions_of_services_that_are_not_deployed_are_refused():
    with pytest.raises(ManifestError, match="versions given for services that are not deployed: zz"):
        step_manifests(groups(), version="1", registry=REGISTRY, replicas=1, versions={"zz": "2", "a1": "3"})


def images(plan):
    return dict((item["metadata"]["name"], item["spec"]["template"]["spec"]["containers"][0]["image"].rsplit(":", 1)[1])
                for entry in plan for item in entry["manifests"] if item["kind"] == "Deployment")


def deployment_replicas(plan):
    return dict((item["metadata"]["name"], item["spec"]["replicas"])
                for entry in plan for item in entry["manifests"] if item["kind"] == "Deployment")


def replicas_and_selectors(plan):
    return dict((item["metadata"]["name"], item["spec"].get("replicas", item["spec"].get("selector")))
                for entry in plan for item in entry["manifests"])


OBSERVED = {
    "a": {"a1": {"versions": {"a1": "7"}}},
    "b1": {"b1": {"active_color": "green", "versions": {"b1-green": "8", "b1-blue": "6"}}},
    # What runs in another namespace is not this service.
    "elsewhere": {"c1": {"versions": {"c1": "9"}}},
}


def test_what_runs_wins_over_the_platform_defaults():
    plan = step_manifests(groups(), version="1", registry=REGISTRY, replicas=2, observed=OBSERVED)
    assert images(plan) == {"a1": "7", "b1-blue": "6", "b1-green": "8", "c1": "1", "c1-canary": "1", "b2-blue": "1", "b2-green": "1"}
    shapes = replicas_and_selectors(plan)
    assert shapes["b1-green"] == 2 and shapes["b1-blue"] == 0
    assert shapes["b1"]["cxpe.io/color"] == "green" and shapes["b1-preview"]["cxpe.io/color"] == "blue"
    assert shapes["b2"]["cxpe.io/color"] == "blue"


def test_explicit_overrides_win_over_what_runs():
    plan = step_manifests(groups(), version="1", registry=REGISTRY, replicas=2, observed=OBSERVED,
                          versions={"a1": "3", "b1": "5"}, active_colors={"b1": "blue"})
    # The explicit version goes to the active color; the idle one keeps what it runs.
    assert images(plan) == {"a1": "3", "b1-blue": "5", "b1-green": "8", "c1": "1", "c1-canary": "1", "b2-blue": "1", "b2-green": "1"}
    shapes = replicas_and_selectors(plan)
    assert shapes["b1-blue"] == 2 and shapes["b1-green"] == 0
    assert shapes["b1"]["cxpe.io/color"] == "blue"


@pytest.mark.parametrize("colors, message", [
    ({"a1": "green"}, "active colors given for services that are not deployed blue/green services: a1"),
    ({"zz": "green"}, "active colors given for services that are not deployed blue/green services: zz"),
    ({"b1": "red"}, "active color 'red' is not one of blue, green"),
])
def test_active_colors_only_for_blue_green_services(colors, message):
    with pytest.raises(ManifestError, match=message):
        step_manifests(groups(), version="1", registry=REGISTRY, replicas=1, active_colors=colors)


def test_an_invalid_platform_version_is_refused_even_when_every_service_keeps_its_own():
    observed = {"a": {"a1": {"versions": {"a1": "7"}}}}
    with pytest.raises(ManifestError, match="version '9.0\\+1' of the platform is not a valid label value"):
        step_manifests(groups()[:1], version="9.0+1", registry=REGISTRY, replicas=1, observed=observed)


CANARY_OBSERVED = {"c": {"c1": {"versions": {"c1": "4", "c1-canary": "5"}, "replicas": {"c1": 5, "c1-canary": 1}}}}


def test_a_canary_upgrade_in_progress_keeps_its_version_and_replicas():
    plan = step_manifests(groups()[2:], version="1", registry=REGISTRY, replicas=2, observed=CANARY_OBSERVED)
    assert images(plan) == {"c1": "4", "c1-canary": "5"}
    # The stable track runs the replicas the platform asks for.
    assert deployment_replicas(plan) == {"c1": 2, "c1-canary": 1}


def test_an_explicit_version_goes_to_the_stable_track_and_the_canary_keeps_what_it_runs():
    plan = step_manifests(groups()[2:], version="1", registry=REGISTRY, replicas=2, observed=CANARY_OBSERVED,
                          versions={"c1": "6"})
    assert images(plan) == {"c1": "6", "c1-canary": "5"}
    assert deployment_replicas(plan)["c1-canary"] == 1


def test_a_canary_deployed_for_the_first_time_runs_the_stable_version_at_zero_replicas():
    observed = {"c": {"c1": {"versions": {"c1": "4"}, "replicas": {"c1": 2}}}}
    plan = step_manifests(groups()[2:], version="1", registry=REGISTRY, replicas=2, observed=observed)
    assert images(plan) == {"c1": "4", "c1-canary": "4"}
    assert deployment_replicas(plan)["c1-canary"] == 0
