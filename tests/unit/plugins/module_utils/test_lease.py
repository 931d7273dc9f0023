# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import os
import time

import pytest
from ansible_collections.cxpe.rollout.plugins.module_utils.cluster import Cluster
from ansible_collections.cxpe.rollout.plugins.module_utils import ledger as ledgers
from ansible_collections.cxpe.rollout.plugins.module_utils.lease import (
    Lease,
    LeaseHeld,
    assess,
    detach,
    holder_problem,
    microtime,
    parse_identity,
    parse_microtime,
    process_alive,
    record_takeover,
)
from cluster_support import FakeClient, api_error

T0 = datetime.datetime(2026, 1, 31, 12, 0, 0, tzinfo=datetime.timezone.utc)
ME = "ops@runner/100"
OTHER = "ci@runner-2/7"
# A run of this host (runner) whose process is gone, and one whose process runs.
DEAD = "ops@runner/55"
LIVE = "ops@runner/66"
RUNNING = set([66, 100])
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


def running(pid):
    return pid in RUNNING


def held(*objects, **options):
    client = FakeClient(objects, served=set([("coordination.k8s.io/v1", "Lease"), ("v1", "ConfigMap")]))
    clock = Clock()
    lease_run = Lease(Cluster(client, sleep=lambda seconds: None), "ns", NAME, options.get("holder", ME), 60, clock=clock,
                      host="runner", alive=running)
    return lease_run, client, clock


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


def test_a_live_holder_is_named_with_since_and_until_when():
    assert holder_problem(lease(), ME, T0) == (
        "Lease ns/sip-rollout is held by ci@runner-2/7 since 2026-01-31T11:50:00.000000Z (renewed 2026-01-31T11:59:50.000000Z; "
        "it expires at 2026-01-31T12:00:50.000000Z unless renewed): another run is rolling this workload")
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


def test_identities_parse_into_user_host_and_pid():
    assert parse_identity("ops@ctl-1.example.com/4182") == ("ops", "ctl-1.example.com", 4182)
    assert parse_identity("svc@ops@ctl/1") == ("svc@ops", "ctl", 1)
    for text in ("ops@ctl", "ops@ctl/x", "ctl/12", "", None):
        assert parse_identity(text) is None


def test_a_holder_of_this_host_whose_process_is_gone_is_over_before_its_lease_expires():
    problem, takeover = assess(lease(holder=DEAD), ME, T0, "runner", running)
    assert problem is None
    assert takeover == {"holder": DEAD, "since": "2026-01-31T11:50:00.000000Z", "renewed": "2026-01-31T11:59:50.000000Z",
                        "why": "its process 55 is not running on runner"}


def test_a_holder_of_this_host_whose_process_runs_is_named_with_it():
    problem, takeover = assess(lease(holder=LIVE), ME, T0, "runner", running)
    assert takeover is None
    assert problem.endswith("it expires at 2026-01-31T12:00:50.000000Z unless renewed; its process 66 is running on runner): "
                            "another run is rolling this workload")


def test_the_process_of_another_host_s_holder_is_never_checked():
    # Process 7 does not run here, which says nothing about ci@runner-2/7: only its Lease's expiry does.
    assert assess(lease(holder=OTHER), ME, T0, "runner", running)[0] is not None
    assert assess(lease(holder="nobody-knows-whom"), ME, T0, "runner", running)[0] is not None
    # Without a host and a check, only expiry counts.
    assert assess(lease(holder=DEAD), ME, T0)[0] is not None


def test_an_expired_lease_is_taken_over_whoever_held_it():
    assert assess(lease(holder=LIVE, renewed=-61), ME, T0, "runner", running) == (None, {
        "holder": LIVE, "since": "2026-01-31T11:50:00.000000Z", "renewed": "2026-01-31T11:58:59.000000Z",
        "why": "it expired at 2026-01-31T11:59:59.000000Z, 60s after its last renewal"})
    assert assess(lease(acquired=None, renewed=None), ME, T0)[1]["why"] == "it has no time of acquisition or renewal"


def test_a_process_that_runs_is_alive():
    assert process_alive(os.getpid())
    # Beyond the largest pid any kernel hands out.
    assert not process_alive(2 ** 22 + 1)


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
    assert client.objects[KEY]["spec"] == {"holderIdentity": ME, "leaseDurationSeconds": 60, "leaseTransitions": 1,
                                           "acquireTime": "2026-01-31T12:00:00.000000Z", "renewTime": "2026-01-31T12:00:00.000000Z"}
    assert run.taken_over["holder"] == OTHER and run.taken_over["why"].startswith("it expired at 2026-01-31T11:59:00.000000Z")
    assert client.requests == [("get", "Lease", NAME), ("patch", "Lease", NAME)]


def test_acquire_takes_over_the_lease_of_a_gone_process_of_this_host_and_says_so():
    run, client, _clock = held(lease(holder=DEAD, renewed=-1))
    run.acquire()
    spec = client.objects[KEY]["spec"]
    assert spec["holderIdentity"] == ME and spec["acquireTime"] == "2026-01-31T12:00:00.000000Z" and spec["leaseTransitions"] == 1
    assert run.taken_over == {"holder": DEAD, "since": "2026-01-31T11:50:00.000000Z", "renewed": "2026-01-31T11:59:59.000000Z",
                              "why": "its process 55 is not running on runner", "by": ME}


def test_acquiring_one_s_own_lease_again_keeps_its_acquisition():
    run, client, _clock = held(lease(holder=ME, acquired=-30, renewed=-5))
    run.acquire()
    spec = client.objects[KEY]["spec"]
    assert (spec["acquireTime"], spec["renewTime"]) == ("2026-01-31T11:59:30.000000Z", "2026-01-31T12:00:00.000000Z")
    assert run.taken_over is None and "leaseTransitions" not in spec


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


def test_renew_raises_once_the_run_s_process_is_gone():
    run, client, clock = held(holder=LIVE)
    run.acquire()
    RUNNING.discard(66)
    try:
        with pytest.raises(LeaseHeld, match=r"the run holding Lease ns/sip-rollout, ops@runner/66, has ended: its process 66 is not running"):
            run.renew()
    finally:
        RUNNING.add(66)
    # It stops before writing anything: the Lease stays as it was, for the next run to take over.
    assert client.requests.count(("patch", "Lease", NAME)) == 0


def test_keep_renews_until_the_lease_is_given_back():
    run, client, clock = held(holder=LIVE)
    run.acquire()
    ticks = []

    def tick(seconds):
        ticks.append(seconds)
        clock.advance(seconds)
        if len(ticks) == 45:
            assert Lease(Cluster(client), "ns", NAME, LIVE, 60, host="runner", alive=running).give_back()

    assert run.keep(tick=1.0, sleep=tick) == "Lease ns/sip-rollout was released"
    # Renewed every third of the duration until it was gone.
    assert client.requests.count(("patch", "Lease", NAME)) == 2


def test_keep_stops_when_the_run_ends_or_another_run_takes_over():
    run, client, clock = held(holder=LIVE)
    run.acquire()

    def end_the_run(seconds):
        clock.advance(seconds)
        RUNNING.discard(66)
    try:
        assert "has ended" in run.keep(sleep=end_the_run)
    finally:
        RUNNING.add(66)
    run, client, clock = held(holder=LIVE)
    run.acquire()

    def taken(seconds):
        clock.advance(seconds)
        client.put(lease(acquired=30, renewed=30))
    assert "was taken over by ci@runner-2/7" in run.keep(sleep=taken)


def test_detach_runs_the_work_in_a_process_of_its_own_session_and_returns_its_pid(tmp_path):
    done = tmp_path / "done"
    pid = detach(lambda: done.write_text("%d %d" % (os.getpid(), os.getsid(0))))
    deadline = time.monotonic() + 10
    while not done.exists() or not done.read_text():
        assert time.monotonic() < deadline, "the detached work never ran"
        time.sleep(0.01)
    worker, session = (int(field) for field in done.read_text().split())
    # The worker is in a session of its own (its parent's, which exited), so a signal to the caller's session or
    # process group does not reach it.
    assert worker == pid != os.getpid() and session != os.getsid(0)


def test_give_back_deletes_only_the_holder_s_lease():
    run, client, _clock = held(lease(holder=OTHER, renewed=0))
    assert run.give_back() is False and KEY in client.objects
    run, client, _clock = held(lease(holder=ME, renewed=0))
    assert run.give_back() is True and KEY not in client.objects
    assert run.give_back() is False


def test_a_takeover_is_recorded_in_an_existing_ledger_only():
    run, client, _clock = held()
    takeover = {"holder": DEAD, "since": "2026-01-31T11:50:00.000000Z", "renewed": "2026-01-31T11:59:59.000000Z",
                "why": "its process 55 is not running on runner", "by": ME}
    assert record_takeover(run.cluster, "ns", "sip", NAME, takeover, "ops") is None
    assert not [key for key in client.objects if key[0] == "ConfigMap"]
    client.put(ledgers.render(ledgers.new_ledger("sip", "rolling_update", "2026-01-31T11:50:00Z"), "ns", NAME))
    configmap = record_takeover(run.cluster, "ns", "sip", NAME, takeover, "ops", "upgrade to 2.0")
    (entry,) = ledgers.parse(configmap)["history"]
    assert entry["action"] == "takeover" and entry["by"] == "ops"
    assert entry["from"] == {"holder": DEAD, "since": "2026-01-31T11:50:00.000000Z", "renewed": "2026-01-31T11:59:59.000000Z"}
    assert entry["to"] == {"holder": ME}
    assert entry["why"] == "ops@runner/55: its process 55 is not running on runner; upgrade to 2.0"


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
