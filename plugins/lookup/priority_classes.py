# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: priority_classes
short_description: The Genesys Multicloud CX PriorityClasses
version_added: 1.0.0
author:
  - cxpe.rollout maintainers (@cxpe)
description:
  - Returns the PriorityClasses of the catalog shipped with this collection (C(data/service_catalog.yml)),
    highest value first, each with C(name), C(value) and C(description).
  - Services of the catalog refer to these classes; they must exist in a cluster before its pods can be admitted.
notes:
  - Use C(query) or C(wantlist=true).
seealso:
  - plugin: cxpe.rollout.service_catalog
    plugin_type: lookup
"""

EXAMPLES = r"""
- name: Print the priority classes
  ansible.builtin.debug:
    msg: "{{ item.name }} = {{ item.value }}"
  loop: "{{ query('cxpe.rollout.priority_classes') }}"
"""

RETURN = r"""
_raw:
  description: The PriorityClasses, highest value first.
  type: list
  elements: dict
"""

from ansible.plugins.lookup import LookupBase
from ansible_collections.cxpe.rollout.plugins.module_utils.catalog import (
    priority_classes,
)
from ansible_collections.cxpe.rollout.plugins.plugin_utils.catalog_file import (
    query_catalog,
)


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        return query_catalog(priority_classes)
