"""ServiceAccounts: the controller that keeps ``default`` in every namespace, and the admission plugin
that runs pods as an account that exists (and refuses the others), through kubectl and the Python client."""

import json

import kubernetes
from api_support import api_client, failure
from test_controllers_events import events_of, summary
from traffic_support import apply, new_namespace, poll
from workload_support import deployment, get_json, items, pod

TOKEN_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"


def service_account_names(kubesim, namespace):
    return sorted(sa["metadata"]["name"] for sa in items(kubesim, namespace, "serviceaccounts"))


def test_every_namespace_gets_a_default_service_account_which_comes_back_when_deleted(shared_kubesim, request):
    kubesim = shared_kubesim
    namespace = new_namespace(kubesim, request.node.name)
    poll(lambda: service_account_names(kubesim, namespace), lambda found: found == ["default"], "the default ServiceAccount")
    assert service_account_names(kubesim, "kube-system") == ["default"]
    first_uid = get_json(kubesim, namespace, "serviceaccount", "default")["metadata"]["uid"]
    kubesim.kubectl("delete", "serviceaccount", "default", "-n", namespace)
    again = poll(lambda: items(kubesim, namespace, "serviceaccounts"), lambda found: found, "the default ServiceAccount to come back")
    assert again[0]["metadata"]["name"] == "default" and again[0]["metadata"]["uid"] != first_uid


def test_a_pod_runs_as_default_with_the_api_token_mounted_unless_it_opts_out(shared_kubesim, request):
    kubesim = shared_kubesim
    namespace = new_namespace(kubesim, request.node.name)
    opted_out = pod("web-1", {"app": "web"})
    opted_out["spec"]["automountServiceAccountToken"] = False
    apply(kubesim, namespace, pod("web-0", {"app": "web"}), opted_out)
    spec = get_json(kubesim, namespace, "pod", "web-0")["spec"]
    assert (spec["serviceAccountName"], spec["serviceAccount"]) == ("default", "default")
    volume = spec["volumes"][0]
    assert volume["name"].startswith("kube-api-access-") and len(volume["name"]) == len("kube-api-access-") + 5
    assert [list(source) for source in volume["projected"]["sources"]] == [["serviceAccountToken"], ["configMap"], ["downwardAPI"]]
    assert spec["containers"][0]["volumeMounts"] == [{"name": volume["name"], "readOnly": True, "mountPath": TOKEN_PATH}]
    bare = get_json(kubesim, namespace, "pod", "web-1")["spec"]
    assert bare["serviceAccountName"] == "default" and "volumes" not in bare and "volumeMounts" not in bare["containers"][0]


def test_a_pod_naming_a_missing_service_account_is_forbidden(shared_kubesim, request):
    kubesim = shared_kubesim
    namespace = new_namespace(kubesim, request.node.name)
    ghostly = pod("web-0", {"app": "web"})
    ghostly["spec"]["serviceAccountName"] = "ghost"
    message = f'pods "web-0" is forbidden: error looking up service account {namespace}/ghost: serviceaccount "ghost" not found'
    core = kubernetes.client.CoreV1Api(api_client(kubesim))
    status, body = failure(core.create_namespaced_pod, namespace, ghostly)
    assert (status, body["reason"], body["message"]) == (403, "Forbidden", message)
    assert body["details"] == {"name": "web-0", "kind": "pods"}
    refused = kubesim.kubectl("create", "-n", namespace, "-f", "-", stdin=json.dumps(ghostly), check=False)
    assert refused.returncode != 0 and f"Error from server (Forbidden): error when creating \"STDIN\": {message}" in refused.stderr

    kubesim.kubectl("create", "serviceaccount", "ghost", "-n", namespace)
    created = core.create_namespaced_pod(namespace, ghostly)
    assert created.spec.service_account_name == "ghost"


def test_a_deployment_whose_pods_are_refused_records_failed_create_and_never_becomes_available(shared_kubesim, request):
    kubesim = shared_kubesim
    namespace = new_namespace(kubesim, request.node.name)
    web = deployment("web", replicas=2)
    web["spec"]["template"]["spec"]["serviceAccountName"] = "runner"
    apply(kubesim, namespace, web)
    replicaset = poll(lambda: items(kubesim, namespace, "replicasets"), lambda found: found, "the ReplicaSet")[0]["metadata"]["name"]
    failed = poll(lambda: events_of(kubesim, namespace, "ReplicaSet", replicaset, reason="FailedCreate"), lambda found: found, "FailedCreate")
    refusal = f'pods "{replicaset}-" is forbidden: error looking up service account {namespace}/runner: serviceaccount "runner" not found'
    assert summary(failed) == [("Warning", "FailedCreate", f"Error creating: {refusal}")]
    assert failed[0]["source"]["component"] == "replicaset-controller"

    def conditions():
        return {c["type"]: c for c in get_json(kubesim, namespace, "deployment", "web")["status"].get("conditions", [])}

    found = poll(conditions, lambda found: "ReplicaFailure" in found, "the Deployment to report the failure")
    assert (found["ReplicaFailure"]["reason"], found["ReplicaFailure"]["message"]) == ("FailedCreate", refusal)
    assert (found["Available"]["status"], found["Available"]["reason"]) == ("False", "MinimumReplicasUnavailable")
    assert items(kubesim, namespace, "pods") == []
    timed_out = kubesim.kubectl("rollout", "status", "deployment/web", "-n", namespace, "--timeout=1s", check=False)
    assert timed_out.returncode != 0

    kubesim.kubectl("create", "serviceaccount", "runner", "-n", namespace)
    kubesim.kubectl("rollout", "status", "deployment/web", "-n", namespace, "--timeout=30s", timeout=45)
    assert "ReplicaFailure" not in conditions()
