# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""cxpe.rollout.rolling_drain against kubesim's session model and a real Prometheus: full drains of a
Deployment and a StatefulSet under steady session load, a Deployment paused late after each step, both
timeout behaviours, a PodDisruptionBudget, a second run refused, and bad input."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import threading
import time
import urllib.request

import pytest
from bluegreen_support import IMAGE, api_writes, get, ledger, new_namespace, poll, resource_versions
from interruption_support import Run
from playbook_support import run_tasks, write_play
from rolling_support import CapacitySampler, deploy, new_version, pod_versions, session_totals

TIME_SCALE = 20
NAME = "calls"
READY_AFTER = "kubesim.cxpe.io/ready-after"
HELD_FIELDS = ("strategy", "minReadySeconds", "progressDeadlineSeconds")


def drain(namespace, kind, prometheus, **arguments):
    options = {"namespace": namespace, "kind": kind, "name": NAME, "prometheus_url": prometheus.url,
               # No "or vector(0)": a pod Prometheus has no count for yet is not taken for a drained one.
               "sessions_query": 'sum(kubesim_sessions_active{namespace="%s",pod="{pod}"})' % namespace,
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
    # Sessions of 10 simulated seconds on average (half a real one), four opened every simulated second: a pod leaves
    # rotation with about ten, the last of which ends seconds later.
    deploy(simulator, namespace, kind, NAME, "1.0", replicas=4, session_rate=4, session_duration=10)
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
    # Pods had sessions when they left rotation (None: Prometheus had no count for that pod yet).
    assert any(count for pod in drained["pods"] for count in pod["sessions_seen"]), drained["pods"]
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


def add_fault(simulator, rule):
    """Have kubesim fail the requests a rule picks (see docs/kubesim.md); returns the rule's id."""
    request = urllib.request.Request(simulator.api_url + "/kubesim/v1/faults", data=json.dumps(rule).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)["id"]


def fault(simulator, rule_id):
    with urllib.request.urlopen("%s/kubesim/v1/faults/%d" % (simulator.api_url, rule_id), timeout=10) as response:
        return json.load(response)


def test_a_deployment_paused_late_after_a_step_replaces_no_pod_that_was_not_drained(cluster, tmp_path, request):
    simulator, prometheus = cluster
    namespace = new_namespace(simulator, request.node.name)
    deploy(simulator, namespace, "Deployment", NAME, "1.0", replicas=3, session_rate=4, session_duration=10)
    before = get(simulator, namespace, "deployment", NAME)
    old = sorted(pod_versions(simulator, namespace, NAME))
    # The new version's pods are Ready as soon as they start: were they Available too, the controller could take
    # its next step before the drain pauses the Deployment again.
    simulator.kubectl("patch", "-n", namespace, "deployment", NAME, "-p", json.dumps({"spec": {"template": {
        "metadata": {"annotations": {READY_AFTER: "0"}}, "spec": {"containers": [{"name": "app", "image": "%s:2.0" % IMAGE}]}}}}))
    # The drain's writes to the Deployment are a step, its pause, the next step...: every other one is throttled, so
    # each pause lands 3 s (60 simulated seconds) after the step it ends, as on a loaded controller host.
    late = add_fault(simulator, {"fault": "throttle", "verb": "PATCH", "resource": "deployments", "namespace": namespace,
                                 "name": NAME, "every": 2, "retryAfter": 3})

    _run, (drained,) = run_tasks(simulator.env, tmp_path, [drain(namespace, "Deployment", prometheus)])
    assert drained.get("failed") is not True, drained.get("msg")
    assert fault(simulator, late)["fired"] >= 2
    assert sorted(set(pod_versions(simulator, namespace, NAME).values())) == ["%s:2.0" % IMAGE]
    # Every old pod was drained, then replaced: the app exits on SIGTERM, so a pod deleted in rotation drops its sessions.
    assert sorted(pod["pod"] for pod in drained["pods"]) == old and all(pod["sessions_seen"][-1] == 0 for pod in drained["pods"]), drained["pods"]
    assert session_totals(simulator, namespace)["dropped"] == 0
    # The Deployment runs again as it was, apart from its template.
    after = get(simulator, namespace, "deployment", NAME)
    assert not after["spec"].get("paused")
    assert [after["spec"].get(field) for field in HELD_FIELDS] == [before["spec"].get(field) for field in HELD_FIELDS]
    assert sorted(after["metadata"]["annotations"]) == sorted(before["metadata"]["annotations"])


def put_away(simulator, namespace, kind):
    """The workload and its new version, with clients on it."""
    deploy(simulator, namespace, kind, NAME, "1.0", replicas=2, session_rate=4, session_duration=10)
    new_version(simulator, namespace, kind, NAME, "2.0")


def serving_labels(simulator, namespace):
    result = simulator.kubectl("get", "pods", "-n", namespace, "-l", "app.kubernetes.io/name=" + NAME,
                               "-o", "jsonpath={.items[*].metadata.labels.cxpe\\.io/serving}")
    return sorted(result.stdout.split())


def test_a_drain_that_times_out_fails_back_into_rotation_or_proceeds_as_told(cluster, tmp_path, request):
    simulator, prometheus = cluster
    namespace = new_namespace(simulator, request.node.name)
    # Sessions that never end.
    deploy(simulator, namespace, "StatefulSet", NAME, "1.0", replicas=2, session_rate=4, session_duration=1000000)
    new_version(simulator, namespace, "StatefulSet", NAME, "2.0")
    _run, (failed,) = run_tasks(simulator.env, tmp_path, [drain(namespace, "StatefulSet", prometheus, drain_timeout=2)])
    assert failed["failed"] is True and "pods still had sessions after drain_timeout 2s: calls-1 (" in failed["msg"], failed
    # The batch went back into rotation and nothing was replaced or dropped.
    assert serving_labels(simulator, namespace) == ["true", "true"]
    assert sorted(set(pod_versions(simulator, namespace, NAME).values())) == ["%s:1.0" % IMAGE]
    assert session_totals(simulator, namespace)["dropped"] == 0
    record = ledger(simulator, namespace, NAME)
    assert record["phase"] == "failed" and "drain_timeout" in json.loads(record["progress"])["error"]
    assert simulator.kubectl("get", "lease", NAME + "-rollout", "-n", namespace, check=False).returncode != 0

    _run, (proceeded,) = run_tasks(simulator.env, tmp_path, [
        drain(namespace, "StatefulSet", prometheus, drain_timeout=1, on_timeout="proceed", timeout_grace_period=5)])
    assert proceeded.get("failed") is not True, proceeded
    assert [pod["timed_out"] for pod in proceeded["pods"]] == [True, True]
    assert sorted(set(pod_versions(simulator, namespace, NAME).values())) == ["%s:2.0" % IMAGE]
    assert session_totals(simulator, namespace)["dropped"] > 0


def test_a_pod_disruption_budget_holds_the_eviction_until_it_allows_it(cluster, tmp_path, request):
    simulator, prometheus = cluster
    namespace = new_namespace(simulator, request.node.name)
    put_away(simulator, namespace, "StatefulSet")
    budget = {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": NAME},
              "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app.kubernetes.io/name": NAME}}}}
    simulator.kubectl("apply", "-n", namespace, "-f", "-", stdin=json.dumps(budget))
    outcome = {}
    play = threading.Thread(target=lambda: outcome.update(results=run_tasks(
        simulator.env, tmp_path, [drain(namespace, "StatefulSet", prometheus, eviction_timeout=60)])[1]))
    play.start()
    # The first pod drains, then its eviction is refused while the budget wants both pods.
    poll(lambda: serving_labels(simulator, namespace), lambda labels: labels == ["false", "true"], "calls-1 to leave rotation")
    time.sleep(3)
    assert sorted(set(pod_versions(simulator, namespace, NAME).values())) == ["%s:1.0" % IMAGE]
    simulator.kubectl("patch", "-n", namespace, "pdb", NAME, "--type=merge", "-p", '{"spec": {"minAvailable": 1}}')
    play.join(timeout=120)
    (drained,) = outcome["results"]
    assert drained.get("failed") is not True, drained
    assert sorted(set(pod_versions(simulator, namespace, NAME).values())) == ["%s:2.0" % IMAGE]
    assert session_totals(simulator, namespace)["dropped"] == 0


def test_a_killed_run_is_resumed_and_a_concurrent_run_refused(cluster, tmp_path, request):
    simulator, prometheus = cluster
    namespace = new_namespace(simulator, request.node.name)
    deploy(simulator, namespace, "Deployment", NAME, "1.0", replicas=3, session_rate=4, session_duration=60)
    new_version(simulator, namespace, "Deployment", NAME, "2.0")
    own = get(simulator, namespace, "deployment", NAME)
    module, arguments = drain(namespace, "Deployment", prometheus, lease_duration=3)
    playbook = write_play(tmp_path / "first.yml", [{"name": "drain", module: arguments}])
    first = Run(simulator.env, playbook, {}, str(tmp_path / "first.log"))
    # Wait until the first pod drains, then try a second run.
    poll(lambda: serving_labels(simulator, namespace).count("false"), lambda count: count == 1,
         "a pod to leave rotation (%s)" % first.log)
    before = resource_versions(simulator, namespace)
    _run, (second,) = run_tasks(simulator.env, tmp_path, [drain(namespace, "Deployment", prometheus)])
    assert second["failed"] is True and "is held by" in second["msg"] and "another run is rolling this workload" in second["msg"], second
    # The whole controller host dies: ansible-playbook and the module process it started.
    first.kill()
    assert resource_versions(simulator, namespace)[("ConfigMap", NAME + "-rollout")] == before[("ConfigMap", NAME + "-rollout")]
    draining = json.loads(ledger(simulator, namespace, NAME)["progress"])["current"]
    assert len(draining) == 1
    # Once its Lease has expired, a new run takes over and finishes the pod that was draining first.
    time.sleep(3.5)
    _run, (resumed,) = run_tasks(simulator.env, tmp_path, [drain(namespace, "Deployment", prometheus)])
    assert resumed.get("failed") is not True, resumed
    assert resumed["resumed"] is True and resumed["plan"][0] == draining, resumed["plan"]
    assert sorted(set(pod_versions(simulator, namespace, NAME).values())) == ["%s:2.0" % IMAGE]
    assert session_totals(simulator, namespace)["dropped"] == 0
    # No pod was drained twice: each old pod starts one drain in the history, and the interrupted one was resumed.
    history = json.loads(ledger(simulator, namespace, NAME)["history"])
    drained = [pod for entry in history if entry["action"] == "drain" for pod in entry["to"]["pods"]]
    assert len(drained) == len(set(drained)) == 3, drained
    assert [entry["to"]["pods"] for entry in history if entry["action"] == "resume"] == [draining]
    # The Deployment runs again as it was, apart from its template.
    after = get(simulator, namespace, "deployment", NAME)
    assert [after["spec"].get(field) for field in HELD_FIELDS] == [own["spec"].get(field) for field in HELD_FIELDS]
    assert not after["spec"].get("paused") and sorted(after["metadata"]["annotations"]) == sorted(own["metadata"]["annotations"])


def test_bad_input_is_refused_and_nothing_changes(cluster, tmp_path, request):
    simulator, prometheus = cluster
    namespace = new_namespace(simulator, request.node.name)
    put_away(simulator, namespace, "Deployment")
    before = resource_versions(simulator, namespace)
    writes = api_writes(simulator)
    cases = [
        (dict(batch_size=0), "batch_size must be at least 1, not 0"),
        (dict(batch_size=2), "batch_size 2 would take more pods out of rotation than max_unavailable 1 allows"),
        (dict(name="nope"), "Deployment %s/nope does not exist" % namespace),
        (dict(pod_selector="zone=nowhere"), "Deployment %s/%s: its selector matches no pod" % (namespace, NAME)),
        (dict(sessions_query="sum(kubesim_sessions_active)"), "must contain the pod placeholder {pod}"),
        (dict(drain_timeout=-1), "drain_timeout must not be negative, not -1"),
        (dict(kind="StatefulSet"), "StatefulSet %s/%s does not exist" % (namespace, NAME)),
    ]
    _run, results = run_tasks(simulator.env, tmp_path, [
        ("cxpe.rollout.rolling_drain", dict(drain(namespace, "Deployment", prometheus)[1], **arguments)) for arguments, _message in cases])
    for (arguments, message), result in zip(cases, results):
        assert result.get("failed") is True, (arguments, result)
        assert message in result["msg"], (message, result["msg"])
    assert api_writes(simulator) == writes
    assert resource_versions(simulator, namespace) == before
