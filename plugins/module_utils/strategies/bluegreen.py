# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The blue/green planner: from what the cluster and the ledger say, decide whether a switch is
refused, has nothing to do, or which objects change. Pure: no I/O.

A switch sends every router of a service to one color, points the preview
router (the hidden entry point) at the other, idle, color, and records the
move in the ledger. It is refused, before anything is written, when the
target color cannot take the traffic or a router cannot be read.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.cxpe.rollout.plugins.module_utils import ledger as ledgers
from ansible_collections.cxpe.rollout.plugins.module_utils.labels import COLORS, other_color
from ansible_collections.cxpe.rollout.plugins.module_utils.readiness import deployment_problems
from ansible_collections.cxpe.rollout.plugins.module_utils.routers import RouterError, single_variant, strategy_problems, unreadable
from ansible_collections.cxpe.rollout.plugins.module_utils.status import deployment_status
from ansible_collections.cxpe.rollout.plugins.module_utils.strategies import Refusal

STRATEGY = "blue_green"
ACTIVE = "active"
ROLLED_BACK = "rolled_back"


def deployment_name(service, color):
    return "%s-%s" % (service, color)


def target_color(state, color, ledger, ledger_where):
    """The color a switch goes to: `color` for state=active; for rolled_back, the previous color the
    ledger names (or, when the ledger says it was already rolled back, the color it rolled back to)."""
    if state == ACTIVE:
        if color not in COLORS:
            raise Refusal(["color %r is not one of %s" % (color, ", ".join(COLORS))])
        return color
    if ledger is None:
        raise Refusal(["there is no rollout ledger %s, so nothing says which color to roll back to" % ledger_where])
    if ledger.get("phase") == ROLLED_BACK and ledger["active"].get("color"):
        return ledger["active"]["color"]
    previous = ledger["previous"].get("color")
    if not previous:
        raise Refusal(["the rollout ledger %s names no previous color to roll back to" % ledger_where])
    return previous


def serving_color(routers, ledger):
    """The color all routers send traffic to now; the ledger's active color when they disagree (or
    cannot be read)."""
    colors = set()
    for router, obj in routers:
        try:
            colors.add(single_variant(router.shares(obj)) if obj is not None else None)
        except RouterError:
            colors.add(None)
    if len(colors) == 1 and None not in colors:
        return colors.pop()
    return ((ledger or {}).get("active") or {}).get("color")


def recorded_version(ledger, color):
    """The version the ledger last recorded for a color, or None."""
    for side in ("active", "previous"):
        if ((ledger or {}).get(side) or {}).get("color") == color:
            return ledger[side].get("version")
    return None


def deployment_to_read(routers, ledger, target):
    """The other color whose Deployment a switch must read for the ledger's previous version, or None
    when the ledger already knows it (so a switch reads one Deployment, not two)."""
    serving = serving_color(routers, ledger)
    if serving and serving != target and not recorded_version(ledger, serving):
        return serving
    return None


def plan_switch(request, deployments, target_pods, routers, preview, ledger, now):
    """What a switch does.

    request: {service, state, color, version, min_ready_replicas, reason, actor, ledger_where}
    deployments: {color: Deployment or None}, the target's and, when deployment_to_read names it, the
    serving color's; target_pods: the pods of the target color;
    routers: [(Router, object or None)]; preview: (Router, object or None) or None;
    ledger: the parsed ledger or None; now: a timestamp.

    Returns {target, previous_color, target_version, changes: [(Router, before, after)], preview_change:
    (Router, before, after) or None, ledger_entry: what to record (see apply_entry), or None when the
    ledger already says so}. Raises Refusal.
    """
    target = target_color(request["state"], request.get("color"), ledger, request["ledger_where"])
    service = request["service"]
    problems = []
    deployment = deployments.get(target)
    if deployment is None:
        problems.append("Deployment %s/%s does not exist" % (request["namespace"], deployment_name(service, target)))
    else:
        problems.extend(deployment_problems(deployment, target_pods, request.get("version"),
                                            request.get("min_ready_replicas", 1)))
    mismatched = strategy_problems([router for router, _obj in routers + ([preview] if preview else [])], STRATEGY,
                                   "blue/green colors")
    if mismatched:
        raise Refusal(problems + mismatched)
    problems.extend(unreadable(routers + ([preview] if preview else [])))
    if problems:
        raise Refusal(problems)

    target_version = deployment_status(deployment)["version"]
    serving = serving_color(routers, ledger)
    changes = [(router, obj, router.route(obj, {target: 100})) for router, obj in routers]
    changes = [change for change in changes if change[2] is not None]
    preview_change = None
    if preview:
        router, obj = preview
        after = router.route(obj, {other_color(target): 100})
        preview_change = (router, obj, after) if after is not None else None

    active = {"color": target, "version": target_version}
    base = ledger or ledgers.new_ledger(service, STRATEGY, now)
    entry = None
    if changes or base.get("active") != active:
        previous = base.get("previous")
        if serving and serving != target:
            previous = {"color": serving, "version": _version_of(deployments.get(serving), base, serving)}
        elif (base.get("active") or {}).get("color") not in (None, target):
            # The routers moved without the ledger (a switch killed between its writes): they came from its active color.
            previous = dict(base["active"])
        entry = {
            "action": "rollback" if request["state"] == ROLLED_BACK else "switch",
            "from": {"color": serving, "version": _version_of(deployments.get(serving), base, serving)}, "to": active,
            "reason": request.get("reason"), "actor": request.get("actor"), "now": now,
            "state": {"strategy": STRATEGY, "phase": request["state"], "active": active, "previous": previous,
                      "weight": 100, "routers": dict((router.key, router.state(obj)) for router, obj in routers)},
        }
    return {"target": target, "previous_color": serving, "target_version": target_version,
            "changes": changes, "preview_change": preview_change, "ledger_entry": entry}


def apply_entry(ledger, entry):
    """The ledger after a planned switch: `entry` is plan_switch's `ledger_entry`. Applied to the ledger
    as stored at write time, so a concurrent writer's history is kept."""
    return ledgers.record(ledger, entry["action"], entry["from"], entry["to"], entry["reason"], entry["actor"],
                          entry["now"], **entry["state"])


def _version_of(deployment, ledger, color):
    """The version a color runs: what the ledger last recorded for it, else its Deployment's."""
    recorded = recorded_version(ledger, color)
    if recorded or deployment is None:
        return recorded
    return deployment_status(deployment)["version"]
