"""HorizontalPodAutoscalers on a cluster without a metrics API: the target kept within [minReplicas, maxReplicas],
the metric failures reported as the real controller reports them, autoscaling/v1 and v2, through kubectl,
the Python client and kubernetes.core."""

import os
import subprocess
import sys

import kubernetes
import yaml
from api_support import api_client, failure
from test_controllers_events import events_of
from traffic_support import apply, new_namespace, poll
from workload_support import deployment, get_json

NO_METRICS = ("failed to get cpu utilization: unable to get metrics for resource cpu: unable to fetch metrics from resource metrics API: "
              "the server could not find the requested resource (get pods.metrics.k8s.io)")


def replicas(kubesim, namespace):
    return get_json(kubesim, namespace, "deployment", "web")["spec"]["replicas"]


def conditions(kubesim, namespace):
    return {c["type"]: c for c in get_json(kubesim, namespace, "hpa", "web").get("status", {}).get("conditions", [])}


def test_kubectl_autoscale_keeps_the_deployment_within_its_bounds_and_reports_the_missing_metrics(shared_kubesim, request):
    kubesim = shared_kubesim
    namespace = new_namespace(kubesim, request.node.name)
    apply(kubesim, namespace, deployment("web", replicas=1))
    kubesim.kubectl("autoscale", "deployment", "web", "--min=2", "--max=4", "--cpu-percent=50", "-n", namespace)
    poll(lambda: replicas(kubesim, namespace), lambda found: found == 2, "the HPA to scale up to minReplicas")
    kubesim.kubectl("scale", "deployment", "web", "--replicas=7", "-n", namespace)
    poll(lambda: replicas(kubesim, namespace), lambda found: found == 4, "the HPA to scale back to maxReplicas")

    rescaled = [e["message"] for e in events_of(kubesim, namespace, "HorizontalPodAutoscaler", "web", reason="SuccessfulRescale")]
    assert rescaled == ["New size: 2; reason: Current number of replicas below Spec.MinReplicas",
                        "New size: 4; reason: Current number of replicas above Spec.MaxReplicas"]
    found = poll(lambda: conditions(kubesim, namespace), lambda found: "ScalingActive" in found, "ScalingActive")
    assert (found["ScalingActive"]["status"], found["ScalingActive"]["reason"]) == ("False", "FailedGetResourceMetric")
    assert found["ScalingActive"]["message"] == f"the HPA was unable to compute the replica count: {NO_METRICS}"
    assert found["AbleToScale"]["status"] == "True"
    failed = poll(lambda: events_of(kubesim, namespace, "HorizontalPodAutoscaler", "web", reason="FailedComputeMetricsReplicas"), lambda f: f, "events")
    assert failed[0]["message"] == f"invalid metrics (1 invalid out of 1), first error is: failed to get cpu resource metric value: {NO_METRICS}"
    assert events_of(kubesim, namespace, "HorizontalPodAutoscaler", "web", reason="FailedGetResourceMetric")[0]["message"] == NO_METRICS
    assert failed[0]["source"]["component"] == "horizontal-pod-autoscaler"
    row = kubesim.kubectl("get", "hpa", "web", "-n", namespace, "--no-headers").stdout.split()
    assert row[:7] == ["web", "Deployment/web", "cpu:", "<unknown>/50%", "2", "4", "4"]

    # The same object through autoscaling/v1, as kubectl autoscale wrote it.
    v1 = kubernetes.client.AutoscalingV1Api(api_client(kubesim)).read_namespaced_horizontal_pod_autoscaler("web", namespace)
    assert (v1.spec.target_cpu_utilization_percentage, v1.spec.min_replicas, v1.spec.max_replicas, v1.status.current_replicas) == (50, 2, 4, 4)
    assert "FailedGetResourceMetric" in v1.metadata.annotations["autoscaling.alpha.kubernetes.io/conditions"]
    v2 = get_json(kubesim, namespace, "horizontalpodautoscalers.v2.autoscaling", "web")
    assert v2["spec"]["metrics"] == [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}]
    assert v2["status"]["currentMetrics"] == [{"type": ""}]


def test_kubernetes_core_scaling_outside_the_bounds_is_undone(shared_kubesim, request, tmp_path):
    kubesim = shared_kubesim
    namespace = new_namespace(kubesim, request.node.name)
    apply(kubesim, namespace, deployment("web", replicas=3), {
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "web"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, "minReplicas": 2, "maxReplicas": 3}})
    poll(lambda: conditions(kubesim, namespace), lambda found: "ScalingActive" in found, "the HPA's first sync")
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"kubernetes.core.k8s_scale": {"kind": "Deployment", "name": "web", "namespace": namespace, "replicas": 6, "wait": False}}]}]
    path = tmp_path / "play.yml"
    path.write_text(yaml.safe_dump(play, sort_keys=False))
    ansible_playbook = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    result = subprocess.run([ansible_playbook, str(path)], capture_output=True, text=True, timeout=120, env=kubesim.env, cwd=tmp_path, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    poll(lambda: replicas(kubesim, namespace), lambda found: found == 3, "the HPA to put the Deployment back to maxReplicas")


def test_an_hpa_without_its_target_cannot_scale_and_bad_bounds_are_refused(shared_kubesim, request):
    kubesim = shared_kubesim
    namespace = new_namespace(kubesim, request.node.name)
    autoscaling = kubernetes.client.AutoscalingV2Api(api_client(kubesim))
    hpa = {"metadata": {"name": "web"}, "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                                                  "minReplicas": 3, "maxReplicas": 2}}
    status, body = failure(autoscaling.create_namespaced_horizontal_pod_autoscaler, namespace, hpa)
    assert (status, body["details"]["causes"][0]["message"]) == (422, "Invalid value: 2: must be greater than or equal to `minReplicas`")
    hpa["spec"]["maxReplicas"] = 5
    created = autoscaling.create_namespaced_horizontal_pod_autoscaler(namespace, hpa)
    assert created.status.desired_replicas == 0 and created.spec.metrics[0].resource.target.average_utilization == 80
    found = poll(lambda: conditions(kubesim, namespace), lambda found: "AbleToScale" in found, "AbleToScale")
    assert (found["AbleToScale"]["status"], found["AbleToScale"]["reason"]) == ("False", "FailedGetScale")
    assert found["AbleToScale"]["message"] == 'the HPA controller was unable to get the target\'s current scale: deployments.apps "web" not found'
