# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cxpe.rollout.rolling role end to end on kubesim with a real Prometheus, run as the service account of the
cxpe.rollout.rbac playbook on a cluster that authorizes by RBAC: an upgrade under session load that prints its progress
and drops nothing, and a failed drain rolled back to the previous version."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from bluegreen_support import IMAGE, get, ledger, new_namespace
from playbook_support import run_playbook
from service_account_support import account_env
from rolling_support import deploy, pod_versions, session_totals

TIME_SCALE = 20
NAME = "calls"


def upgrade(env, prometheus, namespace, kind, version, **extra):
    variables = {"rolling_namespace": namespace, "rolling_kind": kind, "rolling_name": NAME, "rolling_version": version,
                 "rolling_prometheus_url": prometheus.url,
                 "rolling_sessions_query": 'sum(kubesim_sessions_active{namespace="%s",pod="{pod}"})' % namespace,
                 "rolling_rotation_delay": 1.5, "rolling_poll_interval": 0.5, "rolling_progress_interval": 1,
                 "rolling_drain_timeout": 60, "rolling_ready_timeout": 60, "rolling_lease_duration": 10}
    variables.update(extra)
    return run_playbook(env, "cxpe.rollout.rolling_upgrade", "-e", json.dumps(variables))


def test_an_upgrade_under_session_load_reports_progress_and_drops_nothing(rbac_kubesim_factory, prometheus_factory, request, tmp_path):
    simulator = rbac_kubesim_factory(time_scale=TIME_SCALE)
    prometheus = prometheus_factory(simulator)
    namespace = new_namespace(simulator, request.node.name)
    # An unpaused Deployment, as the platform runs it: the role holds its rollout.
    deploy(simulator, namespace, "Deployment", NAME, "1.0", replicas=4, session_rate=4, session_duration=10)
    simulator.kubectl("rollout", "resume", "-n", namespace, "deployment/" + NAME)
    account = account_env(simulator, tmp_path, {"rolling_update": [namespace]})
    run, counts = upgrade(account, prometheus, namespace, "Deployment", "2.0")
    assert run.returncode == 0 and counts["failed"] == 0, run.stdout
    # A progress line names the pod draining and its sessions (how many pods are done by then depends on the load).
    assert re.search(r"Deployment %s/%s: [0-3]/4 pods replaced; draining %s-\S+ \((\d+|\?) sessions left\); \d+ s elapsed"
                     % (namespace, NAME, NAME), run.stdout), run.stdout
    assert sorted(set(pod_versions(simulator, namespace, NAME).values())) == ["%s:2.0" % IMAGE]
    assert session_totals(simulator, namespace)["dropped"] == 0
    assert ledger(simulator, namespace, NAME)["phase"] == "completed"
    deployment = get(simulator, namespace, "deployment", NAME)
    assert not deployment["spec"].get("paused")
    assert deployment["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/version"] == "2.0"


def test_a_drain_that_fails_is_rolled_back_to_the_previous_version(rbac_kubesim_factory, prometheus_factory, request, tmp_path):
    simulator = rbac_kubesim_factory(time_scale=TIME_SCALE)
    prometheus = prometheus_factory(simulator)
    namespace = new_namespace(simulator, request.node.name)
    # Sessions that never end, so the first drain times out.
    deploy(simulator, namespace, "StatefulSet", NAME, "1.0", replicas=2, session_rate=4, session_duration=1000000)
    account = account_env(simulator, tmp_path, {"rolling_update": [namespace]})
    run, counts = upgrade(account, prometheus, namespace, "StatefulSet", "2.0", rolling_drain_timeout=2)
    assert run.returncode != 0 and counts["failed"] == 1, run.stdout
    assert "Upgrading StatefulSet %s/%s to 2.0 failed: pods still had sessions after drain_timeout 2s" % (namespace, NAME) in run.stdout
    assert "every pod is back on 1.0" in run.stdout
    statefulset = get(simulator, namespace, "statefulset", NAME)
    assert statefulset["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/version"] == "1.0"
    assert sorted(set(pod_versions(simulator, namespace, NAME).values())) == ["%s:1.0" % IMAGE]
    assert session_totals(simulator, namespace)["dropped"] == 0
    history = [entry["action"] for entry in json.loads(ledger(simulator, namespace, NAME)["history"])]
    assert "fail" in history


def test_a_version_whose_image_does_not_exist_stops_and_rolls_back(rbac_kubesim_factory, prometheus_factory, request, tmp_path):
    # The most common bad upgrade: a tag that was never pushed.
    simulator = rbac_kubesim_factory(time_scale=TIME_SCALE, extra_args=["--missing-image", "*:9.9.9-typo"])
    prometheus = prometheus_factory(simulator)
    namespace = new_namespace(simulator, request.node.name)
    deploy(simulator, namespace, "Deployment", NAME, "1.0", replicas=2, session_rate=4, session_duration=10)
    before = get(simulator, namespace, "deployment", NAME)
    account = account_env(simulator, tmp_path, {"rolling_update": [namespace]})
    run, counts = upgrade(account, prometheus, namespace, "Deployment", "9.9.9-typo", rolling_ready_timeout=8)
    assert run.returncode != 0 and counts["failed"] == 1, run.stdout
    assert "every pod is back on 1.0" in run.stdout, run.stdout
    assert sorted(set(pod_versions(simulator, namespace, NAME).values())) == ["%s:1.0" % IMAGE]
    assert session_totals(simulator, namespace)["dropped"] == 0
    deployment = get(simulator, namespace, "deployment", NAME)
    assert deployment["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/version"] == "1.0"
    assert not deployment["spec"].get("paused")
    # The failed drain stopped after a step; the rollback's last step gave the Deployment back its own settings.
    held = ("strategy", "minReadySeconds", "progressDeadlineSeconds")
    assert [deployment["spec"].get(field) for field in held] == [before["spec"].get(field) for field in held]
    assert sorted(deployment["metadata"]["annotations"]) == sorted(before["metadata"]["annotations"])
