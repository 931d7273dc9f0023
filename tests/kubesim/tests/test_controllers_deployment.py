"""Deployments as kube-controller-manager runs them, seen through kubectl and the Python client."""

import json

from traffic_support import apply, new_namespace, poll
from workload_support import (IMAGE, READY_AFTER, PodWatch, deployment, endpoint_addresses, get_json, image_of, is_ready, live, names,
                              pods_of, replicasets, rolled_out, rollout_status, service, slice_endpoints)

REVISION = "deployment.kubernetes.io/revision"


def progressing(deployment_object):
    return next(c for c in deployment_object["status"]["conditions"] if c["type"] == "Progressing")


def test_set_image_rolls_out_and_endpoints_list_only_the_new_pods(shared_kubesim, request):
    kubesim = shared_kubesim
    namespace = new_namespace(kubesim, request.node.name)
    apply(kubesim, namespace, deployment("web"), service("web"))
    assert 'deployment "web" successfully rolled out' in rollout_status(kubesim, namespace, "deployment/web").stdout
    first = replicasets(kubesim, namespace, "web")[1]
    assert first["metadata"]["name"] == f"web-{first['metadata']['labels']['pod-template-hash']}"
    first_pods = names(pods_of(kubesim, namespace, first))
    poll(lambda: sorted(endpoint_addresses(kubesim, namespace, "web")), lambda seen: seen == first_pods, "endpoints of the first pods")

    kubesim.kubectl("set", "image", "deployment/web", "-n", namespace, f"web={IMAGE}:1.1")
    assert 'deployment "web" successfully rolled out' in rollout_status(kubesim, namespace, "deployment/web").stdout

    revisions = replicasets(kubesim, namespace, "web")
    assert sorted(revisions) == [1, 2]
    assert revisions[1]["spec"]["replicas"] == 0 and revisions[2]["spec"]["replicas"] == 3
    new_pods = {pod["metadata"]["name"]: pod["status"]["podIP"] for pod in live(pods_of(kubesim, namespace, revisions[2]))}
    assert len(new_pods) == 3 and not set(new_pods) & set(first_pods)
    assert all(pod["status"]["podIP"].startswith("10.244.") for pod in pods_of(kubesim, namespace, revisions[2]))
    poll(lambda: endpoint_addresses(kubesim, namespace, "web"), lambda seen: seen == new_pods, "endpoints of the new pods only")
    poll(lambda: {name: ip for name, (ip, conditions) in slice_endpoints(kubesim, namespace, "web").items() if conditions["ready"]},
         lambda seen: seen == new_pods, "ready EndpointSlice endpoints of the new pods only")
    endpoints = get_json(kubesim, namespace, "endpoints", "web")
    assert endpoints["subsets"][0]["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    deployed = get_json(kubesim, namespace, "deployment", "web")
    assert deployed["metadata"]["annotations"][REVISION] == "2"
    assert deployed["status"]["updatedReplicas"] == deployed["status"]["availableReplicas"] == 3
    assert progressing(deployed)["reason"] == "NewReplicaSetAvailable"


def test_rolling_update_keeps_within_max_surge_and_max_unavailable(shared_kubesim, request):
    """3 replicas at 50%: surge rounds up to 2 extra pods, unavailability rounds down to 1 pod."""
    kubesim = shared_kubesim
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "50%", "maxUnavailable": "50%"}}
    namespace = rolled_out(kubesim, request, deployment("web", strategy=strategy, annotations={READY_AFTER: "6"}))
    with PodWatch(kubesim, namespace, "app=web") as watch:
        watch.wait_for_pods(3)
        kubesim.kubectl("set", "image", "deployment/web", "-n", namespace, f"web={IMAGE}:2.0")
        rollout_status(kubesim, namespace, "deployment/web")
        poll(lambda: watch.states()[-1], lambda pods: len(live(pods.values())) == 3 and all(
            image_of(p) == f"{IMAGE}:2.0" and is_ready(p) for p in live(pods.values())), "the watch to see the finished rollout")
    states = [list(state.values()) for state in watch.states()]
    running = [len(live(pods)) for pods in states]
    serving = [len([p for p in live(pods) if is_ready(p)]) for pods in states]
    assert max(running) == 3 + 2, running
    assert min(serving) == 3 - 1, serving


def test_recreate_stops_every_old_pod_before_starting_new_ones(shared_kubesim, request):
    kubesim = shared_kubesim
    namespace = rolled_out(kubesim, request, deployment("web", strategy={"type": "Recreate"}, grace_seconds=4))
    with PodWatch(kubesim, namespace, "app=web") as watch:
        watch.wait_for_pods(3)
        kubesim.kubectl("set", "image", "deployment/web", "-n", namespace, f"web={IMAGE}:2.0")
        rollout_status(kubesim, namespace, "deployment/web")
        poll(lambda: watch.states()[-1], lambda pods: sum(image_of(p) == f"{IMAGE}:2.0" for p in pods.values()) == 3, "new pods in the watch")
    images_together = [{image_of(p) for p in state.values()} for state in watch.states()]
    assert {f"{IMAGE}:1.0"} in images_together and {f"{IMAGE}:2.0"} in images_together
    assert all(len(images) <= 1 for images in images_together), images_together


def test_paused_deployment_rolls_out_only_when_resumed(shared_kubesim, request):
    kubesim = shared_kubesim
    namespace = rolled_out(kubesim, request, deployment("web"))
    kubesim.kubectl("rollout", "pause", "deployment/web", "-n", namespace)
    kubesim.kubectl("set", "image", "deployment/web", "-n", namespace, f"web={IMAGE}:2.0")
    paused = poll(lambda: get_json(kubesim, namespace, "deployment", "web"),
                  lambda d: d["status"]["observedGeneration"] == d["metadata"]["generation"], "the paused spec to be observed")
    assert progressing(paused)["reason"] == "DeploymentPaused" and progressing(paused)["status"] == "Unknown"
    assert list(replicasets(kubesim, namespace, "web")) == [1]
    assert {image_of(pod) for pod in live(pods_of(kubesim, namespace, replicasets(kubesim, namespace, "web")[1]))} == {f"{IMAGE}:1.0"}

    kubesim.kubectl("rollout", "resume", "deployment/web", "-n", namespace)
    rollout_status(kubesim, namespace, "deployment/web")
    revisions = replicasets(kubesim, namespace, "web")
    assert sorted(revisions) == [1, 2]
    assert {image_of(pod) for pod in live(pods_of(kubesim, namespace, revisions[2]))} == {f"{IMAGE}:2.0"}


def test_crash_looping_rollout_exceeds_its_deadline_and_rolls_back_with_undo(shared_kubesim, request):
    kubesim = shared_kubesim
    namespace = rolled_out(kubesim, request, deployment("web", progressDeadlineSeconds=20), service("web"))
    serving = endpoint_addresses(kubesim, namespace, "web")

    kubesim.kubectl("set", "image", "deployment/web", "-n", namespace, f"web={IMAGE}:2.0-crashloop")
    failed = rollout_status(kubesim, namespace, "deployment/web", check=False)
    assert failed.returncode != 0
    assert 'deployment "web" exceeded its progress deadline' in failed.stderr
    condition = progressing(get_json(kubesim, namespace, "deployment", "web"))
    assert (condition["status"], condition["reason"]) == ("False", "ProgressDeadlineExceeded")
    crashing = live(pods_of(kubesim, namespace, replicasets(kubesim, namespace, "web")[2]))
    assert crashing and not any(is_ready(pod) for pod in crashing)
    restarts = poll(lambda: get_json(kubesim, namespace, "pod", crashing[0]["metadata"]["name"])["status"]["containerStatuses"][0],
                    lambda status: status["restartCount"] >= 2, "restarts of the crash-looping container")
    assert restarts["state"]["waiting"]["reason"] == "CrashLoopBackOff" and restarts["lastState"]["terminated"]["exitCode"] == 1
    assert endpoint_addresses(kubesim, namespace, "web") == serving  # maxUnavailable 25% of 3 rounds down to 0

    kubesim.kubectl("rollout", "undo", "deployment/web", "-n", namespace)
    assert 'deployment "web" successfully rolled out' in rollout_status(kubesim, namespace, "deployment/web").stdout
    revisions = replicasets(kubesim, namespace, "web")
    assert sorted(revisions) == [2, 3]
    restored = revisions[3]
    assert restored["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] == "1"
    assert restored["spec"]["replicas"] == 3 and revisions[2]["spec"]["replicas"] == 0
    assert {image_of(pod) for pod in live(pods_of(kubesim, namespace, restored))} == {f"{IMAGE}:1.0"}
    deployed = get_json(kubesim, namespace, "deployment", "web")
    assert deployed["metadata"]["annotations"][REVISION] == "3"
    assert progressing(deployed)["reason"] == "NewReplicaSetAvailable"


def test_kubectl_scale_adds_and_removes_pods_and_endpoints(shared_kubesim, request):
    kubesim = shared_kubesim
    namespace = rolled_out(kubesim, request, deployment("web", replicas=2), service("web"))
    for replicas in (5, 1):
        kubesim.kubectl("scale", "deployment/web", "-n", namespace, f"--replicas={replicas}")
        rollout_status(kubesim, namespace, "deployment/web")
        rs = replicasets(kubesim, namespace, "web")[1]
        assert rs["spec"]["replicas"] == replicas
        assert rs["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] == str(replicas)
        pods = live(pods_of(kubesim, namespace, rs))
        assert len(pods) == replicas
        poll(lambda: endpoint_addresses(kubesim, namespace, "web"), lambda seen, pods=pods: sorted(seen) == names(pods),
             f"{replicas} endpoints")
    assert list(replicasets(kubesim, namespace, "web")) == [1]


def test_rollout_restart_replaces_pods_and_history_is_trimmed(shared_kubesim, request):
    kubesim = shared_kubesim
    namespace = rolled_out(kubesim, request, deployment("web", replicas=2, grace_seconds=2, revisionHistoryLimit=1))
    before = names(live(pods_of(kubesim, namespace, replicasets(kubesim, namespace, "web")[1])))
    kubesim.kubectl("rollout", "restart", "deployment/web", "-n", namespace)
    rollout_status(kubesim, namespace, "deployment/web")
    restarted = replicasets(kubesim, namespace, "web")[2]
    assert "kubectl.kubernetes.io/restartedAt" in restarted["spec"]["template"]["metadata"]["annotations"]
    after = names(live(pods_of(kubesim, namespace, restarted)))
    assert len(after) == 2 and not set(after) & set(before)
    kubesim.kubectl("set", "image", "deployment/web", "-n", namespace, f"web={IMAGE}:2.0")
    rollout_status(kubesim, namespace, "deployment/web")
    poll(lambda: replicasets(kubesim, namespace, "web"), lambda found: sorted(found) == [2, 3], "revision 1 to be cleaned up")
    history = kubesim.kubectl("rollout", "history", "deployment/web", "-n", namespace).stdout
    assert [line.split()[0] for line in history.splitlines()[2:] if line.strip()] == ["2", "3"]
    assert json.loads(kubesim.kubectl("get", "deployment", "web", "-n", namespace, "-o", "json").stdout)["status"]["replicas"] == 2
