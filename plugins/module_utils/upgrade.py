# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The platform upgrade's plan (which service of which unit goes in which wave and step, to which version), and its
run summary. Pure functions over catalog groups and the outcomes the service_upgrade role records."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math

# What a service's upgrade ended as; the first three leave the service on one version.
UPGRADED, UNCHANGED, ROLLED_BACK, FAILED, NOT_STARTED = "upgraded", "unchanged", "rolled back", "failed", "not started"
FAILURES = (ROLLED_BACK, FAILED)


class UpgradeError(ValueError):
    pass


def plan(groups, version, versions=None, unit=None, wave=None):
    """One entry per service of `groups` (normalized catalog groups in deployment order): its group, step, strategy,
    namespace and target version (`versions[service]`, else `version`), and, for a unit, the unit, its wave and the
    name of the host that upgrades the service there."""
    versions = versions or {}
    entries = []
    for group in groups:
        for service in group["services"]:
            target = versions.get(service["name"]) or version
            if not target:
                raise UpgradeError("no version for %s: set cxpe_version, or cxpe_versions[%s]" % (service["name"], service["name"]))
            entry = {
                "group": group["name"], "service": service["name"], "namespace": service["namespace"],
                "strategy": service["strategy"], "step": service["step"], "version": str(target),
            }
            if unit is not None:
                entry.update(unit=unit, wave=wave, host=host_name(unit, service["name"]))
            entries.append(entry)
    return entries


def _wave_size(size, total):
    """A `serial`-style batch size: a positive number, or a percentage of the units (at least one unit)."""
    text = str(size).strip()
    try:
        if text.endswith("%"):
            number = max(1, int(math.floor(total * float(text[:-1]) / 100.0)))
        else:
            number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise UpgradeError("wave size %r is not a positive number of units or a percentage" % (size,))
    return number


def waves(units, sizes):
    """Split `units` (in order) into waves of `sizes`, as Ansible's `serial` splits hosts: the last size repeats."""
    units = list(units)
    sizes = list(sizes) or ["100%"]
    batches, start, index = [], 0, 0
    while start < len(units):
        size = _wave_size(sizes[min(index, len(sizes) - 1)], len(units))
        batches.append(units[start:start + size])
        start += size
        index += 1
    return batches


def wave_of(batches, unit):
    """The wave (from 1) of `unit` among `batches`, as `waves` returns them."""
    for number, batch in enumerate(batches, 1):
        if unit in batch:
            return number
    raise UpgradeError("%s is in no wave" % unit)


def host_name(unit, service):
    """The name of the inventory host that upgrades one service of one unit."""
    return "%s--%s" % (unit, service)


def blockers(outcomes, unit, wave):
    """Why a unit's next step must not start: the failed services of that unit, then those of earlier waves.

    `outcomes` are the recorded outcomes of every service host, each with its `unit` and `wave`.
    """
    failed = [entry for entry in outcomes if entry.get("result") in FAILURES]
    return ["%s failed in %s" % (entry["service"], entry["unit"]) for entry in failed
            if entry["unit"] == unit or entry["wave"] < wave]


def _stopped_by(failures, shown=2):
    if not failures:
        return ""
    more = len(failures) - shown
    return "stopped: %s%s" % ("; ".join(failures[:shown]), " and %d more" % more if more > 0 else "")


def _duration(seconds):
    if seconds is None:
        return "-"
    minutes, seconds = divmod(int(round(seconds)), 60)
    return "%dm%02ds" % (minutes, seconds) if minutes else "%ds" % seconds


def summary(planned, outcomes, started=None, finished=None):
    """The run summary: one row per planned service, with its outcome (or `not started`), the critical path, the
    time the services would take one after another, and the wall time.

    `planned` are the plan entries with `unit` and `wave`; `outcomes` what the service_upgrade role recorded, by unit
    and service.
    """
    recorded = dict(((entry["unit"], entry["service"]), entry) for entry in outcomes)
    rows = []
    for entry in planned:
        outcome = recorded.get((entry["unit"], entry["service"]))
        row = dict(entry, **{"from": None, "to": entry["version"], "started": None, "duration": None, "result": NOT_STARTED,
                             "message": ""})
        if outcome:
            row.update((key, outcome.get(key)) for key in ("from", "started", "duration", "result", "message"))
        else:
            row["message"] = _stopped_by(blockers(outcomes, entry["unit"], entry["wave"]))
        rows.append(row)
    # The units of a wave take each step together, and waves and steps go one after another: the critical path is
    # the sum, over waves and steps, of the slowest service.
    slowest = {}
    for row in rows:
        key = (row["wave"], row["step"])
        slowest[key] = max(slowest.get(key, 0), row["duration"] or 0)
    result = {
        "rows": rows,
        "critical_path": sum(slowest.values()),
        "sequential": sum(row["duration"] or 0 for row in rows),
        "wall_time": (finished - started) if started is not None and finished is not None else None,
        "failed": [row for row in rows if row["result"] in FAILURES],
        "counts": dict((name, sum(1 for row in rows if row["result"] == name))
                       for name in (UPGRADED, UNCHANGED, ROLLED_BACK, FAILED, NOT_STARTED)),
    }
    result["ok"] = not result["failed"]
    return result


def summary_lines(report):
    """The summary as a table, one line per service, grouped by unit, then the totals."""
    header = ("unit", "step", "group", "service", "strategy", "from", "to", "duration", "result")
    table = [header] + [
        (row["unit"], str(row["step"]), row["group"], row["service"], row["strategy"], row["from"] or "-", row["to"],
         _duration(row["duration"]), row["result"] + (": " + row["message"] if row["message"] else ""))
        for row in sorted(report["rows"], key=lambda row: (row["wave"], row["unit"], row["step"], row["group"], row["service"]))
    ]
    widths = [max(len(line[column]) for line in table) for column in range(len(header) - 1)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(line[:-1], widths)) + "  " + line[-1] for line in table]
    counts = ", ".join("%d %s" % (number, result) for result, number in report["counts"].items() if number)
    lines.append("%s; critical path %s, all services one after another %s%s" % (
        counts, _duration(report["critical_path"]), _duration(report["sequential"]),
        ", wall time %s" % _duration(report["wall_time"]) if report["wall_time"] is not None else ""))
    return lines
