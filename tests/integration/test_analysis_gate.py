# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""cxpe.rollout.analysis against Debian's real Prometheus scraping kubesim's traffic counters."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

import pytest
from bluegreen_support import ERROR_RATIO, apply, deployment, new_namespace, poll, service, start_traffic, wait_rollout
from playbook_support import run_tasks
from port_support import free_port


def error_ratio(namespace, version):
    selector = '{namespace="%s",service="web",version="%s"}' % (namespace, version)
    return "sum(kubesim_service_request_errors_total%s) / sum(kubesim_service_requests_total%s)" % (selector, selector)


@pytest.fixture(name="scraped")
def scraped_fixture(kubesim, prometheus_factory, request):
    """Versions 1.0 (no errors) and 2.0 (one request in five fails) behind one Service with traffic,
    scraped by Prometheus until both have served 200 requests."""
    namespace = new_namespace(kubesim, request.node.name)
    apply(kubesim, namespace, deployment("web", "blue", "1.0", 2), deployment("web", "green", "2.0", 2, {ERROR_RATIO: "0.2"}),
          service("web", {"app.kubernetes.io/name": "web"}))
    wait_rollout(kubesim, namespace, "web-blue")
    wait_rollout(kubesim, namespace, "web-green")
    start_traffic(kubesim, namespace, "service", "web", 100)
    prometheus = prometheus_factory(kubesim)
    requests = 'sum by (version) (kubesim_service_requests_total{namespace="%s",service="web"})' % namespace
    poll(lambda: prometheus.query(requests), lambda samples: len(samples) == 2 and min(value for _labels, value in samples) >= 200,
         "both versions' requests to be scraped")
    return kubesim, prometheus, namespace


def analysis(prometheus_url, *metrics, **options):
    return ("cxpe.rollout.analysis", dict({"prometheus_url": prometheus_url, "metrics": list(metrics)}, **options))


def test_metric_gates_against_prometheus(scraped, tmp_path, webhook_url):
    simulator, prometheus, namespace = scraped
    good, bad = error_ratio(namespace, "1.0"), error_ratio(namespace, "2.0")
    absent = error_ratio(namespace, "9.9")
    unreachable = "http://127.0.0.1:%d" % free_port()
    _run, results = run_tasks(simulator.env, tmp_path, [
        analysis(prometheus.url, {"name": "good", "query": good, "max": 0.01}, count=2, interval=0.5),
        analysis(prometheus.url, {"name": "bad", "query": bad, "max": 0.05}, count=3, interval=0.5),
        analysis(prometheus.url, {"name": "versus", "query": bad, "baseline_query": good, "tolerance": 0.1}),
        analysis(prometheus.url, {"name": "versus", "query": good, "baseline_query": bad, "tolerance": 0.1}),
        analysis(prometheus.url, {"name": "nodata", "query": absent, "max": 0.01}),
        analysis(prometheus.url, {"name": "nodata", "query": absent, "max": 0.01}, on_inconclusive="pass"),
        analysis(unreachable, {"name": "down", "query": good, "max": 0.01}),
        analysis(prometheus.url, {"name": "typo", "query": "sum(rate(kubesim_service_requests_total[1m]) by", "max": 1}),
        analysis(prometheus.url, {"name": "series", "query": 'kubesim_service_requests_total{namespace="%s"}' % namespace, "max": 1e9}),
        ("cxpe.rollout.analysis", {"webhooks": [{"name": "health", "url": webhook_url + "/ok"}]}),
        ("cxpe.rollout.analysis", {"webhooks": [{"name": "health", "url": webhook_url + "/down"}]}),
    ])
    passing, failing, worse, better, no_data, tolerated, down, typo, series, hook_ok, hook_down = results

    assert passing["passed"] is True and passing["outcome"] == "Successful" and passing.get("failed") is not True
    assert [item["phase"] for item in passing["measurements"]] == ["passed", "passed"]
    assert passing["measurements"][0]["value"] == 0

    # One in five requests of 2.0 fails: above 5%, so the first measurement fails and the analysis stops there.
    assert failing["failed"] is True and failing["outcome"] == "Failed" and failing["passed"] is False
    assert len(failing["measurements"]) == 1 and abs(failing["measurements"][0]["value"] - 0.2) < 0.01
    assert re.match(r"analysis Failed: bad is failed \(1 failed, 0 inconclusive of 1 measurements; last: 0\.[12]\d* is above max 0.05\)$",
                    failing["msg"]), failing["msg"]

    assert worse["failed"] is True and "is above the baseline 0 + 10%" in worse["msg"]
    assert better["passed"] is True and better["measurements"][0]["baseline"] > 0.15

    assert no_data["failed"] is True and no_data["outcome"] == "Inconclusive"
    assert no_data["measurements"][0]["message"] == "the query returned no data"
    assert tolerated["passed"] is True and tolerated["outcome"] == "Inconclusive"

    assert down["failed"] is True and down["outcome"] == "Inconclusive"
    assert down["measurements"][0]["message"].startswith("Prometheus at %s is unreachable" % unreachable)

    # A syntax error is Prometheus's own message, at once.
    assert typo["failed"] is True and typo["msg"].startswith(
        "Prometheus rejected query 'sum(rate(kubesim_service_requests_total[1m]) by': bad_data: ")
    assert "parse error" in typo["msg"]
    assert series["failed"] is True and "a gate query must return one" in series["msg"]

    assert hook_ok["passed"] is True and hook_ok["measurements"][0]["status"] == 200
    assert hook_down["failed"] is True and hook_down["measurements"][0]["status"] == 503
