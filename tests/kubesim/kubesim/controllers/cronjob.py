"""The CronJob controller: a Job at each scheduled time, in simulated time.

Schedules are read in simulated time (``--time-scale``): at 60x a ``*/5 * * * *`` CronJob runs every
five real seconds. The simulated clock starts at the real time the simulator started, and the
times the controller writes (``lastScheduleTime``, ``lastSuccessfulTime``, the Jobs'
``batch.kubernetes.io/cronjob-scheduled-timestamp``) are simulated ones.

At the latest scheduled time since the CronJob was first seen or last scheduled (within
``startingDeadlineSeconds`` if set; more than 100 missed times are reported) a Job
``<cronjob>-<minutes since the epoch>`` is made from ``jobTemplate``, unless the CronJob is
suspended, or ``concurrencyPolicy: Forbid`` finds one still active (``Replace`` deletes those
first). Finished Jobs leave ``status.active``; beyond ``successfulJobsHistoryLimit`` and
``failedJobsHistoryLimit`` the oldest are deleted.
"""

import datetime
import zoneinfo

from .. import cron, resources
from ..errors import AlreadyExists, ApiError
from ..store import copy_json
from .events import NORMAL, WARNING
from .job import condition_true, is_finished
from .meta import by_namespace, earliest, is_controlled_by, is_deleting, mutate_if_changed, name_of, namespace_of, owner_reference, try_write, uid_of

COMPONENT = "cronjob-controller"
SCHEDULED_TIMESTAMP = "batch.kubernetes.io/cronjob-scheduled-timestamp"
MISSED_TIMES_LIMIT = 100
UTC = datetime.timezone.utc


def _zone(cronjob):
    name = (cronjob.get("spec") or {}).get("timeZone")
    return zoneinfo.ZoneInfo(name) if name else UTC


def _rfc3339(moment):
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _rfc3339_in_zone(moment):
    """RFC 3339 in the moment's own zone, as Go formats it: ``Z`` for UTC, else the offset."""
    offset = moment.strftime("%z")
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + ("Z" if offset in ("+0000", "") else f"{offset[:3]}:{offset[3:]}")


def _parse(stamp):
    return datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def job_name(cronjob, scheduled):
    return f"{name_of(cronjob)}-{int(scheduled.timestamp()) // 60}"


def scheduled_times(schedule, since, now, limit=MISSED_TIMES_LIMIT + 1):
    """Up to ``limit`` scheduled times after ``since`` up to ``now``, the latest last."""
    times, moment = [], since
    while True:
        moment = schedule.next_after(moment)
        if moment is None or moment > now:
            return times
        times.append(moment)
        if len(times) > limit:
            times.pop(0)


class CronJobController:
    def __init__(self, store, clock, recorder):
        self.store = store
        self.clock = clock
        self.recorder = recorder
        self._origin = (clock.wall(), clock.monotonic())
        self._first_seen = {}  # cronjob uid -> simulated moment it was first seen

    def simulated_now(self):
        wall, monotonic = self._origin
        return datetime.datetime.fromtimestamp(wall + self.clock.simulated_seconds(self.clock.monotonic() - monotonic), UTC)

    def reconcile(self):
        cronjobs, _ = self.store.list(resources.CRONJOBS)
        for uid in set(self._first_seen) - {uid_of(c) for c in cronjobs}:
            del self._first_seen[uid]
        if not cronjobs:
            return None
        jobs = by_namespace(self.store.list(resources.JOBS)[0])
        now = self.simulated_now()
        delays = [self._sync(cronjob, [j for j in jobs.get(namespace_of(cronjob), []) if is_controlled_by(j, cronjob)], now) for cronjob in cronjobs]
        return earliest(delays)

    def record(self, cronjob, event_type, reason, message):
        self.recorder.record(cronjob, event_type, reason, message, COMPONENT)

    def _sync(self, cronjob, jobs, now):
        """Bring one CronJob up to date; returns real seconds until its next scheduled time."""
        if is_deleting(cronjob):
            return None
        try:
            schedule, zone = cron.parse(cronjob["spec"]["schedule"]), _zone(cronjob)
        except (cron.CronError, zoneinfo.ZoneInfoNotFoundError, ValueError):
            return None
        status = copy_json(cronjob.get("status") or {})
        self._forget_finished(cronjob, jobs, status, now)
        self._trim_history(cronjob, jobs)
        if not (cronjob.get("spec") or {}).get("suspend"):
            self._run_due(cronjob, jobs, schedule, zone, status, now)
        self._write_status(cronjob, status)
        following = schedule.next_after(now.astimezone(zone))
        return None if following is None else self.clock.real_seconds((following - now).total_seconds()) + 0.001

    def _forget_finished(self, cronjob, jobs, status, now):
        """Jobs that finished leave the active list (SawCompletedJob); a success is the lastSuccessfulTime."""
        finished = {uid_of(j): j for j in jobs if is_finished(j)}
        remaining = []
        for reference in status.get("active") or []:
            job = finished.get(reference.get("uid"))
            if job is None:
                if any(uid_of(j) == reference.get("uid") for j in jobs):
                    remaining.append(reference)
                continue
            outcome = "Complete" if condition_true(job, "Complete") else "Failed"
            self.record(cronjob, NORMAL, "SawCompletedJob", f"Saw completed job: {name_of(job)}, condition: {outcome}")
            if outcome == "Complete":
                status["lastSuccessfulTime"] = _rfc3339(now)
        if remaining:
            status["active"] = remaining
        else:
            status.pop("active", None)

    def _trim_history(self, cronjob, jobs):
        spec = cronjob.get("spec") or {}
        for outcome, key, default in (("Complete", "successfulJobsHistoryLimit", 3), ("Failed", "failedJobsHistoryLimit", 1)):
            done = sorted((j for j in jobs if condition_true(j, outcome) and not is_deleting(j)),
                          key=lambda j: (j.get("status") or {}).get("startTime") or j["metadata"].get("creationTimestamp") or "")
            limit = spec.get(key, default)
            for job in done[: max(len(done) - limit, 0)]:
                self._delete_job(cronjob, job)

    def _delete_job(self, cronjob, job):
        if try_write(self.store.delete, resources.JOBS, namespace_of(job), name_of(job), propagation_policy="Background") is not None:
            self.record(cronjob, NORMAL, "SuccessfulDelete", f"Deleted job {name_of(job)}")

    def _run_due(self, cronjob, jobs, schedule, zone, status, now):
        """Start the Job of the latest scheduled time that has not run yet, if the policy lets it."""
        first_seen = self._first_seen.setdefault(uid_of(cronjob), now)
        since = _parse(status["lastScheduleTime"]) if status.get("lastScheduleTime") else first_seen
        deadline = (cronjob.get("spec") or {}).get("startingDeadlineSeconds")
        if deadline is not None:
            since = max(since, now - datetime.timedelta(seconds=deadline))
        due = scheduled_times(schedule, since.astimezone(zone), now)
        if not due:
            return
        if len(due) > MISSED_TIMES_LIMIT:
            self.record(cronjob, WARNING, "TooManyMissedTimes",
                        "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew")
        scheduled = due[-1]
        active = [j for j in jobs if not is_finished(j) and not is_deleting(j)]
        policy = (cronjob.get("spec") or {}).get("concurrencyPolicy", "Allow")
        if policy == "Forbid" and active:
            self.record(cronjob, NORMAL, "JobAlreadyActive", "Not starting job because prior execution is running and concurrency policy is Forbid")
            return
        if policy == "Replace":
            for job in active:
                self._delete_job(cronjob, job)
            status.pop("active", None)
        job = self._create_job(cronjob, scheduled)
        if job is not None:
            status.setdefault("active", []).append({"kind": "Job", "namespace": namespace_of(job), "name": name_of(job), "uid": uid_of(job),
                                                    "apiVersion": "batch/v1", "resourceVersion": job["metadata"]["resourceVersion"]})
        status["lastScheduleTime"] = _rfc3339(scheduled)

    def _create_job(self, cronjob, scheduled):
        template = copy_json((cronjob.get("spec") or {}).get("jobTemplate") or {})
        metadata = template.get("metadata") or {}
        job = {
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": job_name(cronjob, scheduled), "namespace": namespace_of(cronjob), "labels": metadata.get("labels") or {},
                         "annotations": dict(metadata.get("annotations") or {}, **{SCHEDULED_TIMESTAMP: _rfc3339_in_zone(scheduled)}),
                         "ownerReferences": [owner_reference(cronjob)]},
            "spec": template.get("spec") or {},
        }
        try:
            created = self.store.create(resources.JOBS, job)
        except AlreadyExists:
            return None
        except ApiError as error:
            self.record(cronjob, WARNING, "FailedCreate", f"Error creating job: {error.message}")
            return None
        self.record(cronjob, NORMAL, "SuccessfulCreate", f"Created job {name_of(created)}")
        return created

    def _write_status(self, cronjob, status):
        mutate_if_changed(self.store, resources.CRONJOBS, cronjob, lambda target: target.__setitem__("status", status), subresource="status")
