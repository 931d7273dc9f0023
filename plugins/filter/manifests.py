# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that turn catalog groups into the sample platform's Kubernetes manifests."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.cxpe.rollout.plugins.module_utils import manifests


def step_manifests(groups, **options):
    try:
        return manifests.step_manifests(groups, **options)
    except manifests.ManifestError as error:
        raise AnsibleFilterError(to_native(error))


class FilterModule(object):
    def filters(self):
        return {
            "foundation_manifests": manifests.foundation_manifests,
            "step_manifests": step_manifests,
        }
