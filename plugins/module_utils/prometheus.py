# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Prometheus HTTP API (instant and range queries) and HTTP webhook checks, over ansible's open_url.

An instant query gives a Reading: a value, or no value with why. "No data"
(an empty result, or NaN) and "unreachable" (no answer, or a 5xx) are both
inconclusive but reported apart; a query Prometheus rejects (bad_data,
execution errors) raises QueryError with Prometheus's own error text, since
measuring again cannot fix it. A range query gives a Reading whose value is
its series, each a (labels, [(time, value or None)]) pair.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import math

from urllib.error import HTTPError, URLError
from urllib.parse import urlencode

from ansible.module_utils.urls import open_url
from ansible_collections.cxpe.rollout.plugins.module_utils.analysis import (
    FAILED,
    INCONCLUSIVE,
    PASSED,
)

OK = "ok"
NO_DATA = "no_data"
UNREACHABLE = "unreachable"


class QueryError(Exception):
    """Prometheus rejected a query (syntax or execution error); the message is Prometheus's."""


class Reading(object):
    def __init__(self, status, value=None, message=None):
        self.status, self.value, self.message = status, value, message

    def __repr__(self):
        return "Reading(%r, %r, %r)" % (self.status, self.value, self.message)


def parse_value(body, query):
    """A Reading from the JSON body of a successful /api/v1/query answer."""
    data = body.get("data") or {}
    result_type, result = data.get("resultType"), data.get("result")
    if result_type == "scalar":
        samples = [{"metric": {}, "value": result}]
    elif result_type == "vector":
        samples = result or []
    else:
        raise QueryError("query %r returned a %s; a gate query must return an instant vector or a scalar"
                         % (query, result_type))
    if not samples:
        return Reading(NO_DATA, message="the query returned no data")
    if len(samples) > 1:
        labels = ", ".join("{%s}" % ",".join("%s=%r" % item for item in sorted(sample["metric"].items()))
                           for sample in samples[:3])
        raise QueryError("query %r returned %d series (%s%s); a gate query must return one: aggregate it, "
                         "for example with sum()" % (query, len(samples), labels, ", ..." if len(samples) > 3 else ""))
    value = float(samples[0]["value"][1])
    if math.isnan(value):
        return Reading(NO_DATA, message="the query's value is NaN (no traffic to measure?)")
    return Reading(OK, value, "%g" % value)


def _error_text(body):
    """Prometheus's error type and text from an error answer's body, else the body itself."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    try:
        decoded = json.loads(body)
        return "%s: %s" % (decoded.get("errorType"), decoded.get("error"))
    except (TypeError, ValueError, AttributeError):
        return (body or "").strip()


class Unreachable(Exception):
    """Prometheus gave no usable answer; the message says why."""


def parse_matrix(body, query):
    """A Reading from the JSON body of a successful /api/v1/query_range answer: its series, each (labels, points),
    a point (seconds since the epoch, value) whose value is None where it is NaN (a ratio without traffic)."""
    data = body.get("data") or {}
    if data.get("resultType") != "matrix":
        raise QueryError("query %r returned a %s, not a range of values" % (query, data.get("resultType")))
    series = []
    for sample in data.get("result") or []:
        points = [(float(moment), float(value)) for moment, value in sample.get("values") or []]
        series.append((sample.get("metric") or {}, [(moment, None if math.isnan(value) else value) for moment, value in points]))
    if not series:
        return Reading(NO_DATA, [], "the query returned no data")
    return Reading(OK, series, "%d series" % len(series))


class Prometheus(object):
    """Instant and range queries against one Prometheus server."""

    def __init__(self, url, headers=None, timeout=10, validate_certs=True, opener=open_url):
        self.url = url.rstrip("/")
        self.headers = dict(headers or {})
        self.timeout = timeout
        self.validate_certs = validate_certs
        self._open = opener

    def _get(self, endpoint, arguments, promql):
        """The decoded body of a successful answer; Unreachable, or QueryError when Prometheus rejects the query."""
        url = "%s/api/v1/%s?%s" % (self.url, endpoint, urlencode(arguments))
        try:
            response = self._open(url, method="GET", headers=self.headers, timeout=self.timeout,
                                  validate_certs=self.validate_certs)
            body = json.loads(response.read())
        except HTTPError as error:
            text = _error_text(error.read() if hasattr(error, "read") else "")
            if error.code in (400, 422):
                raise QueryError("Prometheus rejected query %r: %s" % (promql, text))
            raise Unreachable("Prometheus at %s answered HTTP %d: %s" % (self.url, error.code, text))
        except (URLError, OSError, ValueError) as error:
            raise Unreachable("Prometheus at %s is unreachable: %s" % (self.url, error))
        if body.get("status") != "success":
            raise QueryError("Prometheus rejected query %r: %s" % (promql, _error_text(json.dumps(body))))
        return body

    def query(self, promql):
        try:
            return parse_value(self._get("query", {"query": promql}, promql), promql)
        except Unreachable as error:
            return Reading(UNREACHABLE, message="%s" % error)

    def query_range(self, promql, start, end, step):
        """The series of `promql` from `start` to `end` (seconds since the epoch), a value every `step` seconds."""
        arguments = {"query": promql, "start": "%.3f" % start, "end": "%.3f" % end, "step": "%g" % step}
        try:
            return parse_matrix(self._get("query_range", arguments, promql), promql)
        except Unreachable as error:
            return Reading(UNREACHABLE, message="%s" % error)


def call_webhook(url, method="POST", body=None, headers=None, timeout=10, validate_certs=True, opener=open_url):
    """(phase, HTTP status or None, message) of a webhook check: 2xx passes, another status fails, no
    answer is inconclusive (as Flagger's webhooks, a non-2xx answer halts the rollout)."""
    headers = dict(headers or {})
    data = None
    if body is not None:
        data = json.dumps(body)
        headers.setdefault("Content-Type", "application/json")
    try:
        response = opener(url, method=method, data=data, headers=headers, timeout=timeout,
                          validate_certs=validate_certs)
        status = response.getcode()
    except HTTPError as error:
        return FAILED, error.code, "%s answered HTTP %d" % (url, error.code)
    except (URLError, OSError) as error:
        return INCONCLUSIVE, None, "%s is unreachable: %s" % (url, error)
    if 200 <= status < 300:
        return PASSED, status, "%s answered HTTP %d" % (url, status)
    return FAILED, status, "%s answered HTTP %d" % (url, status)
