"""The API server's request metrics on its own /metrics path: what real clients' requests are counted
as (verb, scope, subresource, code), the latency histogram, and that the controllers' writes are not
client requests."""

import json
import types

import kubernetes
import prometheus_text
from api_support import REQUESTS, api_client, api_metrics, failure, pod, requests_by_label, wait_until

DURATIONS = "apiserver_request_duration_seconds"


def configmap_manifest(data):
    return json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "default"}, "data": data})


def test_kubectl_apply_is_counted_as_its_requests(kubesim):
    kubesim.kubectl("apply", "-f", "-", stdin=configmap_manifest({"mode": "fast"}))
    created = requests_by_label(kubesim, resource="configmaps", group="", version="v1", component="apiserver", dry_run="")
    # kubectl reads the object (absent), then creates it.
    assert created == {("GET", "resource", "", "404"): 1, ("POST", "resource", "", "201"): 1}

    kubesim.kubectl("apply", "-f", "-", stdin=configmap_manifest({"mode": "fast"}))
    assert requests_by_label(kubesim, resource="configmaps") == {
        ("GET", "resource", "", "404"): 1, ("POST", "resource", "", "201"): 1, ("GET", "resource", "", "200"): 1}

    kubesim.kubectl("apply", "-f", "-", stdin=configmap_manifest({"mode": "slow"}))
    kubesim.kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", stdin=configmap_manifest({"mode": "safe"}))
    kubesim.kubectl("apply", "--dry-run=server", "-f", "-", stdin=configmap_manifest({"mode": "dry"}))
    counted = requests_by_label(kubesim, resource="configmaps", dry_run="")
    # Server-side apply sends two apply patches: the configuration, then its last-applied annotation.
    # Seeing fields that client-side apply managed (managedFields, operation Update), kubectl then moves
    # them over to server-side apply with a patch of its own and applies the configuration again: three
    # applies, and that patch beside the client-side apply's.
    assert counted[("PATCH", "resource", "", "200")] == 2 and counted[("APPLY", "resource", "", "200")] == 3
    # Client-side apply reads first (the dry run too: only its patch carries dryRun), server-side apply does not.
    assert counted[("GET", "resource", "", "200")] == 3 and counted[("POST", "resource", "", "201")] == 1
    assert requests_by_label(kubesim, resource="configmaps", dry_run="All") == {("PATCH", "resource", "", "200"): 1}


def test_codes_verbs_and_scopes_are_recorded(kubesim):
    core = kubernetes.client.CoreV1Api(api_client(kubesim))
    assert failure(core.read_namespaced_config_map, "missing", "default")[0] == 404
    created = core.create_namespaced_config_map("default", {"metadata": {"name": "shared"}, "data": {"v": "1"}})
    core.patch_namespaced_config_map("shared", "default", {"data": {"v": "2"}})
    stale = {"metadata": {"name": "shared", "resourceVersion": created.metadata.resource_version}, "data": {"v": "3"}}
    assert failure(core.replace_namespaced_config_map, "shared", "default", stale)[0] == 409
    core.list_namespaced_config_map("default")
    core.list_config_map_for_all_namespaces()
    list(kubernetes.watch.Watch().stream(core.list_namespaced_config_map, "default", timeout_seconds=1))
    core.delete_collection_namespaced_config_map("default")

    assert requests_by_label(kubesim, resource="configmaps") == {
        ("GET", "resource", "", "404"): 1, ("POST", "resource", "", "201"): 1, ("PATCH", "resource", "", "200"): 1,
        ("PUT", "resource", "", "409"): 1, ("LIST", "namespace", "", "200"): 1, ("LIST", "cluster", "", "200"): 1,
        ("WATCH", "namespace", "", "200"): 1, ("DELETE", "namespace", "", "200"): 1,
    }


def test_an_eviction_is_a_post_to_its_subresource(kubesim):
    core = kubernetes.client.CoreV1Api(api_client(kubesim))
    core.create_namespaced_pod("default", pod("web", {"app": "web"}))
    wait_until(lambda: core.read_namespaced_pod("web", "default").status.phase == "Running", message="the pod to run")
    core.create_namespaced_pod_eviction("web", "default", {"metadata": {"name": "web"}})
    counted = requests_by_label(kubesim, resource="pods", version="v1")
    assert counted[("POST", "resource", "eviction", "201")] == 1


def test_the_controllers_writes_are_not_client_requests(kubesim):
    kubesim.kubectl("create", "deployment", "web", "--image=registry.example.com/web:1.0", "--replicas=2")
    kubesim.kubectl("rollout", "status", "deployment/web", "--timeout=30s")
    writes = {(s.labels["resource"], s.labels["verb"], s.labels["code"]): s.value for s in api_metrics(kubesim)
              if s.name == REQUESTS and s.labels["verb"] in ("POST", "PUT", "PATCH", "DELETE")}
    # The ReplicaSet, its pods, their status and the Events went through the store, not over HTTP.
    assert writes == {("deployments", "POST", "201"): 1}


def test_durations_are_a_histogram_of_every_counted_request(kubesim):
    core = kubernetes.client.CoreV1Api(api_client(kubesim))
    for _ in range(3):
        core.list_namespaced_config_map("default")
    samples = api_metrics(kubesim)
    labels = {"verb": "LIST", "resource": "configmaps", "scope": "namespace", "group": "", "version": "v1",
              "subresource": "", "dry_run": "", "component": "apiserver"}
    buckets = [s for s in samples if s.name == f"{DURATIONS}_bucket" and all(s.labels[k] == v for k, v in labels.items())]
    counts = [s.value for s in buckets]
    assert [s.labels["le"] for s in buckets][-1] == "+Inf" and counts == sorted(counts) and counts[-1] == 3
    assert prometheus_text.total(samples, f"{DURATIONS}_count", **labels) == 3
    assert 0 < prometheus_text.total(samples, f"{DURATIONS}_sum", **labels) < 60
    # The health checks are counted as the real server counts them: the path as subresource, no component.
    assert prometheus_text.total(samples, REQUESTS, verb="GET", subresource="/readyz", component="", scope="", code="200") >= 1


def test_prometheus_scrapes_the_api_servers_metrics(kubesim, prometheus_factory):
    core = kubernetes.client.CoreV1Api(api_client(kubesim))
    for index in range(4):
        core.create_namespaced_config_map("default", {"metadata": {"name": f"cm-{index}"}})
    # Prometheus scrapes the API server's own port, as it scrapes a real one.
    prometheus = prometheus_factory(types.SimpleNamespace(metrics_url=f"{kubesim.api_url}/metrics"))
    query = 'sum(apiserver_request_total{verb="POST",resource="configmaps",code="201"})'
    wait_until(lambda: prometheus.query(query) and prometheus.query(query)[0][1] == 4, message="Prometheus to scrape the creates")
