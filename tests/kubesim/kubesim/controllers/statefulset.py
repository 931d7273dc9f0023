"""The StatefulSet controller: pods ``<set>-<ordinal>`` with stable names, created and updated in order.

Each pod template is recorded as a ControllerRevision; a pod's ``controller-revision-hash`` label
names the revision it was made from. ``OrderedReady`` creates (and removes) one pod at a time,
waiting for the previous to be Running and Ready; ``Parallel`` does not wait. A RollingUpdate
replaces pods from the highest ordinal down to the partition, one at a time, each after the one
before it is Ready again; OnDelete only gives the new revision to pods that were deleted.
"""

import re

from .. import resources
from .events import NORMAL
from ..store import copy_json
from .meta import by_namespace, claim, earliest, is_deleting, labels, mutate_if_changed, name_of, namespace_of, owner_reference, try_write
from .pods import TERMINAL_PHASES, PodController, is_running_and_ready, phase, pod_from_template
from .revisions import current_revision, revision_template, truncate_history

CONTROLLER_REVISION_HASH = "controller-revision-hash"
POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"
COMPONENT = "statefulset-controller"


def start_ordinal(sts):
    return (((sts.get("spec") or {}).get("ordinals") or {}).get("start")) or 0


def pod_ordinal(sts, pod):
    match = re.fullmatch(rf"{re.escape(name_of(sts))}-(\d+)", name_of(pod))
    return int(match.group(1)) if match else None


def pod_revision(pod):
    return labels(pod).get(CONTROLLER_REVISION_HASH)


def partition(sts):
    strategy = (sts.get("spec") or {}).get("updateStrategy") or {}
    rolling = strategy.get("rollingUpdate")
    return None if rolling is None else rolling.get("partition", 0)


def is_rolling_update(sts):
    return ((sts.get("spec") or {}).get("updateStrategy") or {}).get("type", "RollingUpdate") == "RollingUpdate"


class StatefulSetController(PodController):
    def reconcile(self):
        sets, _ = self.store.list(resources.STATEFULSETS)
        if not sets:
            return None
        pods = by_namespace(self.store.list(resources.PODS)[0])
        revisions = by_namespace(self.store.list(resources.CONTROLLERREVISIONS)[0])
        delays = [self._sync(sts, pods.get(namespace_of(sts), []), revisions.get(namespace_of(sts), [])) for sts in sets]
        return earliest(delays)

    def _sync(self, sts, namespace_pods, namespace_revisions):
        revisions = claim(self.store, resources.CONTROLLERREVISIONS, sts, namespace_revisions)
        members = [pod for pod in namespace_pods if pod_ordinal(sts, pod) is not None]
        pods = claim(self.store, resources.PODS, sts, members)
        update = current_revision(self.store, resources.STATEFULSETS, sts, revisions)
        if update is None:
            return None
        current = next((r for r in revisions if name_of(r) == (sts.get("status") or {}).get("currentRevision")), update)
        if not is_deleting(sts):
            StatefulSetRound(self, sts, current, update, pods).run()
        truncate_history(self.store, sts, revisions, {name_of(current), name_of(update)} | {pod_revision(pod) for pod in pods})
        return self._update_status(sts, pods, current, update)

    def _availability_wait(self, sts, pod):
        return self.ready_times.available_in(pod, (sts.get("spec") or {}).get("minReadySeconds") or 0)

    def is_available(self, sts, pod):
        return is_running_and_ready(pod) and self._availability_wait(sts, pod) == 0.0

    # ---------------------------------------------------------------- status

    def _update_status(self, sts, pods, current, update):
        counts = {"replicas": 0, "readyReplicas": 0, "availableReplicas": 0, "currentReplicas": 0, "updatedReplicas": 0}
        waits = []
        for pod in pods:
            counts["replicas"] += 1
            if is_running_and_ready(pod):
                counts["readyReplicas"] += 1
                wait = self._availability_wait(sts, pod)
                counts["availableReplicas"] += wait == 0.0
                if wait:
                    waits.append(wait)
            if not is_deleting(pod):
                counts["currentReplicas"] += pod_revision(pod) == name_of(current)
                counts["updatedReplicas"] += pod_revision(pod) == name_of(update)
        current_name = name_of(current)
        if is_rolling_update(sts) and counts["updatedReplicas"] == counts["replicas"] == counts["readyReplicas"]:
            counts["currentReplicas"], current_name = counts["updatedReplicas"], name_of(update)

        def change(target):
            status = target.setdefault("status", {})
            for key in ("readyReplicas", "currentReplicas", "updatedReplicas"):
                if counts[key]:
                    status[key] = counts[key]
                else:
                    status.pop(key, None)
            status.update(replicas=counts["replicas"], availableReplicas=counts["availableReplicas"],
                          observedGeneration=target["metadata"].get("generation", 1), currentRevision=current_name,
                          updateRevision=name_of(update), collisionCount=status.get("collisionCount", 0))

        mutate_if_changed(self.store, resources.STATEFULSETS, sts, change, subresource="status")
        return min(waits, default=None)


class StatefulSetRound:
    """One pass of the real updateStatefulSet over one set: create, scale down, then update, stopping
    where OrderedReady has to wait."""

    def __init__(self, controller, sts, current, update, pods):
        self.controller = controller
        self.store = controller.store
        self.sts = sts
        self.current = current
        self.update = update
        self.ordered = ((sts.get("spec") or {}).get("podManagementPolicy") or "OrderedReady") != "Parallel"
        start, count = start_ordinal(sts), (sts.get("spec") or {}).get("replicas", 1)
        self.slots = [None] * count
        self.condemned = []
        for pod in pods:
            index = pod_ordinal(sts, pod) - start
            if 0 <= index < count:
                self.slots[index] = pod
            else:
                self.condemned.append(pod)
        self.condemned.sort(key=lambda pod: pod_ordinal(sts, pod), reverse=True)

    def healthy(self, pod):
        return pod is not None and not is_deleting(pod) and self.controller.is_available(self.sts, pod)

    def delete(self, pod):
        if try_write(self.store.delete, resources.PODS, namespace_of(pod), name_of(pod)) is not None:
            self.record_pod_event("delete", pod)

    def record_pod_event(self, verb, pod):
        """The real StatefulPodControl's wording: ``create Pod web-0 in StatefulSet web successful``."""
        self.controller.recorder.record(self.sts, NORMAL, f"Successful{verb.title()}",
                                        f"{verb} Pod {name_of(pod)} in StatefulSet {name_of(self.sts)} successful", COMPONENT)

    def run(self):
        if not self.fill_slots() or not self.remove_condemned():
            return
        if is_rolling_update(self.sts):
            self.roll()

    def fill_slots(self):
        """Create missing pods and replace finished ones; False where OrderedReady must wait."""
        for index, pod in enumerate(self.slots):
            if pod is None:
                self.create(index)
            elif phase(pod) in TERMINAL_PHASES:
                if not is_deleting(pod):
                    self.delete(pod)
            elif not self.ordered or self.healthy(pod):
                continue
            if self.ordered:
                return False
        return True

    def remove_condemned(self):
        """Delete pods beyond the replica count, highest ordinal first."""
        first_unhealthy = next((pod for pod in self.slots + self.condemned if not self.healthy(pod)), None)
        for pod in self.condemned:
            if is_deleting(pod):
                if self.ordered:
                    return False
                continue
            if self.ordered and not self.healthy(pod) and pod is not first_unhealthy:
                return False
            self.delete(pod)
            if self.ordered:
                return False
        return True

    def roll(self):
        """Replace the highest-ordinal pod not at the update revision, down to the partition, one at a time."""
        for pod in reversed(self.slots[partition(self.sts) or 0:]):
            if pod is not None and pod_revision(pod) != name_of(self.update) and not is_deleting(pod):
                self.delete(pod)
                return
            if not self.healthy(pod):
                return

    def create(self, index):
        ordinal = start_ordinal(self.sts) + index
        limit = partition(self.sts)
        revision = self.current if limit is not None and index < limit else self.update
        name = f"{name_of(self.sts)}-{ordinal}"
        pod = pod_from_template(revision_template(revision), self.sts, name=name)
        pod["metadata"]["labels"].update({CONTROLLER_REVISION_HASH: name_of(revision), POD_NAME_LABEL: name, POD_INDEX_LABEL: str(ordinal)})
        pod["spec"]["hostname"] = name
        if (self.sts.get("spec") or {}).get("serviceName"):
            pod["spec"]["subdomain"] = self.sts["spec"]["serviceName"]
        if not self.create_claims(pod, ordinal):
            return
        if try_write(self.store.create, resources.PODS, pod) is not None:
            self.record_pod_event("create", pod)

    def create_claims(self, pod, ordinal):
        """The pod's PersistentVolumeClaims ``<template>-<set>-<ordinal>`` (made if missing) take the place of
        the volumes of the same name in its spec. False if one could not be made (the pod waits)."""
        volumes = [v for v in pod["spec"].get("volumes") or []]
        whole_set = ((self.sts.get("spec") or {}).get("persistentVolumeClaimRetentionPolicy") or {}).get("whenDeleted") == "Delete"
        for template in (self.sts.get("spec") or {}).get("volumeClaimTemplates") or []:
            template_name = (template.get("metadata") or {}).get("name", "")
            claim_name = f"{template_name}-{name_of(self.sts)}-{ordinal}"
            if self.store.find(resources.PVCS, namespace_of(self.sts), claim_name) is None:
                claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                         "metadata": {"name": claim_name, "namespace": namespace_of(self.sts),
                                      "labels": dict((template.get("metadata") or {}).get("labels") or {},
                                                     **(((self.sts.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}))},
                         "spec": copy_json(template.get("spec") or {})}
                if (template.get("metadata") or {}).get("annotations"):
                    claim["metadata"]["annotations"] = dict(template["metadata"]["annotations"])
                if whole_set:
                    claim["metadata"]["ownerReferences"] = [owner_reference(self.sts)]
                if try_write(self.store.create, resources.PVCS, claim) is None:
                    return False
                self.controller.recorder.record(self.sts, NORMAL, "SuccessfulCreate",
                                                f"create Claim {claim_name} Pod {name_of(pod)} in StatefulSet {name_of(self.sts)} success", COMPONENT)
            volumes = [v for v in volumes if v.get("name") != template_name] + [{"name": template_name,
                                                                                 "persistentVolumeClaim": {"claimName": claim_name}}]
        if volumes:
            pod["spec"]["volumes"] = volumes
        return True
