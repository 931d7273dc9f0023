# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import time
from xml.etree import ElementTree

import pytest

from ansible_collections.cxpe.rollout.plugins.module_utils import report

# 2026-12-04T15:30:00Z
T0 = 1796398200.0


def at(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(T0 + seconds))


def entry(seconds, action, source, target, why="upgrade to 9.0.101.02"):
    return {"at": at(seconds), "action": action, "from": source, "to": target, "by": "ops", "why": why}


def bluegreen_ledger(*history):
    return {"service": "webrtc-gateway", "strategy": "blue_green", "phase": "active", "active": {"color": "green", "version": "2"},
            "history": list(history)}


SWITCH = entry(20, "switch", {"color": "blue", "version": "1"}, {"color": "green", "version": "2"})
SWITCH_BACK = entry(40, "rollback", {"color": "green", "version": "2"}, {"color": "blue", "version": "1"})

CANARY = {"service": "tenant-service", "strategy": "canary", "phase": "promoted", "history": [
    entry(10, "weight", {"version": "2", "weight": 0}, {"version": "2", "weight": 25}),
    entry(20, "weight", {"version": "2", "weight": 25}, {"version": "2", "weight": 100}),
    entry(30, "promote", {"version": "2", "weight": 100}, {"version": "2", "weight": 0}),
]}

PODS = ["gauth-auth-a", "gauth-auth-b", "gauth-auth-c"]
ROLLING = {"service": "gauth-auth", "strategy": "rolling_update", "phase": "completed",
           "plan": {"revision": "r2", "pods": PODS, "batch_size": 1},
           "history": [entry(10 + 4 * index, "drain", {"revision": "r2"}, {"pods": [pod]}) for index, pod in enumerate(PODS)]
           + [entry(22, "complete", {"revision": "r2"}, {"pods": []})]}


def metric(*series, status="ok", message="2 series"):
    return {"status": status, "message": message, "series": [{"version": version, "points": points} for version, points in series]}


def rollout(ledger, namespace="webrtc", metrics=None):
    return {"namespace": namespace, "service": ledger["service"], "ledger": ledger, "metrics": metrics or {
        "error_ratio": metric(("1", [[T0 + 5 * index, 0.0] for index in range(12)]), ("2", [[T0 + 20, 0.01], [T0 + 25, None], [T0 + 30, 0.0]])),
        "sessions": metric(("1", [[T0 + 5 * index, 10.0 - index] for index in range(12)]), ("2", [[T0 + 25, 3.0], [T0 + 30, 6.0]]))}}


def unit(name, *rollouts, **extra):
    return dict({"unit": name, "window": {"start": T0, "end": T0 + 60}, "prometheus_url": "http://127.0.0.1:9090",
                 "rollouts": list(rollouts)}, **extra)


SUMMARY = {
    "rows": [
        {"unit": "primary", "wave": 1, "step": 5, "group": "webrtc", "service": "webrtc-gateway", "strategy": "blue_green",
         "from": "1", "to": "2", "started": T0 + 15, "duration": 30, "result": "rolled back", "message": "error ratio above max"},
        {"unit": "primary", "wave": 1, "step": 2, "group": "gauth", "service": "gauth-auth", "strategy": "rolling_update",
         "from": "1", "to": "2", "started": T0 + 5, "duration": 18, "result": "upgraded", "message": ""},
        {"unit": "secondary", "wave": 2, "step": 5, "group": "webrtc", "service": "webrtc-gateway", "strategy": "blue_green",
         "from": None, "to": "2", "started": None, "duration": None, "result": "not started", "message": "stopped: <webrtc-gateway> failed"},
    ],
    "counts": {"upgraded": 1, "unchanged": 0, "rolled back": 1, "failed": 0, "not started": 1},
    "critical_path": 48, "sequential": 48, "wall_time": 60, "failed": [], "ok": False,
}


# ---------------------------------------------------------------- times, queries

@pytest.mark.parametrize("value, expected", [
    ("2026-12-04T15:30:00Z", T0), (T0, T0), ("%d" % T0, T0), (12, 12.0), ("1796398200.5", T0 + 0.5),
])
def test_times_are_utc_timestamps_or_seconds_since_the_epoch(value, expected):
    assert report.epoch(value) == expected


def test_another_time_is_refused_with_the_forms_it_may_take():
    with pytest.raises(report.ReportError, match="'yesterday' is neither seconds since the epoch nor a UTC timestamp"):
        report.epoch("yesterday")


def test_the_step_draws_the_window_with_a_few_hundred_points_at_one_second_at_least():
    assert report.step_of(0, 3600) == 15
    assert report.step_of(0, 60) == 1


def test_the_queries_give_each_version_of_the_service_over_its_services():
    queries = report.queries("voice", "tenant-service", "30s")
    series = '{namespace="voice",service=~"tenant-service(-stable|-canary|-preview)?"}'
    requests = "sum by (version) (rate(kubesim_service_requests_total%s[30s]))" % series
    errors = "sum by (version) (rate(kubesim_service_request_errors_total%s[30s]))" % series
    assert queries == {"error_ratio": "(%s or %s * 0) / %s" % (errors, requests, requests),
                       "sessions": "sum by (version) (kubesim_service_sessions_active%s)" % series}
    assert "sum by (app_version) (calls" in report.queries("voice", "voice-sip", sessions_metric="calls", version_label="app_version")["sessions"]


def test_a_range_query_series_are_named_by_their_version():
    series = [({"version": "2"}, [(1.0, 0.5)]), ({"version": "1"}, [(1.0, None)]), ({}, [])]
    assert report.versions_of(series) == [{"version": "-", "points": []}, {"version": "1", "points": [[1.0, None]]},
                                          {"version": "2", "points": [[1.0, 0.5]]}]


def test_a_ledger_changed_in_a_window_when_its_history_has_an_entry_in_it():
    ledger = bluegreen_ledger(SWITCH)
    assert report.changed_in(ledger, T0 + 19.5, T0 + 60)
    assert not report.changed_in(ledger, T0 + 21, T0 + 60)
    assert not report.changed_in(ledger, T0, T0 + 10)
    assert not report.changed_in({"history": []}, T0, T0 + 60)


# ---------------------------------------------------------------- traffic

def test_a_blue_green_switch_and_switch_back_move_all_the_traffic_and_the_active_color():
    timeline = report.traffic(bluegreen_ledger(SWITCH, SWITCH_BACK), T0, T0 + 60)
    assert timeline["points"] == [(T0, 0), (T0 + 20, 100), (T0 + 40, 0), (T0 + 60, 0)]
    assert timeline["colors"] == [(T0, T0 + 20, "blue"), (T0 + 20, T0 + 40, "green"), (T0 + 40, T0 + 60, "blue")]
    assert [event["text"] for event in timeline["events"]] == [
        "15:30:20 switch: blue 1 \u2192 green 2, by ops (upgrade to 9.0.101.02)",
        "15:30:40 rollback: green 2 \u2192 blue 1, by ops (upgrade to 9.0.101.02)"]
    assert timeline["version"] == "1" and not timeline["truncated"]


def test_changes_before_the_window_set_where_the_traffic_starts_and_later_ones_are_left_out():
    timeline = report.traffic(bluegreen_ledger(SWITCH, SWITCH_BACK), T0 + 30, T0 + 35)
    assert timeline["points"] == [(T0 + 30, 100), (T0 + 35, 100)]
    assert timeline["colors"] == [(T0 + 30, T0 + 35, "green")] and timeline["events"] == []


def test_a_canary_share_is_its_weight_then_all_once_promoted_and_none_once_aborted():
    assert report.traffic(CANARY, T0, T0 + 60)["points"] == [(T0, 0), (T0 + 10, 25), (T0 + 20, 100), (T0 + 30, 100), (T0 + 60, 100)]
    aborted = dict(CANARY, history=CANARY["history"][:1] + [entry(15, "abort", {"version": "2", "weight": 25}, {"version": "2", "weight": 0})])
    timeline = report.traffic(aborted, T0, T0 + 60)
    assert timeline["points"] == [(T0, 0), (T0 + 10, 25), (T0 + 15, 0), (T0 + 60, 0)]
    assert timeline["colors"] == []


def test_a_rolling_update_share_is_the_share_of_its_pods_drained_before_each_batch():
    points = report.traffic(ROLLING, T0, T0 + 60)["points"]
    assert [(moment - T0, round(share, 1)) for moment, share in points] == [
        (0, 0), (10, 0), (14, 33.3), (18, 66.7), (22, 100), (60, 100)]


def test_a_rolling_run_the_ledger_no_longer_plans_counts_the_pods_its_entries_name():
    earlier = [entry(index, "drain", {"revision": "r1"}, {"pods": [pod]}) for index, pod in enumerate(["x", "y"])]
    ledger = dict(ROLLING, history=earlier + ROLLING["history"])
    shares = [share for _moment, share in report.traffic(ledger, T0 - 1, T0 + 60)["points"]]
    assert [round(share, 1) for share in shares] == [0, 0, 50, 0, 33.3, 66.7, 100, 100]


def test_a_full_history_that_starts_after_the_window_says_the_window_start_is_not_known():
    history = [entry(10 + index, "weight", {"version": "2", "weight": index}, {"version": "2", "weight": index + 1})
               for index in range(report.HISTORY_LIMIT)]
    assert report.traffic(dict(CANARY, history=history), T0, T0 + 60)["truncated"]
    assert not report.traffic(dict(CANARY, history=history), T0 + 20, T0 + 60)["truncated"]
    assert not report.traffic(dict(CANARY, history=history[1:]), T0, T0 + 60)["truncated"]


# ---------------------------------------------------------------- the page

def points_of(element):
    return element.get("points").split()


def figures(page):
    """{figure id: its SVG element} of a page (the page is XHTML-clean enough for the figures' SVG to parse)."""
    found = {}
    for match in re.finditer(r'<figure class="service" id="([^"]+)".*?(<svg .*?</svg>)', page):
        found[match.group(1)] = ElementTree.fromstring(match.group(2))
    return found


def test_the_page_has_the_summary_and_a_chart_per_service_that_changed():
    page = report.render([unit("primary", rollout(bluegreen_ledger(SWITCH, SWITCH_BACK)), rollout(ROLLING, "gauth")), unit("secondary")],
                         SUMMARY, title="Upgrade to 2", generated=T0 + 61)
    assert page.startswith("<!DOCTYPE html>") and "<title>Upgrade to 2</title>" in page
    assert "2026-12-04 15:30:00 \u2013 15:31:00 UTC (1m00s) \u00b7 written 2026-12-04 15:31:01 UTC" in page
    # Rows in order of wave, unit and step; a row links to its chart when there is one.
    assert page.index(">gauth-auth</a>") < page.index(">webrtc-gateway</a>") < page.index("<td>secondary</td>")
    assert '<a href="#primary--webrtc-gateway">webrtc-gateway</a>' in page
    assert '<span class="result r-rolled-back">rolled back</span>: error ratio above max' in page
    assert "stopped: &lt;webrtc-gateway&gt; failed" in page
    assert "1 upgraded, 1 rolled back, 1 not started; critical path 48s" in page
    charts = figures(page)
    assert sorted(charts) == ["primary--gauth-auth", "primary--webrtc-gateway"]
    svg = "{http://www.w3.org/2000/svg}"
    gateway = charts["primary--webrtc-gateway"]
    (share,) = [line for line in gateway.iter(svg + "polyline") if line.get("data-series") == "traffic"]
    assert len(points_of(share)) == 6
    versions = [line.get("data-series") for line in gateway.iter(svg + "polyline") if line.get("data-series") != "traffic"]
    # Version 2's error ratio has a gap: its points on either side are a dot each.
    assert versions == ["1", "1", "2"]
    assert len([dot for dot in gateway.iter(svg + "circle") if dot.get("data-series") == "2"]) == 2
    assert [title.text for title in gateway.iter(svg + "title") if title.text.startswith("15:30:20")] == [
        "15:30:20 switch: blue 1 \u2192 green 2, by ops (upgrade to 9.0.101.02)"]
    assert "No service's traffic moved in this window." in page.split('id="unit-secondary"')[1]


def test_the_page_loads_nothing():
    page = report.render([unit("primary", rollout(bluegreen_ledger(SWITCH)))], SUMMARY)
    assert "<script" not in page and "src=" not in page and "@import" not in page and "url(" not in page
    assert re.findall(r'href="([^"]*)"', page) == ["data:,", "#primary--webrtc-gateway"]


def test_what_could_not_be_drawn_is_said_where_the_chart_would_be_and_at_the_top():
    unreachable = {"error_ratio": metric(status="unreachable", message="Prometheus at http://p:9090 is unreachable: refused"),
                   "sessions": metric(status="no_data", message="the query returned no data")}
    page = report.render([unit("primary", rollout(bluegreen_ledger(SWITCH), metrics=unreachable)),
                          {"unit": "secondary", "error": "the ledgers could not be read: Unauthorized"}], SUMMARY)
    top = page.split('id="not-drawn"')[1].split("</section>")[0]
    assert "<li>primary/webrtc-gateway: Error ratio of each version: Prometheus at http://p:9090 is unreachable: refused</li>" in top
    assert "<li>primary/webrtc-gateway: Active sessions of each version: the query returned no data</li>" in top
    assert "<li>secondary: the ledgers could not be read: Unauthorized</li>" in top
    gateway = figures(page)["primary--webrtc-gateway"]
    assert [text.text for text in gateway.iter("{http://www.w3.org/2000/svg}text") if text.get("class") == "missing"] == [
        "Prometheus at http://p:9090 is unreachable: refused", "the query returned no data"]
    assert "Nothing was drawn for this unit: the ledgers could not be read: Unauthorized" in page


def test_a_unit_of_the_summary_without_data_is_named_and_text_is_escaped():
    ledger = bluegreen_ledger(entry(20, "switch", {"color": "blue", "version": "1"}, {"color": "green", "version": "2"}, why="<b>&"))
    page = report.render([unit("primary", rollout(ledger))], SUMMARY)
    assert "<li>secondary: no data was gathered for this unit</li>" in page
    assert "<b>&" not in page and "(&lt;b&gt;&amp;)" in page


def test_without_a_summary_the_window_is_the_units_and_a_service_shows_where_it_is_now():
    page = report.render([unit("primary", rollout(CANARY, "voice"))])
    assert "<title>Rollout report</title>" in page and 'id="summary"' not in page
    assert "2026-12-04 15:30:00 \u2013 15:31:00 UTC" in page
    assert "namespace voice \u00b7 canary \u00b7 now promoted" in page
    assert "canary weight (100% once promoted)" in page
    assert "The ledger's 3 changes in the window" in page


def test_the_window_is_the_one_given_else_the_units_else_the_runs():
    assert "15:30:10 \u2013 15:30:50 UTC (40s)" in report.render([unit("primary")], start=T0 + 10, end="2026-12-04T15:30:50Z")
    assert "15:29:00 \u2013 15:31:00 UTC (2m00s)" in report.render([], dict(SUMMARY, started=T0 - 60, finished=T0 + 60))
    with pytest.raises(report.ReportError, match="the report has no window"):
        report.render([{"unit": "primary", "error": "unreachable"}], SUMMARY)
