# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Each strategy role killed at each of its write points - ansible-playbook and every process it started, SIGKILL,
as when the controller dies - then run again on the same controller: the new run takes the killed run's Lease over at
once (its process is gone), says so, and resumes as docs/bluegreen.md, canary.md and rolling.md describe; the routers
and the ledger agree at every point, no pod is drained twice, no session is cut, and the ledger shows both runs.

A run is stopped where a test wants it without timing guesses: its analysis calls a webhook the test holds closed,
and a watch of the cluster shows the state the run has reached before it is killed."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest
from bluegreen_support import apply, deployment, endpoint_pods, get, new_namespace, pod_names, router_objects, wait_rollout
from canary_support import canary_service
from interruption_support import Gates, Run, lease, ledger_history, named, watch
from playbook_support import run_playbook
from rolling_support import SERVING, deploy, pod_versions, session_totals

TIME_SCALE = 20


@pytest.fixture(name="cluster", scope="module")
def cluster_fixture(module_kubesim_factory):
    simulator = module_kubesim_factory(time_scale=TIME_SCALE)
    gates = Gates(simulator)
    yield simulator, gates
    gates.stop()


def configmaps(namespace):
    return "/api/v1/namespaces/%s/configmaps" % namespace


def took_over(run_output, namespace, name, holder):
    """Whether a run's output says it took the Lease over from `holder`, whose process was gone."""
    flat = " ".join(run_output.split())
    return ("Took over Lease %s/%s from %s, which held it since" % (namespace, name, holder) in flat
            and "its process %s is not running on" % holder.rsplit("/", 1)[1] in flat)


def assert_ran(result):
    run, counts = result
    assert run.returncode == 0 and counts["failed"] == 0, run.stdout + run.stderr
    # Warnings, such as a takeover, are on stderr.
    return run.stdout + run.stderr


# ----------------------------------------------------------------- blue/green --

def bluegreen_vars(namespace, gates):
    return {"bluegreen_namespace": namespace, "bluegreen_service": "web", "bluegreen_version": "2.0",
            "bluegreen_smoke_webhooks": [{"name": "smoke", "url": gates.gate(namespace + "-smoke")}],
            "bluegreen_analysis_webhooks": [{"name": "watch", "url": gates.gate(namespace + "-watch")}],
            "bluegreen_analysis_count": 1, "bluegreen_scale_down_delay": 1, "bluegreen_ready_timeout": 60}


def serving_color(simulator, namespace):
    """The color the Service sends the users to, checked against the pods behind it."""
    color = get(simulator, namespace, "service", "web")["spec"]["selector"]["cxpe.io/color"]
    assert endpoint_pods(simulator, namespace, "web") == pod_names(simulator, namespace, "web", color)
    return color


def test_bluegreen_killed_after_deploying_the_idle_color_then_after_the_switch(cluster, request, tmp_path):
    simulator, gates = cluster
    namespace = new_namespace(simulator, request.node.name)
    apply(simulator, namespace, deployment("web", "blue", "1.0", replicas=1), deployment("web", "green", "1.0", replicas=0),
          *router_objects("web", "service"))
    wait_rollout(simulator, namespace, "web-blue")
    gates.close(namespace + "-smoke")
    gates.close(namespace + "-watch")
    extra = bluegreen_vars(namespace, gates)

    # Killed after the new version is deployed on the idle color, Ready, while the smoke check runs.
    first = Run(simulator.env, "cxpe.rollout.bluegreen_upgrade", extra, str(tmp_path / "first.log"))
    watch(simulator, "/apis/apps/v1/namespaces/%s/deployments" % namespace, lambda found: ready_on(found.get("web-green"), "2.0"),
          "web-green to run 2.0, Ready", **named("web-green"))
    gates.wait_reached(namespace + "-smoke")
    first.kill()
    assert serving_color(simulator, namespace) == "blue"
    assert get(simulator, namespace, "service", "web-preview")["spec"]["selector"]["cxpe.io/color"] == "green"
    assert simulator.kubectl("get", "configmap", "web-rollout", "-n", namespace, check=False).returncode != 0
    assert lease(simulator, namespace, "web-rollout")["spec"]["holderIdentity"] == first.holder

    # Run again: it takes the Lease over, finds the routers on blue, deploys (nothing to change) and switches.
    # Killed after the switch, while the post-switch analysis runs.
    gates.open(namespace + "-smoke")
    second = Run(simulator.env, "cxpe.rollout.bluegreen_upgrade", extra, str(tmp_path / "second.log"))
    switched = watch(simulator, configmaps(namespace), lambda found: found.get("web-rollout"), "the switch to be recorded",
                     **named("web-rollout"))
    gates.wait_reached(namespace + "-watch")
    second.kill()
    assert took_over(second.output(), namespace, "web-rollout", first.holder), second.output()
    record = get(simulator, namespace, "configmap", "web-rollout")["data"]
    assert switched["data"]["active.color"] == record["active.color"] == serving_color(simulator, namespace) == "green"
    assert get(simulator, namespace, "service", "web-preview")["spec"]["selector"]["cxpe.io/color"] == "blue"
    assert (record["active.version"], record["previous.color"], record["previous.version"]) == ("2.0", "blue", "1.0")

    # Run again: it resumes after the switch - the analysis, then blue scaled down - and switches nothing back.
    gates.open(namespace + "-watch")
    third = assert_ran(run_playbook(simulator.env, "cxpe.rollout.bluegreen_upgrade", "-e", json.dumps(extra)))
    assert took_over(third, namespace, "web-rollout", second.holder), third
    assert "resuming after the switch, with blue as the previous color" in " ".join(third.split())
    record = get(simulator, namespace, "configmap", "web-rollout")["data"]
    assert (record["phase"], record["active.color"], record["active.version"], record["previous.color"], record["previous.version"]) == (
        "active", "green", "2.0", "blue", "1.0")
    assert serving_color(simulator, namespace) == "green"
    assert get(simulator, namespace, "deployment", "web-blue")["spec"]["replicas"] == 0
    # The ledger shows the second run's switch and the third run's takeover from it; the first run never reached it.
    history = ledger_history({"data": record})
    assert [entry["action"] for entry in history] == ["switch", "takeover"], history
    assert history[1]["from"]["holder"] == second.holder and history[1]["to"]["holder"] != second.holder
    assert lease(simulator, namespace, "web-rollout") is None


def ready_on(obj, version):
    if not obj:
        return None
    spec, status = obj["spec"], obj.get("status") or {}
    return (spec["template"]["metadata"]["labels"].get("app.kubernetes.io/version") == version and spec["replicas"] > 0
            and status.get("observedGeneration") == obj["metadata"]["generation"]
            and status.get("updatedReplicas") == status.get("readyReplicas") == spec["replicas"])


# --------------------------------------------------------------------- canary --

def test_canary_killed_mid_step_resumes_at_that_step(cluster, request, tmp_path):
    simulator, gates = cluster
    namespace = new_namespace(simulator, request.node.name)
    canary_service(simulator, namespace, "nginx", stable="1.0", canary="1.0", stable_replicas=1, canary_replicas=1)
    gates.close(namespace + "-analysis")
    extra = {"canary_namespace": namespace, "canary_service": "web", "canary_version": "2.0", "canary_routers": [{"kind": "nginx"}],
             "canary_schedule": [50, 100], "canary_prometheus_url": gates.url,
             "canary_analysis_metrics": [{"name": "errors", "query": "sum(errors)", "max": 0}],
             "canary_analysis_webhooks": [{"name": "hold", "url": gates.gate(namespace + "-analysis")}],
             "canary_analysis_count": 1, "canary_scale_down_delay": 0, "canary_ready_timeout": 60}

    # Killed at the first step: 50% of the traffic on the canary, its analysis running.
    first = Run(simulator.env, "cxpe.rollout.canary_upgrade", extra, str(tmp_path / "first.log"))
    watch(simulator, configmaps(namespace), lambda found: (found.get("web-rollout") or {}).get("data", {}).get("weight") == "50",
          "the canary to take 50%", **named("web-rollout"))
    gates.wait_reached(namespace + "-analysis")
    first.kill()
    record = get(simulator, namespace, "configmap", "web-rollout")["data"]
    assert (record["phase"], record["weight"], record["step"], record["canary.version"]) == ("progressing", "50", "0", "2.0")
    assert canary_weight(simulator, namespace) == "50"

    # Run again: it takes the Lease over and resumes at 50% - the step's analysis again, not the traffic moved back.
    gates.open(namespace + "-analysis")
    second = assert_ran(run_playbook(simulator.env, "cxpe.rollout.canary_upgrade", "-e", json.dumps(extra)))
    assert took_over(second, namespace, "web-rollout", first.holder), second
    assert "2.0 with 50% of the traffic: resuming the schedule there" in " ".join(second.split())
    record = get(simulator, namespace, "configmap", "web-rollout")["data"]
    assert (record["phase"], record["weight"], record["active.version"], record["previous.version"]) == ("promoted", "0", "2.0", "1.0")
    history = ledger_history({"data": record})
    assert [entry["action"] for entry in history] == ["weight", "takeover", "weight", "promote"], history
    assert [entry["to"].get("weight") for entry in history if entry["action"] == "weight"] == [50, 100]
    assert history[1]["from"]["holder"] == first.holder
    assert canary_weight(simulator, namespace) == "0"
    assert get(simulator, namespace, "deployment", "web-canary")["spec"]["replicas"] == 0
    assert get(simulator, namespace, "deployment", "web")["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/version"] == "2.0"
    assert lease(simulator, namespace, "web-rollout") is None


def canary_weight(simulator, namespace):
    return get(simulator, namespace, "ingress", "web-canary")["metadata"]["annotations"]["nginx.ingress.kubernetes.io/canary-weight"]


# -------------------------------------------------------------------- rolling --

def test_rolling_killed_mid_drain_resumes_without_draining_a_pod_twice(cluster, request, tmp_path):
    simulator, gates = cluster
    namespace = new_namespace(simulator, request.node.name)
    deploy(simulator, namespace, "Deployment", "calls", "1.0", replicas=2, session_rate=2, session_duration=20)
    extra = {"rolling_namespace": namespace, "rolling_name": "calls", "rolling_version": "2.0", "rolling_sessions_source": "http",
             "rolling_sessions_url": "%s/sessions/%s/{pod}" % (gates.url, namespace),
             # The first pod stays out of rotation for 3 s before its drain: the test kills the run in that time.
             "rolling_rotation_delay": 3, "rolling_poll_interval": 0.5, "rolling_progress_interval": 1,
             "rolling_drain_timeout": 60, "rolling_ready_timeout": 60}

    # Killed mid-drain: a pod out of rotation, its sessions still open.
    first = Run(simulator.env, "cxpe.rollout.rolling_upgrade", extra, str(tmp_path / "first.log"))
    drained = watch(simulator, "/api/v1/namespaces/%s/pods" % namespace, out_of_rotation, "a pod to leave rotation",
                    labelSelector="app.kubernetes.io/name=calls")
    first.kill()
    progress = json.loads(get(simulator, namespace, "configmap", "calls-rollout")["data"]["progress"])
    assert (progress["phase"], progress["current"]) == ("draining", drained)

    # Run again: it takes the Lease over and resumes with the pod that was draining.
    second = assert_ran(run_playbook(simulator.env, "cxpe.rollout.rolling_upgrade", "-e", json.dumps(extra)))
    assert took_over(second, namespace, "calls-rollout", first.holder), second
    assert sorted(set(pod_versions(simulator, namespace, "calls").values())) == ["registry.example.com/cxpe/web:2.0"]
    assert session_totals(simulator, namespace)["dropped"] == 0
    record = get(simulator, namespace, "configmap", "calls-rollout")["data"]
    assert record["phase"] == "completed"
    history = ledger_history({"data": record})
    actions = [entry["action"] for entry in history]
    assert actions == ["drain", "takeover", "resume", "drain", "complete"], actions
    assert history[1]["from"]["holder"] == first.holder
    started = [pod for entry in history if entry["action"] in ("drain", "resume") for pod in entry["to"]["pods"]]
    # The pod the killed run was draining is resumed, not drained again; every old pod is drained once.
    assert started[:2] == drained * 2 and len(set(started)) == 2, history
    assert not get(simulator, namespace, "deployment", "calls")["spec"].get("paused")
    assert lease(simulator, namespace, "calls-rollout") is None


def out_of_rotation(pods):
    drained = sorted(name for name, pod in pods.items() if pod["metadata"]["labels"].get(SERVING) == "false")
    return drained or None
