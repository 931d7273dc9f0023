# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The metric gate's bookkeeping: thresholds, candidate-versus-baseline comparisons, and the
count / failure_limit / inconclusive_limit rules that turn measurements into an outcome. Pure.

A check (a metric or a webhook) is measured `count` times. Each measurement
is `passed`, `failed` or `inconclusive` (no data, NaN, an unreachable
Prometheus or webhook). A check fails once more than `failure_limit` of its
measurements failed, and is inconclusive once more than
`inconclusive_limit` were inconclusive; the analysis stops at the first
check that fails. The outcome is Failed if any check failed, else
Inconclusive if any was inconclusive, else Successful.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math

PASSED = "passed"
FAILED = "failed"
INCONCLUSIVE = "inconclusive"
SUCCESSFUL = "Successful"
FAILED_OUTCOME = "Failed"
INCONCLUSIVE_OUTCOME = "Inconclusive"


class AnalysisError(ValueError):
    """The analysis is configured in a way that can never measure anything meaningful."""


def check_metrics(metrics, count, failure_limit, inconclusive_limit, **delays):
    """Refuse a configuration before any measurement: every problem at once. `delays` are durations
    in seconds by name (interval, initial_delay)."""
    problems = []
    if count < 1:
        problems.append("count must be at least 1, not %d" % count)
    for name, seconds in sorted(delays.items()):
        if seconds < 0:
            problems.append("%s must not be negative, not %g" % (name, seconds))
    for name, value in (("failure_limit", failure_limit), ("inconclusive_limit", inconclusive_limit)):
        if value < 0:
            problems.append("%s must not be negative, not %d" % (name, value))
    names = set()
    for metric in metrics:
        name = metric["name"]
        if name in names:
            problems.append("metric %s is given twice" % name)
        names.add(name)
        if metric.get("min") is None and metric.get("max") is None and not metric.get("baseline_query"):
            problems.append("metric %s has no min, max or baseline_query to judge it by" % name)
        if metric.get("min") is not None and metric.get("max") is not None and metric["min"] > metric["max"]:
            problems.append("metric %s: min %g is above max %g" % (name, metric["min"], metric["max"]))
        if metric.get("tolerance") and not metric.get("baseline_query"):
            problems.append("metric %s: tolerance needs a baseline_query" % name)
        if (metric.get("tolerance") or 0) < 0:
            problems.append("metric %s: tolerance must not be negative" % name)
    if problems:
        raise AnalysisError("; ".join(problems))


def usable(value):
    """Whether a query value can be judged (NaN, as from 0/0 with no traffic, cannot)."""
    return value is not None and not math.isnan(value)


def judge(metric, value, baseline=None):
    """(phase, message) of one metric measurement whose value (and baseline, when compared) are usable."""
    failures = []
    if metric.get("min") is not None and value < metric["min"]:
        failures.append("%g is below min %g" % (value, metric["min"]))
    if metric.get("max") is not None and value > metric["max"]:
        failures.append("%g is above max %g" % (value, metric["max"]))
    if metric.get("baseline_query"):
        tolerance = metric.get("tolerance") or 0
        limit = baseline * (1 + tolerance)
        if value > limit:
            failures.append("%g is above the baseline %g%s" % (
                value, baseline, " + %g%%" % (tolerance * 100) if tolerance else ""))
    if failures:
        return FAILED, "; ".join(failures)
    return PASSED, "%g is within bounds" % value


class Tally(object):
    """Measurements of every check, and the outcome they add up to (see the module docstring)."""

    def __init__(self, failure_limit=0, inconclusive_limit=0):
        self.failure_limit = failure_limit
        self.inconclusive_limit = inconclusive_limit
        self.measurements = []
        self._counts = {}

    def add(self, measurement):
        """Record one {check, phase, ...} measurement."""
        self.measurements.append(measurement)
        counts = self._counts.setdefault(measurement["check"], {PASSED: 0, FAILED: 0, INCONCLUSIVE: 0})
        counts[measurement["phase"]] += 1

    def check_outcome(self, check):
        counts = self._counts.get(check) or {FAILED: 0, INCONCLUSIVE: 0}
        if counts[FAILED] > self.failure_limit:
            return FAILED_OUTCOME
        if counts[INCONCLUSIVE] > self.inconclusive_limit:
            return INCONCLUSIVE_OUTCOME
        return SUCCESSFUL

    def outcomes(self):
        return dict((check, self.check_outcome(check)) for check in self._counts)

    def failed(self):
        """Whether a check has already failed, so further measurements cannot change the outcome."""
        return FAILED_OUTCOME in self.outcomes().values()

    def outcome(self):
        outcomes = set(self.outcomes().values())
        for outcome in (FAILED_OUTCOME, INCONCLUSIVE_OUTCOME):
            if outcome in outcomes:
                return outcome
        return SUCCESSFUL

    def summary(self):
        """One line per check that did not succeed, with its last message."""
        lines = []
        for check, outcome in sorted(self.outcomes().items()):
            if outcome == SUCCESSFUL:
                continue
            own = [item for item in self.measurements if item["check"] == check]
            failed = sum(1 for item in own if item["phase"] == FAILED)
            inconclusive = sum(1 for item in own if item["phase"] == INCONCLUSIVE)
            last = [item for item in own if item["phase"] != PASSED][-1]
            lines.append("%s is %s (%d failed, %d inconclusive of %d measurements; last: %s)" % (
                check, outcome.lower(), failed, inconclusive, len(own), last["message"]))
        return "; ".join(lines)


def measure_metric(query, metric, at):
    """One measurement of a metric: `query(promql)` gives a prometheus.Reading (value None when there
    is none, with the reason in its message)."""
    measurement = {"check": metric["name"], "kind": "metric", "at": at, "value": None, "baseline": None}
    reading = query(metric["query"])
    measurement["value"] = reading.value
    if not usable(reading.value):
        return dict(measurement, phase=INCONCLUSIVE, message=reading.message)
    if metric.get("baseline_query"):
        baseline = query(metric["baseline_query"])
        measurement["baseline"] = baseline.value
        if not usable(baseline.value):
            return dict(measurement, phase=INCONCLUSIVE, message="baseline: %s" % baseline.message)
    phase, message = judge(metric, reading.value, measurement["baseline"])
    return dict(measurement, phase=phase, message=message)
