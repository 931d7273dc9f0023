"""How pods serve simulated traffic (error ratios, sessions, drain and drop) and the exposition that reports it."""

import shutil
import subprocess
import urllib.request

import prometheus_text
from traffic_support import apply, count, new_namespace, pod, scrape, service, start_traffic, wait_for_endpoints, wait_for_metrics

FAMILIES = {
    "requests_total": "counter", "request_errors_total": "counter", "sessions_started_total": "counter",
    "sessions_completed_total": "counter", "sessions_dropped_total": "counter", "sessions_active": "gauge",
}
# Sessions this long never end within a test.
ENDLESS_SESSION_SECONDS = 10_000_000


def sessions(samples, namespace, pod_name):
    """{family: value} of the session families for one pod."""
    return {family: count(samples, f"sessions_{family}", namespace, pod=pod_name) for family in ("started_total", "completed_total", "dropped_total", "active")}


def assert_sessions_add_up(samples, namespace, pod_name):
    pod_sessions = sessions(samples, namespace, pod_name)
    assert pod_sessions["started_total"] == pod_sessions["completed_total"] + pod_sessions["dropped_total"] + pod_sessions["active"], pod_sessions
    return pod_sessions


def two_pod_service(simulator, namespace, app):
    names = [f"{app}-a", f"{app}-b"]
    apply(simulator, namespace, *(pod(name, {"app": app}) for name in names), service(app, {"app": app}))
    wait_for_endpoints(simulator, namespace, app, names)
    return names


def test_pods_fail_the_share_of_requests_their_error_ratio_or_image_tag_gives(shared_kubesim, request):
    namespace = new_namespace(shared_kubesim, request.node.name)
    ratios = {"flaky": 0.25, "broken": 0.5, "healthy": 0.0}
    apply(shared_kubesim, namespace,
          pod("flaky", {"app": "web"}, annotations={"kubesim.cxpe.io/error-ratio": "0.25"}),
          pod("broken", {"app": "web"}, image_tag="2.0-errors50"),
          pod("healthy", {"app": "web"}),
          service("web", {"app": "web"}))
    wait_for_endpoints(shared_kubesim, namespace, "web", list(ratios))
    start_traffic(shared_kubesim, namespace, "web", request_rate=300)

    samples = wait_for_metrics(shared_kubesim, lambda s: count(s, "requests_total", namespace) >= 900, "900 requests")

    for name, ratio in ratios.items():
        requests = count(samples, "requests_total", namespace, pod=name)
        assert requests > 0
        assert abs(count(samples, "request_errors_total", namespace, pod=name) - ratio * requests) <= 1, name
    by_version = {"service": "web", "version": "2.0-errors50"}
    assert count(samples, "service_request_errors_total", namespace, **by_version) == count(samples, "request_errors_total", namespace, pod="broken")


def test_deleting_a_pod_that_holds_sessions_drops_them(shared_kubesim, request):
    namespace = new_namespace(shared_kubesim, request.node.name)
    doomed, survivor = two_pod_service(shared_kubesim, namespace, "calls")
    start_traffic(shared_kubesim, namespace, "calls", session_rate=2, session_duration=ENDLESS_SESSION_SECONDS)
    held = wait_for_metrics(shared_kubesim, lambda s: min(count(s, "sessions_active", namespace, pod=name) for name in (doomed, survivor)) >= 3,
                            "sessions on both pods")

    shared_kubesim.kubectl("delete", "pod", doomed, "-n", namespace, "--grace-period=1")

    samples = wait_for_metrics(shared_kubesim, lambda s: count(s, "sessions_active", namespace, pod=doomed) == 0, "the deleted pod's sessions to end")
    dropped = assert_sessions_add_up(samples, namespace, doomed)
    assert dropped["dropped_total"] >= count(held, "sessions_active", namespace, pod=doomed)
    assert dropped["completed_total"] == 0
    survived = assert_sessions_add_up(samples, namespace, survivor)
    assert survived["dropped_total"] == 0 and survived["active"] > count(held, "sessions_active", namespace, pod=survivor)


def test_a_pod_whose_grace_period_outlasts_its_sessions_drains_without_dropping(shared_kubesim, request):
    namespace = new_namespace(shared_kubesim, request.node.name)
    draining, other = two_pod_service(shared_kubesim, namespace, "drain")
    start_traffic(shared_kubesim, namespace, "drain", session_rate=5, session_duration=1)
    wait_for_metrics(shared_kubesim, lambda s: count(s, "sessions_started_total", namespace, pod=draining) >= 3, "sessions on the pod")

    # Returns once the pod is gone: 30 simulated seconds of grace, thirty times the mean session.
    shared_kubesim.kubectl("delete", "pod", draining, "-n", namespace, "--grace-period=30")

    samples = scrape(shared_kubesim)
    drained = assert_sessions_add_up(samples, namespace, draining)
    assert drained["started_total"] >= 3
    assert drained["dropped_total"] == 0 and drained["active"] == 0
    assert drained["completed_total"] == drained["started_total"]
    assert count(samples, "sessions_started_total", namespace, pod=other) > 0


def test_metrics_endpoint_serves_valid_prometheus_text(shared_kubesim, request):
    namespace = new_namespace(shared_kubesim, request.node.name)
    two_pod_service(shared_kubesim, namespace, "web")
    start_traffic(shared_kubesim, namespace, "web", request_rate=50, session_rate=1)
    wait_for_metrics(shared_kubesim, lambda s: count(s, "sessions_started_total", namespace) > 0, "traffic")

    with urllib.request.urlopen(shared_kubesim.metrics_url, timeout=10) as response:
        content_type, text = response.headers["Content-Type"], response.read().decode()

    assert content_type.startswith("text/plain; version=0.0.4")
    samples = prometheus_text.parse(text)
    assert {sample.name for sample in samples} >= {f"kubesim_{name}" for name in FAMILIES}
    declared = {line.split()[2]: line.split()[3] for line in text.splitlines() if line.startswith("# TYPE ")}
    for name, kind in FAMILIES.items():
        assert declared[f"kubesim_{name}"] == declared[f"kubesim_service_{name}"] == kind
    if shutil.which("promtool"):
        check = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True, timeout=30, check=False)
        assert check.returncode == 0, check.stdout + check.stderr
    with urllib.request.urlopen(shared_kubesim.metrics_url.replace("/metrics", "/healthz"), timeout=10) as response:
        assert response.status == 200
