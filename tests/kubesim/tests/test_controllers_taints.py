"""The taint manager: NoExecute taints evict the pods that do not tolerate them (at once, or after their
tolerationSeconds), the default not-ready/unreachable tolerations, and a node that stops being Ready."""

import os
import subprocess
import sys

import kubernetes
import yaml
from api_support import api_client
from test_controllers_events import events_of, summary
from traffic_support import apply, new_namespace, poll
from workload_support import IGNORES_SIGTERM, get_json, items, pod

DEFAULT_TOLERATIONS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
]


def tolerating(name, grace_seconds=30, annotations=None, **toleration):
    manifest = pod(name, {"app": "web"}, annotations=annotations, grace_seconds=grace_seconds)
    manifest["spec"]["tolerations"] = [dict(key="maintenance", operator="Exists", effect="NoExecute", **toleration)]
    return manifest


def pod_names(kubesim, namespace, live_only=True):
    return sorted(p["metadata"]["name"] for p in items(kubesim, namespace, "pods") if not (live_only and p["metadata"].get("deletionTimestamp")))


def taint_all_nodes(kubesim, tmp_path, state):
    """Taint (or untaint) every node with maintenance=yes:NoExecute through kubernetes.core.k8s_taint."""
    nodes = [node["metadata"]["name"] for node in items(kubesim, "default", "nodes")]
    tasks = [{"kubernetes.core.k8s_taint": {"state": state, "name": node, "taints": [{"key": "maintenance", "value": "yes", "effect": "NoExecute"}]}}
             for node in nodes]
    path = tmp_path / f"taint-{state}.yml"
    path.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}], sort_keys=False))
    ansible_playbook = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    result = subprocess.run([ansible_playbook, str(path)], capture_output=True, text=True, timeout=120, env=kubesim.env, cwd=tmp_path, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_pods_get_the_default_not_ready_and_unreachable_tolerations(shared_kubesim, request):
    namespace = new_namespace(shared_kubesim, request.node.name)
    own = tolerating("web-1")
    own["spec"]["tolerations"].append({"operator": "Exists", "effect": "NoExecute"})
    apply(shared_kubesim, namespace, pod("web-0", {"app": "web"}), own)
    core = kubernetes.client.CoreV1Api(api_client(shared_kubesim))
    defaulted = core.api_client.sanitize_for_serialization(core.read_namespaced_pod("web-0", namespace))
    assert defaulted["spec"]["tolerations"] == DEFAULT_TOLERATIONS
    # A pod that already tolerates every NoExecute taint gets nothing more.
    assert len(get_json(shared_kubesim, namespace, "pod", "web-1")["spec"]["tolerations"]) == 2


def test_a_no_execute_taint_evicts_untolerating_pods_at_once_and_the_others_after_their_toleration(kubesim_factory, request, tmp_path):
    # Slow time (2x): the 20 s toleration lasts 10 real seconds, well beyond the Ansible run that taints the node.
    kubesim = kubesim_factory(nodes=1, time_scale=2)
    namespace = new_namespace(kubesim, request.node.name)
    apply(kubesim, namespace, pod("plain", {"app": "web"}), tolerating("for-a-while", grace_seconds=600, annotations=IGNORES_SIGTERM, tolerationSeconds=20), tolerating("forever"))
    poll(lambda: get_json(kubesim, namespace, "pods")["items"], lambda found: all(p["status"]["phase"] == "Running" for p in found), "Running")

    taint_all_nodes(kubesim, tmp_path, "present")
    poll(lambda: pod_names(kubesim, namespace), lambda found: "plain" not in found, "the untolerating pod to be evicted")
    assert "for-a-while" in pod_names(kubesim, namespace)
    poll(lambda: pod_names(kubesim, namespace), lambda found: found == ["forever"], "the pod tolerating 20 s to be evicted")

    evicted = events_of(kubesim, namespace, "Pod", "for-a-while", reason="TaintManagerEviction")
    assert summary(evicted) == [("Normal", "TaintManagerEviction", f"Marking for deletion Pod {namespace}/for-a-while")]
    assert evicted[0]["source"] == {"component": "taint-eviction-controller"}
    # An app that ignores SIGTERM: still in its 600 s grace period.
    leaving = get_json(kubesim, namespace, "pod", "for-a-while")
    assert leaving["metadata"]["deletionGracePeriodSeconds"] == 600
    target = next(c for c in leaving["status"]["conditions"] if c["type"] == "DisruptionTarget")
    assert (target["status"], target["reason"], target["message"]) == ("True", "DeletionByTaintManager", "Taint manager: deleting due to NoExecute taint")


def test_removing_the_taint_in_time_cancels_the_eviction(kubesim_factory, request, tmp_path):
    kubesim = kubesim_factory()
    namespace = new_namespace(kubesim, request.node.name)
    apply(kubesim, namespace, tolerating("patient", tolerationSeconds=3600))
    poll(lambda: get_json(kubesim, namespace, "pod", "patient"), lambda found: found["status"].get("phase") == "Running", "Running")
    taint_all_nodes(kubesim, tmp_path, "present")
    taint_all_nodes(kubesim, tmp_path, "absent")
    cancelled = poll(lambda: events_of(kubesim, namespace, "Pod", "patient", reason="TaintManagerEviction"), lambda found: found, "the cancellation")
    assert summary(cancelled) == [("Normal", "TaintManagerEviction", f"Cancelling deletion of Pod {namespace}/patient")]
    assert pod_names(kubesim, namespace) == ["patient"]


def test_a_node_that_stops_being_ready_is_tainted_and_its_pods_leave_after_five_minutes(kubesim_factory, request):
    kubesim = kubesim_factory(nodes=1, time_scale=200)
    namespace = new_namespace(kubesim, request.node.name)
    apply(kubesim, namespace, pod("web-0", {"app": "web"}))
    poll(lambda: get_json(kubesim, namespace, "pod", "web-0"), lambda found: found["status"].get("phase") == "Running", "Running")
    core = kubernetes.client.CoreV1Api(api_client(kubesim))
    node = core.read_node("kubesim-node-1")
    ready = next(c for c in node.status.conditions if c.type == "Ready")
    ready.status, ready.reason, ready.message = "False", "KubeletNotReady", "container runtime network not ready"
    core.replace_node_status("kubesim-node-1", node)
    tainted = poll(lambda: get_json(kubesim, namespace, "node", "kubesim-node-1")["spec"].get("taints", []), lambda found: len(found) == 2,
                   "the not-ready taints")
    assert sorted((t["key"], t["effect"]) for t in tainted) == [("node.kubernetes.io/not-ready", "NoExecute"),
                                                                 ("node.kubernetes.io/not-ready", "NoSchedule")]
    poll(lambda: pod_names(kubesim, namespace), lambda found: found == [], "the pod to be evicted after its 300 s toleration")
