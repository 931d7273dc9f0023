# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible_collections.cxpe.rollout.plugins.module_utils import analysis
from ansible_collections.cxpe.rollout.plugins.module_utils.prometheus import NO_DATA, OK, UNREACHABLE, Reading


def metric(**fields):
    return dict({"name": "error_ratio", "query": "q", "min": None, "max": None, "baseline_query": None, "tolerance": 0}, **fields)


@pytest.mark.parametrize("fields, value, baseline, phase", [
    (dict(max=0.01), 0.005, None, analysis.PASSED),
    (dict(max=0.01), 0.02, None, analysis.FAILED),
    (dict(min=10), 5, None, analysis.FAILED),
    (dict(baseline_query="b", tolerance=0.1), 0.105, 0.1, analysis.PASSED),
    (dict(baseline_query="b", tolerance=0.1), 0.12, 0.1, analysis.FAILED),
    (dict(baseline_query="b"), 0.0, 0.0, analysis.PASSED),
    (dict(baseline_query="b"), 0.001, 0.0, analysis.FAILED),
])
def test_judge(fields, value, baseline, phase):
    assert analysis.judge(metric(**fields), value, baseline)[0] == phase


def test_judge_says_why():
    assert analysis.judge(metric(max=0.01, baseline_query="b", tolerance=0.5), 0.2, 0.1)[1] == (
        "0.2 is above max 0.01; 0.2 is above the baseline 0.1 + 50%")


def test_a_configuration_that_cannot_judge_anything_is_refused_at_once():
    metrics = [metric(), metric(name="latency", min=2, max=1), metric(name="x", max=1, tolerance=0.1), metric(name="x", max=1)]
    with pytest.raises(analysis.AnalysisError) as error:
        analysis.check_metrics(metrics, 0, -1, 0, interval=-1, initial_delay=0)
    assert str(error.value) == (
        "count must be at least 1, not 0; interval must not be negative, not -1; failure_limit must not be negative, not -1; "
        "metric error_ratio has no min, max or baseline_query to judge it by; metric latency: min 2 is above max 1; "
        "metric x: tolerance needs a baseline_query; metric x is given twice")


def readings(*values):
    queue = list(values)
    return lambda query: queue.pop(0)


def test_measure_metric_compares_with_its_baseline():
    measured = analysis.measure_metric(readings(Reading(OK, 0.3), Reading(OK, 0.1)), metric(baseline_query="b"), "t")
    assert measured == {"check": "error_ratio", "kind": "metric", "at": "t", "value": 0.3, "baseline": 0.1,
                        "phase": analysis.FAILED, "message": "0.3 is above the baseline 0.1"}


@pytest.mark.parametrize("values, message", [
    ((Reading(NO_DATA, message="the query returned no data"),), "the query returned no data"),
    ((Reading(UNREACHABLE, message="Prometheus at x is unreachable: refused"),), "Prometheus at x is unreachable: refused"),
    ((Reading(OK, 0.1), Reading(NO_DATA, message="the query's value is NaN")), "baseline: the query's value is NaN"),
])
def test_no_data_and_unreachable_are_inconclusive(values, message):
    measured = analysis.measure_metric(readings(*values), metric(max=1, baseline_query="b"), "t")
    assert measured["phase"] == analysis.INCONCLUSIVE and measured["message"] == message


def measurement(check, phase, message="m"):
    return {"check": check, "phase": phase, "message": message}


def test_a_check_fails_once_its_failures_exceed_the_limit():
    tally = analysis.Tally(failure_limit=1)
    tally.add(measurement("a", analysis.FAILED))
    assert not tally.failed() and tally.outcome() == analysis.SUCCESSFUL
    tally.add(measurement("a", analysis.FAILED, "0.3 is above max 0.1"))
    assert tally.failed() and tally.outcome() == analysis.FAILED_OUTCOME
    assert tally.summary() == "a is failed (2 failed, 0 inconclusive of 2 measurements; last: 0.3 is above max 0.1)"


def test_failure_wins_over_inconclusive_which_wins_over_success():
    tally = analysis.Tally()
    tally.add(measurement("a", analysis.PASSED))
    tally.add(measurement("b", analysis.INCONCLUSIVE))
    assert tally.outcome() == analysis.INCONCLUSIVE_OUTCOME and not tally.failed()
    assert tally.outcomes() == {"a": analysis.SUCCESSFUL, "b": analysis.INCONCLUSIVE_OUTCOME}
    tally.add(measurement("a", analysis.FAILED))
    assert tally.outcome() == analysis.FAILED_OUTCOME


def test_inconclusive_measurements_within_their_limit_pass():
    tally = analysis.Tally(inconclusive_limit=1)
    tally.add(measurement("a", analysis.INCONCLUSIVE))
    tally.add(measurement("a", analysis.PASSED))
    assert tally.outcome() == analysis.SUCCESSFUL and tally.summary() == ""
