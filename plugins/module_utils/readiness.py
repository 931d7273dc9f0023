# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether a Deployment may take traffic: every desired replica updated and Ready, the expected
version, enough ready pods, none crash-looping. Pure: API objects (dicts) in, problems (strings) out."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.cxpe.rollout.plugins.module_utils.status import deployment_status

# Waiting reasons that mean a container keeps failing rather than starting.
FAILING_REASONS = ("CrashLoopBackOff", "ErrImagePull", "ImagePullBackOff", "CreateContainerConfigError",
                   "CreateContainerError", "InvalidImageName", "RunContainerError")


def selector_string(match_labels):
    return ",".join("%s=%s" % item for item in sorted((match_labels or {}).items()))


def pod_is_ready(pod):
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        return False
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(condition.get("type") == "Ready" and condition.get("status") == "True" for condition in conditions)


def pod_problems(pod):
    """Why a pod is failing (crash loop, image pull, ...); [] when none of its containers is."""
    name = pod["metadata"]["name"]
    problems = []
    for container in (pod.get("status") or {}).get("containerStatuses") or []:
        waiting = (container.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") in FAILING_REASONS:
            problems.append("pod %s: container %s is in %s (restarted %d times)"
                            % (name, container.get("name"), waiting["reason"], container.get("restartCount") or 0))
    return problems


def deployment_problems(deployment, pods, version=None, min_ready=1):
    """What keeps a Deployment from taking traffic; [] when it may.

    `pods` are the pods its selector matches. `version` (optional) is the
    version its pod template must carry; `min_ready` the fewest ready pods
    it must have, which also refuses a Deployment scaled to 0.
    """
    status = deployment_status(deployment)
    where = "Deployment %s/%s" % (status["namespace"], status["name"])
    problems = []
    if version and status["version"] != version:
        problems.append("%s runs version %s, not %s" % (where, status["version"], version))
    if not status["generation_observed"]:
        problems.append("%s: the controller has not yet observed its latest spec" % where)
    desired = status["replicas"]
    if status["updated_replicas"] < desired:
        problems.append("%s: %d of %d desired replicas are updated" % (where, status["updated_replicas"], desired))
    if status["ready_replicas"] < desired:
        problems.append("%s: %d of %d desired replicas are Ready" % (where, status["ready_replicas"], desired))
    if status["current_replicas"] > desired:
        problems.append("%s: %d pods of an older template are still running"
                        % (where, status["current_replicas"] - desired))
    ready = sum(1 for pod in pods if pod_is_ready(pod))
    if ready < min_ready:
        problems.append("%s has %d Ready pods, fewer than the %d required" % (where, ready, min_ready))
    for pod in sorted(pods, key=lambda item: item["metadata"]["name"]):
        problems.extend(pod_problems(pod))
    return problems
