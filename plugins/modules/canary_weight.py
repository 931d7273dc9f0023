#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: canary_weight
short_description: Set the share of a canary service's traffic that goes to its canary track
version_added: 1.0.0
author:
  - cxpe.rollout maintainers (@cxpe)
description:
  - A canary service runs a stable Deployment C(<service>) and a canary Deployment C(<service>-canary) side by side.
    This module sends O(weight) percent of its traffic to the canary through its routers (an ingress-nginx canary
    Ingress, an OpenShift Route, a Consul ServiceSplitter, or the replica ratio), and records the weight, the
    versions, the step and the outcome in the service's rollout ledger.
  - Before any change, refuses, naming every problem, when the stable or the canary Deployment is missing, a router
    (or the Consul ServiceResolver a splitter relies on, or the Services C(<service>-stable) and C(<service>-canary) a
    traffic router leads to) is missing or unreadable, the canary runs another version
    than O(version), or, for a weight above 0 through a traffic router, the canary is not Ready (every desired
    replica of its latest template Ready, none crash-looping or failing to pull its image).
  - Then makes one write per router object that is not already at the weight and one for the ledger, each guarded
    by the object's resourceVersion (a concurrent change is read again and the change planned again). The
    C(replicas) router writes its two Deployments, scaling up first and waiting until the new pods are available
    before it scales down.
  - With O(wait), then waits on a watch of the EndpointSlices until each track that gets a share has a ready endpoint.
  - O(outcome=aborted) and O(outcome=promoted) end a canary at weight 0; C(promoted) is refused unless the stable
    track already runs the canary's version, so a promotion is never recorded while the old version still serves.
  - Idempotent. A weight the routers and the ledger already have makes no write.
options:
  weight:
    description: Percent of the traffic for the canary track, from 0 to 100.
    type: int
    required: true
  outcome:
    description:
      - C(progressing) for a step of the canary; C(aborted) and C(promoted) (with O(weight=0)) for its end.
    type: str
    choices: [progressing, promoted, aborted]
    default: progressing
  version:
    description: The version the canary Deployment must run (its pod template's C(app.kubernetes.io/version) label, else its image tag).
    type: str
  step:
    description: The index of this weight in the canary's schedule, recorded in the ledger.
    type: int
  measurements:
    description: What the analysis measured (for example the results of M(cxpe.rollout.analysis)), recorded in the ledger with an abort.
    type: list
    elements: dict
extends_documentation_fragment:
  - cxpe.rollout.rollout
  - cxpe.rollout.rollout.routers
  - cxpe.rollout.rollout.wait
  - cxpe.rollout.rollout.record
  - kubernetes.core.k8s_auth_options
  - cxpe.rollout.rollout.kubernetes_client
attributes:
  check_mode:
    description: Reads and checks everything, reports what it would change and the writes it would make, and writes nothing.
    support: full
  diff_mode:
    description: Shows each router object and the ledger before and after.
    support: full
notes:
  - The C(nginx), C(route) and C(consul) routers lead to the Services C(<service>-stable) and C(<service>-canary)
    (each selecting one track's pods), which the P(cxpe.rollout.platform_deploy#role) role creates.
  - The P(cxpe.rollout.canary#role) role deploys the canary, walks a weight schedule with this module and
    M(cxpe.rollout.analysis) between the steps, then promotes or aborts.
seealso:
  - module: cxpe.rollout.analysis
  - module: cxpe.rollout.rollout_info
"""

EXAMPLES = r"""
- name: Send 5% of the voice SIP traffic to the canary through its ingress-nginx canary Ingress
  cxpe.rollout.canary_weight:
    namespace: voice
    service: voice-sip
    weight: 5
    step: 0
    version: 9.0.104.07
    routers:
      - {kind: nginx, header: X-Canary}

- name: Split a Consul service 75/25
  cxpe.rollout.canary_weight:
    namespace: voice
    service: voice-sip
    weight: 25
    routers:
      - {kind: consul}

- name: Abort, recording why
  cxpe.rollout.canary_weight:
    namespace: voice
    service: voice-sip
    weight: 0
    outcome: aborted
    routers:
      - {kind: nginx}
    reason: the canary's error ratio is above the stable one's
"""

RETURN = r"""
previous_weight:
  description: The canary's share before the module ran (from the ledger, else as the routers applied it).
  returned: success
  type: float
  sample: 5
weight:
  description: The share asked for.
  returned: success
  type: int
  sample: 25
effective_weight:
  description:
    - The canary's share as the routers apply it now (or, in check mode, would), the lowest of the routers'.
    - Differs from RV(weight) when a router cannot express it exactly, for example the C(replicas) router's rounding.
  returned: success
  type: float
  sample: 25
stable_version:
  description: The version the stable track runs.
  returned: success
  type: str
canary_version:
  description: The version the canary track runs.
  returned: success
  type: str
writes:
  description: API writes made (0 in check mode and when nothing changes).
  returned: always
  type: int
  sample: 2
operations:
  description: The writes made or, in check mode, that would be made, in order (see M(cxpe.rollout.bluegreen_switch)).
  returned: always
  type: list
  elements: dict
routers:
  description: Each router and the share of traffic it sends to each track now, in percent.
  returned: success
  type: list
  elements: dict
  sample: [{kind: nginx, name: voice-sip-canary, shares: {stable: 75, canary: 25}}]
ledger:
  description: The ledger after the change (see M(cxpe.rollout.rollout_info) for its fields).
  returned: success
  type: dict
problems:
  description: Why the change was refused; each problem is also in the message.
  returned: when refused
  type: list
  elements: str
  sample: ["Deployment voice/voice-sip-canary: 0 of 1 desired replicas are Ready"]
duration_ms:
  description: Time the module took, from its start to its result, in milliseconds.
  returned: always
  type: int
  sample: 38
"""

from ansible_collections.cxpe.rollout.plugins.module_utils import ledger as ledgers
from ansible_collections.cxpe.rollout.plugins.module_utils.args_common import (
    RECORD_ARG_SPEC,
    ROUTERS_ARG_SPEC,
    TARGET_ARG_SPEC,
    WAIT_ARG_SPEC,
    argument_spec,
    login,
)
from ansible_collections.cxpe.rollout.plugins.module_utils.cluster import ClusterError
from ansible_collections.cxpe.rollout.plugins.module_utils.labels import TRACKS
from ansible_collections.cxpe.rollout.plugins.module_utils.readiness import selector_string
from ansible_collections.cxpe.rollout.plugins.module_utils.runner import run_module
from ansible_collections.cxpe.rollout.plugins.module_utils.routers import make_router
from ansible_collections.cxpe.rollout.plugins.module_utils.strategies import canary
from ansible_collections.cxpe.rollout.plugins.module_utils.traffic import (
    companion_problems,
    move,
    put_back,
    read_routers,
    record,
    shares_of,
    wait_until_available,
    wait_until_serving,
)


def module_spec():
    return argument_spec(
        TARGET_ARG_SPEC, ROUTERS_ARG_SPEC, WAIT_ARG_SPEC, RECORD_ARG_SPEC,
        weight={"type": "int", "required": True},
        outcome={"type": "str", "choices": list(canary.OUTCOMES), "default": canary.PROGRESSING},
        version={"type": "str"},
        step={"type": "int"},
        measurements={"type": "list", "elements": "dict"},
    )


def missing_track_services(cluster, namespace, routers):
    """The Services <service>-stable and <service>-canary that a traffic router leads to, when they do not exist."""
    names = sorted(set(router.backend_service(track) for router in routers if router.kind != "replicas" for track in TRACKS))
    return ["Service %s/%s does not exist" % (namespace, name) for name in names
            if cluster.get("v1", "Service", name, namespace) is None]


def read_and_plan(cluster, params):
    """Read the ledger, both Deployments, the canary's pods and the routers; plan the change (or refuse)."""
    namespace, service = params["namespace"], params["service"]
    ledger_name = params["ledger"] or ledgers.ledger_name(service)
    configmap, ledger = ledgers.read(cluster, namespace, service, ledger_name)
    stable = cluster.get("apps/v1", "Deployment", service, namespace)
    canary_deployment = cluster.get("apps/v1", "Deployment", canary.canary_deployment_name(service), namespace)
    pods = []
    if canary_deployment is not None:
        selector = selector_string(((canary_deployment.get("spec") or {}).get("selector") or {}).get("matchLabels"))
        pods = cluster.list("v1", "Pod", namespace, label_selector=selector)[0]
    routers = [make_router(spec, namespace, service) for spec in params["routers"] or [{"kind": "replicas"}]]
    read = read_routers(cluster, routers)
    request = dict(params, actor=params["actor"] or login())
    problems = companion_problems(cluster, routers) + missing_track_services(cluster, namespace, routers)
    plan = canary.plan_weight(request, stable, canary_deployment, pods, read, problems, ledger, ledgers.timestamp())
    return {"ledger_name": ledger_name, "configmap": configmap, "routers": read}, plan


def write(cluster, params, read, plan):
    """Make the planned writes: routers, then the ledger. Returns (routers after, ledger ConfigMap, diff).
    A failure before the ledger has recorded the weight puts the routers back: no weight goes unrecorded."""
    namespace = params["namespace"]

    def settle(names):
        if not cluster.check_mode:
            wait_until_available(cluster, namespace, names, params["wait_timeout"])

    try:
        after_objects, differences = move(cluster, plan["changes"], canary.shares_for(plan["weight"]), settle)
        configmap, recorded = record(cluster, namespace, params["service"], read["ledger_name"], read["configmap"],
                                     plan["ledger_entry"], canary.apply_entry, canary.STRATEGY)
    except (ClusterError, ledgers.LedgerError) as error:
        raise put_back(cluster, plan["changes"], error, settle)
    routers = [(router, after_objects.get(router.key, obj)) for router, obj in read["routers"]]
    return routers, configmap, differences + recorded


def set_weight(cluster, params, diff):
    read, plan = read_and_plan(cluster, params)
    routers, configmap, differences = write(cluster, params, read, plan)
    if params["wait"] and not cluster.check_mode:
        backends = [backend for router, obj in routers for backend in router.backends(obj)]
        wait_until_serving(cluster, params["namespace"], backends, None, params["wait_timeout"])
    result = {
        "changed": bool(cluster.operations),
        "previous_weight": plan["previous_weight"],
        "weight": plan["weight"],
        "effective_weight": canary.effective_weight(routers),
        "stable_version": plan["stable_version"],
        "canary_version": plan["canary_version"],
        "routers": shares_of(routers),
        "ledger": ledgers.public(ledgers.parse(configmap), configmap) if configmap else None,
    }
    if diff:
        result["diff"] = differences
    return result


def main():
    run_module(module_spec(), lambda cluster, module: set_weight(cluster, module.params, module._diff),
               lambda params: "refusing to set the canary weight of %s/%s to %s" % (params["namespace"], params["service"], params["weight"]))


if __name__ == "__main__":
    main()
