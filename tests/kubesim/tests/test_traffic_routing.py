"""Where simulated traffic goes: ready endpoints only, and the weights of Ingress canaries, Routes and Consul splitters."""

import json
import time

from traffic_support import (
    READY_AFTER, apply, count, manifest, new_namespace, pod, scrape, service, start_traffic, wait_for_endpoints, wait_for_metrics,
)

# Shares are exact over whole rounds of the weighted round-robin; this absorbs a round in progress.
SHARE_TOLERANCE = 0.02
# Long enough for the traffic model to tick at least twice (it ticks every 0.1 real seconds).
SETTLE_SECONDS = 0.3
TRAFFIC_ENTRY = "kubesim.cxpe.io/traffic-entry"
CONSUL = "consul.hashicorp.com/v1alpha1"


def versioned_pod(name, app, version, labels=None):
    return pod(name, {"app": app, "app.kubernetes.io/version": version, **(labels or {})}, version=version)


def ingress(name, service_name, annotations=None):
    backend = {"service": {"name": service_name, "port": {"number": 80}}}
    rule = {"host": "web.example.com", "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]}}
    return manifest("networking.k8s.io/v1", "Ingress", name, {"ingressClassName": "nginx", "rules": [rule]}, annotations=annotations)


def requests_to(samples, namespace, **labels):
    return count(samples, "requests_total", namespace, **labels)


def test_requests_spread_evenly_over_ready_pods_and_never_reach_unready_ones(shared_kubesim, request):
    namespace = new_namespace(shared_kubesim, request.node.name)
    ready = [f"web-{index}" for index in range(3)]
    apply(shared_kubesim, namespace, *(pod(name, {"app": "web"}) for name in ready),
          pod("web-starting", {"app": "web"}, annotations={READY_AFTER: "100000"}), service("web", {"app": "web"}))
    wait_for_endpoints(shared_kubesim, namespace, "web", ready)
    start_traffic(shared_kubesim, namespace, "web", request_rate=200)

    samples = wait_for_metrics(shared_kubesim, lambda s: requests_to(s, namespace) >= 600, "600 requests")

    total = requests_to(samples, namespace)
    assert requests_to(samples, namespace, pod="web-starting") == 0
    assert count(samples, "request_errors_total", namespace) == 0
    for name in ready:
        assert abs(requests_to(samples, namespace, pod=name) - total / 3) <= 1, name


def test_requests_fail_when_no_endpoint_is_ready(shared_kubesim, request):
    namespace = new_namespace(shared_kubesim, request.node.name)
    apply(shared_kubesim, namespace, pod("web-starting", {"app": "web"}, annotations={READY_AFTER: "100000"}),
          service("web", {"app": "web"}), service("nothing", {"app": "absent"}))
    start_traffic(shared_kubesim, namespace, "web", request_rate=100)
    start_traffic(shared_kubesim, namespace, "nothing", request_rate=100)

    samples = wait_for_metrics(shared_kubesim, lambda s: min(requests_to(s, namespace, service=name) for name in ("web", "nothing")) >= 100,
                               "requests to both Services")

    for name in ("web", "nothing"):
        failed = dict(namespace=namespace, service=name, pod="", version="")
        assert count(samples, "request_errors_total", **failed) == count(samples, "requests_total", **failed) == requests_to(samples, namespace, service=name)


def test_canary_ingress_weight_sends_its_share_to_the_canary_service(shared_kubesim, request):
    namespace = new_namespace(shared_kubesim, request.node.name)
    canary_annotations = {"nginx.ingress.kubernetes.io/canary": "true", "nginx.ingress.kubernetes.io/canary-weight": "20"}
    apply(shared_kubesim, namespace,
          versioned_pod("web-1-0", "web", "1.0", {"track": "stable"}), versioned_pod("web-1-1", "web", "1.0", {"track": "stable"}),
          versioned_pod("web-2-0", "web", "2.0", {"track": "canary"}),
          service("web", {"app": "web", "track": "stable"}), service("web-canary", {"app": "web", "track": "canary"}),
          ingress("web", "web"), ingress("web-canary", "web-canary", canary_annotations))
    wait_for_endpoints(shared_kubesim, namespace, "web", ["web-1-0", "web-1-1"])
    wait_for_endpoints(shared_kubesim, namespace, "web-canary", ["web-2-0"])
    start_traffic(shared_kubesim, namespace, "web", request_rate=200)

    samples = wait_for_metrics(shared_kubesim, lambda s: requests_to(s, namespace) >= 1000, "1000 requests")
    canary_share = requests_to(samples, namespace, service="web-canary", version="2.0") / requests_to(samples, namespace)
    assert abs(canary_share - 0.20) <= SHARE_TOLERANCE

    shared_kubesim.kubectl("annotate", "--overwrite", "-n", namespace, "ingress", "web-canary", "nginx.ingress.kubernetes.io/canary-weight=100")
    time.sleep(SETTLE_SECONDS)
    before = scrape(shared_kubesim)
    canary_before = requests_to(before, namespace, service="web-canary")
    after = wait_for_metrics(shared_kubesim, lambda s: requests_to(s, namespace, service="web-canary") >= canary_before + 500, "500 more canary requests")
    assert requests_to(after, namespace, service="web") == requests_to(before, namespace, service="web")


def test_route_alternate_backends_split_by_weight_and_all_zero_weights_fail(shared_kubesim, request):
    namespace = new_namespace(shared_kubesim, request.node.name)
    route = manifest("route.openshift.io/v1", "Route", "web", {
        "host": "web.apps.example.com",
        "to": {"kind": "Service", "name": "blue", "weight": 25},
        "alternateBackends": [{"kind": "Service", "name": "green", "weight": 75}],
        "port": {"targetPort": "http"},
    })
    apply(shared_kubesim, namespace, versioned_pod("blue-0", "blue", "1.0"), versioned_pod("green-0", "green", "2.0"),
          service("blue", {"app": "blue"}), service("green", {"app": "green"}), route)
    wait_for_endpoints(shared_kubesim, namespace, "blue", ["blue-0"])
    wait_for_endpoints(shared_kubesim, namespace, "green", ["green-0"])
    start_traffic(shared_kubesim, namespace, "blue", request_rate=200)

    samples = wait_for_metrics(shared_kubesim, lambda s: requests_to(s, namespace) >= 800, "800 requests")
    assert abs(requests_to(samples, namespace, service="green", pod="green-0") / requests_to(samples, namespace) - 0.75) <= SHARE_TOLERANCE

    no_backends = {"spec": {"to": {"kind": "Service", "name": "blue", "weight": 0}, "alternateBackends": [{"kind": "Service", "name": "green", "weight": 0}]}}
    shared_kubesim.kubectl("patch", "-n", namespace, "route", "web", "--type=merge", "-p", json.dumps(no_backends))
    time.sleep(SETTLE_SECONDS)
    before = scrape(shared_kubesim)
    failed = dict(service="blue", pod="", version="")
    after = wait_for_metrics(shared_kubesim, lambda s: count(s, "request_errors_total", namespace, **failed) >= 200, "requests failing with no backend")
    for pod_name in ("blue-0", "green-0"):
        assert requests_to(after, namespace, pod=pod_name) == requests_to(before, namespace, pod=pod_name)
    assert count(after, "request_errors_total", namespace, **failed) == requests_to(after, namespace, **failed)


def test_service_splitter_routes_by_resolver_subsets_when_the_service_enters_through_the_mesh(shared_kubesim, request):
    namespace = new_namespace(shared_kubesim, request.node.name)
    resolver = manifest(CONSUL, "ServiceResolver", "voice", {"defaultSubset": "v1", "subsets": {
        "v1": {"filter": "Service.Meta.version == v1"},
        "v2": {"filter": 'Service.Meta.version == "v2"', "onlyPassing": True},
    }})
    splitter = manifest(CONSUL, "ServiceSplitter", "voice", {"splits": [{"weight": 90, "serviceSubset": "v1"}, {"weight": 10, "serviceSubset": "v2"}]})
    pods = [versioned_pod(f"voice-{version}-{index}", "voice", f"{version[1]}.0", {"version": version}) for version in ("v1", "v2") for index in range(2)]
    # The Ingress would take precedence; the traffic-entry annotation picks the mesh instead.
    apply(shared_kubesim, namespace, *pods, service("voice", {"app": "voice"}, {TRAFFIC_ENTRY: "mesh"}), ingress("voice", "voice"), resolver, splitter)
    wait_for_endpoints(shared_kubesim, namespace, "voice", [p["metadata"]["name"] for p in pods])
    start_traffic(shared_kubesim, namespace, "voice", request_rate=200)

    samples = wait_for_metrics(shared_kubesim, lambda s: requests_to(s, namespace) >= 1000, "1000 requests")

    total = requests_to(samples, namespace)
    v2_requests = count(samples, "service_requests_total", namespace, service="voice", version="2.0")
    assert abs(v2_requests / total - 0.10) <= SHARE_TOLERANCE
    assert count(samples, "service_requests_total", namespace, service="voice", version="1.0") == total - v2_requests
    assert abs(requests_to(samples, namespace, pod="voice-v2-0") - requests_to(samples, namespace, pod="voice-v2-1")) <= 1
