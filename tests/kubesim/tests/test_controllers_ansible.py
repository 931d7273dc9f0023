"""Ansible's kubernetes.core modules waiting on what the controllers do: k8s with wait, k8s_info with wait, k8s_scale."""

import os
import subprocess
import sys

import yaml
from traffic_support import new_namespace
from workload_support import READY_AFTER, deployment, is_ready, items, live


# Poll every second rather than the modules' default five: the simulator is quick.
WAIT = {"wait": True, "wait_timeout": 30, "wait_sleep": 1}


def playbook(namespace):
    web = deployment("web", replicas=2, annotations={READY_AFTER: "10"})
    return [{
        "hosts": "localhost",
        "gather_facts": False,
        "tasks": [
            {"name": "create and wait for the rollout",
             "kubernetes.core.k8s": {"state": "present", "namespace": namespace, "definition": web, **WAIT},
             "register": "created"},
            {"name": "wait for the pods to be ready",
             "kubernetes.core.k8s_info": {"kind": "Pod", "namespace": namespace, "label_selectors": ["app=web"],
                                          "wait_condition": {"type": "Ready", "status": "True"}, **WAIT},
             "register": "pods"},
            {"name": "scale up and wait",
             "kubernetes.core.k8s_scale": {"kind": "Deployment", "name": "web", "namespace": namespace, "replicas": 4, **WAIT},
             "register": "scaled"},
            {"assert": {"that": [
                "created.result.status.availableReplicas == 2",
                "created.result.status.observedGeneration == created.result.metadata.generation",
                "pods.resources | length == 2",
                "pods.resources | map(attribute='status.phase') | unique == ['Running']",
                "scaled.result.status.readyReplicas == 4",
                "scaled.result.spec.replicas == 4",
            ]}},
        ],
    }]


def test_kubernetes_core_modules_wait_for_the_controllers(shared_kubesim, request, tmp_path):
    namespace = new_namespace(shared_kubesim, request.node.name)
    path = tmp_path / "play.yml"
    path.write_text(yaml.safe_dump(playbook(namespace), sort_keys=False))
    ansible_playbook = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    result = subprocess.run([ansible_playbook, str(path)], capture_output=True, text=True, timeout=180, env=shared_kubesim.env, cwd=tmp_path,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok=4" in result.stdout and "failed=0" in result.stdout
    pods = live(items(shared_kubesim, namespace, "pods", "app=web"))
    assert len(pods) == 4 and all(map(is_ready, pods))
