"""The platform upgrade (cxpe.rollout.upgrade) next to the plain kubernetes.core way of upgrading the same platform.

Starts two simulated units - a primary and a secondary unit, each a ``kubesim serve`` (time scale 50) with a real
Prometheus of its own - deploys the platform on both (the secondary unit takes the services it may host), lets
clients call every service (2 requests and 1 new session of 10 s on average per simulated second), then:

- upgrades it to 9.0.101.02 with ``cxpe.rollout.upgrade`` (the primary unit, then the secondary unit; each step's
  services side by side, each with its group's strategy and the demo's settings,
  ``inventories/demo-units/group_vars/demo_units.yml``), and reads the run summary: the wall time, the critical path
  (the sum over waves and steps of the slowest service) and the time the services would take one after another;
- upgrades it to 9.0.102.01 the plain way: one play per step, with one ``kubernetes.core.k8s`` task that patches the
  image and version of every Deployment of the step that serves (looped, ``wait: true``), on both units at once -
  no drain, no analysis, no rollback, each Deployment's own RollingUpdate.

Prints both wall times, the ratio of the upgrade's wall time to its critical path, and what the clients went through
during each (requests failed for want of a route or endpoint, or cut; sessions dropped). Several minutes on 2 cores
for the whole platform; ``--groups gauth,tenant,webrtc`` takes one group of each strategy.

    .venv/bin/python tests/bench/bench_upgrade.py [--groups g1,g2] [--forks 24]
"""

import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
import time

import yaml
from bench_bluegreen import ROOT

sys.path[:0] = [os.path.join(ROOT, "tests"), os.path.join(ROOT, "tests", "integration"), os.path.join(ROOT, "tests", "unit", "support")]
from conftest import start_prometheus, start_simulator
from playbook_support import ANSIBLE_PLAYBOOK, COLLECTIONS

TIME_SCALE = 50
SETTINGS = os.path.join(ROOT, "inventories", "demo-units", "group_vars", "demo_units.yml")
UNITS = ("primary", "secondary")


def kubectl_json(simulator, *args):
    return json.loads(simulator.kubectl(*args, "-o", "json").stdout)


def playbook(inventory, name, forks, *extra):
    started = time.monotonic()
    result = subprocess.run([ANSIBLE_PLAYBOOK, "-i", inventory, name, "-f", str(forks)] + [arg for value in extra for arg in ("-e", value)],
                            env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS), capture_output=True, text=True, check=False)
    return result, time.monotonic() - started


def traffic(simulator):
    """(requests failed for a reason other than the app's own error, sessions dropped, requests sent)."""
    failed = dropped = sent = 0.0
    for line in simulator.metrics().splitlines():
        value = line.rsplit(" ", 1)[-1]
        if line.startswith("kubesim_entry_request_errors_total{") and 'reason="app_error"' not in line:
            failed += float(value)
        elif line.startswith("kubesim_sessions_dropped_total{"):
            dropped += float(value)
        elif line.startswith("kubesim_entry_requests_total{"):
            sent += float(value)
    return failed, dropped, sent


def serving_deployments(simulator):
    """(namespace, Deployment, service) of every Deployment that serves users: not a canary track, not an idle color."""
    found = []
    for item in kubectl_json(simulator, "get", "deployments", "--all-namespaces", "-l", "app.kubernetes.io/managed-by=cxpe.rollout")["items"]:
        name = item["metadata"]["name"]
        if item["spec"]["replicas"] and not name.endswith("-canary"):
            found.append((item["metadata"]["namespace"], name, item["metadata"]["labels"]["app.kubernetes.io/name"]))
    return found


def plain_plays(steps, version):
    """One play per step over every unit: patch the image and version of the step's serving Deployments, waiting."""
    plays = []
    for step in sorted(set(steps.values())):
        plays.append({
            "name": "Step %d, the plain way" % step, "hosts": "all", "gather_facts": False,
            "tasks": [{
                "name": "Patch the image and version of each serving Deployment of the step, waiting for its rollout",
                "kubernetes.core.k8s": {
                    "kubeconfig": "{{ cxpe_kubeconfig }}", "state": "patched", "kind": "Deployment",
                    "namespace": "{{ item.0 }}", "name": "{{ item.1 }}", "wait": True, "wait_timeout": 600,
                    "definition": {"spec": {"template": {
                        "metadata": {"labels": {"app.kubernetes.io/version": version}},
                        "spec": {"containers": [{"name": "{{ item.2 }}", "image": "registry.example.com/genesys/{{ item.2 }}:%s" % version}]}}}},
                },
                "loop": "{{ cxpe_plain_deployments[%d] | default([]) }}" % step,
            }],
        })
    return plays


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", default="", help="comma-separated catalog groups (default: every group)")
    parser.add_argument("--forks", type=int, default=24)
    options = parser.parse_args()
    groups = [name for name in options.groups.split(",") if name]
    workdir = tempfile.mkdtemp(prefix="bench-upgrade-")
    servers, units = [], {}
    try:
        for name in UNITS:
            simulator = start_simulator(time_scale=TIME_SCALE)
            servers.append(simulator)
            prometheus = start_prometheus(simulator)
            servers.append(prometheus)
            units[name] = (simulator, prometheus)
        with open(SETTINGS, encoding="utf-8") as handle:
            settings = dict((key, value) for key, value in yaml.safe_load(handle).items() if not key.startswith("cxpe_"))
        settings["ansible_python_interpreter"] = sys.executable
        hosts = dict((name, {"cxpe_unit_role": name, "cxpe_kubeconfig": simulator.kubeconfig, "cxpe_prometheus_url": prometheus.url})
                     for name, (simulator, prometheus) in units.items())
        inventory = os.path.join(workdir, "hosts.yml")
        with open(inventory, "w", encoding="utf-8") as handle:
            yaml.safe_dump({"all": {"children": {"units": {"hosts": hosts, "vars": settings}}}}, handle)
        result, deploy_seconds = playbook(inventory, "cxpe.rollout.deploy_platform", 2, json.dumps({"platform_deploy_groups": groups}))
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr
        for simulator, _prometheus in units.values():
            for namespace, _name, service in serving_deployments(simulator):
                simulator.kubectl("annotate", "--overwrite", "-n", namespace, "service", service, "kubesim.cxpe.io/request-rate=2",
                                  "kubesim.cxpe.io/session-rate=1", "kubesim.cxpe.io/session-duration=10")
        # The canary compares with the stable version's error ratio, which Prometheus must have seen.
        time.sleep(5)

        before = dict((name, traffic(simulator)) for name, (simulator, _prometheus) in units.items())
        reports = os.path.join(workdir, "reports")
        result, upgrade_seconds = playbook(inventory, "cxpe.rollout.upgrade", options.forks, json.dumps(
            {"cxpe_version": "9.0.101.02", "cxpe_groups": groups, "cxpe_upgrade_report_dir": reports,
             "backup_dir": os.path.join(workdir, "backups")}))
        assert result.returncode == 0, result.stdout[-6000:] + result.stderr
        with open(glob.glob(os.path.join(reports, "*-summary.json"))[0], encoding="utf-8") as handle:
            summary = json.load(handle)
        after_upgrade = dict((name, traffic(simulator)) for name, (simulator, _prometheus) in units.items())

        catalog = yaml.safe_load(open(os.path.join(ROOT, "data", "service_catalog.yml"), encoding="utf-8"))
        steps = dict((service["name"], service.get("step", group["step"])) for group in catalog["groups"] for service in group["services"])
        for name, (simulator, _prometheus) in units.items():
            by_step = {}
            for entry in serving_deployments(simulator):
                by_step.setdefault(steps[entry[2]], []).append(list(entry))
            hosts[name]["cxpe_plain_deployments"] = by_step
        with open(inventory, "w", encoding="utf-8") as handle:
            yaml.safe_dump({"all": {"children": {"units": {"hosts": hosts, "vars": settings}}}}, handle)
        plain = os.path.join(workdir, "plain.yml")
        with open(plain, "w", encoding="utf-8") as handle:
            yaml.safe_dump(plain_plays(steps, "9.0.102.01"), handle, sort_keys=False)
        result, plain_seconds = playbook(inventory, plain, options.forks)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr
        after_plain = dict((name, traffic(simulator)) for name, (simulator, _prometheus) in units.items())
    finally:
        for server in reversed(servers):
            server.stop()

    def delta(later, earlier):
        return tuple(sum(later[name][index] - earlier[name][index] for name in UNITS) for index in range(3))

    services = len(summary["rows"])
    print("platform: %s, %d services over 2 units (deployed in %.0f s)" % (", ".join(groups) or "every group", services, deploy_seconds))
    print("%-44s %10s %16s %16s %14s" % ("", "wall", "failed requests", "dropped sessions", "requests sent"))
    rows = (("cxpe.rollout.upgrade", upgrade_seconds, delta(after_upgrade, before)),
            ("plain kubernetes.core.k8s, one play a step", plain_seconds, delta(after_plain, after_upgrade)))
    for label, seconds, (failed, dropped, sent) in rows:
        print("%-44s %9.1fs %16d %16d %14d" % (label, seconds, failed, dropped, sent))
    print()
    print("upgrade summary: %s" % summary["counts"])
    print("  wall time (summary)   %7.1f s" % summary["wall_time"])
    print("  critical path         %7.1f s   wall / critical path = %.2f" % (summary["critical_path"], summary["wall_time"] / summary["critical_path"]))
    print("  one after another     %7.1f s   wall / sequential = %.2f" % (summary["sequential"], summary["wall_time"] / summary["sequential"]))


if __name__ == "__main__":
    main()
