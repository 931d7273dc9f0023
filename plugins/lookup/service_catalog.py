# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: service_catalog
short_description: Genesys Multicloud CX service groups in deployment order
version_added: 1.0.0
author:
  - cxpe.rollout maintainers (@cxpe)
description:
  - Returns the service groups of the catalog shipped with this collection (C(data/service_catalog.yml)),
    sorted by their step in the documented deployment order. Groups of the same step keep their catalog order.
  - Each group has C(name), C(title), C(namespaces), C(step), C(strategy), C(hosting), C(component) and
    C(services); each service has C(name), C(title), C(group), C(strategy), C(namespace), C(step), C(hosting),
    C(component), C(resources), C(priority_class) and C(priority).
  - C(component) is the kind of service - C(realtime) (voice and real-time media), C(api), C(ui) or C(reporting) -
    and C(resources) the requests and limits the catalog gives the service (or its group) instead of its
    component's, or C(None).
  - C(hosting) is where a service may run in a unit group, C(primary) (the primary unit only) or
    C(primary_or_secondary).
  - The catalog is validated on every call; an invalid catalog, an unknown group, strategy or unit
    fails the lookup with a message that names the problem.
options:
  _terms:
    description:
      - Names of the groups to return. With none, every group is returned.
      - The result is in deployment order whatever the order of the names.
    type: list
    elements: str
  strategy:
    description: Return only the groups upgraded with this strategy.
    type: str
    choices: [blue_green, canary, rolling_update]
  unit:
    description:
      - The kind of unit the groups are for. V(secondary) keeps only the services whose C(hosting) is
        C(primary_or_secondary), and leaves out the groups without any; V(primary) keeps every service.
      - With none, every service is returned.
    type: str
    choices: [primary, secondary]
notes:
  - Use C(query) or C(wantlist=true); every group is one element of the returned list.
seealso:
  - plugin: cxpe.rollout.priority_classes
    plugin_type: lookup
"""

EXAMPLES = r"""
- name: Print the deployment order
  ansible.builtin.debug:
    msg: "step {{ item.step }}: {{ item.name }} ({{ item.strategy }})"
  loop: "{{ query('cxpe.rollout.service_catalog') }}"

- name: Blue/green services of GWS and WebRTC
  ansible.builtin.debug:
    msg: "{{ query('cxpe.rollout.service_catalog', 'gws', 'webrtc', strategy='blue_green')
             | map(attribute='services') | flatten | map(attribute='name') }}"

- name: The services a secondary unit runs
  ansible.builtin.debug:
    msg: "{{ query('cxpe.rollout.service_catalog', unit='secondary') | map(attribute='services') | flatten | map(attribute='name') }}"
"""

RETURN = r"""
_raw:
  description: The selected service groups, in deployment order.
  type: list
  elements: dict
"""

from ansible.plugins.lookup import LookupBase
from ansible_collections.cxpe.rollout.plugins.module_utils.catalog import (
    select_groups,
)
from ansible_collections.cxpe.rollout.plugins.plugin_utils.catalog_file import (
    query_catalog,
)


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        return query_catalog(select_groups, names=terms, strategy=self.get_option("strategy"), unit=self.get_option("unit"))
