# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Readiness of service Deployments, shaped from plain API objects (dicts)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.cxpe.rollout.plugins.module_utils.labels import (
    LABEL_COLOR,
    LABEL_NAME,
    LABEL_PART_OF,
    LABEL_VERSION,
)

# The API server defaults spec.replicas to 1 when a Deployment omits it.
DEFAULT_REPLICAS = 1


def image_tag(image):
    """The tag of an image reference, or None when it has none (digest or bare name)."""
    if not image or "@" in image:
        return None
    last = image.rsplit("/", 1)[-1]
    return last.rsplit(":", 1)[1] if ":" in last else None


def selects(selector, labels):
    """Whether a Service selector picks pods with these labels; an empty selector picks nothing."""
    return bool(selector) and all(labels.get(key) == value for key, value in selector.items())


def deployment_status(deployment, services=()):
    """The readiness of one Deployment.

    `services` are the Service objects of the Deployment's namespace; the
    Deployment is `serving` when one of them selects its pods.

    A Deployment is ready when the controller has observed its latest spec,
    every desired replica runs the current template and is ready and
    available, and no pod of an older template is left. A Deployment scaled
    to 0 (an idle blue/green color) is ready once it has no pods.
    """
    metadata = deployment.get("metadata") or {}
    spec = deployment.get("spec") or {}
    status = deployment.get("status") or {}
    template = spec.get("template") or {}
    pod_labels = (template.get("metadata") or {}).get("labels") or {}
    labels = metadata.get("labels") or {}
    containers = (template.get("spec") or {}).get("containers") or []
    image = containers[0].get("image") if containers else None
    desired = spec.get("replicas", DEFAULT_REPLICAS)
    counts = dict(
        (key, status.get(field) or 0)
        for key, field in (
            ("current_replicas", "replicas"),
            ("ready_replicas", "readyReplicas"),
            ("updated_replicas", "updatedReplicas"),
            ("available_replicas", "availableReplicas"),
        )
    )
    generation_observed = status.get("observedGeneration") == metadata.get("generation")
    result = {
        "name": metadata.get("name"),
        "namespace": metadata.get("namespace"),
        "service": pod_labels.get(LABEL_NAME) or labels.get(LABEL_NAME) or metadata.get("name"),
        "group": labels.get(LABEL_PART_OF) or pod_labels.get(LABEL_PART_OF),
        "image": image,
        "image_tag": image_tag(image),
        "version": pod_labels.get(LABEL_VERSION) or labels.get(LABEL_VERSION) or image_tag(image),
        "color": pod_labels.get(LABEL_COLOR),
        "replicas": desired,
        "generation_observed": generation_observed,
        "serving": any(selects((svc.get("spec") or {}).get("selector"), pod_labels) for svc in services),
    }
    result.update(counts)
    result["ready"] = generation_observed and all(value == desired for value in counts.values())
    return result


def service_summary(service):
    """A Service's name, namespace and selector: which pods it routes to."""
    metadata = service.get("metadata") or {}
    return {"name": metadata.get("name"), "namespace": metadata.get("namespace"),
            "selector": dict((service.get("spec") or {}).get("selector") or {})}


def platform_status(deployments_by_namespace, services_by_namespace):
    """Readiness of every Deployment, and the Services, sorted by namespace and name.

    Both arguments map a namespace to the list of its objects. Returns
    {"deployments": [...], "services": [...], "ready": bool}; `ready` is False
    when nothing matched, since an empty platform is not a ready one.
    """
    deployments = []
    for namespace in sorted(deployments_by_namespace):
        services = services_by_namespace.get(namespace, [])
        deployments.extend(deployment_status(item, services) for item in deployments_by_namespace[namespace])
    deployments.sort(key=lambda item: (item["namespace"] or "", item["name"] or ""))
    services = sorted((service_summary(item) for items in services_by_namespace.values() for item in items),
                      key=lambda item: (item["namespace"] or "", item["name"] or ""))
    return {"deployments": deployments, "services": services,
            "ready": bool(deployments) and all(item["ready"] for item in deployments)}
