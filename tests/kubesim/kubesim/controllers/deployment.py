"""The Deployment controller: one ReplicaSet per pod template revision, rolled by strategy.

It follows the real controller's sync step by step (rolling update with surge and unavailability
fenceposts, Recreate, pause, proportional scaling, rollback to an older ReplicaSet by template,
revision history, progress deadline), one step per pass: each step waits for the ReplicaSet
controller to report on the pods before the next.
"""

from .. import resources
from ..errors import AlreadyExists, ApiError
from ..selectors import selector_matches
from ..store import copy_json
from . import rollout
from .events import NORMAL
from .meta import (annotations, by_namespace, claim, content_hash, controller_reference, earliest, find_condition, is_controlled_by, is_deleting, labels,
                   mutate_if_changed, name_of, namespace_of, owner_reference, try_write, uid_of)
from .pods import TERMINAL_PHASES, phase
from .rollout import POD_TEMPLATE_HASH, desired_replicas, spec_replicas, status_count

COMPONENT = "deployment-controller"


def set_min_ready_seconds(spec, seconds):
    """The API leaves out a zero minReadySeconds."""
    if seconds:
        spec["minReadySeconds"] = seconds
    else:
        spec.pop("minReadySeconds", None)


class DeploymentController:
    def __init__(self, store, clock, recorder):
        self.store = store
        self.clock = clock
        self.recorder = recorder
        # Deployment uid -> (lastUpdateTime, monotonic moment) of its last recorded progress: the
        # condition's timestamp has one-second grain, too coarse under time compression.
        self.progress_marks = {}

    def reconcile(self):
        deployments, _ = self.store.list(resources.DEPLOYMENTS)
        if not deployments:
            self.progress_marks.clear()
            return None
        replicasets = by_namespace(self.store.list(resources.REPLICASETS)[0])
        delays = []
        for deployment in deployments:
            sync = DeploymentSync(self, deployment, replicasets.get(namespace_of(deployment), []))
            sync.run()
            delays.append(sync.deadline_delay())
        live = {uid_of(d) for d in deployments}
        for uid in set(self.progress_marks) - live:
            del self.progress_marks[uid]
        return earliest(delays)


class DeploymentSync:
    """One sync of one Deployment (the real syncDeployment), over fresh copies it keeps current."""

    def __init__(self, controller, deployment, namespace_rss):
        self.controller = controller
        self.store = controller.store
        self.clock = controller.clock
        self.deployment = deployment
        self.namespace_rss = namespace_rss
        self.replicasets = {}

    # ---------------------------------------------------------------- entry

    def run(self):
        owned = claim(self.store, resources.REPLICASETS, self.deployment, self.namespace_rss)
        self.replicasets = {name_of(rs): rs for rs in owned}
        if is_deleting(self.deployment):
            new_rs, old_rss = self.new_and_old()
            self.sync_status(old_rss + [new_rs] if new_rs else old_rss, new_rs)
            return
        self.check_paused_conditions()
        if self.spec.get("paused") or self.is_scaling_event():
            self.sync()
        elif rollout.is_rolling(self.deployment):
            self.rollout_rolling()
        else:
            self.rollout_recreate()

    @property
    def spec(self):
        return self.deployment.get("spec") or {}

    @property
    def now(self):
        return self.clock.timestamp()

    # ---------------------------------------------------------------- ReplicaSets and revisions

    def new_and_old(self):
        """The oldest ReplicaSet whose template is the Deployment's (the new one) and all the others."""
        ordered = sorted(self.replicasets.values(), key=rollout.creation_order)
        template = self.spec.get("template")
        new_rs = next((rs for rs in ordered if rollout.equal_ignoring_hash(rs["spec"].get("template"), template)), None)
        return new_rs, [rs for rs in ordered if rs is not new_rs]

    def all_and_sync_revision(self, create):
        """getAllReplicaSetsAndSyncRevision: (new, olds), with the new one's revision raised above the
        old ones and (if ``create``) the new one created. The new one is None if it does not exist."""
        new_rs, old_rss = self.new_and_old()
        new_revision = max((rollout.revision(rs) for rs in old_rss), default=0) + 1
        if new_rs is not None:
            return self.sync_existing_new_rs(new_rs, new_revision), old_rss
        if not create:
            return None, old_rss
        return self.create_new_rs(old_rss, new_revision), old_rss

    def sync_existing_new_rs(self, new_rs, new_revision):
        wanted = rollout.new_rs_annotations(self.deployment, annotations(new_rs), new_revision, exists=True)
        min_ready = self.spec.get("minReadySeconds") or 0
        if wanted != annotations(new_rs) or (new_rs["spec"].get("minReadySeconds") or 0) != min_ready:
            def change(rs):
                rs["metadata"]["annotations"] = wanted
                set_min_ready_seconds(rs["spec"], min_ready)
            return self.write_rs(new_rs, change) or new_rs
        self.set_revision(annotations(new_rs).get(rollout.REVISION))
        if rollout.has_progress_deadline(self.deployment) and find_condition(self.status.get("conditions"), "Progressing") is None:
            status = copy_json(self.status)
            self.set_progressing(status, "True", rollout.FOUND_NEW_RS, f'Found new replica set "{name_of(new_rs)}"')
            self.write_status(status)
        return new_rs

    def create_new_rs(self, old_rss, new_revision):
        template = copy_json(self.spec.get("template") or {})
        collisions = self.status.get("collisionCount", 0)
        pod_hash = content_hash(template, collisions)
        template.setdefault("metadata", {})["labels"] = dict(template["metadata"].get("labels") or {}, **{POD_TEMPLATE_HASH: pod_hash})
        selector = copy_json(self.spec.get("selector") or {})
        selector["matchLabels"] = dict(selector.get("matchLabels") or {}, **{POD_TEMPLATE_HASH: pod_hash})
        new_rs = {
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": f"{name_of(self.deployment)}-{pod_hash}", "namespace": namespace_of(self.deployment),
                         "labels": template["metadata"]["labels"], "ownerReferences": [owner_reference(self.deployment)]},
            "spec": {"replicas": 0, "selector": selector, "template": template},
        }
        set_min_ready_seconds(new_rs["spec"], self.spec.get("minReadySeconds") or 0)
        new_rs["spec"]["replicas"] = rollout.new_rs_replicas(self.deployment, old_rss + [new_rs], new_rs)
        new_rs["metadata"]["annotations"] = rollout.new_rs_annotations(self.deployment, {}, new_revision, exists=False)
        try:
            created = self.store.create(resources.REPLICASETS, new_rs)
        except AlreadyExists:
            return self.adopt_or_collide(new_rs)
        except ApiError as error:
            self.report_failed_create(new_rs, error)
            return None
        self.replicasets[name_of(created)] = created
        if spec_replicas(created):
            self.record_scaling(created, 0, spec_replicas(created))
        self.set_revision(str(new_revision))
        if rollout.has_progress_deadline(self.deployment):
            status = copy_json(self.status)
            self.set_progressing(status, "True", rollout.NEW_RS_CREATED, f'Created new replica set "{name_of(created)}"')
            self.write_status(status)
        return created

    def adopt_or_collide(self, new_rs):
        """A ReplicaSet already has the new one's name: ours with this template is the new one;
        anything else is a hash collision, counted so the next attempt hashes differently."""
        existing = self.store.find(resources.REPLICASETS, namespace_of(new_rs), name_of(new_rs))
        if existing is not None and is_controlled_by(existing, self.deployment) and rollout.equal_ignoring_hash(
                existing["spec"].get("template"), self.spec.get("template")):
            self.replicasets[name_of(existing)] = existing
            return existing
        status = copy_json(self.status)
        status["collisionCount"] = status.get("collisionCount", 0) + 1
        self.write_status(status)
        return None

    def report_failed_create(self, new_rs, error):
        if rollout.has_progress_deadline(self.deployment):
            status = copy_json(self.status)
            self.set_progressing(status, "False", "ReplicaSetCreateError", f'Failed to create new replica set "{name_of(new_rs)}": {error.message}')
            self.write_status(status)

    def set_revision(self, revision):
        if revision and annotations(self.deployment).get(rollout.REVISION) != revision:
            def change(deployment):
                deployment["metadata"].setdefault("annotations", {})[rollout.REVISION] = revision
            updated = mutate_if_changed(self.store, resources.DEPLOYMENTS, self.deployment, change)
            if updated is not None:
                self.deployment = updated

    # ---------------------------------------------------------------- writes

    @property
    def status(self):
        return self.deployment.get("status") or {}

    def write_status(self, status):
        updated = mutate_if_changed(self.store, resources.DEPLOYMENTS, self.deployment, lambda d: d.__setitem__("status", status),
                                    subresource="status")
        if updated is not None:
            self.deployment = updated

    def write_rs(self, rs, change):
        """The ReplicaSet as written, or None if nothing was."""
        updated = mutate_if_changed(self.store, resources.REPLICASETS, rs, change)
        if updated is not None:
            self.replicasets[name_of(updated)] = updated
        return updated

    def record_scaling(self, rs, old_size, new_size):
        direction = "up" if old_size < new_size else "down"
        self.controller.recorder.record(self.deployment, NORMAL, "ScalingReplicaSet",
                                        f"Scaled {direction} replica set {name_of(rs)} from {old_size} to {new_size}", COMPONENT)

    def scale_rs(self, rs, size):
        """Resize a ReplicaSet, keeping its desired/max replica annotations current; returns whether it changed size."""
        desired = desired_replicas(self.deployment)
        most = desired + rollout.max_surge(self.deployment)
        resized = spec_replicas(rs) != size
        if resized or rollout.replica_annotations_outdated(rs, desired, most):
            def change(target):
                target["spec"]["replicas"] = size
                target["metadata"]["annotations"] = rollout.with_replica_annotations(annotations(target), desired, most)
            if self.write_rs(rs, change) is not None and resized:
                self.record_scaling(rs, spec_replicas(rs), size)
        return resized

    def current(self, rs):
        return self.replicasets.get(name_of(rs), rs) if rs is not None else None

    def set_progressing(self, status, condition_status, reason, message):
        condition = rollout.new_condition("Progressing", condition_status, reason, message, self.now)
        if rollout.set_condition(status, condition):
            self.mark_progress(condition["lastUpdateTime"])

    def mark_progress(self, stamp):
        self.controller.progress_marks[uid_of(self.deployment)] = (stamp, self.clock.monotonic())

    # ---------------------------------------------------------------- pause and scaling

    def check_paused_conditions(self):
        if not rollout.has_progress_deadline(self.deployment):
            return
        condition = find_condition(self.status.get("conditions"), "Progressing")
        if condition is not None and condition.get("reason") == rollout.TIMED_OUT:
            return
        paused_reported = condition is not None and condition.get("reason") == rollout.PAUSED
        status = copy_json(self.status)
        if self.spec.get("paused") and not paused_reported:
            self.set_progressing(status, "Unknown", rollout.PAUSED, "Deployment is paused")
        elif not self.spec.get("paused") and paused_reported:
            self.set_progressing(status, "Unknown", rollout.RESUMED, "Deployment is resumed")
        else:
            return
        self.write_status(status)

    def is_scaling_event(self):
        new_rs, old_rss = self.all_and_sync_revision(create=False)
        desired = desired_replicas(self.deployment)
        for rs in [r for r in old_rss + [new_rs] if r is not None and rollout.is_active(r)]:
            annotated = annotations(rs).get(rollout.DESIRED_REPLICAS)
            if annotated is not None and annotated != str(desired):
                return True
        return False

    def sync(self):
        """Scale without rolling out: a paused Deployment, or a replica count change."""
        new_rs, old_rss = self.all_and_sync_revision(create=False)
        self.scale(new_rs, old_rss)
        new_rs, old_rss = self.current(new_rs), [self.current(rs) for rs in old_rss]
        if self.spec.get("paused"):
            self.cleanup(old_rss)
        self.sync_status(old_rss + ([new_rs] if new_rs else []), new_rs)

    def scale(self, new_rs, old_rss):
        target = rollout.find_active_or_latest(new_rs, old_rss)
        if target is not None:
            self.scale_rs(target, desired_replicas(self.deployment))
            return
        if rollout.is_saturated(self.deployment, new_rs):
            for rs in old_rss:
                if rollout.is_active(rs):
                    self.scale_rs(rs, 0)
            return
        if rollout.is_rolling(self.deployment):
            active = [rs for rs in old_rss + [new_rs] if rs is not None and rollout.is_active(rs)]
            ordered, sizes = rollout.proportional_sizes(self.deployment, active)
            for rs in ordered:
                self.scale_rs(self.current(rs), sizes[name_of(rs)])

    def cleanup(self, old_rss):
        """Delete the oldest scaled-down ReplicaSets beyond revisionHistoryLimit."""
        limit = self.spec.get("revisionHistoryLimit")
        if limit is None:
            return
        cleanable = sorted((rs for rs in old_rss if not is_deleting(rs)), key=lambda rs: (rollout.revision(rs), rollout.creation_order(rs)))
        for rs in cleanable[: max(len(cleanable) - limit, 0)]:
            if (status_count(rs, "replicas") or spec_replicas(rs)
                    or rs["metadata"].get("generation", 1) > status_count(rs, "observedGeneration")):
                continue
            try_write(self.store.delete, resources.REPLICASETS, namespace_of(rs), name_of(rs))

    # ---------------------------------------------------------------- rolling update

    def rollout_rolling(self):
        new_rs, old_rss = self.all_and_sync_revision(create=True)
        if new_rs is None:
            return
        all_rss = old_rss + [new_rs]
        if self.reconcile_new(all_rss, new_rs):
            self.sync_rollout_status([self.current(rs) for rs in all_rss], self.current(new_rs))
            return
        new_rs = self.current(new_rs)
        if self.reconcile_old([self.current(rs) for rs in all_rss], [rs for rs in old_rss if rollout.is_active(rs)], new_rs):
            self.sync_rollout_status([self.current(rs) for rs in all_rss], new_rs)
            return
        if rollout.is_complete(self.deployment, self.status):
            self.cleanup(old_rss)
        self.sync_rollout_status([self.current(rs) for rs in all_rss], new_rs)

    def reconcile_new(self, all_rss, new_rs):
        desired = desired_replicas(self.deployment)
        if spec_replicas(new_rs) == desired:
            return False
        if spec_replicas(new_rs) > desired:
            return self.scale_rs(new_rs, desired)
        return self.scale_rs(new_rs, rollout.new_rs_replicas(self.deployment, all_rss, new_rs))

    def reconcile_old(self, all_rss, active_old, new_rs):
        """Scale old ReplicaSets down as far as maxUnavailable allows, unhealthy replicas first."""
        if not sum(spec_replicas(rs) for rs in active_old):
            return False
        min_available = desired_replicas(self.deployment) - rollout.max_unavailable(self.deployment)
        new_unavailable = spec_replicas(new_rs) - status_count(new_rs, "availableReplicas")
        budget = sum(spec_replicas(rs) for rs in all_rss) - min_available - new_unavailable
        if budget <= 0:
            return False
        cleaned = self.cleanup_unhealthy(active_old, budget)
        active_old = [self.current(rs) for rs in active_old]
        scaled = self.scale_down_old(active_old + [self.current(new_rs)], active_old)
        return cleaned + scaled > 0

    def cleanup_unhealthy(self, old_rss, budget):
        """Drop the replicas of old ReplicaSets that are not available anyway; returns how many."""
        removed = 0
        for rs in sorted(old_rss, key=rollout.creation_order):
            if removed >= budget:
                break
            unhealthy = spec_replicas(rs) - status_count(rs, "availableReplicas")
            if spec_replicas(rs) == 0 or unhealthy <= 0:
                continue
            count = min(budget - removed, unhealthy)
            self.scale_rs(rs, spec_replicas(rs) - count)
            removed += count
        return removed

    def scale_down_old(self, all_rss, old_rss):
        min_available = desired_replicas(self.deployment) - rollout.max_unavailable(self.deployment)
        available = sum(status_count(rs, "availableReplicas") for rs in all_rss)
        if available <= min_available:
            return 0
        wanted, removed = available - min_available, 0
        for rs in sorted(old_rss, key=rollout.creation_order):
            if removed >= wanted:
                break
            if spec_replicas(rs) == 0:
                continue
            count = min(spec_replicas(rs), wanted - removed)
            self.scale_rs(rs, spec_replicas(rs) - count)
            removed += count
        return removed

    # ---------------------------------------------------------------- recreate

    def rollout_recreate(self):
        new_rs, old_rss = self.all_and_sync_revision(create=False)
        all_rss = old_rss + ([new_rs] if new_rs else [])
        scaled_down = False
        for rs in old_rss:
            if rollout.is_active(rs):
                scaled_down = self.scale_rs(rs, 0) or scaled_down
        if scaled_down or self.old_pods_running(old_rss):
            self.sync_rollout_status([self.current(rs) for rs in all_rss], self.current(new_rs))
            return
        if new_rs is None:
            new_rs, old_rss = self.all_and_sync_revision(create=True)
            if new_rs is None:
                return
            all_rss = old_rss + [new_rs]
        self.scale_rs(new_rs, desired_replicas(self.deployment))
        if rollout.is_complete(self.deployment, self.status):
            self.cleanup(old_rss)
        self.sync_rollout_status([self.current(rs) for rs in all_rss], self.current(new_rs))

    def old_pods_running(self, old_rss):
        """Recreate waits until every pod of the old ReplicaSets is gone, terminating ones included."""
        if sum(status_count(rs, "replicas") for rs in old_rss):
            return True
        old_uids = {uid_of(rs) for rs in old_rss}
        pods, _ = self.store.list(resources.PODS, namespace_of(self.deployment))
        selector = self.spec.get("selector")
        return any(
            (controller_reference(pod) or {}).get("uid") in old_uids and phase(pod) not in TERMINAL_PHASES
            for pod in pods if selector_matches(selector, labels(pod))
        )

    # ---------------------------------------------------------------- status

    def sync_status(self, all_rss, new_rs):
        self.write_status(rollout.calculate_status(all_rss, new_rs, self.deployment, self.now))

    def sync_rollout_status(self, all_rss, new_rs):
        """The status, with the Progressing condition telling whether the rollout moves, finished or timed out."""
        status = rollout.calculate_status(all_rss, new_rs, self.deployment, self.now)
        rollout.copy_replica_failure(status, new_rs, all_rss)
        if not rollout.has_progress_deadline(self.deployment):
            rollout.remove_condition(status, "Progressing")
        current = find_condition(self.status.get("conditions"), "Progressing")
        settled = (status.get("replicas", 0) == status.get("updatedReplicas", 0) and current is not None
                   and current.get("reason") == rollout.NEW_RS_AVAILABLE)
        if rollout.has_progress_deadline(self.deployment) and not settled:
            subject = f'ReplicaSet "{name_of(new_rs)}"' if new_rs else f'Deployment "{name_of(self.deployment)}"'
            if rollout.is_complete(self.deployment, status):
                self.set_progressing(status, "True", rollout.NEW_RS_AVAILABLE, f"{subject} has successfully progressed.")
            elif rollout.made_progress(self.deployment, status):
                self.note_progress(status, current, f"{subject} is progressing.")
            elif self.timed_out(status):
                self.set_progressing(status, "False", rollout.TIMED_OUT, f"{subject} has timed out progressing.")
        self.write_status(status)

    def note_progress(self, status, current, message):
        """ReplicaSetUpdated, always with a fresh lastUpdateTime (the progress clock restarts)."""
        condition = rollout.new_condition("Progressing", "True", rollout.RS_UPDATED, message, self.now)
        if current is not None and current.get("status") == "True":
            condition["lastTransitionTime"] = current.get("lastTransitionTime")
        rollout.remove_condition(status, "Progressing")
        rollout.set_condition(status, condition)
        self.mark_progress(condition["lastUpdateTime"])

    def progress_since(self, condition):
        """The monotonic moment of the last progress the Progressing condition records."""
        stamp = condition.get("lastUpdateTime")
        mark = self.controller.progress_marks.get(uid_of(self.deployment))
        if mark is not None and mark[0] == stamp:
            return mark[1]
        return self.clock.monotonic_since(stamp)

    def seconds_to_deadline(self, condition):
        deadline = self.spec.get("progressDeadlineSeconds", 0)
        return self.progress_since(condition) + self.clock.real_seconds(deadline) - self.clock.monotonic()

    def timed_out(self, status):
        condition = find_condition(status.get("conditions"), "Progressing")
        if condition is None or condition.get("reason") == rollout.NEW_RS_AVAILABLE:
            return False
        if condition.get("reason") == rollout.TIMED_OUT:
            return True
        return self.seconds_to_deadline(condition) < 0

    def deadline_delay(self):
        """Real seconds until this Deployment's progress deadline passes, if a rollout is under way."""
        if is_deleting(self.deployment) or self.spec.get("paused") or not rollout.has_progress_deadline(self.deployment):
            return None
        condition = find_condition(self.status.get("conditions"), "Progressing")
        if condition is None or condition.get("reason") in (rollout.NEW_RS_AVAILABLE, rollout.TIMED_OUT):
            return None
        if rollout.is_complete(self.deployment, self.status):
            return None
        return max(self.seconds_to_deadline(condition), 0.0) + 0.001
