# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes manifests of the sample platform, built from normalized catalog groups.

Every function is pure: it takes the groups returned by
catalog.select_groups() and returns plain dicts ready for kubernetes.core.k8s.

The pods are what a platform team asks of a workload: requests and limits by
the service's component (or its own, from the catalog), startup, readiness
and liveness probes, the Pod Security "restricted" profile (which the
namespaces enforce), spread over zones and nodes, and a PodDisruptionBudget
per service. Real-time services run on the real-time node pool.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import re

from ansible_collections.cxpe.rollout.plugins.module_utils.catalog import (
    REALTIME,
    namespaces_of,
    services_by_step,
)
from ansible_collections.cxpe.rollout.plugins.module_utils.labels import (
    CANARY_TRACK,
    COLORS,
    CONSUL_META_ANNOTATION,
    LABEL_COLOR,
    LABEL_COMPONENT,
    LABEL_INSTANCE,
    LABEL_MANAGED_BY,
    LABEL_NAME,
    LABEL_NODE_POOL,
    LABEL_PART_OF,
    LABEL_SERVING,
    LABEL_TRACK,
    LABEL_VERSION,
    MANAGED_BY,
    REALTIME_POOL,
    SERVING,
    STABLE_TRACK,
    other_color,
)

HTTP_PORT = 80
CONTAINER_PORT = 8080

LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
LABEL_VALUE_MAX = 63


class ManifestError(ValueError):
    """The deployment options cannot produce valid manifests."""


# Pod Security Admission: the namespaces enforce the "restricted" profile (and audit and warn with it), so a pod
# that is not hardened as below is refused rather than run.
POD_SECURITY_LABELS = dict(("pod-security.kubernetes.io/%s" % mode, "restricted") for mode in ("enforce", "audit", "warn"))

# A pod that is going away keeps serving this long: kube-proxy and ingress controllers take a moment to forget an
# endpoint, and requests they still send it must not fail (a scale-down, a canary's replica ratio, a redeploy).
PRESTOP_SECONDS = 15
# The apps finish their sessions once told to stop (SIGTERM) and exit when the last one ends; the grace period is
# how long a session may still take. A pod that an upgrade removes without draining it first (a blue/green color or
# a canary's stable pods scaled down) keeps its sessions up to then.
TERMINATION_GRACE_SECONDS = 600
# Real-time services hold calls: the guide gives the stateful voice services a drain time of 60 minutes or longer.
REALTIME_TERMINATION_GRACE_SECONDS = 3600

# Each container's requests and limits, by the service's component (catalog.COMPONENTS); a service's own `resources`
# in the catalog replace them. Real-time pods are Guaranteed (limits equal to requests, whole CPUs): the kubelet
# evicts them last, and its static CPU manager policy gives them cores of their own. The others are Burstable.
COMPONENT_RESOURCES = {
    "api": {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
    "ui": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}},
    "reporting": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "2Gi"}},
    REALTIME: {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
}

# The probes, over HTTP on the container's port. The startup probe gives an app 5 minutes to start, checked every
# 2 s, so a pod is Ready at most 2 s after its app answers (the kubelet probes readiness as soon as the startup probe
# passes); until then neither of the others runs. Readiness failing twice (10 s) takes a pod out of its Services'
# endpoints; liveness failing three times (30 s) restarts its container.
HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"
STARTUP_PROBE = {"periodSeconds": 2, "timeoutSeconds": 2, "failureThreshold": 150}
READINESS_PROBE = {"periodSeconds": 5, "timeoutSeconds": 2, "failureThreshold": 2}
LIVENESS_PROBE = {"periodSeconds": 10, "timeoutSeconds": 2, "failureThreshold": 3}

# The Pod Security "restricted" profile. No runAsUser: the images run as their own non-root user, and OpenShift's
# restricted-v2 SCC assigns one from the namespace's range, which a fixed user would fall outside of.
POD_SECURITY_CONTEXT = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
CONTAINER_SECURITY_CONTEXT = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "readOnlyRootFilesystem": True}
# The root filesystem is read-only: the apps write their temporary files here.
TMP_VOLUME = {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}
TMP_MOUNT = {"name": "tmp", "mountPath": "/tmp"}

# Spread over zones, then nodes, as far as they go: ScheduleAnyway never leaves a pod Pending, so a cluster with
# one zone, or a node pool in one zone, still runs every replica. Each ReplicaSet (pod-template-hash) spreads on its
# own, so a rollout's new pods are spread whatever the old ones' places.
SPREAD_TOPOLOGY_KEYS = ("topology.kubernetes.io/zone", "kubernetes.io/hostname")

# Where real-time services run unless the caller says otherwise (step_manifests' realtime_node_pool): nodes
# labelled cxpe.io/node-pool=realtime, whose taint of the same key and value they tolerate.
REALTIME_NODE_POOL = {
    "node_selector": {LABEL_NODE_POOL: REALTIME_POOL},
    "tolerations": [{"key": LABEL_NODE_POOL, "operator": "Equal", "value": REALTIME_POOL, "effect": "NoSchedule"}],
}
NODE_POOL_KEYS = ("node_selector", "tolerations")

# A voluntary disruption (a node drain, a rolling drain's eviction) takes one pod of a service at a time, even of a
# service with one replica. A pod that is not Ready may go whatever the budget (unhealthyPodEvictionPolicy
# AlwaysAllow): it serves nothing, and keeping it would block the drain of its node.
MAX_UNAVAILABLE = 1


def namespace_manifest(name):
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": dict(POD_SECURITY_LABELS, **{LABEL_MANAGED_BY: MANAGED_BY})},
    }


def priority_class_manifest(priority_class):
    return {
        "apiVersion": "scheduling.k8s.io/v1",
        "kind": "PriorityClass",
        "metadata": {"name": priority_class["name"], "labels": {LABEL_MANAGED_BY: MANAGED_BY}},
        "value": priority_class["value"],
        "globalDefault": False,
        "description": priority_class.get("description", ""),
    }


def foundation_manifests(groups, priority_classes):
    """Namespaces of the groups, then every priority class: what services need before they can start."""
    return [namespace_manifest(name) for name in namespaces_of(groups)] + [
        priority_class_manifest(entry) for entry in priority_classes
    ]


def _check_version(owner, version):
    # The version becomes both the image tag and a label value; the label is
    # the stricter of the two.
    if not (isinstance(version, str) and version and len(version) <= LABEL_VALUE_MAX and LABEL_VALUE.match(version)):
        raise ManifestError(
            "version %r of %s is not a valid label value (at most %d characters: "
            "letters, digits, '-', '_' or '.', starting and ending with a letter or digit)"
            % (version, owner, LABEL_VALUE_MAX)
        )


def _probe(path, timing):
    return dict(timing, httpGet={"path": path, "port": "http", "scheme": "HTTP"})


def _service_labels(service):
    """The labels of the objects of a service as a whole: its Services and its PodDisruptionBudget."""
    return {
        LABEL_NAME: service["name"], LABEL_INSTANCE: service["name"], LABEL_COMPONENT: service["component"],
        LABEL_PART_OF: service["group"], LABEL_MANAGED_BY: MANAGED_BY,
    }


def _placement(service, node_pool):
    """The pod spec fields that put a real-time service's pods on the real-time node pool; none for other services."""
    if service["component"] != REALTIME:
        return {}
    placement = {}
    if node_pool.get("node_selector"):
        placement["nodeSelector"] = dict(node_pool["node_selector"])
    if node_pool.get("tolerations"):
        placement["tolerations"] = [dict(toleration) for toleration in node_pool["tolerations"]]
    return placement


def _pod_spec(service, image, selector, node_pool):
    container = {
        "name": service["name"],
        "image": image,
        "ports": [{"name": "http", "containerPort": CONTAINER_PORT, "protocol": "TCP"}],
        "resources": copy.deepcopy(service.get("resources") or COMPONENT_RESOURCES[service["component"]]),
        "startupProbe": _probe(HEALTH_PATH, STARTUP_PROBE),
        "readinessProbe": _probe(READY_PATH, READINESS_PROBE),
        "livenessProbe": _probe(HEALTH_PATH, LIVENESS_PROBE),
        "lifecycle": {"preStop": {"sleep": {"seconds": PRESTOP_SECONDS}}},
        "securityContext": copy.deepcopy(CONTAINER_SECURITY_CONTEXT),
        "volumeMounts": [dict(TMP_MOUNT)],
    }
    spec = {
        "priorityClassName": service["priority_class"],
        "terminationGracePeriodSeconds": (REALTIME_TERMINATION_GRACE_SECONDS if service["component"] == REALTIME
                                          else TERMINATION_GRACE_SECONDS),
        # The services do not call the Kubernetes API: no token in their pods.
        "automountServiceAccountToken": False,
        "securityContext": copy.deepcopy(POD_SECURITY_CONTEXT),
        "topologySpreadConstraints": [{
            "maxSkew": 1,
            "topologyKey": key,
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": dict(selector)},
            "matchLabelKeys": ["pod-template-hash"],
        } for key in SPREAD_TOPOLOGY_KEYS],
        "containers": [container],
        "volumes": [copy.deepcopy(TMP_VOLUME)],
    }
    spec.update(_placement(service, node_pool))
    return spec


def _deployment(name, service, selector, replicas, image, version, pod_annotations, node_pool, pod_labels=None):
    labels = dict(selector)
    labels.update({LABEL_INSTANCE: name, LABEL_COMPONENT: service["component"], LABEL_PART_OF: service["group"],
                   LABEL_VERSION: version, LABEL_MANAGED_BY: MANAGED_BY})
    template_metadata = {"labels": dict(labels, **(pod_labels or {}))}
    if pod_annotations:
        template_metadata["annotations"] = dict(pod_annotations)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": service["namespace"], "labels": dict(labels)},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": dict(selector)},
            "template": {"metadata": template_metadata, "spec": _pod_spec(service, image, selector, node_pool)},
        },
    }


def _service(service, selector, name=None):
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name or service["name"], "namespace": service["namespace"], "labels": _service_labels(service)},
        "spec": {
            "selector": dict(selector),
            "ports": [{"name": "http", "port": HTTP_PORT, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def disruption_budget(service):
    """The PodDisruptionBudget of a service: over every pod of it, whatever its color or track, as its Service sees
    them all as one service."""
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": service["name"], "namespace": service["namespace"], "labels": _service_labels(service)},
        "spec": {
            "maxUnavailable": MAX_UNAVAILABLE,
            "selector": {"matchLabels": {LABEL_NAME: service["name"]}},
            "unhealthyPodEvictionPolicy": "AlwaysAllow",
        },
    }


def preview_service_name(service_name):
    """The Service that always selects the idle color: the entry point for smoke tests."""
    return "%s-preview" % service_name


def color_deployment_name(service_name, color):
    return "%s-%s" % (service_name, color)


def track_deployment_name(service_name, track):
    """The Deployment of a canary service's track: the stable one is named after the service."""
    return service_name if track == STABLE_TRACK else "%s-%s" % (service_name, track)


def track_service_name(service_name, track):
    """The Service that selects one track of a canary service: what weighted routers send each share to."""
    return "%s-%s" % (service_name, track)


def check_node_pool(node_pool):
    """Refuse a real-time node pool that is not {"node_selector": {label: value}, "tolerations": [toleration]}."""
    problems = []
    if not isinstance(node_pool, dict) or set(node_pool) - set(NODE_POOL_KEYS):
        problems.append("must be a mapping with the keys %s" % " and ".join(NODE_POOL_KEYS))
    else:
        selector, tolerations = node_pool.get("node_selector") or {}, node_pool.get("tolerations") or []
        if not (isinstance(selector, dict) and all(isinstance(value, str) for value in list(selector) + list(selector.values()))):
            problems.append("node_selector must map label names to values (strings)")
        if not (isinstance(tolerations, list) and all(isinstance(toleration, dict) for toleration in tolerations)):
            problems.append("tolerations must be a list of tolerations (mappings)")
    if problems:
        raise ManifestError("the real-time node pool %r is invalid: %s" % (node_pool, "; ".join(problems)))


def service_manifests(service, version, registry, replicas, active_color="blue", pod_annotations=None,
                      deployment_versions=None, canary_replicas=0, realtime_node_pool=None):
    """The Deployment(s), the PodDisruptionBudget and the Service(s) of one normalized catalog service.

    rolling_update: one Deployment <service>, selected by name; its pods
    also carry cxpe.io/serving=true, which the Service selects on too, so
    that a rolling drain takes a pod out of rotation by flipping that label
    while the Deployment keeps owning it. Apply the Service once the
    Deployment has rolled out: the Service selects none of the pods of a
    template without the label (one deployed before it was added).
    canary: Deployments <service> (the stable track, `replicas` pods) and
    <service>-canary (the canary track, `canary_replicas` pods: 0 until an
    upgrade scales it up), each selecting its track and running by default
    the stable one's version. Their pods carry the track as the Consul
    service meta `track` too, for a ServiceResolver's subsets. The Service
    <service> selects by name only (both tracks); <service>-stable and
    <service>-canary select one track each, for weighted routers.
    blue_green: Deployments <service>-blue and <service>-green; the active
    color runs `replicas` pods and receives the Service's traffic, the idle
    color is kept at 0 replicas until an upgrade deploys the next version
    into it. A second Service, <service>-preview, selects the idle color: the
    hidden entry point an upgrade smoke-tests the next version through.

    Every service also gets a PodDisruptionBudget <service> over all its
    pods (disruption_budget). Real-time services' pods are placed by
    `realtime_node_pool` (REALTIME_NODE_POOL when None; {} places them
    anywhere).

    `deployment_versions` maps Deployment names to the version each runs,
    overriding `version` (what the cluster already runs, say).
    """
    deployment_versions = deployment_versions or {}
    node_pool = REALTIME_NODE_POOL if realtime_node_pool is None else realtime_node_pool
    check_node_pool(node_pool)
    if active_color not in COLORS:
        raise ManifestError("active color %r is not one of %s" % (active_color, ", ".join(COLORS)))
    by_name = {LABEL_NAME: service["name"]}

    def deployment(name, selector, count, default_version=version, annotations=pod_annotations, pod_labels=None):
        running = deployment_versions.get(name, default_version)
        _check_version("service %s" % service["name"], running)
        image = "%s/%s:%s" % (registry.rstrip("/"), service["name"], running)
        return _deployment(name, service, selector, count, image, running, annotations, node_pool, pod_labels)

    budget = disruption_budget(service)

    if service["strategy"] == "blue_green":
        manifests = []
        for color in COLORS:
            selector = dict(by_name, **{LABEL_COLOR: color})
            name = color_deployment_name(service["name"], color)
            manifests.append(deployment(name, selector, replicas if color == active_color else 0))
        return manifests + [
            budget,
            _service(service, dict(by_name, **{LABEL_COLOR: active_color})),
            _service(service, dict(by_name, **{LABEL_COLOR: other_color(active_color)}),
                     preview_service_name(service["name"])),
        ]
    if service["strategy"] == "canary":
        stable_version = deployment_versions.get(service["name"], version)
        deployments, services = [], [_service(service, by_name)]
        for track, count in ((STABLE_TRACK, replicas), (CANARY_TRACK, canary_replicas)):
            selector = dict(by_name, **{LABEL_TRACK: track})
            annotations = dict(pod_annotations or {}, **{CONSUL_META_ANNOTATION: track})
            deployments.append(deployment(track_deployment_name(service["name"], track), selector, count,
                                          stable_version, annotations))
            services.append(_service(service, selector, track_service_name(service["name"], track)))
        return deployments + [budget] + services
    serving = {LABEL_SERVING: SERVING}
    return [deployment(service["name"], by_name, replicas, pod_labels=serving), budget, _service(service, dict(by_name, **serving))]


def _unknown_names(what, given, known, kind="services that are not deployed"):
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise ManifestError("%s given for %s: %s" % (what, kind, ", ".join(unknown)))


def _service_state(service, version, versions, active_color, active_colors, observed):
    """(active color, version, {Deployment: version}, canary replicas) of one service.

    An explicit per-service choice (`versions`, `active_colors`) wins; then
    what the cluster runs (`observed`); then the platform's defaults. An
    explicit version goes to the Deployment that serves (the active color of
    a blue/green service, the stable track of a canary one); the idle color
    and the canary track keep what they run. The canary track also keeps its
    replicas, so deploying again does not scale down an upgrade in progress.
    """
    name = service["name"]
    seen = (observed.get(service["namespace"]) or {}).get(name) or {}
    color = active_colors.get(name) or seen.get("active_color") or active_color
    running = dict(seen.get("versions") or {})
    canary_replicas = (seen.get("replicas") or {}).get(track_deployment_name(name, CANARY_TRACK), 0)
    serving = color_deployment_name(name, color) if service["strategy"] == "blue_green" else name
    if name in versions:
        running[serving] = versions[name]
        version = versions[name]
    return color, version, running, canary_replicas


def step_manifests(groups, version, registry, replicas, active_color="blue", versions=None, pod_annotations=None,
                   active_colors=None, observed=None, realtime_node_pool=None):
    """The platform's workloads, one entry per deployment step, in order.

    Returns a list of {"step", "groups", "services", "manifests"}.
    `versions` maps service names to versions and `active_colors` blue/green
    service names to colors; both override what `observed` (see
    platform_state.observed_state) says the cluster runs, which overrides
    the platform-wide `version` and `active_color`. The canary Deployment of
    a canary service keeps the version and the replicas `observed` says it
    runs; one deployed for the first time runs the stable one's version at
    0 replicas. `realtime_node_pool` places the pods of real-time services
    (see service_manifests).
    """
    versions, active_colors, observed = versions or {}, active_colors or {}, observed or {}
    services = [service for group in groups for service in group["services"]]
    _unknown_names("versions", versions, [service["name"] for service in services])
    _unknown_names("active colors", active_colors,
                   [service["name"] for service in services if service["strategy"] == "blue_green"],
                   "services that are not deployed blue/green services")
    # Services that already run keep their version, so an invalid platform
    # version might never reach a manifest: check it on its own.
    _check_version("the platform", version)
    plan = []
    for step, step_services in services_by_step(groups):
        manifests, step_groups = [], []
        for service in step_services:
            color, service_version, running, canary_replicas = _service_state(
                service, version, versions, active_color, active_colors, observed)
            manifests.extend(service_manifests(
                service, service_version, registry, replicas, color, pod_annotations, running, canary_replicas,
                realtime_node_pool,
            ))
            if service["group"] not in step_groups:
                step_groups.append(service["group"])
        plan.append({
            "step": step,
            "groups": step_groups,
            "services": [service["name"] for service in step_services],
            "manifests": manifests,
        })
    return plan
