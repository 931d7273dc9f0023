# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Moving traffic through routers with a Cluster: read them, shift each with one guarded write, and
wait until what they serve is what was asked. Shared by every strategy's module."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.cxpe.rollout.plugins.module_utils.cluster import (
    ClusterError,
    strip_server_fields,
)
from ansible_collections.cxpe.rollout.plugins.module_utils.routers import serving_problems

ENDPOINT_SLICE_SERVICE = "kubernetes.io/service-name"


def read_routers(cluster, routers):
    """[(router, object or None)] in the order given."""
    return [(router, cluster.get(router.api_version, router.object_kind, router.name, router.namespace))
            for router in routers]


def shift(cluster, router, current, shares):
    """Make a router route `shares` with one write guarded by resourceVersion: (before, after).

    On a conflict the router is read again and the change planned again from
    what is stored, so a concurrent edit of other fields is kept.
    """
    return cluster.update(router.api_version, router.object_kind, router.name, router.namespace,
                          lambda obj: router.route(obj, shares), current=current)


def slices_by_service(slices):
    grouped = {}
    for endpoint_slice in slices.values() if isinstance(slices, dict) else slices:
        name = ((endpoint_slice.get("metadata") or {}).get("labels") or {}).get(ENDPOINT_SLICE_SERVICE)
        grouped.setdefault(name, []).append(endpoint_slice)
    return grouped


def wait_until_serving(cluster, namespace, backends, variant_pods, timeout):
    """Wait, on a watch of their EndpointSlices, until the backends serve only their variants' pods.

    `backends` are [(Service name, variant, percent)] as Router.backends gives
    them; `variant_pods` maps each variant to its pods' names.
    """
    names = sorted(set(name for name, _variant, share in backends if share > 0))
    if not names:
        return
    last = []

    def serving(slices):
        last[:] = serving_problems(backends, slices_by_service(slices), variant_pods)
        return not last

    selector = "%s in (%s)" % (ENDPOINT_SLICE_SERVICE, ",".join(names))
    try:
        cluster.wait("discovery.k8s.io/v1", "EndpointSlice", namespace, serving, timeout,
                     "Services %s to serve only the target's ready pods" % ", ".join(names), label_selector=selector)
    except ClusterError as error:
        if error.status == 504 and last:
            raise ClusterError("%s: %s" % (error, "; ".join(last)), error.status, error.reason)
        raise


def diff_entry(before, after, header):
    """One entry of a module's diff: an object before and after (None when absent), without server fields."""
    return {
        "before_header": header, "after_header": header,
        "before": strip_server_fields(before) if before else {},
        "after": strip_server_fields(after) if after else {},
    }
