# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import io
import json
from urllib.error import HTTPError, URLError
from urllib.parse import parse_qs, urlsplit

import pytest
from ansible_collections.cxpe.rollout.plugins.module_utils.sessions import (
    SessionCounter,
    annotation_count,
    parse_http_count,
    source_problems,
)
from http_support import opener

QUERY = 'sum(sip_active_calls{pod="{pod}"}) or vector(0)'


class Answer(object):
    def __init__(self, text):
        self.text = text

    def read(self):
        return self.text.encode()


def vector(value):
    return Answer(json.dumps({"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {}, "value": [1700000000, value]}]}}))


def sip_pod(annotations=None):
    return {"metadata": {"name": "sip-0", "namespace": "ns", "annotations": annotations},
            "status": {"podIP": "10.0.0.7"}}


# ------------------------------------------------------------------- settings --

@pytest.mark.parametrize("source, settings, problems", [
    ("prometheus", {"query": QUERY, "prometheus_url": "http://prom:9090"}, []),
    ("prometheus", {"query": "sum(sip_active_calls)", "prometheus_url": "http://prom:9090"},
     ["sessions_query 'sum(sip_active_calls)' must contain the pod placeholder {pod}"]),
    ("prometheus", {"query": QUERY}, ["sessions_source prometheus needs prometheus_url"]),
    ("prometheus", {}, ["sessions_source prometheus needs prometheus_url", "sessions_query None must contain the pod placeholder {pod}"]),
    ("http", {"url": "http://{pod_ip}:8080/sessions"}, []),
    ("http", {"url": "http://{pod}.sip.ns:8080/sessions"}, []),
    ("http", {"url": "http://sip:8080/sessions"}, ["sessions_url 'http://sip:8080/sessions' must contain the pod placeholder {pod} or {pod_ip}"]),
    ("http", {}, ["sessions_url None must contain the pod placeholder {pod} or {pod_ip}"]),
    ("annotation", {}, []),
])
def test_source_problems(source, settings, problems):
    assert source_problems(source, **settings) == problems


# -------------------------------------------------------------------- parsing --

@pytest.mark.parametrize("text, count", [
    ("3", 3),
    (" 0\n", 0),
    # A fraction (an average over a scrape) still means a session is left.
    ("0.2", 1),
    ('{"sessions": 4, "pod": "sip-0"}', 4),
    ('{"sessions": "2"}', 2),
    ('{"calls": 4}', None),
    ('{"sessions": null}', None),
    ("busy", None),
    ("", None),
    ("[1]", None),
    ("NaN", None),
    ("-1", None),
    ('{"sessions": -2}', None),
])
def test_parse_http_count(text, count):
    assert parse_http_count(text) == count


def test_annotation_count():
    assert annotation_count(sip_pod({"cxpe.io/active-sessions": "5"}), "cxpe.io/active-sessions") == 5
    assert annotation_count(sip_pod({"cxpe.io/active-sessions": "5"}), "example.com/calls") is None
    assert annotation_count(sip_pod({"cxpe.io/active-sessions": "many"}), "cxpe.io/active-sessions") is None
    assert annotation_count(sip_pod({"cxpe.io/active-sessions": "-3"}), "cxpe.io/active-sessions") is None
    assert annotation_count(sip_pod(), "cxpe.io/active-sessions") is None
    assert annotation_count({"metadata": {"name": "sip-0"}}, "cxpe.io/active-sessions") is None


# ------------------------------------------------------------------- counting --

def test_the_annotation_source_reads_the_pod_it_is_given():
    counter = SessionCounter("annotation", opener=opener(AssertionError("no request")))
    assert counter.count(sip_pod({"cxpe.io/active-sessions": "2"})) == (2, None)
    assert counter.count(sip_pod()) == (None, "pod sip-0 has no whole-number annotation cxpe.io/active-sessions")
    named = SessionCounter("annotation", annotation="example.com/calls")
    assert named.count(sip_pod({"example.com/calls": "0"})) == (0, None)


def test_the_prometheus_source_queries_with_the_pod_name():
    open_url = opener(vector("3"))
    counter = SessionCounter("prometheus", query=QUERY, prometheus_url="http://prom:9090/", timeout=4, validate_certs=False,
                             opener=open_url)
    assert counter.count(sip_pod()) == (3, None)
    ((url, options),) = open_url.calls
    assert url.startswith("http://prom:9090/api/v1/query?")
    assert parse_qs(urlsplit(url).query)["query"] == ['sum(sip_active_calls{pod="sip-0"}) or vector(0)']
    assert (options["timeout"], options["validate_certs"]) == (4, False)


@pytest.mark.parametrize("answer, why", [
    (Answer(json.dumps({"status": "success", "data": {"resultType": "vector", "result": []}})), "the query returned no data"),
    (URLError("[Errno 111] Connection refused"),
     "Prometheus at http://prom:9090 is unreachable: <urlopen error [Errno 111] Connection refused>"),
])
def test_a_prometheus_count_that_cannot_be_read_says_why(answer, why):
    counter = SessionCounter("prometheus", query=QUERY, prometheus_url="http://prom:9090", opener=opener(answer))
    assert counter.count(sip_pod()) == (None, why)


def test_a_negative_prometheus_value_says_why_it_is_no_count():
    counter = SessionCounter("prometheus", query=QUERY, prometheus_url="http://prom:9090", opener=opener(vector("-1")))
    found, why = counter.count(sip_pod())
    assert found is None and why


def test_the_http_source_fills_in_the_pod_name_and_address():
    open_url = opener(Answer('{"sessions": 1}'))
    counter = SessionCounter("http", url="http://{pod_ip}:8080/sessions?pod={pod}", timeout=4, validate_certs=False, opener=open_url)
    assert counter.count(sip_pod()) == (1, None)
    ((url, options),) = open_url.calls
    assert url == "http://10.0.0.7:8080/sessions?pod=sip-0"
    assert options == {"method": "GET", "timeout": 4, "validate_certs": False}


@pytest.mark.parametrize("answer, why", [
    (Answer("busy"), "http://10.0.0.7:8080/sessions did not answer a session count"),
    (HTTPError("http://10.0.0.7:8080/sessions", 503, "Service Unavailable", {}, io.BytesIO(b"")),
     "http://10.0.0.7:8080/sessions: HTTP Error 503: Service Unavailable"),
    (URLError("[Errno 111] Connection refused"), "http://10.0.0.7:8080/sessions: <urlopen error [Errno 111] Connection refused>"),
    (ConnectionResetError(104, "Connection reset by peer"), "http://10.0.0.7:8080/sessions: [Errno 104] Connection reset by peer"),
])
def test_an_http_count_that_cannot_be_read_says_why(answer, why):
    counter = SessionCounter("http", url="http://{pod_ip}:8080/sessions", opener=opener(answer))
    assert counter.count(sip_pod()) == (None, why)


@pytest.mark.parametrize("counter, pod", [
    (SessionCounter("prometheus", query=QUERY, prometheus_url="http://prom:9090", opener=opener(vector("+Inf"))), sip_pod()),
    (SessionCounter("http", url="http://{pod_ip}:8080/sessions", opener=opener(Answer("Infinity"))), sip_pod()),
    (SessionCounter("annotation"), sip_pod({"cxpe.io/active-sessions": "inf"})),
], ids=["prometheus", "http", "annotation"])
def test_an_infinite_count_is_no_count(counter, pod):
    assert counter.count(pod)[0] is None
