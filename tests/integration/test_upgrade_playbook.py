# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The upgrade playbook on two simulated units of a unit group (a primary and a secondary unit, each a kubesim with
its Prometheus), under traffic: one group per strategy, in the documented order, a wave per unit; and the rollout
report of its runs, opened in a real headless Chromium."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import json
import os
import re
import shutil
import subprocess
import sys
import time

import pytest
import yaml
from bluegreen_support import PROPAGATION_SECONDS
import report_in_browser
from playbook_support import ANSIBLE_PLAYBOOK, COLLECTIONS, ROOT

TIME_SCALE = 50
# One group of each strategy: GAuth (rolling update, step 2, primary unit only), the Tenant Service (canary, step 4)
# and WebRTC (blue/green, step 5).
GROUPS = ["gauth", "tenant", "webrtc"]
HOSTED = {"primary": ["gauth-auth", "gauth-environment", "gauth-ui", "tenant-service", "webrtc-coturn", "webrtc-gateway"],
          "secondary": ["tenant-service", "webrtc-coturn", "webrtc-gateway"]}
NAMESPACES = {"gauth": "gauth", "tenant": "voice", "webrtc": "webrtc"}
# The demo's settings of the strategies, with shorter metric windows: here Prometheus scrapes every second, not every 2.
SETTINGS = os.path.join(ROOT, "inventories", "demo-units", "group_vars", "demo_units.yml")
ONE_SECOND_SCRAPES = {
    "bluegreen_analysis_initial_delay": 2.5, "bluegreen_analysis_count": 2, "bluegreen_analysis_interval": 1,
    "bluegreen_analysis_inconclusive_limit": 1, "canary_analysis_initial_delay": 2.5, "canary_analysis_interval": 1,
    "rolling_rotation_delay": 1.5,
}
# Where the report of the upgrade test and its screenshot are kept after the run.
ARTIFACTS = os.path.join(ROOT, "build", "test-artifacts")


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
    settings.update(ONE_SECOND_SCRAPES)
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


def reports_of(workdir, version, playbook="cxpe.rollout.upgrade"):
    """The directory of a run's summary and report."""
    return os.path.join(str(workdir), "reports-%s-%s" % (playbook.rsplit(".", 1)[-1], version))


def upgrade(platform, version, versions=None, playbook="cxpe.rollout.upgrade", **variables):
    units, inventory, workdir = platform
    reports = reports_of(workdir, version, playbook)
    # Prometheus scrapes every second here: the report's error ratios can follow the traffic closely.
    extra = dict({"cxpe_version": version, "cxpe_groups": GROUPS, "cxpe_upgrade_report_dir": reports,
                  "backup_dir": os.path.join(str(workdir), "backups"), "cxpe_upgrade_report_rate_window": "10s"}, **variables)
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
    # Ansible reports a template that fails to render as a warning and goes on with what it could render.
    assert "template error" not in result.stdout + result.stderr
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


def only(paths, what):
    assert len(paths) == 1, "%s: %s" % (what, paths)
    return paths[0]


def test_the_run_report_draws_each_upgraded_service_in_a_browser(platform):
    _units, _inventory, workdir = platform
    # The upgrade test's run.
    page, summary = report_in_browser.run_files(reports_of(workdir, "9.0.101.02"))
    os.makedirs(ARTIFACTS, exist_ok=True)
    screenshot = os.path.join(ARTIFACTS, "rollout-report.png")
    seen = report_in_browser.look_at(page, screenshot)
    shutil.copy(page, os.path.join(ARTIFACTS, "rollout-report.html"))
    print("rollout report screenshot: %s" % screenshot)
    assert os.path.getsize(screenshot) > 0
    assert report_in_browser.shortcomings(seen, summary) == []
    # Every service of the run was upgraded, and each has its chart: no more, no fewer.
    assert sorted(seen["charts"]) == sorted((row["unit"], row["service"]) for row in summary["rows"])


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


def test_the_report_playbook_draws_a_run_again_from_its_summary(platform):
    _units, inventory, workdir = platform
    reports = reports_of(workdir, "9.0.102.01")
    summary = only(glob.glob(os.path.join(reports, "*-summary.json")), "runs after the failed analysis test")
    page = summary.replace("-summary.json", "-report.html")
    os.remove(page)
    result = run(inventory, "cxpe.rollout.report", "-e", json.dumps({
        "cxpe_report_summary": summary, "cxpe_report_groups": GROUPS, "cxpe_upgrade_report_rate_window": "10s"}))
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr
    assert "The rollout report is at %s" % page in result.stdout
    with open(page, encoding="utf-8") as handle:
        html = handle.read()
    # The primary unit's services that moved: GAuth's, and the Tenant Service's canary, aborted.
    assert sorted(re.findall(r'<figure class="service" id="([^"]+)"', html)) == [
        "primary--gauth-auth", "primary--gauth-environment", "primary--gauth-ui", "primary--tenant-service"]
    tenant = html.split('id="primary--tenant-service"')[1].split("</figure>")[0]
    assert '<span class="result r-rolled-back">rolled back</span>' in tenant and "<td>abort</td>" in tenant
    assert "No service's traffic moved in this window." in html.split('id="unit-secondary"')[1]


def test_a_rollback_takes_the_platform_back_to_a_release_in_the_reverse_order(platform):
    units, _inventory, workdir = platform
    before = dict((name, unit.traffic()) for name, unit in units.items())
    # A report without its metrics does not fail the run: it says what it could not draw.
    result, summary = upgrade(platform, "9.0.101.02", playbook="cxpe.rollout.rollback",
                              cxpe_upgrade_report_prometheus_url="http://127.0.0.1:9")
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr
    with open(only(glob.glob(os.path.join(reports_of(workdir, "9.0.101.02", "cxpe.rollout.rollback"), "*-report.html")),
                   "the rollback's report"), encoding="utf-8") as handle:
        assert "Prometheus at http://127.0.0.1:9 is unreachable" in handle.read()
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
