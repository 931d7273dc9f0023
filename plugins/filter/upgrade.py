# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the platform upgrade: its plan, its waves, what stops a unit, its summary, and what a service runs."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.cxpe.rollout.plugins.module_utils import upgrade
from ansible_collections.cxpe.rollout.plugins.module_utils.platform_state import (
    observed_state,
    running_version,
)


def _filter_errors(function):
    def wrapped(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except upgrade.UpgradeError as error:
            raise AnsibleFilterError(to_native(error))
    return wrapped


def upgrade_summary(planned, outcomes, started=None, finished=None):
    report = upgrade.summary(planned, outcomes, started, finished)
    report["lines"] = upgrade.summary_lines(report)
    return report


def service_version(service_status, namespace, service, strategy):
    return running_version(
        observed_state(service_status.get("deployments") or [], service_status.get("services") or []), namespace, service, strategy)


class FilterModule(object):
    def filters(self):
        return {
            "upgrade_plan": _filter_errors(upgrade.plan),
            "upgrade_waves": _filter_errors(upgrade.waves),
            "upgrade_wave_of": _filter_errors(upgrade.wave_of),
            "upgrade_blockers": upgrade.blockers,
            "upgrade_summary": upgrade_summary,
            "service_version": service_version,
        }
