"""Where simulated traffic goes: from its entry point (a Service, an Ingress, a Route) through the router's weights to ready endpoints."""

import json

from traffic_support import (
    READY_AFTER, apply, count, entry_count, manifest, new_namespace, pod, propagate, scrape, service, start_traffic,
    wait_for_endpoints, wait_for_metrics,
)

# Shares are exact over whole rounds of the weighted round-robin; this absorbs a round in progress.
SHARE_TOLERANCE = 0.02
CONSUL = "consul.hashicorp.com/v1alpha1"


def versioned_pod(name, app, version, labels=None):
    return pod(name, {"app": app, "app.kubernetes.io/version": version, **(labels or {})}, version=version)


def ingress(name, service_name, annotations=None):
    backend = {"service": {"name": service_name, "port": {"number": 80}}}
    rule = {"host": "web.example.com", "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]}}
    return manifest("networking.k8s.io/v1", "Ingress", name, {"ingressClassName": "nginx", "rules": [rule]}, annotations=annotations)


def route(name, to, alternates=()):
    return manifest("route.openshift.io/v1", "Route", name, {
        "host": f"{name}.apps.example.com", "to": {"kind": "Service", **to},
        "alternateBackends": [{"kind": "Service", **alternate} for alternate in alternates], "port": {"targetPort": "http"},
    })


def requests_to(samples, namespace, **labels):
    return count(samples, "requests_total", namespace, **labels)


def more_requests(simulator, namespace, before, amount, **labels):
    """Scrape until ``amount`` more requests (matching ``labels``) than in ``before`` were counted."""
    already = requests_to(before, namespace, **labels)
    return wait_for_metrics(simulator, lambda s: requests_to(s, namespace, **labels) >= already + amount, f"{amount} more requests")


def delta(after, before, name, namespace, **labels):
    return count(after, name, namespace, **labels) - count(before, name, namespace, **labels)


def two_versions(simulator, namespace):
    """Pods web-1-0 and web-1-1 (stable, 1.0) behind Service web and web-2-0 (canary, 2.0) behind web-canary."""
    apply(simulator, namespace,
          versioned_pod("web-1-0", "web", "1.0", {"track": "stable"}), versioned_pod("web-1-1", "web", "1.0", {"track": "stable"}),
          versioned_pod("web-2-0", "web", "2.0", {"track": "canary"}),
          service("web", {"app": "web", "track": "stable"}), service("web-canary", {"app": "web", "track": "canary"}))
    wait_for_endpoints(simulator, namespace, "web", ["web-1-0", "web-1-1"])
    wait_for_endpoints(simulator, namespace, "web-canary", ["web-2-0"])


def test_requests_through_a_service_spread_evenly_over_ready_pods_and_never_reach_unready_ones(shared_kubesim, request):
    namespace = new_namespace(shared_kubesim, request.node.name)
    ready = [f"web-{index}" for index in range(3)]
    apply(shared_kubesim, namespace, *(pod(name, {"app": "web"}) for name in ready),
          pod("web-starting", {"app": "web"}, annotations={READY_AFTER: "100000"}), service("web", {"app": "web"}))
    wait_for_endpoints(shared_kubesim, namespace, "web", ready)
    propagate(shared_kubesim)
    start_traffic(shared_kubesim, namespace, "web", request_rate=200)

    samples = wait_for_metrics(shared_kubesim, lambda s: requests_to(s, namespace) >= 600, "600 requests")

    total = requests_to(samples, namespace)
    assert requests_to(samples, namespace, pod="web-starting") == 0
    assert count(samples, "request_errors_total", namespace) == 0
    assert entry_count(samples, "requests_total", namespace, kind="Service", entry="web") == total
    for name in ready:
        assert abs(requests_to(samples, namespace, pod=name) - total / 3) <= 1, name


def test_requests_fail_when_no_endpoint_is_ready_or_the_service_does_not_exist(shared_kubesim, request):
    namespace = new_namespace(shared_kubesim, request.node.name)
    apply(shared_kubesim, namespace, pod("web-starting", {"app": "web"}, annotations={READY_AFTER: "100000"}),
          service("web", {"app": "web"}), service("gone", {"app": "absent"}))
    # Clients start once kube-proxy knows the Services: before, their requests would fail for want of a route.
    propagate(shared_kubesim)
    start_traffic(shared_kubesim, namespace, "web", request_rate=100)
    start_traffic(shared_kubesim, namespace, "gone", request_rate=100)
    shared_kubesim.kubectl("delete", "service", "gone", "-n", namespace)

    gone = dict(kind="Service", entry="gone")
    # Until kube-proxy hears of the deletion the Service is there, without endpoints; then it is gone.
    samples = wait_for_metrics(shared_kubesim, lambda s: min(requests_to(s, namespace, service=name) for name in ("web", "gone")) >= 200
                               and entry_count(s, "request_errors_total", namespace, reason="no_route", **gone) > 0,
                               "requests to both Services, and to the deleted one failing for want of a route")

    for name in ("web", "gone"):
        failed = dict(namespace=namespace, service=name, pod="", version="")
        assert count(samples, "request_errors_total", **failed) == count(samples, "requests_total", **failed) == requests_to(samples, namespace, service=name)
    web = dict(kind="Service", entry="web")
    assert entry_count(samples, "request_errors_total", namespace, reason="no_endpoints", **web) == entry_count(samples, "requests_total", namespace, **web)
    assert entry_count(samples, "request_errors_total", namespace, **gone) == entry_count(samples, "requests_total", namespace, **gone)


def test_canary_ingress_weight_sends_its_share_to_the_canary_service(shared_kubesim, request):
    namespace = new_namespace(shared_kubesim, request.node.name)
    two_versions(shared_kubesim, namespace)
    canary_annotations = {"nginx.ingress.kubernetes.io/canary": "true", "nginx.ingress.kubernetes.io/canary-weight": "20"}
    apply(shared_kubesim, namespace, ingress("web", "web"), ingress("web-canary", "web-canary", canary_annotations))
    propagate(shared_kubesim)
    start_traffic(shared_kubesim, namespace, "web", kind="ingress", request_rate=200)

    samples = wait_for_metrics(shared_kubesim, lambda s: requests_to(s, namespace) >= 1000, "1000 requests")
    canary_share = requests_to(samples, namespace, service="web-canary", version="2.0") / requests_to(samples, namespace)
    assert abs(canary_share - 0.20) <= SHARE_TOLERANCE
    assert entry_count(samples, "requests_total", namespace, kind="Ingress", entry="web") == requests_to(samples, namespace)

    shared_kubesim.kubectl("annotate", "--overwrite", "-n", namespace, "ingress", "web-canary", "nginx.ingress.kubernetes.io/canary-weight=100")
    propagate(shared_kubesim)
    before = scrape(shared_kubesim)
    after = more_requests(shared_kubesim, namespace, before, 500, service="web-canary")
    assert requests_to(after, namespace, service="web") == requests_to(before, namespace, service="web")
    assert count(after, "request_errors_total", namespace) == 0


def test_a_canary_with_no_ready_pod_leaves_everything_to_the_stable_backend_and_a_stable_one_fails_all(shared_kubesim, request):
    namespace = new_namespace(shared_kubesim, request.node.name)
    two_versions(shared_kubesim, namespace)
    canary_annotations = {"nginx.ingress.kubernetes.io/canary": "true", "nginx.ingress.kubernetes.io/canary-weight": "50"}
    apply(shared_kubesim, namespace, ingress("web", "web"), ingress("web-canary", "web-canary", canary_annotations))
    shared_kubesim.kubectl("delete", "pod", "web-2-0", "-n", namespace)
    propagate(shared_kubesim)
    start_traffic(shared_kubesim, namespace, "web", kind="ingress", request_rate=200)

    samples = wait_for_metrics(shared_kubesim, lambda s: requests_to(s, namespace) >= 400, "400 requests")
    assert requests_to(samples, namespace, service="web") == requests_to(samples, namespace)
    assert count(samples, "request_errors_total", namespace) == 0

    shared_kubesim.kubectl("patch", "-n", namespace, "service", "web", "--type=merge", "-p", '{"spec": {"selector": {"track": "none"}}}')
    apply(shared_kubesim, namespace, versioned_pod("web-2-1", "web", "2.0", {"track": "canary"}))
    wait_for_endpoints(shared_kubesim, namespace, "web-canary", ["web-2-1"])
    propagate(shared_kubesim)
    before = scrape(shared_kubesim)
    after = wait_for_metrics(shared_kubesim, lambda s: entry_count(s, "requests_total", namespace) >= entry_count(before, "requests_total", namespace) + 200,
                             "200 more requests")
    assert delta(after, before, "request_errors_total", namespace, service="web", pod="") == delta(after, before, "requests_total", namespace) >= 200
    assert requests_to(after, namespace, service="web-canary") == requests_to(before, namespace, service="web-canary")


def test_a_canary_header_sends_the_requests_that_carry_it_to_the_canary(shared_kubesim, request):
    namespace = new_namespace(shared_kubesim, request.node.name)
    two_versions(shared_kubesim, namespace)
    canary_annotations = {"nginx.ingress.kubernetes.io/canary": "true", "nginx.ingress.kubernetes.io/canary-weight": "0",
                          "nginx.ingress.kubernetes.io/canary-by-header": "X-Preview"}
    apply(shared_kubesim, namespace, ingress("web", "web"), ingress("web-canary", "web-canary", canary_annotations))
    propagate(shared_kubesim)
    # Two client populations calling the same location: ordinary users, and testers sending the header.
    start_traffic(shared_kubesim, namespace, "web", kind="ingress", request_rate=100, traffic_host="web.example.com")
    shared_kubesim.kubectl("annotate", "-n", namespace, "ingress", "web-canary", "kubesim.cxpe.io/request-rate=50",
                           "kubesim.cxpe.io/request-headers=X-Preview: always")

    samples = wait_for_metrics(shared_kubesim, lambda s: requests_to(s, namespace) >= 600, "600 requests")
    assert entry_count(samples, "requests_total", namespace, entry="web-canary") == requests_to(samples, namespace, service="web-canary") > 0
    assert entry_count(samples, "requests_total", namespace, entry="web") == requests_to(samples, namespace, service="web") > 0
    assert count(samples, "request_errors_total", namespace) == 0


def test_repointing_an_ingress_backend_moves_all_the_traffic_after_the_controller_catches_up(shared_kubesim, request):
    namespace = new_namespace(shared_kubesim, request.node.name)
    two_versions(shared_kubesim, namespace)
    apply(shared_kubesim, namespace, ingress("web", "web"))
    propagate(shared_kubesim)
    start_traffic(shared_kubesim, namespace, "web", kind="ingress", request_rate=200)
    wait_for_metrics(shared_kubesim, lambda s: requests_to(s, namespace, service="web") >= 200, "requests to the stable Service")

    apply(shared_kubesim, namespace, ingress("web", "web-canary"))
    propagate(shared_kubesim)
    before = scrape(shared_kubesim)
    after = more_requests(shared_kubesim, namespace, before, 400)
    assert delta(after, before, "requests_total", namespace, service="web-canary", version="2.0") == delta(after, before, "requests_total", namespace)
    assert count(after, "request_errors_total", namespace) == 0


def test_route_backends_split_by_weight_skip_services_without_endpoints_and_fail_with_no_weight(shared_kubesim, request):
    namespace = new_namespace(shared_kubesim, request.node.name)
    apply(shared_kubesim, namespace, versioned_pod("blue-0", "blue", "1.0"), versioned_pod("green-0", "green", "2.0"),
          service("blue", {"app": "blue"}), service("green", {"app": "green"}), service("empty", {"app": "none"}),
          route("web", {"name": "blue", "weight": 25}, [{"name": "green", "weight": 75}, {"name": "empty", "weight": 100}]))
    wait_for_endpoints(shared_kubesim, namespace, "blue", ["blue-0"])
    wait_for_endpoints(shared_kubesim, namespace, "green", ["green-0"])
    propagate(shared_kubesim)
    start_traffic(shared_kubesim, namespace, "web", kind="route", request_rate=200)

    samples = wait_for_metrics(shared_kubesim, lambda s: requests_to(s, namespace) >= 800, "800 requests")
    assert abs(requests_to(samples, namespace, service="green", pod="green-0") / requests_to(samples, namespace) - 0.75) <= SHARE_TOLERANCE
    assert count(samples, "request_errors_total", namespace) == 0

    no_backends = {"spec": {"to": {"kind": "Service", "name": "blue", "weight": 0}, "alternateBackends": [{"kind": "Service", "name": "green", "weight": 0}]}}
    shared_kubesim.kubectl("patch", "-n", namespace, "route", "web", "--type=merge", "-p", json.dumps(no_backends))
    propagate(shared_kubesim)
    before = scrape(shared_kubesim)
    after = wait_for_metrics(shared_kubesim, lambda s: count(s, "request_errors_total", namespace) >= count(before, "request_errors_total", namespace) + 200,
                             "requests failing with no backend")
    for pod_name in ("blue-0", "green-0"):
        assert requests_to(after, namespace, pod=pod_name) == requests_to(before, namespace, pod=pod_name)
    assert delta(after, before, "request_errors_total", namespace, service="blue", pod="") == delta(after, before, "requests_total", namespace)


def test_repointing_a_route_moves_all_the_traffic_after_the_router_catches_up(shared_kubesim, request):
    namespace = new_namespace(shared_kubesim, request.node.name)
    apply(shared_kubesim, namespace, versioned_pod("blue-0", "blue", "1.0"), versioned_pod("green-0", "green", "2.0"),
          service("blue", {"app": "blue"}), service("green", {"app": "green"}), route("web", {"name": "blue"}))
    wait_for_endpoints(shared_kubesim, namespace, "green", ["green-0"])
    wait_for_endpoints(shared_kubesim, namespace, "blue", ["blue-0"])
    propagate(shared_kubesim)
    start_traffic(shared_kubesim, namespace, "web", kind="route", request_rate=200)
    wait_for_metrics(shared_kubesim, lambda s: requests_to(s, namespace, pod="blue-0") >= 200, "requests to blue")

    shared_kubesim.kubectl("patch", "-n", namespace, "route", "web", "--type=merge", "-p", '{"spec": {"to": {"name": "green"}}}')
    propagate(shared_kubesim)
    before = scrape(shared_kubesim)
    after = more_requests(shared_kubesim, namespace, before, 400)
    assert delta(after, before, "requests_total", namespace, pod="green-0") == delta(after, before, "requests_total", namespace)
    assert count(after, "request_errors_total", namespace) == 0


def test_a_service_splitter_routes_mesh_traffic_by_resolver_subsets_and_an_empty_subset_fails_its_share(shared_kubesim, request):
    namespace = new_namespace(shared_kubesim, request.node.name)
    resolver = manifest(CONSUL, "ServiceResolver", "voice", {"defaultSubset": "v1", "subsets": {
        "v1": {"filter": "Service.Meta.version == v1"},
        "v2": {"filter": 'Service.Meta.version == "v2"', "onlyPassing": True},
        "v3": {"filter": "Service.Meta.version == v3"},
    }})
    splitter = manifest(CONSUL, "ServiceSplitter", "voice", {"splits": [{"weight": 90, "serviceSubset": "v1"}, {"weight": 10, "serviceSubset": "v2"}]})
    pods = [versioned_pod(f"voice-{version}-{index}", "voice", f"{version[1]}.0", {"version": version}) for version in ("v1", "v2") for index in range(2)]
    apply(shared_kubesim, namespace, *pods, service("voice", {"app": "voice"}), resolver, splitter)
    wait_for_endpoints(shared_kubesim, namespace, "voice", [p["metadata"]["name"] for p in pods])
    propagate(shared_kubesim)
    start_traffic(shared_kubesim, namespace, "voice", request_rate=200, traffic_entry="mesh")

    samples = wait_for_metrics(shared_kubesim, lambda s: requests_to(s, namespace) >= 1000, "1000 requests")

    total = requests_to(samples, namespace)
    v2_requests = count(samples, "service_requests_total", namespace, service="voice", version="2.0")
    assert abs(v2_requests / total - 0.10) <= SHARE_TOLERANCE
    assert count(samples, "service_requests_total", namespace, service="voice", version="1.0") == total - v2_requests
    assert abs(requests_to(samples, namespace, pod="voice-v2-0") - requests_to(samples, namespace, pod="voice-v2-1")) <= 1

    shifted = {"spec": {"splits": [{"weight": 50, "serviceSubset": "v1"}, {"weight": 50, "serviceSubset": "v3"}]}}
    shared_kubesim.kubectl("patch", "-n", namespace, "servicesplitter", "voice", "--type=merge", "-p", json.dumps(shifted))
    propagate(shared_kubesim)
    before = scrape(shared_kubesim)
    after = more_requests(shared_kubesim, namespace, before, 600)
    failed = delta(after, before, "request_errors_total", namespace, pod="")
    assert abs(failed / delta(after, before, "requests_total", namespace) - 0.5) <= SHARE_TOLERANCE
    assert delta(after, before, "requests_total", namespace, version="2.0") == 0
