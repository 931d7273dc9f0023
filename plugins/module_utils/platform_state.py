# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the cluster and the rollout ledgers say each service runs, for re-deploying the platform
without undoing upgrades."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.cxpe.rollout.plugins.module_utils.labels import (
    COLORS,
    LABEL_COLOR,
    LABEL_NAME,
)


def observed_state(deployments, services, rollouts=()):
    """{namespace: {service: {"active_color": color, "versions": {Deployment name: version},
    "replicas": {Deployment name: replicas}}}}.

    `deployments` and `services` are the lists the service_status module
    returns, `rollouts` the ledgers rollout_info returns. The cluster wins
    over the ledger: a Deployment's version is what its pod template says,
    and a blue/green service's active color is the color its own Service
    (the one named after it) selects. The ledger fills in what the cluster
    lacks, such as a Deployment or Service that was deleted. `replicas`
    comes from the cluster only, and only when it reports them.
    """
    state = {}

    def entry(namespace, service):
        return state.setdefault(namespace, {}).setdefault(service, {"versions": {}})

    for ledger in rollouts:
        if not ledger.get("valid", True):
            continue
        found = entry(ledger["namespace"], ledger["service"])
        # The active side goes last, so it wins should both name one color.
        for side in ("previous", "active"):
            color, version = (ledger.get(side) or {}).get("color"), (ledger.get(side) or {}).get("version")
            if color in COLORS and version:
                found["versions"]["%s-%s" % (ledger["service"], color)] = version
        if (ledger.get("active") or {}).get("color") in COLORS:
            found["active_color"] = ledger["active"]["color"]
    for deployment in deployments:
        if deployment.get("version"):
            entry(deployment["namespace"], deployment["service"])["versions"][deployment["name"]] = deployment["version"]
        if deployment.get("replicas") is not None:
            entry(deployment["namespace"], deployment["service"]).setdefault("replicas", {})[deployment["name"]] = deployment["replicas"]
    for service in services:
        selector = service.get("selector") or {}
        # A preview Service selects the same pods under another name: only the
        # Service named after the service routes its users.
        if selector.get(LABEL_NAME) == service["name"] and selector.get(LABEL_COLOR) in COLORS:
            entry(service["namespace"], service["name"])["active_color"] = selector[LABEL_COLOR]
    return state


def running_version(state, namespace, service, strategy):
    """The version that serves `service`'s users in an `observed_state` result, None when it does not run.

    A blue/green service runs what its active color runs; the other strategies what the Deployment named after the
    service runs (for a canary service, its stable track).
    """
    found = (state.get(namespace) or {}).get(service) or {}
    name = service
    if strategy == "blue_green":
        if found.get("active_color") not in COLORS:
            return None
        name = "%s-%s" % (service, found["active_color"])
    return found.get("versions", {}).get(name)
