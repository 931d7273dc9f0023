"""How each router sends an entry point's traffic, given what it knows (a :class:`World`).

- kube-proxy (a Service entry): the Service's ready endpoints; with none, its serving terminating
  ones (kube-proxy's fallback since v1.28); with none at all, connections are refused.
- ingress-nginx (an Ingress entry): the first stable Ingress (by name) with the location the
  clients call, and one canary Ingress for it. A request carrying the canary's
  ``canary-by-header`` goes to the canary for ``always`` (or the ``canary-by-header-value``),
  to the stable backend for ``never``; others are split by ``canary-weight`` out of
  ``canary-weight-total``. A canary backend with no ready endpoint gets nothing (the controller
  keeps no balancer for it, so everything goes to the stable one); a stable backend with none
  answers 503, canary included.
- the OpenShift router (a Route entry): ``spec.to`` and ``spec.alternateBackends`` by ``weight``
  (0-256, 100 when omitted); a Service with no ready endpoint has no server in the HAProxy backend,
  so the others share its traffic; with no server at all the router answers 503.
- Consul (a Service entry through the mesh): the ServiceSplitter named for the Service, each split
  to its Service and ServiceResolver subset, else the resolver's default subset, else the Service's
  ready instances. A split whose subset has no healthy instance fails its share (Envoy's 503).
"""

import re
from dataclasses import dataclass, field

from .behaviour import number
from .entries import INGRESS, KUBE_PROXY, MESH, ROUTE

CANARY_ANNOTATION = "nginx.ingress.kubernetes.io/canary"
CANARY_WEIGHT_ANNOTATION = "nginx.ingress.kubernetes.io/canary-weight"
CANARY_WEIGHT_TOTAL_ANNOTATION = "nginx.ingress.kubernetes.io/canary-weight-total"
CANARY_HEADER_ANNOTATION = "nginx.ingress.kubernetes.io/canary-by-header"
CANARY_HEADER_VALUE_ANNOTATION = "nginx.ingress.kubernetes.io/canary-by-header-value"
DEFAULT_CANARY_WEIGHT_TOTAL = 100
DEFAULT_ROUTE_WEIGHT = 100
MAX_ROUTE_WEIGHT = 256
# consul-k8s registers a pod's ``consul.hashicorp.com/service-meta-<key>`` annotations as service meta.
CONSUL_META_ANNOTATION_PREFIX = "consul.hashicorp.com/service-meta-"
_FILTER_CLAUSE = re.compile(r'^Service\.Meta\.(?P<key>[\w./-]+)\s*(?P<operator>==|!=)\s*(?P<value>"[^"]*"|[^\s"]+)$')

# Why a request found nowhere to go.
NO_ROUTE = "no_route"  # the entry point has nothing for it: no Service, no Ingress location, no Route
NO_ENDPOINTS = "no_endpoints"  # the router has the backend but no endpoint for it


@dataclass(frozen=True)
class Pool:
    """The endpoints one share goes to: pods of ``service`` (those a mesh subset selects), as (uid, name)."""

    namespace: str
    service: str
    subset: str
    endpoints: tuple


@dataclass(frozen=True)
class Plan:
    """An entry's routing: weighted pools, or, with no pool, why every request fails and on which Service it counts."""

    shares: tuple = ()
    failure: str = ""
    failure_service: str = ""
    weights: tuple = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "weights", tuple(weight for weight, _ in self.shares))


def _annotations(obj):
    return obj["metadata"].get("annotations") or {}


def _is_ready(conditions):
    # An unset condition means ready, as the EndpointSlice API defines it.
    return conditions.get("ready") is not False


def _pool(world, namespace, service, members=None, subset=""):
    """A pool of the Service's ready endpoints (``members`` narrows them to pods passing a filter)."""
    endpoints = [(uid, name) for uid, name, conditions in world.endpoints(namespace, service) if _is_ready(conditions)]
    if members is not None:
        endpoints = [endpoint for endpoint in endpoints if members(endpoint[1])]
    return Pool(namespace, service, subset, tuple(endpoints))


def _single(pool, failure_service):
    if pool.endpoints:
        return Plan(((1.0, pool),))
    return Plan(failure=NO_ENDPOINTS, failure_service=failure_service)


# ---------------------------------------------------------------- kube-proxy


def kube_proxy_plan(world, entry):
    service = entry.target[0]
    if (entry.namespace, service) not in world.tables["services"]:
        return Plan(failure=NO_ROUTE, failure_service=service)
    pool = _pool(world, entry.namespace, service)
    if not pool.endpoints:
        terminating = tuple((uid, name) for uid, name, conditions in world.endpoints(entry.namespace, service)
                            if conditions.get("serving") and conditions.get("terminating"))
        pool = Pool(entry.namespace, service, "", terminating)
    return _single(pool, service)


# ---------------------------------------------------------------- ingress-nginx


def _is_canary(ingress):
    return _annotations(ingress).get(CANARY_ANNOTATION) == "true"


def _backend_at(ingress, location):
    """The Service an Ingress sends a (host, path) location to, or None."""
    host, path = location
    for rule in (ingress.get("spec") or {}).get("rules") or []:
        if rule.get("host", "") != host:
            continue
        for rule_path in (rule.get("http") or {}).get("paths") or []:
            if rule_path.get("path", "/") == path:
                return ((rule_path.get("backend") or {}).get("service") or {}).get("name")
    return None


def _canary_choice(canary, headers):
    """True (canary), False (stable) or None (by weight) for a request with these headers."""
    annotations = _annotations(canary)
    header = (annotations.get(CANARY_HEADER_ANNOTATION) or "").lower()
    value = dict(headers).get(header) if header else None
    if value is None:
        return None
    expected = annotations.get(CANARY_HEADER_VALUE_ANNOTATION)
    if expected:
        return True if value == expected else None
    return {"always": True, "never": False}.get(value)


def _canary_weight(canary):
    annotations = _annotations(canary)
    # ingress-nginx counts a total below 100 as 100.
    total = max(number(annotations.get(CANARY_WEIGHT_TOTAL_ANNOTATION), DEFAULT_CANARY_WEIGHT_TOTAL), DEFAULT_CANARY_WEIGHT_TOTAL)
    return min(max(number(annotations.get(CANARY_WEIGHT_ANNOTATION), 0), 0), total), total


def ingress_plan(world, entry):
    location = entry.target
    stable_service = canary_service = canary = None
    for ingress in world.of_namespace("ingresses", entry.namespace):
        backend = _backend_at(ingress, location)
        if backend is None:
            continue
        if _is_canary(ingress):
            if canary is None:
                canary, canary_service = ingress, backend
        elif stable_service is None:
            stable_service = backend
    if stable_service is None:
        return Plan(failure=NO_ROUTE)
    stable = _pool(world, entry.namespace, stable_service)
    if not stable.endpoints:
        return Plan(failure=NO_ENDPOINTS, failure_service=stable_service)
    if canary is None:
        return Plan(((1.0, stable),))
    canary_pool = _pool(world, entry.namespace, canary_service)
    if not canary_pool.endpoints:
        return Plan(((1.0, stable),))
    choice = _canary_choice(canary, entry.headers)
    if choice is not None:
        return Plan(((1.0, canary_pool if choice else stable),))
    weight, total = _canary_weight(canary)
    return Plan(tuple((share, pool) for share, pool in ((total - weight, stable), (weight, canary_pool)) if share > 0))


# ---------------------------------------------------------------- OpenShift router


def _route_weight(target):
    return min(max(number(target.get("weight"), DEFAULT_ROUTE_WEIGHT), 0), MAX_ROUTE_WEIGHT)


def route_plan(world, entry):
    route = world.tables["routes"].get((entry.namespace, entry.name))
    if route is None:
        return Plan(failure=NO_ROUTE)
    spec = route.get("spec") or {}
    targets = [spec.get("to") or {}, *(spec.get("alternateBackends") or [])]
    services = [t for t in targets if t.get("kind", "Service") == "Service" and t.get("name")]
    shares = []
    for target in services:
        pool = _pool(world, entry.namespace, target["name"])
        if _route_weight(target) > 0 and pool.endpoints:
            shares.append((_route_weight(target), pool))
    if not shares:
        return Plan(failure=NO_ENDPOINTS, failure_service=services[0]["name"] if services else "")
    return Plan(tuple(shares))


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
    """The name and pod filter of a subset (the resolver's default subset when none is named)."""
    spec = (resolver or {}).get("spec") or {}
    subset = subset or spec.get("defaultSubset") or ""
    if not subset:
        return "", ()
    definition = (spec.get("subsets") or {}).get(subset)
    if definition is None:
        return subset, None
    return subset, parse_consul_filter(definition.get("filter") or "")


def meta_matches(pod_filter, meta):
    """Whether a pod's service meta meets a filter: ``Service.Meta.<key>`` is the pod's
    ``consul.hashicorp.com/service-meta-<key>`` annotation, else its label ``<key>``."""
    if pod_filter is None or meta is None:
        return False
    labels, annotations = meta
    return all((annotations.get(CONSUL_META_ANNOTATION_PREFIX + key, labels.get(key)) == value) == equal
               for key, equal, value in pod_filter)


def _subset_pool(world, namespace, service, subset):
    name, pod_filter = subset_filter(world.tables["resolvers"].get((namespace, service)), subset)
    if pod_filter == ():
        return _pool(world, namespace, service, subset=name)
    pods = world.tables["pods"]
    return _pool(world, namespace, service, lambda pod_name: meta_matches(pod_filter, pods.get((namespace, pod_name))), name)


def mesh_plan(world, entry):
    service = entry.target[0]
    splitter = world.tables["splitters"].get((entry.namespace, service))
    if splitter is None:
        if (entry.namespace, service) not in world.tables["services"]:
            return Plan(failure=NO_ROUTE, failure_service=service)
        return _single(_subset_pool(world, entry.namespace, service, None), service)
    shares = []
    for split in (splitter.get("spec") or {}).get("splits") or []:
        weight = number(split.get("weight"), 0)
        if weight > 0:
            shares.append((weight, _subset_pool(world, entry.namespace, split.get("service") or service, split.get("serviceSubset"))))
    if not shares:
        return Plan(failure=NO_ENDPOINTS, failure_service=service)
    return Plan(tuple(shares))


PLANNERS = {KUBE_PROXY: kube_proxy_plan, INGRESS: ingress_plan, ROUTE: route_plan, MESH: mesh_plan}


def plan(world, entry):
    """The entry's routing in this World, computed once per World and entry."""
    key = (entry.router, entry.namespace, entry.name, entry.target, entry.headers)
    found = world.plans.get(key)
    if found is None:
        found = world.plans[key] = PLANNERS[entry.router](world, entry)
    return found
