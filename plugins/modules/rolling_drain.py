#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: rolling_drain
short_description: Replace a workload's pods batch by batch, draining each pod's sessions before it goes
version_added: 1.0.0
author:
  - cxpe.rollout maintainers (@cxpe)
description:
  - Replaces the pods of a Deployment or StatefulSet that still run the old revision, O(batch_size) at a time,
    without cutting a session. For each batch, takes the pods out of rotation by setting their label
    O(serving_label) to C(false) (every Service in front of the workload selects on it being C(true)), waits until
    no Service lists them as ready endpoints and O(rotation_delay) seconds more, then waits until each pod has no
    session left (O(sessions_source)), bounded by O(drain_timeout). Then has the pods replaced at the new revision
    and waits until the replacements are Ready before the next batch.
  - A StatefulSet must have C(updateStrategy.type=OnDelete); its pods are removed through the Eviction API, so
    PodDisruptionBudgets hold (a refused eviction is tried again until O(eviction_timeout)), and its controller
    recreates them at the update revision.
  - A Deployment must be paused with its new template (its controller then creates nothing). For each batch the
    module gives the drained pods the lowest C(controller.kubernetes.io/pod-deletion-cost) and resumes the Deployment
    for one step whose budget is exactly the batch, in which the controller scales the old ReplicaSet down, removing
    the drained pods, and the new one up, then pauses it again. The budget is C(maxSurge=0) and C(maxUnavailable) =
    old pods already gone + batch - new pods available, with C(minReadySeconds) (and C(progressDeadlineSeconds), which
    must stay above it) out of reach so that no new pod turns available, which would let the controller take another
    step, however late the pause lands. The new pods are Ready and in rotation meanwhile.
  - The Deployment's own C(strategy), C(minReadySeconds) and C(progressDeadlineSeconds) are kept in its annotation
    C(cxpe.io/rolling-original-spec) from the first step on, and given back by the last step of whichever run ends
    the drain (a resumed run, or the run of a rollback after a failed one); the Deployment is then left resumed.
  - Resumable. The plan (the pods in order) and the progress (pods done, with timings, and the batch in hand) are
    in the workload's rollout ledger, written at every step. Run again after an interruption, even a killed
    ansible-playbook, it continues with the pods still on the old revision, the batch that was draining first, and
    never drains a pod twice.
  - One run at a time. A C(coordination.k8s.io/v1) Lease named like the ledger is held for the run, renewed while it
    waits and deleted at the end; a second run is refused with the holder's name and since when. A Lease whose holder
    stopped renewing it for O(lease_duration) seconds (a killed run), or whose holder was a process of this host that
    is no longer running (a run killed on this controller), is taken over, and the takeover recorded in the ledger's
    history (action C(takeover)).
  - Given O(lease_holder), the drain works under the Lease of the run that holds it (the P(cxpe.rollout.rolling#role)
    role's, taken with M(cxpe.rollout.rollout_lease)). It renews that Lease, stops before its next batch once that
    run's process is gone, and leaves the Lease to the run at the end.
  - Waits on the cluster use watches; only session counts are polled, every O(poll_interval) seconds.
options:
  namespace:
    description: Namespace of the workload.
    type: str
    required: true
  kind:
    description: Kind of the workload.
    type: str
    choices: [Deployment, StatefulSet]
    default: Deployment
  name:
    description: Name of the workload.
    type: str
    required: true
  pod_selector:
    description: A label selector narrowing the workload's pods to drain (for example C(topology.kubernetes.io/zone=a)).
    type: str
  batch_size:
    description: Pods drained and replaced together.
    type: int
    default: 1
  max_unavailable:
    description: The most pods out of rotation at any moment; O(batch_size) may not exceed it.
    type: int
    default: 1
  serving_label:
    description: The pod label that Services select on, C(true) when a pod takes new sessions.
    type: str
    default: cxpe.io/serving
  sessions_source:
    description:
      - Where a pod's active sessions are read.
      - C(prometheus), the query O(sessions_query) against O(prometheus_url).
      - C(annotation), the pod annotation O(sessions_annotation).
      - C(http), the URL O(sessions_url), answering a number or JSON with a C(sessions) number.
    type: str
    choices: [prometheus, annotation, http]
    default: prometheus
  prometheus_url:
    description: Base URL of the Prometheus HTTP API, for O(sessions_source=prometheus).
    type: str
  sessions_query:
    description:
      - Instant PromQL query of one pod's active sessions; C({pod}) is replaced by the pod's name.
      - No data reads as unknown and the drain keeps waiting (up to O(drain_timeout)), so a scrape that failed or
        has not happened yet is never taken for a drained pod. Do not append C(or vector(0)) for that reason; the
        exporter should report 0 for a pod without sessions.
    type: str
  sessions_annotation:
    description: The pod annotation holding its active sessions, for O(sessions_source=annotation).
    type: str
    default: cxpe.io/active-sessions
  sessions_url:
    description: For O(sessions_source=http), a URL in which C({pod}) and C({pod_ip}) are replaced.
    type: str
  drain_timeout:
    description: Seconds each batch may take to drain.
    type: int
    default: 3600
  on_timeout:
    description:
      - C(fail) puts the batch back in rotation and fails, naming the pods and the sessions they still have.
      - C(proceed) replaces the batch anyway, dropping its remaining sessions (reported as RV(pods[].timed_out)).
    type: str
    choices: [fail, proceed]
    default: fail
  timeout_grace_period:
    description:
      - With O(on_timeout=proceed), the grace period in seconds a StatefulSet pod that still has sessions gets when
        it is evicted. Defaults to the pod's own C(terminationGracePeriodSeconds), which for voice services may be
        an hour.
      - A Deployment's pods are removed by its controller, always with their own grace period.
    type: int
  rotation_delay:
    description: Seconds to wait after the pods have left the endpoints, for proxies and ingress controllers to follow, before a count of 0 is trusted.
    type: float
    default: 5
  poll_interval:
    description: Seconds between session counts (and between tries of a refused eviction).
    type: float
    default: 5
  progress_interval:
    description:
      - Seconds between writes of the draining pods' session counts into the ledger's C(progress), where
        M(cxpe.rollout.rollout_info) and the P(cxpe.rollout.rolling#role) role read them while a long drain runs.
    type: float
    default: 30
  ready_timeout:
    description: Seconds to wait for the pods to leave rotation, and for their replacements to be Ready.
    type: int
    default: 600
  eviction_timeout:
    description: Seconds a PodDisruptionBudget may keep refusing an eviction.
    type: int
    default: 600
  lease_duration:
    description: Seconds the Lease stays valid after its last renewal.
    type: int
    default: 60
  lease_holder:
    description:
      - The identity of the run that already holds the Lease (the RV(cxpe.rollout.rollout_lease#module:holder) that
        M(cxpe.rollout.rollout_lease) returned). Without it the drain takes the Lease itself, as C(<user>@<host>/<pid>)
        of its own process, and deletes it at the end.
    type: str
  ledger:
    description: Name of the rollout ledger ConfigMap. Defaults to C(<name>-rollout); the Lease has the same name.
    type: str
  sessions_validate_certs:
    description: Whether to verify the TLS certificates of Prometheus and of O(sessions_url).
    type: bool
    default: true
extends_documentation_fragment:
  - cxpe.rollout.rollout.record
  - kubernetes.core.k8s_auth_options
  - cxpe.rollout.rollout.kubernetes_client
attributes:
  check_mode:
    description: Reads and checks everything and returns the plan (which pods, in which batches), writing nothing.
    support: full
  diff_mode:
    description: The changes are pods replaced over time, reported in RV(pods), not a diff.
    support: none
notes:
  - The P(cxpe.rollout.rolling#role) role pauses the workload, applies the new version, runs this module
    asynchronously while printing its progress, and rolls back on failure.
seealso:
  - module: cxpe.rollout.rollout_info
"""

EXAMPLES = r"""
- name: Replace the SIP pods one by one, each once its calls have ended (up to an hour)
  cxpe.rollout.rolling_drain:
    namespace: voice
    kind: StatefulSet
    name: voice-sip
    prometheus_url: http://prometheus.monitoring:9090
    sessions_query: sum(sip_active_calls{pod="{pod}"})
    drain_timeout: 3600

- name: Show the plan without changing anything
  cxpe.rollout.rolling_drain:
    namespace: gauth
    name: gauth-auth
    sessions_source: annotation
  check_mode: true
"""

RETURN = r"""
plan:
  description: The pods still to replace when the module started, in order, in batches.
  returned: success
  type: list
  elements: list
  sample: [["voice-sip-3"], ["voice-sip-2"]]
resumed:
  description: Whether the run continued an interrupted one recorded in the ledger.
  returned: success
  type: bool
taken_over:
  description:
    - The run whose Lease this one took over (C(holder), C(since), C(renewed), and C(why) that run is over); null when
      there was none. Not set with O(lease_holder), whose run took the Lease.
  returned: success
  type: dict
pods:
  description: Each pod replaced, with its timings and the session counts seen while it drained.
  returned: success
  type: list
  elements: dict
  contains:
    pod:
      description: Name of the pod.
      type: str
    batch:
      description: Index of its batch in this run.
      type: int
    sessions_seen:
      description: The session counts read while it drained (the first, every change, the last).
      type: list
      elements: int
    drain_seconds:
      description: Seconds from the start of its batch until it had no session.
      type: float
    replace_seconds:
      description: Seconds from the end of the drain until its replacement was Ready.
      type: float
    timed_out:
      description: Whether it was replaced with sessions left (O(on_timeout=proceed)).
      type: bool
progress:
  description: The progress recorded in the ledger (pods done, total).
  returned: success
  type: dict
writes:
  description: API writes made.
  returned: always
  type: int
duration_ms:
  description: Time the module took, in milliseconds.
  returned: always
  type: int
problems:
  description: Why the run was refused; each problem is also in the message.
  returned: when refused
  type: list
  elements: str
"""

import socket

from ansible_collections.cxpe.rollout.plugins.module_utils import ledger as ledgers
from ansible_collections.cxpe.rollout.plugins.module_utils.args_common import RECORD_ARG_SPEC, argument_spec, login
from ansible_collections.cxpe.rollout.plugins.module_utils.cluster import ClusterError
from ansible_collections.cxpe.rollout.plugins.module_utils.drain import Drain, DrainFailed, Workload
from ansible_collections.cxpe.rollout.plugins.module_utils.lease import (
    Lease,
    LeaseHeld,
    holder_problem,
    identity,
    process_alive,
    record_takeover,
    utc_now,
)
from ansible_collections.cxpe.rollout.plugins.module_utils.prometheus import QueryError
from ansible_collections.cxpe.rollout.plugins.module_utils.runner import run_module
from ansible_collections.cxpe.rollout.plugins.module_utils.sessions import SOURCES, SessionCounter, source_problems
from ansible_collections.cxpe.rollout.plugins.module_utils.strategies import Refusal, rolling


def module_spec():
    return argument_spec(
        RECORD_ARG_SPEC,
        namespace={"type": "str", "required": True},
        kind={"type": "str", "choices": list(rolling.KINDS), "default": rolling.DEPLOYMENT},
        name={"type": "str", "required": True},
        pod_selector={"type": "str"},
        batch_size={"type": "int", "default": 1},
        max_unavailable={"type": "int", "default": 1},
        serving_label={"type": "str", "default": "cxpe.io/serving"},
        sessions_source={"type": "str", "choices": list(SOURCES), "default": "prometheus"},
        prometheus_url={"type": "str"},
        sessions_query={"type": "str"},
        sessions_annotation={"type": "str", "default": "cxpe.io/active-sessions"},
        sessions_url={"type": "str"},
        drain_timeout={"type": "int", "default": 3600},
        on_timeout={"type": "str", "choices": ["fail", "proceed"], "default": "fail"},
        timeout_grace_period={"type": "int"},
        rotation_delay={"type": "float", "default": 5},
        poll_interval={"type": "float", "default": 5},
        progress_interval={"type": "float", "default": 30},
        ready_timeout={"type": "int", "default": 600},
        eviction_timeout={"type": "int", "default": 600},
        lease_duration={"type": "int", "default": 60},
        lease_holder={"type": "str"},
        ledger={"type": "str"},
        sessions_validate_certs={"type": "bool", "default": True},
    )


def plan_run(cluster, params):
    """Read the workload, its pods, the Services, the ledger and the Lease; the plan, or a Refusal."""
    problems = rolling.option_problems(params) + source_problems(
        params["sessions_source"], params["sessions_query"], params["prometheus_url"], params["sessions_url"])
    if problems:
        raise Refusal(problems)
    kind, namespace, name = params["kind"], params["namespace"], params["name"]
    workload = Workload(cluster, kind, name, namespace, params["pod_selector"])
    if workload.obj is None:
        raise Refusal(["%s %s/%s does not exist" % (kind, namespace, name)])
    ledger_name = params["ledger"] or ledgers.ledger_name(name)
    configmap, ledger = ledgers.read(cluster, namespace, name, ledger_name)
    revision = rolling.fingerprint(rolling.template_of(workload.obj))
    plan = rolling.resumable(ledger, kind, workload.obj, revision)
    old = workload.old_pods()
    interrupted_step = bool(plan is not None and kind == rolling.DEPLOYMENT and old and not workload.obj["spec"].get("paused"))
    if not interrupted_step:
        problems = rolling.workload_problems(kind, workload.obj, workload.pods, workload.services(), params["serving_label"], old)
    lease = cluster.get("coordination.k8s.io/v1", "Lease", ledger_name, namespace)
    held = holder_problem(lease, params["lease_holder"], utc_now(), socket.gethostname(), process_alive)
    if held:
        problems.append(held)
    if problems:
        raise Refusal(problems)
    names = [pod["metadata"]["name"] for pod in rolling.order(kind, old, params["serving_label"])]
    resumed = plan is not None
    if plan is None:
        plan = rolling.new_plan(kind, workload.obj, revision, names, params["batch_size"], ledgers.timestamp())
        done = []
    else:
        done = [pod for pod in plan["pods"] if pod not in names]
        plan = dict(plan, pods=[pod for pod in plan["pods"] if pod in done or pod in names]
                    + [pod for pod in names if pod not in plan["pods"]])
    return workload, (configmap, ledger, ledger_name), plan, done, interrupted_step, resumed


def run(cluster, params, warn):
    workload, ledger_state, plan, done, interrupted_step, resumed = plan_run(cluster, params)
    todo = [pod for pod in plan["pods"] if pod not in done]
    result = {"plan": rolling.batches(todo, plan["batch_size"]), "resumed": resumed, "pods": []}
    if cluster.check_mode or (not todo and not (workload.kind == rolling.DEPLOYMENT and workload.obj["spec"].get("paused"))):
        result["changed"] = bool(todo)
        return result
    lease = Lease(cluster, params["namespace"], ledger_state[2], params["lease_holder"] or identity(params["actor"]), params["lease_duration"])
    lease.acquire()
    taken = result["taken_over"] = lease.taken_over
    if taken:
        warn("Took over Lease %s/%s from %s, which held it since %s (renewed %s): %s"
             % (params["namespace"], ledger_state[2], taken["holder"], taken["since"], taken["renewed"], taken["why"]))
        configmap = record_takeover(cluster, params["namespace"], params["name"], ledger_state[2], taken, params["actor"], params["reason"])
        if configmap is not None:
            ledger_state = (configmap, ledgers.parse(configmap), ledger_state[2])
    counter = SessionCounter(params["sessions_source"], params["sessions_query"], params["prometheus_url"],
                             params["sessions_annotation"], params["sessions_url"], validate_certs=params["sessions_validate_certs"])
    drain = Drain(cluster, workload, params, counter, lease, ledger_state)
    try:
        if interrupted_step:
            # A run killed in the middle of a Deployment step: stop the controller before it goes further.
            cluster.update("apps/v1", rolling.DEPLOYMENT, workload.name, workload.namespace,
                           lambda obj: dict(obj, spec=dict(obj["spec"], paused=True)))
            workload.refresh()
        if todo:
            progress = drain.run(plan, done, ((ledger_state[1] or {}).get("progress") or {}).get("current") or [] if resumed else [])
        else:
            # Nothing old is left: let the paused Deployment go, as it was before the drain.
            progress = {"done": list(done), "total": len(plan["pods"]), "current": [], "phase": "replaced"}
            drain.step_deployment(0, last=True)
        drain.record("complete", rolling.COMPLETED, plan, progress)
    except (DrainFailed, ClusterError, QueryError) as error:
        failed = {"done": [report["pod"] for report in drain.pods_report] + done, "total": len(plan["pods"]), "current": [],
                  "phase": "failed", "error": "%s" % error}
        drain.record("fail", rolling.FAILED, plan, failed, why="%s" % error)
        raise
    finally:
        result["pods"] = drain.pods_report
        if not params["lease_holder"]:
            lease.release()
    result.update(changed=True, progress=progress, ledger=ledgers.public(ledgers.parse(drain.configmap), drain.configmap))
    return result


def main():
    run_module(module_spec(), lambda cluster, module: run(cluster, dict(module.params, actor=module.params["actor"] or login()), module.warn),
               lambda params: "refusing to drain %s %s/%s" % (params["kind"], params["namespace"], params["name"]),
               errors=(DrainFailed, LeaseHeld, QueryError))


if __name__ == "__main__":
    main()
