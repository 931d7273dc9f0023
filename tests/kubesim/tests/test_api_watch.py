"""Watches through the Python client's watch.Watch and ``kubectl get -w``, and metadata.generation."""

import subprocess
import time

import kubernetes

from api_support import api_client, deployment, new_namespace, wait_until


def test_watch_resumes_from_a_resource_version(shared_kubesim, request):
    core = kubernetes.client.CoreV1Api(api_client(shared_kubesim))
    namespace = new_namespace(shared_kubesim, request.node.name)
    created = core.create_namespaced_config_map(namespace, {"metadata": {"name": "watched", "labels": {"w": "yes"}}, "data": {"v": "1"}})
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "ignored"}})
    core.patch_namespaced_config_map("watched", namespace, {"data": {"v": "2"}})
    core.delete_namespaced_config_map("watched", namespace)

    stream = kubernetes.watch.Watch().stream(core.list_namespaced_config_map, namespace, label_selector="w=yes",
                                             resource_version=created.metadata.resource_version, timeout_seconds=1)
    events = [(event["type"], event["object"].metadata.name, (event["object"].data or {}).get("v")) for event in stream]
    assert events == [("MODIFIED", "watched", "2"), ("DELETED", "watched", "2")]


def test_watch_without_resource_version_starts_with_current_objects(shared_kubesim, request):
    core = kubernetes.client.CoreV1Api(api_client(shared_kubesim))
    namespace = new_namespace(shared_kubesim, request.node.name)
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "existing"}})
    watcher = kubernetes.watch.Watch()
    seen = []
    for event in watcher.stream(core.list_namespaced_config_map, namespace, timeout_seconds=2):
        seen.append((event["type"], event["object"].metadata.name))
        if len(seen) == 1:
            core.create_namespaced_config_map(namespace, {"metadata": {"name": "later"}})
        if len(seen) == 2:
            watcher.stop()
    assert seen == [("ADDED", "existing"), ("ADDED", "later")]


def test_kubectl_get_watch_prints_changes(shared_kubesim, request):
    namespace = new_namespace(shared_kubesim, request.node.name)
    core = kubernetes.client.CoreV1Api(api_client(shared_kubesim))
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "first"}})
    watching = subprocess.Popen(["kubectl", "--kubeconfig", shared_kubesim.kubeconfig, "get", "configmaps", "-w", "-n", namespace,
                                 "--request-timeout=2s", "--no-headers"], stdout=subprocess.PIPE, text=True, env=shared_kubesim.env)
    try:
        time.sleep(0.5)
        core.create_namespaced_config_map(namespace, {"metadata": {"name": "second"}, "data": {"a": "b"}})
        output = watching.communicate(timeout=15)[0]
    finally:
        watching.kill()
    names_and_data = [line.split()[:2] for line in output.splitlines()]
    assert names_and_data[:2] == [["first", "0"], ["second", "1"]]


def test_generation_follows_spec_changes_only(shared_kubesim, request):
    apps = kubernetes.client.AppsV1Api(api_client(shared_kubesim))
    namespace = new_namespace(shared_kubesim, request.node.name)
    assert apps.create_namespaced_deployment(namespace, deployment("web", replicas=0)).metadata.generation == 1
    assert apps.patch_namespaced_deployment("web", namespace, {"metadata": {"labels": {"extra": "x"}}}).metadata.generation == 1
    assert apps.patch_namespaced_deployment("web", namespace, {"spec": {"replicas": 1}}).metadata.generation == 2
    status_change = apps.patch_namespaced_deployment_status("web", namespace, {"status": {"collisionCount": 1}})
    assert status_change.metadata.generation == 2

    def observed():
        return apps.read_namespaced_deployment("web", namespace).status.observed_generation == 2

    wait_until(observed, message="the deployment controller to observe generation 2")
