# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One pure planner per upgrade strategy, over the shared routers, ledger and readiness checks."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class Refusal(Exception):
    """A planned change cannot be made; `problems` lists every reason, and nothing was changed."""

    def __init__(self, problems):
        super(Refusal, self).__init__("; ".join(problems))
        self.problems = list(problems)
