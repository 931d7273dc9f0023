"""``kubesim serve --authorization-mode RBAC``: requests authorized by RBAC rule by rule as kube-apiserver authorizes
them (verbs, API groups, resources and subresources, resource names, namespace and cluster scope, bindings of
ClusterRoles, group and user subjects), the exact 403 bodies, ``kubectl auth can-i``, escalation prevention and
the RBAC kinds themselves, through the real kubectl and the Python client as service accounts."""

import json

import kubernetes
import pytest
import yaml
from api_support import api_client, failure, http
from kubernetes.client.rest import ApiException
from rbac_support import RBAC_ARGS, Account, anonymous_metrics, as_json, denial, forbidden, rule, server_error
from traffic_support import new_namespace, poll


@pytest.fixture(scope="module")
def rbac_kubesim(module_kubesim_factory):
    return module_kubesim_factory(extra_args=list(RBAC_ARGS))


@pytest.fixture
def namespace(rbac_kubesim, request):
    return new_namespace(rbac_kubesim, request.node.name)


def watch_failure(call, *args):
    """The (HTTP status, Status body) of a watch that must be refused."""
    try:
        for _ in kubernetes.watch.Watch().stream(call, *args, timeout_seconds=1):
            pass
    except ApiException as exc:
        return exc.status, json.loads(exc.body)
    raise AssertionError("the watch was allowed")


def create_configmaps(simulator, namespace, *names):
    for name in names:
        simulator.kubectl("create", "configmap", name, "-n", namespace, "--from-literal=mode=fast")


def test_a_role_grants_its_verbs_and_nothing_else(rbac_kubesim, namespace, tmp_path):
    create_configmaps(rbac_kubesim, namespace, "settings")
    account = Account(rbac_kubesim, tmp_path, namespace, [rule([""], ["configmaps"], ["get", "list"])])
    assert account.kubectl("get", "configmap", "settings", "-o", "name").stdout.split() == ["configmap/settings"]
    assert account.kubectl("get", "configmaps", "-o", "name").stdout.split() == ["configmap/settings"]

    core = kubernetes.client.CoreV1Api(account.client())
    user = account.username
    assert failure(core.delete_namespaced_config_map, "settings", namespace) == (403, forbidden(
        f'configmaps "settings" is forbidden: {denial(user, "delete", "configmaps", namespace=namespace)}', "configmaps", "settings"))
    assert failure(core.create_namespaced_config_map, namespace, {"metadata": {"name": "other"}}) == (403, forbidden(
        f'configmaps is forbidden: {denial(user, "create", "configmaps", namespace=namespace)}', "configmaps"))
    assert failure(core.patch_namespaced_config_map, "settings", namespace, {"data": {"mode": "slow"}})[1]["message"] == (
        f'configmaps "settings" is forbidden: {denial(user, "patch", "configmaps", namespace=namespace)}')
    assert failure(core.delete_collection_namespaced_config_map, namespace)[1]["message"] == (
        f'configmaps is forbidden: {denial(user, "deletecollection", "configmaps", namespace=namespace)}')
    assert watch_failure(core.list_namespaced_config_map, namespace) == (403, forbidden(
        f'configmaps is forbidden: {denial(user, "watch", "configmaps", namespace=namespace)}', "configmaps"))
    assert server_error(account.kubectl("delete", "configmap", "settings")) == (
        f'Error from server (Forbidden): configmaps "settings" is forbidden: {denial(user, "delete", "configmaps", namespace=namespace)}')


def test_api_groups_must_match_the_request(rbac_kubesim, namespace, tmp_path):
    rbac_kubesim.kubectl("create", "deployment", "web", "-n", namespace, "--image=registry.example.com/app:1.0")
    core_group = Account(rbac_kubesim, tmp_path, namespace, [rule([""], ["deployments"], ["get", "list"])])
    assert server_error(core_group.kubectl("get", "deployments")) == (
        f'Error from server (Forbidden): deployments.apps is forbidden: {denial(core_group.username, "list", "deployments", "apps", namespace)}')
    any_group = Account(rbac_kubesim, tmp_path, namespace, [rule(["*"], ["deployments"], ["get"])])
    assert any_group.kubectl("get", "deployment", "web", "-o", "name").stdout.split() == ["deployment.apps/web"]
    everything = Account(rbac_kubesim, tmp_path, namespace, [rule(["apps"], ["*"], ["*"])])
    assert everything.kubectl("delete", "deployment", "web").returncode == 0
    assert server_error(everything.kubectl("get", "pods")).startswith("Error from server (Forbidden): pods is forbidden")


def test_subresources_are_granted_apart_from_their_resource(rbac_kubesim, namespace, tmp_path):
    rbac_kubesim.kubectl("create", "deployment", "web", "-n", namespace, "--image=registry.example.com/app:1.0")
    rbac_kubesim.kubectl("run", "lone", "-n", namespace, "--image=registry.example.com/app:1.0")
    deployments_only = Account(rbac_kubesim, tmp_path, namespace, [rule(["apps"], ["deployments"], ["get", "list", "patch", "update"]),
                                                                   rule([""], ["pods"], ["get", "list", "delete"])])
    apps = kubernetes.client.AppsV1Api(deployments_only.client())
    assert failure(apps.patch_namespaced_deployment_scale, "web", namespace, {"spec": {"replicas": 2}}) == (403, forbidden(
        f'deployments.apps "web" is forbidden: {denial(deployments_only.username, "patch", "deployments/scale", "apps", namespace)}',
        "deployments", "web", "apps"))
    core = kubernetes.client.CoreV1Api(deployments_only.client())
    eviction = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "lone", "namespace": namespace}}
    assert failure(core.create_namespaced_pod_eviction, "lone", namespace, eviction) == (403, forbidden(
        f'pods "lone" is forbidden: {denial(deployments_only.username, "create", "pods/eviction", namespace=namespace)}', "pods", "lone"))

    assert "cannot patch resource \"deployments/scale\"" in server_error(deployments_only.kubectl("scale", "deployment", "web", "--replicas=2"))
    scaler = Account(rbac_kubesim, tmp_path, namespace, [rule(["apps"], ["deployments"], ["get"]),
                                                         rule(["apps"], ["deployments/scale"], ["get", "patch", "update"])])
    assert scaler.kubectl("scale", "deployment", "web", "--replicas=2").returncode == 0
    assert rbac_kubesim.kubectl("get", "deployment", "web", "-n", namespace, "-o", "jsonpath={.spec.replicas}").stdout == "2"
    assert "cannot patch resource \"deployments\"" in server_error(scaler.kubectl("label", "deployment", "web", "tier=web"))
    any_scale = Account(rbac_kubesim, tmp_path, namespace, [rule(["apps"], ["*/scale"], ["patch"])])
    assert kubernetes.client.AppsV1Api(any_scale.client()).patch_namespaced_deployment_scale("web", namespace, {"spec": {"replicas": 1}})
    evicter = Account(rbac_kubesim, tmp_path, namespace, [rule([""], ["pods/eviction"], ["create"])])
    kubernetes.client.CoreV1Api(evicter.client()).create_namespaced_pod_eviction("lone", namespace, eviction)
    poll(lambda: rbac_kubesim.kubectl("get", "pod", "lone", "-n", namespace, check=False).returncode, lambda code: code != 0, "the evicted pod")


def test_resource_names_grant_the_named_objects_and_a_list_pinned_to_one(rbac_kubesim, namespace, tmp_path):
    create_configmaps(rbac_kubesim, namespace, "mine", "theirs")
    account = Account(rbac_kubesim, tmp_path, namespace, [rule([""], ["configmaps"], ["get", "list", "watch", "create", "delete"], ["mine"])])
    core = kubernetes.client.CoreV1Api(account.client())
    user = account.username
    assert core.read_namespaced_config_map("mine", namespace).metadata.name == "mine"
    assert failure(core.read_namespaced_config_map, "theirs", namespace)[1]["message"] == (
        f'configmaps "theirs" is forbidden: {denial(user, "get", "configmaps", namespace=namespace)}')
    assert failure(core.list_namespaced_config_map, namespace) == (403, forbidden(
        f'configmaps is forbidden: {denial(user, "list", "configmaps", namespace=namespace)}', "configmaps"))
    # A list or watch pinned to one name by its field selector names that object.
    assert [c.metadata.name for c in core.list_namespaced_config_map(namespace, field_selector="metadata.name=mine").items] == ["mine"]
    assert failure(core.list_namespaced_config_map, namespace, field_selector="metadata.name=theirs") == (403, forbidden(
        f'configmaps "theirs" is forbidden: {denial(user, "list", "configmaps", namespace=namespace)}', "configmaps", "theirs"))
    watched = kubernetes.watch.Watch().stream(core.list_namespaced_config_map, namespace, field_selector="metadata.name=mine", timeout_seconds=1)
    assert [(event["type"], event["object"].metadata.name) for event in watched] == [("ADDED", "mine")]
    # A create names no object (the name is in the body): resourceNames never grant it.
    rbac_kubesim.kubectl("delete", "configmap", "mine", "-n", namespace)
    assert failure(core.create_namespaced_config_map, namespace, {"metadata": {"name": "mine"}})[1]["message"] == (
        f'configmaps is forbidden: {denial(user, "create", "configmaps", namespace=namespace)}')


def test_a_role_binding_grants_in_its_namespace_and_only_cluster_role_bindings_grant_cluster_scope(rbac_kubesim, request, tmp_path):
    home, elsewhere = new_namespace(rbac_kubesim, request.node.name), new_namespace(rbac_kubesim, request.node.name)
    account = Account(rbac_kubesim, tmp_path, home)
    cluster_role = f"{home}-reader"
    rbac_kubesim.kubectl("create", "clusterrole", cluster_role, "--verb=get,list", "--resource=pods,nodes")
    rbac_kubesim.kubectl("create", "rolebinding", "reader", "-n", home, f"--clusterrole={cluster_role}", f"--serviceaccount={home}:{account.name}")
    user = account.username
    assert account.kubectl("get", "pods", "-n", home).returncode == 0
    assert server_error(account.kubectl("get", "pods", "-n", elsewhere)) == (
        f'Error from server (Forbidden): pods is forbidden: {denial(user, "list", "pods", namespace=elsewhere)}')
    assert server_error(account.kubectl("get", "pods", "--all-namespaces")) == (
        f'Error from server (Forbidden): pods is forbidden: {denial(user, "list", "pods")}')
    assert failure(kubernetes.client.CoreV1Api(account.client()).read_node, "kubesim-node-1") == (403, forbidden(
        f'nodes "kubesim-node-1" is forbidden: {denial(user, "get", "nodes")}', "nodes", "kubesim-node-1"))

    rbac_kubesim.kubectl("create", "clusterrolebinding", cluster_role, f"--clusterrole={cluster_role}", f"--serviceaccount={home}:{account.name}")
    assert account.kubectl("get", "nodes", "-o", "name").stdout.split()[0] == "node/kubesim-node-1"
    assert account.kubectl("get", "pods", "-n", elsewhere).returncode == 0
    assert account.kubectl("get", "pods", "--all-namespaces").returncode == 0
    rbac_kubesim.kubectl("delete", "clusterrolebinding", cluster_role)
    rbac_kubesim.kubectl("delete", "clusterrole", cluster_role)


def test_a_role_binding_of_the_built_in_view_role(rbac_kubesim, request, tmp_path):
    home, elsewhere = new_namespace(rbac_kubesim, request.node.name), new_namespace(rbac_kubesim, request.node.name)
    for namespace in (home, elsewhere):
        rbac_kubesim.kubectl("create", "deployment", "web", "-n", namespace, "--image=registry.example.com/app:1.0")
    account = Account(rbac_kubesim, tmp_path, home)
    rbac_kubesim.kubectl("create", "rolebinding", "viewer", "-n", home, "--clusterrole=view", f"--serviceaccount={home}:{account.name}")
    assert account.kubectl("get", "deployment", "web", "-o", "name").stdout.split() == ["deployment.apps/web"]
    assert "cannot patch resource \"deployments\"" in server_error(account.kubectl("label", "deployment", "web", "tier=web"))
    assert "cannot get resource \"deployments\"" in server_error(account.kubectl("get", "deployment", "web", "-n", elsewhere))
    assert server_error(account.kubectl("get", "secrets")).startswith("Error from server (Forbidden): secrets is forbidden")


def test_group_and_user_subjects(rbac_kubesim, namespace, tmp_path):
    create_configmaps(rbac_kubesim, namespace, "settings")
    rbac_kubesim.kubectl("create", "role", "configmap-reader", "-n", namespace, "--verb=get,list", "--resource=configmaps")
    rbac_kubesim.kubectl("create", "rolebinding", "accounts", "-n", namespace, "--role=configmap-reader", f"--group=system:serviceaccounts:{namespace}")
    rbac_kubesim.kubectl("create", "rolebinding", "people", "-n", namespace, "--role=configmap-reader", "--user=jane", "--group=devs")
    # Every service account of the namespace is in its group.
    assert Account(rbac_kubesim, tmp_path, namespace).kubectl("get", "configmaps", "-o", "name").stdout.split() == ["configmap/settings"]
    assert rbac_kubesim.kubectl("--as=jane", "get", "configmaps", "-n", namespace, "-o", "name").stdout.split() == ["configmap/settings"]
    assert rbac_kubesim.kubectl("--as=joe", "--as-group=devs", "get", "configmaps", "-n", namespace, "-o", "name").stdout.split() == ["configmap/settings"]
    assert server_error(rbac_kubesim.kubectl("--as=joe", "get", "configmaps", "-n", namespace, check=False)) == (
        f'Error from server (Forbidden): configmaps is forbidden: {denial("joe", "list", "configmaps", namespace=namespace)}')


def test_a_binding_to_a_missing_role_is_the_reason_of_a_denial(rbac_kubesim, namespace, tmp_path):
    account = Account(rbac_kubesim, tmp_path, namespace, [rule([""], ["configmaps"], ["list"])])
    rbac_kubesim.kubectl("create", "rolebinding", "dangling", "-n", namespace, "--role=absent", f"--serviceaccount={namespace}:{account.name}")
    assert account.kubectl("get", "configmaps").returncode == 0
    assert failure(kubernetes.client.CoreV1Api(account.client()).list_namespaced_secret, namespace) == (403, forbidden(
        f'secrets is forbidden: {denial(account.username, "list", "secrets", namespace=namespace)}: '
        'RBAC: role.rbac.authorization.k8s.io "absent" not found', "secrets"))


def test_kubectl_apply_needs_get_and_patch_or_create_and_server_side_apply_patch(rbac_kubesim, namespace, tmp_path):
    manifest = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"mode": "fast"}}
    rbac_kubesim.kubectl("apply", "-n", namespace, "-f", "-", stdin=yaml.safe_dump(manifest))
    updater = Account(rbac_kubesim, tmp_path, namespace, [rule([""], ["configmaps"], ["get", "patch"])])
    changed = dict(manifest, data={"mode": "slow"})
    assert updater.kubectl("apply", "-f", "-", stdin=yaml.safe_dump(changed)).returncode == 0
    created = updater.kubectl("apply", "-f", "-", stdin=yaml.safe_dump(dict(manifest, metadata={"name": "new"})))
    assert f'configmaps is forbidden: {denial(updater.username, "create", "configmaps", namespace=namespace)}' in server_error(created)

    creator = Account(rbac_kubesim, tmp_path, namespace, [rule([""], ["configmaps"], ["get", "create"])])
    assert creator.kubectl("apply", "-f", "-", stdin=yaml.safe_dump(dict(manifest, metadata={"name": "new"}))).returncode == 0
    server_side = creator.kubectl("apply", "--server-side", "-f", "-", stdin=yaml.safe_dump(dict(manifest, metadata={"name": "newer"})))
    assert f'configmaps "newer" is forbidden: {denial(creator.username, "patch", "configmaps", namespace=namespace)}' in server_error(server_side)


def test_kubectl_auth_can_i_and_self_subject_access_reviews(rbac_kubesim, namespace, tmp_path):
    account = Account(rbac_kubesim, tmp_path, namespace, [rule(["apps"], ["deployments"], ["get", "patch"]),
                                                          rule(["apps"], ["deployments/scale"], ["patch"])])
    allowed = account.kubectl("auth", "can-i", "patch", "deployments")
    assert (allowed.stdout, allowed.returncode) == ("yes\n", 0)
    refused = account.kubectl("auth", "can-i", "delete", "deployments")
    assert (refused.stdout, refused.returncode) == ("no\n", 1)
    assert account.kubectl("auth", "can-i", "patch", "deployments", "--subresource=scale").stdout == "yes\n"
    assert account.kubectl("auth", "can-i", "create", "pods", "--subresource=eviction").stdout == "no\n"
    assert account.kubectl("auth", "can-i", "get", "deployments", "-n", "default").stdout == "no\n"
    listed = {line.split()[0]: line[line.rindex("["):].strip() for line in account.kubectl("auth", "can-i", "--list").stdout.splitlines()[1:]}
    assert listed["deployments.apps"] == "[get patch]"
    assert listed["selfsubjectaccessreviews.authorization.k8s.io"] == "[create]"
    assert rbac_kubesim.kubectl("auth", "can-i", "*", "*").stdout == "yes\n"

    review = kubernetes.client.AuthorizationV1Api(account.client()).create_self_subject_access_review(
        {"spec": {"resourceAttributes": {"namespace": namespace, "verb": "patch", "group": "apps", "resource": "deployments"}}})
    assert review.status.allowed is True
    assert review.status.reason == (f'RBAC: allowed by RoleBinding "{account.name}/{namespace}" of Role "{account.name}" '
                                    f'to ServiceAccount "{account.name}/{namespace}"')
    review = kubernetes.client.AuthorizationV1Api(account.client()).create_self_subject_access_review(
        {"spec": {"nonResourceAttributes": {"path": "/metrics", "verb": "get"}}})
    assert (review.status.allowed, review.status.reason) == (False, None)

    # The admin asks on the account's behalf.
    admin = kubernetes.client.AuthorizationV1Api(api_client(rbac_kubesim))
    groups = ["system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated"]
    review = admin.create_subject_access_review({"spec": {"user": account.username, "groups": groups, "resourceAttributes": {
        "namespace": namespace, "verb": "patch", "group": "apps", "resource": "deployments", "subresource": "scale"}}})
    assert review.status.allowed is True
    review = admin.create_namespaced_local_subject_access_review(namespace, {"metadata": {"namespace": namespace}, "spec": {
        "user": account.username, "groups": groups, "resourceAttributes": {"verb": "delete", "group": "apps", "resource": "deployments"}}})
    assert (review.status.allowed, review.spec.resource_attributes.namespace) == (False, namespace)


def test_discovery_and_health_for_any_authenticated_user_and_observers_without_credentials(rbac_kubesim, namespace, tmp_path):
    account = Account(rbac_kubesim, tmp_path, namespace)
    assert "deployments" in account.kubectl("api-resources", "--no-headers").stdout
    assert account.kubectl("get", "--raw", "/version").returncode == 0
    assert account.kubectl("get", "--raw", "/readyz").stdout == "ok"
    assert server_error(account.kubectl("get", "--raw", "/metrics")) == (
        f'Error from server (Forbidden): forbidden: User "{account.username}" cannot get path "/metrics"')
    # No credentials: the anonymous user, which may only read the health checks, /version and (kubesim's grant) /metrics.
    assert http(rbac_kubesim, "GET", "/apis") == (403, forbidden('forbidden: User "system:anonymous" cannot get path "/apis"'))
    assert http(rbac_kubesim, "GET", "/version")[0] == 200
    assert http(rbac_kubesim, "GET", "/api/v1/namespaces/default/pods") == (403, forbidden(
        f'pods is forbidden: {denial("system:anonymous", "list", "pods", namespace="default")}', "pods"))
    assert "apiserver_request_total" in anonymous_metrics(rbac_kubesim)
    assert http(rbac_kubesim, "GET", "/kubesim/v1/faults") == (200, {"faults": []})


def test_roles_and_bindings_cannot_grant_more_than_their_writer_holds(rbac_kubesim, namespace, tmp_path):
    writer = Account(rbac_kubesim, tmp_path, namespace, [rule(["rbac.authorization.k8s.io"], ["roles", "rolebindings"], ["get", "create", "patch"]),
                                                         rule([""], ["configmaps"], ["get", "list"])])
    small = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "small"},
             "rules": [rule([""], ["configmaps"], ["get"])]}
    assert writer.kubectl("create", "-f", "-", stdin=yaml.safe_dump(small)).returncode == 0
    bigger = dict(small, metadata={"name": "bigger"}, rules=[rule([""], ["configmaps", "secrets"], ["get", "delete"])])
    refused = server_error(writer.kubectl("create", "-f", "-", stdin=yaml.safe_dump(bigger)))
    groups = f'["system:serviceaccounts" "system:serviceaccounts:{namespace}" "system:authenticated"]'
    assert refused == (f'Error from server (Forbidden): error when creating "STDIN": roles.rbac.authorization.k8s.io "bigger" is forbidden: '
                       f'user "{writer.username}" (groups={groups}) is attempting to grant RBAC permissions not currently held:')
    body = failure(kubernetes.client.RbacAuthorizationV1Api(writer.client()).create_namespaced_role, namespace, bigger)[1]
    assert body["message"].splitlines()[1:] == ['{APIGroups:[""], Resources:["configmaps"], Verbs:["delete"]}',
                                                '{APIGroups:[""], Resources:["secrets"], Verbs:["get" "delete"]}']
    assert body["details"] == {"name": "bigger", "group": "rbac.authorization.k8s.io", "kind": "roles"}
    edit = server_error(writer.kubectl("create", "rolebinding", "editors", "--clusterrole=edit", f"--serviceaccount={namespace}:{writer.name}"))
    assert 'rolebindings.rbac.authorization.k8s.io "editors" is forbidden: user' in edit
    assert writer.kubectl("create", "rolebinding", "readers", "--role=small", f"--serviceaccount={namespace}:{writer.name}").returncode == 0

    # May bind edit, and may escalate roles: both go through.
    rbac_kubesim.kubectl("create", "role", "delegate", "-n", namespace, "--verb=bind", "--resource=clusterroles.rbac.authorization.k8s.io",
                         "--resource-name=edit")
    rbac_kubesim.kubectl("create", "role", "escalate", "-n", namespace, "--verb=escalate", "--resource=roles.rbac.authorization.k8s.io")
    for role in ("delegate", "escalate"):
        rbac_kubesim.kubectl("create", "rolebinding", role, "-n", namespace, f"--role={role}", f"--serviceaccount={namespace}:{writer.name}")
    assert writer.kubectl("create", "rolebinding", "editors", "--clusterrole=edit", f"--serviceaccount={namespace}:{writer.name}").returncode == 0
    assert writer.kubectl("create", "-f", "-", stdin=yaml.safe_dump(bigger)).returncode == 0


def test_rbac_kinds_through_kubectl(rbac_kubesim, namespace):
    kubectl = rbac_kubesim.kubectl
    kubectl("create", "role", "pod-reader", "-n", namespace, "--verb=get,list", "--resource=pods")
    assert as_json(kubectl("get", "role", "pod-reader", "-n", namespace, "-o", "json", check=False))["rules"] == [
        {"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]}]
    kubectl("create", "rolebinding", "readers", "-n", namespace, "--role=pod-reader", "--user=jane", "--group=devs", f"--serviceaccount={namespace}:robot")
    binding = as_json(kubectl("get", "rolebinding", "readers", "-n", namespace, "-o", "json", check=False))
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "pod-reader"}
    assert {s["kind"]: s.get("apiGroup", "") for s in binding["subjects"]} == {
        "User": "rbac.authorization.k8s.io", "Group": "rbac.authorization.k8s.io", "ServiceAccount": ""}
    wide = kubectl("get", "rolebinding", "readers", "-n", namespace, "-o", "wide").stdout.splitlines()
    assert wide[0].split() == ["NAME", "ROLE", "AGE", "USERS", "GROUPS", "SERVICEACCOUNTS"]
    assert wide[1].split()[:2] == ["readers", "Role/pod-reader"] and wide[1].split()[3:] == ["jane", "devs", f"{namespace}/robot"]
    assert kubectl("get", "role", "-n", namespace).stdout.split()[:3] == ["NAME", "CREATED", "AT"]

    cluster_roles = kubectl("get", "clusterroles", "-o", "name").stdout.split()
    for name in ("cluster-admin", "admin", "edit", "view", "system:discovery", "system:basic-user", "system:public-info-viewer"):
        assert f"clusterrole.rbac.authorization.k8s.io/{name}" in cluster_roles
    view = as_json(kubectl("get", "clusterrole", "view", "-o", "json", check=False))
    assert {"verbs": ["get", "list", "watch"], "apiGroups": [""], "resources": ["namespaces"]} in view["rules"]
    assert kubectl("auth", "can-i", "--list", "--as=system:serviceaccount:x:y", "-n", namespace).returncode == 0

    refused = kubectl("create", "-n", namespace, "-f", "-", check=False, stdin=yaml.safe_dump(
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "bad"},
         "rules": [{"verbs": ["get"], "nonResourceURLs": ["/healthz"]}, {"verbs": ["get"], "resources": ["pods"]}]}))
    assert refused.stderr.splitlines() == [
        'The Role "bad" is invalid: ',
        '* rules[0].nonResourceURLs: Invalid value: []string{"/healthz"}: namespaced rules cannot apply to non-resource URLs',
        '* rules[1].apiGroups: Required value: resource rules must supply at least one api group']
    changed = kubectl("patch", "rolebinding", "readers", "-n", namespace, "--type=merge", "-p", '{"roleRef": {"name": "other"}}', check=False)
    assert ('roleRef: Invalid value: rbac.RoleRef{APIGroup:"rbac.authorization.k8s.io", Kind:"Role", Name:"other"}: '
            'cannot change roleRef') in changed.stderr


def test_cluster_roles_labelled_to_aggregate_extend_the_built_in_roles(rbac_kubesim):
    extra = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
             "metadata": {"name": "routes-viewer", "labels": {"rbac.authorization.k8s.io/aggregate-to-view": "true"}},
             "rules": [rule(["route.openshift.io"], ["routes"], ["get", "list", "watch"])]}
    rbac_kubesim.kubectl("apply", "-f", "-", stdin=yaml.safe_dump(extra))

    def rules_of(name):
        return json.loads(rbac_kubesim.kubectl("get", "clusterrole", name, "-o", "json").stdout)["rules"]

    for aggregated in ("view", "edit", "admin"):
        poll(lambda name=aggregated: rules_of(name), lambda rules: extra["rules"][0] in rules, f"{aggregated} to aggregate the new rule")
    rbac_kubesim.kubectl("delete", "clusterrole", "routes-viewer")
    poll(lambda: rules_of("admin"), lambda rules: extra["rules"][0] not in rules, "admin to drop the rule")


def test_without_rbac_any_token_is_accepted_and_everything_allowed(shared_kubesim):
    assert shared_kubesim.kubectl("--token=anything", "get", "namespace", "default", "-o", "name").stdout.split() == ["namespace/default"]
    assert shared_kubesim.kubectl("--token=anything", "auth", "can-i", "delete", "nodes").stdout == "yes\n"
    assert json.loads(shared_kubesim.kubectl("auth", "whoami", "-o", "json").stdout)["status"]["userInfo"]["groups"] == [
        "system:masters", "system:authenticated"]
    token = shared_kubesim.kubectl("create", "token", "default", "-n", "default").stdout.strip()
    assert token.count(".") == 2
