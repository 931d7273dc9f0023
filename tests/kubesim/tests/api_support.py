"""Reaching the simulator's API through the official Python client and raw HTTP, for the API tests."""

import itertools
import json
import re
import time
import urllib.error
import urllib.request

import kubernetes
import prometheus_text
from kubernetes.client.rest import ApiException

WAIT_SECONDS = 20
REQUESTS = "apiserver_request_total"
_numbers = itertools.count(1)


def api_client(simulator, retries=None):
    """A client of the simulator; ``retries=False`` turns off urllib3's own retries (of a 429 with
    Retry-After, of a read timeout), so the caller sees every answer."""
    configuration = kubernetes.client.Configuration()
    kubernetes.config.load_kube_config(config_file=simulator.kubeconfig, client_configuration=configuration)
    if retries is not None:
        configuration.retries = retries
    return kubernetes.client.ApiClient(configuration)


def new_namespace(simulator, test_name):
    """A namespace of the test's own, so tests can share one simulator."""
    stem = re.sub(r"[^a-z0-9]+", "-", test_name.lower().removeprefix("test_"))[:40].strip("-")
    name = f"{stem}-{next(_numbers)}"
    kubernetes.client.CoreV1Api(api_client(simulator)).create_namespace({"metadata": {"name": name}})
    return name


def failure(call, *args, **kwargs):
    """The (HTTP status, Status body) of a call that must fail."""
    try:
        call(*args, **kwargs)
    except ApiException as exc:
        return exc.status, json.loads(exc.body)
    raise AssertionError(f"{getattr(call, '__name__', call)} succeeded but was expected to fail")


def http(simulator, method, path, body=None, content_type="application/json", headers=None):
    """(status, parsed body) of a raw HTTP request, for requests no client would make."""
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{simulator.api_url}{path}", data=data, method=method,
                                     headers={"Content-Type": content_type, **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10, context=simulator.ssl_context()) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def api_metrics(simulator):
    """The samples the API server serves on its own /metrics path."""
    with urllib.request.urlopen(f"{simulator.api_url}/metrics", timeout=10) as response:
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return prometheus_text.parse(response.read().decode())


def requests_by_label(simulator, **labels):
    """{(verb, scope, subresource, code): count} of the client requests counted with ``labels``."""
    counted = {}
    for sample in api_metrics(simulator):
        if sample.name == REQUESTS and all(sample.labels.get(k) == v for k, v in labels.items()):
            key = tuple(sample.labels[name] for name in ("verb", "scope", "subresource", "code"))
            counted[key] = counted.get(key, 0) + int(sample.value)
    return counted


def deployment(name, replicas=1, image="registry.example.com/app:1.0", labels=None):
    labels = labels or {"app": name}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": dict(labels)},
        "spec": {"replicas": replicas, "selector": {"matchLabels": dict(labels)},
                 "template": {"metadata": {"labels": dict(labels)}, "spec": {"containers": [{"name": "app", "image": image}]}}},
    }


def pod(name, labels, image="registry.example.com/app:1.0"):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": dict(labels)},
            "spec": {"containers": [{"name": "app", "image": image}]}}


def is_ready(pod_object):
    conditions = (pod_object.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def make_ready(simulator, namespace, names):
    """Wait for the pods to become Ready; where no kubelet runs them, report them Ready through the
    status subresource, as a kubelet would."""
    def all_ready():
        return all(is_ready(http(simulator, "GET", f"/api/v1/namespaces/{namespace}/pods/{name}")[1]) for name in names)

    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        if all_ready():
            return
        time.sleep(0.1)
    core = kubernetes.client.CoreV1Api(api_client(simulator))
    for name in names:
        status = {"phase": "Running", "podIP": "10.244.0.10",
                  "conditions": [{"type": "Ready", "status": "True"}, {"type": "ContainersReady", "status": "True"}],
                  "containerStatuses": [{"name": "app", "ready": True, "restartCount": 0, "image": "registry.example.com/app:1.0",
                                         "imageID": "", "started": True, "state": {"running": {}}}]}
        core.patch_namespaced_pod_status(name, namespace, {"status": status})
    assert all_ready()


def wait_until(predicate, timeout=WAIT_SECONDS, message="condition"):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {message}")
        time.sleep(0.05)
