# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

import pytest
from ansible_collections.cxpe.rollout.plugins.module_utils.cluster import Cluster
from ansible_collections.cxpe.rollout.plugins.module_utils.lease import Lease, LeaseHeld, holder_problem, microtime, parse_microtime
from cluster_support import FakeClient, api_error

T0 = datetime.datetime(2026, 1, 31, 12, 0, 0, tzinfo=datetime.timezone.utc)
ME = "ops@runner/100"
OTHER = "ci@runner-2/7"
NAME = "sip-rollout"
KEY = ("Lease", "ns", NAME)


def at(seconds):
    return T0 + datetime.timedelta(seconds=seconds)


class Clock(object):
    def __init__(self):
        self.now = T0

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += datetime.timedelta(seconds=seconds)


def lease(holder=OTHER, acquired=-600, renewed=-10, duration=60):
    spec = {"holderIdentity": holder, "leaseDurationSeconds": duration}
    if acquired is not None:
        spec["acquireTime"] = microtime(at(acquired))
    if renewed is not None:
        spec["renewTime"] = microtime(at(renewed))
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": NAME, "namespace": "ns"}, "spec": spec}


def held(*objects):
    client = FakeClient(objects, served=set([("coordination.k8s.io/v1", "Lease")]))
    clock = Clock()
    return Lease(Cluster(client, sleep=lambda seconds: None), "ns", NAME, ME, 60, clock=clock), client, clock


def test_microtime_round_trips_and_garbage_parses_to_none():
    moment = at(0.25)
    assert microtime(moment) == "2026-01-31T12:00:00.250000Z"
    assert parse_microtime(microtime(moment)) == moment
    assert parse_microtime("yesterday") is None and parse_microtime(None) is None


# -------------------------------------------------------------- holder_problem --

def test_a_free_lease_or_ones_own_may_be_taken():
    assert holder_problem(None, ME, T0) is None
    assert holder_problem(lease(holder=None), ME, T0) is None
    assert holder_problem(lease(holder=""), ME, T0) is None
    assert holder_problem(lease(holder=ME, renewed=0), ME, T0) is None


def test_a_live_holder_is_named_with_since_when():
    assert holder_problem(lease(), ME, T0) == (
        "Lease ns/sip-rollout is held by ci@runner-2/7 since 2026-01-31T11:50:00.000000Z (renewed 2026-01-31T11:59:50.000000Z; "
        "it expires 60s after its last renewal): another run is rolling this workload")
    # Nobody is held to be oneself: a check before acquiring refuses every live holder.
    assert holder_problem(lease(), None, T0) is not None


def test_a_holder_that_stopped_renewing_for_longer_than_the_duration_has_expired():
    assert holder_problem(lease(renewed=-60), ME, T0) is not None
    assert holder_problem(lease(renewed=-61), ME, T0) is None
    assert holder_problem(lease(renewed=-1, duration=None), ME, T0) is None


def test_without_a_renewal_the_acquire_time_counts_and_without_either_the_lease_is_free():
    assert holder_problem(lease(acquired=-10, renewed=None), ME, T0) is not None
    assert holder_problem(lease(acquired=-100, renewed=None), ME, T0) is None
    assert holder_problem(lease(acquired=None, renewed=None), ME, T0) is None
    unreadable = lease()
    unreadable["spec"].update(acquireTime="now", renewTime="now")
    assert holder_problem(unreadable, ME, T0) is None


# ------------------------------------------------------------------ acquire --

def test_acquire_creates_an_absent_lease():
    run, client, _clock = held()
    run.acquire()
    assert client.objects[KEY]["spec"] == {"holderIdentity": ME, "leaseDurationSeconds": 60,
                                           "acquireTime": "2026-01-31T12:00:00.000000Z", "renewTime": "2026-01-31T12:00:00.000000Z"}
    assert client.requests == [("get", "Lease", NAME), ("create", "Lease", NAME)]


def test_acquire_takes_over_an_expired_lease():
    run, client, _clock = held(lease(renewed=-120))
    run.acquire()
    assert client.objects[KEY]["spec"] == {"holderIdentity": ME, "leaseDurationSeconds": 60,
                                           "acquireTime": "2026-01-31T12:00:00.000000Z", "renewTime": "2026-01-31T12:00:00.000000Z"}
    assert client.requests == [("get", "Lease", NAME), ("patch", "Lease", NAME)]


def test_acquire_refuses_a_live_lease_naming_its_holder():
    run, client, _clock = held(lease())
    with pytest.raises(LeaseHeld, match=r"Lease ns/sip-rollout is held by ci@runner-2/7 since 2026-01-31T11:50:00.000000Z"):
        run.acquire()
    assert client.objects[KEY]["spec"]["holderIdentity"] == OTHER
    assert client.requests == [("get", "Lease", NAME)]
    # Nothing was acquired, so nothing is renewed or released.
    run.renew(force=True)
    run.release()
    assert KEY in client.objects and client.requests == [("get", "Lease", NAME)]


def test_a_run_that_loses_the_race_to_create_the_lease_names_the_winner():
    run, client, _clock = held(lease(acquired=0, renewed=0))
    # Absent when read, created by another run before this one's create.
    client.failures["get"] = [api_error(404, "not found")]
    with pytest.raises(LeaseHeld, match="held by ci@runner-2/7"):
        run.acquire()
    assert client.requests == [("get", "Lease", NAME), ("create", "Lease", NAME), ("get", "Lease", NAME)]


def test_a_run_that_loses_the_race_to_take_over_an_expired_lease_names_the_winner():
    run, client, _clock = held(lease(renewed=-120))
    client.before_patch = lambda fake: fake.put(lease(acquired=0, renewed=0))
    with pytest.raises(LeaseHeld, match="held by ci@runner-2/7 since 2026-01-31T12:00:00.000000Z"):
        run.acquire()
    assert client.objects[KEY]["spec"]["holderIdentity"] == OTHER


# ------------------------------------------------------------ renew, release --

def test_renew_waits_for_a_third_of_the_duration():
    run, client, clock = held()
    run.acquire()
    clock.advance(19)
    run.renew()
    assert client.objects[KEY]["spec"]["renewTime"] == "2026-01-31T12:00:00.000000Z"
    clock.advance(1)
    run.renew()
    assert client.objects[KEY]["spec"]["renewTime"] == "2026-01-31T12:00:20.000000Z"
    assert client.objects[KEY]["spec"]["acquireTime"] == "2026-01-31T12:00:00.000000Z"
    # The third is counted from the last renewal; force renews at once.
    clock.advance(10)
    run.renew()
    assert client.objects[KEY]["spec"]["renewTime"] == "2026-01-31T12:00:20.000000Z"
    run.renew(force=True)
    assert client.objects[KEY]["spec"]["renewTime"] == "2026-01-31T12:00:30.000000Z"
    assert client.requests.count(("patch", "Lease", NAME)) == 2


def test_renew_raises_when_another_run_took_the_lease_over():
    run, client, clock = held()
    run.acquire()
    client.put(lease(acquired=30, renewed=30))
    clock.advance(40)
    with pytest.raises(LeaseHeld, match="Lease ns/sip-rollout was taken over by ci@runner-2/7 while this run held it"):
        run.renew()
    assert client.objects[KEY]["spec"]["renewTime"] == "2026-01-31T12:00:30.000000Z"


def test_release_deletes_the_lease_once():
    run, client, _clock = held()
    run.acquire()
    run.release()
    assert KEY not in client.objects
    run.release()
    assert client.requests.count(("delete", "Lease", NAME)) == 1


def test_release_after_a_takeover_leaves_the_new_holder_s_lease():
    run, client, clock = held()
    run.acquire()
    client.put(lease(acquired=90, renewed=90))
    clock.advance(100)
    with pytest.raises(LeaseHeld):
        run.renew()
    # The run ends with its Lease released (rolling_drain releases it in a finally clause).
    run.release()
    assert KEY in client.objects and client.objects[KEY]["spec"]["holderIdentity"] == OTHER


def test_in_check_mode_nothing_is_written():
    client = FakeClient(served=set([("coordination.k8s.io/v1", "Lease")]))
    cluster = Cluster(client, check_mode=True)
    run = Lease(cluster, "ns", NAME, ME, 60, clock=Clock())
    run.acquire()
    run.renew(force=True)
    run.release()
    assert client.objects == {} and cluster.writes == 0
    # The create is only recorded, so there is no Lease of this run's to delete.
    assert [operation["verb"] for operation in cluster.operations] == ["create"]
