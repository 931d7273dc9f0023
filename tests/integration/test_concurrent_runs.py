# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Two runs upgrading the same service at once: the second is refused by the first's Lease, naming its holder and
since when, before it writes anything, whatever the strategy; a Lease left by a run killed on another controller
refuses every run until it expires, and is then taken over, the takeover in the run's output and the ledger."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import time

import pytest
import yaml
from ansible_collections.cxpe.rollout.plugins.module_utils import ledger as ledgers
from bluegreen_support import apply, deployment, get, new_namespace, resource_versions, router_objects, wait_rollout
from canary_support import canary_service
from interruption_support import Gates, Run, lease, ledger_history, named, watch
from playbook_support import run_playbook, write_play
from rolling_support import deploy

TIME_SCALE = 20
FOREIGN = "ops@controller-2/4242"


@pytest.fixture(name="cluster", scope="module")
def cluster_fixture(module_kubesim_factory):
    simulator = module_kubesim_factory(time_scale=TIME_SCALE)
    gates = Gates(simulator)
    yield simulator, gates
    gates.stop()


def bluegreen_service(simulator, namespace, name):
    apply(simulator, namespace, deployment(name, "blue", "1.0", replicas=1), deployment(name, "green", "1.0", replicas=0),
          *router_objects(name, "service"))
    wait_rollout(simulator, namespace, name + "-blue")


def bluegreen_vars(namespace, name, version, **extra):
    return dict({"bluegreen_namespace": namespace, "bluegreen_service": name, "bluegreen_version": version,
                 "bluegreen_scale_down_delay": 1, "bluegreen_ready_timeout": 60}, **extra)


def held_by(simulator, namespace, name):
    spec = lease(simulator, namespace, name)["spec"]
    return spec["holderIdentity"], spec["acquireTime"]


def test_a_second_run_is_refused_by_the_first_run_s_lease_and_changes_nothing(cluster, request, tmp_path):
    simulator, gates = cluster
    namespace = new_namespace(simulator, request.node.name)
    bluegreen_service(simulator, namespace, "web")
    gates.close(namespace + "-smoke")
    # The first run holds its Lease, green deployed with 2.0, waiting on its smoke check.
    first = Run(simulator.env, "cxpe.rollout.bluegreen_upgrade", bluegreen_vars(
        namespace, "web", "2.0", bluegreen_lease_duration=3, bluegreen_smoke_webhooks=[{"name": "smoke", "url": gates.gate(namespace + "-smoke")}]),
        str(tmp_path / "first.log"))
    gates.wait_reached(namespace + "-smoke")
    holder, since = held_by(simulator, namespace, "web-rollout")
    assert holder == first.holder
    # It keeps renewing its Lease, every third of its 3 s, while it waits.
    renewed = lease(simulator, namespace, "web-rollout")["spec"]["renewTime"]
    watch(simulator, "/apis/coordination.k8s.io/v1/namespaces/%s/leases" % namespace,
          lambda found: found["web-rollout"]["spec"]["renewTime"] > renewed, "the Lease to be renewed", seconds=10, **named("web-rollout"))
    before = resource_versions(simulator, namespace)

    # The second run, upgrading the same service to another version, is refused before it writes anything.
    second, _counts = run_playbook(simulator.env, "cxpe.rollout.bluegreen_upgrade", "-e", json.dumps(bluegreen_vars(namespace, "web", "3.0")))
    message = " ".join(second.stdout.split())
    assert second.returncode != 0, second.stdout
    assert "Lease %s/web-rollout is held by %s since %s (renewed " % (namespace, first.holder, since) in message, message
    assert "; its process %d is running on " % first.process.pid in message and "another run is rolling this workload" in message
    assert resource_versions(simulator, namespace) == before
    assert held_by(simulator, namespace, "web-rollout") == (holder, since)

    # The first run goes on, unharmed, and gives its Lease back.
    gates.open(namespace + "-smoke")
    assert first.process.wait(timeout=300) == 0, first.output()
    record = get(simulator, namespace, "configmap", "web-rollout")["data"]
    assert (record["active.color"], record["active.version"]) == ("green", "2.0")
    assert lease(simulator, namespace, "web-rollout") is None


def foreign_lease(simulator, namespace, name, duration):
    """A Lease as a run on another controller holds it, renewed now."""
    now = datetime.datetime.now(datetime.timezone.utc)
    spec = {"holderIdentity": FOREIGN, "leaseDurationSeconds": duration, "renewTime": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "acquireTime": (now - datetime.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")}
    simulator.kubectl("apply", "-n", namespace, "-f", "-", stdin=yaml.safe_dump(
        {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": name}, "spec": spec}))
    return spec


def test_a_lease_left_on_another_controller_refuses_every_strategy_until_it_expires_then_is_taken_over(cluster, request, tmp_path):
    simulator, _gates = cluster
    namespace = new_namespace(simulator, request.node.name)
    bluegreen_service(simulator, namespace, "bg")
    canary_service(simulator, namespace, "nginx", service_name="cn", stable="1.0", canary="1.0", stable_replicas=1, canary_replicas=1)
    deploy(simulator, namespace, "Deployment", "rl", "1.0", replicas=1, session_rate=0)
    # bg has a ledger already, from an earlier switch to blue.
    now = ledgers.timestamp()
    apply(simulator, namespace, ledgers.render(ledgers.record(
        ledgers.new_ledger("bg", "blue_green", now), "switch", {"color": "green", "version": "0.9"}, {"color": "blue", "version": "1.0"},
        "CHG-1", "ops", now, phase="active", active={"color": "blue", "version": "1.0"}, previous={"color": "green", "version": "0.9"},
        weight=100), namespace))
    # Runs on controller-2 hold the Lease of each service, renewing them.
    leases = dict((name, foreign_lease(simulator, namespace, name + "-rollout", 60)) for name in ("bg", "cn", "rl"))
    before = resource_versions(simulator, namespace)

    # An upgrade of each, with each strategy, is refused before it writes anything.
    upgrades = [("cxpe.rollout.bluegreen", {"bluegreen_namespace": namespace, "bluegreen_service": "bg", "bluegreen_version": "2.0"}),
                ("cxpe.rollout.canary", {"canary_namespace": namespace, "canary_service": "cn", "canary_version": "2.0",
                                         "canary_routers": [{"kind": "nginx"}], "canary_prometheus_url": "http://127.0.0.1:9"}),
                ("cxpe.rollout.rolling", {"rolling_namespace": namespace, "rolling_name": "rl", "rolling_version": "2.0",
                                          "rolling_sessions_source": "annotation"})]
    refusals = refused_runs(simulator, tmp_path, upgrades)
    for (role, _variables), name, refusal in zip(upgrades, ("bg", "cn", "rl"), refusals):
        assert refusal == (
            "Lease %s/%s-rollout is held by %s since %s (renewed %s; it expires at %s unless renewed): another run is rolling this "
            "workload" % (namespace, name, FOREIGN, leases[name]["acquireTime"], leases[name]["renewTime"], expiry(leases[name]))), (role, refusal)
    assert resource_versions(simulator, namespace) == before

    # controller-2 is gone: its last renewal was now, with a duration of 2 s. Once that has passed, a run takes over.
    left = foreign_lease(simulator, namespace, "bg-rollout", 2)
    time.sleep(max(parse(expiry(left)) - time.time(), 0) + 0.2)
    run, counts = run_playbook(simulator.env, "cxpe.rollout.bluegreen_upgrade", "-e", json.dumps(bluegreen_vars(namespace, "bg", "2.0")))
    assert run.returncode == 0 and counts["failed"] == 0, run.stdout + run.stderr
    output = " ".join((run.stdout + run.stderr).split())
    assert ("Took over Lease %s/bg-rollout from %s, which held it since %s (renewed %s): it expired at %s, 2s after its last renewal"
            % (namespace, FOREIGN, left["acquireTime"], left["renewTime"], expiry(left))) in output, output
    history = ledger_history(get(simulator, namespace, "configmap", "bg-rollout"))
    assert [entry["action"] for entry in history] == ["switch", "takeover", "switch"], history
    assert history[1]["from"] == {"holder": FOREIGN, "since": left["acquireTime"], "renewed": left["renewTime"]}
    assert get(simulator, namespace, "service", "bg")["spec"]["selector"]["cxpe.io/color"] == "green"
    assert lease(simulator, namespace, "bg-rollout") is None


def expiry(spec):
    renewed = datetime.datetime.strptime(spec["renewTime"], "%Y-%m-%dT%H:%M:%S.%fZ")
    return (renewed + datetime.timedelta(seconds=spec["leaseDurationSeconds"])).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse(microtime):
    return datetime.datetime.strptime(microtime, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp()


def refused_runs(simulator, tmp_path, upgrades):
    """Run each (role, variables) in one play, each in a block whose rescue keeps its failure; the failures' messages."""
    tasks = []
    for index, (role, variables) in enumerate(upgrades):
        tasks.append({"name": "upgrade %d" % index, "block": [{"name": "run %s" % role, "ansible.builtin.include_role": {"name": role}, "vars": variables}],
                      "rescue": [{"name": "keep the failure", "ansible.builtin.set_fact": {"refused_%d" % index: "{{ ansible_failed_result.msg }}"}}]})
    results = tmp_path / "refusals.json"
    tasks.append({"name": "save the failures", "ansible.builtin.copy": {"dest": str(results), "mode": "0600", "content": "{{ [%s] | to_json }}" % ", ".join(
        "refused_%d | default(None)" % index for index in range(len(upgrades)))}})
    run, _counts = run_playbook(simulator.env, write_play(tmp_path / "refused.yml", tasks))
    assert results.exists(), run.stdout + run.stderr
    return json.loads(results.read_text())
