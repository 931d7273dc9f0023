"""Discovery as kubectl and the Python clients use it: api-resources, short names, the dynamic client, /version."""

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
