"""Admission of StorageClasses, PersistentVolumes and PersistentVolumeClaims: the real server's defaults
and validation, the DefaultStorageClass plugin (a claim naming no class gets the default one) and
the StorageObjectInUseProtection plugin (the ``kubernetes.io/pvc-protection`` and
``pv-protection`` finalizers)."""

from .. import resources
from .admission import FORBIDDEN, _set_defaults, not_supported, required

DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
PVC_PROTECTION = "kubernetes.io/pvc-protection"
PV_PROTECTION = "kubernetes.io/pv-protection"
ACCESS_MODES = ("ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod")
VOLUME_MODES = ("Block", "Filesystem")
# The volume sources a PersistentVolume may name (one of them).
VOLUME_SOURCES = ("hostPath", "local", "nfs", "csi", "iscsi", "fc", "awsElasticBlockStore", "gcePersistentDisk", "azureDisk", "azureFile",
                  "cephfs", "rbd", "cinder", "glusterfs", "flexVolume", "vsphereVolume", "portworxVolume", "photonPersistentDisk",
                  "quobyte", "scaleIO", "storageos", "flocker")


def is_default_class(storage_class):
    return ((storage_class["metadata"].get("annotations") or {}).get(DEFAULT_CLASS_ANNOTATION) or "").lower() == "true"


def default_class(store):
    """The default StorageClass: the newest of those annotated default, as the admission plugin picks."""
    defaults = [c for c in store.list(resources.STORAGECLASSES)[0] if is_default_class(c)]
    return max(defaults, key=lambda c: (c["metadata"].get("creationTimestamp") or "", c["metadata"]["name"]), default=None)


def _add_finalizer(obj, finalizer):
    finalizers = obj["metadata"].setdefault("finalizers", [])
    if finalizer not in finalizers:
        finalizers.append(finalizer)


def default_storage_class(obj, _old, _store):
    _set_defaults(obj, {"reclaimPolicy": "Delete", "volumeBindingMode": "Immediate"})


def validate_storage_class(obj, old):
    errors = [] if obj.get("provisioner") else [required("provisioner")]
    if obj.get("reclaimPolicy") not in ("Delete", "Retain"):
        errors.append(not_supported("reclaimPolicy", obj.get("reclaimPolicy"), ("Delete", "Retain")))
    if obj.get("volumeBindingMode") not in ("Immediate", "WaitForFirstConsumer"):
        errors.append(not_supported("volumeBindingMode", obj.get("volumeBindingMode"), ("Immediate", "WaitForFirstConsumer")))
    for key in ("parameters", "provisioner", "reclaimPolicy", "volumeBindingMode") if old is not None else ():
        if obj.get(key) != old.get(key):
            errors.append((key, FORBIDDEN, f"Forbidden: updates to {key} are forbidden."))
    return errors


def default_persistent_volume(obj, old, _store):
    _set_defaults(obj.setdefault("spec", {}), {"persistentVolumeReclaimPolicy": "Retain", "volumeMode": "Filesystem"})
    if old is None:
        _add_finalizer(obj, PV_PROTECTION)


def _access_mode_errors(path, modes):
    if not modes:
        return [required(path, "at least 1 access mode is required")]
    return [not_supported(f"{path}[{index}]", mode, ACCESS_MODES) for index, mode in enumerate(modes) if mode not in ACCESS_MODES]


def validate_persistent_volume(obj, _old):
    spec = obj.get("spec") or {}
    errors = _access_mode_errors("spec.accessModes", spec.get("accessModes"))
    if not (spec.get("capacity") or {}).get("storage"):
        errors.append(required("spec.capacity", "must specify a capacity"))
    sources = [key for key in VOLUME_SOURCES if key in spec]
    if not sources:
        errors.append(required("spec", "must specify a volume type"))
    elif len(sources) > 1:
        errors.append((f"spec.{sources[1]}", FORBIDDEN, "Forbidden: may not specify more than 1 volume type"))
    policy = spec.get("persistentVolumeReclaimPolicy")
    if policy not in ("Delete", "Recycle", "Retain"):
        errors.append(not_supported("spec.persistentVolumeReclaimPolicy", policy, ("Delete", "Recycle", "Retain")))
    return errors


def default_persistent_volume_claim(obj, old, store):
    spec = obj.setdefault("spec", {})
    spec.setdefault("volumeMode", "Filesystem")
    if old is None:
        _add_finalizer(obj, PVC_PROTECTION)
        if "storageClassName" not in spec or spec["storageClassName"] is None:
            chosen = default_class(store)
            if chosen is not None:
                spec["storageClassName"] = chosen["metadata"]["name"]


def claim_spec_errors(path, spec):
    errors = _access_mode_errors(f"{path}.accessModes", spec.get("accessModes"))
    if not ((spec.get("resources") or {}).get("requests") or {}).get("storage"):
        errors.append(required(f"{path}.resources[storage]"))
    if spec.get("volumeMode") not in (None,) + VOLUME_MODES:
        errors.append(not_supported(f"{path}.volumeMode", spec.get("volumeMode"), VOLUME_MODES))
    return errors


def validate_persistent_volume_claim(obj, old):
    spec = obj.get("spec") or {}
    errors = claim_spec_errors("spec", spec)
    if old is not None:
        old_spec = old.get("spec") or {}
        # The binder sets an unbound claim's volumeName; only a bound claim may ask for more storage.
        changeable = ("volumeName", "resources", "volumeAttributesClassName") if old_spec.get("volumeName") else ("volumeName",)

        def fixed(claim_spec):
            return {key: value for key, value in claim_spec.items() if key not in changeable}

        if fixed(spec) != fixed(old_spec) or (old_spec.get("volumeName") and spec.get("volumeName") != old_spec.get("volumeName")):
            errors.append(("spec", FORBIDDEN, "Forbidden: spec is immutable after creation except resources.requests and "
                                              "volumeAttributesClassName for bound claims"))
    return errors


DEFAULTERS = {
    resources.STORAGECLASSES.key: default_storage_class,
    resources.PVS.key: default_persistent_volume,
    resources.PVCS.key: default_persistent_volume_claim,
}
VALIDATORS = {
    resources.STORAGECLASSES.key: validate_storage_class,
    resources.PVS.key: validate_persistent_volume,
    resources.PVCS.key: validate_persistent_volume_claim,
}
INITIAL_STATUS = {
    resources.PVS.key: {"phase": "Pending"},
    resources.PVCS.key: {"phase": "Pending"},
}
