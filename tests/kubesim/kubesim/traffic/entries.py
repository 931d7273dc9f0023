"""Where client traffic enters the cluster, how much of it, and when each request arrives.

An *entry point* is a Service (clients inside the cluster, through kube-proxy or the Consul mesh),
an Ingress (clients through ingress-nginx) or an OpenShift Route (clients through the OpenShift
router) that carries traffic annotations:

| annotation | meaning | default |
| --- | --- | --- |
| ``kubesim.cxpe.io/request-rate`` | short requests per simulated second | 0 |
| ``kubesim.cxpe.io/session-rate`` | new long-lived sessions per simulated second | 0 |
| ``kubesim.cxpe.io/session-duration`` | mean session length, simulated seconds | 60 |
| ``kubesim.cxpe.io/request-duration`` | how long a request is in flight on its pod | 0.05 |
| ``kubesim.cxpe.io/propagation-delay`` | how long the router takes to apply a change | per router |
| ``kubesim.cxpe.io/traffic-entry`` | on a Service: ``kube-proxy`` or ``mesh`` | ``kube-proxy`` |
| ``kubesim.cxpe.io/traffic-host``, ``traffic-path`` | on an Ingress: the location the clients call | its first rule and path |
| ``kubesim.cxpe.io/request-headers`` | ``Name: value`` lines every request carries | none |

Clients do not stop because an object changed: an entry's traffic follows its latest annotations,
keeps flowing (and failing) when the object is replaced without them or deleted, and stops only
when its rates are set to 0 or its namespace is deleted.
"""

from dataclasses import dataclass

from .behaviour import number

REQUEST_RATE_ANNOTATION = "kubesim.cxpe.io/request-rate"
SESSION_RATE_ANNOTATION = "kubesim.cxpe.io/session-rate"
SESSION_DURATION_ANNOTATION = "kubesim.cxpe.io/session-duration"
REQUEST_DURATION_ANNOTATION = "kubesim.cxpe.io/request-duration"
PROPAGATION_DELAY_ANNOTATION = "kubesim.cxpe.io/propagation-delay"
TRAFFIC_ENTRY_ANNOTATION = "kubesim.cxpe.io/traffic-entry"
TRAFFIC_HOST_ANNOTATION = "kubesim.cxpe.io/traffic-host"
TRAFFIC_PATH_ANNOTATION = "kubesim.cxpe.io/traffic-path"
REQUEST_HEADERS_ANNOTATION = "kubesim.cxpe.io/request-headers"
RATE_ANNOTATIONS = (REQUEST_RATE_ANNOTATION, SESSION_RATE_ANNOTATION)
DEFAULT_SESSION_DURATION = 60.0
DEFAULT_REQUEST_DURATION = 0.05

KUBE_PROXY, MESH, INGRESS, ROUTE = "kube-proxy", "mesh", "ingress", "route"
ROUTERS = (KUBE_PROXY, MESH, INGRESS, ROUTE)
# Simulated seconds from a change (an endpoint turning ready or going, a weight, a backend) to the
# router applying it: kube-proxy's iptables sync, ingress-nginx's dynamic endpoint update, the
# OpenShift router's coalesced reload, Consul's xDS push.
DEFAULT_PROPAGATION_DELAYS = {KUBE_PROXY: 1.0, INGRESS: 1.5, ROUTE: 2.0, MESH: 1.0}
ENTRY_KINDS = {"Service": KUBE_PROXY, "Ingress": INGRESS, "Route": ROUTE}


@dataclass(frozen=True)
class Entry:
    """One entry point's traffic. ``key`` is (kind, namespace, name); ``target`` is what the router
    resolves: the Service name, or the Ingress location (host, path)."""

    kind: str
    namespace: str
    name: str
    router: str
    request_rate: float
    session_rate: float
    session_duration: float
    request_duration: float
    delay: float
    target: tuple
    headers: tuple

    @property
    def key(self):
        return (self.kind, self.namespace, self.name)


def _annotations(obj):
    return obj["metadata"].get("annotations") or {}


def declares_traffic(obj):
    return any(name in _annotations(obj) for name in RATE_ANNOTATIONS)


def parse_headers(text):
    """``Name: value`` lines (or ``;``-separated) as ((lower-case name, value), ...)."""
    headers = []
    for line in (text or "").replace(";", "\n").splitlines():
        name, separator, value = line.partition(":")
        if separator and name.strip():
            headers.append((name.strip().lower(), value.strip()))
    return tuple(headers)


def ingress_location(ingress):
    """The (host, path) the clients of an Ingress entry call: the annotations', else its first rule's first path."""
    annotations = _annotations(ingress)
    rules = (ingress.get("spec") or {}).get("rules") or [{}]
    paths = (rules[0].get("http") or {}).get("paths") or [{}]
    host = annotations.get(TRAFFIC_HOST_ANNOTATION, rules[0].get("host", ""))
    path = annotations.get(TRAFFIC_PATH_ANNOTATION, paths[0].get("path", "/"))
    return (host, path)


def _router(kind, obj):
    if kind == "Service" and _annotations(obj).get(TRAFFIC_ENTRY_ANNOTATION) == MESH:
        return MESH
    return ENTRY_KINDS[kind]


def entry_of(kind, obj, delays):
    """The Entry an annotated Service, Ingress or Route declares, or None when its rates are all 0."""
    annotations = _annotations(obj)
    request_rate = max(number(annotations.get(REQUEST_RATE_ANNOTATION), 0.0), 0.0)
    session_rate = max(number(annotations.get(SESSION_RATE_ANNOTATION), 0.0), 0.0)
    if not request_rate and not session_rate:
        return None
    router = _router(kind, obj)
    metadata = obj["metadata"]
    return Entry(
        kind=kind, namespace=metadata["namespace"], name=metadata["name"], router=router,
        request_rate=request_rate, session_rate=session_rate,
        session_duration=max(number(annotations.get(SESSION_DURATION_ANNOTATION), DEFAULT_SESSION_DURATION), 0.0),
        request_duration=max(number(annotations.get(REQUEST_DURATION_ANNOTATION), DEFAULT_REQUEST_DURATION), 0.0),
        delay=max(number(annotations.get(PROPAGATION_DELAY_ANNOTATION), delays[router]), 0.0),
        target=ingress_location(obj) if kind == "Ingress" else (metadata["name"],),
        headers=parse_headers(annotations.get(REQUEST_HEADERS_ANNOTATION)),
    )


class Arrivals:
    """Exact, evenly spaced arrival times of a rate that may change: ``rate`` per simulated second
    means one arrival every ``1/rate`` seconds, the phase carried across rate changes, so a rate of
    10 over one second is exactly 10 arrivals and a 50 ms window at 100/s holds exactly 5."""

    def __init__(self, rate, start):
        self.rate = rate
        self._since = start
        self._progress = 0.0  # fraction of the way to the next arrival at ``_since``

    def change(self, rate, moment):
        self._progress = min(self._progress + (moment - self._since) * self.rate, 1.0)
        self._since = moment
        self.rate = rate

    @property
    def next_time(self):
        if self.rate <= 0:
            return float("inf")
        return self._since + (1.0 - self._progress) / self.rate

    def take(self):
        """Consume the next arrival; returns its time."""
        moment = self.next_time
        self._since, self._progress = moment, 0.0
        return moment
