# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The deploy_platform playbook against kubesim, through ansible-playbook and kubectl."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import os
import re
import urllib.request

import pytest
import yaml
from bluegreen_support import READY_AFTER, endpoint_pods, get, poll, propagate, start_traffic, traffic_totals, wait_rollout
from playbook_support import ROOT, run_playbook

# Simulated seconds per real second: pods start in milliseconds.
TIME_SCALE = 100
KINDS = "namespaces,priorityclasses,deployments,services"
SERVING = "cxpe.io/serving"


def catalog():
    with open(os.path.join(ROOT, "data", "service_catalog.yml"), encoding="utf-8") as stream:
        return yaml.safe_load(stream)


def deploy(simulator, *args):
    result, counts = run_playbook(simulator.env, "cxpe.rollout.deploy_platform", *args)
    assert result.returncode == 0, result.stdout + result.stderr
    return result, counts


def objects(simulator, kinds=KINDS):
    return json.loads(simulator.kubectl("get", kinds, "--all-namespaces", "-o", "json").stdout)["items"]


def resource_versions(simulator):
    return dict(
        ((item["kind"], item["metadata"].get("namespace"), item["metadata"]["name"]), item["metadata"]["resourceVersion"])
        for item in objects(simulator)
    )


def deployment_ready(item):
    status = item.get("status", {})
    replicas = item["spec"]["replicas"]
    return (
        status.get("observedGeneration") == item["metadata"]["generation"]
        and (status.get("readyReplicas") or 0) == replicas
        and (status.get("updatedReplicas") or 0) == replicas
    )


def test_the_whole_platform_is_deployed_ready_in_order_and_idempotently(kubesim_factory):
    simulator = kubesim_factory(time_scale=TIME_SCALE)
    first, counts = deploy(simulator)
    assert counts["changed"] > 0

    groups = catalog()["groups"]
    expected, rolling, every_service = set(), set(), set()
    for group in groups:
        for service in group["services"]:
            namespace = service.get("namespace", group["namespaces"][0])
            every_service.add((namespace, service["name"]))
            if group["strategy"] == "blue_green":
                expected.update((namespace, service["name"] + suffix) for suffix in ("-blue", "-green"))
            elif group["strategy"] == "canary":
                expected.update((namespace, service["name"] + suffix) for suffix in ("", "-canary"))
            else:
                rolling.add((namespace, service["name"]))
    deployments = objects(simulator, "deployments")
    assert set((item["metadata"]["namespace"], item["metadata"]["name"]) for item in deployments) == expected | rolling
    not_ready = [item["metadata"]["name"] for item in deployments if not deployment_ready(item)]
    assert not_ready == []
    # Rolling update services are ready for a rolling drain: the Service selects on the serving label, the Deployment does not.
    services = dict(((item["metadata"]["namespace"], item["metadata"]["name"]), item) for item in objects(simulator, "services"))
    for item in deployments:
        namespace, name = item["metadata"]["namespace"], item["metadata"]["name"]
        if (namespace, name) in rolling:
            assert item["spec"]["selector"] == {"matchLabels": {"app.kubernetes.io/name": name}}
            assert services[(namespace, name)]["spec"]["selector"] == {"app.kubernetes.io/name": name, SERVING: "true"}

    # A budget per service, over its running pods: one of them may go.
    def budgets():
        return dict(((item["metadata"]["namespace"], item["metadata"]["name"]), item["status"])
                    for item in objects(simulator, "poddisruptionbudgets"))
    budget_status = poll(budgets, lambda found: all(status.get("expectedPods") == 3 for status in found.values()), "budgets")
    assert set(budget_status) == every_service
    assert all(status["disruptionsAllowed"] == 1 and status["currentHealthy"] == 3 for status in budget_status.values())
    # Real-time pods on the real-time node pool, with Guaranteed resources; the others Burstable, on any node.
    pools = dict((item["metadata"]["name"], item["metadata"]["labels"]["cxpe.io/node-pool"]) for item in objects(simulator, "nodes"))
    placed = {}
    for pod in objects(simulator, "pods"):
        realtime = pod["metadata"]["labels"]["app.kubernetes.io/component"] == "realtime"
        assert pod["status"]["qosClass"] == ("Guaranteed" if realtime else "Burstable")
        placed.setdefault(realtime, set()).add(pools[pod["spec"]["nodeName"]])
    assert placed[True] == {"realtime"} and "general" in placed[False]
    namespaces = objects(simulator, "namespaces")
    assert all(item["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
               for item in namespaces if item["metadata"]["labels"].get("app.kubernetes.io/managed-by") == "cxpe.rollout")

    # Each step was applied only after the previous one was Ready; its Services once its Deployments were.
    steps = re.findall(r"^TASK \[cxpe\.rollout\.platform_deploy : (Apply the Deployments and PodDisruptionBudgets|Wait|Apply the Services)\D+(\d+)\]",
                       first.stdout, re.M)
    assert steps == [(task, step) for step in ("2", "3", "4", "5", "6", "7", "8", "9")
                     for task in ("Apply the Deployments and PodDisruptionBudgets", "Wait", "Apply the Services")]

    assert deploy(simulator)[1]["changed"] == 0
    assert deploy(simulator, "--check")[1]["changed"] == 0


def by_name(items):
    return dict((item["metadata"]["name"], item) for item in items)


def test_a_canary_service_gets_both_tracks_and_a_service_per_track_and_a_redeploy_keeps_the_canary(kubesim_factory):
    simulator = kubesim_factory(time_scale=TIME_SCALE)
    tenant = json.dumps({"platform_deploy_groups": ["tenant"], "platform_deploy_replicas": 2})
    deploy(simulator, "-e", tenant)
    deployments = by_name(objects(simulator, "deployments"))
    assert sorted(deployments) == ["tenant-service", "tenant-service-canary"]
    for name, track, replicas in (("tenant-service", "stable", 2), ("tenant-service-canary", "canary", 0)):
        spec = deployments[name]["spec"]
        assert spec["replicas"] == replicas
        assert spec["selector"]["matchLabels"] == {"app.kubernetes.io/name": "tenant-service", "cxpe.io/track": track}
        assert spec["template"]["metadata"]["annotations"]["consul.hashicorp.com/service-meta-track"] == track
        assert spec["template"]["spec"]["containers"][0]["image"] == "registry.example.com/genesys/tenant-service:9.0.100.01"
        assert deployment_ready(deployments[name])
    services = dict((item["metadata"]["name"], item["spec"]["selector"])
                    for item in objects(simulator, "services") if item["metadata"]["namespace"] == "voice")
    assert services == {
        "tenant-service": {"app.kubernetes.io/name": "tenant-service"},
        "tenant-service-stable": {"app.kubernetes.io/name": "tenant-service", "cxpe.io/track": "stable"},
        "tenant-service-canary": {"app.kubernetes.io/name": "tenant-service", "cxpe.io/track": "canary"},
    }

    # A canary upgrade in progress, the next version on one canary pod: deploying again leaves it as it is.
    canary = "9.0.100.02"
    simulator.kubectl("patch", "deployment", "tenant-service-canary", "-n", "voice", "-p", json.dumps({
        "metadata": {"labels": {"app.kubernetes.io/version": canary}},
        "spec": {"replicas": 1, "template": {
            "metadata": {"labels": {"app.kubernetes.io/version": canary}},
            "spec": {"containers": [{"name": "tenant-service", "image": "registry.example.com/genesys/tenant-service:" + canary}]},
        }},
    }))
    assert deploy(simulator, "-e", tenant)[1]["changed"] == 0
    deployments = by_name(objects(simulator, "deployments"))
    kept = deployments["tenant-service-canary"]
    assert kept["spec"]["replicas"] == 1
    assert kept["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/version"] == canary
    assert kept["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":" + canary)
    assert deployment_ready(kept)
    assert deployments["tenant-service"]["spec"]["replicas"] == 2
    assert deployments["tenant-service"]["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/version"] == "9.0.100.01"


def timestamp(value):
    return datetime.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ")


def available_since(item):
    (condition,) = [entry for entry in item["status"]["conditions"] if entry["type"] == "Available"]
    assert condition["status"] == "True"
    return timestamp(condition["lastTransitionTime"])


def test_a_step_starts_once_the_previous_one_is_ready(kubesim_factory):
    # Pods take 200 simulated seconds (2 real ones) to become ready; the
    # API's timestamps are on the simulated clock.
    ready_after = 2 * TIME_SCALE
    simulator = kubesim_factory(time_scale=TIME_SCALE)
    deploy(simulator, "-e", json.dumps({
        "platform_deploy_groups": ["gauth", "tenant"],
        "platform_deploy_pod_annotations": {"kubesim.cxpe.io/ready-after": str(ready_after)},
    }))
    deployments = dict((item["metadata"]["name"], item) for item in objects(simulator, "deployments"))
    gauth = [deployments[name] for name in ("gauth-auth", "gauth-environment", "gauth-ui")]
    gauth_ready = max(available_since(item) for item in gauth)
    tenant_created = timestamp(deployments["tenant-service"]["metadata"]["creationTimestamp"])
    assert tenant_created >= gauth_ready
    # The pods of a step start together rather than one Deployment after the other.
    gauth_created = min(timestamp(item["metadata"]["creationTimestamp"]) for item in gauth)
    assert (gauth_ready - gauth_created).total_seconds() < 2 * ready_after


@pytest.mark.parametrize("seeded", [False, True], ids=["empty cluster", "namespaces and priority classes exist"])
def test_check_mode_reports_changes_and_makes_none(kubesim_factory, tmp_path, seeded):
    seeds = []
    if seeded:
        seeds.append(str(tmp_path / "foundation.yml"))
        render = run_playbook(os.environ, "cxpe.rollout.render_foundation", "-e", "render_foundation_dest=" + seeds[0])[0]
        assert render.returncode == 0, render.stdout + render.stderr
    simulator = kubesim_factory(time_scale=TIME_SCALE, seeds=seeds)
    before = resource_versions(simulator)

    result, counts = deploy(simulator, "--check", "--diff", "-e", json.dumps({"platform_deploy_groups": ["gauth", "iwd"]}))
    assert counts["changed"] > 0
    assert resource_versions(simulator) == before
    if not seeded:
        assert "Would also create, in namespaces that do not exist yet: Deployment iwddm/iwd-datamart" in result.stdout


@pytest.mark.parametrize("extra_vars, message", [
    ({"platform_deploy_groups": ["gauth", "nope"]}, "unknown service group(s): nope; the catalog has: designer, gws"),
    ({"platform_deploy_version": "9.0+1"}, "version '9.0+1' of the platform is not a valid label value"),
    ({"platform_deploy_versions": {"gws-chat": "2"}, "platform_deploy_groups": ["gauth"]},
     "versions given for services that are not deployed: gws-chat"),
])
def test_bad_input_fails_clearly_and_changes_nothing(kubesim_factory, extra_vars, message):
    simulator = kubesim_factory(time_scale=TIME_SCALE)
    deploy(simulator, "-e", json.dumps({"platform_deploy_groups": ["gauth"]}))
    before = resource_versions(simulator)

    result, counts = run_playbook(simulator.env, "cxpe.rollout.deploy_platform", "-e", json.dumps(extra_vars))
    assert result.returncode != 0
    assert counts["failed"] == 1 and counts["changed"] == 0
    assert message in result.stdout
    assert resource_versions(simulator) == before


def entry_failures(simulator, namespace, service):
    """{reason: requests} that failed among those the clients of a Service sent, as kubesim counted them."""
    with urllib.request.urlopen(simulator.metrics_url, timeout=10) as response:
        text = response.read().decode()
    failures = {}
    for labels, value in re.findall(r"^kubesim_entry_request_errors_total\{([^}]*)\} (\S+)$", text, re.M):
        labels = dict(re.findall(r'(\w+)="([^"]*)"', labels))
        if (labels["namespace"], labels["kind"], labels["entry"]) == (namespace, "Service", service):
            failures[labels["reason"]] = failures.get(labels["reason"], 0) + float(value)
    return failures


def test_a_redeploy_adds_the_serving_label_without_leaving_the_service_without_endpoints(kubesim_factory):
    # Pods take 2 real seconds to become ready: time enough for a Service selecting none of them to fail requests.
    simulator = kubesim_factory(time_scale=TIME_SCALE)
    ges = json.dumps({"platform_deploy_groups": ["ges"], "platform_deploy_replicas": 2,
                      "platform_deploy_pod_annotations": {READY_AFTER: str(2 * TIME_SCALE)}})
    deploy(simulator, "-e", ges)
    # The service as deployed before the serving label: its Service selects, and its pods carry, the name only.
    simulator.kubectl("patch", "service", "ges", "-n", "ges", "--type=json", "-p", json.dumps([
        {"op": "replace", "path": "/spec/selector", "value": {"app.kubernetes.io/name": "ges"}}]))
    simulator.kubectl("patch", "deployment", "ges", "-n", "ges", "--type=json", "-p", json.dumps([
        {"op": "remove", "path": "/spec/template/metadata/labels/cxpe.io~1serving"}]))
    wait_rollout(simulator, "ges", "ges")
    start_traffic(simulator, "ges", "service", "ges", 20)

    assert deploy(simulator, "-e", ges)[1]["changed"] > 0
    propagate(simulator)
    requests, _failed = traffic_totals(simulator, "ges", service="ges")
    # Pods that stop refuse the requests kube-proxy still sends them: that is any rollout's; a gap in the Service's
    # endpoints is not.
    assert requests > 0 and entry_failures(simulator, "ges", "ges").get("no_endpoints") == 0
    assert get(simulator, "ges", "service", "ges")["spec"]["selector"] == {"app.kubernetes.io/name": "ges", SERVING: "true"}
    assert len(endpoint_pods(simulator, "ges", "ges")) == 2
