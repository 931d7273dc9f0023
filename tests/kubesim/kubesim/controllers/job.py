"""The Job controller (and the TTL-after-finished controller): pods run to completion.

A Job keeps ``min(parallelism, completions - succeeded)`` pods active (``<job>-<5 characters>``)
until ``completions`` pods succeeded (or, without completions, one did and none is active). A pod
that failed is replaced after the controller's back-off (10 s doubling, simulated); more failures
than ``backoffLimit`` (for ``restartPolicy: OnFailure``, container restarts reaching it), or
``activeDeadlineSeconds`` passing, fail the Job: its active pods are deleted, ``FailureTarget`` is
reported at once and ``Failed`` once they are gone. Success is reported as ``SuccessCriteriaMet``,
then ``Complete`` with the completion time. A finished Job with ``ttlSecondsAfterFinished`` is
deleted that long after it finished. The pods complete as the behaviour model says (the kubelet's
``kubesim.cxpe.io/complete-after`` and ``exit-code``).
"""

from .. import resources
from .events import NORMAL, WARNING
from .meta import by_namespace, claim, earliest, find_condition, is_deleting, mutate_if_changed, name_of, namespace_of, try_write, uid_of
from .pods import PodController, is_ready, phase, pod_from_template, restart_count

COMPONENT = "job-controller"
TTL_COMPONENT = "ttl-after-finished-controller"
# The controller waits before replacing a failed pod: 10 s, doubling, at most 10 minutes (simulated).
FAILURE_BACKOFF_SECONDS = 10
FAILURE_BACKOFF_MAX_SECONDS = 600
BACKOFF_LIMIT = ("BackoffLimitExceeded", "Job has reached the specified backoff limit")
DEADLINE = ("DeadlineExceeded", "Job was active longer than specified deadline")
COMPLETIONS_REACHED = ("CompletionsReached", "Reached expected number of succeeded pods")


def condition_true(job, condition_type):
    condition = find_condition((job.get("status") or {}).get("conditions"), condition_type)
    return condition is not None and condition.get("status") == "True"


def is_finished(job):
    return condition_true(job, "Complete") or condition_true(job, "Failed")


def _new_condition(condition_type, reason, message, now):
    return {"type": condition_type, "status": "True", "lastProbeTime": now, "lastTransitionTime": now, "reason": reason, "message": message}


def _with_condition(conditions, condition):
    if any(c.get("type") == condition["type"] and c.get("status") == "True" for c in conditions):
        return conditions
    return [c for c in conditions if c.get("type") != condition["type"]] + [condition]


class JobController(PodController):
    def __init__(self, store, clock, ready_times, recorder):
        super().__init__(store, clock, ready_times, recorder)
        self._last_failure = {}  # job uid -> (failures seen, monotonic moment the latest was seen)
        self._finished_at = {}  # job uid -> monotonic moment it was seen finished

    def reconcile(self):
        jobs, _ = self.store.list(resources.JOBS)
        live = {uid_of(job) for job in jobs}
        for memory in (self._last_failure, self._finished_at):
            for uid in set(memory) - live:
                del memory[uid]
        if not jobs:
            return None
        pods = by_namespace(self.store.list(resources.PODS)[0])
        return earliest([self._sync(job, pods.get(namespace_of(job), [])) for job in jobs])

    def _sync(self, job, namespace_pods):
        if is_finished(job):
            return self._expire(job)
        pods = claim(self.store, resources.PODS, job, namespace_pods)
        if is_deleting(job):
            return None
        return JobSync(self, job, pods).run()

    def _expire(self, job):
        """The TTL-after-finished controller: delete a finished Job its ttl after it finished."""
        ttl = (job.get("spec") or {}).get("ttlSecondsAfterFinished")
        if ttl is None or is_deleting(job):
            return None
        finished = self._finished_at.setdefault(uid_of(job), self.clock.monotonic())
        remaining = finished + self.clock.real_seconds(ttl) - self.clock.monotonic()
        if remaining > 0:
            return remaining
        with self.store.writer(TTL_COMPONENT):
            try_write(self.store.delete, resources.JOBS, namespace_of(job), name_of(job), propagation_policy="Background")
        return None

    def failure_backoff(self, job, failed):
        """Real seconds until a replacement for a failed pod may be created."""
        if not failed:
            return 0.0
        seen, since = self._last_failure.get(uid_of(job), (0, None))
        if failed != seen:
            since = self.clock.monotonic()
            self._last_failure[uid_of(job)] = (failed, since)
        delay = min(FAILURE_BACKOFF_SECONDS * 2 ** (failed - 1), FAILURE_BACKOFF_MAX_SECONDS)
        return max(since + self.clock.real_seconds(delay) - self.clock.monotonic(), 0.0)


class JobSync:
    """One sync of one Job (the real syncJob)."""

    def __init__(self, controller, job, pods):
        self.controller = controller
        self.store = controller.store
        self.clock = controller.clock
        self.job = job
        self.spec = job.get("spec") or {}
        self.status = job.get("status") or {}
        self.pods = pods
        self.now = self.clock.timestamp()
        self.resumed_now = False  # this sync saw the Job resumed

    def record(self, event_type, reason, message):
        self.controller.recorder.record(self.job, event_type, reason, message, COMPONENT)

    def run(self):
        active = [p for p in self.pods if not is_deleting(p) and phase(p) not in ("Succeeded", "Failed")]
        terminating = [p for p in self.pods if is_deleting(p) and phase(p) not in ("Succeeded", "Failed")]
        succeeded = max(self.status.get("succeeded", 0), sum(1 for p in self.pods if phase(p) == "Succeeded"))
        failed = max(self.status.get("failed", 0), sum(1 for p in self.pods if phase(p) == "Failed"))
        conditions = list(self.status.get("conditions") or [])
        failure = self.failure_reason(active, failed)
        wait = None
        if failure or condition_true(self.job, "FailureTarget"):
            failure = failure or next((c["reason"], c["message"]) for c in conditions if c.get("type") == "FailureTarget")
            self.delete_all(active)
            terminating, active = terminating + active, []
            conditions = _with_condition(conditions, _new_condition("FailureTarget", *failure, self.now))
        elif self.succeeded_enough(succeeded, active):
            self.delete_all(active)
            terminating, active = terminating + active, []
            conditions = _with_condition(conditions, _new_condition("SuccessCriteriaMet", *COMPLETIONS_REACHED, self.now))
        else:
            active, wait = self.manage(active, succeeded, failed)
            conditions = self.suspension(conditions)
        finishing = None
        if not terminating and condition_true({"status": {"conditions": conditions}}, "FailureTarget"):
            finishing = _new_condition("Failed", *failure, self.now)
        elif not terminating and condition_true({"status": {"conditions": conditions}}, "SuccessCriteriaMet"):
            finishing = _new_condition("Complete", *COMPLETIONS_REACHED, self.now)
        if finishing is not None:
            conditions = _with_condition(conditions, finishing)
        self.write_status(active, terminating, succeeded, failed, conditions, finishing)
        return earliest([wait, self.deadline_in()])

    def suspension(self, conditions):
        """The Suspended condition: True while the Job is suspended, False (JobResumed) once it is resumed."""
        suspended = bool(self.spec.get("suspend"))
        current = next((c for c in conditions if c.get("type") == "Suspended"), None)
        if current is None and not suspended or current is not None and (current.get("status") == "True") == suspended:
            return conditions
        reason, message = ("JobSuspended", "Job suspended") if suspended else ("JobResumed", "Job resumed")
        self.resumed_now = not suspended
        self.record(NORMAL, "Suspended" if suspended else "Resumed", message)
        condition = dict(_new_condition("Suspended", reason, message, self.now), status="True" if suspended else "False")
        return [c for c in conditions if c.get("type") != "Suspended"] + [condition]

    def failure_reason(self, active, failed):
        limit = self.spec.get("backoffLimit", 6)
        on_failure = ((self.spec.get("template") or {}).get("spec") or {}).get("restartPolicy") == "OnFailure"
        restarts = sum(restart_count(p) for p in active) if on_failure else 0
        if failed > limit or (on_failure and (restarts > 0 if limit == 0 else restarts >= limit)):
            return BACKOFF_LIMIT
        deadline = self.deadline_in()
        if deadline is not None and deadline <= 0:
            return DEADLINE
        return None

    def deadline_in(self):
        """Real seconds until activeDeadlineSeconds passes (None without a deadline)."""
        deadline, started = self.spec.get("activeDeadlineSeconds"), self.status.get("startTime")
        if deadline is None or not started or is_finished(self.job):
            return None
        age = self.clock.wall() - self.clock.parse_timestamp(started)
        return self.clock.real_seconds(deadline) - age

    def succeeded_enough(self, succeeded, active):
        completions = self.spec.get("completions")
        if completions is None:
            return succeeded > 0 and not active
        return succeeded >= completions

    def manage(self, active, succeeded, failed):
        """Create or delete pods toward the wanted number of active ones; returns (active pods, real seconds to wait)."""
        if self.spec.get("suspend"):
            self.delete_all(active)
            return [], None
        completions, parallelism = self.spec.get("completions"), self.spec.get("parallelism", 1)
        wanted = parallelism if completions is None else min(parallelism, max(completions - succeeded, 0))
        if completions is None and succeeded:
            wanted = 0
        if len(active) > wanted:
            surplus = sorted(active, key=lambda p: (is_ready(p), p["metadata"].get("creationTimestamp") or ""))[: len(active) - wanted]
            self.delete_all(surplus)
            return [p for p in active if p not in surplus], None
        wait = self.controller.failure_backoff(self.job, failed)
        if len(active) < wanted and wait > 0:
            return active, wait
        for _ in range(wanted - len(active)):
            pod = try_write(self.store.create, resources.PODS, pod_from_template(self.spec.get("template") or {}, self.job))
            if pod is None:
                break
            active.append(pod)
            self.record(NORMAL, "SuccessfulCreate", f"Created pod: {name_of(pod)}")
        return active, None

    def delete_all(self, pods):
        for pod in pods:
            if try_write(self.store.delete, resources.PODS, namespace_of(pod), name_of(pod)) is not None:
                self.record(NORMAL, "SuccessfulDelete", f"Deleted pod: {name_of(pod)}")

    def write_status(self, active, terminating, succeeded, failed, conditions, finishing):
        counts = {"active": len(active), "succeeded": succeeded, "failed": failed}
        now = self.now

        suspended, resumed = bool(self.spec.get("suspend")), self.resumed_now

        def change(target):
            status = target.setdefault("status", {})
            # A suspended Job has not started; resuming it starts it again, restarting its active deadline.
            if suspended:
                status.pop("startTime", None)
            elif resumed:
                status["startTime"] = now
            else:
                status.setdefault("startTime", now)
            for key, value in counts.items():
                if value:
                    status[key] = value
                else:
                    status.pop(key, None)
            status.update(ready=sum(1 for p in active if is_ready(p)), terminating=len(terminating), uncountedTerminatedPods={})
            if conditions:
                status["conditions"] = conditions
            if finishing is not None and finishing["type"] == "Complete":
                status.setdefault("completionTime", now)

        written = mutate_if_changed(self.store, resources.JOBS, self.job, change, subresource="status")
        if written is not None and finishing is not None and not is_finished(self.job):
            if finishing["type"] == "Complete":
                self.record(NORMAL, "Completed", "Job completed")
            else:
                self.record(WARNING, finishing["reason"], finishing["message"])
