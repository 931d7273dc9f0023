"""DaemonSets: a pod per eligible node, placed by the scheduler, rolled node by node within maxUnavailable
or only on deletion (OnDelete), through kubectl, the Python client and kubernetes.core."""

import os
import subprocess
import sys

import yaml
from traffic_support import apply, new_namespace, poll
from workload_support import IMAGE, PodWatch, get_json, is_ready, items, live, pod_template

GENERAL_NODES = ["kubesim-node-1", "kubesim-node-3"]  # the nodes labelled cxpe.io/node-pool=general


def daemonset(name, version="1.0", node_selector=None, update_strategy=None):
    labels = {"app": name}
    spec = {"selector": {"matchLabels": labels}, "template": pod_template(labels, f"{IMAGE}:{version}", grace_seconds=2, node_selector=node_selector)}
    if update_strategy:
        spec["updateStrategy"] = update_strategy
    return {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": name}, "spec": spec}


def pods_by_node(kubesim, namespace):
    return {p["spec"].get("nodeName"): p for p in live(items(kubesim, namespace, "pods"))}


def test_a_daemonset_runs_one_pod_on_each_node_its_selector_admits(kubesim_factory, request, tmp_path):
    kubesim = kubesim_factory()
    namespace = new_namespace(kubesim, request.node.name)
    agent = daemonset("agent", node_selector={"cxpe.io/node-pool": "general"})
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"kubernetes.core.k8s": {"state": "present", "namespace": namespace, "definition": agent, "wait": True, "wait_timeout": 30, "wait_sleep": 1},
         "register": "created"},
        {"assert": {"that": ["created.result.status.numberReady == 2", "created.result.status.desiredNumberScheduled == 2"]}},
    ]}]
    path = tmp_path / "play.yml"
    path.write_text(yaml.safe_dump(play, sort_keys=False))
    ansible_playbook = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    result = subprocess.run([ansible_playbook, str(path)], capture_output=True, text=True, timeout=120, env=kubesim.env, cwd=tmp_path, check=False)
    assert result.returncode == 0, result.stdout + result.stderr

    placed = pods_by_node(kubesim, namespace)
    assert sorted(placed) == GENERAL_NODES
    pod = placed["kubesim-node-1"]
    assert pod["metadata"]["name"].startswith("agent-") and pod["metadata"]["ownerReferences"][0]["kind"] == "DaemonSet"
    terms = pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms == [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["kubesim-node-1"]}]}]
    assert {(t["key"], t["effect"]) for t in pod["spec"]["tolerations"]} >= {("node.kubernetes.io/not-ready", "NoExecute"),
                                                                             ("node.kubernetes.io/unschedulable", "NoSchedule")}
    assert pod["metadata"]["labels"]["pod-template-generation"] == "1"
    revisions = items(kubesim, namespace, "controllerrevisions")
    assert [r["metadata"]["labels"]["controller.kubernetes.io/hash"] for r in revisions] == [pod["metadata"]["labels"]["controller-revision-hash"]]

    status = get_json(kubesim, namespace, "daemonset", "agent")["status"]
    assert {k: status[k] for k in ("desiredNumberScheduled", "currentNumberScheduled", "numberReady", "updatedNumberScheduled",
                                   "numberAvailable", "numberMisscheduled")} == {
        "desiredNumberScheduled": 2, "currentNumberScheduled": 2, "numberReady": 2, "updatedNumberScheduled": 2, "numberAvailable": 2,
        "numberMisscheduled": 0}
    row = kubesim.kubectl("get", "daemonset", "agent", "-n", namespace, "--no-headers").stdout.split()
    assert row[:7] == ["agent", "2", "2", "2", "2", "2", "cxpe.io/node-pool=general"]

    # An untolerated NoSchedule taint keeps the running pod but stops counting the node; NoExecute removes the pod.
    kubesim.kubectl("taint", "nodes", "kubesim-node-3", "dedicated=db:NoSchedule")
    poll(lambda: get_json(kubesim, namespace, "daemonset", "agent")["status"], lambda found: found["desiredNumberScheduled"] == 1, "one desired")
    assert sorted(pods_by_node(kubesim, namespace)) == GENERAL_NODES
    assert get_json(kubesim, namespace, "daemonset", "agent")["status"]["numberMisscheduled"] == 1
    kubesim.kubectl("taint", "nodes", "kubesim-node-3", "dedicated=db:NoExecute")
    poll(lambda: sorted(pods_by_node(kubesim, namespace)), lambda found: found == ["kubesim-node-1"], "the pod to leave node 3")


def test_a_rolling_update_replaces_pods_node_by_node_within_max_unavailable(shared_kubesim, request):
    kubesim = shared_kubesim
    namespace = new_namespace(kubesim, request.node.name)
    apply(kubesim, namespace, daemonset("agent"))
    kubesim.kubectl("rollout", "status", "daemonset/agent", "-n", namespace, "--timeout=30s", timeout=45)
    with PodWatch(kubesim, namespace, "app=agent") as watch:
        watch.wait_for_pods(3)
        kubesim.kubectl("set", "image", "daemonset/agent", f"web={IMAGE}:2.0", "-n", namespace)
        kubesim.kubectl("rollout", "status", "daemonset/agent", "-n", namespace, "--timeout=30s", timeout=45)
        states = watch.states()
    for state in states:
        serving = {p["spec"].get("nodeName") for p in state.values() if is_ready(p) and not p["metadata"].get("deletionTimestamp")}
        assert len(serving) >= 2, "more than maxUnavailable (1) nodes without an available pod"
    final = live(items(kubesim, namespace, "pods"))
    assert len(final) == 3 and {p["spec"]["containers"][0]["image"] for p in final} == {f"{IMAGE}:2.0"}
    assert len(items(kubesim, namespace, "controllerrevisions")) == 2


def test_on_delete_gives_the_new_template_only_to_replaced_pods(shared_kubesim, request):
    kubesim = shared_kubesim
    namespace = new_namespace(kubesim, request.node.name)
    apply(kubesim, namespace, daemonset("agent", update_strategy={"type": "OnDelete"}))
    poll(lambda: pods_by_node(kubesim, namespace), lambda found: len(found) == 3 and all(map(is_ready, found.values())), "three ready pods")
    kubesim.kubectl("set", "image", "daemonset/agent", f"web={IMAGE}:2.0", "-n", namespace)
    poll(lambda: get_json(kubesim, namespace, "daemonset", "agent")["status"], lambda found: found.get("observedGeneration") == 2, "generation 2")
    assert {p["spec"]["containers"][0]["image"] for p in live(items(kubesim, namespace, "pods"))} == {f"{IMAGE}:1.0"}
    victim = pods_by_node(kubesim, namespace)["kubesim-node-2"]["metadata"]["name"]
    kubesim.kubectl("delete", "pod", victim, "-n", namespace, "--wait=false")
    replaced = poll(lambda: pods_by_node(kubesim, namespace), lambda found: found.get("kubesim-node-2", {}).get("metadata", {}).get("name") not in
                    (None, victim), "the replacement on node 2")
    images = {node: p["spec"]["containers"][0]["image"] for node, p in replaced.items()}
    assert images == {"kubesim-node-1": f"{IMAGE}:1.0", "kubesim-node-2": f"{IMAGE}:2.0", "kubesim-node-3": f"{IMAGE}:1.0"}
