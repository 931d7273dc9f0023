#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: bluegreen_switch
short_description: Switch a blue/green service's traffic to one color, or roll it back
version_added: 1.0.0
author:
  - cxpe.rollout maintainers (@cxpe)
description:
  - Sends all the traffic of a blue/green service to one color (C(<service>-blue) or C(<service>-green)) through
    its routers, keeps an optional preview router on the other, idle, color, and records the switch in the
    service's rollout ledger.
  - Before any change, checks the target color's Deployment and refuses, naming every problem, unless it exists,
    the controller has observed its latest spec, every desired replica runs the current template and is Ready,
    no pod of an older template is left, at least O(min_ready_replicas) pods are Ready, none of its pods is
    crash-looping, and it runs O(version) when given. Every router (and the preview) must exist and be readable
    (for example, a Service must have the selector key). A corrupted ledger is refused too.
  - Then makes one write per router that is not already on the target, one for the preview and one for the
    ledger, each guarded by the object's resourceVersion; a concurrent change is read again and the change
    planned again, never overwritten. Then waits, on a watch of the EndpointSlices, until every router sends
    traffic only to ready pods of the target color.
  - Idempotent. A service already on the target color, with a ledger that says so, makes no write.
  - O(state=rolled_back) goes back to the previous color the ledger names, and is idempotent too.
options:
  color:
    description:
      - The color to send the traffic to, with O(state=active).
      - Not allowed with O(state=rolled_back), which takes the color from the ledger.
    type: str
    choices: [blue, green]
  state:
    description:
      - C(active) sends the traffic to O(color).
      - C(rolled_back) sends it back to the previous color recorded in the ledger; run again, it changes nothing.
    type: str
    choices: [active, rolled_back]
    default: active
  version:
    description: The version the target color must run (its pod template's C(app.kubernetes.io/version) label, else its image tag).
    type: str
  min_ready_replicas:
    description: The fewest Ready pods the target color must have.
    type: int
    default: 1
  preview:
    description:
      - A router kept on the idle color, the hidden entry point for smoke tests of the next version.
      - Omit it to leave any preview router alone.
    type: dict
    suboptions:
      kind:
        description: The router kind, as in O(routers[].kind).
        type: str
        choices: [ingress, route, service]
        default: service
      name:
        description: Name of the object. Defaults to C(<service>-preview).
        type: str
      selector_key:
        description: As O(routers[].selector_key).
        type: str
      host:
        description: As O(routers[].host).
        type: str
      path:
        description: As O(routers[].path).
        type: str
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
    description: Shows each router, the preview and the ledger before and after.
    support: full
notes:
  - The C(ingress) and C(route) routers point at Services named C(<service>-blue) and C(<service>-green), which
    must exist (each selecting its color's pods); the platform's own Service C(<service>) is the C(service) router.
  - Traffic reaches the new color once the proxies and ingress controllers have read the new endpoints, which
    takes a moment after the module returns; keep the old color running a little longer (the
    P(cxpe.rollout.bluegreen#role) role waits O(ignore:scale_down_delay) before scaling it down).
  - The P(cxpe.rollout.bluegreen#role) role deploys the new version, switches with this module, and switches back
    when the post-switch analysis fails.
seealso:
  - module: cxpe.rollout.rollout_info
  - module: cxpe.rollout.analysis
"""

EXAMPLES = r"""
- name: Send GWS chat's traffic to green, keeping the preview Service on blue
  cxpe.rollout.bluegreen_switch:
    namespace: gws
    service: gws-chat
    color: green
    version: 9.0.101.02
    preview: {}
    reason: "CHG-1234: upgrade to 9.0.101.02"

- name: Switch an Ingress and an OpenShift Route together
  cxpe.rollout.bluegreen_switch:
    namespace: webrtc
    service: webrtc-gateway
    color: blue
    routers:
      - {kind: ingress, name: webrtc-gateway, host: webrtc.example.com}
      - {kind: route, name: webrtc-gateway}

- name: Roll back to the color the ledger recorded as previous
  cxpe.rollout.bluegreen_switch:
    namespace: gws
    service: gws-chat
    state: rolled_back
    reason: error ratio above 1% after the switch
"""

RETURN = r"""
previous_color:
  description: The color the routers sent the traffic to before the module ran (null when they disagreed and there was no ledger).
  returned: success
  type: str
  sample: blue
active_color:
  description: The color the traffic goes to now (or, in check mode, would go to).
  returned: success
  type: str
  sample: green
active_version:
  description: The version the active color runs.
  returned: success
  type: str
  sample: 9.0.101.02
writes:
  description: API writes made (0 in check mode and when nothing changes).
  returned: always
  type: int
  sample: 3
operations:
  description: The writes made or, in check mode, that would be made, in order.
  returned: always
  type: list
  elements: dict
  contains:
    verb:
      description: C(patch) (a merge patch carrying the resourceVersion it was computed from) or C(create).
      type: str
    kind:
      description: Kind of the object.
      type: str
    namespace:
      description: Namespace of the object.
      type: str
    name:
      description: Name of the object.
      type: str
    body:
      description: The patch or the object sent.
      type: dict
routers:
  description: Each router and the share of traffic it sends to each color now, in percent.
  returned: success
  type: list
  elements: dict
  sample: [{kind: service, name: gws-chat, shares: {green: 100}}]
ledger:
  description: The ledger after the switch (see M(cxpe.rollout.rollout_info) for its fields).
  returned: success
  type: dict
problems:
  description: Why the switch was refused; each problem is also in the message.
  returned: when refused
  type: list
  elements: str
  sample: ["Deployment gws/gws-chat-green: 1 of 3 desired replicas are Ready"]
duration_ms:
  description: Time the module took, from its start to its result, in milliseconds.
  returned: always
  type: int
  sample: 42
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
from ansible_collections.cxpe.rollout.plugins.module_utils.labels import COLORS, other_color
from ansible_collections.cxpe.rollout.plugins.module_utils.readiness import selector_string
from ansible_collections.cxpe.rollout.plugins.module_utils.runner import run_module
from ansible_collections.cxpe.rollout.plugins.module_utils.routers import make_router
from ansible_collections.cxpe.rollout.plugins.module_utils.strategies import bluegreen
from ansible_collections.cxpe.rollout.plugins.module_utils.traffic import (
    diff_entry,
    move,
    put_back,
    read_routers,
    record,
    shares_of,
    wait_until_serving,
)

# The preview router: an all-or-nothing router kind and the options those kinds take.
PREVIEW_KINDS = ["ingress", "route", "service"]
PREVIEW_SUBOPTIONS = dict((key, dict(ROUTERS_ARG_SPEC["routers"]["options"][key])) for key in ("name", "selector_key", "host", "path"))


def module_spec():
    preview = dict(PREVIEW_SUBOPTIONS, kind={"type": "str", "choices": PREVIEW_KINDS, "default": "service"})
    return argument_spec(
        TARGET_ARG_SPEC, ROUTERS_ARG_SPEC, WAIT_ARG_SPEC, RECORD_ARG_SPEC,
        color={"type": "str", "choices": list(COLORS)},
        state={"type": "str", "choices": [bluegreen.ACTIVE, bluegreen.ROLLED_BACK], "default": bluegreen.ACTIVE},
        version={"type": "str"},
        min_ready_replicas={"type": "int", "default": 1},
        preview={"type": "dict", "options": preview},
    )


def read_deployment(cluster, namespace, service, color):
    return cluster.get("apps/v1", "Deployment", bluegreen.deployment_name(service, color), namespace)


def target_pods(cluster, deployment):
    """The pods the target Deployment's selector matches ([] when it does not exist)."""
    if deployment is None:
        return []
    selector = selector_string(((deployment.get("spec") or {}).get("selector") or {}).get("matchLabels"))
    return cluster.list("v1", "Pod", deployment["metadata"]["namespace"], label_selector=selector)[0]


def read_and_plan(cluster, params):
    """Read the ledger, the target color, the routers and the preview; plan the switch (or refuse)."""
    namespace, service = params["namespace"], params["service"]
    ledger_name = params["ledger"] or ledgers.ledger_name(service)
    ledger_where = "ConfigMap %s/%s" % (namespace, ledger_name)
    configmap, ledger = ledgers.read(cluster, namespace, service, ledger_name)
    target = bluegreen.target_color(params["state"], params["color"], ledger, ledger_where)
    deployments = {target: read_deployment(cluster, namespace, service, target)}
    pods = target_pods(cluster, deployments[target])
    routers = read_routers(cluster, [make_router(spec, namespace, service)
                                     for spec in params["routers"] or [{"kind": "service"}]])
    other = bluegreen.deployment_to_read(routers, ledger, target)
    if other:
        deployments[other] = read_deployment(cluster, namespace, service, other)
    preview = None
    if params["preview"] is not None:
        spec = dict(params["preview"], name=params["preview"]["name"] or "%s-preview" % service)
        preview = read_routers(cluster, [make_router(spec, namespace, service)])[0]
    request = dict(params, actor=params["actor"] or login(), ledger_where=ledger_where)
    plan = bluegreen.plan_switch(request, deployments, pods, routers, preview, ledger, ledgers.timestamp())
    read = {"ledger_name": ledger_name, "configmap": configmap, "routers": routers,
            "target_pods": [pod["metadata"]["name"] for pod in pods]}
    return read, plan


def write(cluster, params, read, plan):
    """Make the planned writes: routers, preview, ledger. Returns (routers after, ledger ConfigMap, diff).
    A failure before the ledger has recorded the switch puts the routers back: none is left half switched."""
    target, namespace = plan["target"], params["namespace"]
    try:
        after_objects, differences = move(cluster, plan["changes"], {target: 100})
        if plan["preview_change"]:
            router, before, _planned = plan["preview_change"]
            before, after = router.apply(cluster, before, {other_color(target): 100})
            differences.append(diff_entry(before, after, router.describe() + " (preview)"))
        configmap, recorded = record(cluster, namespace, params["service"], read["ledger_name"], read["configmap"],
                                     plan["ledger_entry"], bluegreen.apply_entry, bluegreen.STRATEGY)
    except (ClusterError, ledgers.LedgerError) as error:
        raise put_back(cluster, plan["changes"] + ([plan["preview_change"]] if plan["preview_change"] else []), error)
    routers = [(router, after_objects.get(router.key, obj)) for router, obj in read["routers"]]
    return routers, configmap, differences + recorded


def switch(cluster, params, diff):
    read, plan = read_and_plan(cluster, params)
    routers, configmap, differences = write(cluster, params, read, plan)
    if params["wait"] and not cluster.check_mode:
        backends = [backend for router, obj in routers for backend in router.backends(obj)]
        wait_until_serving(cluster, params["namespace"], backends, {plan["target"]: read["target_pods"]},
                           params["wait_timeout"])
    result = {
        "changed": bool(cluster.operations),
        "previous_color": plan["previous_color"],
        "active_color": plan["target"],
        "active_version": plan["target_version"],
        "routers": shares_of(routers),
        "ledger": ledgers.public(ledgers.parse(configmap), configmap) if configmap else None,
    }
    if diff:
        result["diff"] = differences
    return result


def wrong_color(params):
    if params["state"] == bluegreen.ROLLED_BACK and params["color"]:
        return "color cannot be given with state=rolled_back, which goes back to the ledger's previous color"
    return None


def main():
    run_module(module_spec(), lambda cluster, module: switch(cluster, module.params, module._diff),
               lambda params: "refusing to switch %s/%s" % (params["namespace"], params["service"]),
               invalid=wrong_color, required_if=[("state", bluegreen.ACTIVE, ("color",))])


if __name__ == "__main__":
    main()
