#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: service_status
short_description: Report the readiness of Genesys Multicloud CX service Deployments
version_added: 1.0.0
author:
  - cxpe.rollout maintainers (@cxpe)
description:
  - Reads the Deployments of one or more namespaces and reports, for each, the desired, current,
    ready, updated and available replicas, the image and its tag, the version and blue/green color
    labels, whether the controller has observed the latest spec, whether a Service in the namespace
    selects its pods, and whether it is Ready.
  - A Deployment is Ready when its latest generation is observed and every replica count equals
    the desired replicas (so a Deployment scaled to 0 is Ready once its pods are gone).
  - Never changes anything.
options:
  namespaces:
    description:
      - Namespaces whose Deployments are reported. A namespace that does not exist reports nothing.
    type: list
    elements: str
    required: true
  label_selectors:
    description:
      - Label selectors that Deployments must match, for example C(app.kubernetes.io/part-of=gws).
      - Services are read without selectors, to tell which Deployments receive traffic.
    type: list
    elements: str
    default: []
extends_documentation_fragment:
  - cxpe.rollout.rollout.read_only
  - kubernetes.core.k8s_auth_options
  - cxpe.rollout.rollout.kubernetes_client
notes:
  - Labels follow the cxpe.rollout conventions C(app.kubernetes.io/name) (service),
    C(app.kubernetes.io/part-of) (service group), C(app.kubernetes.io/version) and C(cxpe.io/color).
seealso:
  - module: kubernetes.core.k8s_info
"""

EXAMPLES = r"""
- name: Report every service of the gws and voice namespaces
  cxpe.rollout.service_status:
    namespaces: [gws, voice]
  register: platform

- name: Fail unless the GWS blue color is ready
  cxpe.rollout.service_status:
    namespaces: [gws]
    label_selectors:
      - app.kubernetes.io/part-of=gws
      - cxpe.io/color=blue
    kubeconfig: ~/.kube/region-east.yaml
  register: gws_blue
  failed_when: not gws_blue.ready
"""

RETURN = r"""
ready:
  description: Whether at least one Deployment matched and every matched Deployment is Ready.
  returned: success
  type: bool
  sample: true
deployments:
  description: One entry per matched Deployment, sorted by namespace and name.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: Name of the Deployment.
      type: str
      sample: gws-chat-blue
    namespace:
      description: Namespace of the Deployment.
      type: str
      sample: gws
    service:
      description: Service name from the C(app.kubernetes.io/name) label, else the Deployment name.
      type: str
      sample: gws-chat
    group:
      description: Service group from the C(app.kubernetes.io/part-of) label.
      type: str
      sample: gws
    image:
      description: Image of the first container of the pod template.
      type: str
      sample: registry.example.com/genesys/gws-chat:9.0.100.01
    image_tag:
      description: Tag of that image; null for a digest or an untagged image.
      type: str
      sample: 9.0.100.01
    version:
      description: The pod template's C(app.kubernetes.io/version) label, else the image tag.
      type: str
      sample: 9.0.100.01
    color:
      description: The pod template's C(cxpe.io/color) label; null for services that are not blue/green.
      type: str
      sample: blue
    replicas:
      description: Desired replicas.
      type: int
      sample: 3
    current_replicas:
      description: Pods of any template that the Deployment owns.
      type: int
      sample: 3
    ready_replicas:
      description: Ready pods.
      type: int
      sample: 3
    updated_replicas:
      description: Pods running the current template.
      type: int
      sample: 3
    available_replicas:
      description: Pods ready for at least minReadySeconds.
      type: int
      sample: 3
    generation_observed:
      description: Whether status.observedGeneration equals metadata.generation.
      type: bool
      sample: true
    serving:
      description: Whether a Service of the namespace selects the Deployment's pods.
      type: bool
      sample: true
    ready:
      description: Whether the Deployment is Ready (see the module description).
      type: bool
      sample: true
services:
  description: Every Service of the namespaces (label selectors do not apply), sorted by namespace and name.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: Name of the Service.
      type: str
      sample: gws-chat
    namespace:
      description: Namespace of the Service.
      type: str
      sample: gws
    selector:
      description: The Service's selector (empty for a Service without one).
      type: dict
      sample: {app.kubernetes.io/name: gws-chat, cxpe.io/color: blue}
"""

from ansible_collections.cxpe.rollout.plugins.module_utils.args_common import argument_spec
from ansible_collections.cxpe.rollout.plugins.module_utils.cluster import Cluster, ClusterError
from ansible_collections.cxpe.rollout.plugins.module_utils.status import (
    platform_status,
)
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


def read_namespaces(cluster, namespaces, label_selectors):
    selector = ",".join(label_selectors) or None
    deployments, services = {}, {}
    for namespace in namespaces:
        deployments[namespace] = cluster.list("apps/v1", "Deployment", namespace, label_selector=selector)[0]
        services[namespace] = cluster.list("v1", "Service", namespace)[0]
    return deployments, services


def main():
    module = AnsibleK8SModule(
        module_class=AnsibleModule, supports_check_mode=True,
        argument_spec=argument_spec(namespaces={"type": "list", "elements": "str", "required": True},
                                    label_selectors={"type": "list", "elements": "str", "default": []}),
    )
    try:
        deployments, services = read_namespaces(Cluster(get_api_client(module).client), module.params["namespaces"],
                                                module.params["label_selectors"])
    except (ClusterError, CoreException) as error:
        module.fail_json(msg="%s" % error)
    module.exit_json(changed=False, **platform_status(deployments, services))


if __name__ == "__main__":
    main()
