# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One run at a time per workload: a coordination.k8s.io/v1 Lease held for the run's duration.

The Lease (named like the workload's ledger) names its holder (`<user>@<host>/<pid>`), when it was
acquired and when it was last renewed. A run takes a free Lease, or one whose holder stopped renewing it
for longer than its duration (a run that was killed); it renews it while it waits and deletes it at
the end. Every write is guarded by resourceVersion, so two runs racing for the same Lease cannot both
win. Times are the clients' own (MicroTime, UTC), as client-go's leader election does.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import os
import socket

from ansible_collections.cxpe.rollout.plugins.module_utils.cluster import ClusterError

API_VERSION = "coordination.k8s.io/v1"
KIND = "Lease"
MICROTIME = "%Y-%m-%dT%H:%M:%S.%fZ"


class LeaseHeld(Exception):
    """Another run holds the Lease; the message names it and since when."""


def identity(actor):
    return "%s@%s/%d" % (actor, socket.gethostname(), os.getpid())


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc)


def microtime(moment):
    return moment.strftime(MICROTIME)


def parse_microtime(text):
    try:
        return datetime.datetime.strptime(text, MICROTIME).replace(tzinfo=datetime.timezone.utc)
    except (TypeError, ValueError):
        return None


def holder_problem(lease, me, now):
    """Why `me` may not take the Lease now (its holder is alive), or None when it may."""
    spec = (lease or {}).get("spec") or {}
    holder = spec.get("holderIdentity")
    if not holder or holder == me:
        return None
    renewed = parse_microtime(spec.get("renewTime")) or parse_microtime(spec.get("acquireTime"))
    duration = spec.get("leaseDurationSeconds") or 0
    if renewed is None or now > renewed + datetime.timedelta(seconds=duration):
        return None
    metadata = lease["metadata"]
    return ("Lease %s/%s is held by %s since %s (renewed %s; it expires %ds after its last renewal): another run is "
            "rolling this workload" % (metadata["namespace"], metadata["name"], holder, spec.get("acquireTime"),
                                       spec.get("renewTime"), duration))


class Lease(object):
    """The run's hold on a workload: acquire(), renew() while waiting, release() at the end."""

    def __init__(self, cluster, namespace, name, holder, duration, clock=None):
        self.cluster, self.namespace, self.name, self.holder, self.duration = cluster, namespace, name, holder, duration
        self._clock = clock or utc_now
        self._renewed = None

    def _spec(self, acquired=None):
        now = microtime(self._clock())
        return {"holderIdentity": self.holder, "leaseDurationSeconds": self.duration,
                "acquireTime": acquired or now, "renewTime": now}

    def acquire(self):
        """Take the Lease, or raise LeaseHeld naming who holds it."""
        current = self.cluster.get(API_VERSION, KIND, self.name, self.namespace)
        if current is None:
            try:
                self.cluster.create({"apiVersion": API_VERSION, "kind": KIND,
                                     "metadata": {"name": self.name, "namespace": self.namespace}, "spec": self._spec()})
                self._renewed = self._clock()
                return
            except ClusterError as error:
                if error.status != 409:
                    raise
                current = None

        def take(lease):
            problem = holder_problem(lease, self.holder, self._clock())
            if problem:
                raise LeaseHeld(problem)
            return dict(lease, spec=dict(lease.get("spec") or {}, **self._spec()))

        self.cluster.update(API_VERSION, KIND, self.name, self.namespace, take, current=current)
        self._renewed = self._clock()

    def renew(self, force=False):
        """Renew the Lease when a third of its duration has passed since the last renewal."""
        if self._renewed is None or self.cluster.check_mode:
            return
        if not force and self._clock() < self._renewed + datetime.timedelta(seconds=self.duration / 3.0):
            return

        def keep(lease):
            spec = lease.get("spec") or {}
            if spec.get("holderIdentity") != self.holder:
                raise LeaseHeld("Lease %s/%s was taken over by %s while this run held it"
                                % (self.namespace, self.name, spec.get("holderIdentity")))
            return dict(lease, spec=dict(spec, renewTime=microtime(self._clock())))

        self.cluster.update(API_VERSION, KIND, self.name, self.namespace, keep)
        self._renewed = self._clock()

    def release(self):
        """Delete the Lease if this run still holds it (never a Lease another run took over)."""
        if self._renewed is None:
            return
        self._renewed = None
        current = self.cluster.get(API_VERSION, KIND, self.name, self.namespace)
        if current is None or ((current.get("spec") or {}).get("holderIdentity")) != self.holder:
            return
        try:
            self.cluster.delete(API_VERSION, KIND, self.name, self.namespace,
                                resource_version=current["metadata"].get("resourceVersion"))
        except ClusterError as error:
            # Taken over between the read and the delete: it is the new holder's now.
            if error.status != 409:
                raise
