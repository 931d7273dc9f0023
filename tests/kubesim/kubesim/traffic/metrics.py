"""Traffic counters, their Prometheus text exposition (format 0.0.4) and the HTTP server for it.

Pod families are kept per namespace, Service, pod and version, and exposed a second time summed
over pods as ``kubesim_service_*`` with labels namespace, Service and version, which is what a
gate asks ("the error rate of version X of Service S") without needing PromQL. Series of pods
that are gone stay, so sums over pods never go backwards. Entry families count what each entry
point sent, and why what failed failed, so a test can tell "no errors" from "no traffic".
"""

from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ..serving import BackgroundServer

SERIES_LABELS = ("namespace", "service", "pod", "version")
SERVICE_LABELS = ("namespace", "service", "version")
ENTRY_LABELS = ("namespace", "kind", "entry")
ENTRY_ERROR_LABELS = ("namespace", "kind", "entry", "reason")
# Why a request failed, as the entry error counter labels it.
FAILURE_REASONS = ("no_route", "no_endpoints", "refused", "reset", "app_error")
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass(frozen=True)
class Family:
    name: str
    kind: str
    help: str

    @property
    def by_service(self):
        """The per-Service family: ``kubesim_requests_total`` becomes ``kubesim_service_requests_total``."""
        return Family(self.name.replace("kubesim_", "kubesim_service_", 1), self.kind, f"{self.help} Summed over pods.")


REQUESTS = Family("kubesim_requests_total", "counter", "Requests received, including the request that opens each session.")
REQUEST_ERRORS = Family(
    "kubesim_request_errors_total", "counter",
    "Requests that failed: the pod's error ratio, a refused connection, a request cut in flight, or no endpoint (pod and version empty).",
)
SESSIONS_STARTED = Family("kubesim_sessions_started_total", "counter", "Long-lived sessions opened.")
SESSIONS_COMPLETED = Family("kubesim_sessions_completed_total", "counter", "Sessions that ran their full duration.")
SESSIONS_DROPPED = Family("kubesim_sessions_dropped_total", "counter", "Sessions cut short because their pod stopped first.")
SESSIONS_ACTIVE = Family("kubesim_sessions_active", "gauge", "Sessions open now.")
FAMILIES = (REQUESTS, REQUEST_ERRORS, SESSIONS_STARTED, SESSIONS_COMPLETED, SESSIONS_DROPPED, SESSIONS_ACTIVE)
ENTRY_REQUESTS = Family("kubesim_entry_requests_total", "counter", "Requests and session openings sent through an entry point.")
ENTRY_REQUEST_ERRORS = Family("kubesim_entry_request_errors_total", "counter", "Requests sent through an entry point that failed, by reason.")


def escape_label_value(value):
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def escape_help(text):
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def family_lines(family, label_names, samples):
    """HELP, TYPE and one line per series of ``samples`` ({label values: number}), series sorted."""
    yield f"# HELP {family.name} {escape_help(family.help)}"
    yield f"# TYPE {family.name} {family.kind}"
    for values in sorted(samples):
        labels = ",".join(f'{name}="{escape_label_value(value)}"' for name, value in zip(label_names, values))
        yield f"{family.name}{{{labels}}} {samples[values]}"


def by_service(samples):
    """Sum per-pod samples into (namespace, service, version) series."""
    sums = {}
    for (namespace, service, _, version), number in samples.items():
        key = (namespace, service, version)
        sums[key] = sums.get(key, 0) + number
    return sums


class Counters:
    """Integer counters and gauges per family and series; not thread-safe."""

    def __init__(self):
        self._samples = {family.name: {} for family in FAMILIES}
        self._entry_requests = {}
        self._entry_errors = {}

    def add(self, family, series, amount=1):
        """Count on a (namespace, service, pod, version) series of a pod family."""
        if series not in self._samples[family.name]:
            # Every family gets the series at 0 at once, as instrumented code initialises its
            # counters, so "nothing dropped" reads as 0 rather than as a missing series.
            for samples in self._samples.values():
                samples.setdefault(series, 0)
        self._samples[family.name][series] += amount

    def add_entry_request(self, entry_series):
        """Count a request sent through an entry point, a (namespace, kind, name) series."""
        if entry_series not in self._entry_requests:
            self._entry_requests[entry_series] = 0
            for reason in FAILURE_REASONS:
                self._entry_errors[(*entry_series, reason)] = 0
        self._entry_requests[entry_series] += 1

    def add_entry_error(self, entry_series, reason):
        self._entry_errors[(*entry_series, reason)] += 1

    def exposition(self):
        lines = []
        for family in FAMILIES:
            lines.extend(family_lines(family, SERIES_LABELS, self._samples[family.name]))
        for family in FAMILIES:
            lines.extend(family_lines(family.by_service, SERVICE_LABELS, by_service(self._samples[family.name])))
        lines.extend(family_lines(ENTRY_REQUESTS, ENTRY_LABELS, self._entry_requests))
        lines.extend(family_lines(ENTRY_REQUEST_ERRORS, ENTRY_ERROR_LABELS, self._entry_errors))
        return "\n".join(lines) + "\n"


def _handler(model):
    class MetricsHandler(BaseHTTPRequestHandler):
        def do_GET(self):  # pylint: disable=invalid-name  (the name http.server dispatches to)
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._reply(200, CONTENT_TYPE, model.exposition())
            elif path == "/healthz":
                self._reply(200, "text/plain; charset=utf-8", "ok")
            else:
                self._reply(404, "text/plain; charset=utf-8", "404 page not found\n")

        def _reply(self, code, content_type, text):
            body = text.encode()
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format, *args):  # pylint: disable=redefined-builtin
            """Scrapes are frequent; keep them out of the simulator's log."""

    return MetricsHandler


class MetricsServer(BackgroundServer):
    """Serves ``/metrics`` (the model's exposition) and ``/healthz`` on ``host:port``; port 0 picks a free one."""

    def __init__(self, model, host, port):
        httpd = ThreadingHTTPServer((host, port or 0), _handler(model))
        httpd.daemon_threads = True
        super().__init__(httpd, "kubesim-metrics")
