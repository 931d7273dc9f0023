# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.cxpe.rollout.plugins.module_utils import upgrade

GROUPS = [
    {"name": "gauth", "services": [{"name": "gauth-auth", "namespace": "gauth", "strategy": "rolling_update", "step": 2}]},
    {"name": "voice", "services": [{"name": "voice-dialplan", "namespace": "voice", "strategy": "canary", "step": 3},
                                   {"name": "voice-config", "namespace": "voice", "strategy": "canary", "step": 3}]},
]


def test_the_plan_has_every_service_with_its_target_and_its_host_in_the_unit():
    entries = upgrade.plan(GROUPS, "9.0.101.02", {"voice-config": "9.0.101.03"}, unit="east", wave=2)
    assert [(entry["service"], entry["version"], entry["step"], entry["host"], entry["wave"]) for entry in entries] == [
        ("gauth-auth", "9.0.101.02", 2, "east--gauth-auth", 2),
        ("voice-dialplan", "9.0.101.02", 3, "east--voice-dialplan", 2),
        ("voice-config", "9.0.101.03", 3, "east--voice-config", 2),
    ]


def test_a_service_without_a_version_is_named():
    with pytest.raises(upgrade.UpgradeError, match="no version for gauth-auth"):
        upgrade.plan(GROUPS, "", {"voice-dialplan": "1", "voice-config": "1"})


@pytest.mark.parametrize("sizes, expected", [
    ([1, "100%"], [["a"], ["b", "c", "d"]]),
    ([1], [["a"], ["b"], ["c"], ["d"]]),
    (["50%"], [["a", "b"], ["c", "d"]]),
    (["10%", 2], [["a"], ["b", "c"], ["d"]]),
    ([], [["a", "b", "c", "d"]]),
])
def test_waves_split_units_as_serial_does(sizes, expected):
    batches = upgrade.waves(["a", "b", "c", "d"], sizes)
    assert batches == expected
    assert [upgrade.wave_of(batches, unit) for unit in "abcd"] == [
        number for number, batch in enumerate(expected, 1) for _unit in batch]


@pytest.mark.parametrize("size", [0, -1, "x", "%"])
def test_a_wave_size_that_is_not_positive_is_refused(size):
    with pytest.raises(upgrade.UpgradeError, match="wave size"):
        upgrade.waves(["a", "b"], [size])


def outcome(unit, service, result, wave=1, duration=10.0, step=None):
    return {"unit": unit, "wave": wave, "service": service, "result": result, "from": "1", "duration": duration, "message": ""}


def test_a_row_not_started_names_the_first_failures_that_stopped_it():
    planned = upgrade.plan(GROUPS, "2", unit="east", wave=1)[:1]
    outcomes = [outcome("east", "s%d" % number, "failed") for number in range(4)]
    assert upgrade.summary(planned, outcomes)["rows"][0]["message"] == "stopped: s0 failed in east; s1 failed in east and 2 more"


def test_a_failure_blocks_its_unit_and_the_later_waves_only():
    outcomes = [outcome("east", "gauth-auth", "upgraded"), outcome("east", "voice-dialplan", "rolled back"),
                outcome("west", "gauth-auth", "upgraded")]
    assert upgrade.blockers(outcomes, "east", 1) == ["voice-dialplan failed in east"]
    assert upgrade.blockers(outcomes, "west", 1) == []
    assert upgrade.blockers(outcomes, "north", 2) == ["voice-dialplan failed in east"]


def test_the_summary_names_every_planned_service_and_sums_the_slowest_of_each_step():
    planned = upgrade.plan(GROUPS, "2", unit="east", wave=1) + upgrade.plan(GROUPS, "2", unit="west", wave=2)
    outcomes = [
        dict(outcome("east", "gauth-auth", "upgraded", duration=5)),
        dict(outcome("east", "voice-dialplan", "upgraded", duration=30)),
        dict(outcome("east", "voice-config", "unchanged", duration=1)),
        dict(outcome("west", "gauth-auth", "upgraded", wave=2, duration=7)),
        dict(outcome("west", "voice-dialplan", "rolled back", wave=2, duration=20)),
    ]
    outcomes[4]["message"] = "error ratio 0.3 above 0.01"
    report = upgrade.summary(planned, outcomes, started=100.0, finished=170.0)
    assert report["critical_path"] == 5 + 30 + 7 + 20
    assert report["sequential"] == 5 + 30 + 1 + 7 + 20
    assert report["wall_time"] == 70.0
    assert not report["ok"]
    assert [row["service"] for row in report["failed"]] == ["voice-dialplan"]
    not_started = [row for row in report["rows"] if row["result"] == upgrade.NOT_STARTED]
    assert [(row["unit"], row["service"]) for row in not_started] == [("west", "voice-config")]
    assert not_started[0]["message"] == "stopped: voice-dialplan failed in west"
    assert report["counts"] == {"upgraded": 3, "unchanged": 1, "rolled back": 1, "failed": 0, "not started": 1}
    lines = upgrade.summary_lines(report)
    assert lines[0].split() == ["unit", "step", "group", "service", "strategy", "from", "to", "duration", "result"]
    assert lines[-2].split()[:4] == ["west", "3", "voice", "voice-dialplan"]
    assert lines[-2].endswith("rolled back: error ratio 0.3 above 0.01")
    assert lines[-1] == "3 upgraded, 1 unchanged, 1 rolled back, 1 not started; critical path 1m02s, all services one after another 1m03s, wall time 1m10s"
