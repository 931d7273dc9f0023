# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The canary planner: from what the cluster and the ledger say, decide whether a weight change is
refused, has nothing to do, or which router objects change and what the ledger records. Pure: no I/O.

The stable Deployment <service> and the canary Deployment <service>-canary run side by side; the
routers send `weight` percent of the traffic to the canary track. A step is refused, before anything
is written, when the canary cannot take its share (it does not exist, is not Ready, or runs another
version than asked), when a router cannot be read, or when an outcome is claimed that does not hold
(`promoted` while the stable track still runs the old version).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.cxpe.rollout.plugins.module_utils import ledger as ledgers
from ansible_collections.cxpe.rollout.plugins.module_utils.labels import CANARY_TRACK, STABLE_TRACK
from ansible_collections.cxpe.rollout.plugins.module_utils.readiness import deployment_problems, pod_problems
from ansible_collections.cxpe.rollout.plugins.module_utils.routers import FULL_SHARE, strategy_problems, unreadable
from ansible_collections.cxpe.rollout.plugins.module_utils.status import deployment_status
from ansible_collections.cxpe.rollout.plugins.module_utils.strategies import Refusal

STRATEGY = "canary"
PROGRESSING = "progressing"
PROMOTED = "promoted"
ABORTED = "aborted"
OUTCOMES = (PROGRESSING, PROMOTED, ABORTED)


def canary_deployment_name(service):
    return "%s-%s" % (service, CANARY_TRACK)


def shares_for(weight):
    return {STABLE_TRACK: FULL_SHARE - weight, CANARY_TRACK: weight}


def effective_weight(routers):
    """The canary's share as the routers apply it now: the lowest any router gives (None without routers)."""
    weights = [router.shares(obj).get(CANARY_TRACK, 0) for router, obj in routers if obj is not None]
    if not weights:
        return None
    weight = min(weights)
    return int(weight) if weight == int(weight) else round(weight, 2)


def _request_problems(request):
    weight, outcome = request["weight"], request["outcome"]
    problems = []
    if not 0 <= weight <= FULL_SHARE:
        problems.append("weight must be between 0 and 100, not %s" % weight)
    if outcome not in OUTCOMES:
        problems.append("outcome must be one of %s, not %r" % (", ".join(OUTCOMES), outcome))
    elif outcome != PROGRESSING and weight != 0:
        problems.append("outcome %s sends every request back to the stable track: the weight must be 0, not %s"
                        % (outcome, weight))
    return problems


def _canary_problems(request, canary, canary_pods, scales):
    """What keeps the canary from taking a share: another version than asked; for a router, not being Ready;
    for the replicas router (which scales the canary itself), pods that already fail."""
    status = deployment_status(canary)
    if request.get("version") and status["version"] != request["version"]:
        return ["Deployment %s/%s runs version %s, not %s"
                % (status["namespace"], status["name"], status["version"], request["version"])]
    if request["weight"] <= 0:
        return []
    if not scales:
        return deployment_problems(canary, canary_pods)
    return [problem for pod in canary_pods for problem in pod_problems(pod)]


def plan_weight(request, stable, canary, canary_pods, routers, companion_problems, ledger, now):
    """What a weight change does.

    request: {namespace, service, weight, outcome, version, step, measurements, reason, actor}
    stable, canary: the two Deployments (None when absent); canary_pods: the canary's pods;
    routers: [(Router, object or None)]; companion_problems: what is wrong with the objects the routers
    rely on; ledger: the parsed ledger or None; now: a timestamp.

    Returns {previous_weight, weight, stable_version, canary_version, changes: [(Router, before, after)],
    ledger_entry (see apply_entry) or None when the ledger already says so}. Raises Refusal.
    """
    namespace, service, weight = request["namespace"], request["service"], request["weight"]
    problems = _request_problems(request) + strategy_problems([router for router, _obj in routers], STRATEGY, "canary tracks")
    if problems:
        raise Refusal(problems)
    if stable is None:
        problems.append("Deployment %s/%s (the stable track) does not exist" % (namespace, service))
    if canary is None:
        problems.append("Deployment %s/%s does not exist" % (namespace, canary_deployment_name(service)))
    problems.extend(unreadable(routers))
    problems.extend(companion_problems)
    scales = any(router.kind == "replicas" for router, _obj in routers)
    if canary is not None:
        problems.extend(_canary_problems(request, canary, canary_pods, scales))
    if problems:
        raise Refusal(problems)
    canary_version = deployment_status(canary)["version"]
    stable_version = deployment_status(stable)["version"]
    if request["outcome"] == PROMOTED and stable_version != canary_version:
        raise Refusal(["the stable track runs version %s, not the canary's %s: promote it before recording the promotion"
                       % (stable_version, canary_version)])

    for router, obj in routers:
        router.prepare(obj, ledger)
    changes = [(router, obj, router.route(obj, shares_for(weight))) for router, obj in routers]
    changes = [change for change in changes if change[2] is not None]
    current = effective_weight(routers)
    previous_weight = (ledger or {}).get("weight") if (ledger or {}).get("strategy") == STRATEGY else None
    previous_weight = current if previous_weight is None else previous_weight

    base = ledger or ledgers.new_ledger(service, STRATEGY, now)
    state = {"strategy": STRATEGY, "phase": request["outcome"], "weight": weight,
             "active": {"color": None, "version": stable_version}, "canary": {"version": canary_version}}
    if request.get("step") is not None:
        state["step"] = request["step"]
    if request.get("measurements") is not None:
        state["measurements"] = request["measurements"]
    if request["outcome"] == PROGRESSING and weight > 0 and (base.get("phase") != PROGRESSING or not base.get("routers")):
        # The routers as they were before this canary began: what an abort by hand restores.
        state["routers"] = dict((router.key, router.state(obj)) for router, obj in routers)
    if request["outcome"] == PROMOTED and base.get("phase") != PROMOTED:
        state["previous"] = {"color": None, "version": ((base.get("active") or {}).get("version"))}
    entry = None
    recorded = dict((key, base.get(key)) for key in state)
    if changes or recorded != state:
        entry = {"action": {PROGRESSING: "weight", PROMOTED: "promote", ABORTED: "abort"}[request["outcome"]],
                 "from": {"weight": previous_weight, "version": canary_version},
                 "to": {"weight": weight, "version": canary_version},
                 "reason": request.get("reason"), "actor": request.get("actor"), "now": now, "state": state}
    return {"previous_weight": previous_weight, "weight": weight, "stable_version": stable_version,
            "canary_version": canary_version, "changes": changes, "ledger_entry": entry}


def apply_entry(ledger, entry):
    """The ledger after a planned change, applied to the ledger as stored at write time."""
    return ledgers.record(ledger, entry["action"], entry["from"], entry["to"], entry["reason"], entry["actor"],
                          entry["now"], **entry["state"])
