"""NetworkPolicies: stored with the real server's defaults and refused as it refuses them (they are not enforced)."""

import kubernetes
from api_support import api_client, failure, new_namespace

POLICY = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{namespaceSelector: {matchLabels: {team: edge}}, podSelector: {matchLabels: {role: proxy}}}]
    ports: [{port: 8080}]
  egress:
  - to: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}}]
"""


def test_a_network_policy_is_stored_with_its_defaults_and_printed(shared_kubesim, request):
    namespace = new_namespace(shared_kubesim, request.node.name)
    shared_kubesim.kubectl("apply", "-n", namespace, "-f", "-", stdin=POLICY)
    networking = kubernetes.client.NetworkingV1Api(api_client(shared_kubesim))
    stored = networking.api_client.sanitize_for_serialization(networking.read_namespaced_network_policy("web", namespace))
    assert stored["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert stored["spec"]["ingress"][0]["ports"] == [{"port": 8080, "protocol": "TCP"}]
    assert stored["metadata"]["generation"] == 1
    assert shared_kubesim.kubectl("get", "netpol", "-n", namespace, "--no-headers").stdout.split()[:2] == ["web", "app=web"]
    networking.create_namespaced_network_policy(namespace, {"metadata": {"name": "deny-all"}, "spec": {}})
    deny = networking.read_namespaced_network_policy("deny-all", namespace)
    assert deny.spec.pod_selector.match_labels is None and deny.spec.policy_types == ["Ingress"]


def test_invalid_peers_and_cidrs_are_refused(shared_kubesim, request):
    namespace = new_namespace(shared_kubesim, request.node.name)
    networking = kubernetes.client.NetworkingV1Api(api_client(shared_kubesim))
    both = {"metadata": {"name": "both"}, "spec": {"ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}, "podSelector": {}}]}]}}
    status, body = failure(networking.create_namespaced_network_policy, namespace, both)
    assert (status, body["message"]) == (422, 'NetworkPolicy.networking.k8s.io "both" is invalid: spec.ingress[0].from[0]: '
                                              "Forbidden: may not specify both ipBlock and another peer")
    bad = {"metadata": {"name": "bad"}, "spec": {"egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0", "except": []}}]}],
                                                 "policyTypes": ["Egress", "Sideways"]}}
    status, body = failure(networking.create_namespaced_network_policy, namespace, bad)
    assert status == 422 and [cause["field"] for cause in body["details"]["causes"]] == ["spec.egress[0].to[0].ipBlock.cidr", "spec.policyTypes[1]"]
    assert body["details"]["causes"][0]["message"] == 'Invalid value: "10.0.0.0": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)'
