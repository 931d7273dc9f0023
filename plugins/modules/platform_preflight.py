#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: platform_preflight
short_description: Refuse an upgrade of the platform before any change, naming every problem
version_added: 1.0.0
author:
  - cxpe.rollout maintainers (@cxpe)
description:
  - Checks, in one call, what must hold before an upgrade of Genesys Multicloud CX private edition services changes
    anything, and fails with every problem found at once.
  - The Kubernetes API server runs at least O(min_kubernetes_version), as its C(/version) says.
  - Every namespace of O(namespaces) and PriorityClass of O(priority_classes) exists.
  - Every endpoint of O(endpoints) accepts a TCP connection within O(endpoint_timeout) seconds - the infrastructure
    that the guide deploys first (step 1), Consul and Kafka, which the services need.
  - The target version of each service of O(services) is at most O(max_release_gap) releases ahead of the version it
    runs - the guide's N-2 policy ("Upgrade overview"). A version C(a.b.c.d) (C(9.0.100.01)) or C(a.b.c)
    (C(100.0.1000014)) is of release C(a.b.c); what follows a C(-) is ignored. Releases of the same C(a.b) line are
    counted by C(c); a target of another line is refused as not comparable. A target older than what runs is a
    downgrade, refused unless O(allow_downgrade). A service that does not run yet passes.
  - What a service runs is what the platform's own state says, as the P(cxpe.rollout.platform_deploy#role) role
    reads it - its Deployments (label C(app.kubernetes.io/name=<service>), version label
    C(app.kubernetes.io/version)) and Services, with its rollout ledger for what they lack; for a blue/green
    service, the color its Service selects.
  - No rollout of those services is in progress - their rollout ledgers show no canary in progress (phase
    C(progressing)), no rolling drain with pods left to replace, and no blue/green switch whose Service selects
    another color than the ledger's active one; and no other run holds their Lease (C(<service>-rollout), or the
    name of their ledger) within its duration. A Lease whose holder ran on this controller and whose process is
    gone does not count, since the next run here takes it over at once.
  - Never changes anything.
options:
  namespaces:
    description: Namespaces that must exist.
    type: list
    elements: str
    default: []
  priority_classes:
    description: PriorityClasses that must exist.
    type: list
    elements: str
    default: []
  min_kubernetes_version:
    description: The oldest Kubernetes version, as C(major.minor), the API server may run.
    type: str
    default: "1.27"
  endpoints:
    description: Endpoints that must accept a TCP connection, such as Consul and Kafka.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: What the endpoint is, for the messages.
        type: str
        required: true
      host:
        description: Host name or address.
        type: str
        required: true
      port:
        description: TCP port.
        type: int
        required: true
  endpoint_timeout:
    description: Seconds each endpoint has to accept the connection.
    type: float
    default: 3
  services:
    description: The services to be upgraded, each with its target version.
    type: list
    elements: dict
    default: []
    suboptions:
      namespace:
        description: Namespace of the service.
        type: str
        required: true
      service:
        description: Name of the service, as the catalog and the P(cxpe.rollout.platform_deploy#role) role name it.
        type: str
        required: true
      version:
        description:
          - The target version.
          - Without it, only whether a rollout of the service is in progress is checked.
        type: str
      strategy:
        description:
          - How the service is upgraded, which says which Deployment runs its version - the active color's for
            C(blue_green), the Deployment named after the service otherwise (for C(canary), the stable track).
          - Defaults to C(blue_green) when the Service named after the service selects a color.
        type: str
        choices: [blue_green, canary, rolling_update]
  max_release_gap:
    description: How many releases ahead of what runs a target may be.
    type: int
    default: 2
  allow_downgrade:
    description: Let a target be older than what runs.
    type: bool
    default: false
extends_documentation_fragment:
  - cxpe.rollout.rollout.read_only
  - kubernetes.core.k8s_auth_options
  - cxpe.rollout.rollout.kubernetes_client
notes:
  - Reads, per namespace of O(services), one list each of the services' Deployments, of the Services, of the rollout
    ledgers and of the Leases; then each namespace and PriorityClass, and C(/version).
seealso:
  - module: cxpe.rollout.rollout_info
  - module: cxpe.rollout.service_status
"""

EXAMPLES = r"""
- name: Refuse the upgrade of GWS to 9.0.102.01 unless everything is in place
  cxpe.rollout.platform_preflight:
    namespaces: [gws]
    priority_classes: [genesysengage-high-priority]
    endpoints:
      - {name: consul, host: consul-server.consul, port: 8500}
      - {name: kafka, host: kafka.kafka, port: 9092}
    services:
      - {namespace: gws, service: gws-chat, version: 9.0.102.01, strategy: blue_green}
      - {namespace: gws, service: gws-config, version: 9.0.102.01, strategy: blue_green}

- name: Check only that no rollout of the voice services is in progress
  cxpe.rollout.platform_preflight:
    services:
      - {namespace: voice, service: voice-dialplan}
      - {namespace: voice, service: voice-sip}
"""

RETURN = r"""
problems:
  description: Every problem found; empty when the upgrade may start. The failure message joins them.
  returned: always
  type: list
  elements: str
  sample:
    - namespace gws does not exist
    - "gws/gws-chat: the target 9.0.103.01 is 3 releases ahead of the running 9.0.100.01; the N-2 release policy allows at most 2"
server_version:
  description: The Kubernetes version of the API server, C(major.minor); null when its C(/version) tells none.
  returned: when the API server answered
  type: str
  sample: "1.32"
services:
  description: One entry per service of O(services), in their order.
  returned: when the API server answered
  type: list
  elements: dict
  contains:
    namespace:
      description: Namespace of the service.
      type: str
      sample: gws
    service:
      description: Name of the service.
      type: str
      sample: gws-chat
    strategy:
      description: The strategy given, or C(blue_green) when inferred from the Service; null when unknown.
      type: str
      sample: blue_green
    running:
      description: The version the service runs; null when it does not run yet.
      type: str
      sample: 9.0.100.01
    target:
      description: The target version; null when none was given.
      type: str
      sample: 9.0.102.01
    gap:
      description: How many releases ahead of the running version the target is (negative when behind); null when it
        cannot be counted (no target, not running, a version that does not parse, another release line).
      type: int
      sample: 2
"""

from ansible_collections.cxpe.rollout.plugins.module_utils import preflight
from ansible_collections.cxpe.rollout.plugins.module_utils.args_common import argument_spec
from ansible_collections.cxpe.rollout.plugins.module_utils.cluster import Cluster, ClusterError
from ansible_collections.cxpe.rollout.plugins.module_utils.ledger import STRATEGIES
from ansible_collections.kubernetes.core.plugins.module_utils.ansiblemodule import AnsibleModule
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import AnsibleK8SModule
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.exceptions import CoreException

MAX_PORT = 65535


def module_spec():
    return argument_spec(
        namespaces={"type": "list", "elements": "str", "default": []},
        priority_classes={"type": "list", "elements": "str", "default": []},
        min_kubernetes_version={"type": "str", "default": "1.27"},
        endpoints={"type": "list", "elements": "dict", "default": [], "options": {
            "name": {"type": "str", "required": True},
            "host": {"type": "str", "required": True},
            "port": {"type": "int", "required": True},
        }},
        endpoint_timeout={"type": "float", "default": 3},
        services={"type": "list", "elements": "dict", "default": [], "options": {
            "namespace": {"type": "str", "required": True},
            "service": {"type": "str", "required": True},
            "version": {"type": "str"},
            "strategy": {"type": "str", "choices": list(STRATEGIES)},
        }},
        max_release_gap={"type": "int", "default": 2},
        allow_downgrade={"type": "bool", "default": False},
    )


def invalid(params):
    """What is wrong with the options themselves, before anything is read."""
    problems = []
    try:
        preflight.kubernetes_release(params["min_kubernetes_version"])
    except ValueError as error:
        problems.append("min_kubernetes_version: %s" % error)
    if params["max_release_gap"] < 0:
        problems.append("max_release_gap must not be negative, not %d" % params["max_release_gap"])
    if params["endpoint_timeout"] <= 0:
        problems.append("endpoint_timeout must be more than 0, not %g" % params["endpoint_timeout"])
    problems.extend("endpoint %s: port %d is not between 1 and %d" % (endpoint["name"], endpoint["port"], MAX_PORT)
                    for endpoint in params["endpoints"] if not 0 < endpoint["port"] <= MAX_PORT)
    return problems


def main():
    module = AnsibleK8SModule(module_class=AnsibleModule, argument_spec=module_spec(), supports_check_mode=True)
    params = module.params
    wrong = invalid(params)
    if wrong:
        module.fail_json(msg="; ".join(wrong), problems=wrong)
    try:
        result = preflight.plan(preflight.read(Cluster(get_api_client(module).client), params), params)
    except (ClusterError, CoreException) as error:
        module.fail_json(msg="%s" % error, problems=["%s" % error])
    if result["problems"]:
        module.fail_json(msg="preflight refused: %s" % "; ".join(result["problems"]), **result)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
