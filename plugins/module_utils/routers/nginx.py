# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The `nginx` router: an ingress-nginx canary Ingress beside the service's stable Ingress.

The canary Ingress (`nginx.ingress.kubernetes.io/canary: "true"`, default name <service>-canary)
has the stable Ingress's host and path and leads to the Service <service>-canary; ingress-nginx
sends it `canary-weight` out of `canary-weight-total` (default 100) of the requests, the rest going
to the stable Ingress's backend, <service>-stable. `canary-by-header` (with an optional
`canary-by-header-value`) sends the requests that carry the header to the canary whatever the
weight: the hidden entry point for smoke tests.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.cxpe.rollout.plugins.module_utils.labels import CANARY_TRACK, STABLE_TRACK
from ansible_collections.cxpe.rollout.plugins.module_utils.routers import (
    FULL_SHARE,
    Router,
    RouterError,
    normalized,
)

ANNOTATION = "nginx.ingress.kubernetes.io/"
CANARY = ANNOTATION + "canary"
WEIGHT = ANNOTATION + "canary-weight"
WEIGHT_TOTAL = ANNOTATION + "canary-weight-total"
HEADER = ANNOTATION + "canary-by-header"
HEADER_VALUE = ANNOTATION + "canary-by-header-value"
ROUTING_ANNOTATIONS = (WEIGHT, WEIGHT_TOTAL, HEADER, HEADER_VALUE)


def _annotations(obj):
    return (obj.get("metadata") or {}).get("annotations") or {}


class NginxRouter(Router):
    """Options: `header` and `header_value`, the canary-by-header entry point kept on the canary."""

    kind = "nginx"
    api_version = "networking.k8s.io/v1"
    object_kind = "Ingress"
    weighted = True
    strategies = ("canary",)
    variants = (STABLE_TRACK, CANARY_TRACK)

    @classmethod
    def default_name(cls, service):
        return "%s-%s" % (service, CANARY_TRACK)

    def _number(self, obj, annotation, default):
        value = _annotations(obj).get(annotation)
        if value is None:
            return default
        try:
            return int(value)
        except ValueError:
            raise RouterError("%s: annotation %s is %r, not a whole number" % (self.describe(), annotation, value))

    def _weights(self, obj):
        """(canary-weight, canary-weight-total) as ingress-nginx reads them; RouterError when it is no canary."""
        if _annotations(obj).get(CANARY) != "true":
            raise RouterError('%s is not an ingress-nginx canary: its annotation %s is not "true"' % (self.describe(), CANARY))
        for rule in (obj.get("spec") or {}).get("rules") or []:
            for path in (rule.get("http") or {}).get("paths") or []:
                name = ((path.get("backend") or {}).get("service") or {}).get("name")
                if self.variant_of_backend(name, "%s%s" % (rule.get("host") or "*", path.get("path") or "/")) != CANARY_TRACK:
                    raise RouterError("%s leads to Service %s, not %s" % (self.describe(), name, self.backend_service(CANARY_TRACK)))
        # ingress-nginx treats a total below 100 as 100.
        total = max(self._number(obj, WEIGHT_TOTAL, FULL_SHARE), FULL_SHARE)
        return min(max(self._number(obj, WEIGHT, 0), 0), total), total

    def shares(self, obj):
        weight, total = self._weights(obj)
        return normalized({STABLE_TRACK: total - weight, CANARY_TRACK: weight})

    def route(self, obj, shares):
        self.check_shares(shares)
        unknown = sorted(set(shares) - set(self.variants))
        if unknown:
            raise RouterError("%s routes only %s, not %s" % (self.describe(), " and ".join(self.variants), ", ".join(unknown)))
        _weight, total = self._weights(obj)
        wanted = {WEIGHT: "%d" % int(round(shares.get(CANARY_TRACK, 0) * total / FULL_SHARE))}
        if self.options.get("header"):
            wanted[HEADER] = self.options["header"]
            if self.options.get("header_value"):
                wanted[HEADER_VALUE] = self.options["header_value"]
        annotations = _annotations(obj)
        if all(annotations.get(key) == value for key, value in wanted.items()):
            return None
        routed = copy.deepcopy(obj)
        routed["metadata"].setdefault("annotations", {}).update(wanted)
        return routed

    def backends(self, obj):
        shares = self.shares(obj)
        return [(self.backend_service(variant), variant, shares.get(variant, 0)) for variant in self.variants]

    def snapshot(self, obj):
        annotations = _annotations(obj)
        return {"annotations": dict((key, annotations[key]) for key in ROUTING_ANNOTATIONS if key in annotations)}
