# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fault matrix: every module that writes (bluegreen_switch, canary_weight, rolling_drain, and with them the
ledger) against every fault kubesim injects (500s, 429 with Retry-After, 409 Conflict, slow reads, watches cut or
expired, the controllers paused, the ledger's writes refused, a write failing in the middle of a change).

Each run either completes or fails with a message naming the fault, and either way the routers, the workloads
and the ledger agree afterwards (fault_matrix_support's checkers). Each cell has a namespace of its own on one
simulator, and its fault rules match only that namespace, so one ansible-playbook runs the cells side by side:
first the cells of the faults that need no pause, then, with the controllers paused until they have all waited on
them, the others. The outcomes go to build/test-artifacts/fault-matrix.json, and docs/reliability.md's table must
say the same (UPDATE_RELIABILITY_DOC=1 rewrites it)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import json
import os

import pytest
import yaml
from fault_matrix_support import (
    CANARY_WEIGHT,
    CLEAN_FAILURE,
    COMPLETED,
    INCONSISTENT,
    SERVICE,
    WORKLOAD,
    add_fault,
    bluegreen_inconsistencies,
    bluegreen_switched,
    bluegreen_world,
    canary_inconsistencies,
    canary_stepped,
    canary_world,
    fired,
    generated_part,
    namespace_object,
    new_rolling_version,
    read_namespaces,
    remove_faults,
    render_summary,
    render_table,
    rolling_completed,
    rolling_inconsistencies,
    rolling_world,
    run_plays,
    wait_available,
)
from playbook_support import ROOT

TIME_SCALE = 20
ARTIFACT = os.path.join(ROOT, "build", "test-artifacts", "fault-matrix.json")
DOC = os.path.join(ROOT, "docs", "reliability.md")
# Real seconds the controllers stay paused once every cell of the pause window has started.
PAUSE_WINDOW_SECONDS = 2
LEDGER_FAULT = "etcdserver: request timed out"
FORKS = 8

# rules(namespace, module) -> kubesim fault rules; window: the cell runs while the controllers are paused; signature: what
# the message of a failure caused by the fault says.
Fault = collections.namedtuple("Fault", "title rules window signature")


# The ratio rules' seeds draw no more than 3 failures in a row (the conflicts' 4) in their first 300 draws, fewer
# than a request's attempts, so whether a run completes does not depend on how many requests it happens to make.
def writes_failing(namespace, _module):
    return [{"fault": "error", "verb": verb, "namespace": namespace, "ratio": 0.3, "seed": seed}
            for seed, verb in ((0, "POST"), (1, "PATCH"), (5, "DELETE"))]


def throttled(namespace, _module):
    return [{"fault": "throttle", "namespace": namespace, "every": 2, "count": 3, "retryAfter": 1}]


def conflicting(namespace, _module):
    return [{"fault": "conflict", "verb": "PATCH", "namespace": namespace, "ratio": 0.3, "seed": 7}]


def slow_reads(namespace, _module):
    return [{"fault": "timeout", "verb": verb, "namespace": namespace, "every": 3, "count": 2, "seconds": 0.5}
            for verb in ("GET", "LIST")]


def watches_cut(namespace, _module):
    return [{"fault": "cut-watch", "namespace": namespace, "events": 1, "seconds": 0.5}]


def watches_expired(namespace, _module):
    return [{"fault": "expire-watch", "namespace": namespace, "count": 2}]


def ledger_refused(namespace, _module):
    return [{"fault": "error", "verb": verb, "namespace": namespace, "resource": "configmaps", "message": LEDGER_FAULT}
            for verb in ("POST", "PATCH")]


# The object a run writes after one write has gone through: the Ingress after the Service (blue/green), the stable
# Deployment after the canary (canary), the Deployment's step after a pod left rotation (rolling drain).
LATE_WRITES = {"bluegreen_switch": {"resource": "ingresses"}, "canary_weight": {"resource": "deployments", "name": SERVICE},
               "rolling_drain": {"resource": "deployments", "name": WORKLOAD}}
LATE_FAULT = "etcdserver: leader changed"


def late_write_refused(namespace, module):
    return [dict({"fault": "error", "verb": "PATCH", "namespace": namespace, "message": LATE_FAULT}, **LATE_WRITES[module])]


FAULTS = collections.OrderedDict([
    ("error", Fault("30% of writes answer 500", writes_failing, False, "Internal error occurred: injected fault")),
    ("throttle", Fault("every other request answers 429 with Retry-After: 1, three times", throttled, False, "Too Many Requests")),
    ("conflict", Fault("30% of patches answer 409 Conflict", conflicting, False, "the object has been modified")),
    ("timeout", Fault("every third read is held 0.5 s, then answered 504 Timeout, twice", slow_reads, False,
                      "Timeout: request did not complete")),
    ("cut-watch", Fault("every watch is cut after its first event or 0.5 s, while the controllers are paused", watches_cut, True,
                        "watch")),
    ("expire-watch", Fault("the first two watches find their resourceVersion expired (410), while the controllers are paused",
                           watches_expired, True, "410")),
    ("pause", Fault("the controllers are paused until every run has waited on them %d s" % PAUSE_WINDOW_SECONDS, None, True,
                    "timed out")),
    ("ledger", Fault("every write of the ledger ConfigMap answers 500", ledger_refused, False, LEDGER_FAULT)),
    ("late-write", Fault("every write of the second object a run changes answers 500", late_write_refused, False, LATE_FAULT)),
])

Module = collections.namedtuple("Module", "world arguments inconsistencies reached")
CELL_NAMESPACE = "{{ cell_namespace }}"

MODULES = collections.OrderedDict([
    ("bluegreen_switch", Module(
        bluegreen_world,
        {"namespace": CELL_NAMESPACE, "service": SERVICE, "color": "green", "version": "2.0", "reason": "fault matrix",
         "routers": [{"kind": "service", "name": SERVICE}, {"kind": "ingress", "name": SERVICE}],
         "preview": {"kind": "service", "name": SERVICE + "-preview"}, "wait_timeout": 30},
        lambda objects, _original: bluegreen_inconsistencies(objects), bluegreen_switched)),
    ("canary_weight", Module(
        canary_world,
        {"namespace": CELL_NAMESPACE, "service": SERVICE, "weight": CANARY_WEIGHT, "version": "2.0", "reason": "fault matrix",
         "routers": [{"kind": "replicas"}], "wait_timeout": 30},
        lambda objects, _original: canary_inconsistencies(objects), canary_stepped)),
    ("rolling_drain", Module(
        rolling_world,
        {"namespace": CELL_NAMESPACE, "kind": "Deployment", "name": WORKLOAD, "sessions_source": "annotation",
         "rotation_delay": 0, "poll_interval": 0.2, "progress_interval": 1, "drain_timeout": 30, "ready_timeout": 30,
         "lease_duration": 10, "reason": "fault matrix"},
        rolling_inconsistencies, rolling_completed)),
])


def cell_name(module, fault):
    """The cell's inventory host, and its namespace."""
    return "%s-%s" % (module.split("_")[0], fault)


def module_task(module, **keywords):
    return dict({"name": module, "cxpe.rollout." + module: MODULES[module].arguments, "when": "cell_module == %r" % module,
                 "register": module.replace("_", "") + "_run", "ignore_errors": True}, **keywords)


def plays(simulator):
    """The free cells side by side; then the pause window's cells, started in the background while the controllers
    are paused, which they are until PAUSE_WINDOW_SECONDS after the last has started."""
    pause_url = simulator.api_url + "/kubesim/v1/pause"
    window = [{"name": "pause the controllers", "ansible.builtin.uri": {"url": pause_url, "method": "POST", "body_format": "json", "body": {}},
               "run_once": True}]
    window += [module_task(module, **{"async": 120, "poll": 0}) for module in MODULES]
    window += [{"name": "let the runs wait on the paused controllers", "ansible.builtin.pause": {"seconds": PAUSE_WINDOW_SECONDS},
                "run_once": True},
               {"name": "resume the controllers", "ansible.builtin.uri": {"url": pause_url, "method": "DELETE"}, "run_once": True}]
    window += [{"name": module + " result", "ansible.builtin.async_status": {"jid": "{{ %s_run.ansible_job_id }}" % module.replace("_", "")},
                "when": "cell_module == %r" % module, "register": "job", "until": "job.finished", "retries": 300, "delay": 1,
                "ignore_errors": True} for module in MODULES]
    return [{"name": "free", "hosts": "free", "gather_facts": False, "strategy": "free", "tasks": [module_task(module) for module in MODULES]},
            {"name": "window", "hosts": "window", "gather_facts": False, "tasks": window}]


def inventory(cells):
    groups = dict((group, {"hosts": {}}) for group in ("free", "window"))
    for module, fault in cells:
        groups["window" if FAULTS[fault].window else "free"]["hosts"][cell_name(module, fault)] = {
            "cell_module": module, "cell_namespace": cell_name(module, fault)}
    return {"all": {"children": groups, "vars": {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}}}


def outcome_of(result, fault, inconsistencies, reached):
    if inconsistencies:
        return INCONSISTENT
    if not result.get("failed"):
        return COMPLETED if reached else "returned without reaching its target"
    if FAULTS[fault].signature in result.get("msg", ""):
        return CLEAN_FAILURE
    return "failed without naming the fault"


def run_matrix(simulator, workdir):
    """Every cell: the worlds, the rules, the plays, then what each namespace holds; {(module, fault): cell}."""
    cells = [(module, fault) for module in MODULES for fault in FAULTS]
    objects = [namespace_object(cell_name(*cell)) for cell in cells]
    for module, fault in cells:
        objects.extend(MODULES[module].world(cell_name(module, fault)))
    simulator.kubectl("apply", "-f", "-", stdin=yaml.safe_dump_all(objects), timeout=120)
    wait_available(simulator, set(cell_name(*cell) for cell in cells))
    rolling = [cell_name("rolling_drain", fault) for fault in FAULTS]
    new_rolling_version(simulator, rolling)
    before = read_namespaces(simulator)
    rules = dict(((module, fault), [add_fault(simulator, rule) for rule in FAULTS[fault].rules(cell_name(module, fault), module)]
                  if FAULTS[fault].rules else []) for module, fault in cells)
    results = run_plays(simulator.env, workdir, inventory(cells), plays(simulator), FORKS)
    counts = dict((cell, fired(simulator, ids)) for cell, ids in rules.items())
    remove_faults(simulator, [rule_id for ids in rules.values() for rule_id in ids])
    after = read_namespaces(simulator)
    # run_once: the pause's answer is recorded for one host of the window.
    paused = next((ran["pause the controllers"]["json"]["paused"] for ran in results.values() if "pause the controllers" in ran), None)
    matrix = {}
    for module, fault in cells:
        name = cell_name(module, fault)
        ran = results.get(name, {})
        result = ran.get(module + " result" if FAULTS[fault].window else module, {"failed": True, "msg": "the cell did not run: %s" % ran})
        original = before[name].get(("Deployment", WORKLOAD), {}).get("spec")
        inconsistencies = MODULES[module].inconsistencies(after[name], original)
        matrix[(module, fault)] = {
            "module": module, "fault": fault, "title": FAULTS[fault].title,
            "outcome": outcome_of(result, fault, inconsistencies, MODULES[module].reached(after[name])),
            "message": result.get("msg") if result.get("failed") else None, "inconsistencies": inconsistencies,
            "fired": counts[(module, fault)], "writes": result.get("writes"), "duration_ms": result.get("duration_ms"),
            "paused": paused if FAULTS[fault].window else None,
        }
    return matrix


@pytest.fixture(name="matrix", scope="module")
def matrix_fixture(module_kubesim_factory, tmp_path_factory):
    simulator = module_kubesim_factory(time_scale=TIME_SCALE)
    try:
        return run_matrix(simulator, tmp_path_factory.mktemp("fault-matrix"))
    finally:
        simulator.stop()


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("module", MODULES)
def test_a_fault_leaves_routers_workloads_and_ledger_in_agreement(matrix, module, fault):
    cell = matrix[(module, fault)]
    shown = json.dumps(cell, indent=2)
    assert cell["inconsistencies"] == [], shown
    assert cell["outcome"] in (COMPLETED, CLEAN_FAILURE), shown
    if FAULTS[fault].window:
        assert cell["paused"] is True, shown
    if FAULTS[fault].rules:
        assert cell["fired"] > 0, "the fault never fired: %s" % shown
    if fault == "throttle" and cell["outcome"] == COMPLETED:
        # Every throttled request was tried again only after its Retry-After.
        assert cell["duration_ms"] >= 1000 * cell["fired"], shown


def test_the_reliability_guide_shows_what_the_matrix_observed(matrix):
    cells = [matrix[(module, fault)] for module in MODULES for fault in FAULTS]
    os.makedirs(os.path.dirname(ARTIFACT), exist_ok=True)
    with open(ARTIFACT, "w", encoding="utf-8") as handle:
        json.dump(cells, handle, indent=2, sort_keys=True)
    outcomes = dict(((cell["module"], cell["fault"]), cell["outcome"]) for cell in cells)
    observed = render_table(list(MODULES), list(FAULTS), outcomes) + "\n" + render_summary(outcomes)
    with open(DOC, encoding="utf-8") as handle:
        text = handle.read()
    documented = generated_part(text, observed.splitlines()[0])
    if documented != observed and os.environ.get("UPDATE_RELIABILITY_DOC"):
        with open(DOC, "w", encoding="utf-8") as handle:
            handle.write(text.replace(documented, observed) if documented else text + "\n" + observed)
        return
    assert documented == observed, "docs/reliability.md's table differs from the run (UPDATE_RELIABILITY_DOC=1 rewrites it):\n" + observed
