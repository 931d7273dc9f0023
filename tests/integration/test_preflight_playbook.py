# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The preflight playbook against kubesim: a platform ready for an upgrade passes, and each thing that must stop one
- a target beyond the N-2 release policy, a missing namespace, an unreachable infrastructure endpoint, a canary in
progress, a Lease another run holds - is refused naming it, without a single write to the API server."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import urllib.parse

import pytest
from bluegreen_support import api_writes, apply
from playbook_support import run_playbook, run_tasks
from port_support import free_port

GROUPS = ["gauth", "tenant", "webrtc"]
# What platform_deploy runs a service it deploys for the first time, and a target two releases ahead.
RUNNING = "9.0.100.01"
TARGET = "9.0.102.01"
HOLDER = "ops@other-controller/4242"


@pytest.fixture(scope="module", name="platform")
def platform_fixture(shared_kubesim):
    """One simulator running the groups (one rolling_update, one canary, one blue_green group), shared by the tests,
    each of which puts back what it changed."""
    result, _counts = run_playbook(shared_kubesim.env, "cxpe.rollout.deploy_platform", "-e",
                                   json.dumps({"platform_deploy_groups": GROUPS, "platform_deploy_replicas": 1}))
    assert result.returncode == 0, result.stdout + result.stderr
    return shared_kubesim


def api_endpoint(simulator, name):
    """The simulator's API port as an endpoint that accepts connections."""
    address = urllib.parse.urlsplit(simulator.api_url)
    return {"name": name, "host": address.hostname, "port": address.port}


def write_versions(simulator):
    """What shows a write to any object: resourceVersions, and the generation (the spec) of Deployments, whose
    status the controllers keep writing."""
    items = json.loads(simulator.kubectl("get", "namespaces,priorityclasses,deployments,services,configmaps,leases",
                                         "--all-namespaces", "-o", "json").stdout)["items"]
    return dict(((item["kind"], item["metadata"].get("namespace"), item["metadata"]["name"]),
                 item["metadata"]["generation"] if item["kind"] == "Deployment" else item["metadata"]["resourceVersion"])
                for item in items)


def preflight(simulator, **variables):
    """Run the preflight playbook on the groups with TARGET for every service; check that it wrote nothing."""
    variables = dict({"cxpe_groups": GROUPS, "cxpe_version": TARGET,
                      "cxpe_infrastructure_endpoints": [api_endpoint(simulator, "consul"), api_endpoint(simulator, "kafka")]},
                     **variables)
    before, writes = write_versions(simulator), api_writes(simulator)
    result, counts = run_playbook(simulator.env, "cxpe.rollout.preflight", "-e", json.dumps(variables))
    assert api_writes(simulator) == writes
    assert write_versions(simulator) == before
    return result, counts


def refusal(result):
    """The problems of a refused run, from the failed task's result."""
    assert result.returncode != 0, result.stdout
    (failed,) = [line for line in result.stdout.splitlines() if line.startswith("fatal: [localhost]: FAILED! => ")]
    outcome = json.loads(failed.split(" => ", 1)[1])
    assert outcome["msg"] == "preflight refused: " + "; ".join(outcome["problems"])
    return outcome["problems"]


def test_a_platform_ready_for_the_upgrade_passes(platform, tmp_path):
    result, counts = preflight(platform)
    assert result.returncode == 0 and counts["failed"] == 0, result.stdout + result.stderr
    _run, (checked,) = run_tasks(platform.env, tmp_path, [("cxpe.rollout.platform_preflight", {
        "namespaces": ["gauth", "voice", "webrtc"], "priority_classes": ["genesysengage-high-priority"],
        "services": [{"namespace": "webrtc", "service": "webrtc-gateway", "version": TARGET},
                     {"namespace": "voice", "service": "tenant-service", "version": TARGET, "strategy": "canary"},
                     {"namespace": "gauth", "service": "gauth-auth", "version": "9.0.99.01", "strategy": "rolling_update"}],
        "allow_downgrade": True})])
    assert checked.get("failed") is not True and checked["changed"] is False, checked
    assert checked["problems"] == [] and checked["server_version"] == "1.32"
    assert [(entry["service"], entry["strategy"], entry["running"], entry["gap"]) for entry in checked["services"]] == [
        ("webrtc-gateway", "blue_green", RUNNING, 2), ("tenant-service", "canary", RUNNING, 2), ("gauth-auth", "rolling_update", RUNNING, -1)]


def test_a_target_three_releases_ahead_is_refused(platform):
    result, _counts = preflight(platform, cxpe_versions={"gauth-auth": "9.0.103.01"})
    assert refusal(result) == ["gauth/gauth-auth: the target 9.0.103.01 is 3 releases ahead of the running %s; the N-2 release "
                               "policy allows at most 2" % RUNNING]


def test_a_missing_namespace_is_refused(platform):
    # The ges group was never deployed: its namespace is missing, and its service, which does not run yet, passes.
    result, _counts = preflight(platform, cxpe_groups=GROUPS + ["ges"])
    assert refusal(result) == ["namespace ges does not exist"]


def test_an_unreachable_endpoint_is_refused(platform):
    port = free_port()
    result, _counts = preflight(platform, cxpe_infrastructure_endpoints=[
        api_endpoint(platform, "kafka"), {"name": "consul", "host": "127.0.0.1", "port": port}])
    (problem,) = refusal(result)
    assert problem.startswith("endpoint consul (127.0.0.1:%d) does not accept a TCP connection within 3s: " % port)
    assert "Connection refused" in problem


def test_a_canary_in_progress_is_refused_until_it_ends(platform, tmp_path):
    def weight(value, outcome):
        return ("cxpe.rollout.canary_weight", {"namespace": "voice", "service": "tenant-service", "weight": value,
                                               "outcome": outcome, "step": 1, "routers": [{"kind": "replicas"}], "wait": False})

    _run, (started,) = run_tasks(platform.env, tmp_path, [weight(50, "progressing")])
    assert started.get("failed") is not True, started
    try:
        result, _counts = preflight(platform)
        (problem,) = refusal(result)
        assert problem.startswith("a canary of voice/tenant-service is in progress: version %s takes 50%% of the traffic "
                                  "(step 1, recorded " % RUNNING)
    finally:
        _run, (aborted,) = run_tasks(platform.env, tmp_path, [weight(0, "aborted")])
    assert aborted.get("failed") is not True, aborted
    result, _counts = preflight(platform)
    assert result.returncode == 0, result.stdout


def test_a_lease_another_run_holds_is_refused_naming_it(platform):
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    apply(platform, "gauth", {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "gauth-auth-rollout"},
                              "spec": {"holderIdentity": HOLDER, "leaseDurationSeconds": 3600, "acquireTime": now, "renewTime": now}})
    try:
        result, _counts = preflight(platform)
        (problem,) = refusal(result)
        assert problem.startswith("Lease gauth/gauth-auth-rollout is held by %s since %s" % (HOLDER, now)), problem
    finally:
        platform.kubectl("delete", "lease", "-n", "gauth", "gauth-auth-rollout")
