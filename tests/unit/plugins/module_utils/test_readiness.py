# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible_collections.cxpe.rollout.plugins.module_utils.readiness import (
    deployment_problems,
    pod_is_ready,
    pod_problems,
    selector_string,
)
from workload_objects import deployment, pod, pods


def test_a_ready_deployment_has_no_problems():
    assert deployment_problems(deployment(), pods()) == []
    assert deployment_problems(deployment(), pods(), version="2", min_ready=3) == []


@pytest.mark.parametrize("changes, problem", [
    (dict(ready=1), "Deployment ns/web-green: 1 of 3 desired replicas are Ready"),
    (dict(updated=2), "Deployment ns/web-green: 2 of 3 desired replicas are updated"),
    (dict(current=5), "Deployment ns/web-green: 2 pods of an older template are still running"),
    (dict(observed=False), "Deployment ns/web-green: the controller has not yet observed its latest spec"),
    (dict(version="1"), "Deployment ns/web-green runs version 1, not 2"),
])
def test_each_problem_is_named(changes, problem):
    assert problem in deployment_problems(deployment(**changes), pods(), version="2")


def test_a_deployment_scaled_to_zero_cannot_take_traffic():
    assert deployment_problems(deployment(replicas=0), []) == ["Deployment ns/web-green has 0 Ready pods, fewer than the 1 required"]


def test_min_ready_counts_ready_pods():
    assert deployment_problems(deployment(), pods(), min_ready=4) == ["Deployment ns/web-green has 3 Ready pods, fewer than the 4 required"]


def test_crash_looping_pods_are_named_with_their_restarts():
    looping = [pod("web-green-0"), pod("web-green-1", ready=False, waiting="CrashLoopBackOff", restarts=4)]
    problems = deployment_problems(deployment(replicas=2, ready=1), looping)
    assert "pod web-green-1: container app is in CrashLoopBackOff (restarted 4 times)" in problems
    assert pod_problems(pod("x", ready=False, waiting="ContainerCreating")) == []


def test_a_terminating_pod_is_not_ready():
    terminating = pod("x")
    terminating["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    assert pod_is_ready(pod("x")) and not pod_is_ready(terminating)


def test_selector_string():
    assert selector_string({"b": "2", "a": "1"}) == "a=1,b=2"
