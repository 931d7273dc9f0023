# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Argument specs shared by the rollout modules, each paired with a fragment of
plugins/doc_fragments/rollout.py (as kubernetes.core pairs its args_common with its fragments).

Every module also takes kubernetes.core's AUTH_ARG_SPEC, documented by the
kubernetes.core.k8s_auth_options fragment.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import getpass
import os

from ansible_collections.kubernetes.core.plugins.module_utils.args_common import (
    AUTH_ARG_SPEC,
)

# Documented by cxpe.rollout.rollout (DOCUMENTATION).
TARGET_ARG_SPEC = {
    "namespace": {"type": "str", "required": True},
    "service": {"type": "str", "required": True},
    "ledger": {"type": "str"},
}

# Documented by cxpe.rollout.rollout.ROUTERS. The kinds are those of
# module_utils/routers (ROUTER_KINDS is checked against them by a unit test).
ROUTER_KINDS = ["consul", "ingress", "nginx", "replicas", "route", "service"]
ROUTER_OPTIONS = {
    "kind": {"type": "str", "required": True, "choices": ROUTER_KINDS},
    "name": {"type": "str"},
    # A label key, not a secret (its name trips the no_log check).
    "selector_key": {"type": "str", "no_log": False},
    "host": {"type": "str"},
    "path": {"type": "str"},
    "header": {"type": "str"},
    "header_value": {"type": "str"},
}
ROUTERS_ARG_SPEC = {
    "routers": {"type": "list", "elements": "dict", "options": ROUTER_OPTIONS},
}

# Documented by cxpe.rollout.rollout.WAIT.
WAIT_ARG_SPEC = {
    "wait": {"type": "bool", "default": True},
    "wait_timeout": {"type": "int", "default": 60},
}

# Documented by cxpe.rollout.rollout.RECORD.
RECORD_ARG_SPEC = {
    "reason": {"type": "str"},
    "actor": {"type": "str"},
}


def argument_spec(*specs, **own):
    """kubernetes.core's authentication options, the shared specs given, then the module's own options."""
    merged = dict(AUTH_ARG_SPEC)
    for spec in specs:
        merged.update(spec)
    merged.update(own)
    return merged


def login():
    """Who runs the module, for the ledger's history when the task names no actor."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER") or "unknown"
