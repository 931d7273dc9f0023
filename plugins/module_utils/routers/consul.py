# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The `consul` router: a Consul ServiceSplitter (consul.hashicorp.com/v1alpha1) named for the service,
splitting its traffic over the subsets of the service's ServiceResolver, one per track.

The resolver defines the subsets `stable` and `canary` (for example with the filters
`Service.Meta.track == stable` and `Service.Meta.track == canary`, the meta consul-k8s registers from
the pods' `consul.hashicorp.com/service-meta-track` annotation). Envoy fails the share of a subset
that has no healthy instance, so the canary's weight goes up only once the canary is Ready.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.cxpe.rollout.plugins.module_utils.labels import CANARY_TRACK, STABLE_TRACK
from ansible_collections.cxpe.rollout.plugins.module_utils.routers import (
    Router,
    RouterError,
    normalized,
)

API_VERSION = "consul.hashicorp.com/v1alpha1"


class ConsulRouter(Router):
    """A weighted router over the resolver subsets `stable` and `canary`."""

    kind = "consul"
    api_version = API_VERSION
    object_kind = "ServiceSplitter"
    weighted = True
    strategies = ("canary",)
    routing_fields = ("splits",)
    variants = (STABLE_TRACK, CANARY_TRACK)

    def _splits(self, obj):
        splits = []
        for index, split in enumerate((obj.get("spec") or {}).get("splits") or []):
            where = "spec.splits[%d]" % index
            if split.get("service") not in (None, "", self.service):
                raise RouterError("%s: %s goes to service %s, not %s" % (self.describe(), where, split["service"], self.service))
            subset = split.get("serviceSubset")
            if subset not in self.variants:
                raise RouterError("%s: %s goes to subset %r, not one of %s"
                                  % (self.describe(), where, subset, ", ".join(self.variants)))
            splits.append((subset, split.get("weight") or 0))
        if not splits:
            raise RouterError("%s has no splits" % self.describe())
        return splits

    def shares(self, obj):
        weights = {}
        for subset, weight in self._splits(obj):
            weights[subset] = weights.get(subset, 0) + weight
        return normalized(weights)

    def route(self, obj, shares):
        self.check_shares(shares)
        unknown = sorted(set(shares) - set(self.variants))
        if unknown:
            raise RouterError("%s routes only %s, not %s" % (self.describe(), " and ".join(self.variants), ", ".join(unknown)))
        if self.shares(obj) == normalized(shares):
            return None
        routed = copy.deepcopy(obj)
        # Both subsets stay listed (a zero weight is allowed), so the splitter always names the canary.
        routed["spec"]["splits"] = [{"serviceSubset": variant, "weight": round(shares.get(variant, 0), 2)}
                                    for variant in self.variants]
        return routed

    def backends(self, obj):
        shares = self.shares(obj)
        return [(self.backend_service(variant), variant, shares.get(variant, 0)) for variant in self.variants]

    def companions(self):
        return [(API_VERSION, "ServiceResolver", self.service, self._resolver_problems)]

    def _resolver_problems(self, resolver):
        subsets = (resolver.get("spec") or {}).get("subsets") or {}
        missing = [variant for variant in self.variants if variant not in subsets]
        if missing:
            return ["ServiceResolver %s/%s defines no subset %s" % (self.namespace, self.service, ", ".join(missing))]
        return []
