"""The persistent volume controller, the provisioner of the default StorageClass, and the protection controllers.

- Binding: a Pending claim binds to the smallest Available PersistentVolume of its class that has
  the capacity, access modes and volume mode it asks for (and matches its selector); both become
  Bound (``claimRef`` / ``volumeName``, the ``pv.kubernetes.io/bind-completed`` annotations).
- Provisioning: a claim no volume fits, of a class whose provisioner is kubesim's, gets a new
  volume ``pvc-<claim uid>`` (a host path) made for it, at once with ``volumeBindingMode:
  Immediate``, or once the scheduler picked a node for a pod using it (``WaitForFirstConsumer``,
  the ``volume.kubernetes.io/selected-node`` annotation); then it binds.
- Reclaim: a Bound volume whose claim is gone is deleted (``Delete``) or Released (``Retain``).
- Protection: a claim being deleted keeps its ``kubernetes.io/pvc-protection`` finalizer while a
  pod that has not finished uses it; a volume its ``pv-protection`` finalizer while it is Bound.

The Events are the real components' (``persistentvolume-controller`` and the provisioner's).
"""

from .. import resources
from ..api.bootstrap import PROVISIONER
from ..selectors import selector_matches
from .events import NORMAL, WARNING
from .garbage import without_finalizer
from .meta import annotations, is_deleting, labels, mutate_if_changed, name_of, namespace_of, try_write, uid_of
from .pods import TERMINAL_PHASES, phase

COMPONENT = "persistentvolume-controller"
PROVISIONER_COMPONENT = f"{PROVISIONER}_kubesim-control-plane"
SELECTED_NODE = "volume.kubernetes.io/selected-node"
BIND_COMPLETED = "pv.kubernetes.io/bind-completed"
BOUND_BY_CONTROLLER = "pv.kubernetes.io/bound-by-controller"
PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"
STORAGE_PROVISIONER = ("volume.kubernetes.io/storage-provisioner", "volume.beta.kubernetes.io/storage-provisioner")
PVC_PROTECTION = "kubernetes.io/pvc-protection"
PV_PROTECTION = "kubernetes.io/pv-protection"
VOLUME_ROOT = "/var/lib/kubesim/volumes"
_UNITS = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18,
          "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60, "m": 0.001}


def quantity(text):
    """A resource quantity (``10Gi``, ``500M``, ``1e9``) in bytes; 0 if it cannot be read."""
    text = str(text or "0").strip()
    for unit in sorted(_UNITS, key=len, reverse=True):
        if unit and text.endswith(unit):
            try:
                return float(text[: -len(unit)]) * _UNITS[unit]
            except ValueError:
                return 0
    try:
        return float(text)
    except ValueError:
        return 0


def claim_request(claim):
    return ((((claim.get("spec") or {}).get("resources") or {}).get("requests") or {}).get("storage"))


def claim_class(claim):
    return (claim.get("spec") or {}).get("storageClassName") or ""


def volume_phase(volume):
    return (volume.get("status") or {}).get("phase")


def claim_names(pod):
    """The PersistentVolumeClaims a pod's volumes name."""
    return [v["persistentVolumeClaim"]["claimName"] for v in (pod.get("spec") or {}).get("volumes") or []
            if (v.get("persistentVolumeClaim") or {}).get("claimName")]


def fits(volume, claim):
    """Whether an Available volume can serve the claim."""
    spec, claim_spec = volume.get("spec") or {}, claim.get("spec") or {}
    reserved = spec.get("claimRef")
    if reserved and (reserved.get("name"), reserved.get("namespace")) != (name_of(claim), namespace_of(claim)):
        return False
    return (volume_phase(volume) == "Available" and (spec.get("storageClassName") or "") == claim_class(claim)
            and quantity((spec.get("capacity") or {}).get("storage")) >= quantity(claim_request(claim))
            and set(claim_spec.get("accessModes") or []) <= set(spec.get("accessModes") or [])
            and spec.get("volumeMode", "Filesystem") == claim_spec.get("volumeMode", "Filesystem")
            and (not claim_spec.get("selector") or selector_matches(claim_spec["selector"], labels(volume))))


class PersistentVolumeController:
    def __init__(self, store, clock, recorder):
        self.store = store
        self.clock = clock
        self.recorder = recorder
        self._dirty = True
        store.add_listener(self._notice)

    def _notice(self, _event_type, rtype, _obj):
        if rtype.key in (resources.PVCS.key, resources.PVS.key, resources.STORAGECLASSES.key) or (
                rtype.key == resources.PODS.key and (_obj.get("spec") or {}).get("volumes")):
            self._dirty = True

    def reconcile(self):
        if not self._dirty:
            return None
        self._dirty = False
        claims, _ = self.store.list(resources.PVCS)
        volumes, _ = self.store.list(resources.PVS)
        if not claims and not volumes:
            return None
        classes = {name_of(c): c for c in self.store.list(resources.STORAGECLASSES)[0]}
        in_use = {(namespace_of(p), claim) for p in self.store.list(resources.PODS)[0] if phase(p) not in TERMINAL_PHASES for claim in claim_names(p)}
        for volume in volumes:
            self._sync_volume(volume, {(namespace_of(c), name_of(c)): c for c in claims})
        volumes, _ = self.store.list(resources.PVS)
        for claim in claims:
            if is_deleting(claim):
                self._release_claim(claim, in_use)
            elif not (claim.get("spec") or {}).get("volumeName"):
                volumes = self._bind_or_provision(claim, volumes, classes)
        return None

    def record(self, obj, event_type, reason, message, component=COMPONENT):
        self.recorder.record(obj, event_type, reason, message, component)

    # ---------------------------------------------------------------- volumes

    def _sync_volume(self, volume, claims_by_name):
        spec = volume.get("spec") or {}
        reference = spec.get("claimRef")
        claim = claims_by_name.get(((reference or {}).get("namespace"), (reference or {}).get("name"))) if reference else None
        if is_deleting(volume):
            if volume_phase(volume) != "Bound":
                mutate_if_changed(self.store, resources.PVS, volume, without_finalizer(PV_PROTECTION))
            return
        if reference is None or (reference.get("uid") is None and claim is None):
            self._set_volume_phase(volume, "Available")
        elif claim is not None and (reference.get("uid") in (None, uid_of(claim))):
            if (claim.get("spec") or {}).get("volumeName") == name_of(volume):
                self._set_volume_phase(volume, "Bound")
        elif volume_phase(volume) == "Bound" or reference.get("uid"):
            self._reclaim(volume)

    def _set_volume_phase(self, volume, new_phase):
        now = self.clock.timestamp()

        def change(target):
            status = target.setdefault("status", {})
            if status.get("phase") != new_phase:
                status.update(phase=new_phase, lastPhaseTransitionTime=now)

        mutate_if_changed(self.store, resources.PVS, volume, change, subresource="status")

    def _reclaim(self, volume):
        """The volume's claim is gone: delete it or keep it Released, as its reclaim policy says."""
        if (volume.get("spec") or {}).get("persistentVolumeReclaimPolicy") == "Delete":
            self._set_volume_phase(volume, "Released")
            try_write(self.store.mutate, resources.PVS, None, name_of(volume), without_finalizer(PV_PROTECTION))
            try_write(self.store.delete, resources.PVS, None, name_of(volume))
        else:
            self._set_volume_phase(volume, "Released")

    # ---------------------------------------------------------------- claims

    def _release_claim(self, claim, in_use):
        """pvc-protection: the finalizer goes once no pod that has not finished uses the claim."""
        if (namespace_of(claim), name_of(claim)) not in in_use:
            mutate_if_changed(self.store, resources.PVCS, claim, without_finalizer(PVC_PROTECTION))

    def _bind_or_provision(self, claim, volumes, classes):
        candidates = sorted((v for v in volumes if fits(v, claim)), key=lambda v: quantity(((v.get("spec") or {}).get("capacity") or {}).get("storage")))
        if candidates:
            self._bind(claim, candidates[0])
            return [v for v in volumes if name_of(v) != name_of(candidates[0])]
        storage_class = classes.get(claim_class(claim))
        if not claim_class(claim):
            self.record(claim, NORMAL, "FailedBinding", "no persistent volumes available for this claim and no storage class is set")
            return volumes
        if storage_class is None:
            self.record(claim, WARNING, "ProvisioningFailed", f'storageclass.storage.k8s.io "{claim_class(claim)}" not found')
            return volumes
        if storage_class.get("volumeBindingMode") == "WaitForFirstConsumer" and not annotations(claim).get(SELECTED_NODE):
            self.record(claim, NORMAL, "WaitForFirstConsumer", "waiting for first consumer to be created before binding")
            return volumes
        if storage_class.get("provisioner") != PROVISIONER:
            self.record(claim, NORMAL, "ExternalProvisioning",
                              f"Waiting for a volume to be created either by the external provisioner '{storage_class.get('provisioner')}' or "
                              "manually by the system administrator. If volume creation is delayed, please verify that the provisioner is "
                              "running and correctly registered.")
            return volumes
        volume = self._provision(claim, storage_class)
        if volume is not None:
            self._bind(claim, volume)
        return volumes

    def _provision(self, claim, storage_class):
        name = f"pvc-{uid_of(claim)}"
        claim_spec = claim.get("spec") or {}
        self.record(claim, NORMAL, "Provisioning", f'External provisioner is provisioning volume for claim "{namespace_of(claim)}/{name_of(claim)}"',
                    PROVISIONER_COMPONENT)
        volume = {
            "apiVersion": "v1", "kind": "PersistentVolume",
            "metadata": {"name": name, "annotations": {PROVISIONED_BY: PROVISIONER}},
            "spec": {"capacity": {"storage": claim_request(claim)}, "accessModes": list(claim_spec.get("accessModes") or []),
                     "persistentVolumeReclaimPolicy": storage_class.get("reclaimPolicy", "Delete"), "storageClassName": claim_class(claim),
                     "volumeMode": claim_spec.get("volumeMode", "Filesystem"),
                     "claimRef": {"kind": "PersistentVolumeClaim", "namespace": namespace_of(claim), "name": name_of(claim), "uid": uid_of(claim),
                                  "apiVersion": "v1", "resourceVersion": claim["metadata"]["resourceVersion"]},
                     "hostPath": {"path": f"{VOLUME_ROOT}/{name}", "type": "DirectoryOrCreate"}},
        }
        created = try_write(self.store.create, resources.PVS, volume) or self.store.find(resources.PVS, None, name)
        if created is not None:
            self.record(claim, NORMAL, "ProvisioningSucceeded", f"Successfully provisioned volume {name}", PROVISIONER_COMPONENT)
        return created

    def _bind(self, claim, volume):
        reference = {"kind": "PersistentVolumeClaim", "namespace": namespace_of(claim), "name": name_of(claim), "uid": uid_of(claim),
                     "apiVersion": "v1", "resourceVersion": claim["metadata"]["resourceVersion"]}
        provisioned = PROVISIONED_BY in annotations(volume)

        def claim_volume(target):
            target["spec"]["claimRef"] = reference
            if not provisioned:
                target["metadata"].setdefault("annotations", {})[BOUND_BY_CONTROLLER] = "yes"

        bound_volume = try_write(self.store.mutate, resources.PVS, None, name_of(volume), claim_volume)
        if bound_volume is None:
            return
        self._set_volume_phase(bound_volume, "Bound")

        def take_volume(target):
            target["spec"]["volumeName"] = name_of(volume)
            claim_annotations = target["metadata"].setdefault("annotations", {})
            claim_annotations.update({BIND_COMPLETED: "yes", BOUND_BY_CONTROLLER: "yes"})
            if provisioned:
                claim_annotations.update({key: PROVISIONER for key in STORAGE_PROVISIONER})

        bound_claim = try_write(self.store.mutate, resources.PVCS, namespace_of(claim), name_of(claim), take_volume)
        if bound_claim is None:
            return
        volume_spec = volume.get("spec") or {}

        def bound_status(target):
            target.setdefault("status", {}).update(phase="Bound", accessModes=list(volume_spec.get("accessModes") or []),
                                                   capacity=dict(volume_spec.get("capacity") or {}))

        mutate_if_changed(self.store, resources.PVCS, bound_claim, bound_status, subresource="status")

