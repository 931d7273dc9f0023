#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: platform_backup
short_description: Read the objects an upgrade touches, ready to be applied again
version_added: 1.0.0
author:
  - cxpe.rollout maintainers (@cxpe)
description:
  - Reads, in one call, the objects of some namespaces that an upgrade of the platform changes - Deployments,
    StatefulSets, Services, Ingresses, ConfigMaps (the services' configuration and the rollout ledgers),
    PodDisruptionBudgets, and the router kinds the strategies drive when the server serves them (OpenShift
    C(Route), Consul C(ServiceResolver) and C(ServiceSplitter)) - and returns them cleaned for applying again.
  - Each object keeps its spec and metadata as the server returned them, defaults included, without what the server
    owns - C(status), C(uid), C(resourceVersion), C(managedFields), C(creationTimestamp), C(generation),
    C(selfLink), a deletion in progress - and, for a Service, its allocated C(clusterIP) and C(clusterIPs) (a
    headless Service keeps C(clusterIP=None)). Replacing an object with its copy restores it field for field.
  - The P(cxpe.rollout.backup#role) role writes the objects to a file on the controller, and the
    P(cxpe.rollout.restore#role) role applies them again.
  - Never changes anything.
options:
  namespaces:
    description: Namespaces to read. A namespace that does not exist has no objects.
    type: list
    elements: str
    required: true
notes:
  - A kind whose API the server does not serve (C(Route) outside OpenShift, the Consul kinds without Consul) is
    skipped and named in RV(skipped_kinds).
  - Left out - the ConfigMap C(kube-root-ca.crt) that Kubernetes publishes in every namespace; objects that another
    object controls (its controller makes them again, and a copy restored with the old owner's uid would be garbage
    collected); and Leases. The Leases of this collection are run locks (M(cxpe.rollout.rolling_drain) holds one for
    its run and deletes it at the end; what a run needs to resume is in the ledger), and a restored one would lock a
    workload for a run that has ended.
  - Secrets are not read; back them up with the tool that manages them.
extends_documentation_fragment:
  - cxpe.rollout.rollout.read_only
  - kubernetes.core.k8s_auth_options
  - cxpe.rollout.rollout.kubernetes_client
seealso:
  - module: cxpe.rollout.rollout_info
"""

EXAMPLES = r"""
- name: Read what an upgrade of GWS and WebRTC would change
  cxpe.rollout.platform_backup:
    namespaces: [gws, webrtc]
  register: saved

- name: Write it as a multi-document YAML file
  ansible.builtin.copy:
    dest: /var/backups/cxpe/gws-webrtc.yml
    mode: "0600"
    content: "{{ saved.objects | map('to_nice_yaml') | join('---\n') }}"
  delegate_to: localhost
"""

RETURN = r"""
objects:
  description:
    - The objects, each a complete manifest (C(apiVersion), C(kind), C(metadata), C(spec) or C(data)), by kind in
      the order of the description, then by namespace and name.
  returned: success
  type: list
  elements: dict
  sample:
    - apiVersion: v1
      kind: Service
      metadata: {name: gws-chat, namespace: gws, labels: {app.kubernetes.io/name: gws-chat}}
      spec: {selector: {app.kubernetes.io/name: gws-chat, cxpe.io/color: blue}, ports: [{port: 80, targetPort: http}]}
counts:
  description: How many objects of each kind the server serves were read.
  returned: success
  type: dict
  sample: {Deployment: 6, StatefulSet: 0, Service: 9, Ingress: 0, ConfigMap: 3, PodDisruptionBudget: 0, Route: 0}
skipped_kinds:
  description: The kinds the server does not serve, which were not read.
  returned: success
  type: list
  elements: str
  sample: [ServiceResolver, ServiceSplitter]
"""

from ansible_collections.cxpe.rollout.plugins.module_utils.args_common import argument_spec
from ansible_collections.cxpe.rollout.plugins.module_utils.backup import read_backup
from ansible_collections.cxpe.rollout.plugins.module_utils.cluster import Cluster, ClusterError
from ansible_collections.kubernetes.core.plugins.module_utils.ansiblemodule import AnsibleModule
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import AnsibleK8SModule
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.exceptions import CoreException


def main():
    module = AnsibleK8SModule(
        module_class=AnsibleModule, supports_check_mode=True,
        argument_spec=argument_spec(namespaces={"type": "list", "elements": "str", "required": True}),
    )
    try:
        result = read_backup(Cluster(get_api_client(module).client), module.params["namespaces"])
    except (ClusterError, CoreException) as error:
        module.fail_json(msg="%s" % error)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
