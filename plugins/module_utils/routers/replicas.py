# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The `replicas` router: no traffic router at all. The Service <service> selects the pods of both
tracks, so kube-proxy spreads the traffic over the ready pods of the stable Deployment <service> and
the canary Deployment <service>-canary; the canary's share is its share of the replicas.

Ready capacity never falls below the stable replica count the canary started from (the *base*,
recorded in the ledger): up to 50% the stable Deployment keeps its base and canary pods are added;
above, the canary runs the base and the stable Deployment shrinks; at 100% the stable one is at 0.
Scaling up always comes first, and the scale-down waits until the new pods are available. The
share this gives (`effective`, for example 25% for 5% with a base of 3) is what the module reports.
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

HALF_SHARE = FULL_SHARE / 2.0


def split_replicas(base, canary_share):
    """{track: replicas} putting about `canary_share` percent of the pods on the canary (see the module docstring)."""
    if canary_share <= 0:
        return {STABLE_TRACK: base, CANARY_TRACK: 0}
    if canary_share >= FULL_SHARE:
        return {STABLE_TRACK: 0, CANARY_TRACK: base}
    if canary_share <= HALF_SHARE:
        return {STABLE_TRACK: base, CANARY_TRACK: max(1, int(round(base * canary_share / (FULL_SHARE - canary_share))))}
    return {STABLE_TRACK: max(1, int(round(base * (FULL_SHARE - canary_share) / canary_share))), CANARY_TRACK: base}


def _replicas(deployment):
    replicas = (deployment.get("spec") or {}).get("replicas")
    return 1 if replicas is None else replicas


class ReplicasRouter(Router):
    """Reads and writes a pair {stable: Deployment, canary: Deployment}; the object it names is the canary."""

    kind = "replicas"
    api_version = "apps/v1"
    object_kind = "Deployment"
    weighted = True
    strategies = ("canary",)
    variants = (STABLE_TRACK, CANARY_TRACK)

    def __init__(self, name, namespace, service, options=None):
        super(ReplicasRouter, self).__init__(name, namespace, service, options)
        self.base = None

    @classmethod
    def default_name(cls, service):
        return "%s-%s" % (service, CANARY_TRACK)

    def deployment_name(self, track):
        return self.service if track == STABLE_TRACK else self.name

    def describe(self):
        return "Deployments %s/%s and %s/%s" % (self.namespace, self.service, self.namespace, self.name)

    def read(self, cluster):
        pair = dict((track, cluster.get(self.api_version, self.object_kind, self.deployment_name(track), self.namespace))
                    for track in self.variants)
        return None if None in pair.values() else pair

    def objects(self, obj):
        return [("Deployment %s/%s" % (self.namespace, self.deployment_name(track)), (obj or {}).get(track))
                for track in self.variants]

    def counts(self, pair):
        return dict((track, _replicas(pair[track])) for track in self.variants)

    def shares(self, obj):
        counts = self.counts(obj)
        if not sum(counts.values()):
            raise RouterError("%s both have 0 replicas" % self.describe())
        return normalized(counts)

    def prepare(self, obj, ledger):
        """The base: the stable replica count the ledger recorded when this canary began, else what runs now."""
        recorded = (((ledger or {}).get("routers") or {}).get(self.key) or {}).get("spec") or {}
        if (ledger or {}).get("phase") == "progressing" and recorded.get("replicas"):
            self.base = recorded["replicas"][STABLE_TRACK]
            return
        counts = self.counts(obj)
        self.base = counts[STABLE_TRACK] or counts[CANARY_TRACK]
        if not self.base:
            raise RouterError("%s both have 0 replicas: there is nothing to split" % self.describe())

    def route(self, obj, shares):
        self.check_shares(shares)
        if self.base is None:
            raise RouterError("%s: the base replica count is unknown (prepare() was not called)" % self.describe())
        wanted = split_replicas(self.base, shares.get(CANARY_TRACK, 0))
        if self.counts(obj) == wanted:
            return None
        routed = copy.deepcopy(obj)
        for track, replicas in wanted.items():
            routed[track]["spec"]["replicas"] = replicas
        return routed

    def apply(self, cluster, current, shares, settle=None):
        wanted = self.route(current, shares)
        if wanted is None:
            return current, current
        counts, after = self.counts(current), dict(current)
        growing = [track for track in self.variants if self.counts(wanted)[track] > counts[track]]
        shrinking = [track for track in self.variants if self.counts(wanted)[track] < counts[track]]
        for phase, tracks in enumerate((growing, shrinking)):
            if phase and growing and settle:
                # The new pods take traffic before any old one goes.
                settle([self.deployment_name(track) for track in growing])
            for track in tracks:
                replicas = self.counts(wanted)[track]
                after[track] = cluster.update(self.api_version, self.object_kind, self.deployment_name(track), self.namespace,
                                              lambda obj, replicas=replicas: dict(obj, spec=dict(obj["spec"], replicas=replicas)),
                                              current=current[track])[1]
        return current, after

    def backends(self, obj):
        shares = self.shares(obj)
        return [(self.backend_service(variant), variant, shares.get(variant, 0)) for variant in self.variants]

    def snapshot(self, obj):
        return {"replicas": self.counts(obj)}
