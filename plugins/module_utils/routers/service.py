# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The `service` router: a Service whose selector picks the variant by one label (kube-proxy routes)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.cxpe.rollout.plugins.module_utils.labels import LABEL_COLOR
from ansible_collections.cxpe.rollout.plugins.module_utils.routers import (
    FULL_SHARE,
    Router,
    RouterError,
)


def _format_selector(selector):
    return ", ".join("%s=%s" % item for item in sorted(selector.items())) or "none"


class ServiceRouter(Router):
    """Options: `selector_key`, the selector label whose value is the variant (default cxpe.io/color)."""

    kind = "service"
    api_version = "v1"
    object_kind = "Service"
    routing_fields = ("selector",)

    @property
    def selector_key(self):
        return self.options.get("selector_key") or LABEL_COLOR

    def _selector(self, obj):
        selector = (obj.get("spec") or {}).get("selector") or {}
        if self.selector_key not in selector:
            raise RouterError("%s has no selector key %s (its selector: %s)"
                              % (self.describe(), self.selector_key, _format_selector(selector)))
        return selector

    def shares(self, obj):
        return {self._selector(obj)[self.selector_key]: FULL_SHARE}

    def route(self, obj, shares):
        variant = self.check_shares(shares)
        if self._selector(obj)[self.selector_key] == variant:
            return None
        routed = copy.deepcopy(obj)
        routed["spec"]["selector"][self.selector_key] = variant
        return routed

    def backends(self, obj):
        return [(self.name, self._selector(obj)[self.selector_key], FULL_SHARE)]
