# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes manifests of the sample platform, built from normalized catalog groups.

Every function is pure: it takes the groups returned by
catalog.select_groups() and returns plain dicts ready for kubernetes.core.k8s.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.cxpe.rollout.plugins.module_utils.catalog import (
    namespaces_of,
    services_by_step,
)

LABEL_NAME = "app.kubernetes.io/name"
LABEL_PART_OF = "app.kubernetes.io/part-of"
LABEL_VERSION = "app.kubernetes.io/version"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_COLOR = "cxpe.io/color"
LABEL_TRACK = "cxpe.io/track"
MANAGED_BY = "cxpe.rollout"

COLORS = ("blue", "green")
# Canary services start as the stable track; a canary Deployment of the same
# service joins the Service with the other track value.
STABLE_TRACK = "stable"

HTTP_PORT = 80
CONTAINER_PORT = 8080

LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
LABEL_VALUE_MAX = 63


class ManifestError(ValueError):
    """The deployment options cannot produce valid manifests."""


def namespace_manifest(name):
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": {LABEL_MANAGED_BY: MANAGED_BY}},
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


def _check_version(service, version):
    # The version becomes both the image tag and a label value; the label is
    # the stricter of the two.
    if not (isinstance(version, str) and version and len(version) <= LABEL_VALUE_MAX and LABEL_VALUE.match(version)):
        raise ManifestError(
            "version %r of service %s is not a valid label value (at most %d characters: "
            "letters, digits, '-', '_' or '.', starting and ending with a letter or digit)"
            % (version, service["name"], LABEL_VALUE_MAX)
        )


def _deployment(name, service, selector, replicas, image, version, pod_annotations):
    labels = dict(selector)
    labels.update({LABEL_PART_OF: service["group"], LABEL_VERSION: version, LABEL_MANAGED_BY: MANAGED_BY})
    template_metadata = {"labels": labels}
    if pod_annotations:
        template_metadata["annotations"] = dict(pod_annotations)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": service["namespace"], "labels": dict(labels)},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": dict(selector)},
            "template": {
                "metadata": template_metadata,
                "spec": {
                    "priorityClassName": service["priority_class"],
                    "containers": [{
                        "name": service["name"],
                        "image": image,
                        "ports": [{"name": "http", "containerPort": CONTAINER_PORT, "protocol": "TCP"}],
                    }],
                },
            },
        },
    }


def _service(service, selector):
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": service["name"],
            "namespace": service["namespace"],
            "labels": {LABEL_NAME: service["name"], LABEL_PART_OF: service["group"], LABEL_MANAGED_BY: MANAGED_BY},
        },
        "spec": {
            "selector": dict(selector),
            "ports": [{"name": "http", "port": HTTP_PORT, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def service_manifests(service, version, registry, replicas, active_color="blue", pod_annotations=None):
    """The Deployment(s) and the Service of one normalized catalog service.

    rolling_update: one Deployment <service>, selected by name.
    canary: one Deployment <service> on the stable track; the Service selects
    by name only, so a later canary Deployment shares its traffic.
    blue_green: Deployments <service>-blue and <service>-green; the active
    color runs `replicas` pods and receives the Service's traffic, the idle
    color is kept at 0 replicas until an upgrade deploys the next version
    into it.
    """
    _check_version(service, version)
    if active_color not in COLORS:
        raise ManifestError("active color %r is not one of %s" % (active_color, ", ".join(COLORS)))
    image = "%s/%s:%s" % (registry.rstrip("/"), service["name"], version)
    by_name = {LABEL_NAME: service["name"]}
    if service["strategy"] == "blue_green":
        manifests = []
        for color in COLORS:
            selector = dict(by_name, **{LABEL_COLOR: color})
            manifests.append(_deployment(
                "%s-%s" % (service["name"], color), service, selector,
                replicas if color == active_color else 0, image, version, pod_annotations,
            ))
        return manifests + [_service(service, dict(by_name, **{LABEL_COLOR: active_color}))]
    if service["strategy"] == "canary":
        selector = dict(by_name, **{LABEL_TRACK: STABLE_TRACK})
    else:
        selector = by_name
    return [
        _deployment(service["name"], service, selector, replicas, image, version, pod_annotations),
        _service(service, by_name),
    ]


def step_manifests(groups, version, registry, replicas, active_color="blue", versions=None, pod_annotations=None):
    """The platform's workloads, one entry per deployment step, in order.

    Returns a list of {"step", "groups", "services", "manifests"}. `versions`
    maps service names to versions that override `version`.
    """
    versions = versions or {}
    known = set(service["name"] for group in groups for service in group["services"])
    unknown = sorted(set(versions) - known)
    if unknown:
        raise ManifestError("versions given for services that are not deployed: %s" % ", ".join(unknown))
    plan = []
    for step, services in services_by_step(groups):
        manifests, step_groups = [], []
        for service in services:
            manifests.extend(service_manifests(
                service, versions.get(service["name"], version), registry, replicas, active_color, pod_annotations,
            ))
            if service["group"] not in step_groups:
                step_groups.append(service["group"])
        plan.append({
            "step": step,
            "groups": step_groups,
            "services": [service["name"] for service in services],
            "manifests": manifests,
        })
    return plan
