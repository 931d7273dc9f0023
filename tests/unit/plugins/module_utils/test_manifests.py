# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import functools
import os

import kubernetes_validate
import pytest
import yaml
from ansible_collections.cxpe.rollout.plugins.module_utils.catalog import (
    COMPONENTS,
    DNS1123_LABEL,
    DNS1123_LABEL_MAX,
    STRATEGIES,
    max_service_name_length,
    priority_classes,
    quantity_value,
    select_groups,
)
from ansible_collections.cxpe.rollout.plugins.module_utils.labels import LABEL_SERVING
from ansible_collections.cxpe.rollout.plugins.module_utils.manifests import (
    COMPONENT_RESOURCES,
    ManifestError,
    foundation_manifests,
    service_manifests,
    step_manifests,
)
from ansible_collections.cxpe.rollout.plugins.module_utils.strategies import rolling
from kubernetes_validate import utils as kubernetes_validate_utils

REGISTRY = "registry.example.com/genesys/"
SHIPPED = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "data", "service_catalog.yml")
# The oldest Kubernetes the sample manifests are for: the preStop sleep action is on by default from 1.30.
OLDEST_KUBERNETES = (1, 30)


def service(strategy, name="svc", group="grp", namespace="ns", step=3, component="api", resources=None):
    return {
        "name": name, "title": name, "group": group, "strategy": strategy, "namespace": namespace,
        "step": step, "component": component, "resources": resources,
        "priority_class": "genesysengage-critical-priority", "priority": 10000000,
    }


def by_kind(manifests):
    result = {}
    for manifest in manifests:
        result.setdefault(manifest["kind"], []).append(manifest)
    return result


def test_rolling_update_service_is_one_deployment_its_budget_and_its_service():
    manifests = by_kind(service_manifests(service("rolling_update"), "1.2.3", REGISTRY, 3))
    (deployment,), (svc,) = manifests["Deployment"], manifests["Service"]
    assert [item["metadata"]["name"] for item in manifests["PodDisruptionBudget"]] == ["svc"]
    assert deployment["metadata"] == {
        "name": "svc", "namespace": "ns",
        "labels": {
            "app.kubernetes.io/name": "svc", "app.kubernetes.io/instance": "svc", "app.kubernetes.io/component": "api",
            "app.kubernetes.io/part-of": "grp", "app.kubernetes.io/version": "1.2.3", "app.kubernetes.io/managed-by": "cxpe.rollout",
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
    deployment, _budget, svc = service_manifests(service("rolling_update"), "1.2.3", REGISTRY, 3)
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
    deployment = service_manifests(
        service("rolling_update"), "1", REGISTRY, 1, pod_annotations={"kubesim.cxpe.io/ready-after": "2"})[0]
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
    assert [(item["kind"], item["metadata"]["name"]) for item in plan[1]["manifests"]] == [
        ("Deployment", "b1-blue"), ("Deployment", "b1-green"), ("PodDisruptionBudget", "b1"), ("Service", "b1"),
        ("Service", "b1-preview"),
        ("Deployment", "c1"), ("Deployment", "c1-canary"), ("PodDisruptionBudget", "c1"), ("Service", "c1"),
        ("Service", "c1-stable"), ("Service", "c1-canary"),
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
                for entry in plan for item in entry["manifests"] if item["kind"] != "PodDisruptionBudget")


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


# --- what a platform team asks of a pod -------------------------------------------------------------

def deployments_of(manifests):
    return [item for item in manifests if item["kind"] == "Deployment"]


def pod_specs(manifests):
    return [item["spec"]["template"]["spec"] for item in deployments_of(manifests)]


def selects(selector, labels):
    return all(labels.get(key) == value for key, value in selector["matchLabels"].items())


def restricted_violations(pod):
    """What a pod spec does against the Pod Security Standards' "restricted" profile (kubernetes.io/docs/concepts/security/
    pod-security-standards), for the fields the sample pods could hold."""
    violations = []
    context = pod.get("securityContext") or {}
    containers = pod.get("initContainers", []) + pod["containers"]
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(field):
            violations.append(field)
    allowed_volumes = ("configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret")
    violations.extend("volume %s" % volume["name"] for volume in pod.get("volumes", []) if not set(volume) - {"name"} <= set(allowed_volumes))
    for container in containers:
        own = container.get("securityContext") or {}
        name = container["name"]
        if not own.get("runAsNonRoot", context.get("runAsNonRoot")):
            violations.append("%s runs as root" % name)
        if 0 in (own.get("runAsUser"), context.get("runAsUser")):
            violations.append("%s runs as user 0" % name)
        if (own.get("seccompProfile") or context.get("seccompProfile") or {}).get("type") not in ("RuntimeDefault", "Localhost"):
            violations.append("%s has no seccomp profile" % name)
        if own.get("privileged") or own.get("allowPrivilegeEscalation") is not False:
            violations.append("%s may escalate privileges" % name)
        capabilities = own.get("capabilities") or {}
        if "ALL" not in capabilities.get("drop", []) or set(capabilities.get("add", [])) - {"NET_BIND_SERVICE"}:
            violations.append("%s keeps capabilities" % name)
        if any(port.get("hostPort") for port in container.get("ports", [])):
            violations.append("%s uses a host port" % name)
    return violations


@pytest.mark.parametrize("component", COMPONENTS)
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_pod_meets_the_restricted_pod_security_profile(strategy, component):
    for pod in pod_specs(service_manifests(service(strategy, component=component), "1", REGISTRY, 2)):
        assert restricted_violations(pod) == []
        (container,) = pod["containers"]
        # A read-only root filesystem, and a place for temporary files.
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        (mount,) = container["volumeMounts"]
        assert mount["mountPath"] == "/tmp" and {"name": mount["name"], "emptyDir": {"sizeLimit": "256Mi"}} in pod["volumes"]
        assert pod["automountServiceAccountToken"] is False


def test_the_namespaces_enforce_audit_and_warn_the_restricted_profile():
    namespaces = [item for item in foundation_manifests(groups(), []) if item["kind"] == "Namespace"]
    assert namespaces and all(item["metadata"]["labels"] == {
        "pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/warn": "restricted", "app.kubernetes.io/managed-by": "cxpe.rollout",
    } for item in namespaces)


def test_every_component_has_requests_within_limits_and_realtime_pods_are_guaranteed():
    assert sorted(COMPONENT_RESOURCES) == sorted(COMPONENTS)
    for resources in COMPONENT_RESOURCES.values():
        for name in ("cpu", "memory"):
            assert 0 < quantity_value(resources["requests"][name]) <= quantity_value(resources["limits"][name])
    realtime = COMPONENT_RESOURCES["realtime"]
    # Guaranteed QoS; whole CPUs, which the static CPU manager policy pins.
    assert realtime["requests"] == realtime["limits"] and quantity_value(realtime["limits"]["cpu"]).denominator == 1


@pytest.mark.parametrize("component", COMPONENTS)
def test_a_container_gets_its_components_resources(component):
    for pod in pod_specs(service_manifests(service("canary", component=component), "1", REGISTRY, 2)):
        assert pod["containers"][0]["resources"] == COMPONENT_RESOURCES[component]
    # A copy: a caller changing one manifest changes no other.
    assert pod["containers"][0]["resources"] is not COMPONENT_RESOURCES[component]


def test_a_services_own_resources_replace_its_components():
    own = {"requests": {"cpu": "2", "memory": "3Gi"}, "limits": {"cpu": "4", "memory": "6Gi"}}
    for pod in pod_specs(service_manifests(service("blue_green", resources=own), "1", REGISTRY, 2)):
        assert pod["containers"][0]["resources"] == own


def test_probes_are_http_on_the_container_port_and_start_up_first():
    for pod in pod_specs(service_manifests(service("rolling_update"), "1", REGISTRY, 2)):
        (container,) = pod["containers"]
        (port,) = container["ports"]
        probes = dict((kind, container[kind]) for kind in ("startupProbe", "readinessProbe", "livenessProbe"))
        assert set(probe["httpGet"]["port"] for probe in probes.values()) == {port["name"]}
        assert probes["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert probes["startupProbe"]["httpGet"]["path"] == probes["livenessProbe"]["httpGet"]["path"] == "/healthz"
        # Checked every 2 s: Ready at most 2 s after the app answers; 5 minutes to start.
        startup = probes["startupProbe"]
        assert startup["periodSeconds"] == 2 and startup["periodSeconds"] * startup["failureThreshold"] == 300
        # No initial delay anywhere: the startup probe holds the others back until the app has started.
        assert all("initialDelaySeconds" not in probe for probe in probes.values())


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_pods_spread_over_zones_and_nodes_without_ever_staying_pending(strategy):
    for deployment in deployments_of(service_manifests(service(strategy), "1", REGISTRY, 3)):
        constraints = deployment["spec"]["template"]["spec"]["topologySpreadConstraints"]
        assert [item["topologyKey"] for item in constraints] == ["topology.kubernetes.io/zone", "kubernetes.io/hostname"]
        for constraint in constraints:
            assert constraint["whenUnsatisfiable"] == "ScheduleAnyway" and constraint["maxSkew"] == 1
            # The Deployment's own pods, each ReplicaSet on its own.
            assert constraint["labelSelector"] == deployment["spec"]["selector"]
            assert constraint["matchLabelKeys"] == ["pod-template-hash"]


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_realtime_services_run_on_the_realtime_node_pool_and_may_drain_their_calls_for_an_hour(strategy):
    for pod in pod_specs(service_manifests(service(strategy, component="realtime"), "1", REGISTRY, 2)):
        assert pod["nodeSelector"] == {"cxpe.io/node-pool": "realtime"}
        assert pod["tolerations"] == [{"key": "cxpe.io/node-pool", "operator": "Equal", "value": "realtime", "effect": "NoSchedule"}]
        assert pod["terminationGracePeriodSeconds"] == 3600


@pytest.mark.parametrize("component", ["api", "ui", "reporting"])
def test_other_services_run_on_any_node_for_ten_minutes_at_most(component):
    for pod in pod_specs(service_manifests(service("canary", component=component), "1", REGISTRY, 2)):
        assert "nodeSelector" not in pod and "tolerations" not in pod and "affinity" not in pod
        assert pod["terminationGracePeriodSeconds"] == 600


def test_the_realtime_node_pool_is_the_callers_or_none():
    pool = {"node_selector": {"example.com/pool": "media"},
            "tolerations": [{"key": "example.com/dedicated", "operator": "Exists", "effect": "NoSchedule"}]}
    plan = step_manifests([dict(groups()[0], services=[service("rolling_update", "a1", "a", "a", 2, component="realtime")])],
                          version="1", registry=REGISTRY, replicas=1, realtime_node_pool=pool)
    (pod,) = pod_specs(plan[0]["manifests"])
    assert pod["nodeSelector"] == pool["node_selector"] and pod["tolerations"] == pool["tolerations"]
    (anywhere,) = pod_specs(service_manifests(service("rolling_update", component="realtime"), "1", REGISTRY, 1, realtime_node_pool={}))
    assert "nodeSelector" not in anywhere and "tolerations" not in anywhere
    assert anywhere["terminationGracePeriodSeconds"] == 3600


@pytest.mark.parametrize("pool, message", [
    ({"nodeSelector": {"a": "b"}}, "must be a mapping with the keys node_selector and tolerations"),
    ("realtime", "must be a mapping with the keys node_selector and tolerations"),
    ({"node_selector": {"a": 1}}, "node_selector must map label names to values"),
    ({"node_selector": ["a"]}, "node_selector must map label names to values"),
    ({"tolerations": {"key": "a"}}, "tolerations must be a list of tolerations"),
])
def test_an_invalid_realtime_node_pool_is_refused(pool, message):
    with pytest.raises(ManifestError, match="the real-time node pool .* is invalid: %s" % message):
        service_manifests(service("rolling_update"), "1", REGISTRY, 1, realtime_node_pool=pool)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_service_has_a_budget_over_every_pod_of_it_and_no_other(strategy):
    manifests = service_manifests(service(strategy, component="realtime"), "1", REGISTRY, 3)
    (budget,) = [item for item in manifests if item["kind"] == "PodDisruptionBudget"]
    assert budget["metadata"]["name"] == "svc" and budget["metadata"]["namespace"] == "ns"
    # One pod at a time, even of a service with one replica; a pod that is not Ready never blocks a node's drain.
    assert budget["spec"]["maxUnavailable"] == 1 and "minAvailable" not in budget["spec"]
    assert budget["spec"]["unhealthyPodEvictionPolicy"] == "AlwaysAllow"
    # Every color or track.
    assert all(selects(budget["spec"]["selector"], item["spec"]["template"]["metadata"]["labels"]) for item in deployments_of(manifests))
    other = deployments_of(service_manifests(service(strategy, name="svc-other"), "1", REGISTRY, 3))
    assert not any(selects(budget["spec"]["selector"], item["spec"]["template"]["metadata"]["labels"]) for item in other)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_the_instance_is_the_deployment_and_the_component_the_services(strategy):
    for item in service_manifests(service(strategy, component="ui"), "1", REGISTRY, 2):
        labels = item["metadata"]["labels"]
        assert labels["app.kubernetes.io/component"] == "ui"
        if item["kind"] == "Deployment":
            pod_labels = item["spec"]["template"]["metadata"]["labels"]
            assert labels["app.kubernetes.io/instance"] == pod_labels["app.kubernetes.io/instance"] == item["metadata"]["name"]
            assert pod_labels["app.kubernetes.io/component"] == "ui"
        else:
            assert labels["app.kubernetes.io/instance"] == "svc"


# --- every sample manifest against the Kubernetes API schemas ---------------------------------------

def later_kubernetes_versions():
    """The versions kubernetes-validate knows from OLDEST_KUBERNETES on."""
    versions = set(kubernetes_validate_utils.all_versions())
    return sorted((version for version in versions if tuple(int(part) for part in version.split(".")[:2]) >= OLDEST_KUBERNETES),
                  key=lambda version: tuple(int(part) for part in version.split(".")))


@pytest.fixture(scope="module")
def sample_manifests():
    """The foundation and every service of the shipped catalog, for each strategy: Deployments (every color and track),
    PodDisruptionBudgets and Services (preview and track Services too)."""
    with open(SHIPPED, encoding="utf-8") as stream:
        catalog = yaml.safe_load(stream)
    selected = select_groups(catalog)
    plan = step_manifests(selected, version="9.0.100.01", registry=REGISTRY, replicas=3)
    return foundation_manifests(selected, priority_classes(catalog)) + [item for entry in plan for item in entry["manifests"]]


def test_the_sample_manifests_hold_every_kind_and_every_strategys_objects(sample_manifests):
    kinds = set(item["kind"] for item in sample_manifests)
    assert kinds == {"Namespace", "PriorityClass", "Deployment", "PodDisruptionBudget", "Service"}
    names = set(item["metadata"]["name"] for item in sample_manifests)
    assert {"gws-chat-blue", "gws-chat-green", "gws-chat-preview", "voice-dialplan-canary", "voice-dialplan-stable", "gauth-ui"} <= names
    assert later_kubernetes_versions()[0] == "1.30.0"


@pytest.mark.parametrize("version", later_kubernetes_versions())
def test_every_sample_manifest_is_valid_for_kubernetes(sample_manifests, version, monkeypatch):
    # kubernetes-validate reads and parses its schema files (a large one of definitions) for every object: read once.
    monkeypatch.setattr(kubernetes_validate_utils, "schema_contents", functools.lru_cache(maxsize=None)(kubernetes_validate_utils.schema_contents))
    invalid = []
    for item in sample_manifests:
        try:
            kubernetes_validate.validate(item, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            invalid.append("%s %s: %s" % (item["kind"], item["metadata"]["name"], error.message))
    assert invalid == []
