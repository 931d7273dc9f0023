#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: rollout_info
short_description: Read the rollout ledgers of services
version_added: 1.0.0
author:
  - cxpe.rollout maintainers (@cxpe)
description:
  - Reads the rollout ledgers (the ConfigMaps labelled C(cxpe.io/rollout-ledger)) of some namespaces, or of one
    service. Each tells the strategy, the phase, the active and previous color and version, the share of traffic
    on the active version, the routers' state before the last change, timestamps and the history.
  - A ConfigMap that is not a valid ledger is listed with C(valid=false) and the reason, so one corrupted record
    does not hide the others.
  - Never changes anything.
options:
  namespaces:
    description: Namespaces to read. A namespace that does not exist has no ledgers.
    type: list
    elements: str
    required: true
  service:
    description: Only the ledger of this service.
    type: str
  wait_while_phase:
    description:
      - Before reading, watch the ledger of O(service) (which then needs exactly one namespace) while its phase is this
        one, for at most O(wait_timeout) seconds. A reader that follows a long run (a drain in C(draining)) is woken as
        soon as the run ends, and otherwise reads again after O(wait_timeout).
      - Waiting out O(wait_timeout) is not a failure; RV(phase_changed) tells which happened.
    type: str
  wait_timeout:
    description: Seconds O(wait_while_phase) waits at most.
    type: float
    default: 30
  routers:
    description:
      - Also read these routers of O(service) (which then needs exactly one namespace) and return what each sends
        traffic to now, as RV(routers). Same form as the O(cxpe.rollout.bluegreen_switch#module:routers) option of
        M(cxpe.rollout.bluegreen_switch); an empty list reads the Service named O(service).
      - Useful to know the active color of a service that has no ledger yet.
    type: list
    elements: dict
    suboptions:
      kind:
        description: C(service), C(ingress) or C(route) for blue/green services; C(nginx), C(route), C(consul) or C(replicas) for canaries.
        type: str
        required: true
        choices: [consul, ingress, nginx, replicas, route, service]
      name:
        description: Name of the object. Defaults to O(service).
        type: str
      selector_key:
        description: For C(service), the selector label whose value is the color. Defaults to C(cxpe.io/color).
        type: str
      host:
        description: For C(ingress), only the rules of this host.
        type: str
      path:
        description: For C(ingress), only this path.
        type: str
      header:
        description: Not used here; accepted so the routers of M(cxpe.rollout.canary_weight) can be passed as they are.
        type: str
      header_value:
        description: Not used here, as O(routers[].header).
        type: str
extends_documentation_fragment:
  - cxpe.rollout.rollout.read_only
  - kubernetes.core.k8s_auth_options
  - cxpe.rollout.rollout.kubernetes_client
seealso:
  - module: cxpe.rollout.bluegreen_switch
"""

EXAMPLES = r"""
- name: Read every ledger of the GWS and WebRTC namespaces
  cxpe.rollout.rollout_info:
    namespaces: [gws, webrtc]
  register: rollouts

- name: Find which color the gws-chat Service sends traffic to
  cxpe.rollout.rollout_info:
    namespaces: [gws]
    service: gws-chat
    routers: []
  register: chat

- name: Wait up to 30 s for the drain of voice-sip to end, then read its progress
  cxpe.rollout.rollout_info:
    namespaces: [voice]
    service: voice-sip
    wait_while_phase: draining
    wait_timeout: 30
  register: sip

- name: Print which color and version each service runs
  ansible.builtin.debug:
    msg: "{{ item.service }}: {{ item.active.color }} {{ item.active.version }} ({{ item.phase }})"
  loop: "{{ rollouts.rollouts | selectattr('valid') }}"
  loop_control:
    label: "{{ item.service }}"
"""

RETURN = r"""
phase_changed:
  description: With O(wait_while_phase), whether the phase left it (or the ledger went) before O(wait_timeout).
  returned: when O(wait_while_phase) is set
  type: bool
  sample: true
rollouts:
  description: One entry per ledger, sorted by namespace and service.
  returned: success
  type: list
  elements: dict
  contains:
    namespace:
      description: Namespace of the ledger.
      type: str
      sample: gws
    name:
      description: Name of the ledger ConfigMap.
      type: str
      sample: gws-chat-rollout
    service:
      description: The service it records.
      type: str
      sample: gws-chat
    valid:
      description: Whether the ConfigMap is a valid ledger; when false, only C(error) and the names are set.
      type: bool
      sample: true
    error:
      description: Why it is not a valid ledger, naming the bad key.
      type: str
      returned: when not valid
    schema:
      description: Version of the ledger's schema.
      type: int
      sample: 1
    strategy:
      description: C(blue_green), C(canary) or C(rolling_update).
      type: str
      sample: blue_green
    phase:
      description: What the last change did, for example C(active) or C(rolled_back).
      type: str
      sample: active
    active:
      description: The color and version that take the traffic.
      type: dict
      sample: {color: green, version: 9.0.101.02}
    previous:
      description: The color and version a rollback goes back to.
      type: dict
      sample: {color: blue, version: 9.0.100.01}
    weight:
      description: Share of the traffic on the active version, in percent.
      type: float
      sample: 100
    routers:
      description: Each router's state (shares and routing fields) before the last change, by C(<Kind>/<name>).
      type: dict
    created:
      description: When the ledger was created (UTC).
      type: str
    updated:
      description: When it last changed (UTC).
      type: str
    history:
      description: The last changes, oldest first, each with C(at), C(action), C(from), C(to), C(by) and C(why).
      type: list
      elements: dict
routers:
  description: With O(routers), each router in the order given and what it sends traffic to now.
  returned: when O(routers) is given
  type: list
  elements: dict
  contains:
    kind:
      description: The router kind.
      type: str
      sample: service
    name:
      description: Name of the object.
      type: str
      sample: gws-chat
    shares:
      description: Share of the traffic sent to each color, in percent (empty when it cannot be read).
      type: dict
      sample: {blue: 100}
    serving:
      description: The color that takes all the traffic, or null when the traffic is split or the router cannot be read.
      type: str
      sample: blue
    error:
      description: Why the router cannot be read (it does not exist, it lacks the selector key, ...).
      type: str
      returned: when it cannot be read
"""

from ansible_collections.cxpe.rollout.plugins.module_utils.args_common import (
    ROUTERS_ARG_SPEC,
    argument_spec,
)
from ansible_collections.cxpe.rollout.plugins.module_utils.cluster import (
    Cluster,
    ClusterError,
)
from ansible_collections.cxpe.rollout.plugins.module_utils.ledger import list_ledgers, wait_while_phase
from ansible_collections.cxpe.rollout.plugins.module_utils.routers import (
    RouterError,
    make_router,
    single_variant,
)
from ansible_collections.cxpe.rollout.plugins.module_utils.traffic import read_routers
from ansible_collections.kubernetes.core.plugins.module_utils.ansiblemodule import (
    AnsibleModule,
)
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import (
    get_api_client,
)
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import (
    AnsibleK8SModule,
)
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.exceptions import (
    CoreException,
)


def router_state(router, obj):
    """What one router sends traffic to, or why that cannot be told."""
    state = {"kind": router.kind, "name": router.name, "shares": {}, "serving": None}
    if obj is None:
        return dict(state, error="%s does not exist" % router.describe())
    try:
        shares = router.shares(obj)
    except RouterError as error:
        return dict(state, error="%s" % error)
    return dict(state, shares=shares, serving=single_variant(shares))


def main():
    module = AnsibleK8SModule(
        module_class=AnsibleModule, supports_check_mode=True,
        argument_spec=argument_spec(ROUTERS_ARG_SPEC, namespaces={"type": "list", "elements": "str", "required": True},
                                    service={"type": "str"}, wait_while_phase={"type": "str"},
                                    wait_timeout={"type": "float", "default": 30}),
    )
    params = module.params
    for option in ("routers", "wait_while_phase"):
        if params[option] is not None and not (params["service"] and len(params["namespaces"]) == 1):
            module.fail_json(msg="%s needs a service and exactly one namespace" % option)
    if params["wait_timeout"] < 0:
        module.fail_json(msg="wait_timeout must not be negative, not %g" % params["wait_timeout"])
    result = {}
    try:
        cluster = Cluster(get_api_client(module).client)
        if params["wait_while_phase"] is not None:
            result["phase_changed"] = wait_while_phase(cluster, params["namespaces"][0], params["service"],
                                                       params["wait_while_phase"], params["wait_timeout"])
        result["rollouts"] = [entry for namespace in params["namespaces"]
                              for entry in list_ledgers(cluster, namespace, params["service"])]
        if params["routers"] is not None:
            routers = [make_router(spec, params["namespaces"][0], params["service"])
                       for spec in params["routers"] or [{"kind": "service"}]]
            result["routers"] = [router_state(router, obj) for router, obj in read_routers(cluster, routers)]
    except (ClusterError, CoreException) as error:
        module.fail_json(msg="%s" % error)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
