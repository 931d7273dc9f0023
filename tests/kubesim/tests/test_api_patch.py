"""PATCH in its four media types and kubectl apply, client-side and server-side, through kubectl."""

import json

import pytest

from api_support import http, new_namespace

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 0
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: app
        image: registry.example.com/app:1.0
        env:
        - {name: MODE, value: fast}
        - {name: LEVEL, value: "1"}
        ports:
        - {containerPort: 8080, name: http}
      - name: sidecar
        image: registry.example.com/proxy:2.0
"""


@pytest.fixture
def namespace(shared_kubesim, request):
    name = new_namespace(shared_kubesim, request.node.name)
    shared_kubesim.kubectl("apply", "-n", name, "-f", "-", stdin=DEPLOYMENT)
    return name


def read(simulator, namespace, kind="deployment", name="web"):
    return json.loads(simulator.kubectl("get", kind, name, "-n", namespace, "-o", "json").stdout)


def containers(deployment):
    return {c["name"]: c for c in deployment["spec"]["template"]["spec"]["containers"]}


def test_strategic_merge_patch_merges_lists_by_key(shared_kubesim, namespace):
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "registry.example.com/app:1.1",
                                                             "env": [{"name": "LEVEL", "value": "2"}]}]}}}}
    shared_kubesim.kubectl("patch", "deployment", "web", "-n", namespace, "--type=strategic", "-p", json.dumps(patch))
    result = containers(read(shared_kubesim, namespace))
    assert result["app"]["image"] == "registry.example.com/app:1.1"
    assert result["app"]["env"] == [{"name": "MODE", "value": "fast"}, {"name": "LEVEL", "value": "2"}]
    assert result["sidecar"]["image"] == "registry.example.com/proxy:2.0"


def test_strategic_merge_patch_directives(shared_kubesim, namespace):
    remove_sidecar = {"spec": {"template": {"spec": {"containers": [{"name": "sidecar", "$patch": "delete"}]}}}}
    shared_kubesim.kubectl("patch", "deployment", "web", "-n", namespace, "-p", json.dumps(remove_sidecar))
    assert list(containers(read(shared_kubesim, namespace))) == ["app"]
    recreate = {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate", "rollingUpdate": None}}}
    shared_kubesim.kubectl("patch", "deployment", "web", "-n", namespace, "-p", json.dumps(recreate))
    assert read(shared_kubesim, namespace)["spec"]["strategy"] == {"type": "Recreate"}
    replace_env = {"spec": {"template": {"spec": {"containers": [{"name": "app", "env": [{"$patch": "replace"}, {"name": "ONLY", "value": "x"}]}]}}}}
    shared_kubesim.kubectl("patch", "deployment", "web", "-n", namespace, "-p", json.dumps(replace_env))
    assert containers(read(shared_kubesim, namespace))["app"]["env"] == [{"name": "ONLY", "value": "x"}]


def test_set_image_and_env_use_strategic_patches(shared_kubesim, namespace):
    shared_kubesim.kubectl("set", "image", "deployment/web", "-n", namespace, "sidecar=registry.example.com/proxy:2.1")
    shared_kubesim.kubectl("set", "env", "deployment/web", "-n", namespace, "-c", "app", "LEVEL-")
    result = containers(read(shared_kubesim, namespace))
    assert result["sidecar"]["image"] == "registry.example.com/proxy:2.1"
    assert result["app"]["env"] == [{"name": "MODE", "value": "fast"}]


def test_merge_patch_replaces_lists_and_null_deletes(shared_kubesim, namespace):
    patch = {"metadata": {"labels": {"app": None, "team": "blue"}}, "spec": {"template": {"spec": {"containers": [
        {"name": "solo", "image": "registry.example.com/solo:1"}]}}}}
    shared_kubesim.kubectl("patch", "deployment", "web", "-n", namespace, "--type=merge", "-p", json.dumps(patch))
    result = read(shared_kubesim, namespace)
    assert result["metadata"]["labels"] == {"team": "blue"}
    assert list(containers(result)) == ["solo"]


def test_json_patch_applies_operations_in_order(shared_kubesim, namespace):
    operations = [{"op": "test", "path": "/spec/replicas", "value": 0}, {"op": "replace", "path": "/spec/replicas", "value": 2},
                  {"op": "add", "path": "/metadata/labels/tier", "value": "front"}]
    shared_kubesim.kubectl("patch", "deployment", "web", "-n", namespace, "--type=json", "-p", json.dumps(operations))
    result = read(shared_kubesim, namespace)
    assert result["spec"]["replicas"] == 2 and result["metadata"]["labels"]["tier"] == "front"


def test_failed_json_patch_is_unprocessable_and_changes_nothing(shared_kubesim, namespace):
    before = read(shared_kubesim, namespace)["metadata"]["resourceVersion"]
    operations = [{"op": "replace", "path": "/spec/replicas", "value": 5}, {"op": "test", "path": "/spec/replicas", "value": 3}]
    result = shared_kubesim.kubectl("patch", "deployment", "web", "-n", namespace, "--type=json", "-p", json.dumps(operations), check=False)
    assert result.returncode != 0 and "testing value /spec/replicas failed" in result.stderr
    path = f"/apis/apps/v1/namespaces/{namespace}/deployments/web"
    status, body = http(shared_kubesim, "PATCH", path, body=[{"op": "remove", "path": "/spec/nothing"}], content_type="application/json-patch+json")
    assert (status, body["reason"], body["message"]) == (422, "Invalid", "the server rejected our request due to an error in our request")
    status, body = http(shared_kubesim, "PATCH", path, body={"op": "remove"}, content_type="application/json-patch+json")
    assert (status, body["reason"]) == (400, "BadRequest")
    assert read(shared_kubesim, namespace)["metadata"]["resourceVersion"] == before


def test_strategic_merge_on_custom_resource_is_unsupported_media_type(shared_kubesim, request):
    namespace = new_namespace(shared_kubesim, request.node.name)
    shared_kubesim.kubectl("apply", "-n", namespace, "-f", "-", stdin="""
apiVersion: route.openshift.io/v1
kind: Route
metadata: {name: web}
spec: {to: {kind: Service, name: web, weight: 100}}
""")
    result = shared_kubesim.kubectl("patch", "route", "web", "-n", namespace, "--type=strategic", "-p", '{"spec":{"host":"x"}}', check=False)
    assert result.returncode != 0 and "application/strategic-merge-patch+json is not supported by route.openshift.io/v1, Kind=Route" in result.stderr
    shared_kubesim.kubectl("patch", "route", "web", "-n", namespace, "--type=merge", "-p", '{"spec":{"host":"web.example.com"}}')
    assert read(shared_kubesim, namespace, "route")["spec"]["host"] == "web.example.com"
    status, body = http(shared_kubesim, "PATCH", f"/apis/route.openshift.io/v1/namespaces/{namespace}/routes/web", body={},
                        content_type="application/xml")
    assert (status, body["reason"]) == (415, "UnsupportedMediaType")


def test_apply_twice_is_unchanged_then_modified_apply_configures(shared_kubesim, namespace):
    again = shared_kubesim.kubectl("apply", "-n", namespace, "-f", "-", stdin=DEPLOYMENT)
    assert again.stdout.strip() == "deployment.apps/web unchanged"
    changed = DEPLOYMENT.replace("replicas: 0", "replicas: 1").replace('        - {name: LEVEL, value: "1"}\n', "")
    configured = shared_kubesim.kubectl("apply", "-n", namespace, "-f", "-", stdin=changed)
    assert configured.stdout.strip() == "deployment.apps/web configured"
    result = read(shared_kubesim, namespace)
    assert result["spec"]["replicas"] == 1
    assert containers(result)["app"]["env"] == [{"name": "MODE", "value": "fast"}]
    assert result["metadata"]["generation"] == 2


def test_server_side_apply_creates_then_merges(shared_kubesim, request):
    namespace = new_namespace(shared_kubesim, request.node.name)
    config = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: '1'}\n"
    created = shared_kubesim.kubectl("apply", "--server-side", "-n", namespace, "-f", "-", stdin=config)
    assert created.stdout.strip() == "configmap/settings serverside-applied"
    shared_kubesim.kubectl("apply", "--server-side", "-n", namespace, "-f", "-", stdin=config.replace("{a: '1'}", "{a: '2', b: '3'}"))
    shared_kubesim.kubectl("apply", "--server-side", "-n", namespace, "-f", "-", stdin=config.replace("{a: '1'}", "{b: '4'}"))
    result = json.loads(shared_kubesim.kubectl("get", "configmap", "settings", "-n", namespace, "-o", "json", "--show-managed-fields").stdout)
    assert result["data"] == {"b": "4"}
    assert [entry["manager"] for entry in result["metadata"]["managedFields"]] == ["kubectl"]
    status, body = http(shared_kubesim, "PATCH", f"/api/v1/namespaces/{namespace}/configmaps/settings", body=b"data: {a: x}",
                        content_type="application/apply-patch+yaml")
    assert (status, body["reason"]) == (422, "Invalid")
