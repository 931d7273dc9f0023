# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Moving traffic through routers with a Cluster: read them and what they rely on, and wait until what
they serve is what was asked (and the workloads they scale are available). Shared by every strategy's module."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.cxpe.rollout.plugins.module_utils import ledger as ledgers
from ansible_collections.cxpe.rollout.plugins.module_utils.cluster import (
    ClusterError,
    strip_server_fields,
)
from ansible_collections.cxpe.rollout.plugins.module_utils.readiness import deployment_problems, selector_string
from ansible_collections.cxpe.rollout.plugins.module_utils.routers import RouterError, serving_problems

ENDPOINT_SLICE_SERVICE = "kubernetes.io/service-name"


def read_routers(cluster, routers):
    """[(router, object or None)] in the order given."""
    return [(router, router.read(cluster)) for router in routers]


def companion_problems(cluster, routers):
    """What is missing or wrong among the objects the routers rely on (a Consul ServiceResolver, say)."""
    problems = []
    for router in routers:
        for api_version, kind, name, check in router.companions():
            obj = cluster.get(api_version, kind, name, router.namespace)
            problems.extend(["%s %s/%s does not exist" % (kind, router.namespace, name)] if obj is None else check(obj))
    return problems


def slices_by_service(slices):
    grouped = {}
    for endpoint_slice in slices.values() if isinstance(slices, dict) else slices:
        name = ((endpoint_slice.get("metadata") or {}).get("labels") or {}).get(ENDPOINT_SLICE_SERVICE)
        grouped.setdefault(name, []).append(endpoint_slice)
    return grouped


def wait_until_serving(cluster, namespace, backends, variant_pods, timeout):
    """Wait, on a watch of their EndpointSlices, until the backends serve only their variants' pods.

    `backends` are [(Service name, variant, percent)] as Router.backends gives
    them; `variant_pods` maps each variant to its pods' names (None when each
    Service selects one variant by label: then a ready endpoint is enough).
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


def wait_until_available(cluster, namespace, names, timeout):
    """Wait, on a watch, until the Deployments `names` run every desired replica of their latest spec, Ready.

    Running out of time names what keeps them from it (a missing image, a crash loop)."""
    if not names:
        return
    seen = {}

    def available(deployments):
        seen.update((name, deployments.get(name)) for name in names)
        return all(deployment and not deployment_problems(deployment, [], min_ready=0) for deployment in seen.values())

    try:
        cluster.wait("apps/v1", "Deployment", namespace, available, timeout,
                     "Deployments %s to be available" % ", ".join(sorted(names)))
    except ClusterError as error:
        if error.status != 504:
            raise
        problems = []
        for name, deployment in sorted(seen.items()):
            if deployment is None:
                problems.append("Deployment %s/%s does not exist" % (namespace, name))
                continue
            selector = selector_string(((deployment.get("spec") or {}).get("selector") or {}).get("matchLabels"))
            pods = cluster.list("v1", "Pod", namespace, label_selector=selector)[0]
            problems.extend(deployment_problems(deployment, pods, min_ready=0))
        raise ClusterError("%s: %s" % (error, "; ".join(problems)), error.status, error.reason)


def move(cluster, changes, shares, settle=None):
    """Make the planned router changes [(router, before, planned)], each routing `shares`, through the router's
    own guarded write: ({router.key: object after}, [diff entries])."""
    after_objects, differences = {}, []
    for router, before, _planned in changes:
        before, after_objects[router.key] = router.apply(cluster, before, shares, settle)
        for (header, old), (_header, new) in zip(router.objects(before), router.objects(after_objects[router.key])):
            differences.append(diff_entry(old, new, header))
    return after_objects, differences


def put_back(cluster, changes, error, settle=None):
    """After `error` stopped a traffic change before the ledger recorded it, route the routers of `changes`
    [(router, before, planned)] as they did before it, the last first, so that none serves what the ledger does not
    say. Each is read again: one the change never reached is left as it is, one it reached in part is completed back.
    Returns the ClusterError to raise: `error`'s message, and what was put back or what could not be."""
    restored = []
    for router, before, _planned in reversed(changes):
        try:
            current = router.read(cluster)
            if current is None or router.shares(current) == router.shares(before):
                continue
            router.apply(cluster, current, router.shares(before), settle)
            restored.append(router.describe())
        except (ClusterError, RouterError) as failure:
            return ClusterError("%s; putting %s back failed too, so it routes what the ledger does not say: %s"
                                % (error, router.describe(), failure), getattr(error, "status", None), getattr(error, "reason", None))
    done = "put back as they were: %s" % ", ".join(reversed(restored)) if restored else "no router had changed yet"
    return ClusterError("%s; %s" % (error, done), getattr(error, "status", None), getattr(error, "reason", None))


def record(cluster, namespace, service, ledger_name, configmap, entry, apply_entry, strategy):
    """Write a planned ledger entry (`apply_entry(ledger, entry)` re-applied on a conflict): (ConfigMap after,
    [diff entry]); without an entry, the ConfigMap as it was and no diff."""
    if not entry:
        return configmap, []
    written = ledgers.write(cluster, namespace, service, lambda current: apply_entry(current, entry), strategy, entry["now"],
                            ledger_name, configmap)
    return written, [diff_entry(configmap, written, "ConfigMap %s/%s (ledger)" % (namespace, ledger_name))]


def shares_of(routers):
    """What each router sends to each variant now, as the modules return it."""
    return [{"kind": router.kind, "name": router.name, "shares": router.shares(obj)} for router, obj in routers]


def diff_entry(before, after, header):
    """One entry of a module's diff: an object before and after (None when absent), without server fields."""
    return {
        "before_header": header, "after_header": header,
        "before": strip_server_fields(before) if before else {},
        "after": strip_server_fields(after) if after else {},
    }
