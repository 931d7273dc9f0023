# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How the modules that change a rollout run: one place that builds the module on kubernetes.core's
AnsibleK8SModule, hands the work a cluster.Cluster, catches the collection's error types once (as
kubernetes.core catches CoreException) and adds what every result carries - the writes made, the
operations, the module's own time - to successes and failures alike."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.cxpe.rollout.plugins.module_utils.cluster import Cluster, ClusterError
from ansible_collections.cxpe.rollout.plugins.module_utils.ledger import LedgerError
from ansible_collections.cxpe.rollout.plugins.module_utils.routers import RouterError
from ansible_collections.cxpe.rollout.plugins.module_utils.strategies import Refusal
from ansible_collections.kubernetes.core.plugins.module_utils.ansiblemodule import AnsibleModule
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import AnsibleK8SModule
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.exceptions import CoreException

ERRORS = (ClusterError, LedgerError, RouterError, CoreException)


def run_module(argument_spec, work, refusing, invalid=None, errors=(), **options):
    """Run a module that changes a rollout.

    `work(cluster, module)` returns the result dict; `refusing(params)` begins the message of a Refusal
    ("refusing to switch gws/gws-chat"); `invalid(params)` says what is wrong with options that go
    together (None when nothing is); `errors` are more exception types whose message is the failure's.
    """
    started = time.monotonic()
    module = AnsibleK8SModule(module_class=AnsibleModule, argument_spec=argument_spec, supports_check_mode=True, **options)
    problem = invalid(module.params) if invalid else None
    if problem:
        module.fail_json(msg=problem)
    cluster = None

    def outcome():
        return {"writes": cluster.writes if cluster else 0, "operations": cluster.operations if cluster else [],
                "duration_ms": int((time.monotonic() - started) * 1000)}

    try:
        cluster = Cluster(get_api_client(module).client, check_mode=module.check_mode)
        result = work(cluster, module)
    except Refusal as refusal:
        module.fail_json(msg="%s: %s" % (refusing(module.params), refusal), problems=refusal.problems, **outcome())
    except ERRORS + tuple(errors) as error:
        module.fail_json(msg="%s" % error, **outcome())
    result.update(outcome())
    module.exit_json(**result)
