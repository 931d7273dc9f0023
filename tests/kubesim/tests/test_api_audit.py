"""``kubesim serve --audit-log-path``: every client request as an audit.k8s.io/v1 Event line at the Metadata level, as
kube-apiserver's log backend writes it: who asked (and whom they impersonated), the verb and objectRef the URL names,
the response status and the authorizer's decision, one ResponseComplete line per request and a ResponseStarted line
for a watch."""

import json

import kubernetes
import pytest
from api_support import api_client, failure, http
from rbac_support import RBAC_ARGS, Account, rule
from traffic_support import new_namespace, poll


@pytest.fixture(scope="module")
def audit_path(tmp_path_factory):
    return tmp_path_factory.mktemp("audit") / "audit.log"


@pytest.fixture(scope="module")
def audited(module_kubesim_factory, audit_path):
    return module_kubesim_factory(extra_args=[*RBAC_ARGS, "--audit-log-path", str(audit_path)])


def events(audit_path, **wanted):
    """The events of the log whose top-level fields have the values ``wanted``."""
    with open(audit_path, encoding="utf-8") as handle:
        found = [json.loads(line) for line in handle]
    return [event for event in found if all(event.get(key) == value for key, value in wanted.items())]


def only(audit_path, **wanted):
    found = events(audit_path, **wanted)
    assert len(found) == 1, found
    return found[0]


def test_an_allowed_request_is_the_account_the_verb_the_object_and_the_rbac_reason(audited, audit_path, request, tmp_path):
    namespace = new_namespace(audited, request.node.name)
    audited.kubectl("create", "configmap", "settings", "-n", namespace)
    account = Account(audited, tmp_path, namespace, [rule([""], ["configmaps"], ["get"])])
    kubernetes.client.CoreV1Api(account.client()).read_namespaced_config_map("settings", namespace)

    event = only(audit_path, requestURI=f"/api/v1/namespaces/{namespace}/configmaps/settings")
    received, completed = event.pop("requestReceivedTimestamp"), event.pop("stageTimestamp")
    assert received <= completed and completed.endswith("Z") and len(completed) == len("2025-01-01T00:00:00.000000Z")
    user = event.pop("user")
    assert user["username"] == account.username
    assert user["groups"] == ["system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated"]
    assert list(user["extra"]) == ["authentication.kubernetes.io/credential-id"]
    assert event.pop("auditID") and event.pop("userAgent").startswith("OpenAPI-Generator/")
    assert event == {
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata", "stage": "ResponseComplete",
        "requestURI": f"/api/v1/namespaces/{namespace}/configmaps/settings", "verb": "get", "sourceIPs": ["127.0.0.1"],
        "objectRef": {"resource": "configmaps", "namespace": namespace, "name": "settings", "apiVersion": "v1"},
        "responseStatus": {"metadata": {}, "code": 200},
        "annotations": {"authorization.k8s.io/decision": "allow",
                        "authorization.k8s.io/reason": f'RBAC: allowed by RoleBinding "{account.name}/{namespace}" of Role '
                                                       f'"{account.name}" to ServiceAccount "{account.name}/{namespace}"'},
    }
    # The field order of the real Event.
    with open(audit_path, encoding="utf-8") as handle:
        line = next(text for text in handle if f'"requestURI":"/api/v1/namespaces/{namespace}/configmaps/settings"' in text)
    assert list(json.loads(line)) == ["kind", "apiVersion", "level", "auditID", "stage", "requestURI", "verb", "user", "sourceIPs",
                                      "userAgent", "objectRef", "responseStatus", "requestReceivedTimestamp", "stageTimestamp", "annotations"]


def test_a_denied_request_keeps_its_status_and_a_subresource_its_group(audited, audit_path, request, tmp_path):
    namespace = new_namespace(audited, request.node.name)
    account = Account(audited, tmp_path, namespace, [rule(["apps"], ["deployments"], ["get"])])
    apps = kubernetes.client.AppsV1Api(account.client())
    status, body = failure(apps.patch_namespaced_deployment_scale, "web", namespace, {"spec": {"replicas": 0}})
    assert status == 403

    event = only(audit_path, requestURI=f"/apis/apps/v1/namespaces/{namespace}/deployments/web/scale")
    assert (event["verb"], event["user"]["username"]) == ("patch", account.username)
    assert event["objectRef"] == {"resource": "deployments", "namespace": namespace, "name": "web", "apiGroup": "apps",
                                  "apiVersion": "v1", "subresource": "scale"}
    assert event["responseStatus"] == {"metadata": {}, **{key: body[key] for key in ("status", "message", "reason", "details", "code")}}
    assert event["annotations"] == {"authorization.k8s.io/decision": "forbid", "authorization.k8s.io/reason": ""}


def test_lists_creates_and_watches(audited, audit_path, request):
    namespace = new_namespace(audited, request.node.name)
    core = kubernetes.client.CoreV1Api(api_client(audited))
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "made"}})
    core.list_namespaced_config_map(namespace, field_selector="metadata.name=made")
    for _ in kubernetes.watch.Watch().stream(core.list_namespaced_config_map, namespace, timeout_seconds=1):
        pass

    created = only(audit_path, requestURI=f"/api/v1/namespaces/{namespace}/configmaps", verb="create")
    assert created["objectRef"] == {"resource": "configmaps", "namespace": namespace, "apiVersion": "v1"}
    assert created["responseStatus"] == {"metadata": {}, "code": 201}
    # The admin is in system:masters, which is allowed before RBAC is asked: no reason.
    assert created["user"]["username"] == "kubernetes-admin"
    assert created["annotations"] == {"authorization.k8s.io/decision": "allow", "authorization.k8s.io/reason": ""}
    listed = only(audit_path, verb="list", requestURI=f"/api/v1/namespaces/{namespace}/configmaps?fieldSelector=metadata.name%3Dmade")
    assert listed["objectRef"] == {"resource": "configmaps", "namespace": namespace, "name": "made", "apiVersion": "v1"}
    # A watch: a line when its stream starts and one when it ends, under one audit ID.
    stages = poll(lambda: [(event["stage"], event["auditID"], event["responseStatus"]["code"])
                           for event in events(audit_path, verb="watch") if event["objectRef"].get("namespace") == namespace],
                  lambda found: len(found) == 2, "the watch's end")
    assert [stage for stage, _, _ in stages] == ["ResponseStarted", "ResponseComplete"]
    assert len({audit_id for _, audit_id, _ in stages}) == 1 and {code for _, _, code in stages} == {200}


def test_impersonation_unauthenticated_and_non_resource_requests_and_not_kubesims_own_endpoints(audited, audit_path, request, tmp_path):
    namespace = new_namespace(audited, request.node.name)
    account = Account(audited, tmp_path, namespace, [rule([""], ["pods"], ["list"])])
    audited.kubectl("get", "pods", "-n", namespace, "--as", account.username)
    impersonated = only(audit_path, verb="list", requestURI=f"/api/v1/namespaces/{namespace}/pods?limit=500")
    assert impersonated["user"]["username"] == "kubernetes-admin"
    assert impersonated["impersonatedUser"]["username"] == account.username
    assert impersonated["annotations"]["authorization.k8s.io/decision"] == "allow"

    assert http(audited, "GET", f"/api/v1/namespaces/{namespace}/secrets?audit=bad-token", headers={"Authorization": "Bearer nope"})[0] == 401
    refused = only(audit_path, requestURI=f"/api/v1/namespaces/{namespace}/secrets?audit=bad-token")
    assert (refused["user"], refused["responseStatus"]["code"], refused["responseStatus"]["reason"]) == ({}, 401, "Unauthorized")
    assert "annotations" not in refused

    assert http(audited, "GET", "/version?audit=anonymous")[0] == 200
    anonymous = only(audit_path, requestURI="/version?audit=anonymous")
    assert (anonymous["verb"], anonymous["user"]["username"], "objectRef" in anonymous) == ("get", "system:anonymous", False)

    assert http(audited, "GET", "/kubesim/v1/faults")[0] == 200
    assert not [event for event in events(audit_path) if event["requestURI"].startswith("/kubesim/")]
