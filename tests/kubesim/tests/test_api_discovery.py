"""Discovery as kubectl and the Python clients use it: api-resources, short names, the dynamic client, /version,
and the OpenAPI v2 document older kubectl versions read before they validate or apply a manifest."""

import json
import urllib.error
import urllib.request

import kubernetes

from api_support import api_client, http


def test_kubectl_api_resources_lists_served_kinds_with_short_names(shared_kubesim):
    listing = shared_kubesim.kubectl("api-resources", "--no-headers").stdout
    rows = {line.split()[0]: line.split() for line in listing.splitlines()}
    assert rows["deployments"][1:] == ["deploy", "apps/v1", "true", "Deployment"]
    assert rows["poddisruptionbudgets"][1:] == ["pdb", "policy/v1", "true", "PodDisruptionBudget"]
    assert rows["namespaces"][1:] == ["ns", "v1", "false", "Namespace"]
    assert rows["routes"][1:] == ["route.openshift.io/v1", "true", "Route"]
    assert rows["servicesplitters"][1:] == ["consul.hashicorp.com/v1alpha1", "true", "ServiceSplitter"]


def test_kubectl_resolves_short_names_and_categories(shared_kubesim):
    shared_kubesim.kubectl("create", "namespace", "short-names")
    shared_kubesim.kubectl("apply", "-n", "short-names", "-f", "-", stdin="""
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {mode: fast}
""")
    assert shared_kubesim.kubectl("get", "cm", "-n", "short-names", "-o", "name").stdout.split() == ["configmap/settings"]
    everything = shared_kubesim.kubectl("get", "all", "-n", "default", "-o", "name").stdout.split()
    assert "service/kubernetes" in everything


def test_dynamic_client_resolves_custom_kinds(shared_kubesim):
    client = kubernetes.dynamic.DynamicClient(api_client(shared_kubesim))
    route = client.resources.get(api_version="route.openshift.io/v1", kind="Route")
    splitter = client.resources.get(api_version="consul.hashicorp.com/v1alpha1", kind="ServiceSplitter")
    assert (route.name, route.namespaced) == ("routes", True)
    assert (splitter.name, splitter.group) == ("servicesplitters", "consul.hashicorp.com")
    scale = client.resources.get(api_version="apps/v1", kind="Deployment").subresources["scale"]
    assert scale.kind == "Scale"


def test_resource_lists_name_subresources(shared_kubesim):
    _, core = http(shared_kubesim, "GET", "/api/v1")
    by_name = {entry["name"]: entry for entry in core["resources"]}
    assert by_name["pods/eviction"]["kind"] == "Eviction" and by_name["pods/eviction"]["verbs"] == ["create"]
    assert by_name["pods/status"]["verbs"] == ["get", "patch", "update"]
    _, apps = http(shared_kubesim, "GET", "/apis/apps/v1")
    scale = {entry["name"]: entry for entry in apps["resources"]}["deployments/scale"]
    assert (scale["group"], scale["version"], scale["kind"]) == ("autoscaling", "v1", "Scale")


def test_aggregated_discovery_answers_in_its_own_media_type(shared_kubesim):
    accept = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
    status, body = http(shared_kubesim, "GET", "/apis", headers={"Accept": accept})
    assert status == 200 and body["kind"] == "APIGroupDiscoveryList"
    groups = {item["metadata"]["name"] for item in body["items"]}
    assert {"apps", "policy", "route.openshift.io", "consul.hashicorp.com"} <= groups


def openapi_v2(simulator, accept):
    """(status, Content-Type, body bytes) of GET /openapi/v2 with this Accept header (None: none sent)."""
    request = urllib.request.Request(f"{simulator.api_url}/openapi/v2", headers={"Accept": accept} if accept else {})
    try:
        with urllib.request.urlopen(request, timeout=10, context=simulator.ssl_context()) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, None, exc.read()


def protobuf_fields(data):
    """{field number: [bytes, ...]} of a protobuf message made only of length-delimited fields."""
    fields, position = {}, 0
    while position < len(data):
        key, position = varint(data, position)
        assert key & 7 == 2, "field %d is not length-delimited" % (key >> 3)
        length, position = varint(data, position)
        fields.setdefault(key >> 3, []).append(data[position:position + length])
        position += length
    return fields


def varint(data, position):
    value = shift = 0
    while True:
        byte = data[position]
        value, shift, position = value | (byte & 0x7F) << shift, shift + 7, position + 1
        if not byte & 0x80:
            return value, position


def test_openapi_v2_is_served_as_json_and_as_the_protobuf_document_older_kubectl_asks_for(shared_kubesim):
    status, content_type, body = openapi_v2(shared_kubesim, None)
    assert (status, content_type) == (200, "application/json")
    assert json.loads(body) == {"swagger": "2.0", "info": {"title": "Kubernetes", "version": "v1.32.4"}, "paths": {}, "definitions": {}}
    # kubectl 1.20 to 1.26 ask for the older name, and are answered under the newer one (gnostic's openapi_v2.Document:
    # swagger 1, info 2 with title 1 and version 2, paths 8, definitions 9).
    for accept in ("application/com.github.proto-openapi.spec.v2@v1.0+protobuf", "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"):
        status, content_type, body = openapi_v2(shared_kubesim, accept)
        assert (status, content_type) == (200, "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"), accept
        document = protobuf_fields(body)
        assert (document[1], document[8], document[9]) == ([b"2.0"], [b""], [b""])
        assert protobuf_fields(document[2][0]) == {1: [b"Kubernetes"], 2: [b"v1.32.4"]}
    assert openapi_v2(shared_kubesim, "text/html")[0] == 406


def test_kubectl_applies_validates_and_replaces_a_manifest(shared_kubesim):
    manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: openapi-v2, namespace: default}\ndata: {mode: %s}\n"
    assert shared_kubesim.kubectl("apply", "-f", "-", stdin=manifest % "fast").stdout == "configmap/openapi-v2 created\n"
    assert shared_kubesim.kubectl("apply", "-f", "-", stdin=manifest % "slow").stdout == "configmap/openapi-v2 configured\n"
    assert shared_kubesim.kubectl("replace", "--validate=true", "-f", "-", stdin=manifest % "calm").stdout == "configmap/openapi-v2 replaced\n"
    assert shared_kubesim.kubectl("get", "configmap", "openapi-v2", "-o", "jsonpath={.data.mode}").stdout == "calm"
    shared_kubesim.kubectl("delete", "configmap", "openapi-v2")


def test_version_and_health(shared_kubesim):
    version = kubernetes.client.VersionApi(api_client(shared_kubesim)).get_code()
    assert (version.major, version.minor) == ("1", "32") and version.git_version.startswith("v1.32.")
    assert shared_kubesim.kubectl("get", "--raw", "/readyz").stdout == "ok"


def test_unknown_resource_and_path_answer_404(shared_kubesim):
    result = shared_kubesim.kubectl("get", "widgets", check=False)
    assert result.returncode != 0 and 'the server doesn\'t have a resource type "widgets"' in result.stderr
    status, body = http(shared_kubesim, "GET", "/apis/apps/v1/namespaces/default/widgets")
    assert status == 404 and (body["kind"], body["reason"], body["code"]) == ("Status", "NotFound", 404)
    status, body = http(shared_kubesim, "GET", "/no/such/path")
    assert status == 404 and body["message"] == "the server could not find the requested resource"
