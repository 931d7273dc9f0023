# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest
from ansible_collections.cxpe.rollout.plugins.module_utils import ledger as ledgers
from ansible_collections.cxpe.rollout.plugins.module_utils.cluster import Cluster
from cluster_support import FakeClient, ScriptedWatch, configmap

NOW = "2026-01-31T12:00:00Z"
LATER = "2026-01-31T12:05:00Z"


def switched(ledger=None, color="green", version="2", now=NOW, reason="upgrade"):
    ledger = ledger or ledgers.new_ledger("web", "blue_green", now)
    return ledgers.record(ledger, "switch", {"color": "blue", "version": "1"}, {"color": color, "version": version},
                          reason, "ops", now, phase="active", active={"color": color, "version": version},
                          previous={"color": "blue", "version": "1"}, weight=100, routers={"Service/web": {"shares": {"blue": 100}}})


def test_a_ledger_renders_as_one_key_per_field_and_parses_back():
    ledger = switched()
    rendered = ledgers.render(ledger, "ns")
    assert rendered["metadata"] == {"name": "web-rollout", "namespace": "ns", "labels": {
        "cxpe.io/rollout-ledger": "web", "app.kubernetes.io/name": "web", "app.kubernetes.io/managed-by": "cxpe.rollout"}}
    data = rendered["data"]
    assert data["schema-version"] == "1" and data["strategy"] == "blue_green" and data["weight"] == "100"
    assert data["active.color"] == "green" and data["previous.version"] == "1"
    assert json.loads(data["history"]) == [{"at": NOW, "action": "switch", "from": {"color": "blue", "version": "1"},
                                            "to": {"color": "green", "version": "2"}, "by": "ops", "why": "upgrade"}]
    assert ledgers.parse(rendered) == ledger


def test_empty_fields_are_left_out_and_unknown_keys_are_kept():
    fresh = ledgers.new_ledger("web", "canary", NOW)
    data = ledgers.render_data(fresh)
    assert sorted(data) == ["created", "schema-version", "service", "strategy", "updated"]
    stored = configmap("web-rollout", dict(data, **{"canary.step": "2"}))
    parsed = ledgers.parse(stored)
    assert parsed["extra"] == {"canary.step": "2"}
    assert ledgers.render_data(parsed)["canary.step"] == "2"


@pytest.mark.parametrize("key, value, message", [
    ("active.color", "purple", "key active.color: 'purple' is not one of blue, green"),
    ("weight", "abc", "key weight: 'abc' is not a number"),
    ("weight", "150", "key weight: '150' is not between 0 and 100"),
    ("history", "[{", "key history: is not valid JSON"),
    ("history", "{}", "key history: must be a JSON array"),
    ("history", '[{"at": "x"}]', "key history: entry 0 must be an object with at least 'at' and 'action'"),
    ("routers", "[]", "key routers: must be a JSON object"),
    ("updated", "yesterday", "key updated: 'yesterday' is not a UTC timestamp"),
    ("strategy", "big_bang", "key strategy: 'big_bang' is not one of blue_green, canary, rolling_update"),
    ("schema-version", "2", "key schema-version: 2 is newer than this collection reads (1); upgrade cxpe.rollout"),
    ("schema-version", "one", "key schema-version: 'one' is not a positive integer"),
])
def test_a_corrupted_ledger_names_the_configmap_and_the_bad_key(key, value, message):
    data = ledgers.render_data(switched())
    data[key] = value
    with pytest.raises(ledgers.LedgerError) as error:
        ledgers.parse(configmap("web-rollout", data, namespace="gws"))
    assert str(error.value).startswith("rollout ledger ConfigMap gws/web-rollout: ")
    assert message in str(error.value)


def test_a_configmap_without_the_required_keys_is_not_a_ledger():
    with pytest.raises(ledgers.LedgerError, match="ConfigMap ns/x: key schema-version, strategy is missing"):
        ledgers.parse(configmap("x", {"service": "web"}))


def test_history_keeps_the_last_entries_only():
    ledger = ledgers.new_ledger("web", "blue_green", NOW)
    for index in range(ledgers.HISTORY_LIMIT + 5):
        ledger = ledgers.record(ledger, "switch", None, {"color": "green", "version": str(index)}, None, None, NOW)
    assert len(ledger["history"]) == ledgers.HISTORY_LIMIT
    assert ledger["history"][-1]["to"]["version"] == str(ledgers.HISTORY_LIMIT + 4)
    assert "by" not in ledger["history"][-1] and "why" not in ledger["history"][-1]


def test_same_state_ignores_bookkeeping():
    one = switched()
    other = ledgers.record(one, "note", None, None, "nothing moved", None, LATER)
    assert ledgers.same_state(one, other)
    assert not ledgers.same_state(one, switched(version="3"))


def test_write_creates_a_ledger_then_updates_it_keeping_its_history():
    client = FakeClient()
    cluster = Cluster(client)
    assert ledgers.read(cluster, "ns", "web") == (None, None)
    ledgers.write(cluster, "ns", "web", switched, "blue_green", NOW)
    stored, ledger = ledgers.read(cluster, "ns", "web")
    assert ledger["active"] == {"color": "green", "version": "2"}
    ledgers.write(cluster, "ns", "web", lambda current: switched(current, "blue", "3", LATER), "blue_green", LATER, current=stored)
    _stored, ledger = ledgers.read(cluster, "ns", "web")
    assert [entry["to"]["version"] for entry in ledger["history"]] == ["2", "3"]
    assert ledger["created"] == NOW and ledger["updated"] == LATER
    assert cluster.writes == 2


def test_a_ledger_created_concurrently_is_updated_instead():
    client = FakeClient()
    cluster = Cluster(client)
    theirs = ledgers.render(switched(version="9"), "ns")
    client.put(theirs)
    ledgers.write(cluster, "ns", "web", lambda current: switched(current, "blue", "3", LATER), "blue_green", LATER)
    _stored, ledger = ledgers.read(cluster, "ns", "web")
    assert [entry["to"]["version"] for entry in ledger["history"]] == ["9", "3"]


def test_list_ledgers_reports_corrupted_ones_beside_the_valid():
    good = ledgers.render(switched(), "ns")
    bad = ledgers.render(ledgers.new_ledger("api", "blue_green", NOW), "ns")
    bad["data"]["active.color"] = "purple"
    cluster = Cluster(FakeClient([good, bad]))
    listed = ledgers.list_ledgers(cluster, "ns")
    assert [(entry["service"], entry["valid"]) for entry in listed] == [("api", False), ("web", True)]
    assert "key active.color: 'purple'" in listed[0]["error"]
    assert listed[1]["namespace"] == "ns" and listed[1]["name"] == "web-rollout"
    assert listed[1]["active"] == {"color": "green", "version": "2"} and "extra" not in listed[1]


def ledger_event(kind, phase, version):
    obj = configmap("web-rollout", {"phase": phase})
    obj["metadata"]["resourceVersion"] = version
    return {"type": kind, "object": obj, "raw_object": obj}


def test_a_reader_waiting_on_a_phase_is_woken_when_the_ledger_leaves_it():
    watch = ScriptedWatch([[ledger_event("MODIFIED", "draining", "201"), ledger_event("MODIFIED", "completed", "202")]])
    cluster = Cluster(FakeClient([configmap("web-rollout", {"phase": "draining"})]), watcher=watch)
    assert ledgers.wait_while_phase(cluster, "ns", "web", "draining", 30) is True
    assert watch.calls[0]["field_selector"] == "metadata.name=web-rollout" and watch.stopped


def test_a_ledger_already_out_of_the_phase_or_absent_needs_no_watch():
    watch = ScriptedWatch([])
    assert ledgers.wait_while_phase(Cluster(FakeClient([configmap("web-rollout", {"phase": "failed"})]), watcher=watch),
                                    "ns", "web", "draining", 30) is True
    assert ledgers.wait_while_phase(Cluster(FakeClient(), watcher=watch), "ns", "web", "draining", 30) is True
    assert watch.calls == []


def test_waiting_out_the_timeout_is_an_answer_not_an_error():
    now = [0.0]

    def clock():
        now[0] += 3
        return now[0]

    watch = ScriptedWatch([[ledger_event("MODIFIED", "draining", "201")]])
    cluster = Cluster(FakeClient([configmap("web-rollout", {"phase": "draining"})]), watcher=watch, clock=clock)
    assert ledgers.wait_while_phase(cluster, "ns", "web", "draining", 5) is False
