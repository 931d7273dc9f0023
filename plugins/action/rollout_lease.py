# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The action of cxpe.rollout.rollout_lease: the module, given the run's identity as its holder.

A Lease is held by a run, not by a task. The run is the ansible-playbook process: each task runs in a worker process
it forked, so the worker's parent is the run, for every task of the play. Its identity, `<user>@<host>/<pid>`, is
taken here on the controller, so a re-run on the same controller can tell that the run holding a Lease is gone.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.plugins.action import ActionBase
from ansible.utils.vars import merge_hash
from ansible_collections.cxpe.rollout.plugins.module_utils.args_common import login
from ansible_collections.cxpe.rollout.plugins.module_utils.lease import identity


class ActionModule(ActionBase):

    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        arguments = dict(self._task.args)
        if not arguments.get("holder"):
            arguments["holder"] = identity(arguments.get("actor") or login(), os.getppid())
        result = merge_hash(result, self._execute_module(module_name="cxpe.rollout.rollout_lease", module_args=arguments,
                                                         task_vars=task_vars))
        self._remove_tmp_path(self._connection._shell.tmpdir)
        return result
