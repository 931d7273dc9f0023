# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""cxpe.rollout.rolling_drain against kubesim's session model and a real Prometheus: full drains of a
Deployment and a StatefulSet under steady session load, both timeout behaviours, a PodDisruptionBudget,
a second run refused, and bad input."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest
from bluegreen_support import IMAGE, api_writes, get, ledger, new_namespace, resource_versions
from playbook_support import run_tasks
from rolling_support import CapacitySampler, deploy, new_version, pod_versions, session_totals

TIME_SCALE = 20
NAME = "calls"


def drain(namespace, kind, prometheus, **arguments):
    options = {"namespace": namespace, "kind": kind, "name": NAME, "prometheus_url": prometheus.url,
               "sessions_query": 'sum(kubesim_sessions_active{namespace="%s",pod="{pod}"}) or vector(0)' % namespace,
               # Prometheus scrapes every second: a count read after that is newer than the pod's last new session.
               "rotation_delay": 1.5, "poll_interval": 0.5, "drain_timeout": 60, "ready_timeout": 60, "lease_duration": 10}
    options.update(arguments)
    return ("cxpe.rollout.rolling_drain", options)


@pytest.fixture(name="cluster")
def cluster_fixture(kubesim_factory, prometheus_factory):
    simulator = kubesim_factory(time_scale=TIME_SCALE)
    return simulator, prometheus_factory(simulator)


@pytest.mark.parametrize("kind", ("Deployment", "StatefulSet"))
def test_a_full_drain_under_session_load_drops_no_session(cluster, tmp_path, request, kind):
    simulator, prometheus = cluster
    namespace = new_namespace(simulator, request.node.name)
    # Sessions of 40 simulated seconds (2 real ones), four opened every simulated second.
    deploy(simulator, namespace, kind, NAME, "1.0", replicas=4, session_rate=4, session_duration=40)
    new_version(simulator, namespace, kind, NAME, "2.0")
    _run, (checked,) = run_tasks(simulator.env, tmp_path, [drain(namespace, kind, prometheus)], "--check")
    assert checked["changed"] is True and checked["writes"] == 0 and len(checked["plan"]) == 4, checked
    if kind == "StatefulSet":
        assert checked["plan"] == [["calls-3"], ["calls-2"], ["calls-1"], ["calls-0"]]
    before = session_totals(simulator, namespace)
    assert before["active"] > 0

    with CapacitySampler(simulator, namespace, NAME) as capacity:
        _run, (drained,) = run_tasks(simulator.env, tmp_path, [drain(namespace, kind, prometheus)])
    assert drained.get("failed") is not True, drained
    assert sorted(set(pod_versions(simulator, namespace, NAME).values())) == ["%s:2.0" % IMAGE]
    assert len(drained["pods"]) == 4
    assert all(pod["sessions_seen"][-1] == 0 and not pod["timed_out"] for pod in drained["pods"]), drained["pods"]
    assert any(pod["sessions_seen"][0] > 0 for pod in drained["pods"]), drained["pods"]
    # Ready capacity never fell below replicas - max_unavailable.
    assert capacity.samples > 10 and capacity.lowest >= 3, (capacity.samples, capacity.lowest)
    after = session_totals(simulator, namespace)
    assert after["dropped"] == 0, after
    assert after["started"] > before["started"]
    record = ledger(simulator, namespace, NAME)
    assert (record["strategy"], record["phase"]) == ("rolling_update", "completed")
    assert len(json.loads(record["progress"])["done"]) == 4
    # The Lease is gone, the Deployment runs again with the strategy it had.
    assert simulator.kubectl("get", "lease", NAME + "-rollout", "-n", namespace, check=False).returncode != 0
    if kind == "Deployment":
        spec = get(simulator, namespace, "deployment", NAME)["spec"]
        assert not spec.get("paused") and spec["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}

    # Run again: nothing is left on the old revision.
    writes = api_writes(simulator)
    _run, (again,) = run_tasks(simulator.env, tmp_path, [drain(namespace, kind, prometheus)])
    assert again["changed"] is False and again["plan"] == [] and api_writes(simulator) == writes, again
