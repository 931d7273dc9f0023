# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cxpe.rollout.bluegreen role end to end on the sample platform, run as the service account of the
cxpe.rollout.rbac playbook on a cluster that authorizes by RBAC: a good upgrade, deploying the platform again (as the
admin) without undoing it, a bad version switched back automatically, and a failed smoke check."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from bluegreen_support import REQUEST_RATE, blue_green_service, get, ledger, new_namespace, objects, poll, resource_versions, traffic_totals
from playbook_support import run_playbook
from service_account_support import account_env

NAMESPACE = "webrtc"
SERVICE = "webrtc-gateway"
FIRST, GOOD, BAD, UNHEALTHY = "9.0.100.01", "9.0.101.02", "9.0.102.01-errors50", "9.0.103.01"
TIME_SCALE = 20


def error_ratio(version):
    selector = '{namespace="%s",service="%s",version="%s"}' % (NAMESPACE, SERVICE, version)
    return "sum(kubesim_service_request_errors_total%s) / sum(kubesim_service_requests_total%s)" % (selector, selector)


def upgrade(env, prometheus, webhook_url, version, health="/ok"):
    extra = {
        "bluegreen_namespace": NAMESPACE, "bluegreen_service": SERVICE, "bluegreen_version": version,
        "bluegreen_prometheus_url": prometheus.url,
        "bluegreen_smoke_webhooks": [{"name": "preview-health", "url": webhook_url + health}],
        "bluegreen_analysis_metrics": [{"name": "error_ratio", "query": error_ratio(version), "max": 0.05}],
        # Prometheus scrapes every second: let two scrapes see the new version's requests.
        "bluegreen_analysis_initial_delay": 2.5, "bluegreen_analysis_count": 2, "bluegreen_analysis_interval": 1,
        "bluegreen_scale_down_delay": 1, "bluegreen_ready_timeout": 60,
    }
    return run_playbook(env, "cxpe.rollout.bluegreen_upgrade", "-e", json.dumps(extra))


def deployment_state(simulator, color):
    obj = get(simulator, NAMESPACE, "deployment", "%s-%s" % (SERVICE, color))
    return obj["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/version"], obj["spec"]["replicas"]


def serving(simulator):
    return get(simulator, NAMESPACE, "service", SERVICE)["spec"]["selector"]["cxpe.io/color"]


def test_upgrade_redeploy_automatic_switch_back_and_failed_smoke_check(rbac_kubesim_factory, prometheus_factory, webhook_url, tmp_path):
    simulator = rbac_kubesim_factory(time_scale=TIME_SCALE)
    deployed, _counts = run_playbook(simulator.env, "cxpe.rollout.deploy_platform", "-e", json.dumps({"platform_deploy_groups": ["webrtc"]}))
    assert deployed.returncode == 0, deployed.stdout
    simulator.kubectl("annotate", "-n", NAMESPACE, "service", SERVICE, "%s=50" % REQUEST_RATE)
    prometheus = prometheus_factory(simulator)
    account = account_env(simulator, tmp_path, {"blue_green": [NAMESPACE]})
    # A good version: deployed on green, smoke-checked, switched to, watched, blue scaled down.
    run, counts = upgrade(account, prometheus, webhook_url, GOOD)
    assert run.returncode == 0 and counts["failed"] == 0, run.stdout
    assert serving(simulator) == "green"
    assert get(simulator, NAMESPACE, "service", SERVICE + "-preview")["spec"]["selector"]["cxpe.io/color"] == "blue"
    assert deployment_state(simulator, "green") == (GOOD, 3)
    assert deployment_state(simulator, "blue") == (FIRST, 0)
    record = ledger(simulator, NAMESPACE, SERVICE)
    assert (record["active.color"], record["active.version"], record["previous.color"], record["previous.version"]) == (
        "green", GOOD, "blue", FIRST)
    assert json.loads(record["history"])[-1]["why"] == "upgrade to " + GOOD
    requests, errors = traffic_totals(simulator, NAMESPACE, service=SERVICE, version=GOOD)
    assert requests > 0
    assert traffic_totals(simulator, NAMESPACE)[1] == 0

    # Deploying the platform again keeps what the upgrade did.
    again, counts = run_playbook(simulator.env, "cxpe.rollout.deploy_platform", "-e", json.dumps({"platform_deploy_groups": ["webrtc"]}))
    assert again.returncode == 0 and counts["changed"] == 0, again.stdout
    assert serving(simulator) == "green" and deployment_state(simulator, "green") == (GOOD, 3)

    # A version that fails half its requests: the post-switch analysis fails and the traffic goes back to green.
    run, counts = upgrade(account, prometheus, webhook_url, BAD)
    assert run.returncode != 0 and counts["failed"] == 1, run.stdout
    assert "Upgrading %s/%s to %s failed: analysis Failed: error_ratio is failed" % (NAMESPACE, SERVICE, BAD) in run.stdout
    assert "the traffic is on green, the previous color" in run.stdout
    assert serving(simulator) == "green"
    record = ledger(simulator, NAMESPACE, SERVICE)
    assert (record["phase"], record["active.color"], record["active.version"]) == ("rolled_back", "green", GOOD)
    assert json.loads(record["history"])[-1]["why"].startswith("%s %s failed after the switch: analysis Failed" % (SERVICE, BAD))
    # The bad version keeps running on the idle color, behind the preview, for investigation.
    assert deployment_state(simulator, "blue") == (BAD, 3)
    assert traffic_totals(simulator, NAMESPACE, version=GOOD)[1] == 0
    assert traffic_totals(simulator, NAMESPACE, version=BAD)[1] > 0

    # A failing smoke check through the preview stops the upgrade before any user traffic moves.
    before = resource_versions(simulator, NAMESPACE)
    run, counts = upgrade(account, prometheus, webhook_url, UNHEALTHY, health="/down")
    assert run.returncode != 0 and counts["failed"] == 1, run.stdout
    assert "analysis Failed: preview-health is failed" in run.stdout
    assert serving(simulator) == "green"
    after = resource_versions(simulator, NAMESPACE)
    assert [key for key in after if after[key] != before[key]] == [("Deployment", SERVICE + "-blue")]
    poll(lambda: traffic_totals(simulator, NAMESPACE, version=GOOD), lambda totals: totals[0] > requests, "traffic to go on")


def test_an_upgrade_to_a_version_whose_image_does_not_exist_never_moves_the_traffic(rbac_kubesim_factory, request, tmp_path):
    # The most common bad upgrade: a tag that was never pushed. The registry has every image but that one.
    simulator = rbac_kubesim_factory(time_scale=TIME_SCALE, extra_args=["--missing-image", "*:9.9.9-typo"])
    namespace = new_namespace(simulator, request.node.name)
    blue_green_service(simulator, namespace, request_rate=20)
    account = account_env(simulator, tmp_path, {"blue_green": [namespace]})
    before = resource_versions(simulator, namespace)

    extra = {"bluegreen_namespace": namespace, "bluegreen_service": "web", "bluegreen_version": "9.9.9-typo",
             "bluegreen_preview_enabled": False, "bluegreen_ready_timeout": 10}
    run, counts = run_playbook(account, "cxpe.rollout.bluegreen_upgrade", "-e", json.dumps(extra))

    assert run.returncode != 0 and counts["failed"] == 1, run.stdout
    assert "ImagePullBackOff" in run.stdout or "ErrImagePull" in run.stdout, run.stdout
    assert get(simulator, namespace, "service", "web")["spec"]["selector"]["cxpe.io/color"] == "blue"
    after = resource_versions(simulator, namespace)
    assert [key for key in after if after[key] != before.get(key)] == [("Deployment", "web-green")]
    waiting = [status["state"].get("waiting", {}).get("reason") for pod in objects(simulator, namespace, "pods")
               for status in pod["status"].get("containerStatuses") or [] if status["image"].endswith(":9.9.9-typo")]
    assert waiting and set(waiting) <= {"ErrImagePull", "ImagePullBackOff"}, waiting
    requests, errors = traffic_totals(simulator, namespace)
    assert requests > 0 and errors == 0
