# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How many sessions a pod still serves, from one of three sources:

- `prometheus`: an instant query whose `{pod}` is replaced by the pod's name (for example
  `sum(voice_sip_active_calls{pod="{pod}"})`); no data is unknown, never 0, so a missed scrape cannot
  pass for a drained pod;
- `annotation`: a pod annotation the application keeps up to date (default `cxpe.io/active-sessions`);
- `http`: a URL whose `{pod}` and `{pod_ip}` are replaced, answering a number, or JSON with a `sessions` number.

A count that cannot be read now (no data, no answer) is None: the drain keeps waiting, up to its timeout.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import math

from urllib.error import HTTPError, URLError

from ansible.module_utils.urls import open_url
from ansible_collections.cxpe.rollout.plugins.module_utils.prometheus import OK, Prometheus

SOURCES = ("prometheus", "annotation", "http")
POD = "{pod}"
POD_IP = "{pod_ip}"
DEFAULT_ANNOTATION = "cxpe.io/active-sessions"


class SessionSourceError(ValueError):
    """The session source is configured in a way that cannot work."""


def source_problems(source, query=None, prometheus_url=None, url=None):
    """What is wrong with a session source's settings; [] when it can work."""
    if source == "prometheus":
        problems = [] if prometheus_url else ["sessions_source prometheus needs prometheus_url"]
        if not query or POD not in query:
            problems.append("sessions_query %r must contain the pod placeholder %s" % (query, POD))
        return problems
    if source == "http" and (not url or (POD not in url and POD_IP not in url)):
        return ["sessions_url %r must contain the pod placeholder %s or %s" % (url, POD, POD_IP)]
    return []


def _count(value):
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if math.isnan(number) or math.isinf(number) or number < 0:
        return None
    return int(math.ceil(number))


def parse_http_count(text):
    """The count an HTTP endpoint answered: a bare number, or JSON with a `sessions` number."""
    text = (text or "").strip()
    try:
        decoded = json.loads(text)
    except ValueError:
        return _count(text)
    if isinstance(decoded, dict):
        return _count(decoded.get("sessions"))
    return _count(decoded)


def annotation_count(pod, annotation):
    return _count(((pod.get("metadata") or {}).get("annotations") or {}).get(annotation))


class SessionCounter(object):
    """counts(pod) -> (sessions or None, why not when None)."""

    def __init__(self, source, query=None, prometheus_url=None, annotation=None, url=None, timeout=10,
                 validate_certs=True, opener=open_url):
        self.source, self.query, self.url = source, query, url
        self.annotation = annotation or DEFAULT_ANNOTATION
        self.timeout, self.validate_certs, self._open = timeout, validate_certs, opener
        self.prometheus = Prometheus(prometheus_url, timeout=timeout, validate_certs=validate_certs,
                                     opener=opener) if prometheus_url else None

    def count(self, pod):
        name = pod["metadata"]["name"]
        if self.source == "annotation":
            found = annotation_count(pod, self.annotation)
            return found, None if found is not None else "pod %s has no whole-number annotation %s" % (name, self.annotation)
        if self.source == "prometheus":
            reading = self.prometheus.query(self.query.replace(POD, name))
            if reading.status != OK:
                return None, reading.message
            found = _count(reading.value)
            return found, None if found is not None else "the query for pod %s returned %r, not a session count" % (name, reading.value)
        url = self.url.replace(POD, name).replace(POD_IP, (pod.get("status") or {}).get("podIP") or "")
        try:
            response = self._open(url, method="GET", timeout=self.timeout, validate_certs=self.validate_certs)
            found = parse_http_count(response.read().decode("utf-8", "replace"))
        except (HTTPError, URLError, OSError) as error:
            return None, "%s: %s" % (url, error)
        return found, None if found is not None else "%s did not answer a session count" % url
