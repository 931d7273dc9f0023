"""StatefulSets: ordinal pods, ordered or parallel start, ControllerRevisions, partitioned and OnDelete updates."""

from traffic_support import apply, new_namespace, poll
from workload_support import IMAGE, READY_AFTER, PodWatch, get_json, image_of, is_ready, items, live, names, rollout_status, statefulset


def deletion_order(watch):
    """Pod names in the order they were marked for deletion."""
    order = []
    for state in watch.states():
        for name, pod in state.items():
            if pod["metadata"].get("deletionTimestamp") and name not in order:
                order.append(name)
    return order


def images_by_pod(kubesim, namespace):
    return {pod["metadata"]["name"]: image_of(pod) for pod in live(items(kubesim, namespace, "pods", "app=db"))}


def test_ordered_ready_starts_each_pod_after_the_one_before_is_ready(shared_kubesim, request):
    kubesim = shared_kubesim
    namespace = new_namespace(kubesim, request.node.name)
    with PodWatch(kubesim, namespace, "app=db") as watch:
        apply(kubesim, namespace, statefulset("db", annotations={READY_AFTER: "6"}))
        assert "partitioned roll out complete: 3 new pods have been updated" in rollout_status(kubesim, namespace, "statefulset/db").stdout
        poll(lambda: watch.states()[-1] if watch.events else {}, lambda pods: len(pods) == 3, "three pods in the watch")
        for ordinal in (1, 2):
            first_seen = next(state for state in watch.states() if f"db-{ordinal}" in state)
            assert is_ready(first_seen[f"db-{ordinal - 1}"]), f"db-{ordinal} started before db-{ordinal - 1} was ready"

        sts = get_json(kubesim, namespace, "statefulset", "db")
        pods = live(items(kubesim, namespace, "pods", "app=db"))
        assert names(pods) == ["db-0", "db-1", "db-2"]
        for pod in pods:
            name = pod["metadata"]["name"]
            assert pod["metadata"]["labels"]["controller-revision-hash"] == sts["status"]["updateRevision"]
            assert pod["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"] == name
            assert (pod["spec"]["hostname"], pod["spec"]["subdomain"]) == (name, "db")
        assert sts["status"]["currentRevision"] == sts["status"]["updateRevision"]
        assert sts["status"]["readyReplicas"] == sts["status"]["currentReplicas"] == 3

        kubesim.kubectl("scale", "statefulset/db", "-n", namespace, "--replicas=1")
        poll(lambda: names(items(kubesim, namespace, "pods", "app=db")), lambda found: found == ["db-0"], "scale down to db-0")
    assert deletion_order(watch) == ["db-2", "db-1"]


def test_parallel_starts_every_pod_without_waiting(shared_kubesim, request):
    kubesim = shared_kubesim
    namespace = new_namespace(kubesim, request.node.name)
    apply(kubesim, namespace, statefulset("db", policy="Parallel", annotations={READY_AFTER: "20"}))
    pods = poll(lambda: items(kubesim, namespace, "pods", "app=db"), lambda found: len(found) == 3, "three pods")
    assert not any(is_ready(pod) for pod in pods)
    rollout_status(kubesim, namespace, "statefulset/db")


def test_rolling_update_with_partition_updates_from_the_highest_ordinal(shared_kubesim, request):
    kubesim = shared_kubesim
    namespace = new_namespace(kubesim, request.node.name)
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}
    apply(kubesim, namespace, statefulset("db", replicas=4, update_strategy=strategy))
    rollout_status(kubesim, namespace, "statefulset/db")
    with PodWatch(kubesim, namespace, "app=db") as watch:
        watch.wait_for_pods(4)
        kubesim.kubectl("set", "image", "statefulset/db", "-n", namespace, f"web={IMAGE}:2.0")
        done = rollout_status(kubesim, namespace, "statefulset/db")
    assert "partitioned roll out complete: 2 new pods have been updated" in done.stdout
    assert deletion_order(watch) == ["db-3", "db-2"]
    assert images_by_pod(kubesim, namespace) == {"db-0": f"{IMAGE}:1.0", "db-1": f"{IMAGE}:1.0", "db-2": f"{IMAGE}:2.0", "db-3": f"{IMAGE}:2.0"}
    status = get_json(kubesim, namespace, "statefulset", "db")["status"]
    assert status["currentRevision"] != status["updateRevision"]
    assert (status["currentReplicas"], status["updatedReplicas"]) == (2, 2)

    kubesim.kubectl("patch", "statefulset/db", "-n", namespace, "-p", '{"spec":{"updateStrategy":{"rollingUpdate":{"partition":0}}}}')
    rollout_status(kubesim, namespace, "statefulset/db")
    assert set(images_by_pod(kubesim, namespace).values()) == {f"{IMAGE}:2.0"}
    status = poll(lambda: get_json(kubesim, namespace, "statefulset", "db")["status"],
                  lambda found: found["currentRevision"] == found["updateRevision"], "the update to complete")
    revisions = items(kubesim, namespace, "controllerrevisions")
    assert sorted(r["revision"] for r in revisions) == [1, 2]
    assert {r["metadata"]["name"] for r in revisions if r["revision"] == 2} == {status["updateRevision"]}


def test_on_delete_gives_the_new_revision_only_to_deleted_pods(shared_kubesim, request):
    kubesim = shared_kubesim
    namespace = new_namespace(kubesim, request.node.name)
    apply(kubesim, namespace, statefulset("db", update_strategy={"type": "OnDelete"}))
    poll(lambda: items(kubesim, namespace, "pods", "app=db"), lambda pods: len(pods) == 3 and all(map(is_ready, pods)), "three ready pods")
    kubesim.kubectl("set", "image", "statefulset/db", "-n", namespace, f"web={IMAGE}:2.0")
    sts = poll(lambda: get_json(kubesim, namespace, "statefulset", "db"),
               lambda found: found["status"]["observedGeneration"] == found["metadata"]["generation"], "the update to be observed")
    assert set(images_by_pod(kubesim, namespace).values()) == {f"{IMAGE}:1.0"}
    refused = rollout_status(kubesim, namespace, "statefulset/db", check=False)
    assert refused.returncode != 0 and "only available for RollingUpdate strategy type" in refused.stderr

    kubesim.kubectl("delete", "pod", "db-1", "-n", namespace)
    replaced = poll(lambda: live(items(kubesim, namespace, "pods", "app=db")),
                    lambda pods: len(pods) == 3 and all(map(is_ready, pods)), "db-1 to come back")
    assert images_by_pod(kubesim, namespace) == {"db-0": f"{IMAGE}:1.0", "db-1": f"{IMAGE}:2.0", "db-2": f"{IMAGE}:1.0"}
    hashes = {pod["metadata"]["name"]: pod["metadata"]["labels"]["controller-revision-hash"] for pod in replaced}
    status = get_json(kubesim, namespace, "statefulset", "db")["status"]
    assert hashes["db-1"] == status["updateRevision"] == sts["status"]["updateRevision"]
    assert hashes["db-0"] == hashes["db-2"] == status["currentRevision"] != status["updateRevision"]
    assert (status["currentReplicas"], status["updatedReplicas"]) == (2, 1)
