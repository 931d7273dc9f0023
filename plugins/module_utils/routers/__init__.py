# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Router adapters: the objects that decide which pods a service's users reach.

A router sends a service's traffic to its *variants* (the colors of a
blue/green service, the tracks of a canary) in *shares*: a dict
{variant: percent} whose values add up to 100 ({"green": 100} for blue/green,
{"stable": 95, "canary": 5} for a canary step). Each adapter is one class in
one file of this package, registered in ROUTERS by the `kind` users write:

    router = make_router({"kind": "ingress", "name": "gws-chat"}, "gws", "gws-chat")
    router.shares(obj)               # what it routes now
    router.route(obj, {"green": 100})  # the object routing that, or None when it already does
    router.backends(obj)             # the Services carrying the traffic: [(name, variant, percent)]

The adapters' logic is pure: it reads and returns plain dicts. Their I/O is
two small methods over a cluster.Cluster, `read` and `apply` (one guarded
write of the object route() returns), which an adapter whose routing spans
several objects (`replicas`: two Deployments) overrides. A router that
cannot do what is asked (a selector key it lacks, a split it cannot express)
raises RouterError. Weighted adapters (`weighted = True`) accept any shares;
the others only all-or-nothing ones.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

FULL_SHARE = 100


class RouterError(ValueError):
    """A router object cannot be read or changed as asked."""


def describe_object(obj):
    metadata = obj.get("metadata") or {}
    return "%s %s/%s" % (obj.get("kind"), metadata.get("namespace"), metadata.get("name"))


def normalized(weights):
    """{variant: weight} as percentages of the total, dropping zero weights; {} when all are 0."""
    total = sum(weights.values())
    if not total:
        return {}
    return dict((variant, weight * 100.0 / total) for variant, weight in weights.items() if weight)


def single_variant(shares):
    """The variant that takes all the traffic, or None when the shares split it."""
    positive = [variant for variant, share in shares.items() if share > 0]
    if len(positive) == 1 and shares[positive[0]] >= FULL_SHARE:
        return positive[0]
    return None


def format_shares(shares):
    return ", ".join("%s %g%%" % (variant, share) for variant, share in sorted(shares.items())) or "nothing"


class Router(object):
    """One router object of a service (see the package docstring)."""

    kind = None
    api_version = None
    object_kind = None
    weighted = False
    # The strategies whose variants it routes: blue/green colors, canary tracks.
    strategies = ("blue_green",)
    # Paths under spec that hold the routing: what snapshot() records in the ledger.
    routing_fields = ()

    def __init__(self, name, namespace, service, options=None):
        self.name = name
        self.namespace = namespace
        self.service = service
        self.options = dict(options or {})

    def __repr__(self):
        return "%s(%s/%s)" % (type(self).__name__, self.namespace, self.name)

    @property
    def key(self):
        """How the ledger names this router: '<Kind>/<name>'."""
        return "%s/%s" % (self.object_kind, self.name)

    def describe(self):
        return "%s %s/%s" % (self.object_kind, self.namespace, self.name)

    @classmethod
    def default_name(cls, service):
        """The router object's name when the user gives none."""
        return service

    def backend_service(self, variant):
        """The Service that selects one variant's pods: <service>-<variant>."""
        return "%s-%s" % (self.service, variant)

    def variant_of_backend(self, service_name, where):
        prefix = self.service + "-"
        if not service_name or not service_name.startswith(prefix) or service_name == prefix:
            raise RouterError("%s routes %s to Service %s, which is not one of %s<color>"
                              % (self.describe(), where, service_name, prefix))
        return service_name[len(prefix):]

    # The interface; each adapter implements these three.
    def shares(self, obj):
        raise NotImplementedError

    def route(self, obj, shares):
        raise NotImplementedError

    def backends(self, obj):
        raise NotImplementedError

    def check_shares(self, shares):
        """Refuse shares this router cannot express; returns the single variant for unweighted routers."""
        if any(share < 0 for share in shares.values()) or abs(sum(shares.values()) - FULL_SHARE) > 1e-9:
            raise RouterError("shares must be non-negative and add up to 100, not %s" % format_shares(shares))
        variant = single_variant(shares)
        if variant is None and not self.weighted:
            raise RouterError("%s sends all of its traffic to one variant; it cannot split it as %s"
                              % (self.describe(), format_shares(shares)))
        return variant

    def companions(self):
        """Other objects the router relies on: [(apiVersion, kind, name, problems(obj) -> [str])]."""
        return []

    def prepare(self, obj, ledger):
        """Learn what route() needs beyond the object from the service's ledger (None when it has none)."""

    def objects(self, obj):
        """[(description, object)]: the API objects behind what read() returns, for diffs."""
        return [(self.describe(), obj)]

    def read(self, cluster):
        """The router object, or None when it does not exist."""
        return cluster.get(self.api_version, self.object_kind, self.name, self.namespace)

    def apply(self, cluster, current, shares, settle=None):
        """Make the router route `shares`: (before, after). One write guarded by resourceVersion; on a
        conflict the object is read again and the change planned again, so a concurrent edit of other
        fields is kept. `settle(names)` (waiting for workloads to be available) is for adapters that scale."""
        return cluster.update(self.api_version, self.object_kind, self.name, self.namespace,
                              lambda obj: self.route(obj, shares), current=current)

    def state(self, obj):
        """What the ledger records of this router: its shares and its routing fields."""
        return {"kind": self.kind, "name": self.name, "shares": self.shares(obj), "spec": self.snapshot(obj)}

    def snapshot(self, obj):
        spec = obj.get("spec") or {}
        return dict((field, copy.deepcopy(spec[field])) for field in self.routing_fields if field in spec)


def _registry():
    # Imported here: each adapter module imports Router from this package.
    from ansible_collections.cxpe.rollout.plugins.module_utils.routers import consul, ingress, nginx, replicas, route, service
    adapters = (service.ServiceRouter, ingress.IngressRouter, route.RouteRouter, nginx.NginxRouter, consul.ConsulRouter,
                replicas.ReplicasRouter)
    return dict((adapter.kind, adapter) for adapter in adapters)


def unreadable(routers):
    """Why some routers cannot be used: [(Router, object or None)] in, problems out."""
    problems = []
    for router, obj in routers:
        if obj is None:
            problems.append("%s does not exist" % router.describe())
            continue
        try:
            router.shares(obj)
        except RouterError as error:
            problems.append("%s" % error)
    return problems


def strategy_problems(routers, strategy, what):
    """Routers of a kind that does not route this strategy's variants (`what` names them)."""
    problems = []
    for router in routers:
        if strategy not in router.strategies:
            usable = sorted(kind for kind, adapter in _registry().items() if strategy in adapter.strategies)
            problems.append("router kind %s does not route %s; use %s" % (router.kind, what, ", ".join(usable)))
    return problems


def router_kinds():
    return sorted(_registry())


def make_router(spec, namespace, service):
    """The adapter for one entry of a module's `routers` option: {kind, name, ...options}."""
    adapters = _registry()
    kind = spec.get("kind")
    if kind not in adapters:
        raise RouterError("unknown router kind %r; known kinds: %s" % (kind, ", ".join(sorted(adapters))))
    options = dict((key, value) for key, value in spec.items() if key not in ("kind", "name") and value is not None)
    adapter = adapters[kind]
    return adapter(spec.get("name") or adapter.default_name(service), namespace, service, options)


def ready_endpoint_pods(slices):
    """Names of the pods that EndpointSlices list as ready.

    A missing `ready` condition means unknown, which kube-proxy treats as
    ready; an empty slice has `endpoints: null`.
    """
    pods = set()
    for endpoint_slice in slices:
        for endpoint in endpoint_slice.get("endpoints") or []:
            if (endpoint.get("conditions") or {}).get("ready") is False:
                continue
            target = endpoint.get("targetRef") or {}
            if target.get("kind", "Pod") == "Pod" and target.get("name"):
                pods.add(target["name"])
    return pods


def serving_problems(backends, slices_by_service, variant_pods=None):
    """What keeps the backends from serving only their variant's pods; [] when they do.

    `backends` are [(Service name, variant, percent)] from Router.backends,
    `slices_by_service` maps Service names to their EndpointSlices, and
    `variant_pods` maps each variant to the names of its pods (None: any
    ready endpoint will do, for Services that select one variant by label).
    """
    problems = []
    for service_name, variant, share in backends:
        if share <= 0:
            continue
        serving = ready_endpoint_pods(slices_by_service.get(service_name) or [])
        if not serving:
            problems.append("Service %s has no ready endpoint" % service_name)
            continue
        if variant_pods is None:
            continue
        others = sorted(serving - set(variant_pods.get(variant) or ()))
        if others:
            problems.append("Service %s still sends traffic to pods that are not %s: %s"
                            % (service_name, variant, ", ".join(others)))
    return problems
