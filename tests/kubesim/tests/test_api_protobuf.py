"""kubectl's typed commands send protobuf bodies: imperative create commands and the evictions of drain."""

import json

from api_support import new_namespace


def get_json(simulator, namespace, *what):
    return json.loads(simulator.kubectl("get", *what, "-n", namespace, "-o", "json").stdout)


def test_imperative_create_commands(shared_kubesim, request):
    namespace = new_namespace(shared_kubesim, request.node.name)
    kubectl = shared_kubesim.kubectl
    kubectl("create", "deployment", "web", "-n", namespace, "--image=registry.example.com/web:1.0", "--replicas=0", "--port=8080")
    kubectl("create", "service", "clusterip", "web", "-n", namespace, "--tcp=80:8080")
    kubectl("create", "configmap", "settings", "-n", namespace, "--from-literal=mode=fast")
    kubectl("create", "secret", "generic", "token", "-n", namespace, "--from-literal=value=s3cret")
    kubectl("create", "poddisruptionbudget", "web", "-n", namespace, "--selector=app=web", "--max-unavailable=25%")
    kubectl("create", "ingress", "web", "-n", namespace, "--rule=web.example.com/*=web:80")

    deployment = get_json(shared_kubesim, namespace, "deployment", "web")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert (deployment["spec"]["replicas"], deployment["spec"]["selector"]) == (0, {"matchLabels": {"app": "web"}})
    assert (container["image"], container["ports"]) == ("registry.example.com/web:1.0", [{"containerPort": 8080, "protocol": "TCP"}])
    service = get_json(shared_kubesim, namespace, "service", "web")
    assert service["spec"]["ports"] == [{"name": "80-8080", "port": 80, "protocol": "TCP", "targetPort": 8080}]
    assert get_json(shared_kubesim, namespace, "configmap", "settings")["data"] == {"mode": "fast"}
    assert get_json(shared_kubesim, namespace, "secret", "token")["data"] == {"value": "czNjcmV0"}
    assert get_json(shared_kubesim, namespace, "pdb", "web")["spec"]["maxUnavailable"] == "25%"
    rule = get_json(shared_kubesim, namespace, "ingress", "web")["spec"]["rules"][0]
    assert rule["host"] == "web.example.com" and rule["http"]["paths"][0]["backend"]["service"] == {"name": "web", "port": {"number": 80}}


def test_drain_evicts_until_the_budget_blocks(kubesim_factory):
    simulator = kubesim_factory(nodes=1, time_scale=100)
    simulator.kubectl("create", "deployment", "web", "--image=registry.example.com/web:1.0", "--replicas=2")
    simulator.kubectl("create", "poddisruptionbudget", "web", "--selector=app=web", "--min-available=2")
    simulator.kubectl("rollout", "status", "deployment/web", "--timeout=30s")
    node = simulator.kubectl("get", "nodes", "-o", "jsonpath={.items[0].metadata.name}").stdout
    drain = simulator.kubectl("drain", node, "--timeout=1s", check=False)
    assert drain.returncode != 0
    assert "Cannot evict pod as it would violate the pod's disruption budget." in drain.stderr
    simulator.kubectl("patch", "pdb", "web", "--type=merge", "-p", '{"spec":{"minAvailable":0}}')
    simulator.kubectl("drain", node, "--timeout=20s")
    assert simulator.kubectl("get", "pods", "-l", "app=web", "--field-selector", f"spec.nodeName={node}", "-o", "name").stdout == ""
