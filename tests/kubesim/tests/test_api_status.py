"""The status a create (and an update) answers with: initialised as the real server's types serialise it,
never null, for every kind with a status."""

import kubernetes
import pytest
from api_support import api_client, http, new_namespace

_TEMPLATE = {"metadata": {"labels": {"app": "s"}}, "spec": {"containers": [{"name": "app", "image": "registry.example.com/app:1.0"}]}}
_SELECTOR = {"matchLabels": {"app": "s"}}

# (API path prefix, plural, body, the status its create answers with)
CREATED = [
    ("/apis/apps/v1", "deployments", {"spec": {"replicas": 0, "selector": _SELECTOR, "template": _TEMPLATE}}, {}),
    ("/apis/apps/v1", "replicasets", {"spec": {"replicas": 0, "selector": _SELECTOR, "template": _TEMPLATE}}, {"replicas": 0}),
    ("/apis/apps/v1", "statefulsets", {"spec": {"replicas": 0, "serviceName": "s", "selector": _SELECTOR, "template": _TEMPLATE}},
     {"replicas": 0, "availableReplicas": 0}),
    ("/apis/apps/v1", "daemonsets", {"spec": {"selector": _SELECTOR, "template": dict(_TEMPLATE, spec=dict(_TEMPLATE["spec"], nodeSelector={"none": "x"}))}},
     {"currentNumberScheduled": 0, "numberMisscheduled": 0, "desiredNumberScheduled": 0, "numberReady": 0}),
    ("/apis/batch/v1", "jobs", {"spec": {"suspend": True, "template": dict(_TEMPLATE, spec=dict(_TEMPLATE["spec"], restartPolicy="Never"))}}, {}),
    ("/apis/batch/v1", "cronjobs", {"spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": dict(_TEMPLATE, spec=dict(
        _TEMPLATE["spec"], restartPolicy="Never"))}}}}, {}),
    ("/apis/autoscaling/v2", "horizontalpodautoscalers", {"spec": {"scaleTargetRef": {"kind": "Deployment", "name": "s"}, "maxReplicas": 2}},
     {"desiredReplicas": 0}),
    ("/apis/policy/v1", "poddisruptionbudgets", {"spec": {"minAvailable": 1, "selector": _SELECTOR}},
     {"disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 0, "expectedPods": 0}),
    ("/apis/networking.k8s.io/v1", "ingresses", {"spec": {"defaultBackend": {"service": {"name": "s", "port": {"number": 80}}}}}, {"loadBalancer": {}}),
    ("/api/v1", "persistentvolumeclaims", {"spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}},
                                                   "storageClassName": "none"}}, {"phase": "Pending"}),
    ("/api/v1", "services", {"spec": {"ports": [{"port": 80}]}}, {"loadBalancer": {}}),
    ("/api/v1", "pods", {"spec": _TEMPLATE["spec"]}, {"phase": "Pending", "qosClass": "BestEffort"}),
]


@pytest.mark.parametrize("prefix, plural, body, expected", CREATED, ids=[entry[1] for entry in CREATED])
def test_a_create_answers_with_the_initialised_status_and_an_update_keeps_it(shared_kubesim, request, prefix, plural, body, expected):
    namespace = new_namespace(shared_kubesim, request.node.name)
    collection = f"{prefix}/namespaces/{namespace}/{plural}"
    status, created = http(shared_kubesim, "POST", collection, body=dict(body, metadata={"name": "s"}, status={"ignored": True}))
    assert status == 201 and created["status"] == expected
    # An unconditional update (no resourceVersion): the controllers may have written the status meanwhile.
    del created["metadata"]["resourceVersion"]
    created["metadata"]["labels"] = {"updated": "yes"}
    status, updated = http(shared_kubesim, "PUT", f"{collection}/s", body=created)
    assert status == 200 and isinstance(updated["status"], dict) and set(expected) <= set(updated["status"])


def test_the_python_client_reads_a_new_statefulset_status_as_zero_replicas(shared_kubesim, request):
    namespace = new_namespace(shared_kubesim, request.node.name)
    apps = kubernetes.client.AppsV1Api(api_client(shared_kubesim))
    created = apps.create_namespaced_stateful_set(namespace, {"metadata": {"name": "s"},
                                                              "spec": {"replicas": 0, "serviceName": "s", "selector": _SELECTOR, "template": _TEMPLATE}})
    assert created.status is not None and (created.status.replicas, created.status.available_replicas) == (0, 0)
