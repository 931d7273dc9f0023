# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Options shared by the rollout modules; the argument specs are in plugins/module_utils/args_common.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The service a module acts on, and its ledger (TARGET_ARG_SPEC).
    DOCUMENTATION = r"""
options:
  namespace:
    description: Namespace of the service.
    type: str
    required: true
  service:
    description:
      - Name of the service, as the platform deploys it (see the P(cxpe.rollout.platform_deploy#role) role).
      - Blue/green services run as Deployments C(<service>-blue) and C(<service>-green) behind a Service
        C(<service>) that selects the active color.
    type: str
    required: true
  ledger:
    description:
      - Name of the service's rollout ledger, the ConfigMap that records its active and previous color and
        version, the share of traffic, the routers' state before the change, and a history of changes.
      - Defaults to C(<service>-rollout). Created when absent.
    type: str
"""

    # Which objects route the service's traffic (ROUTERS_ARG_SPEC).
    ROUTERS = r"""
options:
  routers:
    description:
      - The objects that route the service's users, each changed with one write guarded by its
        resourceVersion (a concurrent change is read again, never overwritten).
      - Blue/green switches use C(service), C(ingress) and C(route); canary steps use C(nginx), C(route),
        C(consul) and C(replicas).
      - Defaults to the Service named O(service), with the C(service) kind (blue/green), and to C(replicas) for
        canary steps.
    type: list
    elements: dict
    suboptions:
      kind:
        description:
          - C(service), a Service whose selector label O(routers[].selector_key) names the color.
          - C(ingress), an Ingress (C(networking.k8s.io/v1)) whose rule paths lead to the Service
            C(<service>-<color>).
          - C(route), an OpenShift Route (C(route.openshift.io/v1)) whose C(spec.to) (and
            C(spec.alternateBackends)) lead to the Service C(<service>-<color>) or C(<service>-<track>) with weights.
          - C(nginx), an ingress-nginx canary Ingress (annotation C(nginx.ingress.kubernetes.io/canary=true)) beside
            the stable Ingress, leading to the Service C(<service>-canary); its C(canary-weight) is the canary's share.
          - C(consul), a Consul ServiceSplitter C(<service>) splitting over the subsets C(stable) and C(canary)
            of the ServiceResolver C(<service>), which must define both.
          - C(replicas), no router object; the Service C(<service>) selects both tracks and the canary's share is its
            share of the replicas of the Deployments C(<service>) and C(<service>-canary), scaled so that ready
            capacity never falls below the stable replica count the canary started from.
        type: str
        required: true
        choices: [consul, ingress, nginx, replicas, route, service]
      name:
        description:
          - Name of the object. Defaults to O(service); for C(nginx), to the canary Ingress C(<service>-canary);
            for C(replicas), to the canary Deployment C(<service>-canary).
        type: str
      selector_key:
        description: For C(service), the selector label whose value is the color. Defaults to C(cxpe.io/color).
        type: str
      host:
        description: For C(ingress), only the rules of this host. Defaults to every rule.
        type: str
      path:
        description: For C(ingress), only this path. Defaults to every path whose backend is a C(<service>-<color>) Service.
        type: str
      header:
        description:
          - For C(nginx), a request header that sends a request to the canary whatever the weight
            (C(canary-by-header)) - the hidden entry point for smoke tests of the canary.
        type: str
      header_value:
        description: For C(nginx), the value of O(routers[].header) that selects the canary (default C(always)).
        type: str
"""

    # Waiting until a change has taken effect (WAIT_ARG_SPEC).
    WAIT = r"""
options:
  wait:
    description:
      - Wait, on a watch of the EndpointSlices, until every router sends traffic only to ready pods of the
        target.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait before failing.
    type: int
    default: 60
"""

    # What the ledger's history records about a change (RECORD_ARG_SPEC).
    RECORD = r"""
options:
  reason:
    description: Why the change is made, recorded in the ledger's history.
    type: str
  actor:
    description: Who makes the change, recorded in the ledger's history. Defaults to the user running the module.
    type: str
"""

    # The attributes of a module that only reads.
    READ_ONLY = r"""
attributes:
  check_mode:
    description: The module only reads, so check mode runs it unchanged.
    support: full
  diff_mode:
    description: The module changes nothing, so it has no diff.
    support: none
"""

    # What a module that reaches a cluster needs where it runs: the Kubernetes client, through kubernetes.core's
    # module_utils (with the k8s_auth_options fragment's options). Ansible takes no fragment without options.
    KUBERNETES_CLIENT = r"""
options: {}
requirements:
  - python >= 3.9
  - kubernetes >= 24.2.0
  - PyYAML >= 3.11
"""
