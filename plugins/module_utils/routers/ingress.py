# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The `ingress` router: an Ingress (networking.k8s.io/v1) whose rule paths send a host's traffic to the
Service of one variant, <service>-<variant>."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.cxpe.rollout.plugins.module_utils.routers import (
    FULL_SHARE,
    Router,
    RouterError,
)


def _where(rule, path):
    return "%s%s" % (rule.get("host") or "*", path.get("path") or "/")


class IngressRouter(Router):
    """Options: `host` and `path` narrow the rule paths it routes (default: every path whose backend is
    a <service>-<variant> Service)."""

    kind = "ingress"
    api_version = "networking.k8s.io/v1"
    object_kind = "Ingress"
    routing_fields = ("rules",)

    def _paths(self, obj):
        """[(rule index, path index, where, backend Service name)] of the paths this router drives."""
        found, seen = [], []
        host, wanted_path = self.options.get("host"), self.options.get("path")
        for rule_index, rule in enumerate((obj.get("spec") or {}).get("rules") or []):
            if host and rule.get("host") != host:
                continue
            for path_index, path in enumerate((rule.get("http") or {}).get("paths") or []):
                if wanted_path and path.get("path") != wanted_path:
                    continue
                name = ((path.get("backend") or {}).get("service") or {}).get("name")
                seen.append("%s -> %s" % (_where(rule, path), name or "no Service"))
                # Without host or path, paths to other Services belong to other routers.
                if host or wanted_path or (name or "").startswith(self.service + "-"):
                    found.append((rule_index, path_index, _where(rule, path), name))
        if not found:
            raise RouterError("%s has no rule path to a Service %s-<color>%s (its paths: %s)" % (
                self.describe(), self.service, self._narrowed(), ", ".join(seen) or "none"))
        return found

    def _narrowed(self):
        parts = [("host %s" % self.options["host"]) if self.options.get("host") else None,
                 ("path %s" % self.options["path"]) if self.options.get("path") else None]
        parts = [part for part in parts if part]
        return " for " + " and ".join(parts) if parts else ""

    def _variants(self, obj):
        return [(rule, path, self.variant_of_backend(name, where)) for rule, path, where, name in self._paths(obj)]

    def shares(self, obj):
        """The share of its paths that lead to each variant (one path: all or nothing)."""
        variants = [variant for _rule, _path, variant in self._variants(obj)]
        return dict((variant, variants.count(variant) * FULL_SHARE / float(len(variants))) for variant in set(variants))

    def route(self, obj, shares):
        variant = self.check_shares(shares)
        paths = self._variants(obj)
        if all(current == variant for _rule, _path, current in paths):
            return None
        routed = copy.deepcopy(obj)
        for rule_index, path_index, _current in paths:
            backend = routed["spec"]["rules"][rule_index]["http"]["paths"][path_index]["backend"]
            backend["service"]["name"] = self.backend_service(variant)
        return routed

    def backends(self, obj):
        shares = self.shares(obj)
        return [(self.backend_service(variant), variant, share) for variant, share in sorted(shares.items())]
