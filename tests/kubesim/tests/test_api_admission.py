"""Defaulting and validation on create and update, as the real API server applies them."""

import json

import kubernetes
import pytest

from api_support import api_client, deployment, failure, http, new_namespace, pod


@pytest.fixture(scope="module")
def clients(shared_kubesim):
    client = api_client(shared_kubesim)
    return kubernetes.client.CoreV1Api(client), kubernetes.client.AppsV1Api(client)


def raw(simulator, path):
    return http(simulator, "GET", path)[1]


def test_deployment_defaults(shared_kubesim, clients, request):
    _, apps = clients
    namespace = new_namespace(shared_kubesim, request.node.name)
    body = deployment("web", image="registry.example.com/app:latest")
    del body["spec"]["replicas"]
    apps.create_namespaced_deployment(namespace, body)
    spec = raw(shared_kubesim, f"/apis/apps/v1/namespaces/{namespace}/deployments/web")["spec"]
    assert (spec["replicas"], spec["revisionHistoryLimit"], spec["progressDeadlineSeconds"]) == (1, 10, 600)
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}
    pod_spec = spec["template"]["spec"]
    assert (pod_spec["restartPolicy"], pod_spec["terminationGracePeriodSeconds"], pod_spec["dnsPolicy"], pod_spec["schedulerName"]) == (
        "Always", 30, "ClusterFirst", "default-scheduler")
    container = pod_spec["containers"][0]
    assert (container["imagePullPolicy"], container["terminationMessagePath"]) == ("Always", "/dev/termination-log")


def test_statefulset_defaults(shared_kubesim, request):
    namespace = new_namespace(shared_kubesim, request.node.name)
    body = deployment("db", replicas=0)
    body.update(kind="StatefulSet")
    body["spec"]["serviceName"] = "db"
    shared_kubesim.kubectl("apply", "-n", namespace, "-f", "-", stdin=json.dumps(body))
    spec = raw(shared_kubesim, f"/apis/apps/v1/namespaces/{namespace}/statefulsets/db")["spec"]
    assert spec["podManagementPolicy"] == "OrderedReady"
    assert spec["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}


def test_service_defaults_allocation_and_immutable_cluster_ip(shared_kubesim, clients, request):
    core, _ = clients
    namespace = new_namespace(shared_kubesim, request.node.name)
    created = core.create_namespaced_service(namespace, {"metadata": {"name": "web"}, "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}})
    assert created.spec.type == "ClusterIP" and created.spec.session_affinity == "None"
    assert created.spec.cluster_ip.startswith("10.96.") and created.spec.cluster_ips == [created.spec.cluster_ip]
    assert (created.spec.ports[0].protocol, created.spec.ports[0].target_port) == ("TCP", 80)
    replacement = {"metadata": {"name": "web", "resourceVersion": created.metadata.resource_version},
                   "spec": {"selector": {"app": "web2"}, "ports": [{"port": 80}]}}
    assert core.replace_namespaced_service("web", namespace, replacement).spec.cluster_ip == created.spec.cluster_ip
    status, body = failure(core.patch_namespaced_service, "web", namespace, {"spec": {"clusterIP": "10.96.200.200"}})
    assert (status, body["reason"]) == (422, "Invalid")
    status, body = failure(core.create_namespaced_service, namespace, {"metadata": {"name": "bad"}, "spec": {"ports": [{"port": 0}]}})
    assert status == 422 and body["details"]["causes"][0]["field"] == "spec.ports[0].port"


def test_pod_defaults_and_priority_class(shared_kubesim, clients, request):
    core, _ = clients
    namespace = new_namespace(shared_kubesim, request.node.name)
    kubernetes.client.SchedulingV1Api(api_client(shared_kubesim)).create_priority_class(
        {"metadata": {"name": f"{namespace}-high"}, "value": 5000})
    body = pod("prioritised", {"app": "p"})
    body["spec"]["priorityClassName"] = f"{namespace}-high"
    created = core.create_namespaced_pod(namespace, body)
    assert created.spec.priority == 5000 and created.spec.restart_policy == "Always" and created.spec.enable_service_links is True
    assert created.status.qos_class == "BestEffort"
    missing = pod("orphan", {"app": "p"})
    missing["spec"]["priorityClassName"] = "no-such-class"
    status, answer = failure(core.create_namespaced_pod, namespace, missing)
    assert (status, answer["reason"]) == (403, "Forbidden")
    assert answer["message"] == 'pods "orphan" is forbidden: no PriorityClass with name no-such-class was found'


def test_namespace_gets_phase_and_name_label(shared_kubesim, clients, request):
    core, _ = clients
    namespace = new_namespace(shared_kubesim, request.node.name)
    created = core.read_namespace(namespace)
    assert created.status.phase == "Active" and created.metadata.labels == {"kubernetes.io/metadata.name": namespace}


@pytest.mark.parametrize("change,field", [
    (lambda d: d["spec"]["template"]["metadata"].update(labels={"app": "other"}), "spec.template.metadata.labels"),
    (lambda d: d["spec"]["template"]["spec"]["containers"][0].pop("image"), "spec.template.spec.containers[0].image"),
    (lambda d: d["spec"]["template"]["spec"].update(containers=[]), "spec.template.spec.containers"),
    (lambda d: d["spec"].pop("selector"), "spec.selector"),
], ids=["selector-mismatch", "missing-image", "no-containers", "no-selector"])
def test_invalid_deployments(shared_kubesim, clients, request, change, field):
    _, apps = clients
    namespace = new_namespace(shared_kubesim, request.node.name)
    body = deployment("web")
    change(body)
    status, answer = http(shared_kubesim, "POST", f"/apis/apps/v1/namespaces/{namespace}/deployments", body=body)
    assert status == 422 and field in [cause["field"] for cause in answer["details"]["causes"]]
    assert answer["message"].startswith('Deployment.apps "web" is invalid: ')
    assert apps.list_namespaced_deployment(namespace).items == []


def test_deployment_selector_is_immutable(shared_kubesim, clients, request):
    _, apps = clients
    namespace = new_namespace(shared_kubesim, request.node.name)
    apps.create_namespaced_deployment(namespace, deployment("web", replicas=0))
    changed = {"spec": {"selector": {"matchLabels": {"app": "web", "extra": "x"}},
                        "template": {"metadata": {"labels": {"app": "web", "extra": "x"}}}}}
    status, answer = failure(apps.patch_namespaced_deployment, "web", namespace, changed)
    assert status == 422 and answer["details"]["causes"][0]["field"] == "spec.selector"
    assert answer["details"]["causes"][0]["message"].endswith("field is immutable")


def test_unknown_fields_are_rejected_strictly_or_dropped_with_a_warning(shared_kubesim, request):
    namespace = new_namespace(shared_kubesim, request.node.name)
    body = deployment("typo", replicas=0)
    body["spec"]["replica"] = 2
    body["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    strict = shared_kubesim.kubectl("create", "-n", namespace, "-f", "-", stdin=json.dumps(body), check=False)
    assert strict.returncode != 0
    assert ('Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.replica", '
            'unknown field "spec.template.spec.containers[0].imagePullPolicyy"') in strict.stderr
    warned = shared_kubesim.kubectl("create", "-n", namespace, "-f", "-", "--validate=warn", stdin=json.dumps(body))
    assert 'Warning: unknown field "spec.replica"' in warned.stderr
    stored = raw(shared_kubesim, f"/apis/apps/v1/namespaces/{namespace}/deployments/typo")
    assert "replica" not in stored["spec"] and "imagePullPolicyy" not in stored["spec"]["template"]["spec"]["containers"][0]
