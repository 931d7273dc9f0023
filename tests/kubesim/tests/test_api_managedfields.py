"""metadata.managedFields on every write: the manager from fieldManager or the User-Agent, the fields each
write set, ownership moving between managers, and the controllers' and the kubelet's own entries."""

import json

import kubernetes
from api_support import api_client, new_namespace
from traffic_support import poll


def get_json(kubesim, namespace, *what):
    """An object as kubectl reads it, managedFields included (kubectl hides them unless asked)."""
    return json.loads(kubesim.kubectl("get", *what, "-n", namespace, "-o", "json", "--show-managed-fields").stdout)


def entries(obj):
    """{(manager, operation, subresource): fieldsV1} of an object read as JSON."""
    found = {}
    for entry in obj["metadata"].get("managedFields") or []:
        assert entry["fieldsType"] == "FieldsV1" and entry["time"] and entry["apiVersion"] == obj["apiVersion"]
        found[(entry["manager"], entry["operation"], entry.get("subresource", ""))] = entry["fieldsV1"]
    return found


def test_a_manager_owns_what_it_set_and_loses_what_another_changes(shared_kubesim, request):
    namespace = new_namespace(shared_kubesim, request.node.name)
    client = api_client(shared_kubesim)
    core = kubernetes.client.CoreV1Api(client)
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "settings", "labels": {"tier": "web"}}, "data": {"a": "1", "b": "2"}})
    core.patch_namespaced_config_map("settings", namespace, {"data": {"a": "3"}}, field_manager="tuner")
    managed = entries(client.sanitize_for_serialization(core.read_namespaced_config_map("settings", namespace)))
    # The Python client names no manager: the server takes its User-Agent's product, OpenAPI-Generator.
    assert managed == {
        ("OpenAPI-Generator", "Update", ""): {"f:data": {".": {}, "f:b": {}}, "f:metadata": {"f:labels": {".": {}, "f:tier": {}}}},
        ("tuner", "Update", ""): {"f:data": {"f:a": {}}},
    }

    core.patch_namespaced_config_map("settings", namespace, {"metadata": {"labels": {"tier": None}}, "data": {"b": None}}, field_manager="tuner")
    pruned = entries(client.sanitize_for_serialization(core.read_namespaced_config_map("settings", namespace)))
    assert pruned == {("OpenAPI-Generator", "Update", ""): {"f:data": {".": {}}, "f:metadata": {"f:labels": {".": {}}}},
                      ("tuner", "Update", ""): {"f:data": {"f:a": {}}}}


def test_kubectl_commands_and_the_controllers_record_their_managers(shared_kubesim, request):
    kubesim = shared_kubesim
    namespace = new_namespace(kubesim, request.node.name)
    kubesim.kubectl("create", "deployment", "web", "--image=registry.example.com/web:1.0", "-n", namespace)
    kubesim.kubectl("scale", "deployment/web", "--replicas=2", "-n", namespace)
    kubesim.kubectl("rollout", "status", "deployment/web", "-n", namespace, "--timeout=30s", timeout=45)
    managed = entries(get_json(kubesim, namespace, "deployment", "web"))
    created = managed[("kubectl-create", "Update", "")]
    assert "f:replicas" not in created["f:spec"] and created["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"web"}']["f:image"] == {}
    assert managed[("kubectl", "Update", "scale")] == {"f:spec": {"f:replicas": {}}}
    assert managed[("kube-controller-manager", "Update", "")] == {"f:metadata": {"f:annotations": {".": {}, "f:deployment.kubernetes.io/revision": {}}}}
    status = managed[("kube-controller-manager", "Update", "status")]["f:status"]
    assert {"f:availableReplicas", "f:conditions", "f:observedGeneration", "f:readyReplicas", "f:replicas"} <= set(status)

    pod = get_json(kubesim, namespace, "pods")["items"][0]
    pod_managers = entries(pod)
    assert set(pod_managers) == {("kube-controller-manager", "Update", ""), ("kube-scheduler", "Update", "status"), ("kubelet", "Update", "status")}
    assert list(pod_managers[("kube-scheduler", "Update", "status")]["f:status"]["f:conditions"]) == ['k:{"type":"PodScheduled"}']
    assert {"f:phase", "f:podIP", "f:containerStatuses"} <= set(pod_managers[("kubelet", "Update", "status")]["f:status"])

    kubesim.kubectl("apply", "-n", namespace, "-f", "-", stdin="apiVersion: v1\nkind: ConfigMap\nmetadata: {name: applied}\ndata: {k: v}\n")
    assert list(entries(get_json(kubesim, namespace, "configmap", "applied"))) == [("kubectl-client-side-apply", "Update", "")]
    kubesim.kubectl("apply", "--server-side", "-n", namespace, "-f", "-", stdin="apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ssa}\ndata: {k: v}\n")
    assert list(entries(get_json(kubesim, namespace, "configmap", "ssa"))) == [("kubectl", "Apply", "")]
    kubesim.kubectl("label", "configmap", "ssa", "team=a", "-n", namespace)
    poll(lambda: entries(get_json(kubesim, namespace, "configmap", "ssa")), lambda found: ("kubectl-label", "Update", "") in found,
         "the label's manager")
