"""Workloads for the controller tests: manifests, kubectl reads, and pod watches through the Python client."""

import json
import threading
import time

import kubernetes
import urllib3
from api_support import api_client
from traffic_support import apply, new_namespace, poll

IMAGE = "registry.example.com/cxpe/web"
READY_AFTER = "kubesim.cxpe.io/ready-after"
CRASH_LOOP = "kubesim.cxpe.io/crash-loop"
# A process that does not handle SIGTERM keeps running, and its pod Terminating, for the whole grace period.
IGNORES_SIGTERM = {"kubesim.cxpe.io/on-sigterm": "ignore"}
ROLLOUT_TIMEOUT = "--timeout=30s"


def pod_template(labels, image, annotations=None, grace_seconds=30, node_selector=None):
    spec = {
        "terminationGracePeriodSeconds": grace_seconds,
        "containers": [{"name": "web", "image": image, "ports": [{"name": "http", "containerPort": 8080}]}],
    }
    if node_selector:
        spec["nodeSelector"] = dict(node_selector)
    return {"metadata": {"labels": dict(labels), "annotations": dict(annotations or {})}, "spec": spec}


def pod(name, labels, version="1.0", annotations=None, grace_seconds=30, node_selector=None):
    """A bare pod of ``IMAGE:<version>``."""
    template = pod_template(labels, f"{IMAGE}:{version}", annotations, grace_seconds, node_selector)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": dict(template["metadata"], name=name), "spec": template["spec"]}


def deployment(name, replicas=3, version="1.0", strategy=None, annotations=None, grace_seconds=30, **spec):
    """A Deployment of ``IMAGE:<version>`` labelled app=<name>; extra keyword arguments go into its spec."""
    labels = {"app": name}
    body = {"replicas": replicas, "selector": {"matchLabels": labels},
            "template": pod_template(labels, f"{IMAGE}:{version}", annotations, grace_seconds), **spec}
    if strategy:
        body["strategy"] = strategy
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": labels}, "spec": body}


def statefulset(name, replicas=3, version="1.0", update_strategy=None, annotations=None, policy="OrderedReady"):
    labels = {"app": name}
    body = {"replicas": replicas, "serviceName": name, "podManagementPolicy": policy, "selector": {"matchLabels": labels},
            "template": pod_template(labels, f"{IMAGE}:{version}", annotations, grace_seconds=2)}
    if update_strategy:
        body["updateStrategy"] = update_strategy
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": name, "labels": labels}, "spec": body}


def service(name, selector=None, port_name="http"):
    """A Service whose targetPort is the container port's name, so the controllers must resolve it."""
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"selector": dict(selector or {"app": name}), "ports": [{"name": port_name, "port": 80, "targetPort": "http"}]}}


def get_json(simulator, namespace, *what):
    return json.loads(simulator.kubectl("get", *what, "-n", namespace, "-o", "json").stdout)


def items(simulator, namespace, kind, selector=None):
    return get_json(simulator, namespace, kind, *(("-l", selector) if selector else ()))["items"]


def names(objects):
    return sorted(obj["metadata"]["name"] for obj in objects)


def is_ready(pod):
    return any(c["type"] == "Ready" and c["status"] == "True" for c in (pod.get("status") or {}).get("conditions") or [])


def live(pods):
    """The pods not on their way out."""
    return [pod for pod in pods if not pod["metadata"].get("deletionTimestamp")]


def image_of(pod):
    return pod["spec"]["containers"][0]["image"]


def rollout_status(simulator, namespace, target, check=True):
    return simulator.kubectl("rollout", "status", target, "-n", namespace, ROLLOUT_TIMEOUT, check=check, timeout=45)


def rolled_out(simulator, request, *objects):
    """A namespace of the test's own with ``objects`` applied and their Deployment "web" rolled out."""
    namespace = new_namespace(simulator, request.node.name)
    apply(simulator, namespace, *objects)
    rollout_status(simulator, namespace, "deployment/web")
    return namespace


def replicasets(simulator, namespace, deployment_name):
    """The Deployment's ReplicaSets by revision number."""
    owned = [rs for rs in items(simulator, namespace, "replicasets", f"app={deployment_name}")
             if any(ref["kind"] == "Deployment" and ref["name"] == deployment_name for ref in rs["metadata"].get("ownerReferences") or [])]
    return {int(rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]): rs for rs in owned}


def pods_of(simulator, namespace, owner):
    """The pods a ReplicaSet or StatefulSet controls."""
    uid = owner["metadata"]["uid"]
    return [pod for pod in items(simulator, namespace, "pods")
            if any(ref.get("controller") and ref["uid"] == uid for ref in pod["metadata"].get("ownerReferences") or [])]


def endpoint_addresses(simulator, namespace, service_name, field="addresses"):
    """{pod name: ip} of an Endpoints object's ready (or ``notReadyAddresses``) entries."""
    endpoints = get_json(simulator, namespace, "endpoints", service_name)
    return {a["targetRef"]["name"]: a["ip"] for subset in endpoints.get("subsets") or [] for a in subset.get(field) or []}


def slice_endpoints(simulator, namespace, service_name):
    """{pod name: (address, conditions)} over the Service's EndpointSlices."""
    slices = items(simulator, namespace, "endpointslices", f"kubernetes.io/service-name={service_name}")
    return {e["targetRef"]["name"]: (e["addresses"][0], e["conditions"]) for s in slices for e in s.get("endpoints") or []}


class PodWatch:
    """Every pod event of a namespace, from a ``kubernetes.watch.Watch`` running in the background.

    The watch opens with an ADDED event per existing pod; :meth:`wait_for_pods` waits for those, and
    :meth:`states` starts from the moment they were all in."""

    def __init__(self, simulator, namespace, selector):
        self.core = kubernetes.client.CoreV1Api(api_client(simulator))
        self.namespace = namespace
        self.selector = selector
        self.events = []
        self.baseline = 0
        self._watch = kubernetes.watch.Watch()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        try:
            for event in self._watch.stream(self.core.list_namespaced_pod, self.namespace, label_selector=self.selector, timeout_seconds=60):
                self.events.append((event["type"], self.core.api_client.sanitize_for_serialization(event["object"])))
        except urllib3.exceptions.HTTPError:
            if not self._stopped.is_set():
                raise

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *_):
        self._stopped.set()
        self._watch.stop()

    def wait_for_pods(self, count):
        """Wait until the watch has listed ``count`` pods; later states are measured from there."""
        poll(lambda: self._all_states(), lambda history: history and len(history[-1]) >= count, f"{count} pods in the watch")
        self.baseline = next(index for index, state in enumerate(self._all_states()) if len(state) >= count)

    def _all_states(self):
        current, history = {}, []
        for event_type, pod in list(self.events):
            if event_type == "DELETED":
                current.pop(pod["metadata"]["name"], None)
            else:
                current[pod["metadata"]["name"]] = pod
            history.append(dict(current))
        return history

    def states(self):
        """The namespace's pods ({name: pod}) after each event since the baseline, in order."""
        return self._all_states()[self.baseline:]


def elapsed_until(predicate, timeout=30, interval=0.02):
    """Real seconds until ``predicate()`` holds."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"condition not reached within {timeout}s")
        time.sleep(interval)
    return time.monotonic() - start
