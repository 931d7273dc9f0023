"""The Events the controllers, the scheduler and the kubelets record, read as kubectl and the Python client read them."""

import kubernetes
from api_support import api_client
from traffic_support import apply, new_namespace, poll
from workload_support import CRASH_LOOP, deployment, get_json, items, pod, rollout_status, statefulset


def events_of(simulator, namespace, kind, name, reason=None):
    """The Events about one object, found the way ``kubectl describe`` finds them: a field selector on involvedObject."""
    selector = f"involvedObject.kind={kind},involvedObject.name={name},involvedObject.namespace={namespace}"
    if reason:
        selector += f",reason={reason}"
    core = kubernetes.client.CoreV1Api(api_client(simulator))
    found = core.list_namespaced_event(namespace, field_selector=selector)
    return [core.api_client.sanitize_for_serialization(event) for event in found.items]


def summary(events):
    return [(event["type"], event["reason"], event["message"]) for event in events]


def test_a_deployment_rollout_records_scaling_and_pod_creation_events(shared_kubesim, request):
    kubesim = shared_kubesim
    namespace = new_namespace(kubesim, request.node.name)
    apply(kubesim, namespace, deployment("web", replicas=2, grace_seconds=2))
    rollout_status(kubesim, namespace, "deployment/web")
    first = items(kubesim, namespace, "replicasets")[0]["metadata"]["name"]
    kubesim.kubectl("set", "image", "deployment/web", f"web={items(kubesim, namespace, 'pods')[0]['spec']['containers'][0]['image']}-2", "-n", namespace)
    rollout_status(kubesim, namespace, "deployment/web")
    second = next(rs["metadata"]["name"] for rs in items(kubesim, namespace, "replicasets") if rs["metadata"]["name"] != first)

    scaling = events_of(kubesim, namespace, "Deployment", "web")
    assert {(e["source"]["component"], e["reportingComponent"], e["count"]) for e in scaling} == {("deployment-controller", "deployment-controller", 1)}
    messages = [message for _, _, message in summary(scaling)]
    assert messages[0] == f"Scaled up replica set {first} from 0 to 2"
    assert messages[1] == f"Scaled up replica set {second} from 0 to 1"
    assert f"Scaled down replica set {first} from 1 to 0" in messages and f"Scaled up replica set {second} from 1 to 2" in messages
    assert {reason for _, reason, _ in summary(scaling)} == {"ScalingReplicaSet"}

    new_pods = sorted(p["metadata"]["name"] for p in items(kubesim, namespace, "pods") if p["metadata"]["name"].startswith(second))
    created = events_of(kubesim, namespace, "ReplicaSet", second, reason="SuccessfulCreate")
    assert sorted(summary(created)) == [("Normal", "SuccessfulCreate", f"Created pod: {name}") for name in new_pods]
    assert {e["source"]["component"] for e in created} == {"replicaset-controller"}
    deleted = events_of(kubesim, namespace, "ReplicaSet", first, reason="SuccessfulDelete")
    assert len(deleted) == 2 and all(e["message"].startswith(f"Deleted pod: {first}-") for e in deleted)
    assert deleted[0]["involvedObject"]["apiVersion"] == "apps/v1" and deleted[0]["metadata"]["name"].startswith(f"{first}.")


def test_a_statefulset_records_its_pod_creations_and_deletions(shared_kubesim, request):
    kubesim = shared_kubesim
    namespace = new_namespace(kubesim, request.node.name)
    apply(kubesim, namespace, statefulset("web", replicas=2))
    rollout_status(kubesim, namespace, "statefulset/web")
    kubesim.kubectl("scale", "statefulset/web", "--replicas=1", "-n", namespace)
    recorded = poll(lambda: events_of(kubesim, namespace, "StatefulSet", "web"), lambda found: len(found) == 3, "three StatefulSet events")
    assert summary(recorded) == [
        ("Normal", "SuccessfulCreate", "create Pod web-0 in StatefulSet web successful"),
        ("Normal", "SuccessfulCreate", "create Pod web-1 in StatefulSet web successful"),
        ("Normal", "SuccessfulDelete", "delete Pod web-1 in StatefulSet web successful"),
    ]


def test_a_pod_records_scheduling_container_start_and_on_deletion_killing(shared_kubesim, request):
    kubesim = shared_kubesim
    namespace = new_namespace(kubesim, request.node.name)
    apply(kubesim, namespace, pod("web-0", {"app": "web"}, grace_seconds=40))
    running = poll(lambda: get_json(kubesim, namespace, "pod", "web-0"), lambda found: found["status"].get("phase") == "Running", "Running")
    node, uid, image = running["spec"]["nodeName"], running["metadata"]["uid"], running["spec"]["containers"][0]["image"]
    started = poll(lambda: events_of(kubesim, namespace, "Pod", "web-0"), lambda found: len(found) == 4, "four pod events")
    assert summary(started) == [
        ("Normal", "Scheduled", f"Successfully assigned {namespace}/web-0 to {node}"),
        ("Normal", "Pulled", f'Container image "{image}" already present on machine'),
        ("Normal", "Created", "Created container: web"),
        ("Normal", "Started", "Started container web"),
    ]
    scheduled, kubelet_events = started[0], started[1:]
    assert (scheduled["reportingComponent"], scheduled["action"], scheduled["source"]) == ("default-scheduler", "Binding", {})
    assert scheduled["eventTime"] and "fieldPath" not in scheduled["involvedObject"]
    for event in kubelet_events:
        assert event["source"] == {"component": "kubelet", "host": node}
        assert (event["reportingComponent"], event["reportingInstance"], event["count"]) == ("kubelet", node, 1)
        assert event["involvedObject"]["fieldPath"] == "spec.containers{web}" and event["involvedObject"]["uid"] == uid
        assert event["firstTimestamp"] == event["lastTimestamp"] and event["metadata"]["name"].startswith("web-0.")

    kubesim.kubectl("delete", "pod", "web-0", "-n", namespace, "--wait=false")
    killing = poll(lambda: events_of(kubesim, namespace, "Pod", "web-0", reason="Killing"), lambda found: found, "a Killing event")
    assert summary(killing) == [("Normal", "Killing", "Stopping container web")]
    assert killing[0]["source"] == {"component": "kubelet", "host": node}


def test_an_unschedulable_pod_records_failed_scheduling_once(shared_kubesim, request):
    kubesim = shared_kubesim
    namespace = new_namespace(kubesim, request.node.name)
    apply(kubesim, namespace, pod("web-0", {"app": "web"}, node_selector={"cxpe.io/node-pool": "gpu"}), pod("web-1", {"app": "web"}))
    poll(lambda: get_json(kubesim, namespace, "pod", "web-1"), lambda found: found["status"].get("phase") == "Running", "the other pod to run")
    failed = events_of(kubesim, namespace, "Pod", "web-0")
    message = next(c for c in get_json(kubesim, namespace, "pod", "web-0")["status"]["conditions"] if c["type"] == "PodScheduled")["message"]
    assert summary(failed) == [("Warning", "FailedScheduling", message)]
    assert (failed[0]["action"], failed[0]["reportingComponent"]) == ("Scheduling", "default-scheduler")


def test_a_crash_looping_pod_has_one_back_off_event_whose_count_grows(shared_kubesim, request):
    kubesim = shared_kubesim
    namespace = new_namespace(kubesim, request.node.name)
    apply(kubesim, namespace, pod("web-0", {"app": "web"}, annotations={CRASH_LOOP: "true"}))
    first = poll(lambda: events_of(kubesim, namespace, "Pod", "web-0", reason="BackOff"), lambda found: found, "a BackOff event")
    uid = get_json(kubesim, namespace, "pod", "web-0")["metadata"]["uid"]
    assert summary(first) == [("Warning", "BackOff", f"Back-off restarting failed container web in pod web-0_{namespace}({uid})")]
    later = poll(lambda: events_of(kubesim, namespace, "Pod", "web-0", reason="BackOff"),
                 lambda found: found[0]["count"] >= 3 and found[0]["lastTimestamp"] > found[0]["firstTimestamp"], "the BackOff count to grow")
    assert len(later) == 1 and later[0]["metadata"]["name"] == first[0]["metadata"]["name"]
    assert later[0]["firstTimestamp"] == first[0]["firstTimestamp"]
    started = events_of(kubesim, namespace, "Pod", "web-0", reason="Started")
    assert len(started) == 1 and started[0]["count"] >= 2


def test_kubectl_describe_shows_the_events_table(shared_kubesim, request):
    kubesim = shared_kubesim
    namespace = new_namespace(kubesim, request.node.name)
    apply(kubesim, namespace, deployment("web", replicas=1))
    rollout_status(kubesim, namespace, "deployment/web")
    name = items(kubesim, namespace, "pods")[0]["metadata"]["name"]
    poll(lambda: events_of(kubesim, namespace, "Pod", name), lambda found: len(found) == 4, "the pod's events")
    described = kubesim.kubectl("describe", "pod", name, "-n", namespace).stdout
    rows = [line.split() for line in described.split("Events:", 1)[1].splitlines()[3:] if line.strip()]
    assert [row[:2] for row in rows] == [["Normal", "Scheduled"], ["Normal", "Pulled"], ["Normal", "Created"], ["Normal", "Started"]]
    node = get_json(kubesim, namespace, "pod", name)["spec"]["nodeName"]
    assert rows[0][3:] == ["default-scheduler", "Successfully", "assigned", f"{namespace}/{name}", "to", node]
    assert rows[2][3:] == ["kubelet", "Created", "container:", "web"]
    deployment_events = kubesim.kubectl("describe", "deployment", "web", "-n", namespace).stdout.split("Events:", 1)[1]
    assert "ScalingReplicaSet" in deployment_events and "deployment-controller" in deployment_events
    listed = kubesim.kubectl("get", "events", "-n", namespace, "-o", "wide").stdout.splitlines()
    assert listed[0].split()[:6] == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "SUBOBJECT"]
    assert any(f"pod/{name}" in line and "spec.containers{web}" in line and "kubelet," in line for line in listed)


def test_a_deleted_namespace_takes_its_events_with_it(shared_kubesim, request):
    kubesim = shared_kubesim
    namespace = new_namespace(kubesim, request.node.name)
    apply(kubesim, namespace, pod("web-0", {"app": "web"}, grace_seconds=2))
    poll(lambda: events_of(kubesim, namespace, "Pod", "web-0"), lambda found: len(found) == 4, "the pod's events")
    kubesim.kubectl("delete", "namespace", namespace, "--timeout=30s", timeout=45)
    remaining = kubesim.kubectl("get", "events", "-A", "--field-selector", f"metadata.namespace={namespace}", "-o", "name").stdout
    assert remaining.strip() == ""
