"""Where the traffic addressed to a Service goes: the weighted router in front of it, if any.

A router *fronts* a Service when it names it: an NGINX stable Ingress or its canary for the same
host and path, an OpenShift Route as ``spec.to`` or an alternate backend, a Consul ServiceSplitter
or ServiceResolver by its own name. The traffic then follows that router's current weights, so
shifting weights (or swapping a Route's ``to``) moves the traffic, as it would at a real entry point.

Only one router applies: the one the Service's ``kubesim.cxpe.io/traffic-entry`` annotation names
(``ingress``, ``route`` or ``mesh``), else the first that exists in the order ingress, route, mesh.
Ingresses and Routes carry north-south traffic straight to the Service's endpoints; the mesh
resolves each split through the target Service's ServiceResolver subsets.
"""

import re
from dataclasses import dataclass

from .behaviour import number

TRAFFIC_ENTRY_ANNOTATION = "kubesim.cxpe.io/traffic-entry"
CANARY_ANNOTATION = "nginx.ingress.kubernetes.io/canary"
CANARY_WEIGHT_ANNOTATION = "nginx.ingress.kubernetes.io/canary-weight"
CANARY_WEIGHT_TOTAL_ANNOTATION = "nginx.ingress.kubernetes.io/canary-weight-total"
DEFAULT_CANARY_WEIGHT_TOTAL = 100
# OpenShift's router: weights 0..256, 100 when omitted.
DEFAULT_ROUTE_WEIGHT = 100
MAX_ROUTE_WEIGHT = 256
# consul-k8s registers a pod's ``consul.hashicorp.com/service-meta-<key>`` annotations as service meta.
CONSUL_META_ANNOTATION_PREFIX = "consul.hashicorp.com/service-meta-"
_FILTER_CLAUSE = re.compile(r'^Service\.Meta\.(?P<key>[\w./-]+)\s*(?P<operator>==|!=)\s*(?P<value>"[^"]*"|[^\s"]+)$')


@dataclass(frozen=True)
class Backend:
    """A weighted share of an entry Service's traffic.

    ``pod_filter`` holds the (meta key, equal, value) conditions a pod of ``service`` must meet; ``()``
    admits every pod and ``None`` none (a subset that does not resolve).
    """

    service: str
    weight: float
    pod_filter: tuple | None = ()


@dataclass(frozen=True)
class Routers:
    """The routing objects of one namespace, each list ordered by name."""

    ingresses: list
    routes: list
    splitters: dict
    resolvers: dict


def _annotations(obj):
    return obj["metadata"].get("annotations") or {}


# ---------------------------------------------------------------- NGINX Ingress canary


def _is_canary(ingress):
    return _annotations(ingress).get(CANARY_ANNOTATION) == "true"


def _locations(ingress):
    """((host, path), Service name) for each HTTP path of an Ingress that has a Service backend."""
    for rule in (ingress.get("spec") or {}).get("rules") or []:
        for path in (rule.get("http") or {}).get("paths") or []:
            service = ((path.get("backend") or {}).get("service") or {}).get("name")
            if service:
                yield (rule.get("host", ""), path.get("path", "/")), service


def _canary_share(canary):
    """(weight, total) of a canary Ingress; a canary selected only by header or cookie has weight 0."""
    annotations = _annotations(canary)
    total = number(annotations.get(CANARY_WEIGHT_TOTAL_ANNOTATION), DEFAULT_CANARY_WEIGHT_TOTAL)
    total = total if total > 0 else DEFAULT_CANARY_WEIGHT_TOTAL
    weight = number(annotations.get(CANARY_WEIGHT_ANNOTATION), 0)
    return min(max(weight, 0), total), total


def ingress_backends(name, routers):
    """Backends of the first stable Ingress location that names the Service, directly or through its canary."""
    canaries = {}
    for ingress in filter(_is_canary, routers.ingresses):
        for location, service in _locations(ingress):
            # ingress-nginx honours one canary per location.
            canaries.setdefault(location, (service, ingress))
    for ingress in routers.ingresses:
        if _is_canary(ingress):
            continue
        for location, stable in _locations(ingress):
            canary_service, canary = canaries.get(location, (None, None))
            if name not in (stable, canary_service):
                continue
            if canary is None:
                return [Backend(stable, 1.0)]
            weight, total = _canary_share(canary)
            return [Backend(stable, total - weight), Backend(canary_service, weight)]
    return None


# ---------------------------------------------------------------- OpenShift Route


def _route_weight(target):
    weight = number(target.get("weight"), DEFAULT_ROUTE_WEIGHT)
    return min(max(weight, 0), MAX_ROUTE_WEIGHT)


def route_backends(name, routers):
    """Backends of the first Route whose ``to`` or alternate backends name the Service."""
    for route in routers.routes:
        spec = route.get("spec") or {}
        targets = [spec.get("to") or {}, *(spec.get("alternateBackends") or [])]
        services = [target for target in targets if target.get("kind", "Service") == "Service" and target.get("name")]
        if any(target["name"] == name for target in services):
            return [Backend(target["name"], _route_weight(target)) for target in services]
    return None


# ---------------------------------------------------------------- Consul service mesh


def parse_consul_filter(text):
    """A ServiceResolver subset filter as ((meta key, equal, value), ...).

    Supports ``Service.Meta.<key> == <value>`` and ``!=`` clauses joined by ``and``, values bare or
    double-quoted; ``None`` for any other expression, so an unsupported filter selects no pods
    rather than all of them.
    """
    if not text.strip():
        return ()
    clauses = []
    for clause in re.split(r"\s+and\s+", text.strip()):
        match = _FILTER_CLAUSE.match(clause.strip())
        if not match:
            return None
        clauses.append((match.group("key"), match.group("operator") == "==", match.group("value").strip('"')))
    return tuple(clauses)


def subset_filter(resolver, subset):
    """The pod filter of a named subset (or the resolver's default subset when none is named)."""
    spec = (resolver or {}).get("spec") or {}
    subset = subset or spec.get("defaultSubset")
    if not subset:
        return ()
    definition = (spec.get("subsets") or {}).get(subset)
    if definition is None:
        return None
    return parse_consul_filter(definition.get("filter") or "")


def pod_matches(pod_filter, pod):
    """Whether a pod's service meta meets a filter: ``Service.Meta.<key>`` is the pod's
    ``consul.hashicorp.com/service-meta-<key>`` annotation, else its label ``<key>``."""
    if pod_filter is None:
        return False
    labels = pod["metadata"].get("labels") or {}
    annotations = _annotations(pod)
    for key, equal, value in pod_filter:
        if (annotations.get(CONSUL_META_ANNOTATION_PREFIX + key, labels.get(key)) == value) != equal:
            return False
    return True


def mesh_backends(name, routers):
    """Backends of the ServiceSplitter named for the Service, or its ServiceResolver's default subset."""
    splitter = routers.splitters.get(name)
    if splitter is not None:
        backends = []
        for split in (splitter.get("spec") or {}).get("splits") or []:
            service = split.get("service") or name
            pod_filter = subset_filter(routers.resolvers.get(service), split.get("serviceSubset"))
            backends.append(Backend(service, number(split.get("weight"), 0), pod_filter))
        return backends
    if name in routers.resolvers:
        return [Backend(name, 1.0, subset_filter(routers.resolvers[name], None))]
    return None


# ---------------------------------------------------------------- choosing the router

ENTRY_ROUTERS = {"ingress": ingress_backends, "route": route_backends, "mesh": mesh_backends}


def backends(service, routers):
    """The weighted backends of an entry Service; empty when its router gives every backend weight 0
    (the real routers answer 503), the Service itself when no router fronts it."""
    name = service["metadata"]["name"]
    chosen = _annotations(service).get(TRAFFIC_ENTRY_ANNOTATION)
    for entry in (chosen,) if chosen in ENTRY_ROUTERS else ENTRY_ROUTERS:
        found = ENTRY_ROUTERS[entry](name, routers)
        if found is not None:
            return [backend for backend in found if backend.weight > 0]
    return [Backend(name, 1.0)]
