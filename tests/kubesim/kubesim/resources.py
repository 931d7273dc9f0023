"""The resource types the simulator serves: one registry for discovery, routing and storage."""

from dataclasses import dataclass, field

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool = True
    short_names: tuple = ()
    subresources: tuple = ()
    categories: tuple = ()
    verbs: tuple = ALL_VERBS
    singular: str = field(default="")

    @property
    def api_version(self):
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_version(self):
        return self.api_version

    @property
    def list_kind(self):
        return f"{self.kind}List"

    @property
    def singular_name(self):
        return self.singular or self.kind.lower()

    @property
    def key(self):
        """Identity for storage: the same object reached through any version is one object."""
        return (self.group, self.plural)

    def has_status(self):
        return "status" in self.subresources


_ALL = "all"

RESOURCES = (
    ResourceType("", "v1", "Namespace", "namespaces", namespaced=False, short_names=("ns",), subresources=("status", "finalize"),
                 verbs=("create", "delete", "get", "list", "patch", "update", "watch")),
    ResourceType("", "v1", "Node", "nodes", namespaced=False, short_names=("no",), subresources=("status",)),
    ResourceType("", "v1", "Pod", "pods", short_names=("po",), subresources=("status", "eviction"), categories=(_ALL,)),
    ResourceType("", "v1", "Service", "services", short_names=("svc",), subresources=("status",), categories=(_ALL,),
                 verbs=("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")),
    ResourceType("", "v1", "Endpoints", "endpoints", short_names=("ep",), singular="endpoints"),
    ResourceType("", "v1", "ConfigMap", "configmaps", short_names=("cm",)),
    ResourceType("", "v1", "Secret", "secrets"),
    ResourceType("", "v1", "Event", "events", short_names=("ev",)),
    ResourceType("", "v1", "ServiceAccount", "serviceaccounts", short_names=("sa",)),
    ResourceType("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", short_names=("pvc",), subresources=("status",)),
    ResourceType("", "v1", "PersistentVolume", "persistentvolumes", namespaced=False, short_names=("pv",), subresources=("status",)),
    ResourceType("apps", "v1", "Deployment", "deployments", short_names=("deploy",), subresources=("status", "scale"), categories=(_ALL,)),
    ResourceType("apps", "v1", "ReplicaSet", "replicasets", short_names=("rs",), subresources=("status", "scale"), categories=(_ALL,)),
    ResourceType("apps", "v1", "StatefulSet", "statefulsets", short_names=("sts",), subresources=("status", "scale"), categories=(_ALL,)),
    ResourceType("apps", "v1", "DaemonSet", "daemonsets", short_names=("ds",), subresources=("status",), categories=(_ALL,)),
    ResourceType("apps", "v1", "ControllerRevision", "controllerrevisions"),
    ResourceType("batch", "v1", "Job", "jobs", subresources=("status",), categories=(_ALL,)),
    ResourceType("batch", "v1", "CronJob", "cronjobs", short_names=("cj",), subresources=("status",), categories=(_ALL,)),
    ResourceType("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", short_names=("hpa",), subresources=("status",),
                 categories=(_ALL,)),
    ResourceType("networking.k8s.io", "v1", "Ingress", "ingresses", short_names=("ing",), subresources=("status",)),
    ResourceType("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", short_names=("netpol",)),
    ResourceType("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices"),
    ResourceType("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", short_names=("pdb",), subresources=("status",)),
    ResourceType("coordination.k8s.io", "v1", "Lease", "leases"),
    ResourceType("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", namespaced=False, short_names=("pc",)),
    ResourceType("storage.k8s.io", "v1", "StorageClass", "storageclasses", namespaced=False, short_names=("sc",)),
    ResourceType("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", namespaced=False,
                 short_names=("crd", "crds"), subresources=("status",), categories=("api-extensions",)),
    ResourceType("route.openshift.io", "v1", "Route", "routes", subresources=("status",)),
    ResourceType("consul.hashicorp.com", "v1alpha1", "ServiceSplitter", "servicesplitters", subresources=("status",)),
    ResourceType("consul.hashicorp.com", "v1alpha1", "ServiceResolver", "serviceresolvers", subresources=("status",)),
)

_BY_PATH = {(r.group, r.version, r.plural): r for r in RESOURCES}
_BY_KIND = {(r.api_version, r.kind): r for r in RESOURCES}


def by_path(group, version, plural):
    """The resource served at /api(s)/<group>/<version>/<plural>, or None."""
    return _BY_PATH.get((group, version, plural))


def by_kind(api_version, kind):
    """The resource for an object's apiVersion and kind, or None."""
    return _BY_KIND.get((api_version, kind))


def group_versions():
    """{group: [version, ...]} in registry order; the core group is ''."""
    groups = {}
    for resource in RESOURCES:
        versions = groups.setdefault(resource.group, [])
        if resource.version not in versions:
            versions.append(resource.version)
    return groups


def in_group_version(group, version):
    return [r for r in RESOURCES if r.group == group and r.version == version]


# Short handles for code that works on well-known kinds (controllers, traffic model).
NAMESPACES = by_path("", "v1", "namespaces")
NODES = by_path("", "v1", "nodes")
PODS = by_path("", "v1", "pods")
SERVICES = by_path("", "v1", "services")
ENDPOINTS = by_path("", "v1", "endpoints")
EVENTS = by_path("", "v1", "events")
DEPLOYMENTS = by_path("apps", "v1", "deployments")
REPLICASETS = by_path("apps", "v1", "replicasets")
STATEFULSETS = by_path("apps", "v1", "statefulsets")
DAEMONSETS = by_path("apps", "v1", "daemonsets")
JOBS = by_path("batch", "v1", "jobs")
CRONJOBS = by_path("batch", "v1", "cronjobs")
HPAS = by_path("autoscaling", "v2", "horizontalpodautoscalers")
NETWORKPOLICIES = by_path("networking.k8s.io", "v1", "networkpolicies")
PVCS = by_path("", "v1", "persistentvolumeclaims")
PVS = by_path("", "v1", "persistentvolumes")
STORAGECLASSES = by_path("storage.k8s.io", "v1", "storageclasses")
CRDS = by_path("apiextensions.k8s.io", "v1", "customresourcedefinitions")
CONTROLLERREVISIONS = by_path("apps", "v1", "controllerrevisions")
INGRESSES = by_path("networking.k8s.io", "v1", "ingresses")
ENDPOINTSLICES = by_path("discovery.k8s.io", "v1", "endpointslices")
PDBS = by_path("policy", "v1", "poddisruptionbudgets")
ROUTES = by_path("route.openshift.io", "v1", "routes")
SERVICESPLITTERS = by_path("consul.hashicorp.com", "v1alpha1", "servicesplitters")
SERVICERESOLVERS = by_path("consul.hashicorp.com", "v1alpha1", "serviceresolvers")
