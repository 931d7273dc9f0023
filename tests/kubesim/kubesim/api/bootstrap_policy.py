"""The RBAC policy a real API server creates at start-up (its bootstrap policy, v1.32), as far as users meet it:
``cluster-admin`` for ``system:masters``; discovery (``system:discovery``), self-review
(``system:basic-user``) and the health and version paths (``system:public-info-viewer``) for every
authenticated user; the aggregated user-facing roles ``admin``, ``edit`` and ``view`` with the
``system:aggregate-to-*`` roles they are built from; and ``system:monitoring``.

One binding is kubesim's own: ``kubesim:unauthenticated-monitoring`` grants ``system:monitoring``
to ``system:unauthenticated``, so a test harness reads ``/metrics`` and the health checks without
credentials while a service account still needs RBAC for them.
"""

from .. import resources
from .rbac import API_GROUP, aggregated_rules
from .users import AUTHENTICATED, MASTERS, UNAUTHENTICATED

_BOOTSTRAP_LABELS = {"kubernetes.io/bootstrapping": "rbac-defaults"}
_AUTOUPDATE = {"rbac.authorization.kubernetes.io/autoupdate": "true"}
_READ = ("get", "list", "watch")
_WRITE = ("create", "delete", "deletecollection", "patch", "update")
_ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
_AGGREGATE_LABEL = "rbac.authorization.k8s.io/aggregate-to-"


def _rule(verbs, groups, names):
    return {"verbs": list(verbs), "apiGroups": list(groups), "resources": list(names)}


def _urls(verbs, urls):
    return {"verbs": list(verbs), "nonResourceURLs": list(urls)}


_AGGREGATE_TO_VIEW = [
    _rule(_READ, [""], ["configmaps", "endpoints", "persistentvolumeclaims", "persistentvolumeclaims/status", "pods", "replicationcontrollers",
                        "replicationcontrollers/scale", "serviceaccounts", "services", "services/status"]),
    _rule(_READ, [""], ["bindings", "events", "limitranges", "namespaces/status", "pods/log", "pods/status", "replicationcontrollers/status",
                        "resourcequotas", "resourcequotas/status"]),
    _rule(_READ, [""], ["namespaces"]),
    _rule(_READ, ["discovery.k8s.io"], ["endpointslices"]),
    _rule(_READ, ["apps"], ["controllerrevisions", "daemonsets", "daemonsets/status", "deployments", "deployments/scale", "deployments/status",
                            "replicasets", "replicasets/scale", "replicasets/status", "statefulsets", "statefulsets/scale", "statefulsets/status"]),
    _rule(_READ, ["autoscaling"], ["horizontalpodautoscalers", "horizontalpodautoscalers/status"]),
    _rule(_READ, ["batch"], ["cronjobs", "cronjobs/status", "jobs", "jobs/status"]),
    _rule(_READ, ["extensions"], ["daemonsets", "daemonsets/status", "deployments", "deployments/scale", "deployments/status", "ingresses",
                                  "ingresses/status", "networkpolicies", "replicasets", "replicasets/scale", "replicasets/status",
                                  "replicationcontrollers/scale"]),
    _rule(_READ, ["policy"], ["poddisruptionbudgets", "poddisruptionbudgets/status"]),
    _rule(_READ, ["networking.k8s.io"], ["ingresses", "ingresses/status", "networkpolicies"]),
]
_AGGREGATE_TO_EDIT = [
    _rule(_READ, [""], ["pods/attach", "pods/exec", "pods/portforward", "pods/proxy", "secrets", "services/proxy"]),
    _rule(["impersonate"], [""], ["serviceaccounts"]),
    _rule(_WRITE, [""], ["pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy"]),
    _rule(["create"], [""], ["pods/eviction"]),
    _rule(_WRITE, [""], ["configmaps", "events", "persistentvolumeclaims", "replicationcontrollers", "replicationcontrollers/scale", "secrets",
                         "serviceaccounts", "services", "services/proxy"]),
    _rule(["create"], [""], ["serviceaccounts/token"]),
    _rule(_WRITE, ["apps"], ["daemonsets", "deployments", "deployments/rollback", "deployments/scale", "replicasets", "replicasets/scale",
                             "statefulsets", "statefulsets/scale"]),
    _rule(_WRITE, ["autoscaling"], ["horizontalpodautoscalers"]),
    _rule(_WRITE, ["batch"], ["cronjobs", "jobs"]),
    _rule(_WRITE, ["extensions"], ["daemonsets", "deployments", "deployments/rollback", "deployments/scale", "ingresses", "networkpolicies",
                                   "replicasets", "replicasets/scale", "replicationcontrollers/scale"]),
    _rule(_WRITE, ["policy"], ["poddisruptionbudgets"]),
    _rule(_WRITE, ["networking.k8s.io"], ["ingresses", "networkpolicies"]),
    _rule(_ALL_VERBS, ["coordination.k8s.io"], ["leases"]),
]
_AGGREGATE_TO_ADMIN = [
    _rule(["create"], ["authorization.k8s.io"], ["localsubjectaccessreviews"]),
    _rule(_ALL_VERBS, [API_GROUP], ["rolebindings", "roles"]),
]


def _cluster_role(name, rules=None, aggregate_to=None, aggregate_from=None):
    labels = dict(_BOOTSTRAP_LABELS)
    if aggregate_to:
        labels[_AGGREGATE_LABEL + aggregate_to] = "true"
    role = {"apiVersion": f"{API_GROUP}/v1", "kind": "ClusterRole", "metadata": {"name": name, "labels": labels, "annotations": dict(_AUTOUPDATE)},
            "rules": rules or []}
    if aggregate_from:
        role["aggregationRule"] = {"clusterRoleSelectors": [{"matchLabels": {_AGGREGATE_LABEL + aggregate_from: "true"}}]}
    return role


def _binding(name, role, groups, bootstrapping=True):
    metadata = {"name": name, "labels": dict(_BOOTSTRAP_LABELS), "annotations": dict(_AUTOUPDATE)} if bootstrapping else {"name": name}
    return {"apiVersion": f"{API_GROUP}/v1", "kind": "ClusterRoleBinding", "metadata": metadata,
            "roleRef": {"apiGroup": API_GROUP, "kind": "ClusterRole", "name": role},
            "subjects": [{"apiGroup": API_GROUP, "kind": "Group", "name": group} for group in groups]}


# In dependency order: an aggregated role follows the roles it is built from (view goes into edit, edit into admin).
CLUSTER_ROLES = (
    _cluster_role("cluster-admin", [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}, _urls(["*"], ["*"])]),
    _cluster_role("system:discovery", [_urls(["get"], ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*",
                                                       "/readyz", "/version", "/version/"])]),
    _cluster_role("system:basic-user", [_rule(["create"], ["authorization.k8s.io"], ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]),
                                        _rule(["create"], ["authentication.k8s.io"], ["selfsubjectreviews"])]),
    _cluster_role("system:public-info-viewer", [_urls(["get"], ["/healthz", "/livez", "/readyz", "/version", "/version/"])]),
    _cluster_role("system:monitoring", [_urls(["get"], ["/healthz", "/healthz/*", "/livez", "/livez/*", "/metrics", "/metrics/slis", "/readyz",
                                                        "/readyz/*"])]),
    _cluster_role("system:aggregate-to-view", _AGGREGATE_TO_VIEW, aggregate_to="view"),
    _cluster_role("system:aggregate-to-edit", _AGGREGATE_TO_EDIT, aggregate_to="edit"),
    _cluster_role("system:aggregate-to-admin", _AGGREGATE_TO_ADMIN, aggregate_to="admin"),
    _cluster_role("view", aggregate_to="edit", aggregate_from="view"),
    _cluster_role("edit", aggregate_to="admin", aggregate_from="edit"),
    _cluster_role("admin", aggregate_from="admin"),
)
CLUSTER_ROLE_BINDINGS = (
    _binding("cluster-admin", "cluster-admin", [MASTERS]),
    _binding("system:discovery", "system:discovery", [AUTHENTICATED]),
    _binding("system:basic-user", "system:basic-user", [AUTHENTICATED]),
    _binding("system:public-info-viewer", "system:public-info-viewer", [AUTHENTICATED, UNAUTHENTICATED]),
    _binding("system:monitoring", "system:monitoring", ["system:monitoring"]),
    _binding("kubesim:unauthenticated-monitoring", "system:monitoring", [UNAUTHENTICATED], bootstrapping=False),
)


def bootstrap_policy(store):
    """Create the roles and bindings that are missing, the aggregated roles with their rules already gathered."""
    roles = []
    for role in CLUSTER_ROLES:
        if "aggregationRule" in role:
            role = dict(role, rules=aggregated_rules(role, roles))
        roles.append(role)
        if store.find(resources.CLUSTERROLES, None, role["metadata"]["name"]) is None:
            store.create(resources.CLUSTERROLES, role)
    for binding in CLUSTER_ROLE_BINDINGS:
        if store.find(resources.CLUSTERROLEBINDINGS, None, binding["metadata"]["name"]) is None:
            store.create(resources.CLUSTERROLEBINDINGS, binding)
