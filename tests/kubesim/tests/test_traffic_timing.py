"""Zero-downtime verdicts that depend on timing: routers that learn of changes late, and pods that stop the way real apps do.

Each scenario runs at time scales 1, 20 and 200: what a change costs is measured in simulated
seconds, whatever the real time it takes.
"""

import json
import time

import kubernetes
import pytest
import yaml
from api_support import api_client, http
from traffic_support import (
    apply, count, entry_count, manifest, new_namespace, poll, propagate, scrape, start_traffic, traffic_annotations,
    wait_for_endpoints, wait_for_metrics,
)
from workload_support import deployment, pod, rollout_status, service

TIME_SCALES = [1, 20, 200]
# Requests per *real* second: the simulated rate of each scenario is this divided by its time scale,
# so every scale simulates as many requests in a real second.
REAL_REQUEST_RATE = 2000
KUBE_PROXY_DELAY = 1.0  # simulated seconds, the default
FAST_START = {"kubesim.cxpe.io/ready-after": "0.5"}


def color_deployment(color, version, annotations=None, grace_seconds=30, replicas=3):
    manifest_ = deployment(f"web-{color}", replicas=replicas, version=version, annotations={**FAST_START, **(annotations or {})},
                           grace_seconds=grace_seconds)
    for labels in (manifest_["metadata"]["labels"], manifest_["spec"]["selector"]["matchLabels"], manifest_["spec"]["template"]["metadata"]["labels"]):
        labels.update(app="web", color=color)
    return manifest_


def pod_names(simulator, namespace, selector):
    return sorted(simulator.kubectl("get", "pods", "-n", namespace, "-l", selector, "-o", "jsonpath={.items[*].metadata.name}").stdout.split())


def blue_green(simulator, request, rate):
    """Blue (1.0) and green (2.0), three pods each, behind Service web that selects blue and takes ``rate`` requests a second."""
    namespace = new_namespace(simulator, request.node.name)
    apply(simulator, namespace, color_deployment("blue", "1.0"), color_deployment("green", "2.0"), service("web", {"app": "web", "color": "blue"}))
    for color in ("blue", "green"):
        rollout_status(simulator, namespace, f"deployment/web-{color}")
    wait_for_endpoints(simulator, namespace, "web", pod_names(simulator, namespace, "color=blue"))
    propagate(simulator)
    start_traffic(simulator, namespace, "web", request_rate=rate)
    wait_for_metrics(simulator, lambda s: count(s, "requests_total", namespace) >= rate, "traffic through blue")
    return namespace


def switch_selector(simulator, namespace, color):
    simulator.kubectl("patch", "service", "web", "-n", namespace, "--type=merge", "-p", f'{{"spec": {{"selector": {{"color": "{color}"}}}}}}')


def scale(simulator, namespace, color, replicas):
    simulator.kubectl("scale", f"deployment/web-{color}", "-n", namespace, f"--replicas={replicas}")


def failures(samples, namespace):
    return count(samples, "request_errors_total", namespace)


@pytest.mark.parametrize("time_scale", TIME_SCALES)
def test_scaling_the_old_color_down_before_switching_fails_requests_and_switching_first_fails_none(kubesim_factory, request, time_scale):
    simulator = kubesim_factory(time_scale=time_scale)
    rate = REAL_REQUEST_RATE / time_scale

    wrong = blue_green(simulator, request, rate)
    scale(simulator, wrong, "blue", 0)
    switch_selector(simulator, wrong, "green")
    wait_for_endpoints(simulator, wrong, "web", pod_names(simulator, wrong, "color=green"))
    propagate(simulator)
    # The old pods refuse connections from their SIGTERM on, while kube-proxy still sends them traffic for a second.
    assert failures(scrape(simulator), wrong) >= rate * KUBE_PROXY_DELAY

    right = blue_green(simulator, request, rate)
    switch_selector(simulator, right, "green")
    wait_for_endpoints(simulator, right, "web", pod_names(simulator, right, "color=green"))
    propagate(simulator)
    scale(simulator, right, "blue", 0)
    poll(lambda: pod_names(simulator, right, "color=blue"), lambda names: not names, "the blue pods to go")
    propagate(simulator)
    samples = scrape(simulator)
    assert failures(samples, right) == 0
    assert count(samples, "requests_total", right, version="2.0") >= rate


@pytest.mark.parametrize("time_scale", TIME_SCALES)
def test_a_prestop_sleep_longer_than_the_router_lag_lets_a_rolling_update_drop_nothing(kubesim_factory, request, time_scale):
    simulator = kubesim_factory(time_scale=time_scale)
    outcomes = {}
    for prestop in (None, 5):
        namespace = new_namespace(simulator, request.node.name)
        web = deployment("web", replicas=3, annotations=FAST_START)
        if prestop:
            web["spec"]["template"]["spec"]["containers"][0]["lifecycle"] = {"preStop": {"exec": {"command": ["sh", "-c", f"sleep {prestop}"]}}}
        apply(simulator, namespace, web, service("web"))
        rollout_status(simulator, namespace, "deployment/web")
        propagate(simulator)
        start_traffic(simulator, namespace, "web", request_rate=REAL_REQUEST_RATE / time_scale, session_rate=200 / time_scale, session_duration=2)
        wait_for_metrics(simulator, lambda s, namespace=namespace: count(s, "sessions_started_total", namespace) >= 5, "sessions")
        simulator.kubectl("set", "image", "deployment/web", "-n", namespace, "web=registry.example.com/cxpe/web:2.0")
        rollout_status(simulator, namespace, "deployment/web")
        poll(lambda namespace=namespace: pod_names(simulator, namespace, "app=web"), lambda names: len(names) == 3, "the old pods to go")
        propagate(simulator)
        outcomes[prestop] = scrape(simulator), namespace

    without_hook, namespace = outcomes[None]
    assert entry_count(without_hook, "request_errors_total", namespace, reason="refused") > 0
    with_hook, namespace = outcomes[5]
    assert failures(with_hook, namespace) == 0
    assert count(with_hook, "sessions_dropped_total", namespace) == 0
    assert count(with_hook, "sessions_completed_total", namespace, version="1.0") > 0


@pytest.mark.parametrize("time_scale", [1, 20])
def test_a_window_without_endpoints_fails_the_requests_that_arrive_in_it(kubesim_factory, request, time_scale):
    """Requests are judged at their own instants, not at the traffic model's ticks."""
    simulator = kubesim_factory(time_scale=time_scale)
    namespace = new_namespace(simulator, request.node.name)
    apply(simulator, namespace, pod("web-0", {"app": "web"}), manifest("v1", "Service", "web", {"ports": [{"port": 80}]}))
    ready = poll(lambda: http(simulator, "GET", f"/api/v1/namespaces/{namespace}/pods/web-0")[1],
                 lambda found: any(c["type"] == "Ready" and c["status"] == "True" for c in found.get("status", {}).get("conditions", [])), "web-0 Ready")
    endpoint = {"addresses": [ready["status"]["podIP"]], "conditions": {"ready": True},
                "targetRef": {"kind": "Pod", "namespace": namespace, "name": "web-0", "uid": ready["metadata"]["uid"]}}
    path = f"/apis/discovery.k8s.io/v1/namespaces/{namespace}/endpointslices"
    slice_ = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": "IPv4", "endpoints": [endpoint],
              "metadata": {"name": "web-manual", "labels": {"kubernetes.io/service-name": "web"}}, "ports": [{"port": 8080}]}
    assert http(simulator, "POST", path, slice_)[0] == 201
    propagate(simulator)
    rate = 1000 / time_scale  # a thousand requests per real second
    start_traffic(simulator, namespace, "web", request_rate=rate)
    wait_for_metrics(simulator, lambda s: count(s, "requests_total", namespace) >= 100, "traffic")

    empty = {"endpoints": None}
    sent_first = time.monotonic()
    assert http(simulator, "PATCH", f"{path}/web-manual", empty, "application/merge-patch+json")[0] == 200
    answered_first = time.monotonic()
    time.sleep(0.05)
    sent_second = time.monotonic()
    assert http(simulator, "PATCH", f"{path}/web-manual", {"endpoints": [endpoint]}, "application/merge-patch+json")[0] == 200
    answered_second = time.monotonic()
    propagate(simulator)

    failed = failures(scrape(simulator), namespace)
    # The window opened between the first request and its answer and closed between the second's; a thousand a second fail in it.
    assert 1000 * (sent_second - answered_first) - 1 <= failed <= 1000 * (answered_second - sent_first) + 1


def test_grace_period_zero_cuts_what_is_in_flight(kubesim, request):
    namespace = new_namespace(kubesim, request.node.name)
    apply(kubesim, namespace, pod("web-0", {"app": "web"}, annotations=FAST_START), pod("web-1", {"app": "web"}, annotations=FAST_START), service("web"))
    wait_for_endpoints(kubesim, namespace, "web", ["web-0", "web-1"])
    propagate(kubesim)
    start_traffic(kubesim, namespace, "web", request_rate=40, request_duration=5, session_rate=2, session_duration=100000)
    # More than one request duration of traffic on web-0 (about 20 requests a second), so its in-flight count is full.
    wait_for_metrics(kubesim, lambda s: count(s, "sessions_active", namespace, pod="web-0") >= 2
                     and count(s, "requests_total", namespace, pod="web-0") >= 150, "sessions and requests on web-0")

    kubernetes.client.CoreV1Api(api_client(kubesim)).delete_namespaced_pod("web-0", namespace, grace_period_seconds=0)

    samples = wait_for_metrics(kubesim, lambda s: count(s, "sessions_active", namespace, pod="web-0") == 0, "web-0's sessions to end")
    assert count(samples, "sessions_dropped_total", namespace, pod="web-0") >= 2
    # Five seconds of requests at about twenty a second each were on web-0 when it went.
    assert entry_count(samples, "request_errors_total", namespace, reason="reset") >= 50
    assert count(samples, "request_errors_total", namespace, pod="web-1") == 0


@pytest.mark.parametrize("on_sigterm, dropped", [("exit", True), ("drain", False)])
def test_after_its_prestop_hook_an_app_exits_or_drains_as_it_is_written_to(kubesim, request, on_sigterm, dropped):
    namespace = new_namespace(kubesim, request.node.name)
    behaviour = {**FAST_START, "kubesim.cxpe.io/on-sigterm": on_sigterm}
    doomed = pod("calls-0", {"app": "calls"}, annotations=behaviour, grace_seconds=3600)
    doomed["spec"]["containers"][0]["lifecycle"] = {"preStop": {"sleep": {"seconds": 5}}}
    apply(kubesim, namespace, doomed, pod("calls-1", {"app": "calls"}, annotations=FAST_START), service("calls"))
    wait_for_endpoints(kubesim, namespace, "calls", ["calls-0", "calls-1"])
    propagate(kubesim)
    start_traffic(kubesim, namespace, "calls", session_rate=4, session_duration=20)
    wait_for_metrics(kubesim, lambda s: count(s, "sessions_active", namespace, pod="calls-0") >= 3, "sessions on calls-0")

    deleted_at = time.monotonic()
    kubesim.kubectl("delete", "pod", "calls-0", "-n", namespace, "--wait=false")
    poll(lambda: pod_names(kubesim, namespace, "app=calls"), lambda names: names == ["calls-1"], "calls-0 to go")
    gone_after = (time.monotonic() - deleted_at) * kubesim.time_scale

    samples = scrape(kubesim)
    assert 5 <= gone_after < 3600
    assert (count(samples, "sessions_dropped_total", namespace, pod="calls-0") > 0) is dropped
    assert count(samples, "sessions_active", namespace, pod="calls-0") == 0
    # The preStop hook outlasts kube-proxy's lag, so no new session was refused.
    assert count(samples, "request_errors_total", namespace) == 0


def test_readiness_gates_keep_a_pod_out_of_endpoints_and_traffic_until_their_condition_is_true(kubesim, request):
    namespace = new_namespace(kubesim, request.node.name)
    gated = pod("web-0", {"app": "web"}, annotations=FAST_START)
    gated["spec"]["readinessGates"] = [{"conditionType": "example.com/load-balancer-ready"}]
    apply(kubesim, namespace, gated, pod("web-1", {"app": "web"}, annotations=FAST_START), service("web"))
    wait_for_endpoints(kubesim, namespace, "web", ["web-1"])
    waiting = poll(lambda: http(kubesim, "GET", f"/api/v1/namespaces/{namespace}/pods/web-0")[1],
                   lambda found: all(c.get("ready") for c in found["status"].get("containerStatuses") or [{}]), "web-0's container ready")
    ready = next(c for c in waiting["status"]["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "ReadinessGatesNotReady")
    assert ready["message"] == 'corresponding condition of pod readiness gate "example.com/load-balancer-ready" does not exist.'
    propagate(kubesim)
    start_traffic(kubesim, namespace, "web", request_rate=50)
    wait_for_metrics(kubesim, lambda s: count(s, "requests_total", namespace) >= 50, "traffic")
    assert count(scrape(kubesim), "requests_total", namespace, pod="web-0") == 0

    condition = {"type": "example.com/load-balancer-ready", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"}
    kubesim.kubectl("patch", "pod", "web-0", "-n", namespace, "--subresource=status", "--type=strategic", "-p",
                    json.dumps({"status": {"conditions": [condition]}}))
    wait_for_endpoints(kubesim, namespace, "web", ["web-0", "web-1"])
    wait_for_metrics(kubesim, lambda s: count(s, "requests_total", namespace, pod="web-0") >= 10, "traffic to web-0")


def test_a_pod_listed_by_publish_not_ready_addresses_still_fails_requests_until_it_is_ready(kubesim, request):
    namespace = new_namespace(kubesim, request.node.name)
    web = service("web")
    web["spec"]["publishNotReadyAddresses"] = True
    apply(kubesim, namespace, pod("web-0", {"app": "web"}, annotations={"kubesim.cxpe.io/crash-loop": "true"}),
          pod("web-1", {"app": "web"}, annotations=FAST_START), web)
    wait_for_endpoints(kubesim, namespace, "web", ["web-0", "web-1"])
    propagate(kubesim)
    start_traffic(kubesim, namespace, "web", request_rate=100)

    samples = wait_for_metrics(kubesim, lambda s: count(s, "requests_total", namespace) >= 200, "traffic")
    crashing = count(samples, "requests_total", namespace, pod="web-0")
    assert crashing > 0 and count(samples, "request_errors_total", namespace, pod="web-0") == crashing
    assert count(samples, "request_errors_total", namespace, pod="web-1") == 0
    assert entry_count(samples, "request_errors_total", namespace, reason="refused") == crashing


def test_clients_keep_calling_a_service_replaced_without_its_traffic_annotations_until_told_to_stop(kubesim, request):
    namespace = new_namespace(kubesim, request.node.name)
    apply(kubesim, namespace, pod("web-0", {"app": "web"}, annotations=FAST_START), service("web"))
    wait_for_endpoints(kubesim, namespace, "web", ["web-0"])
    propagate(kubesim)
    start_traffic(kubesim, namespace, "web", request_rate=100)
    wait_for_metrics(kubesim, lambda s: count(s, "requests_total", namespace) >= 50, "traffic")

    kubesim.kubectl("replace", "-n", namespace, "-f", "-", stdin=yaml.safe_dump(service("web")))
    before = scrape(kubesim)
    after = wait_for_metrics(kubesim, lambda s: entry_count(s, "requests_total", namespace) >= entry_count(before, "requests_total", namespace) + 100,
                             "traffic to go on")
    assert failures(after, namespace) == 0

    kubesim.kubectl("annotate", "--overwrite", "-n", namespace, "service", "web", *(f"{k}={v}" for k, v in traffic_annotations(request_rate=0).items()))
    stopped = entry_count(scrape(kubesim), "requests_total", namespace)
    propagate(kubesim)
    assert entry_count(scrape(kubesim), "requests_total", namespace) == stopped


def test_propagation_delays_follow_the_command_line_and_an_entry_can_set_its_own(kubesim_factory, request):
    simulator = kubesim_factory(extra_args=["--propagation-delay", "kube-proxy=20"])
    namespace = blue_green(simulator, request, rate=50)
    simulator.kubectl("annotate", "-n", namespace, "service", "web", "kubesim.cxpe.io/propagation-delay=6")
    propagate(simulator, 6)
    settled = scrape(simulator)
    switched_at = time.monotonic()
    switch_selector(simulator, namespace, "green")
    before = scrape(simulator)
    after = wait_for_metrics(simulator, lambda s: count(s, "requests_total", namespace, version="2.0") > count(before, "requests_total", namespace, version="2.0"),
                             "the first request to green")
    simulated = (time.monotonic() - switched_at) * simulator.time_scale
    # The entry's own six seconds, not the command line's twenty.
    assert 6 <= simulated < 20
    assert failures(after, namespace) == failures(settled, namespace)
