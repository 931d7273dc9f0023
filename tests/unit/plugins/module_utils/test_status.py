# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible_collections.cxpe.rollout.plugins.module_utils.status import (
    deployment_status,
    image_tag,
    platform_status,
)


def deployment(name="gws-chat-blue", namespace="gws", replicas=3, generation=2, status=None, color="blue"):
    labels = {"app.kubernetes.io/name": "gws-chat", "app.kubernetes.io/part-of": "gws", "app.kubernetes.io/version": "9.1"}
    if color:
        labels["cxpe.io/color"] = color
    body = {
        "metadata": {"name": name, "namespace": namespace, "generation": generation, "labels": dict(labels)},
        "spec": {
            "replicas": replicas,
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "c", "image": "registry.example.com:5000/genesys/gws-chat:9.1"}]},
            },
        },
    }
    if status is not None:
        body["status"] = status
    return body


def healthy(replicas=3, generation=2):
    return {"observedGeneration": generation, "replicas": replicas, "readyReplicas": replicas,
            "updatedReplicas": replicas, "availableReplicas": replicas}


@pytest.mark.parametrize("image, tag", [
    ("registry.example.com/genesys/gws-chat:9.1", "9.1"),
    ("registry.example.com:5000/genesys/gws-chat:9.1", "9.1"),
    ("registry.example.com:5000/genesys/gws-chat", None),
    ("gws-chat@sha256:abc", None),
    ("gws-chat", None),
    (None, None),
])
def test_image_tag(image, tag):
    assert image_tag(image) == tag


def test_a_healthy_deployment_is_ready():
    result = deployment_status(deployment(status=healthy()))
    assert result == {
        "name": "gws-chat-blue", "namespace": "gws", "service": "gws-chat", "group": "gws",
        "image": "registry.example.com:5000/genesys/gws-chat:9.1", "image_tag": "9.1", "version": "9.1",
        "color": "blue", "replicas": 3, "current_replicas": 3, "ready_replicas": 3, "updated_replicas": 3,
        "available_replicas": 3, "generation_observed": True, "serving": False, "ready": True,
    }


@pytest.mark.parametrize("change", [
    {"observedGeneration": 1},
    {"readyReplicas": 2},
    {"updatedReplicas": 2},
    {"availableReplicas": 2},
    # An old pod still running beside the new ones.
    {"replicas": 4},
])
def test_a_deployment_is_not_ready_while_any_count_lags(change):
    status = healthy()
    status.update(change)
    assert deployment_status(deployment(status=status))["ready"] is False


def test_a_new_deployment_without_status_is_not_ready():
    result = deployment_status(deployment(status=None))
    assert result["ready"] is False
    assert result["ready_replicas"] == 0


def test_an_idle_color_at_zero_replicas_is_ready_once_its_pods_are_gone():
    assert deployment_status(deployment(replicas=0, status={"observedGeneration": 2}))["ready"] is True
    assert deployment_status(deployment(replicas=0, status={"observedGeneration": 2, "replicas": 1}))["ready"] is False


def test_replicas_default_to_one():
    body = deployment(status=healthy(replicas=1))
    del body["spec"]["replicas"]
    assert deployment_status(body)["replicas"] == 1


def test_without_labels_the_deployment_name_is_the_service_and_the_tag_the_version():
    body = deployment(status=healthy(), color=None)
    body["metadata"]["labels"] = {}
    body["spec"]["template"]["metadata"]["labels"] = {}
    result = deployment_status(body)
    assert (result["service"], result["group"], result["version"], result["color"]) == ("gws-chat-blue", None, "9.1", None)


def test_serving_when_a_service_selects_the_pods():
    services = [
        {"spec": {"selector": {"app.kubernetes.io/name": "gws-chat", "cxpe.io/color": "green"}}},
        {"spec": {}},
    ]
    assert deployment_status(deployment(status=healthy()), services)["serving"] is False
    services.append({"spec": {"selector": {"app.kubernetes.io/name": "gws-chat", "cxpe.io/color": "blue"}}})
    assert deployment_status(deployment(status=healthy()), services)["serving"] is True


def test_platform_status_sorts_and_summarizes():
    result = platform_status(
        {"voice": [deployment("b", "voice", status=healthy())], "gws": [deployment("z", status=healthy()), deployment("a", status=healthy())]},
        {},
    )
    assert [(item["namespace"], item["name"]) for item in result["deployments"]] == [("gws", "a"), ("gws", "z"), ("voice", "b")]
    assert result["ready"] is True


def test_platform_status_is_not_ready_when_one_deployment_lags_or_none_matched():
    assert platform_status({"gws": [deployment(status=healthy()), deployment("x", status=None)]}, {})["ready"] is False
    assert platform_status({"gws": []}, {}) == {"deployments": [], "services": [], "ready": False}


def test_platform_status_lists_every_service_with_its_selector():
    service = {"metadata": {"name": "gws-chat", "namespace": "gws"},
               "spec": {"selector": {"app.kubernetes.io/name": "gws-chat", "cxpe.io/color": "blue"}}}
    headless = {"metadata": {"name": "external", "namespace": "gws"}, "spec": {}}
    result = platform_status({"gws": []}, {"gws": [service, headless]})
    assert result["services"] == [
        {"name": "external", "namespace": "gws", "selector": {}},
        {"name": "gws-chat", "namespace": "gws", "selector": {"app.kubernetes.io/name": "gws-chat", "cxpe.io/color": "blue"}},
    ]
