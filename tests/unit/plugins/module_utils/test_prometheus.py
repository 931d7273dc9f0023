# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import io
import json
from urllib.error import HTTPError, URLError

import pytest
from ansible_collections.cxpe.rollout.plugins.module_utils.prometheus import (
    NO_DATA,
    OK,
    UNREACHABLE,
    Prometheus,
    QueryError,
    call_webhook,
)
from http_support import opener


class Answer(object):
    def __init__(self, body, code=200):
        self.body, self.code = body, code

    def read(self):
        return json.dumps(self.body).encode()

    def getcode(self):
        return self.code


def vector(*values):
    return {"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {"version": str(index)}, "value": [1700000000, value]} for index, value in enumerate(values)]}}


def query(answer, promql="sum(x)"):
    return Prometheus("http://prom:9090/", headers={"Authorization": "Bearer t"}, opener=opener(answer)).query(promql)


def test_an_instant_vector_of_one_series_is_its_value():
    reading = query(Answer(vector("0.25")))
    assert (reading.status, reading.value) == (OK, 0.25)


def test_the_query_goes_to_the_instant_query_endpoint():
    open_url = opener(Answer(vector("1")))
    Prometheus("http://prom:9090/", headers={"Authorization": "Bearer t"}, timeout=3, opener=open_url).query('sum(rate(x{a="b"}[1m]))')
    ((url, options),) = open_url.calls
    assert url == "http://prom:9090/api/v1/query?query=sum%28rate%28x%7Ba%3D%22b%22%7D%5B1m%5D%29%29"
    assert options["headers"] == {"Authorization": "Bearer t"} and options["timeout"] == 3


def test_a_scalar_is_a_value():
    assert query(Answer({"status": "success", "data": {"resultType": "scalar", "result": [1, "3"]}})).value == 3


@pytest.mark.parametrize("answer, message", [
    (Answer(vector()), "the query returned no data"),
    (Answer(vector("NaN")), "the query's value is NaN"),
])
def test_no_data(answer, message):
    reading = query(answer)
    assert reading.status == NO_DATA and reading.value is None and message in reading.message


@pytest.mark.parametrize("error, message", [
    (URLError("[Errno 111] Connection refused"), "Prometheus at http://prom:9090 is unreachable: <urlopen error [Errno 111] Connection refused>"),
    (HTTPError("u", 503, "Service Unavailable", {}, io.BytesIO(b"overloaded")), "Prometheus at http://prom:9090 answered HTTP 503: overloaded"),
])
def test_unreachable(error, message):
    reading = query(error)
    assert reading.status == UNREACHABLE and reading.message == message


def test_a_syntax_error_carries_prometheus_own_text():
    body = json.dumps({"status": "error", "errorType": "bad_data",
                       "error": 'invalid parameter "query": 1:5: parse error: unexpected <op:*>'}).encode()
    with pytest.raises(QueryError) as error:
        query(HTTPError("u", 400, "Bad Request", {}, io.BytesIO(body)), "sum(*)")
    assert str(error.value) == "Prometheus rejected query 'sum(*)': bad_data: invalid parameter \"query\": 1:5: parse error: unexpected <op:*>"


def test_a_query_returning_several_series_is_refused():
    with pytest.raises(QueryError, match=r"returned 2 series \(\{version='0'\}, \{version='1'\}\); a gate query must return one"):
        query(Answer(vector("1", "2")))


def test_webhooks_pass_on_2xx_fail_otherwise_and_are_inconclusive_without_an_answer():
    assert call_webhook("http://hook/ok", opener=opener(Answer({}, 204)))[:2] == ("passed", 204)
    assert call_webhook("http://hook/bad", opener=opener(HTTPError("u", 500, "x", {}, io.BytesIO(b""))))[:2] == ("failed", 500)
    phase, status, message = call_webhook("http://hook/none", opener=opener(URLError("refused")))
    assert (phase, status) == ("inconclusive", None) and "http://hook/none is unreachable" in message


def test_a_webhook_body_is_sent_as_json():
    open_url = opener(Answer({}, 200))
    call_webhook("http://hook", "POST", {"phase": "post-switch"}, opener=open_url)
    ((_url, options),) = open_url.calls
    assert json.loads(options["data"]) == {"phase": "post-switch"}
    assert options["headers"]["Content-Type"] == "application/json" and options["method"] == "POST"


def matrix(*series):
    return {"status": "success", "data": {"resultType": "matrix", "result": [
        {"metric": {"version": version}, "values": [[moment, value] for moment, value in points]} for version, points in series]}}


def test_a_range_query_goes_to_its_endpoint_with_the_window_and_step():
    open_url = opener(Answer(matrix(("1", [(100, "0")]))))
    Prometheus("http://prom:9090", opener=open_url).query_range("sum(x)", 100, 160.5, 2)
    ((url, _options),) = open_url.calls
    assert url == "http://prom:9090/api/v1/query_range?query=sum%28x%29&start=100.000&end=160.500&step=2"


def test_a_range_query_gives_each_series_with_its_points_and_nan_as_none():
    reading = Prometheus("http://prom:9090", opener=opener(Answer(matrix(
        ("1", [(100, "0.5"), (102, "NaN")]), ("2", [(102, "3")]))))).query_range("x", 100, 102, 2)
    assert reading.status == OK
    assert reading.value == [({"version": "1"}, [(100.0, 0.5), (102.0, None)]), ({"version": "2"}, [(102.0, 3.0)])]


def test_a_range_query_without_series_has_no_data_and_an_unreachable_prometheus_says_so():
    assert Prometheus("http://prom:9090", opener=opener(Answer(matrix()))).query_range("x", 1, 2, 1).status == NO_DATA
    reading = Prometheus("http://prom:9090", opener=opener(URLError("refused"))).query_range("x", 1, 2, 1)
    assert reading.status == UNREACHABLE and "Prometheus at http://prom:9090 is unreachable" in reading.message


def test_a_range_query_must_answer_a_matrix():
    with pytest.raises(QueryError, match="returned a vector, not a range of values"):
        Prometheus("http://prom:9090", opener=opener(Answer(vector("1")))).query_range("x", 1, 2, 1)
