# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that turn catalog groups into the sample platform's Kubernetes manifests, keeping what
the cluster already runs."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.cxpe.rollout.plugins.module_utils import manifests
from ansible_collections.cxpe.rollout.plugins.module_utils.platform_state import (
    observed_state as _observed_state,
)


def step_manifests(groups, **options):
    try:
        return manifests.step_manifests(groups, **options)
    except manifests.ManifestError as error:
        raise AnsibleFilterError(to_native(error))


def observed_state(service_status, rollouts=()):
    return _observed_state(service_status.get("deployments") or [], service_status.get("services") or [], rollouts)


class FilterModule(object):
    def filters(self):
        return {
            "foundation_manifests": manifests.foundation_manifests,
            "step_manifests": step_manifests,
            "observed_state": observed_state,
        }
