"""Image pulls: which images exist (``--missing-image``), what a node already holds, and what the kubelet
reports for a pull that succeeds, fails, backs off, or may not happen, seen through kubectl, the
Python client and kubernetes.core."""

import os
import subprocess
import sys

import yaml
from test_controllers_events import events_of, summary
from traffic_support import apply, new_namespace, poll
from workload_support import IMAGE, PodWatch, deployment, get_json, items, pod, rollout_status

MISSING = [f"--missing-image={IMAGE}:9.*"]
NOT_FOUND = (f'rpc error: code = NotFound desc = failed to pull and unpack image "{IMAGE}:9.9": '
             f'failed to resolve reference "{IMAGE}:9.9": {IMAGE}:9.9: not found')


def waiting_reason(pod_object):
    return ((pod_object["status"].get("containerStatuses") or [{}])[0].get("state") or {}).get("waiting", {}).get("reason")


def test_a_deployment_upgraded_to_a_missing_tag_backs_off_and_exceeds_its_progress_deadline(kubesim_factory, request):
    kubesim = kubesim_factory(extra_args=MISSING)
    namespace = new_namespace(kubesim, request.node.name)
    apply(kubesim, namespace, deployment("web", replicas=2, progressDeadlineSeconds=60))
    rollout_status(kubesim, namespace, "deployment/web")

    kubesim.kubectl("set", "image", "deployment/web", f"web={IMAGE}:9.9", "-n", namespace)
    timed_out = kubesim.kubectl("rollout", "status", "deployment/web", "-n", namespace, "--timeout=1s", check=False)
    assert timed_out.returncode != 0 and "timed out waiting for the condition" in timed_out.stderr

    def new_pod():
        return next((p for p in items(kubesim, namespace, "pods") if p["spec"]["containers"][0]["image"].endswith(":9.9")), None)

    backing_off = poll(new_pod, lambda found: found and waiting_reason(found) == "ImagePullBackOff", "the new pod to back off")
    assert backing_off["status"]["phase"] == "Pending"
    status = backing_off["status"]["containerStatuses"][0]
    assert status["state"]["waiting"]["message"] == f'Back-off pulling image "{IMAGE}:9.9": ErrImagePull: {NOT_FOUND}'
    assert (status["ready"], status["started"], status["imageID"], status["restartCount"]) == (False, False, "", 0)
    listed = kubesim.kubectl("get", "pods", "-n", namespace).stdout
    assert f"{backing_off['metadata']['name']}   0/1     ImagePullBackOff" in listed

    name = backing_off["metadata"]["name"]
    recorded = summary(events_of(kubesim, namespace, "Pod", name))
    assert recorded[1:6] == [
        ("Normal", "Pulling", f'Pulling image "{IMAGE}:9.9"'),
        ("Warning", "Failed", f'Failed to pull image "{IMAGE}:9.9": {NOT_FOUND}'),
        ("Warning", "Failed", "Error: ErrImagePull"),
        ("Normal", "BackOff", f'Back-off pulling image "{IMAGE}:9.9"'),
        ("Warning", "Failed", "Error: ImagePullBackOff"),
    ]
    # The first retry comes after the kubelet's 10 s back-off (half a real second here).
    pulls = poll(lambda: events_of(kubesim, namespace, "Pod", name, reason="Pulling"), lambda found: found[0]["count"] >= 2, "a second pull")
    assert pulls[0]["source"]["component"] == "kubelet"

    exceeded = kubesim.kubectl("rollout", "status", "deployment/web", "-n", namespace, "--timeout=20s", check=False, timeout=30)
    assert exceeded.returncode != 0 and 'deployment "web" exceeded its progress deadline' in exceeded.stderr
    progressing = next(c for c in get_json(kubesim, namespace, "deployment", "web")["status"]["conditions"] if c["type"] == "Progressing")
    assert (progressing["status"], progressing["reason"]) == ("False", "ProgressDeadlineExceeded")
    assert len([p for p in items(kubesim, namespace, "pods") if p["status"]["phase"] == "Running"]) == 2


def test_a_pulled_image_keeps_the_container_creating_until_the_pull_ends(kubesim_factory, request):
    kubesim = kubesim_factory(nodes=1, extra_args=["--no-preloaded-images"])
    namespace = new_namespace(kubesim, request.node.name)
    with PodWatch(kubesim, namespace, "app=web") as watch:
        apply(kubesim, namespace, pod("web-0", {"app": "web"}))
        poll(lambda: get_json(kubesim, namespace, "pod", "web-0"), lambda found: found["status"].get("phase") == "Running", "Running")
        seen = [(p["status"].get("phase"), waiting_reason(p)) for state in watch.states() for p in state.values() if p["status"].get("containerStatuses")]
    assert seen[0] == ("Pending", "ContainerCreating") and seen[-1] == ("Running", None)
    image = f"{IMAGE}:1.0"
    first = summary(events_of(kubesim, namespace, "Pod", "web-0"))
    assert first[1] == ("Normal", "Pulling", f'Pulling image "{image}"')
    assert first[2][:2] == ("Normal", "Pulled") and first[2][2].startswith(f'Successfully pulled image "{image}" in ')
    assert first[3:] == [("Normal", "Created", "Created container: web"), ("Normal", "Started", "Started container web")]

    # IfNotPresent on the node that now holds the image: no pull.
    apply(kubesim, namespace, pod("web-1", {"app": "web"}))
    second = poll(lambda: summary(events_of(kubesim, namespace, "Pod", "web-1")), lambda found: len(found) == 4, "four events")
    assert second[1] == ("Normal", "Pulled", f'Container image "{image}" already present on machine')

    # Always pulls on every start, present or not.
    always = pod("web-2", {"app": "web"})
    always["spec"]["containers"][0]["imagePullPolicy"] = "Always"
    apply(kubesim, namespace, always)
    third = poll(lambda: summary(events_of(kubesim, namespace, "Pod", "web-2")), lambda found: len(found) == 5, "five events")
    assert [reason for _, reason, _ in third] == ["Scheduled", "Pulling", "Pulled", "Created", "Started"]


def test_pull_policy_never_with_an_absent_image_is_err_image_never_pull(kubesim_factory, request):
    kubesim = kubesim_factory(extra_args=["--no-preloaded-images"])
    namespace = new_namespace(kubesim, request.node.name)
    never = pod("web-0", {"app": "web"})
    never["spec"]["containers"][0]["imagePullPolicy"] = "Never"
    apply(kubesim, namespace, never)
    stuck = poll(lambda: get_json(kubesim, namespace, "pod", "web-0"), lambda found: waiting_reason(found) == "ErrImageNeverPull", "ErrImageNeverPull")
    message = f'Container image "{IMAGE}:1.0" is not present with pull policy of Never'
    assert stuck["status"]["phase"] == "Pending"
    assert stuck["status"]["containerStatuses"][0]["state"]["waiting"]["message"] == message
    recorded = poll(lambda: summary(events_of(kubesim, namespace, "Pod", "web-0")), lambda found: len(found) == 3, "three events")
    assert recorded[1:] == [("Warning", "ErrImageNeverPull", message), ("Warning", "Failed", "Error: ErrImageNeverPull")]


def test_kubernetes_core_waiting_for_a_deployment_with_a_missing_image_fails(kubesim_factory, request, tmp_path):
    kubesim = kubesim_factory(extra_args=MISSING)
    namespace = new_namespace(kubesim, request.node.name)
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"kubernetes.core.k8s": {"state": "present", "namespace": namespace, "definition": deployment("web", replicas=1, version="9.9"),
                                 "wait": True, "wait_timeout": 3, "wait_sleep": 1}},
    ]}]
    path = tmp_path / "play.yml"
    path.write_text(yaml.safe_dump(play, sort_keys=False))
    ansible_playbook = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    result = subprocess.run([ansible_playbook, str(path)], capture_output=True, text=True, timeout=120, env=kubesim.env, cwd=tmp_path, check=False)
    assert result.returncode != 0 and "failed=1" in result.stdout, result.stdout
    assert '"msg": "\\"Deployment\\" \\"web\\": Timed out waiting on resource"' in result.stdout, result.stdout
    pods = items(kubesim, namespace, "pods")
    assert len(pods) == 1 and pods[0]["status"]["phase"] == "Pending" and waiting_reason(pods[0]) in ("ErrImagePull", "ImagePullBackOff")
