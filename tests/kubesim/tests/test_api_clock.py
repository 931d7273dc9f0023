"""The simulated world's one clock: every timestamp the server, the controllers and the kubelets
write runs at the time scale, and the durations measured from them match the simulated delays.

"Simulated now" is read the way a client can read it: the creationTimestamp of a ConfigMap
created just then (a probe), bracketed by the real moments around its creation.
"""

import datetime
import re
import time
from dataclasses import dataclass

import kubernetes
import pytest
from api_support import api_client, http, wait_until
from workload_support import IGNORES_SIGTERM, READY_AFTER, deployment, pod

SCALES = [1, 200]
# metav1.Time has one-second precision (truncated): a timestamp may read up to a second early.
PRECISION = 1.0
MICRO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


@dataclass
class Probe:
    stamp: float  # the simulated wall time the server stamped on it
    started: float  # real monotonic moments around the request
    finished: float


def probe(core, namespace):
    started = time.monotonic()
    created = core.create_namespaced_config_map(namespace, {"metadata": {"generateName": "probe-"}})
    finished = time.monotonic()
    return Probe(created.metadata.creation_timestamp.timestamp(), started, finished)


def epoch(stamp):
    return datetime.datetime.fromisoformat(stamp).timestamp()


def assert_between(stamp, before, after, what):
    """``stamp`` (epoch seconds) lies between two probes, allowing for one-second truncation."""
    assert before.stamp - PRECISION <= stamp <= after.stamp + PRECISION, (
        f"{what} at {stamp} is not between the simulated moments {before.stamp} and {after.stamp}")


def simulator_with_namespace(kubesim_factory, scale):
    simulator = kubesim_factory(time_scale=scale, nodes=1)
    core = kubernetes.client.CoreV1Api(api_client(simulator))
    core.create_namespace({"metadata": {"name": "clock"}})
    return simulator, core


@pytest.mark.parametrize("scale", SCALES)
def test_the_simulated_wall_clock_runs_at_the_time_scale(kubesim_factory, scale):
    _, core = simulator_with_namespace(kubesim_factory, scale)
    first = probe(core, "clock")
    time.sleep(1.0)
    second = probe(core, "clock")

    shortest, longest = second.started - first.finished, second.finished - first.started
    assert shortest * scale - PRECISION <= second.stamp - first.stamp <= longest * scale + PRECISION


@pytest.mark.parametrize("scale", SCALES)
def test_a_deletion_timestamp_is_the_simulated_now_plus_the_grace_period(kubesim_factory, scale):
    _, core = simulator_with_namespace(kubesim_factory, scale)
    core.create_namespaced_pod("clock", pod("web", {"app": "web"}))
    wait_until(lambda: core.read_namespaced_pod("web", "clock").status.phase == "Running", message="the pod to run")

    before = probe(core, "clock")
    deleting = core.delete_namespaced_pod("web", "clock", grace_period_seconds=30)
    after = probe(core, "clock")

    assert deleting.metadata.deletion_grace_period_seconds == 30
    assert_between(deleting.metadata.deletion_timestamp.timestamp() - 30, before, after, "deletionTimestamp - 30s")


def test_a_terminating_pod_goes_when_the_simulated_clock_reaches_its_deletion_timestamp(kubesim_factory):
    _, core = simulator_with_namespace(kubesim_factory, 200)
    # An app that ignores SIGTERM runs until the kubelet kills it at the deletion timestamp.
    core.create_namespaced_pod("clock", pod("web", {"app": "web"}, annotations=IGNORES_SIGTERM))
    wait_until(lambda: core.read_namespaced_pod("web", "clock").status.phase == "Running", message="the pod to run")
    deadline = core.delete_namespaced_pod("web", "clock", grace_period_seconds=30).metadata.deletion_timestamp.timestamp()

    wait_until(lambda: not core.list_namespaced_pod("clock", field_selector="metadata.name=web").items, message="the pod to go")
    assert probe(core, "clock").stamp >= deadline - PRECISION


def test_the_controllers_and_kubelet_stamp_simulated_time_and_measure_delays_on_it(kubesim_factory):
    simulator, core = simulator_with_namespace(kubesim_factory, 200)
    apps = kubernetes.client.AppsV1Api(core.api_client)
    before = probe(core, "clock")
    apps.create_namespaced_deployment("clock", deployment("web", replicas=1, annotations={READY_AFTER: "20"}))
    simulator.kubectl("rollout", "status", "deployment/web", "-n", "clock", "--timeout=30s")
    after = probe(core, "clock")

    web = core.list_namespaced_pod("clock").items[0]
    started = web.status.start_time.timestamp()
    assert_between(web.metadata.creation_timestamp.timestamp(), before, after, "the pod's creationTimestamp")
    assert_between(started, before, after, "the pod's startTime")
    assert_between(web.status.container_statuses[0].state.running.started_at.timestamp(), before, after, "the container's startedAt")
    ready = next(c for c in web.status.conditions if c.type == "Ready")
    assert_between(ready.last_transition_time.timestamp(), before, after, "the Ready condition's lastTransitionTime")
    # Ready 20 simulated seconds after the start, and the timestamps say so.
    assert ready.last_transition_time.timestamp() - started >= 20 - PRECISION

    rollout = apps.read_namespaced_deployment("web", "clock")
    for condition in rollout.status.conditions:
        assert_between(condition.last_update_time.timestamp(), before, after, f"the {condition.type} condition's lastUpdateTime")

    events = http(simulator, "GET", "/api/v1/namespaces/clock/events")[1]["items"]
    assert {e["reason"] for e in events} >= {"ScalingReplicaSet", "SuccessfulCreate", "Scheduled", "Started"}
    for event in events:
        if event.get("eventTime"):  # the scheduler's events.k8s.io shape: a MicroTime
            assert MICRO_TIME.match(event["eventTime"]), event["eventTime"]
            stamps = ("eventTime",)
        else:
            stamps = ("firstTimestamp", "lastTimestamp")
        for stamp in stamps:
            assert_between(epoch(event[stamp]), before, after, f"the {event['reason']} Event's {stamp}")


def age_seconds(text):
    """kubectl's AGE as (at least, less than) seconds: 45s, 3m20s, 7m (a whole minute past ten)."""
    match = re.fullmatch(r"(?:(\d+)m)?(?:(\d+)s)?", text)
    assert match and text, f"unexpected AGE {text!r}"
    minutes, seconds = int(match.group(1) or 0), int(match.group(2) or 0)
    low = minutes * 60 + seconds
    return low, low + (60 if match.group(2) is None else 1)


@pytest.mark.parametrize("scale", SCALES)
def test_kubectl_get_shows_ages_on_the_simulated_clock(kubesim_factory, scale):
    simulator, core = simulator_with_namespace(kubesim_factory, scale)
    created = core.create_namespaced_config_map("clock", {"metadata": {"name": "aged"}}).metadata.creation_timestamp.timestamp()
    time.sleep(1.0)

    before = probe(core, "clock")
    row = simulator.kubectl("get", "configmap", "aged", "-n", "clock", "--no-headers").stdout.split()
    after = probe(core, "clock")

    low, high = age_seconds(row[-1])
    assert low <= after.stamp - created + PRECISION and high > before.stamp - created - PRECISION, (row, before.stamp - created)
    # A real second went by since the creation: that is `scale` simulated ones.
    assert high > scale - PRECISION, row
