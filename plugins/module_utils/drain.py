# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A rolling drain, run: batch by batch, take pods out of rotation, wait for their sessions to end,
have them replaced at the new revision, and wait for the replacements to be Ready, recording the plan
and the progress in the ledger at every step and holding the workload's Lease throughout.

The decisions are strategies/rolling.py's; this is their I/O, all through cluster.Cluster (watches
for every wait on the cluster) and sessions.SessionCounter (the only polling: session counts).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.cxpe.rollout.plugins.module_utils import ledger as ledgers
from ansible_collections.cxpe.rollout.plugins.module_utils.cluster import ClusterError
from ansible_collections.cxpe.rollout.plugins.module_utils.labels import NOT_SERVING, SERVING
from ansible_collections.cxpe.rollout.plugins.module_utils.readiness import selector_string
from ansible_collections.cxpe.rollout.plugins.module_utils.routers import ready_endpoint_pods
from ansible_collections.cxpe.rollout.plugins.module_utils.strategies import rolling

# Session counts kept per pod in the result: the first, every change, and the last.
SAMPLES_KEPT = 50


def has_started(pod):
    """Whether any container of the pod has run (so it may have taken sessions)."""
    return any((status.get("state") or {}).get("running") or (status.get("state") or {}).get("terminated")
               or status.get("restartCount") for status in (pod.get("status") or {}).get("containerStatuses") or [])


class DrainFailed(Exception):
    """The drain stopped (a timeout with on_timeout=fail, a replacement that never became Ready)."""


class Workload(object):
    """What a run reads of its workload: the object, its pods, its ReplicaSets (Deployment), the Services."""

    def __init__(self, cluster, kind, name, namespace, pod_selector=None):
        self.cluster, self.kind, self.name, self.namespace = cluster, kind, name, namespace
        self.pod_selector = pod_selector
        self.obj = cluster.get("apps/v1", kind, name, namespace)
        self.pods, self.replicasets = [], []
        if self.obj is not None:
            self.refresh()

    @property
    def selector(self):
        match = selector_string(((self.obj.get("spec") or {}).get("selector") or {}).get("matchLabels"))
        return ",".join(part for part in (match, self.pod_selector) if part)

    def refresh(self):
        self.obj = self.cluster.get("apps/v1", self.kind, self.name, self.namespace) or self.obj
        self.pods = self.cluster.list("v1", "Pod", self.namespace, label_selector=self.selector)[0]
        if self.kind == rolling.DEPLOYMENT:
            self.replicasets = self.cluster.list("apps/v1", "ReplicaSet", self.namespace, label_selector=self.selector)[0]

    def old_pods(self):
        return rolling.pods_to_replace(self.kind, self.obj, self.pods, self.replicasets)

    def services(self):
        return self.cluster.list("v1", "Service", self.namespace)[0]


class Drain(object):
    """One run over one workload (see the module docstring)."""

    def __init__(self, cluster, workload, params, counter, lease, ledger_state, clock=time.monotonic, sleep=time.sleep):
        self.cluster, self.workload, self.params, self.counter, self.lease = cluster, workload, params, counter, lease
        self.configmap, self.ledger, self.ledger_name = ledger_state
        self.clock, self.sleep = clock, sleep
        self.serving_label = params["serving_label"]
        # The pods handed to their controller to be replaced (evicted, or a Deployment step begun for them).
        self.handed = set()
        self.pods_report = []
        self.progress = {}
        self._reported = None

    # ---------------------------------------------------------------- ledger

    def record(self, action, phase, plan, progress, why=None):
        def change(current):
            return ledgers.record(current, action, {"revision": plan.get("revision")}, {"pods": progress.get("current") or []},
                                  why or self.params.get("reason"), self.params.get("actor"), ledgers.timestamp(),
                                  strategy=rolling.STRATEGY, phase=phase, plan=plan, progress=progress)
        self.configmap = ledgers.write(self.cluster, self.workload.namespace, self.workload.name, change, rolling.STRATEGY,
                                       ledgers.timestamp(), self.ledger_name, self.configmap)

    def report_sessions(self, progress, report):
        """Write the draining pods' session counts into the ledger's progress, at most every progress_interval
        seconds, so rollout_info shows a long drain moving (no history entry: nothing changed hands)."""
        now = self.clock()
        if self._reported is not None and now - self._reported < self.params["progress_interval"]:
            return
        self._reported = now
        progress["sessions"] = dict((name, entry["sessions_seen"][-1] if entry["sessions_seen"] else None)
                                    for name, entry in report.items())
        progress["updated"] = ledgers.timestamp()
        self.configmap = ledgers.write(self.cluster, self.workload.namespace, self.workload.name,
                                       lambda current: dict(current, progress=progress), rolling.STRATEGY,
                                       ledgers.timestamp(), self.ledger_name, self.configmap)

    # ---------------------------------------------------------------- waits

    def wait(self, api_version, kind, condition, timeout, what, label_selector=None):
        """cluster.wait in slices short enough to renew the Lease between them."""
        deadline = self.clock() + timeout
        while True:
            remaining = deadline - self.clock()
            slice_seconds = max(min(remaining, self.params["lease_duration"] / 3.0), 0.001)
            try:
                return self.cluster.wait(api_version, kind, self.workload.namespace, condition, slice_seconds, what,
                                         label_selector=label_selector)
            except ClusterError as error:
                if error.status != 504 or self.clock() >= deadline:
                    if error.status == 504:
                        raise ClusterError("timed out after %gs waiting for %s" % (timeout, what), 504, "Timeout")
                    raise
            self.lease.renew()

    def pause(self, seconds):
        deadline = self.clock() + seconds
        while self.clock() < deadline:
            self.sleep(min(deadline - self.clock(), self.params["poll_interval"]))
            self.lease.renew()

    # ---------------------------------------------------------------- one batch

    def take_out_of_rotation(self, names):
        for name in names:
            def drained(pod):
                metadata = pod["metadata"]
                labels = dict(metadata.get("labels") or {})
                annotations = dict(metadata.get("annotations") or {})
                if labels.get(self.serving_label) == NOT_SERVING and (
                        self.workload.kind != rolling.DEPLOYMENT or annotations.get(rolling.DELETION_COST) == rolling.DRAINED_COST):
                    return None
                labels[self.serving_label] = NOT_SERVING
                if self.workload.kind == rolling.DEPLOYMENT:
                    annotations[rolling.DELETION_COST] = rolling.DRAINED_COST
                return dict(pod, metadata=dict(metadata, labels=labels, annotations=annotations))
            self.cluster.update("v1", "Pod", name, self.workload.namespace, drained)
        gone = set(names)
        self.wait("discovery.k8s.io/v1", "EndpointSlice",
                  lambda slices: not (ready_endpoint_pods(slices.values()) & gone), self.params["ready_timeout"],
                  "pods %s to leave every Service's endpoints" % ", ".join(names))
        # The proxies and ingress controllers learn of the endpoint change a moment later.
        self.pause(self.params["rotation_delay"])

    def drain(self, names, report):
        """Wait until every pod of the batch has no session; returns False when on_timeout=proceed gave up."""
        deadline = self.clock() + self.params["drain_timeout"]
        pending = set(names)
        while True:
            pods = dict((pod["metadata"]["name"], pod) for pod in
                        self.cluster.list("v1", "Pod", self.workload.namespace, label_selector=self.workload.selector)[0])
            for name in sorted(pending):
                # A pod that is gone, or whose containers never started (a missing image, say), holds no session.
                count, why = self.counter.count(pods[name]) if name in pods and has_started(pods[name]) else (0, None)
                samples = report[name]["sessions_seen"]
                if not samples or samples[-1] != count:
                    samples.append(count)
                    del samples[1:-SAMPLES_KEPT]
                report[name]["sessions_unknown_because"] = why
                if count == 0:
                    pending.discard(name)
                    report[name]["drain_seconds"] = round(self.clock() - report[name]["started"], 3)
            if not pending:
                return True
            self.report_sessions(self.progress, report)
            if self.clock() >= deadline:
                left = ", ".join("%s (%s)" % (name, report[name]["sessions_seen"][-1]
                                              if report[name]["sessions_seen"][-1] is not None
                                              else report[name]["sessions_unknown_because"]) for name in sorted(pending))
                if self.params["on_timeout"] == "proceed":
                    for name in pending:
                        report[name]["drain_seconds"] = round(self.clock() - report[name]["started"], 3)
                        report[name]["timed_out"] = True
                    return False
                raise DrainFailed("pods still had sessions after drain_timeout %ds: %s" % (self.params["drain_timeout"], left))
            self.sleep(min(self.params["poll_interval"], max(deadline - self.clock(), 0)))
            self.lease.renew()

    def put_back(self, names):
        """Return pods to rotation (a failed drain leaves no capacity behind)."""
        for name in names:
            def serving(pod):
                metadata = pod["metadata"]
                annotations = dict(metadata.get("annotations") or {})
                annotations.pop(rolling.DELETION_COST, None)
                labels = dict(metadata.get("labels") or {}, **{self.serving_label: SERVING})
                return dict(pod, metadata=dict(metadata, labels=labels, annotations=annotations))
            try:
                self.cluster.update("v1", "Pod", name, self.workload.namespace, serving)
            except ClusterError as error:
                if error.status != 404:
                    raise

    def put_back_after(self, error, names):
        """put_back, after `error` stopped the batch; a failure to put a pod back is told with the error."""
        try:
            self.put_back(names)
        except ClusterError as failure:
            raise ClusterError("%s; putting pods %s back into rotation failed too: %s" % (error, ", ".join(names), failure),
                               getattr(error, "status", None), getattr(error, "reason", None))

    def replace(self, names, last, report):
        if self.workload.kind == rolling.STATEFULSET:
            for name in names:
                self.evict(name, self.params["timeout_grace_period"] if report[name]["timed_out"] else None)
                self.handed.add(name)
        else:
            self.step_deployment(len(names), last, names)

    def evict(self, name, grace_period=None):
        """Evict a pod, waiting while a PodDisruptionBudget forbids it (429)."""
        deadline = self.clock() + self.params["eviction_timeout"]
        while not self.cluster.evict(name, self.workload.namespace, grace_period):
            if self.clock() >= deadline:
                raise DrainFailed("a PodDisruptionBudget kept forbidding the eviction of pod %s/%s for %ds"
                                  % (self.workload.namespace, name, self.params["eviction_timeout"]))
            self.sleep(min(self.params["poll_interval"], max(deadline - self.clock(), 0)))
            self.lease.renew()

    def step_deployment(self, count, last, names=()):
        """Let the Deployment's controller replace `count` old pods, the drained ones (`names`), and no more (the step's
        budget, spent however late the pause lands), then pause it again, so that a run that stops between batches
        leaves it held; the last step gives the Deployment back its own strategy, minReadySeconds and
        progressDeadlineSeconds and leaves it resumed."""
        workload = self.workload
        if last:
            self.hand_over(names, lambda: self.cluster.update("apps/v1", rolling.DEPLOYMENT, workload.name, workload.namespace,
                                                              rolling.released))
            return
        before = workload.obj
        current = rolling.new_replicaset(before, workload.replicasets)
        expected = ((current or {}).get("spec") or {}).get("replicas", 0) + count
        fields = rolling.step_fields(before, workload.replicasets, count)
        self.hand_over(names, lambda: self.cluster.update("apps/v1", rolling.DEPLOYMENT, workload.name, workload.namespace,
                                                          lambda obj: rolling.stepping(obj, fields)))

        def stepped(replicasets):
            found = rolling.new_replicaset(before, replicasets.values())
            return found is not None and ((found.get("spec") or {}).get("replicas") or 0) >= expected

        try:
            self.wait("apps/v1", "ReplicaSet", stepped, self.params["ready_timeout"],
                      "Deployment %s/%s to scale its new ReplicaSet to %d" % (workload.namespace, workload.name, expected),
                      label_selector=workload.selector)
        finally:
            # Held again even when the step never comes, so a rollback finds the Deployment paused.
            self.cluster.update("apps/v1", rolling.DEPLOYMENT, workload.name, workload.namespace,
                                lambda obj: dict(obj, spec=dict(obj["spec"], paused=True)))

    def hand_over(self, names, step):
        """Make the write that lets the controller replace the pods `names`; they are handed over once it is made, or
        when it failed in a way that leaves open whether it was."""
        try:
            step()
        except ClusterError as error:
            if error.uncertain:
                self.handed.update(names)
            raise
        self.handed.update(names)

    def wait_replaced(self, names, wanted):
        """Wait until `wanted` pods run the new revision, Ready, and none of the batch's pods is left."""
        workload = self.workload
        batch = set(names)

        def replaced(pods):
            if workload.kind == rolling.DEPLOYMENT and rolling.new_replicaset(workload.obj, workload.replicasets) is None:
                # The controller makes the new ReplicaSet on its first step.
                workload.replicasets = self.cluster.list("apps/v1", "ReplicaSet", workload.namespace,
                                                         label_selector=workload.selector)[0]
            done = rolling.on_target(workload.kind, workload.obj, list(pods.values()), workload.replicasets)
            return len(done) >= wanted and not batch & (set(pods) - set(done))

        self.wait("v1", "Pod", replaced, self.params["ready_timeout"],
                  "%d pods of %s %s/%s on the new revision, Ready" % (wanted, workload.kind, workload.namespace, workload.name),
                  label_selector=workload.selector)

    # ---------------------------------------------------------------- the run

    def run(self, plan, done, resuming=()):
        """Drain and replace the plan's pods still to do, batch by batch; `resuming` are the pods an interrupted
        run was draining (their batch is recorded as resumed, not as a new drain). Returns the progress."""
        workload = self.workload
        todo = [name for name in plan["pods"] if name not in done]
        batches = rolling.batches(todo, plan["batch_size"])
        progress = self.progress = {"done": list(done), "total": len(plan["pods"]), "current": [], "phase": None,
                                    "started": plan.get("started")}
        on_target = len(rolling.on_target(workload.kind, workload.obj, workload.pods, workload.replicasets))
        for index, names in enumerate(batches):
            # Nothing more is taken out of rotation, nor replaced, for a run that has ended or lost its Lease.
            self.lease.renew()
            started = self.clock()
            report = dict((name, {"pod": name, "batch": index, "started": started, "sessions_seen": [],
                                  "drain_seconds": None, "replace_seconds": None, "timed_out": False}) for name in names)
            progress.update(current=names, phase="draining", since=ledgers.timestamp(), sessions={})
            self._reported = self.clock()
            self.record("resume" if set(names) & set(resuming) else "drain", rolling.DRAINING, plan, progress)
            try:
                self.take_out_of_rotation(names)
                self.drain(names, report)
                self.lease.renew()
                replace_started = self.clock()
                workload.refresh()
                last = index == len(batches) - 1
                self.replace(names, last, report)
            except (DrainFailed, ClusterError) as error:
                # What the controller was not given to replace goes back into rotation: a failed run leaves no pod
                # out that the ledger does not say is draining, and no capacity behind.
                self.put_back_after(error, [name for name in names if name not in self.handed])
                raise
            workload.refresh()
            on_target += len(names)
            self.wait_replaced(names, on_target)
            for name in names:
                report[name]["replace_seconds"] = round(self.clock() - replace_started, 3)
                report[name].pop("started")
                report[name].pop("sessions_unknown_because", None)
                self.pods_report.append(report[name])
            progress["done"] = progress["done"] + names
            progress.update(current=[], phase="replaced", last=[dict(report[name]) for name in names])
        return progress
