"""The acceptance path end to end through kubectl and Ansible's kubernetes.core: apply a Deployment and a
Service, roll out, change the image, roll out again, read the endpoints, scale, delete."""

import json
import os
import subprocess
import sys
import textwrap

from api_support import new_namespace

MANIFEST = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web}}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: web, image: "registry.example.com/web:1.0", ports: [{containerPort: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
"""


def test_kubectl_rollout_workflow(shared_kubesim, request):
    namespace = new_namespace(shared_kubesim, request.node.name)
    kubectl = shared_kubesim.kubectl
    kubectl("apply", "-n", namespace, "-f", "-", stdin=MANIFEST)
    kubectl("rollout", "status", "deployment/web", "-n", namespace, "--timeout=30s")
    kubectl("set", "image", "deployment/web", "-n", namespace, "web=registry.example.com/web:1.1")
    rollout = kubectl("rollout", "status", "deployment/web", "-n", namespace, "--timeout=30s")
    assert 'deployment "web" successfully rolled out' in rollout.stdout
    pods = json.loads(kubectl("get", "pods", "-n", namespace, "-l", "app=web", "-o", "json").stdout)["items"]
    running = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
    assert {p["spec"]["containers"][0]["image"] for p in running} == {"registry.example.com/web:1.1"}
    addresses = kubectl("get", "endpoints", "web", "-n", namespace, "-o", "jsonpath={.subsets[*].addresses[*].ip}").stdout.split()
    assert len(addresses) == 3
    kubectl("delete", "-n", namespace, "-f", "-", "--wait=true", "--timeout=30s", stdin=MANIFEST)
    assert kubectl("get", "deployments,services", "-n", namespace, "-o", "name").stdout == ""


def test_ansible_kubernetes_core_modules(shared_kubesim, request, tmp_path):
    namespace = new_namespace(shared_kubesim, request.node.name)
    (tmp_path / "web.yaml").write_text(MANIFEST)
    playbook = tmp_path / "play.yml"
    playbook.write_text(textwrap.dedent(f"""
        - hosts: localhost
          gather_facts: false
          module_defaults:
            group/kubernetes.core.k8s: {{namespace: {namespace}}}
          tasks:
          - kubernetes.core.k8s: {{state: present, apply: true, src: "{tmp_path / 'web.yaml'}"}}
          - kubernetes.core.k8s_info:
              kind: Deployment
              name: web
              wait: true
              wait_condition: {{type: Available, status: "True"}}
              wait_timeout: 30
            register: info
          - kubernetes.core.k8s_scale: {{kind: Deployment, name: web, replicas: 1, wait: true, wait_timeout: 30}}
          - kubernetes.core.k8s_info: {{kind: Deployment, name: web}}
            register: scaled
          - kubernetes.core.k8s: {{state: present, apply: true, src: "{tmp_path / 'web.yaml'}"}}
            register: reapplied
          - assert:
              that:
              - info.resources[0].status.readyReplicas == 3
              - scaled.resources[0].spec.replicas == 1
              - reapplied.changed
    """))
    ansible_playbook = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    result = subprocess.run([ansible_playbook, str(playbook)], capture_output=True, text=True, timeout=120, env=shared_kubesim.env,
                            check=False, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "failed=0" in result.stdout
