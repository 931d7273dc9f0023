# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One run at a time per service or workload: a coordination.k8s.io/v1 Lease held for the run's duration.

The Lease (named like the ledger) names its holder (`<user>@<host>/<pid>`), when it was acquired and when it
was last renewed. A run takes a free Lease, or another run's when that run is over: its holder stopped renewing
it for longer than its duration (a run killed anywhere), or its holder's process is no longer running on this
host (a run killed on this controller, found at once). A takeover is returned, to be recorded. A run renews its
Lease while it works and deletes it at the end. Every write is guarded by resourceVersion, so two runs racing for
the same Lease cannot both win. Times are the clients' own (MicroTime, UTC), as client-go's leader election does.

assess() and holder_problem() are pure: the host and the process check are given to them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import errno
import os
import re
import socket
import time

from ansible_collections.cxpe.rollout.plugins.module_utils import ledger as ledgers
from ansible_collections.cxpe.rollout.plugins.module_utils.cluster import ClusterError

API_VERSION = "coordination.k8s.io/v1"
KIND = "Lease"
MICROTIME = "%Y-%m-%dT%H:%M:%S.%fZ"
IDENTITY = re.compile(r"^(?P<user>.*)@(?P<host>[^@/]+)/(?P<pid>[0-9]+)$")
TAKEOVER = "takeover"


class LeaseHeld(Exception):
    """Another run holds the Lease, or took it over from this one; the message names it and since when."""


def identity(actor, pid=None):
    """`<actor>@<this host>/<pid>`: the holder of a run whose process is `pid` (by default this process)."""
    return "%s@%s/%d" % (actor, socket.gethostname(), os.getpid() if pid is None else pid)


def parse_identity(text):
    """(user, host, pid) of a holder identity `<user>@<host>/<pid>`; None when it is not one."""
    match = IDENTITY.match(text or "")
    return (match.group("user"), match.group("host"), int(match.group("pid"))) if match else None


def process_alive(pid):
    """Whether a process of this host has the ID `pid` (one of another user's counts)."""
    try:
        os.kill(pid, 0)
    except OSError as error:
        return error.errno == errno.EPERM
    return True


def detach(work):
    """Run `work()` in a process of its own session, which outlives this one, with its output discarded; its pid.

    The usual double fork: the intermediate child starts a session, forks the worker, reports its pid and exits at
    once. Neither child returns into the caller's code (os._exit), so what follows the call runs in this process only.
    """
    read_end, write_end = os.pipe()
    intermediate = os.fork()
    if intermediate == 0:
        try:
            os.close(read_end)
            os.setsid()
            worker = os.fork()
            if worker:
                os.write(write_end, ("%d" % worker).encode())
            else:
                os.close(write_end)
                devnull = os.open(os.devnull, os.O_RDWR)
                for descriptor in (0, 1, 2):
                    os.dup2(devnull, descriptor)
                work()
        finally:
            os._exit(0)
    os.close(write_end)
    os.waitpid(intermediate, 0)
    with os.fdopen(read_end, "rb") as reported:
        return int(reported.read() or 0)


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc)


def microtime(moment):
    return moment.strftime(MICROTIME)


def parse_microtime(text):
    try:
        return datetime.datetime.strptime(text, MICROTIME).replace(tzinfo=datetime.timezone.utc)
    except (TypeError, ValueError):
        return None


def assess(lease, me, now, host=None, alive=None):
    """What holder `me` finds in a Lease at `now`: (problem, takeover).

    `problem` says why it may not take the Lease (another run holds it and is alive), naming the holder, since when
    and until when; `takeover` says whose Lease it may take and why that run is over ({holder, since, renewed, why});
    both are None for a free Lease or one's own. `host` is this host's name and `alive(pid)` whether a process of it
    runs: a holder of this host whose process is gone is over before its Lease expires. Without them only expiry counts.
    """
    spec = (lease or {}).get("spec") or {}
    holder = spec.get("holderIdentity")
    if not holder or holder == me:
        return None, None
    taken = {"holder": holder, "since": spec.get("acquireTime"), "renewed": spec.get("renewTime")}
    renewed = parse_microtime(spec.get("renewTime")) or parse_microtime(spec.get("acquireTime"))
    duration = spec.get("leaseDurationSeconds") or 0
    if renewed is None:
        return None, dict(taken, why="it has no time of acquisition or renewal")
    expires = renewed + datetime.timedelta(seconds=duration)
    if now > expires:
        return None, dict(taken, why="it expired at %s, %ds after its last renewal" % (microtime(expires), duration))
    running = ""
    found = parse_identity(holder)
    if found and host and alive and found[1] == host:
        if not alive(found[2]):
            return None, dict(taken, why="its process %d is not running on %s" % (found[2], host))
        running = "; its process %d is running on %s" % (found[2], host)
    metadata = lease["metadata"]
    return ("Lease %s/%s is held by %s since %s (renewed %s; it expires at %s unless renewed%s): another run is rolling "
            "this workload" % (metadata["namespace"], metadata["name"], holder, spec.get("acquireTime"), spec.get("renewTime"),
                               microtime(expires), running)), None


def holder_problem(lease, me, now, host=None, alive=None):
    """Why `me` may not take the Lease now (another run holds it and is alive), or None when it may (see assess)."""
    return assess(lease, me, now, host, alive)[0]


def record_takeover(cluster, namespace, service, ledger_name, takeover, actor, reason=None):
    """Record a takeover in the service's ledger, when it has one (a run that never wrote it left nothing to amend).
    Returns the ledger ConfigMap written, or None."""
    configmap, _ledger = ledgers.read(cluster, namespace, service, ledger_name)
    if configmap is None:
        return None
    why = "%s: %s" % (takeover["holder"], takeover["why"]) + ("; %s" % reason if reason else "")

    def change(ledger):
        return ledgers.record(ledger, TAKEOVER, {"holder": takeover["holder"], "since": takeover["since"], "renewed": takeover["renewed"]},
                              {"holder": takeover["by"]}, why, actor, ledgers.timestamp())
    return ledgers.write(cluster, namespace, service, change, None, ledgers.timestamp(), ledger_name, configmap)


class Lease(object):
    """A run's hold on a service: acquire(), renew() while working (or keep() in a process of its own), release() at the end.

    `holder` is the run's identity. When it names a process of this host, the run is that process: renew() raises
    LeaseHeld once it has ended, so that nothing keeps working for a run that is gone.
    """

    def __init__(self, cluster, namespace, name, holder, duration, clock=None, host=None, alive=None):
        self.cluster, self.namespace, self.name, self.holder, self.duration = cluster, namespace, name, holder, duration
        self._clock = clock or utc_now
        self.host = host or socket.gethostname()
        self.alive = alive or process_alive
        self.taken_over = None
        self._renewed = None

    def _spec(self, current):
        """The Lease's spec once this run holds it: its acquisition kept when it already did."""
        now = microtime(self._clock())
        spec = dict(current or {}, holderIdentity=self.holder, leaseDurationSeconds=self.duration, renewTime=now)
        if (current or {}).get("holderIdentity") != self.holder:
            spec["acquireTime"] = now
            if current and current.get("holderIdentity"):
                spec["leaseTransitions"] = (current.get("leaseTransitions") or 0) + 1
        return spec

    def acquire(self):
        """Take the Lease, or raise LeaseHeld naming who holds it; `taken_over` says from whom, when it was another run's."""
        current = self.cluster.get(API_VERSION, KIND, self.name, self.namespace)
        if current is None:
            try:
                self.cluster.create({"apiVersion": API_VERSION, "kind": KIND,
                                     "metadata": {"name": self.name, "namespace": self.namespace}, "spec": self._spec(None)})
                self._renewed = self._clock()
                return
            except ClusterError as error:
                if error.status != 409:
                    raise
                current = None
        taken = []

        def take(lease):
            problem, takeover = assess(lease, self.holder, self._clock(), self.host, self.alive)
            if problem:
                raise LeaseHeld(problem)
            del taken[:]
            if takeover:
                taken.append(dict(takeover, by=self.holder))
            return dict(lease, spec=self._spec(lease.get("spec")))

        self.cluster.update(API_VERSION, KIND, self.name, self.namespace, take, current=current)
        self.taken_over = taken[0] if taken else None
        self._renewed = self._clock()

    def run_ended(self):
        """Why the run this Lease is held for is over (its process is gone from this host), or None."""
        found = parse_identity(self.holder)
        if found and found[1] == self.host and not self.alive(found[2]):
            return "the run holding Lease %s/%s, %s, has ended: its process %d is not running" % (
                self.namespace, self.name, self.holder, found[2])
        return None

    def renew(self, force=False):
        """Renew the Lease when a third of its duration has passed since the last renewal; raise LeaseHeld when
        another run took it over or this run has ended."""
        if self._renewed is None or self.cluster.check_mode:
            return
        ended = self.run_ended()
        if ended:
            raise LeaseHeld(ended)
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

    def keep(self, tick=1.0, sleep=time.sleep):
        """Renew the acquired Lease for its run until the run ends, the Lease is released (deleted) or another run
        takes it over; returns which. The API failing for a while is waited out: the run goes on meanwhile.
        Everything it runs has run once already in acquire() and renew(force=True), so it needs no new import when
        it runs detached from a module whose files are gone (see detach)."""
        while True:
            sleep(tick)
            try:
                self.renew()
            except LeaseHeld as stopped:
                return "%s" % stopped
            except ClusterError as error:
                if error.status == 404:
                    return "Lease %s/%s was released" % (self.namespace, self.name)

    def release(self):
        """Delete the Lease if this run acquired it and still holds it (never a Lease another run took over)."""
        if self._renewed is None:
            return
        self._renewed = None
        self.give_back()

    def give_back(self):
        """Delete the Lease if its holder is this run's identity, whichever process acquired it; whether it did."""
        current = self.cluster.get(API_VERSION, KIND, self.name, self.namespace)
        if current is None or ((current.get("spec") or {}).get("holderIdentity")) != self.holder:
            return False
        try:
            self.cluster.delete(API_VERSION, KIND, self.name, self.namespace,
                                resource_version=current["metadata"].get("resourceVersion"))
        except ClusterError as error:
            # Taken over between the read and the delete: it is the new holder's now.
            if error.status != 409:
                raise
            return False
        return True
