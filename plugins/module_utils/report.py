# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rollout report: one self-contained HTML page of an upgrade run, or of a time window, for people to look at.
Pure: data in, HTML out.

For each unit, each service whose traffic moved in the window gets one chart of three panels over the window:

- the traffic: the share of the service's traffic on the version each change moved it to, from its ledger's
  history (a canary's weight, a blue/green switch with the active color under it, the share of its pods a rolling
  update has replaced), a marker per change saying who made it and why;
- the error ratio of each version, and its active sessions, from Prometheus range queries (queries() says which;
  the rollout_report_data module runs them).

The run summary's table comes first. Nothing is loaded from anywhere: the styles are inline and the charts are SVG
drawn here, with no script. What could not be drawn (a unit whose ledgers could not be read, a Prometheus without
data or out of reach, a history that no longer reaches back to the window's start) is said where the chart would
be, and listed at the top.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import html
import math
import time

from ansible_collections.cxpe.rollout.plugins.module_utils.ledger import HISTORY_LIMIT
from ansible_collections.cxpe.rollout.plugins.module_utils.upgrade import summary_lines

# Points of a range query over the window: enough for a smooth line, few enough for a light page.
POINTS = 240
METRICS = (("error_ratio", "Error ratio of each version"), ("sessions", "Active sessions of each version"))
STRATEGY_NAMES = {"blue_green": "blue/green", "canary": "canary", "rolling_update": "rolling update"}
# What the traffic panel's share is, per strategy.
SHARE_MEANING = {"blue_green": "traffic on the color switched to", "canary": "canary weight (100% once promoted)",
                 "rolling_update": "pods replaced by the rolling update"}
# The services' Services whose pods serve a service's users: its own, a canary's tracks, a blue/green preview.
SERVICE_SUFFIXES = "(-stable|-canary|-preview)?"
VERSION_COLORS = ("#7c3aed", "#ea580c", "#0891b2", "#db2777", "#65a30d", "#a16207", "#475569", "#dc2626")
ACTIVE_COLORS = {"blue": "#3b82f6", "green": "#16a34a"}
TIME_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)

# Chart geometry, in SVG user units.
WIDTH, LEFT, RIGHT = 960, 64, 36
PANEL, TITLE, AXIS, STRIP = 110, 22, 24, 16

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;margin:0;color:#111827;background:#f3f4f6}
main{max-width:1080px;margin:0 auto;padding:24px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:32px 0 8px}h3{font-size:16px;margin:0}
.meta{color:#4b5563;margin:0 0 4px}
table{border-collapse:collapse;background:#fff;width:100%;font-size:13px}
th,td{border-bottom:1px solid #e5e7eb;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f9fafb;font-weight:600}
td.num{text-align:right;white-space:nowrap}
.result{font-weight:600}.r-upgraded{color:#15803d}.r-unchanged{color:#6b7280}.r-rolled-back{color:#c2410c}
.r-failed{color:#b91c1c}.r-not-started{color:#6b7280;font-style:italic}
.problems{background:#fff7ed;border:1px solid #fdba74;border-radius:6px;padding:8px 16px;margin-top:16px}
.problems h2{margin:4px 0}
.problems li,.notes li{margin:2px 0}
figure.service{background:#fff;border:1px solid #e5e7eb;border-radius:8px;margin:16px 0;padding:12px 16px}
figcaption{display:flex;flex-wrap:wrap;gap:4px 16px;align-items:baseline;margin-bottom:6px}
figcaption .facts{color:#4b5563}
svg.chart{width:100%;height:auto;display:block}
svg text{font:11px system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;fill:#374151}
svg .title{font-weight:600;fill:#111827;font-size:12px}
svg .grid{stroke:#e5e7eb;stroke-width:1}
svg .frame{fill:none;stroke:#9ca3af;stroke-width:1}
svg .series{fill:none;stroke-width:2;stroke-linejoin:round}
svg .share{fill:none;stroke:#111827;stroke-width:2}
svg .share-area{fill:#111827;fill-opacity:.08}
svg .missing{fill:#9a3412;font-size:12px}
svg .strip text{fill:#fff;font-weight:600}
.legend{display:flex;flex-wrap:wrap;gap:4px 16px;font-size:12px;color:#374151;margin:4px 0 0}
.swatch{display:inline-block;width:14px;height:4px;border-radius:2px;vertical-align:middle;margin-right:4px}
.notes{color:#9a3412;font-size:13px;margin:6px 0 0;padding-left:20px}
details{margin-top:6px;font-size:13px}
footer{color:#6b7280;font-size:12px;margin-top:32px}
"""


class ReportError(ValueError):
    """A time that is neither seconds since the epoch nor a UTC timestamp."""


# ------------------------------------------------------------ times ----

def epoch(value):
    """Seconds since the epoch of a UTC timestamp like 2026-01-31T12:00:00Z (the ledger's), or of a number."""
    if isinstance(value, (int, float)):
        return float(value)
    text = ("%s" % value).strip()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return float(calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ")))
    except ValueError:
        raise ReportError("%r is neither seconds since the epoch nor a UTC timestamp like 2026-01-31T12:00:00Z" % (value,))


def step_of(start, end, points=POINTS):
    """The step of a range query that draws the window with about `points` points (at least one second)."""
    return max(1, int(math.ceil((end - start) / float(points))))


def _clock(moment, seconds=True):
    return time.strftime("%H:%M:%S" if seconds else "%H:%M", time.gmtime(moment))


def _date_time(moment):
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(moment))


def _duration(seconds):
    if seconds is None:
        return "-"
    minutes, seconds = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return "%dh%02dm" % (hours, minutes)
    return "%dm%02ds" % (minutes, seconds) if minutes else "%ds" % seconds


# ------------------------------------------------------ what to query ----

def queries(namespace, service, rate_window="1m", requests_metric="kubesim_service_requests_total",
            errors_metric="kubesim_service_request_errors_total", sessions_metric="kubesim_service_sessions_active",
            version_label="version"):
    """The range queries of a service's panels: its error ratio and its active sessions, one series per version, over
    the Services that serve it (its own, a canary's tracks, a blue/green preview). A version whose requests have no
    error series yet has a ratio of 0; a version without requests has none (a gap)."""
    series = '{namespace="%s",service=~"%s%s"}' % (namespace, service, SERVICE_SUFFIXES)
    requests = "sum by (%s) (rate(%s%s[%s]))" % (version_label, requests_metric, series, rate_window)
    errors = "sum by (%s) (rate(%s%s[%s]))" % (version_label, errors_metric, series, rate_window)
    return {"error_ratio": "(%s or %s * 0) / %s" % (errors, requests, requests),
            "sessions": "sum by (%s) (%s%s)" % (version_label, sessions_metric, series)}


def versions_of(series, version_label="version"):
    """A range query's series ([(labels, [(time, value or None)])]) as [{version, points: [[time, value]]}]."""
    return sorted(({"version": labels.get(version_label) or "-", "points": [[moment, value] for moment, value in points]}
                   for labels, points in series), key=lambda entry: entry["version"])


def changed_in(ledger, start, end):
    """Whether a ledger records a change between `start` and `end` (its timestamps are whole seconds)."""
    return any(math.floor(start) <= epoch(entry["at"]) <= end for entry in ledger.get("history") or [])


# ------------------------------------------------------------ traffic ----

def _shares(ledger):
    """(share before the first change, [share after each change]) of a ledger's history: the percentage of the
    service's traffic on the version each change moved it to."""
    history = ledger.get("history") or []
    strategy = ledger.get("strategy")
    if strategy == "blue_green":
        after = [0 if entry["action"] == "rollback" else 100 for entry in history]
        return 100 - after[0], after
    if strategy == "canary":
        after = [100 if entry["action"] == "promote" else 0 if entry["action"] == "abort"
                 else (entry.get("to") or {}).get("weight") or 0 for entry in history]
        return (history[0].get("from") or {}).get("weight") or 0, after
    return 0, _rolling_shares(ledger, history)


def _rolling_shares(ledger, history):
    """A rolling update drains its pods batch by batch, each batch a history entry naming its pods; a run is the
    entries of one revision. The share at a batch is the share of the run's pods drained before it; at the end, 100.
    A run's pods are its plan's when the ledger still holds it, else those its entries name."""
    plan = ledger.get("plan") or {}
    pods_of = {}
    for entry in history:
        pods_of.setdefault((entry.get("from") or {}).get("revision"), set()).update((entry.get("to") or {}).get("pods") or [])
    after, drained, share = [], {}, 0
    for entry in history:
        revision = (entry.get("from") or {}).get("revision")
        done = drained.setdefault(revision, set())
        total = len(plan.get("pods") or []) if plan.get("revision") == revision else len(pods_of[revision])
        if entry["action"] == "complete":
            share = 100
        elif entry["action"] in ("drain", "resume"):
            share = 100.0 * len(done) / total if total else 0
            done.update((entry.get("to") or {}).get("pods") or [])
        after.append(share)
    return after


def _side(value):
    """One side (from, to) of a history entry, in words."""
    value = value or {}
    parts = [value[key] for key in ("color", "version") if value.get(key)]
    if value.get("weight") is not None:
        parts.append("at %g%%" % value["weight"])
    if value.get("revision"):
        parts.append("revision %s" % value["revision"])
    if value.get("pods"):
        parts.append("pods %s" % ", ".join(value["pods"]))
    return " ".join("%s" % part for part in parts) or "-"


def describe(entry):
    """A history entry in words: when, what, from where to where, by whom and why."""
    text = "%s %s: %s \u2192 %s" % (_clock(epoch(entry["at"])), entry["action"], _side(entry.get("from")), _side(entry.get("to")))
    if entry.get("by"):
        text += ", by %s" % entry["by"]
    if entry.get("why"):
        text += " (%s)" % entry["why"]
    return text


def traffic(ledger, start, end):
    """What the traffic panel draws of a ledger over the window: the share's steps [(time, share)] from `start` to
    `end`, the changes in the window [{time, share, text}], the active color's spans [(from, to, color)] (blue/green),
    the version the last change in the window moved to, and whether the history was cut before the window began."""
    history = ledger.get("history") or []
    result = {"points": [], "events": [], "colors": [], "version": None,
              "truncated": len(history) >= HISTORY_LIMIT and epoch(history[0]["at"]) > start}
    if not history:
        return result
    before, after = _shares(ledger)
    share = before
    color = (history[0].get("from") or {}).get("color")
    changes = []
    for entry, entry_share in zip(history, after):
        moment = epoch(entry["at"])
        if moment > end:
            break
        if moment <= start:
            share, color = entry_share, (entry.get("to") or {}).get("color") or color
            continue
        changes.append((moment, entry_share, (entry.get("to") or {}).get("color") or color, entry))
    points, spans, span_start = [(start, share)], [], start
    for moment, entry_share, entry_color, entry in changes:
        points.append((moment, entry_share))
        result["events"].append({"time": moment, "share": entry_share, "text": describe(entry)})
        result["version"] = (entry.get("to") or {}).get("version") or result["version"]
        if entry_color != color:
            if color:
                spans.append((span_start, moment, color))
            span_start, color = moment, entry_color
    points.append((end, points[-1][1]))
    if color and ledger.get("strategy") == "blue_green":
        spans.append((span_start, end, color))
    result.update(points=points, colors=spans if ledger.get("strategy") == "blue_green" else [])
    return result


# -------------------------------------------------------------- chart ----

def _escape(text):
    return html.escape("%s" % text, quote=True)


def _nice(value):
    """The smallest of 1, 2, 2.5, 5 times a power of ten that is at least `value` (> 0)."""
    power = 10 ** math.floor(math.log10(value))
    for factor in (1, 2, 2.5, 5, 10):
        if factor * power >= value * (1 - 1e-9):
            return factor * power
    return 10 * power


def _time_ticks(start, end):
    span = max(end - start, 1)
    step = next((candidate for candidate in TIME_STEPS if span / candidate <= 8), TIME_STEPS[-1])
    first = math.ceil(start / step) * step
    return [first + index * step for index in range(int((end - first) // step) + 1)], step


class _Frame(object):
    """The x axis (the window) and one panel's y axis."""

    def __init__(self, start, end, top, maximum):
        self.start, self.end, self.top, self.maximum = start, max(end, start + 1), top, maximum

    def x(self, moment):
        return LEFT + (WIDTH - LEFT - RIGHT) * (min(max(moment, self.start), self.end) - self.start) / (self.end - self.start)

    def y(self, value):
        return self.top + PANEL * (1 - min(max(value, 0), self.maximum) / self.maximum)

    def bottom(self):
        return self.top + PANEL


def _points(frame, points):
    return " ".join("%.1f,%.1f" % (frame.x(moment), frame.y(value)) for moment, value in points)


def _axes(frame, title, y_ticks, y_label):
    """A panel's title, grid, frame and axis labels."""
    parts = ['<text class="title" x="%d" y="%.1f">%s</text>' % (LEFT, frame.top - 7, _escape(title))]
    for value in y_ticks:
        y = frame.y(value)
        parts.append('<line class="grid" x1="%d" x2="%d" y1="%.1f" y2="%.1f"/>' % (LEFT, WIDTH - RIGHT, y, y))
        parts.append('<text x="%d" y="%.1f" text-anchor="end">%s</text>' % (LEFT - 6, y + 4, _escape(y_label(value))))
    ticks, step = _time_ticks(frame.start, frame.end)
    for moment in ticks:
        x = frame.x(moment)
        parts.append('<line class="grid" x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f"/>' % (x, x, frame.top, frame.bottom()))
        parts.append('<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>' % (x, frame.bottom() + 15, _clock(moment, step < 60)))
    parts.append('<rect class="frame" x="%d" y="%.1f" width="%d" height="%d"/>' % (LEFT, frame.top, WIDTH - LEFT - RIGHT, PANEL))
    return parts


def _missing(frame, message):
    return '<text class="missing" x="%.1f" y="%.1f" text-anchor="middle">%s</text>' % (
        (LEFT + WIDTH - RIGHT) / 2.0, frame.top + PANEL / 2.0, _escape(message))


def _traffic_panel(frame, timeline, strategy, version):
    title = "Traffic: %s" % SHARE_MEANING.get(strategy, "share of the traffic on the new version")
    parts = _axes(frame, title, (0, 25, 50, 75, 100), lambda value: "%d%%" % value)
    steps = []
    for (moment, share), (next_moment, _next_share) in zip(timeline["points"], timeline["points"][1:]):
        steps += [(moment, share), (next_moment, share)]
    if steps:
        area = steps + [(frame.end, 0), (frame.start, 0)]
        parts.append('<polygon class="share-area" points="%s"/>' % _points(frame, area))
        parts.append('<polyline class="share series" data-series="traffic" points="%s"><title>%s</title></polyline>' % (
            _points(frame, steps), _escape("share on %s" % (version or "the new version"))))
    for event in timeline["events"]:
        parts.append('<circle class="event" cx="%.1f" cy="%.1f" r="4.5" fill="#111827" stroke="#fff" stroke-width="1.5">'
                     '<title>%s</title></circle>' % (frame.x(event["time"]), frame.y(event["share"]), _escape(event["text"])))
    strip = frame.bottom() + AXIS - 4
    for begin, finish, color in timeline["colors"]:
        x, width = frame.x(begin), frame.x(finish) - frame.x(begin)
        parts.append('<g class="strip"><rect x="%.1f" y="%.1f" width="%.1f" height="%d" fill="%s"><title>%s</title></rect>%s</g>' % (
            x, strip, width, STRIP - 2, ACTIVE_COLORS.get(color, "#6b7280"),
            _escape("%s active %s \u2013 %s" % (color, _clock(begin), _clock(finish))),
            '<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>' % (x + width / 2, strip + STRIP - 5, _escape(color))
            if width > 40 else ""))
    return parts


def _metric_panel(frame, title, metric, colors, y_label):
    parts = _axes(frame, title, [frame.maximum * index / 4.0 for index in range(5)], y_label)
    if metric.get("status") != "ok":
        return parts + [_missing(frame, metric.get("message") or "not queried")]
    for series in metric["series"]:
        color = colors.get(series["version"], "#6b7280")
        segment = []
        for moment, value in series["points"] + [[None, None]]:
            if value is not None:
                segment.append((moment, value))
                continue
            if len(segment) > 1:
                parts.append('<polyline class="series" data-series="%s" stroke="%s" points="%s"><title>%s</title></polyline>' % (
                    _escape(series["version"]), color, _points(frame, segment), _escape(series["version"])))
            elif segment:
                parts.append('<circle class="series" data-series="%s" fill="%s" r="2.5" cx="%.1f" cy="%.1f"><title>%s</title></circle>' % (
                    _escape(series["version"]), color, frame.x(segment[0][0]), frame.y(segment[0][1]), _escape(series["version"])))
            segment = []
    return parts


def _maximum(metric, floor):
    """The top of a metric panel's y axis: four nice steps above its highest value (and `floor`)."""
    values = [value for series in metric.get("series") or [] for _moment, value in series["points"] if value is not None]
    return 4 * _nice(max(values + [floor]) / 4.0)


def _percent(value):
    return "%.3g%%" % (100 * value)


def _count(value):
    return "%g" % value


def _group(panel, parts):
    return '<g class="panel" data-panel="%s">%s</g>' % (panel, "".join(parts))


def chart(rollout, start, end, colors, version=None):
    """(the SVG of one service: its traffic, its error ratio and its sessions over the window, its traffic timeline)."""
    timeline = traffic(rollout["ledger"], start, end)
    metrics = rollout.get("metrics") or {}
    error_ratio = metrics.get("error_ratio") or {}
    sessions = metrics.get("sessions") or {}
    top = TITLE
    panels = [_group("traffic", _traffic_panel(_Frame(start, end, top, 100), timeline, rollout["ledger"].get("strategy"),
                                               version or timeline["version"]))]
    top += PANEL + AXIS + (STRIP if timeline["colors"] else 0) + TITLE
    panels.append(_group("error_ratio", _metric_panel(_Frame(start, end, top, _maximum(error_ratio, 0.01)), METRICS[0][1],
                                                      error_ratio, colors, _percent)))
    top += PANEL + AXIS + TITLE
    panels.append(_group("sessions", _metric_panel(_Frame(start, end, top, _maximum(sessions, 4)), METRICS[1][1], sessions,
                                                   colors, _count)))
    height = top + PANEL + AXIS
    label = "%s: traffic, error ratio and active sessions from %s to %s UTC" % (rollout["service"], _clock(start), _clock(end))
    return '<svg class="chart" viewBox="0 0 %d %d" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg">%s</svg>' % (
        WIDTH, height, _escape(label), "".join(panels)), timeline


# ------------------------------------------------------------- report ----

def anchor(unit, service):
    return "%s--%s" % (unit, service)


def _version_colors(units, rows):
    versions = set(value for row in rows for value in (row.get("from"), row.get("to")) if value)
    for unit in units:
        for rollout in unit.get("rollouts") or []:
            for metric in (rollout.get("metrics") or {}).values():
                versions.update(series["version"] for series in metric.get("series") or [])
    return dict((version, VERSION_COLORS[index % len(VERSION_COLORS)]) for index, version in enumerate(sorted(versions)))


def _window(units, summary, start, end):
    """The window drawn: as given, else what the units' data covers, else the summary's run."""
    windows = [unit["window"] for unit in units if unit.get("window")]
    if start is None:
        start = min(window["start"] for window in windows) if windows else (summary or {}).get("started")
    if end is None:
        end = max(window["end"] for window in windows) if windows else (summary or {}).get("finished")
    if start is None or end is None:
        raise ReportError("the report has no window: give its start and end, the units' data or a summary of a run")
    return epoch(start), epoch(end)


def _rows(summary):
    return sorted((summary or {}).get("rows") or [],
                  key=lambda row: (row.get("wave") or 0, row.get("unit") or "", row.get("step") or 0, row.get("group") or "", row["service"]))


def _result_class(result):
    return "result r-%s" % (result or "").replace(" ", "-")


def _summary_table(summary, drawn):
    rows = _rows(summary)
    lines = ['<table class="summary"><thead><tr><th>unit</th><th>step</th><th>group</th><th>service</th><th>strategy</th>'
             '<th>from</th><th>to</th><th class="num">duration</th><th>result</th></tr></thead><tbody>']
    for row in rows:
        name = _escape(row["service"])
        key = anchor(row.get("unit"), row["service"])
        service = '<a href="#%s">%s</a>' % (_escape(key), name) if key in drawn else name
        result = '<span class="%s">%s</span>' % (_result_class(row.get("result")), _escape(row.get("result") or "-"))
        if row.get("message"):
            result += ": %s" % _escape(row["message"])
        lines.append("<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td class=\"num\">%s</td>"
                     "<td>%s</td></tr>" % (
                         _escape(row.get("unit") or "-"), _escape(row.get("step") or "-"), _escape(row.get("group") or "-"), service,
                         _escape(STRATEGY_NAMES.get(row.get("strategy"), row.get("strategy") or "-")), _escape(row.get("from") or "-"),
                         _escape(row.get("to") or "-"), _duration(row.get("duration")), result))
    lines.append("</tbody></table>")
    totals = summary_lines(dict(summary, rows=rows))[-1] if "counts" in summary else ""
    return '<p class="meta">%s</p>%s' % (_escape(totals), "".join(lines))


def _legend(timeline, metrics, colors, version):
    items = ['<span><span class="swatch" style="background:#111827"></span>share of the traffic on %s</span>' % _escape(
        version or timeline["version"] or "the new version")]
    if timeline["events"]:
        items.append("<span>\u25cf a change in the ledger (hover it for who, what and why)</span>")
    for color in sorted(set(span[2] for span in timeline["colors"])):
        items.append('<span><span class="swatch" style="background:%s"></span>%s active</span>' % (ACTIVE_COLORS.get(color, "#6b7280"), _escape(color)))
    versions = sorted(set(series["version"] for metric in metrics.values() for series in metric.get("series") or []))
    for name in versions:
        items.append('<span><span class="swatch" style="background:%s"></span>version %s</span>' % (colors.get(name, "#6b7280"), _escape(name)))
    return '<div class="legend">%s</div>' % "".join(items)


def _history_table(ledger, start, end):
    entries = [entry for entry in ledger.get("history") or [] if math.floor(start) <= epoch(entry["at"]) <= end]
    rows = "".join("<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>" % (
        _escape(_clock(epoch(entry["at"]))), _escape(entry["action"]), _escape(_side(entry.get("from"))), _escape(_side(entry.get("to"))),
        _escape(entry.get("by") or ""), _escape(entry.get("why") or "")) for entry in entries)
    return ('<details><summary>The ledger\'s %d change%s in the window</summary><table><thead><tr><th>at (UTC)</th><th>action</th>'
            '<th>from</th><th>to</th><th>by</th><th>why</th></tr></thead><tbody>%s</tbody></table></details>'
            % (len(entries), "" if len(entries) == 1 else "s", rows))


def _not_drawn(rollout, timeline):
    """What the chart of a service lacks, in words."""
    notes = []
    for key, title in METRICS:
        metric = (rollout.get("metrics") or {}).get(key) or {}
        if metric.get("status") != "ok":
            notes.append("%s: %s" % (title, metric.get("message") or "not queried"))
    if timeline["truncated"]:
        notes.append("the ledger keeps its last %d changes only: the traffic before %s is not known"
                     % (HISTORY_LIMIT, _clock(epoch(rollout["ledger"]["history"][0]["at"]))))
    return notes


def _service_figure(unit, rollout, row, start, end, colors, problems):
    ledger = rollout["ledger"]
    svg, timeline = chart(rollout, start, end, colors, (row or {}).get("to"))
    facts = ["namespace %s" % rollout["namespace"], STRATEGY_NAMES.get(ledger.get("strategy"), ledger.get("strategy") or "-")]
    if row:
        facts += ["%s \u2192 %s" % (row.get("from") or "-", row.get("to") or "-"), _duration(row.get("duration"))]
    else:
        facts.append("now %s %s" % (ledger.get("phase") or "-", (ledger.get("active") or {}).get("version") or ""))
    result = ""
    if row:
        result = '<span class="%s">%s</span>' % (_result_class(row.get("result")), _escape(row.get("result")))
    notes = _not_drawn(rollout, timeline)
    problems.extend("%s/%s: %s" % (unit, rollout["service"], note) for note in notes)
    notes_html = '<ul class="notes">%s</ul>' % "".join("<li>%s</li>" % _escape(note) for note in notes) if notes else ""
    return ('<figure class="service" id="%s" data-unit="%s" data-service="%s"><figcaption><h3>%s</h3>'
            '<span class="facts">%s</span>%s</figcaption>%s%s%s%s</figure>' % (
                _escape(anchor(unit, rollout["service"])), _escape(unit), _escape(rollout["service"]), _escape(rollout["service"]),
                _escape(" \u00b7 ".join(facts)), result, svg, _legend(timeline, rollout.get("metrics") or {}, colors, (row or {}).get("to")),
                notes_html, _history_table(ledger, start, end)))


def render(units, summary=None, title=None, generated=None, start=None, end=None):
    """The report page.

    `units`: per unit, what the rollout_report_data module returned there - {unit, window: {start, end}, prometheus_url,
    rollouts: [{namespace, service, ledger, metrics: {error_ratio, sessions: {status, message, series}}}], problems} -
    or {unit, error} when it failed. `summary`: the upgrade's run summary (upgrade.summary), or None. `start`, `end`:
    the window (seconds since the epoch, or UTC timestamps), by default the units' own; `generated`: when the page is
    written.
    """
    units = list(units or [])
    rows = _rows(summary)
    start, end = _window(units, summary, start, end)
    colors = _version_colors(units, rows)
    row_of = dict(((row.get("unit"), row["service"]), row) for row in rows)
    order = dict(((row.get("unit"), row["service"]), index) for index, row in enumerate(rows))
    names = [unit["unit"] for unit in units]
    names += sorted(set(row.get("unit") for row in rows if row.get("unit") not in names))
    by_name = dict((unit["unit"], unit) for unit in units)
    problems, sections, drawn = [], [], set()
    for name in names:
        unit = by_name.get(name) or {"error": "no data was gathered for this unit"}
        body = []
        if unit.get("error"):
            problems.append("%s: %s" % (name, unit["error"]))
            body.append('<p class="notes">Nothing was drawn for this unit: %s</p>' % _escape(unit["error"]))
        problems.extend("%s: %s" % (name, problem) for problem in unit.get("problems") or [])
        rollouts = sorted(unit.get("rollouts") or [], key=lambda item: (
            order.get((name, item["service"]), len(order)), item["namespace"], item["service"]))
        for rollout in rollouts:
            drawn.add(anchor(name, rollout["service"]))
            body.append(_service_figure(name, rollout, row_of.get((name, rollout["service"])), start, end, colors, problems))
        if not unit.get("error") and not rollouts:
            body.append('<p class="meta">No service\'s traffic moved in this window.</p>')
        source = ("metrics from Prometheus at %s" % unit["prometheus_url"]) if unit.get("prometheus_url") else "no Prometheus"
        sections.append('<section class="unit" id="unit-%s"><h2>Unit %s</h2><p class="meta">%d service%s changed \u00b7 %s</p>%s</section>' % (
            _escape(name), _escape(name), len(rollouts), "" if len(rollouts) == 1 else "s", _escape(source), "".join(body)))
    heading = title or "Rollout report"
    page = ['<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width,initial-scale=1">',
            # No favicon request: the page loads nothing.
            '<link rel="icon" href="data:,">',
            "<title>%s</title><style>%s</style></head><body><main>" % (_escape(heading), STYLE),
            "<h1>%s</h1>" % _escape(heading),
            '<p class="meta">%s \u2013 %s UTC (%s)%s</p>' % (
                _date_time(start), _clock(end), _duration(end - start),
                " \u00b7 written %s UTC" % _date_time(generated) if generated is not None else "")]
    if summary:
        page.append('<section id="summary"><h2>Run summary</h2>%s</section>' % _summary_table(summary, drawn))
    if problems:
        page.append('<section id="not-drawn" class="problems"><h2>What this report could not draw</h2><ul>%s</ul></section>'
                    % "".join("<li>%s</li>" % _escape(problem) for problem in problems))
    page += sections
    page.append("<footer>cxpe.rollout rollout report. Traffic from each service's rollout ledger (its last %d changes); "
                "error ratios and sessions from each unit's Prometheus. Times are UTC.</footer></main></body></html>\n"
                % HISTORY_LIMIT)
    return "".join(page)
