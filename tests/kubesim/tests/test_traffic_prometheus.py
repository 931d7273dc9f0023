"""A real Prometheus scrapes the simulator's traffic counters and answers the queries a metric gate asks."""

from traffic_support import apply, new_namespace, pod, poll, service, start_traffic, wait_for_endpoints

ERROR_RATIO = "kubesim.cxpe.io/error-ratio"


def test_prometheus_scrapes_per_version_requests_and_errors(kubesim, prometheus_factory, request):
    namespace = new_namespace(kubesim, request.node.name)
    apply(kubesim, namespace,
          pod("web-stable", {"app": "web"}, version="1.0"),
          pod("web-canary", {"app": "web"}, version="2.0", annotations={ERROR_RATIO: "0.25"}),
          service("web", {"app": "web"}))
    wait_for_endpoints(kubesim, namespace, "web", ["web-canary", "web-stable"])
    prometheus = prometheus_factory(kubesim)
    start_traffic(kubesim, namespace, "web", request_rate=200)

    def by_version(metric):
        return f'sum by (version) (kubesim_service_{metric}{{namespace="{namespace}",service="web"}})'

    requests = poll(lambda: prometheus.query(by_version("requests_total")),
                    lambda samples: len(samples) == 2 and min(value for _, value in samples) >= 200,
                    "both versions' requests to be scraped")
    assert sorted(labels["version"] for labels, _ in requests) == ["1.0", "2.0"]

    error_ratio = dict(
        (labels["version"], value)
        for labels, value in prometheus.query(f"{by_version('request_errors_total')} / {by_version('requests_total')}")
    )
    # The canary fails one request in four; both counters come from one scrape, so the ratio is exact to a request.
    assert abs(error_ratio["2.0"] - 0.25) < 0.01
    assert error_ratio["1.0"] == 0

    target = prometheus.query('up{job="kubesim"}')
    assert [value for _, value in target] == [1.0]
