# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rollout report filter: what rollout_report_data gathered on each unit (and a run summary) as an HTML page."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.cxpe.rollout.plugins.module_utils import report


def rollout_report(units, summary=None, title=None, generated=None, start=None, end=None):
    try:
        return report.render(units, summary or None, title, generated, start, end)
    except report.ReportError as error:
        raise AnsibleFilterError(to_native(error))


class FilterModule(object):
    def filters(self):
        return {"rollout_report": rollout_report}
