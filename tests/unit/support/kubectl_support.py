# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The environment kubectl runs in against a test's server."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os


def kubectl_env(kubeconfig, **variables):
    """os.environ (and `variables`) with kubectl's discovery cache beside `kubeconfig`. kubectl keeps what a server
    serves for hours, under its host and port (~/.kube/cache by default): a later server on a reused port would be
    taken for the earlier one, and its first requests skipped (a bad token then fails on the resource, not on
    discovery, with another message)."""
    return dict(os.environ, KUBECACHEDIR=os.path.join(os.path.dirname(os.path.abspath(kubeconfig)), "kubectl-cache"), **variables)
