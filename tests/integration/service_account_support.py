# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Running the strategies as the service account of the cxpe.rollout.rbac playbook, on a simulator started with
rbac_kubesim_factory: the playbook applied as the admin, then a kubeconfig of the account for the strategy's play."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import yaml
from kubesim.kubeconfig import service_account_kubeconfig
from playbook_support import ROOT, run_ok

RULES_FILE = os.path.join(ROOT, "data", "rbac.yml")
ACCOUNT = "cxpe-rollout"
ACCOUNT_NAMESPACE = "cxpe-rollout"


def strategy_rules():
    """{strategy: [rule]} of data/rbac.yml, each rule with its `why`."""
    with open(RULES_FILE, encoding="utf-8") as handle:
        return yaml.safe_load(handle)["rbac_rules"]


def role_name(strategy):
    """The name of a strategy's Role (and RoleBinding) in each namespace, as the playbook names it."""
    return "cxpe-rollout-" + strategy.replace("_", "-")


def account_env(simulator, workdir, namespaces):
    """Apply cxpe.rollout.rbac as the admin with `namespaces` ({strategy: [namespace]}) and none of the catalog's; the
    environment of a play run as its service account."""
    run_ok(simulator, "rbac", "-e", json.dumps({"rbac_catalog_namespaces": False, "rbac_namespaces": namespaces}))
    path = service_account_kubeconfig(simulator.kubeconfig, os.path.join(str(workdir), "%s.kubeconfig" % ACCOUNT), ACCOUNT_NAMESPACE, ACCOUNT)
    return dict(simulator.env, KUBECONFIG=path, K8S_AUTH_KUBECONFIG=path)
