# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The `route` router: an OpenShift Route (route.openshift.io/v1) whose `spec.to` and
`spec.alternateBackends` send weighted shares to the Services of the variants, <service>-<variant>."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.cxpe.rollout.plugins.module_utils.routers import (
    Router,
    RouterError,
    normalized,
)

# The router's default when a backend omits its weight.
DEFAULT_WEIGHT = 100


def _weight(backend):
    weight = backend.get("weight")
    return DEFAULT_WEIGHT if weight is None else weight


class RouteRouter(Router):
    """A weighted router: any shares, written as integer weights (percent)."""

    kind = "route"
    api_version = "route.openshift.io/v1"
    object_kind = "Route"
    weighted = True
    strategies = ("blue_green", "canary")
    routing_fields = ("to", "alternateBackends")

    def _backends(self, obj):
        spec = obj.get("spec") or {}
        to = spec.get("to") or {}
        if not to.get("name"):
            raise RouterError("%s has no spec.to" % self.describe())
        listed = [("spec.to", to)] + [("spec.alternateBackends[%d]" % index, backend)
                                      for index, backend in enumerate(spec.get("alternateBackends") or [])]
        backends = []
        for where, backend in listed:
            if backend.get("kind", "Service") != "Service":
                raise RouterError("%s: %s is a %s, not a Service" % (self.describe(), where, backend.get("kind")))
            backends.append((self.variant_of_backend(backend.get("name"), where), _weight(backend)))
        return backends

    def shares(self, obj):
        weights = {}
        for variant, weight in self._backends(obj):
            weights[variant] = weights.get(variant, 0) + weight
        return normalized(weights)

    def route(self, obj, shares):
        self.check_shares(shares)
        wanted = dict((variant, int(round(share))) for variant, share in shares.items() if share > 0)
        if self.shares(obj) == normalized(wanted):
            return None
        current = self._backends(obj)
        # The variant in spec.to keeps its place while it still takes traffic.
        first = current[0][0] if current[0][0] in wanted else max(sorted(wanted), key=lambda variant: wanted[variant])
        to = {"kind": "Service", "name": self.backend_service(first), "weight": wanted[first]}
        alternates = [{"kind": "Service", "name": self.backend_service(variant), "weight": wanted[variant]}
                      for variant in sorted(wanted) if variant != first]
        routed = copy.deepcopy(obj)
        routed["spec"]["to"] = dict(routed["spec"].get("to") or {}, **to)
        if alternates:
            routed["spec"]["alternateBackends"] = alternates
        else:
            routed["spec"].pop("alternateBackends", None)
        return routed

    def backends(self, obj):
        shares = self.shares(obj)
        return [(self.backend_service(variant), variant, share) for variant, share in sorted(shares.items())]
