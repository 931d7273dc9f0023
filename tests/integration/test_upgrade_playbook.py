# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The upgrade playbook on two simulated units of a unit group (a primary and a secondary unit, each a kubesim with
its Prometheus), under traffic: one group per strategy, in the documented order, a wave per unit."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import json
import os
import subprocess
import sys
import time

import pytest
import yaml
from bluegreen_support import PROPAGATION_SECONDS
from playbook_support import ANSIBLE_PLAYBOOK, COLLECTIONS, ROOT

TIME_SCALE = 50
# One group of each strategy: GAuth (rolling update, step 2, primary unit only), the Tenant Service (canary, step 4)
# and WebRTC (blue/green, step 5).
GROUPS = ["gauth", "tenant", "webrtc"]
HOSTED = {"primary": ["gauth-auth", "gauth-environment", "gauth-ui", "tenant-service", "webrtc-coturn", "webrtc-gateway"],
          "secondary": ["tenant-service", "webrtc-coturn", "webrtc-gateway"]}
NAMESPACES = {"gauth": "gauth", "tenant": "voice", "webrtc": "webrtc"}
# The demo's settings of the strategies, for units whose time runs 50 times faster.
SETTINGS = os.path.join(ROOT, "inventories", "demo-units", "group_vars", "demo_units.yml")


class Unit(object):
    def __init__(self, name, simulator, prometheus):
        self.name, self.simulator, self.prometheus = name, simulator, prometheus

    def kubectl_json(self, *args):
        return json.loads(self.simulator.kubectl(*args, "-o", "json").stdout)

    def running(self):
        """{service: the versions its serving pods run}: the pods the Service named after it selects."""
        versions = {}
        for namespace in sorted(set(NAMESPACES.values())):
            pods = self.kubectl_json("get", "pods", "-n", namespace)["items"]
            for service in self.kubectl_json("get", "services", "-n", namespace)["items"]:
                name, selector = service["metadata"]["name"], service["spec"].get("selector") or {}
                if name.endswith(("-preview", "-stable", "-canary")):
                    continue
                versions[name] = sorted(set(
                    pod["metadata"]["labels"].get("app.kubernetes.io/version") for pod in pods
                    if not pod["metadata"].get("deletionTimestamp")
                    and all(pod["metadata"]["labels"].get(key) == value for key, value in selector.items())))
        return versions

    def resource_versions(self):
        items = self.kubectl_json("get", "deployments,services,configmaps,leases", "--all-namespaces")["items"]
        # A Deployment's status keeps changing; its generation says whether its spec did.
        return dict(((item["kind"], item["metadata"]["namespace"], item["metadata"]["name"]),
                     item["metadata"]["generation"] if item["kind"] == "Deployment" else item["metadata"]["resourceVersion"])
                    for item in items)

    def traffic(self):
        """(requests failed for a reason other than the app's own error, sessions dropped, requests sent)."""
        failed = dropped = sent = 0
        for line in self.simulator.metrics().splitlines():
            if line.startswith("kubesim_entry_request_errors_total{") and 'reason="app_error"' not in line:
                failed += float(line.rsplit(" ", 1)[1])
            elif line.startswith("kubesim_sessions_dropped_total{"):
                dropped += float(line.rsplit(" ", 1)[1])
            elif line.startswith("kubesim_entry_requests_total{"):
                sent += float(line.rsplit(" ", 1)[1])
        return failed, dropped, sent


@pytest.fixture(scope="module")
def platform(tmp_path_factory, module_kubesim_factory, module_prometheus_factory):
    """The two units, their inventory, the platform's three groups deployed on both and clients calling every
    service; yields (units by name, inventory path, a working directory)."""
    workdir = tmp_path_factory.mktemp("upgrade")
    units = {}
    for name in ("primary", "secondary"):
        simulator = module_kubesim_factory(time_scale=TIME_SCALE)
        units[name] = Unit(name, simulator, module_prometheus_factory(simulator))
    with open(SETTINGS, encoding="utf-8") as handle:
        settings = dict((key, value) for key, value in yaml.safe_load(handle).items() if not key.startswith("cxpe_"))
    settings["ansible_python_interpreter"] = sys.executable
    hosts = dict((name, {"cxpe_unit_role": name, "cxpe_kubeconfig": unit.simulator.kubeconfig,
                         "cxpe_prometheus_url": unit.prometheus.url}) for name, unit in units.items())
    inventory = os.path.join(str(workdir), "hosts.yml")
    with open(inventory, "w", encoding="utf-8") as handle:
        yaml.safe_dump({"all": {"children": {"units": {"hosts": hosts, "vars": settings}}}}, handle)
    result = run(inventory, "cxpe.rollout.deploy_platform", "-e", json.dumps({"platform_deploy_groups": GROUPS}))
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr
    for unit in units.values():
        assert sorted(unit.running()) == sorted(HOSTED[unit.name])
    time.sleep(PROPAGATION_SECONDS / TIME_SCALE)
    for unit in units.values():
        for service in unit.running():
            unit.simulator.kubectl("annotate", "--overwrite", "-n", NAMESPACES[service.split("-", 1)[0]], "service", service,
                                   "kubesim.cxpe.io/request-rate=2", "kubesim.cxpe.io/session-rate=1",
                                   "kubesim.cxpe.io/session-duration=10")
    # The canary compares with the stable version's error ratio: Prometheus must have scraped some requests.
    time.sleep(5)
    yield units, inventory, workdir


def run(inventory, playbook, *args):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    return subprocess.run([ANSIBLE_PLAYBOOK, "-i", inventory, playbook, "-f", "10"] + list(args),
                          env=env, capture_output=True, text=True, timeout=900, check=False)


def upgrade(platform, version, versions=None, playbook="cxpe.rollout.upgrade"):
    units, inventory, workdir = platform
    reports = os.path.join(str(workdir), "reports-%s-%s" % (playbook.rsplit(".", 1)[-1], version))
    extra = {"cxpe_version": version, "cxpe_groups": GROUPS, "cxpe_upgrade_report_dir": reports,
             "backup_dir": os.path.join(str(workdir), "backups")}
    if versions:
        extra["cxpe_versions"] = versions
    result = run(inventory, playbook, "-e", json.dumps(extra))
    summaries = glob.glob(os.path.join(reports, "*-summary.json"))
    summary = None
    if summaries:
        with open(summaries[0], encoding="utf-8") as handle:
            summary = json.load(handle)
    return result, summary


def rows_by(summary):
    return dict(((row["unit"], row["service"]), row) for row in summary["rows"])


def assert_in_order(summary):
    """Within a unit, no service starts before every service of an earlier step has finished; the secondary unit
    (wave 2) starts after the primary unit (wave 1) is done."""
    done = [row for row in summary["rows"] if row["started"] is not None]
    for row in done:
        for earlier in done:
            if (earlier["unit"], earlier["step"]) != (row["unit"], row["step"]) and (
                    (earlier["unit"] == row["unit"] and earlier["step"] < row["step"]) or earlier["wave"] < row["wave"]):
                assert row["started"] >= earlier["started"] + earlier["duration"], (earlier, row)


def test_the_platform_is_upgraded_unit_by_unit_step_by_step_under_traffic(platform):
    units, _inventory, workdir = platform
    before = dict((name, unit.traffic()) for name, unit in units.items())
    result, summary = upgrade(platform, "9.0.101.02")
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr
    assert sorted(rows_by(summary)) == sorted((unit, service) for unit, services in HOSTED.items() for service in services)
    assert [row["result"] for row in summary["rows"] if row["result"] != "upgraded"] == []
    assert dict(((row["unit"], row["service"]), row["strategy"]) for row in summary["rows"]) == dict(
        ((unit, service), {"gauth": "rolling_update", "tenant": "canary", "webrtc": "blue_green"}[service.split("-", 1)[0]])
        for unit, services in HOSTED.items() for service in services)
    assert_in_order(summary)
    assert summary["wall_time"] >= summary["critical_path"] > 0
    assert "critical path" in result.stdout
    for name, unit in units.items():
        assert unit.running() == dict((service, ["9.0.101.02"]) for service in HOSTED[name])
        failed, dropped, sent = unit.traffic()
        assert sent > before[name][2]
        assert (failed, dropped) == before[name][:2] == (0, 0), name
    # The backup the upgrade made first, one file per unit.
    backups = glob.glob(os.path.join(str(workdir), "backups", "*", "*.yml"))
    assert sorted(os.path.basename(path) for path in backups) == ["primary.yml", "secondary.yml"]


def test_a_failed_analysis_stops_its_unit_and_the_later_waves_and_rolls_the_service_back(platform):
    units, _inventory, _workdir = platform
    before = dict((name, unit.running()) for name, unit in units.items())
    assert before["primary"]["tenant-service"] == ["9.0.101.02"], "runs after the upgrade test"
    result, summary = upgrade(platform, "9.0.102.01", {"tenant-service": "9.0.102.01-errors30"})
    assert result.returncode != 0
    assert "tenant-service rolled back" in result.stdout
    rows = rows_by(summary)
    assert [rows[("primary", service)]["result"] for service in HOSTED["primary"]] == [
        "upgraded", "upgraded", "upgraded", "rolled back", "not started", "not started"]
    assert rows[("primary", "webrtc-gateway")]["message"] == "stopped: tenant-service failed in primary"
    assert set(rows[("secondary", service)]["result"] for service in HOSTED["secondary"]) == {"not started"}
    assert_in_order(summary)
    # Every service on one version: GAuth on the new one, the rest where they were.
    assert units["primary"].running() == dict(before["primary"], **dict(
        (service, ["9.0.102.01"]) for service in ("gauth-auth", "gauth-environment", "gauth-ui")))
    assert units["secondary"].running() == before["secondary"]
    canary = units["primary"].kubectl_json("get", "deployment", "tenant-service-canary", "-n", "voice")
    assert canary["spec"]["replicas"] == 0
    for name, unit in units.items():
        failed, dropped, _sent = unit.traffic()
        assert (failed, dropped) == (0, 0), name


def test_a_rollback_takes_the_platform_back_to_a_release_in_the_reverse_order(platform):
    units, _inventory, _workdir = platform
    before = dict((name, unit.traffic()) for name, unit in units.items())
    result, summary = upgrade(platform, "9.0.101.02", playbook="cxpe.rollout.rollback")
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr
    rows = rows_by(summary)
    assert [(service, rows[("primary", service)]["from"], rows[("primary", service)]["result"]) for service in HOSTED["primary"]] == [
        ("gauth-auth", "9.0.102.01", "upgraded"), ("gauth-environment", "9.0.102.01", "upgraded"), ("gauth-ui", "9.0.102.01", "upgraded"),
        ("tenant-service", "9.0.101.02", "unchanged"), ("webrtc-coturn", "9.0.101.02", "unchanged"),
        ("webrtc-gateway", "9.0.101.02", "unchanged")]
    # Step 5 first, step 2 last.
    started = dict((service, rows[("primary", service)]["started"]) for service in HOSTED["primary"])
    assert max(started["webrtc-coturn"], started["webrtc-gateway"]) < started["tenant-service"] < min(
        started["gauth-auth"], started["gauth-environment"], started["gauth-ui"])
    for name, unit in units.items():
        assert unit.running() == dict((service, ["9.0.101.02"]) for service in HOSTED[name])
        assert unit.traffic()[:2] == before[name][:2] == (0, 0), name


def test_a_preflight_refusal_changes_nothing_in_any_unit(platform):
    units, _inventory, _workdir = platform
    before = dict((name, unit.resource_versions()) for name, unit in units.items())
    # A release more than two ahead of what runs (N-2).
    result, summary = upgrade(platform, "9.0.109.01")
    assert result.returncode != 0
    assert "N-2 release policy" in result.stdout
    assert summary is None
    assert dict((name, unit.resource_versions()) for name, unit in units.items()) == before
