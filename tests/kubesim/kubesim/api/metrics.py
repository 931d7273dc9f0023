"""The API server's own request metrics, served on its ``/metrics`` path as a real API server serves them.

``apiserver_request_total`` (counter) and ``apiserver_request_duration_seconds`` (histogram) with the
labels the real server computes (k8s.io/apiserver, endpoints/metrics):

- ``verb``: the HTTP method, except that a GET (or HEAD) of a collection is ``LIST``, any request
  with ``watch`` is ``WATCH`` and a PATCH in ``application/apply-patch+yaml`` is ``APPLY``. So a
  create is ``POST`` (an eviction too, with subresource ``eviction``), an update ``PUT``, a delete
  and a deletecollection ``DELETE``.
- ``scope``: ``resource`` when the request names an object or creates one, else ``namespace``
  when it names a namespace, else ``cluster``.
- ``dry_run``: empty, or the ``dryRun`` parameter (``All``).
- ``component``: ``apiserver``. The health checks (``/healthz``, ``/livez``, ``/readyz``) are
  counted as the real server counts them: verb GET, the path as subresource, empty component and
  scope; so is aggregated discovery (``/api``, ``/apis``), with component ``apiserver``.

Only client requests reach these counters: the controllers write through the store, not over HTTP.
A request is counted when its answer is complete, a watch when its stream ends.
"""

import bisect
import threading

from .patch import APPLY_PATCH

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
COMPONENT = "apiserver"
# The real histogram's buckets (seconds).
DURATION_BUCKETS = (0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60)
# The order of a labels tuple; the exposition prints label names sorted, as client_golang does.
LABEL_NAMES = ("verb", "dry_run", "group", "version", "resource", "subresource", "scope", "component")
_SORTED = sorted(range(len(LABEL_NAMES)), key=lambda index: LABEL_NAMES[index])

REQUESTS_HELP = ("[STABLE] Counter of apiserver requests broken out for each verb, dry run value, group, version, "
                 "resource, scope, component, and HTTP response code.")
DURATION_HELP = ("[STABLE] Response latency distribution in seconds for each verb, dry run value, group, version, "
                 "resource, subresource, scope and component.")


def _dry_run(request):
    value = request.param("dryRun")
    if value is None:
        return ""
    return value if value == "All" else "invalid"


def scope_of(request, target):
    if target.name or request.method == "POST":
        return "resource"
    return "namespace" if target.namespace else "cluster"


def verb_of(request, target, scope):
    method = request.method
    if method in ("GET", "HEAD"):
        if target.legacy_watch or request.flag("watch"):
            return "WATCH"
        return "GET" if scope == "resource" else "LIST"
    if method == "PATCH" and request.content_type == APPLY_PATCH:
        return "APPLY"
    return method


def resource_labels(request, target):
    """The labels a request for a resource is counted under."""
    scope = scope_of(request, target)
    rtype = target.rtype
    return (verb_of(request, target, scope), _dry_run(request), rtype.group, rtype.version, rtype.plural,
            target.subresource or "", scope, COMPONENT)


def path_labels(request, path, component):
    """The labels of the non-resource paths the real server instruments (health checks, aggregated discovery)."""
    return ("GET", _dry_run(request), "", "", "", path, "", component)


def _escape(value):
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _label_text(labels):
    return ",".join(f'{LABEL_NAMES[index]}="{_escape(labels[index])}"' for index in _SORTED)


def _go_float(value):
    """A float the way Prometheus' Go client writes it: shortest form, no trailing ".0"."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


class RequestMetrics:
    """Request counts by labels and code, and durations by labels; safe to use from every request thread."""

    def __init__(self):
        self._lock = threading.Lock()
        self._totals = {}  # labels + (code,) -> requests
        self._durations = {}  # labels -> [count per bucket..., count, sum]

    def observe(self, labels, code, seconds):
        key = labels + (str(code),)
        bucket = bisect.bisect_left(DURATION_BUCKETS, seconds)
        with self._lock:
            self._totals[key] = self._totals.get(key, 0) + 1
            histogram = self._durations.get(labels)
            if histogram is None:
                histogram = self._durations[labels] = [0] * (len(DURATION_BUCKETS) + 2)
            if bucket < len(DURATION_BUCKETS):
                histogram[bucket] += 1
            histogram[-2] += 1
            histogram[-1] += seconds

    def exposition(self):
        with self._lock:
            totals = sorted(self._totals.items())
            durations = sorted((labels, list(histogram)) for labels, histogram in self._durations.items())
        lines = [f"# HELP apiserver_request_total {REQUESTS_HELP}", "# TYPE apiserver_request_total counter"]
        for key, count in totals:
            lines.append(f'apiserver_request_total{{code="{key[-1]}",{_label_text(key[:-1])}}} {count}')
        lines += [f"# HELP apiserver_request_duration_seconds {DURATION_HELP}", "# TYPE apiserver_request_duration_seconds histogram"]
        for labels, histogram in durations:
            lines.extend(_histogram_lines("apiserver_request_duration_seconds", _label_text(labels), histogram))
        return "\n".join(lines) + "\n"


def _histogram_lines(name, label_text, histogram):
    """Cumulative buckets, +Inf, sum and count of one series."""
    cumulative = 0
    for bound, count in zip(DURATION_BUCKETS, histogram):
        cumulative += count
        yield f'{name}_bucket{{{label_text},le="{_go_float(bound)}"}} {cumulative}'
    yield f'{name}_bucket{{{label_text},le="+Inf"}} {histogram[-2]}'
    yield f"{name}_sum{{{label_text}}} {_go_float(histogram[-1])}"
    yield f"{name}_count{{{label_text}}} {histogram[-2]}"
