# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Deployments and pods as the API server returns them, for the readiness and planner tests."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def deployment(color="green", version="2", replicas=3, ready=None, updated=None, current=None, observed=True, service="web"):
    ready = replicas if ready is None else ready
    labels = {"app.kubernetes.io/name": service, "cxpe.io/color": color, "app.kubernetes.io/version": version}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "%s-%s" % (service, color), "namespace": "ns", "generation": 4},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app.kubernetes.io/name": service, "cxpe.io/color": color}},
                 "template": {"metadata": {"labels": labels},
                              "spec": {"containers": [{"name": "app", "image": "registry.example.com/%s:%s" % (service, version)}]}}},
        "status": {"observedGeneration": 4 if observed else 3, "replicas": replicas if current is None else current,
                   "readyReplicas": ready, "updatedReplicas": replicas if updated is None else updated, "availableReplicas": ready},
    }


def pod(name, ready=True, waiting=None, restarts=0):
    state = {"waiting": {"reason": waiting}} if waiting else {"running": {}}
    return {"metadata": {"name": name, "namespace": "ns"},
            "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
                       "containerStatuses": [{"name": "app", "state": state, "restartCount": restarts}]}}


def pods(color="green", count=3):
    return [pod("web-%s-%d" % (color, index)) for index in range(count)]
