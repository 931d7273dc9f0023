"""The resource types the simulator serves: one registry for discovery, routing and storage.

Each kind is stored in one version (``RESOURCES``); a kind may also be served in other versions,
converted to and from the stored one (``api/conversion.py``). Registering a CustomResourceDefinition
adds its kind while the simulator runs: the registry is replaced, never edited, so a reader that took
it sees one consistent version of it.
"""

import threading
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
    # Where its scale subresource reads and writes: (spec replicas, status replicas, label selector) paths.
    scale_paths: tuple = ("spec.replicas", "status.replicas", "")
    # For a custom resource: what its CustomResourceDefinition says of this version (schema, printer columns).
    definition: object = field(default=None, compare=False, hash=False)
    # Set when this version is served by conversion from the version that is stored.
    stored_as: object = field(default=None, compare=False, hash=False)

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
    ResourceType("", "v1", "ServiceAccount", "serviceaccounts", short_names=("sa",), subresources=("token",)),
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
    ResourceType("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", namespaced=False),
    ResourceType("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", namespaced=False),
    ResourceType("rbac.authorization.k8s.io", "v1", "Role", "roles"),
    ResourceType("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings"),
    # Reviews: created to ask a question and answered at once, never stored.
    ResourceType("authentication.k8s.io", "v1", "SelfSubjectReview", "selfsubjectreviews", namespaced=False, verbs=("create",)),
    ResourceType("authentication.k8s.io", "v1", "TokenReview", "tokenreviews", namespaced=False, verbs=("create",)),
    ResourceType("authorization.k8s.io", "v1", "LocalSubjectAccessReview", "localsubjectaccessreviews", verbs=("create",)),
    ResourceType("authorization.k8s.io", "v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews", namespaced=False, verbs=("create",)),
    ResourceType("authorization.k8s.io", "v1", "SelfSubjectRulesReview", "selfsubjectrulesreviews", namespaced=False, verbs=("create",)),
    ResourceType("authorization.k8s.io", "v1", "SubjectAccessReview", "subjectaccessreviews", namespaced=False, verbs=("create",)),
    ResourceType("route.openshift.io", "v1", "Route", "routes", subresources=("status",)),
    ResourceType("consul.hashicorp.com", "v1alpha1", "ServiceSplitter", "servicesplitters", subresources=("status",)),
    ResourceType("consul.hashicorp.com", "v1alpha1", "ServiceResolver", "serviceresolvers", subresources=("status",)),
)

# Versions served by conversion from the stored version of the same kind.
_CONVERTED = (
    ResourceType("autoscaling", "v1", "HorizontalPodAutoscaler", "horizontalpodautoscalers", short_names=("hpa",), subresources=("status",),
                 categories=(_ALL,), stored_as=next(r for r in RESOURCES if (r.group, r.version, r.plural) == ("autoscaling", "v2", "horizontalpodautoscalers"))),
)
_BUILT_IN = RESOURCES
_registry_lock = threading.Lock()


def _index():
    """Rebuild the lookups from RESOURCES and _CONVERTED (under the registry lock)."""
    global _SERVED, _BY_PATH, _BY_KIND  # pylint: disable=global-statement
    _SERVED = RESOURCES + _CONVERTED
    _BY_PATH = {(r.group, r.version, r.plural): r for r in _SERVED}
    _BY_KIND = {(r.api_version, r.kind): r for r in _SERVED}


_index()


def register(stored, converted=()):
    """Serve a kind (a custom resource) from now on: its stored version and the others, replacing what was served for it."""
    global RESOURCES, _CONVERTED  # pylint: disable=global-statement
    with _registry_lock:
        RESOURCES = tuple(r for r in RESOURCES if r.key != stored.key) + (stored,)
        _CONVERTED = tuple(r for r in _CONVERTED if r.key != stored.key) + tuple(converted)
        _index()


def unregister(key):
    """Stop serving a kind (a deleted CustomResourceDefinition's)."""
    global RESOURCES, _CONVERTED  # pylint: disable=global-statement
    with _registry_lock:
        RESOURCES = tuple(r for r in RESOURCES if r.key != key or r in _BUILT_IN)
        _CONVERTED = tuple(r for r in _CONVERTED if r.key != key or r.stored_as in _BUILT_IN)
        _index()


def by_path(group, version, plural):
    """The resource served at /api(s)/<group>/<version>/<plural>, or None."""
    return _BY_PATH.get((group, version, plural))


def by_kind(api_version, kind):
    """The resource for an object's apiVersion and kind, or None."""
    return _BY_KIND.get((api_version, kind))


def group_versions():
    """{group: [version, ...]} in registry order; the core group is ''."""
    groups = {}
    for resource in _SERVED:
        versions = groups.setdefault(resource.group, [])
        if resource.version not in versions:
            versions.append(resource.version)
    return groups


def in_group_version(group, version):
    return [r for r in _SERVED if r.group == group and r.version == version]


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
SERVICEACCOUNTS = by_path("", "v1", "serviceaccounts")
SECRETS = by_path("", "v1", "secrets")
ROLES = by_path("rbac.authorization.k8s.io", "v1", "roles")
ROLEBINDINGS = by_path("rbac.authorization.k8s.io", "v1", "rolebindings")
CLUSTERROLES = by_path("rbac.authorization.k8s.io", "v1", "clusterroles")
CLUSTERROLEBINDINGS = by_path("rbac.authorization.k8s.io", "v1", "clusterrolebindings")
