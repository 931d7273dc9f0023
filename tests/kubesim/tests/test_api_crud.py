"""Create, read, update, patch, list and delete every served kind through the Python clients, and the
error bodies a real API server answers with."""

import pytest
import kubernetes

from api_support import api_client, deployment, failure, http, new_namespace, wait_until

_TEMPLATE = {"metadata": {"labels": {"app": "crud"}}, "spec": {"containers": [{"name": "app", "image": "registry.example.com/app:1.0"}]}}
_WORKLOAD_SPEC = {"replicas": 0, "selector": {"matchLabels": {"app": "crud"}}, "template": _TEMPLATE}

# (apiVersion, kind, the rest of a minimal valid object)
KINDS = [
    ("v1", "ConfigMap", {"data": {"mode": "fast"}}),
    ("v1", "Secret", {"type": "Opaque", "data": {"token": "c2VjcmV0"}}),
    ("v1", "ServiceAccount", {}),
    ("v1", "Service", {"spec": {"selector": {"app": "crud"}, "ports": [{"port": 80}]}}),
    ("v1", "Endpoints", {"subsets": [{"addresses": [{"ip": "10.244.0.5"}], "ports": [{"port": 80}]}]}),
    ("v1", "Event", {"involvedObject": {"kind": "Pod", "name": "x"}, "reason": "Tested", "message": "m", "type": "Normal"}),
    ("v1", "Pod", {"spec": _TEMPLATE["spec"]}),
    ("apps/v1", "Deployment", {"spec": _WORKLOAD_SPEC}),
    ("apps/v1", "ReplicaSet", {"spec": _WORKLOAD_SPEC}),
    ("apps/v1", "StatefulSet", {"spec": dict(_WORKLOAD_SPEC, serviceName="crud")}),
    ("apps/v1", "ControllerRevision", {"revision": 1, "data": {}}),
    ("apps/v1", "DaemonSet", {"spec": {"selector": {"matchLabels": {"app": "crud"}}, "template": _TEMPLATE}}),
    ("batch/v1", "Job", {"spec": {"template": dict(_TEMPLATE, spec=dict(_TEMPLATE["spec"], restartPolicy="Never"))}}),
    ("batch/v1", "CronJob", {"spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": dict(_TEMPLATE, spec=dict(_TEMPLATE["spec"],
                                                                                                                      restartPolicy="OnFailure"))}}}}),
    ("networking.k8s.io/v1", "Ingress", {"spec": {"defaultBackend": {"service": {"name": "crud", "port": {"number": 80}}}}}),
    ("v1", "PersistentVolumeClaim", {"spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}),
    ("v1", "PersistentVolume", {"spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"], "hostPath": {"path": "/srv/crud"}}}),
    ("storage.k8s.io/v1", "StorageClass", {"provisioner": "example.com/none"}),
    ("autoscaling/v2", "HorizontalPodAutoscaler", {"spec": {"scaleTargetRef": {"kind": "Deployment", "name": "crud"}, "maxReplicas": 2}}),
    ("autoscaling/v1", "HorizontalPodAutoscaler", {"spec": {"scaleTargetRef": {"kind": "Deployment", "name": "crud"}, "maxReplicas": 2,
                                                            "targetCPUUtilizationPercentage": 60}}),
    ("networking.k8s.io/v1", "NetworkPolicy", {"spec": {"podSelector": {"matchLabels": {"app": "crud"}}}}),
    ("discovery.k8s.io/v1", "EndpointSlice", {"addressType": "IPv4", "endpoints": []}),
    ("policy/v1", "PodDisruptionBudget", {"spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "crud"}}}}),
    ("coordination.k8s.io/v1", "Lease", {"spec": {"holderIdentity": "me"}}),
    ("scheduling.k8s.io/v1", "PriorityClass", {"value": 1000}),
    ("v1", "Namespace", {}),
    ("route.openshift.io/v1", "Route", {"spec": {"to": {"kind": "Service", "name": "crud", "weight": 100}}}),
    ("consul.hashicorp.com/v1alpha1", "ServiceSplitter", {"spec": {"splits": [{"weight": 100}]}}),
    ("consul.hashicorp.com/v1alpha1", "ServiceResolver", {"spec": {"subsets": {"v1": {"filter": "Service.Meta.version == v1"}}}}),
]


@pytest.fixture(scope="module")
def dynamic(shared_kubesim):
    return kubernetes.dynamic.DynamicClient(api_client(shared_kubesim))


@pytest.fixture(scope="module")
def core(shared_kubesim):
    return kubernetes.client.CoreV1Api(api_client(shared_kubesim))


@pytest.mark.parametrize("api_version,kind,body", KINDS, ids=[kind for _, kind, _ in KINDS])
def test_crud_round_trip(shared_kubesim, dynamic, request, api_version, kind, body):
    resource = dynamic.resources.get(api_version=api_version, kind=kind)
    namespace = new_namespace(shared_kubesim, request.node.name) if resource.namespaced else None
    name = f"crud-{kind.lower()}"
    manifest = {"apiVersion": api_version, "kind": kind, "metadata": {"name": name, "labels": {"suite": "crud"}}, **body}

    created = resource.create(body=manifest, namespace=namespace)
    assert created.metadata.name == name and created.metadata.uid and created.metadata.resourceVersion
    fetched = resource.get(name=name, namespace=namespace)
    assert fetched.metadata.uid == created.metadata.uid

    listed = resource.get(namespace=namespace, label_selector="suite=crud")
    assert name in [item.metadata.name for item in listed.items]

    replaced = _replace_with_label(resource, name, namespace, "phase", "replaced")
    assert replaced.metadata.labels["phase"] == "replaced"
    assert int(replaced.metadata.resourceVersion) > int(created.metadata.resourceVersion)

    patched = resource.patch(name=name, namespace=namespace, body={"metadata": {"annotations": {"note": "patched"}}},
                             content_type="application/merge-patch+json")
    assert patched.metadata.annotations["note"] == "patched" and patched.metadata.labels["phase"] == "replaced"

    resource.delete(name=name, namespace=namespace, body={"gracePeriodSeconds": 0})
    if kind != "Namespace":  # a namespace lingers in Terminating while its contents go
        wait_until(lambda: _absent(resource, name, namespace), message=f"{kind} {name} to be gone")


def _replace_with_label(resource, name, namespace, key, value):
    """Read-modify-write, retried on a conflict with a controller's write, as real clients do."""
    for _ in range(10):
        current = resource.get(name=name, namespace=namespace).to_dict()
        current["metadata"]["labels"][key] = value
        try:
            return resource.replace(body=current, namespace=namespace)
        except kubernetes.dynamic.exceptions.ConflictError:
            continue
    raise AssertionError(f"{name} kept conflicting")


def _absent(resource, name, namespace):
    try:
        resource.get(name=name, namespace=namespace)
    except kubernetes.dynamic.exceptions.NotFoundError:
        return True
    return False


def test_label_and_field_selectors(shared_kubesim, core, request):
    namespace = new_namespace(shared_kubesim, request.node.name)
    for name, tier in (("a", "web"), ("b", "web"), ("c", "db")):
        core.create_namespaced_config_map(namespace, {"metadata": {"name": name, "labels": {"tier": tier, "n": name}}})

    def names(**selectors):
        return sorted(item.metadata.name for item in core.list_namespaced_config_map(namespace, **selectors).items)

    assert names(label_selector="tier=web") == ["a", "b"]
    assert names(label_selector="tier!=web") == ["c"]
    assert names(label_selector="tier in (db),n") == ["c"]
    assert names(label_selector="!missing,n notin (a)") == ["b", "c"]
    assert names(field_selector="metadata.name=b") == ["b"]
    assert names(field_selector="metadata.name!=b", label_selector="tier=web") == ["a"]
    everywhere = core.list_config_map_for_all_namespaces(label_selector="tier=db").items
    assert [(item.metadata.namespace, item.metadata.name) for item in everywhere] == [(namespace, "c")]


def test_list_pages_with_limit_and_continue(shared_kubesim, core, request):
    namespace = new_namespace(shared_kubesim, request.node.name)
    for index in range(5):
        core.create_namespaced_config_map(namespace, {"metadata": {"name": f"page-{index}"}})
    first = core.list_namespaced_config_map(namespace, limit=2)
    assert [i.metadata.name for i in first.items] == ["page-0", "page-1"] and first.metadata.remaining_item_count == 3
    second = core.list_namespaced_config_map(namespace, limit=2, _continue=first.metadata._continue)
    third = core.list_namespaced_config_map(namespace, limit=2, _continue=second.metadata._continue)
    assert [i.metadata.name for i in second.items + third.items] == ["page-2", "page-3", "page-4"]
    assert not third.metadata._continue


def test_stale_update_is_a_conflict(shared_kubesim, core, request):
    namespace = new_namespace(shared_kubesim, request.node.name)
    stale = core.create_namespaced_config_map(namespace, {"metadata": {"name": "settings"}, "data": {"v": "1"}})
    fresh = core.read_namespaced_config_map("settings", namespace)
    fresh.data = {"v": "2"}
    core.replace_namespaced_config_map("settings", namespace, fresh)
    stale.data = {"v": "3"}
    status, body = failure(core.replace_namespaced_config_map, "settings", namespace, stale)
    assert status == 409 and body["reason"] == "Conflict" and body["kind"] == "Status"
    assert body["message"].startswith('Operation cannot be fulfilled on configmaps "settings": the object has been modified')
    assert core.read_namespaced_config_map("settings", namespace).data == {"v": "2"}


def test_not_found_and_already_exists_bodies(shared_kubesim, request):
    apps = kubernetes.client.AppsV1Api(api_client(shared_kubesim))
    namespace = new_namespace(shared_kubesim, request.node.name)
    status, body = failure(apps.read_namespaced_deployment, "missing", namespace)
    assert status == 404
    assert body == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": 'deployments.apps "missing" not found',
                    "reason": "NotFound", "details": {"name": "missing", "group": "apps", "kind": "deployments"}, "code": 404}
    apps.create_namespaced_deployment(namespace, deployment("web", replicas=0))
    status, body = failure(apps.create_namespaced_deployment, namespace, deployment("web", replicas=0))
    assert (status, body["reason"], body["message"]) == (409, "AlreadyExists", 'deployments.apps "web" already exists')


def _versions(core, namespace):
    return {item.metadata.name: item.metadata.resource_version for item in core.list_namespaced_config_map(namespace).items}


@pytest.mark.parametrize("metadata,field,message", [
    ({}, "metadata.name", "Required value: name or generateName is required"),
    ({"name": "other", "labels": {"tier": "bad value!"}}, "metadata.labels", 'Invalid value: "bad value!": a valid label must be an empty string'),
    ({"name": "Bad_Name"}, "metadata.name", 'Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist'),
], ids=["missing-name", "bad-label", "bad-name"])
def test_invalid_create_is_rejected_and_changes_nothing(shared_kubesim, core, request, metadata, field, message):
    namespace = new_namespace(shared_kubesim, request.node.name)
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "kept"}})
    before = _versions(core, namespace)
    status, body = failure(core.create_namespaced_config_map, namespace, {"metadata": metadata, "data": {"a": "b"}})
    assert status == 422 and body["reason"] == "Invalid" and body["details"]["kind"] == "ConfigMap"
    cause = body["details"]["causes"][0]
    assert cause["field"] == field and cause["message"].startswith(message) and cause["reason"] in ("FieldValueRequired", "FieldValueInvalid")
    assert _versions(core, namespace) == before


def test_invalid_update_is_rejected_and_changes_nothing(shared_kubesim, core, request):
    namespace = new_namespace(shared_kubesim, request.node.name)
    kept = core.create_namespaced_config_map(namespace, {"metadata": {"name": "kept", "labels": {"tier": "web"}}, "data": {"a": "b"}})
    kept.metadata.labels = {"tier": "bad value!"}
    kept.data = {"a": "changed"}
    status, body = failure(core.replace_namespaced_config_map, "kept", namespace, kept)
    assert status == 422 and body["message"].startswith('ConfigMap "kept" is invalid: metadata.labels: Invalid value: "bad value!"')
    current = core.read_namespaced_config_map("kept", namespace)
    assert (current.metadata.resource_version, current.data) == (kept.metadata.resource_version, {"a": "b"})


def test_negative_replicas_is_invalid_and_changes_nothing(shared_kubesim, request):
    apps = kubernetes.client.AppsV1Api(api_client(shared_kubesim))
    namespace = new_namespace(shared_kubesim, request.node.name)
    created = apps.create_namespaced_deployment(namespace, deployment("web", replicas=0))
    status, body = failure(apps.patch_namespaced_deployment, "web", namespace, {"spec": {"replicas": -1}})
    assert status == 422
    assert body["message"] == 'Deployment.apps "web" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0'
    assert body["details"] == {"name": "web", "group": "apps", "kind": "Deployment", "causes": [
        {"reason": "FieldValueInvalid", "message": "Invalid value: -1: must be greater than or equal to 0", "field": "spec.replicas"}]}
    current = apps.read_namespaced_deployment("web", namespace)
    assert current.spec.replicas == 0 and current.metadata.generation == created.metadata.generation


def test_dry_run_creates_nothing(shared_kubesim, core, request):
    namespace = new_namespace(shared_kubesim, request.node.name)
    answer = core.create_namespaced_config_map(namespace, {"metadata": {"name": "dry"}}, dry_run="All")
    assert answer.metadata.name == "dry" and answer.metadata.uid
    assert _versions(core, namespace) == {}


def test_malformed_and_mismatched_bodies_are_bad_requests(shared_kubesim, request):
    namespace = new_namespace(shared_kubesim, request.node.name)
    collection = f"/api/v1/namespaces/{namespace}/configmaps"
    status, body = http(shared_kubesim, "POST", collection, body=b'{"metadata": {"name": ')
    assert (status, body["reason"]) == (400, "BadRequest")
    status, body = http(shared_kubesim, "POST", collection, body={"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"}})
    assert (status, body["reason"]) == (400, "BadRequest")
    status, body = http(shared_kubesim, "POST", collection, body={"metadata": {"name": "x", "namespace": "elsewhere"}})
    assert (status, body["message"]) == (400, "the namespace of the provided object does not match the namespace sent on the request")
    http(shared_kubesim, "POST", collection, body={"metadata": {"name": "x"}})
    status, body = http(shared_kubesim, "PUT", f"{collection}/x", body={"metadata": {"name": "y"}})
    assert (status, body["message"]) == (400, "the name of the object (y) does not match the name on the URL (x)")
    status, body = http(shared_kubesim, "POST", collection, body=b"data: 1", content_type="text/plain")
    assert (status, body["reason"]) == (415, "UnsupportedMediaType")


def test_unsupported_verb_is_method_not_allowed(shared_kubesim):
    status, body = http(shared_kubesim, "POST", "/api/v1/namespaces/default/configmaps/some-name", body={})
    assert (status, body["reason"]) == (405, "MethodNotAllowed")
    status, body = http(shared_kubesim, "DELETE", "/api/v1/namespaces")
    assert status == 405


def test_delete_collection_by_label(shared_kubesim, core, request):
    namespace = new_namespace(shared_kubesim, request.node.name)
    for name, tier in (("a", "web"), ("b", "web"), ("c", "db")):
        core.create_namespaced_config_map(namespace, {"metadata": {"name": name, "labels": {"tier": tier}}})
    core.delete_collection_namespaced_config_map(namespace, label_selector="tier=web")
    assert list(_versions(core, namespace)) == ["c"]


def test_delete_with_stale_precondition_conflicts(shared_kubesim, core, request):
    namespace = new_namespace(shared_kubesim, request.node.name)
    created = core.create_namespaced_config_map(namespace, {"metadata": {"name": "guarded"}})
    core.patch_namespaced_config_map("guarded", namespace, {"data": {"x": "1"}})
    options = {"preconditions": {"resourceVersion": created.metadata.resource_version}}
    status, body = failure(core.delete_namespaced_config_map, "guarded", namespace, body=options)
    assert (status, body["reason"]) == (409, "Conflict")
    answer = core.delete_namespaced_config_map("guarded", namespace)
    assert answer["status"] == "Success" and answer["details"]["name"] == "guarded"


def test_nothing_new_goes_into_a_terminating_namespace(shared_kubesim, core, request):
    namespace = new_namespace(shared_kubesim, request.node.name)
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "keep", "finalizers": ["example.com/hold"]}})
    core.delete_namespace(namespace)
    status, body = failure(core.create_namespaced_config_map, namespace, {"metadata": {"name": "late"}})
    assert (status, body["reason"]) == (403, "Forbidden")
    assert body["message"] == f'configmaps "late" is forbidden: unable to create new content in namespace {namespace} because it is being terminated'
    core.patch_namespaced_config_map("keep", namespace, {"metadata": {"finalizers": None}})
