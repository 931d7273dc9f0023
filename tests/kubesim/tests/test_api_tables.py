"""What ``kubectl get`` prints: the server-side Table columns for each kind."""

import kubernetes

from api_support import api_client, deployment, make_ready, new_namespace, pod


def header_and_rows(output):
    lines = output.strip().splitlines()
    return lines[0].split(), [line.split() for line in lines[1:]]


def test_pod_and_deployment_columns(shared_kubesim, request):
    namespace = new_namespace(shared_kubesim, request.node.name)
    client = api_client(shared_kubesim)
    kubernetes.client.CoreV1Api(client).create_namespaced_pod(namespace, pod("solo", {"app": "solo"}))
    make_ready(shared_kubesim, namespace, ["solo"])
    kubernetes.client.AppsV1Api(client).create_namespaced_deployment(namespace, deployment("idle", replicas=0))

    header, rows = header_and_rows(shared_kubesim.kubectl("get", "pods", "-n", namespace).stdout)
    assert header == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert rows[0][:4] == ["solo", "1/1", "Running", "0"]
    header, rows = header_and_rows(shared_kubesim.kubectl("get", "deployments", "-n", namespace).stdout)
    assert header == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert rows[0][:4] == ["idle", "0/0", "0", "0"]
    header, _ = header_and_rows(shared_kubesim.kubectl("get", "deployments", "-n", namespace, "-o", "wide").stdout)
    assert header[-3:] == ["CONTAINERS", "IMAGES", "SELECTOR"]


def test_service_namespace_and_custom_kind_columns(shared_kubesim, request):
    namespace = new_namespace(shared_kubesim, request.node.name)
    shared_kubesim.kubectl("apply", "-n", namespace, "-f", "-", stdin="""
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {selector: {app: web}, ports: [{port: 80}]}
---
apiVersion: route.openshift.io/v1
kind: Route
metadata: {name: web}
spec: {to: {kind: Service, name: web}}
""")
    header, rows = header_and_rows(shared_kubesim.kubectl("get", "svc", "web", "-n", namespace).stdout)
    assert header == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    assert rows[0][:2] == ["web", "ClusterIP"] and rows[0][3:5] == ["<none>", "80/TCP"]
    header, rows = header_and_rows(shared_kubesim.kubectl("get", "routes", "-A").stdout)
    assert header == ["NAMESPACE", "NAME", "AGE"] and [namespace, "web"] == rows[0][:2]
    header, rows = header_and_rows(shared_kubesim.kubectl("get", "ns", namespace, "--show-labels").stdout)
    assert header == ["NAME", "STATUS", "AGE", "LABELS"] and rows[0][1] == "Active"
