"""Pods from scheduling to removal, the endpoints that follow them, and what deleting an owner or a namespace does."""

import time

from traffic_support import apply, new_namespace, poll
from workload_support import (CRASH_LOOP, IGNORES_SIGTERM, READY_AFTER, deployment, elapsed_until, endpoint_addresses, get_json, is_ready, items,
                              live, names, pod, rolled_out, service, slice_endpoints)

TIME_SCALE = 20  # the shared simulator's: one real second is twenty simulated ones


def condition(obj, condition_type):
    return next(c for c in obj["status"]["conditions"] if c["type"] == condition_type)


def exists(kubesim, namespace, *what):
    return kubesim.kubectl("get", *what, "-n", namespace, "--ignore-not-found", "-o", "name").stdout.strip() != ""


def test_kubelet_runs_a_pod_on_a_matching_node_and_reports_ready_after_its_delay(shared_kubesim, request):
    kubesim = shared_kubesim
    namespace = new_namespace(kubesim, request.node.name)
    started = time.monotonic()
    apply(kubesim, namespace, pod("web-0", {"app": "web"}, annotations={READY_AFTER: "20"}, node_selector={"cxpe.io/node-pool": "realtime"}))
    running = poll(lambda: get_json(kubesim, namespace, "pod", "web-0"), lambda found: found["status"].get("phase") == "Running", "Running")
    assert not is_ready(running)
    node = get_json(kubesim, namespace, "node", running["spec"]["nodeName"])
    assert node["metadata"]["labels"]["cxpe.io/node-pool"] == "realtime"
    status = running["status"]
    assert status["hostIP"] == next(a["address"] for a in node["status"]["addresses"] if a["type"] == "InternalIP")
    assert status["podIP"].startswith("10.244.") and status["podIPs"] == [{"ip": status["podIP"]}]
    assert status["qosClass"] == "BestEffort" and status["startTime"]
    assert condition(running, "PodScheduled")["status"] == condition(running, "Initialized")["status"] == "True"
    assert (condition(running, "ContainersReady")["status"], condition(running, "Ready")["reason"]) == ("False", "ContainersNotReady")
    container = status["containerStatuses"][0]
    assert (container["name"], container["ready"], container["started"], container["restartCount"]) == ("web", False, True, 0)
    assert container["imageID"].startswith("registry.example.com/cxpe/web@sha256:") and "startedAt" in container["state"]["running"]

    poll(lambda: get_json(kubesim, namespace, "pod", "web-0"), is_ready, "Ready")
    assert time.monotonic() - started >= 20 / TIME_SCALE
    ready = get_json(kubesim, namespace, "pod", "web-0")
    assert ready["status"]["containerStatuses"][0]["ready"] and condition(ready, "ContainersReady")["status"] == "True"


def test_a_pod_no_node_fits_stays_pending_as_unschedulable(shared_kubesim, request):
    kubesim = shared_kubesim
    namespace = new_namespace(kubesim, request.node.name)
    apply(kubesim, namespace, pod("web-0", {"app": "web"}, node_selector={"cxpe.io/node-pool": "gpu"}))
    pending = poll(lambda: get_json(kubesim, namespace, "pod", "web-0"), lambda found: "conditions" in found["status"], "a scheduling verdict")
    assert pending["status"]["phase"] == "Pending" and "nodeName" not in pending["spec"]
    scheduled = condition(pending, "PodScheduled")
    assert (scheduled["status"], scheduled["reason"]) == ("False", "Unschedulable")
    assert scheduled["message"].startswith("0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.")


def test_a_crash_looping_pod_restarts_with_back_off_and_is_never_ready(shared_kubesim, request):
    kubesim = shared_kubesim
    namespace = new_namespace(kubesim, request.node.name)
    apply(kubesim, namespace, pod("web-0", {"app": "web"}, annotations={CRASH_LOOP: "true"}))
    looping = poll(lambda: get_json(kubesim, namespace, "pod", "web-0"),
                   lambda found: found["status"].get("containerStatuses", [{}])[0].get("restartCount", 0) >= 2, "two restarts")
    container = looping["status"]["containerStatuses"][0]
    assert looping["status"]["phase"] == "Running" and not is_ready(looping)
    assert container["state"]["waiting"]["reason"] == "CrashLoopBackOff" and not container["ready"]
    assert container["lastState"]["terminated"]["reason"] == "Error"


def test_a_pod_that_ignores_sigterm_stays_terminating_and_serving_for_its_grace_period_out_of_endpoints(shared_kubesim, request):
    kubesim = shared_kubesim
    namespace = new_namespace(kubesim, request.node.name)
    apply(kubesim, namespace, pod("web-0", {"app": "web"}, annotations=IGNORES_SIGTERM, grace_seconds=40), pod("web-1", {"app": "web"}), service("web"))
    poll(lambda: endpoint_addresses(kubesim, namespace, "web"), lambda found: sorted(found) == ["web-0", "web-1"], "both pods in endpoints")

    deleted_at = time.monotonic()
    kubesim.kubectl("delete", "pod", "web-0", "-n", namespace, "--wait=false")
    poll(lambda: endpoint_addresses(kubesim, namespace, "web"), lambda found: sorted(found) == ["web-1"], "web-0 to leave the endpoints")
    terminating = get_json(kubesim, namespace, "pod", "web-0")
    assert terminating["metadata"]["deletionGracePeriodSeconds"] == 40 and terminating["metadata"]["deletionTimestamp"]
    assert "running" in terminating["status"]["containerStatuses"][0]["state"] and is_ready(terminating)
    assert endpoint_addresses(kubesim, namespace, "web", "notReadyAddresses") == {}
    assert slice_endpoints(kubesim, namespace, "web")["web-0"][1] == {"ready": False, "serving": True, "terminating": True}

    remaining = elapsed_until(lambda: not exists(kubesim, namespace, "pod", "web-0"))
    grace = 40 / TIME_SCALE
    assert grace * 0.95 <= time.monotonic() - deleted_at <= grace + 1.5, remaining
    poll(lambda: slice_endpoints(kubesim, namespace, "web"), lambda found: sorted(found) == ["web-1"], "web-0 to leave the EndpointSlice")


def test_endpoints_list_unready_pods_apart_and_go_with_their_service(shared_kubesim, request):
    kubesim = shared_kubesim
    namespace = new_namespace(kubesim, request.node.name)
    apply(kubesim, namespace, pod("web-0", {"app": "web"}, annotations={READY_AFTER: "30"}), service("web"))
    waiting = poll(lambda: endpoint_addresses(kubesim, namespace, "web", "notReadyAddresses"), lambda found: "web-0" in found, "a not-ready address")
    assert endpoint_addresses(kubesim, namespace, "web") == {}
    assert slice_endpoints(kubesim, namespace, "web")["web-0"] == (waiting["web-0"], {"ready": False, "serving": False, "terminating": False})
    poll(lambda: endpoint_addresses(kubesim, namespace, "web"), lambda found: found == waiting, "the pod to turn ready")
    slices = items(kubesim, namespace, "endpointslices")
    assert [s["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"] for s in slices] == ["endpointslice-controller.k8s.io"]
    assert slices[0]["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]

    kubesim.kubectl("delete", "service", "web", "-n", namespace)
    poll(lambda: exists(kubesim, namespace, "endpoints,endpointslices"), lambda found: not found, "the endpoints to go with the Service")


def test_deleting_a_deployment_deletes_its_replicasets_and_pods(shared_kubesim, request):
    kubesim = shared_kubesim
    namespace = rolled_out(kubesim, request, deployment("web", grace_seconds=10))
    kubesim.kubectl("delete", "deployment", "web", "-n", namespace)
    poll(lambda: exists(kubesim, namespace, "replicasets"), lambda found: not found, "the ReplicaSet to be collected")
    assert not live(items(kubesim, namespace, "pods"))
    poll(lambda: exists(kubesim, namespace, "pods"), lambda found: not found, "the pods to finish terminating")


def test_orphan_deletion_keeps_the_replicaset_and_its_pods(shared_kubesim, request):
    kubesim = shared_kubesim
    namespace = rolled_out(kubesim, request, deployment("web", replicas=2))
    pods_before = names(items(kubesim, namespace, "pods"))
    kubesim.kubectl("delete", "deployment", "web", "-n", namespace, "--cascade=orphan")
    orphan = poll(lambda: items(kubesim, namespace, "replicasets"), lambda found: found and "ownerReferences" not in found[0]["metadata"],
                  "the ReplicaSet to lose its owner")
    assert not exists(kubesim, namespace, "deployment", "web")
    time.sleep(0.3)  # six simulated seconds: long enough for a collector to have acted
    assert names(items(kubesim, namespace, "replicasets")) == names(orphan)
    pods = items(kubesim, namespace, "pods")
    assert names(pods) == pods_before and all(is_ready(p) and not p["metadata"].get("deletionTimestamp") for p in pods)


def test_foreground_deletion_removes_the_dependents_before_the_owner(shared_kubesim, request):
    kubesim = shared_kubesim
    namespace = rolled_out(kubesim, request, deployment("web", replicas=2, grace_seconds=20, annotations=IGNORES_SIGTERM))
    kubesim.kubectl("delete", "deployment", "web", "-n", namespace, "--cascade=foreground", "--wait=false")
    owner = get_json(kubesim, namespace, "deployment", "web")
    assert owner["metadata"]["deletionTimestamp"] and "foregroundDeletion" in owner["metadata"]["finalizers"]
    assert items(kubesim, namespace, "pods")
    poll(lambda: exists(kubesim, namespace, "deployment", "web"), lambda found: not found, "the Deployment to go")
    assert not exists(kubesim, namespace, "replicasets,pods")


def test_deleting_a_namespace_removes_its_content_then_the_namespace(shared_kubesim, request):
    kubesim = shared_kubesim
    namespace = rolled_out(kubesim, request, deployment("web", replicas=2, annotations=IGNORES_SIGTERM), service("web"))
    kubesim.kubectl("delete", "namespace", namespace, "--wait=false")
    terminating = poll(lambda: get_json(kubesim, namespace, "namespace", namespace),
                       lambda found: any(c["type"] == "NamespaceContentRemaining" for c in found["status"].get("conditions", [])),
                       "the namespace to report its remaining content")
    assert terminating["status"]["phase"] == "Terminating"
    assert "pods. has 2 resource instances" in condition(terminating, "NamespaceContentRemaining")["message"]
    poll(lambda: kubesim.kubectl("get", "namespace", namespace, "--ignore-not-found", "-o", "name").stdout, lambda found: not found,
         "the namespace to go")
