"""Subresources: scale (kubectl scale, the Scale object), status, and pod eviction against disruption budgets."""

import json

import kubernetes
import pytest

from api_support import api_client, deployment, failure, http, make_ready, new_namespace, pod, wait_until


@pytest.fixture(scope="module")
def clients(shared_kubesim):
    client = api_client(shared_kubesim)
    return kubernetes.client.CoreV1Api(client), kubernetes.client.AppsV1Api(client), kubernetes.client.PolicyV1Api(client)


def test_kubectl_scale_goes_through_the_scale_subresource(shared_kubesim, clients, request):
    _, apps, _ = clients
    namespace = new_namespace(shared_kubesim, request.node.name)
    apps.create_namespaced_deployment(namespace, deployment("web", replicas=0))
    shared_kubesim.kubectl("scale", "deployment/web", "-n", namespace, "--replicas=2")
    scale = apps.read_namespaced_deployment_scale("web", namespace)
    assert (scale.spec.replicas, scale.status.selector) == (2, "app=web")
    assert apps.read_namespaced_deployment("web", namespace).metadata.generation == 2
    status, body = http(shared_kubesim, "GET", f"/apis/apps/v1/namespaces/{namespace}/deployments/web/scale")
    assert (status, body["kind"], body["apiVersion"]) == (200, "Scale", "autoscaling/v1")
    apps.patch_namespaced_deployment_scale("web", namespace, {"spec": {"replicas": 0}})
    assert apps.read_namespaced_deployment("web", namespace).spec.replicas == 0
    status, body = failure(apps.patch_namespaced_deployment_scale, "web", namespace, {"spec": {"replicas": -3}})
    assert (status, body["reason"]) == (422, "Invalid")


def test_scale_with_a_stale_resource_version_conflicts(shared_kubesim, clients, request):
    _, apps, _ = clients
    namespace = new_namespace(shared_kubesim, request.node.name)
    apps.create_namespaced_deployment(namespace, deployment("web", replicas=0))
    scale = apps.read_namespaced_deployment_scale("web", namespace)
    apps.patch_namespaced_deployment("web", namespace, {"metadata": {"labels": {"bump": "1"}}})
    scale.spec.replicas = 1
    status, body = failure(apps.replace_namespaced_deployment_scale, "web", namespace, scale)
    assert (status, body["reason"]) == (409, "Conflict")


def test_status_update_leaves_spec_alone_and_main_update_leaves_status_alone(shared_kubesim, clients, request):
    _, apps, _ = clients
    namespace = new_namespace(shared_kubesim, request.node.name)
    apps.create_namespaced_deployment(namespace, deployment("web", replicas=0))
    path = f"/apis/apps/v1/namespaces/{namespace}/deployments/web"

    def put(target, change):
        """Read, change and write the Deployment again until no controller's write came in between (409)."""
        for _ in range(10):
            current = http(shared_kubesim, "GET", path)[1]
            change(current)
            status, written = http(shared_kubesim, "PUT", target, body=current)
            if status != 409:
                return status, written
        raise AssertionError("the Deployment kept changing under the test")

    def spec_and_status(deployment_):
        deployment_["spec"]["replicas"] = 7
        deployment_["status"] = dict(deployment_.get("status") or {}, collisionCount=4)

    status, written = put(f"{path}/status", spec_and_status)
    assert status == 200 and written["spec"]["replicas"] == 0 and written["status"]["collisionCount"] == 4

    def labels_and_status(deployment_):
        deployment_["status"]["collisionCount"] = 9
        deployment_["metadata"]["labels"]["changed"] = "yes"

    status, updated = put(path, labels_and_status)
    assert status == 200 and updated["status"]["collisionCount"] == 4 and updated["metadata"]["labels"]["changed"] == "yes"


def _budget_with_ready_pods(simulator, namespace, pod_count, min_available):
    core = kubernetes.client.CoreV1Api(api_client(simulator))
    names = [f"member-{index}" for index in range(pod_count)]
    for name in names:
        core.create_namespaced_pod(namespace, pod(name, {"app": "guarded"}))
    make_ready(simulator, namespace, names)
    kubernetes.client.PolicyV1Api(api_client(simulator)).create_namespaced_pod_disruption_budget(namespace, {
        "metadata": {"name": "guard"}, "spec": {"minAvailable": min_available, "selector": {"matchLabels": {"app": "guarded"}}}})
    return names


def _evict(simulator, namespace, name):
    eviction = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name, "namespace": namespace}}
    return http(simulator, "POST", f"/api/v1/namespaces/{namespace}/pods/{name}/eviction", body=eviction)


def test_eviction_respects_the_disruption_budget(shared_kubesim, clients, request):
    core, _, policy = clients
    namespace = new_namespace(shared_kubesim, request.node.name)
    first, second, _ = _budget_with_ready_pods(shared_kubesim, namespace, pod_count=3, min_available=2)
    wait_until(lambda: policy.read_namespaced_pod_disruption_budget("guard", namespace).status.disruptions_allowed == 1,
               message="the budget to allow one disruption")

    status, body = _evict(shared_kubesim, namespace, first)
    assert (status, body["kind"], body["status"]) == (201, "Status", "Success")
    evicted = json.loads(shared_kubesim.kubectl("get", "pod", first, "-n", namespace, "-o", "json", "--ignore-not-found").stdout or "{}")
    assert not evicted or evicted["metadata"].get("deletionTimestamp")
    assert policy.read_namespaced_pod_disruption_budget("guard", namespace).status.disruptions_allowed == 0

    status, body = _evict(shared_kubesim, namespace, second)
    assert status == 429
    assert body["reason"] == "TooManyRequests"
    assert body["message"] == "Cannot evict pod as it would violate the pod's disruption budget."
    assert body["details"]["causes"] == [{"reason": "DisruptionBudget", "message": "The disruption budget guard needs 2 healthy pods and has 2 currently"}]
    assert core.read_namespaced_pod(second, namespace).metadata.deletion_timestamp is None


def test_eviction_without_a_budget_deletes_and_unknown_pod_is_404(shared_kubesim, request):
    namespace = new_namespace(shared_kubesim, request.node.name)
    core = kubernetes.client.CoreV1Api(api_client(shared_kubesim))
    core.create_namespaced_pod(namespace, pod("free", {"app": "free"}))
    make_ready(shared_kubesim, namespace, ["free"])
    assert _evict(shared_kubesim, namespace, "free")[0] == 201
    status, body = _evict(shared_kubesim, namespace, "ghost")
    assert (status, body["message"]) == (404, 'pods "ghost" not found')
