"""The objects a real API server creates for itself at start-up: the system namespaces, the
``kubernetes`` Service in ``default``, the two system PriorityClasses and the RBAC bootstrap policy
(``bootstrap_policy.py``); and the default StorageClass ``standard`` a cluster's storage add-on installs."""

from .. import resources
from .bootstrap_policy import bootstrap_policy

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
KUBERNETES_SERVICE_IP = "10.96.0.1"
DEFAULT_STORAGE_CLASS = "standard"
PROVISIONER = "kubesim.cxpe.io/hostpath"
_PRIORITY_CLASSES = resources.by_path("scheduling.k8s.io", "v1", "priorityclasses")
_SYSTEM_PRIORITY_CLASSES = (
    ("system-cluster-critical", 2000000000, "Used for system critical pods that must run in the cluster, but can be moved to another node if necessary."),
    ("system-node-critical", 2000001000, "Used for system critical pods that must not be moved from their current node."),
)


def _kubernetes_service():
    return {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "kubernetes", "namespace": "default", "labels": {"component": "apiserver", "provider": "kubernetes"}},
        "spec": {"clusterIP": KUBERNETES_SERVICE_IP, "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]},
    }


def _priority_class(name, value, description):
    return {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": name}, "value": value,
            "description": description, "preemptionPolicy": "PreemptLowerPriority"}


def _default_storage_class():
    """The cluster's default StorageClass, as a storage add-on installs it: dynamic provisioning of host paths."""
    return {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": {"name": DEFAULT_STORAGE_CLASS, "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
            "provisioner": PROVISIONER, "reclaimPolicy": "Delete", "volumeBindingMode": "Immediate"}


def bootstrap(store):
    """Create whichever of these objects are missing (a seed may already have made some)."""
    wanted = [(resources.NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}) for name in SYSTEM_NAMESPACES]
    wanted.append((resources.SERVICES, _kubernetes_service()))
    wanted.append((resources.STORAGECLASSES, _default_storage_class()))
    wanted += [(_PRIORITY_CLASSES, _priority_class(*entry)) for entry in _SYSTEM_PRIORITY_CLASSES]
    for rtype, obj in wanted:
        if store.find(rtype, obj["metadata"].get("namespace"), obj["metadata"]["name"]) is None:
            store.create(rtype, obj)
    bootstrap_policy(store)
