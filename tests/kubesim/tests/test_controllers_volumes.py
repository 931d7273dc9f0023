"""PersistentVolumeClaims, PersistentVolumes and StorageClasses: the default class, dynamic provisioning and
binding (at once or for the first consumer), static volumes, StatefulSet claim templates, protection and
reclaim, through kubectl and the Python client."""

import kubernetes
from api_support import api_client
from test_controllers_events import events_of, summary
from traffic_support import apply, new_namespace, poll
from workload_support import get_json, items, pod, statefulset


def claim(name, size="1Gi", storage_class=None):
    spec = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}
    if storage_class is not None:
        spec["storageClassName"] = storage_class
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name}, "spec": spec}


def using(name, claim_name, **options):
    manifest = pod(name, {"app": "web"}, **options)
    manifest["spec"]["volumes"] = [{"name": "data", "persistentVolumeClaim": {"claimName": claim_name}}]
    return manifest


def phase(kubesim, namespace, kind, name):
    return get_json(kubesim, namespace, kind, name).get("status", {}).get("phase")


def test_a_claim_without_a_class_is_provisioned_by_the_default_class_and_bound(shared_kubesim, request):
    kubesim = shared_kubesim
    namespace = new_namespace(kubesim, request.node.name)
    assert kubesim.kubectl("get", "storageclass", "--no-headers").stdout.split()[:5] == [
        "standard", "(default)", "kubesim.cxpe.io/hostpath", "Delete", "Immediate"]
    apply(kubesim, namespace, claim("data"))
    poll(lambda: phase(kubesim, namespace, "pvc", "data"), lambda found: found == "Bound", "the claim to be Bound")
    bound = get_json(kubesim, namespace, "pvc", "data")
    volume_name = f"pvc-{bound['metadata']['uid']}"
    assert (bound["spec"]["storageClassName"], bound["spec"]["volumeName"], bound["spec"]["volumeMode"]) == ("standard", volume_name, "Filesystem")
    assert bound["status"]["capacity"] == {"storage": "1Gi"} and bound["status"]["accessModes"] == ["ReadWriteOnce"]
    assert bound["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"]
    assert bound["metadata"]["annotations"]["pv.kubernetes.io/bind-completed"] == "yes"
    volume = kubernetes.client.CoreV1Api(api_client(kubesim)).read_persistent_volume(volume_name)
    assert (volume.status.phase, volume.spec.claim_ref.name, volume.spec.persistent_volume_reclaim_policy) == ("Bound", "data", "Delete")
    assert volume.metadata.annotations["pv.kubernetes.io/provisioned-by"] == "kubesim.cxpe.io/hostpath"
    assert summary(events_of(kubesim, namespace, "PersistentVolumeClaim", "data")) == [
        ("Normal", "Provisioning", f'External provisioner is provisioning volume for claim "{namespace}/data"'),
        ("Normal", "ProvisioningSucceeded", f"Successfully provisioned volume {volume_name}")]
    row = kubesim.kubectl("get", "pvc", "data", "-n", namespace, "--no-headers").stdout.split()
    assert row == ["data", "Bound", volume_name, "1Gi", "RWO", "standard", "<unset>", row[-1]]


def test_statefulset_claim_templates_give_each_pod_its_own_claim(shared_kubesim, request):
    kubesim = shared_kubesim
    namespace = new_namespace(kubesim, request.node.name)
    web = statefulset("web", replicas=2)
    web["spec"]["volumeClaimTemplates"] = [{"metadata": {"name": "www", "labels": {"tier": "data"}},
                                            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "2Gi"}}}}]
    apply(kubesim, namespace, web)
    kubesim.kubectl("rollout", "status", "statefulset/web", "-n", namespace, "--timeout=30s", timeout=45)
    claims = items(kubesim, namespace, "pvc")
    assert [(c["metadata"]["name"], c["status"]["phase"]) for c in claims] == [("www-web-0", "Bound"), ("www-web-1", "Bound")]
    assert claims[0]["metadata"]["labels"] == {"tier": "data", "app": "web"}
    volumes = get_json(kubesim, namespace, "pod", "web-1")["spec"]["volumes"]
    assert {"name": "www", "persistentVolumeClaim": {"claimName": "www-web-1"}} in volumes
    template = get_json(kubesim, namespace, "statefulset", "web")["spec"]["volumeClaimTemplates"][0]
    assert (template["kind"], template["spec"]["volumeMode"], template["status"]) == ("PersistentVolumeClaim", "Filesystem", {"phase": "Pending"})
    created = summary(events_of(kubesim, namespace, "StatefulSet", "web", reason="SuccessfulCreate"))
    assert ("Normal", "SuccessfulCreate", "create Claim www-web-0 Pod web-0 in StatefulSet web success") in created


def test_wait_for_first_consumer_binds_once_a_pod_is_scheduled(shared_kubesim, request):
    kubesim = shared_kubesim
    namespace = new_namespace(kubesim, request.node.name)
    kubesim.kubectl("apply", "-f", "-", stdin=f"""
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {{name: local-{namespace}}}
provisioner: kubesim.cxpe.io/hostpath
volumeBindingMode: WaitForFirstConsumer
""")
    apply(kubesim, namespace, claim("data", storage_class=f"local-{namespace}"))
    waiting = poll(lambda: events_of(kubesim, namespace, "PersistentVolumeClaim", "data"), lambda found: found, "WaitForFirstConsumer")
    assert summary(waiting)[0] == ("Normal", "WaitForFirstConsumer", "waiting for first consumer to be created before binding")
    assert phase(kubesim, namespace, "pvc", "data") == "Pending"
    apply(kubesim, namespace, using("web-0", "data"))
    running = poll(lambda: get_json(kubesim, namespace, "pod", "web-0"), lambda found: found["status"].get("phase") == "Running", "the pod to run")
    selected = get_json(kubesim, namespace, "pvc", "data")
    assert selected["status"]["phase"] == "Bound"
    assert selected["metadata"]["annotations"]["volume.kubernetes.io/selected-node"] == running["spec"]["nodeName"]


def test_a_static_volume_binds_to_a_fitting_claim_and_is_released_when_the_claim_goes(shared_kubesim, request):
    kubesim = shared_kubesim
    namespace = new_namespace(kubesim, request.node.name)
    volume = f"manual-{namespace}"
    kubesim.kubectl("apply", "-f", "-", stdin=f"""
apiVersion: v1
kind: PersistentVolume
metadata: {{name: {volume}}}
spec:
  capacity: {{storage: 5Gi}}
  accessModes: [ReadWriteOnce, ReadOnlyMany]
  storageClassName: manual
  hostPath: {{path: /srv/{volume}}}
""")
    poll(lambda: get_json(kubesim, "default", "pv", volume)["status"]["phase"], lambda found: found == "Available", "the volume to be Available")
    apply(kubesim, namespace, claim("data", size="2Gi", storage_class="manual"))
    poll(lambda: phase(kubesim, namespace, "pvc", "data"), lambda found: found == "Bound", "the claim to bind")
    bound = get_json(kubesim, "default", "pv", volume)
    assert bound["spec"]["claimRef"]["name"] == "data" and bound["metadata"]["annotations"]["pv.kubernetes.io/bound-by-controller"] == "yes"
    assert get_json(kubesim, namespace, "pvc", "data")["status"]["capacity"] == {"storage": "5Gi"}
    kubesim.kubectl("delete", "pvc", "data", "-n", namespace)
    poll(lambda: get_json(kubesim, "default", "pv", volume)["status"]["phase"], lambda found: found == "Released", "the volume to be Released")


def test_a_claim_in_use_lingers_until_its_pod_is_gone_and_takes_its_volume_with_it(shared_kubesim, request):
    kubesim = shared_kubesim
    namespace = new_namespace(kubesim, request.node.name)
    apply(kubesim, namespace, claim("data"), using("web-0", "data", grace_seconds=1))
    poll(lambda: get_json(kubesim, namespace, "pod", "web-0"), lambda found: found["status"].get("phase") == "Running", "the pod to run")
    volume = get_json(kubesim, namespace, "pvc", "data")["spec"]["volumeName"]
    kubesim.kubectl("delete", "pvc", "data", "-n", namespace, "--wait=false")
    lingering = get_json(kubesim, namespace, "pvc", "data")
    assert lingering["metadata"]["deletionTimestamp"] and lingering["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"]
    kubesim.kubectl("delete", "pod", "web-0", "-n", namespace)
    poll(lambda: kubesim.kubectl("get", "pvc,pv", volume, "-n", namespace, "--ignore-not-found", "-o", "name").stdout, lambda found: not found,
         "the claim and its volume to go")


def test_a_pod_naming_a_missing_claim_is_unschedulable(shared_kubesim, request):
    kubesim = shared_kubesim
    namespace = new_namespace(kubesim, request.node.name)
    apply(kubesim, namespace, using("web-0", "nope"))
    pending = poll(lambda: get_json(kubesim, namespace, "pod", "web-0"), lambda found: found["status"].get("conditions"), "a scheduling verdict")
    scheduled = next(c for c in pending["status"]["conditions"] if c["type"] == "PodScheduled")
    assert scheduled["message"] == ('0/3 nodes are available: persistentvolumeclaim "nope" not found. preemption: 0/3 nodes are available: '
                                    "3 Preemption is not helpful for scheduling.")
    apply(kubesim, namespace, claim("nope"))
    poll(lambda: get_json(kubesim, namespace, "pod", "web-0"), lambda found: found["status"].get("phase") == "Running", "the pod to run")
