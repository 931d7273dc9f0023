"""Jobs and CronJobs: pods that run to completion (or fail), completions and parallelism, backoffLimit,
deadlines and TTLs, and schedules honoured in simulated time, through kubectl, the Python client and
kubernetes.core."""

import datetime
import os
import subprocess
import sys

import kubernetes
import yaml
from api_support import api_client, failure
from test_controllers_events import events_of, summary
from traffic_support import apply, new_namespace, poll
from workload_support import IMAGE, PodWatch, get_json, items

COMPLETE_AFTER = "kubesim.cxpe.io/complete-after"
EXIT_CODE = "kubesim.cxpe.io/exit-code"


def job(name, completions=None, parallelism=None, restart_policy="Never", annotations=None, **spec):
    body = {"template": {"metadata": {"annotations": dict(annotations or {})},
                         "spec": {"restartPolicy": restart_policy, "terminationGracePeriodSeconds": 1,
                                  "containers": [{"name": "work", "image": f"{IMAGE}:1.0"}]}}, **spec}
    if completions is not None:
        body["completions"] = completions
    if parallelism is not None:
        body["parallelism"] = parallelism
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name}, "spec": body}


def conditions(obj):
    return {c["type"]: c for c in (obj.get("status") or {}).get("conditions") or []}


def wait_for(kubesim, namespace, name, condition, timeout=30):
    kubesim.kubectl("wait", f"--for=condition={condition}", f"job/{name}", "-n", namespace, f"--timeout={timeout}s", timeout=timeout + 15)
    return get_json(kubesim, namespace, "job", name)


def test_kubectl_create_job_runs_a_pod_to_completion(shared_kubesim, request):
    kubesim = shared_kubesim
    namespace = new_namespace(kubesim, request.node.name)
    kubesim.kubectl("create", "job", "hello", f"--image={IMAGE}:1.0", "-n", namespace, "--", "echo", "hi")
    created = get_json(kubesim, namespace, "job", "hello")
    uid = created["metadata"]["uid"]
    assert created["spec"]["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
    assert created["spec"]["template"]["metadata"]["labels"]["batch.kubernetes.io/job-name"] == "hello"
    assert (created["spec"]["backoffLimit"], created["spec"]["completions"], created["spec"]["parallelism"]) == (6, 1, 1)

    done = wait_for(kubesim, namespace, "hello", "complete")
    found = conditions(done)
    assert (found["Complete"]["reason"], found["Complete"]["message"]) == ("CompletionsReached", "Reached expected number of succeeded pods")
    assert found["SuccessCriteriaMet"]["status"] == "True"
    assert (done["status"]["succeeded"], done["status"]["ready"], done["status"]["terminating"]) == (1, 0, 0)
    assert done["status"]["completionTime"] and done["status"]["uncountedTerminatedPods"] == {}
    pod = items(kubesim, namespace, "pods")[0]
    assert pod["status"]["phase"] == "Succeeded" and pod["metadata"]["labels"]["job-name"] == "hello"
    terminated = pod["status"]["containerStatuses"][0]["state"]["terminated"]
    assert (terminated["exitCode"], terminated["reason"]) == (0, "Completed")
    assert {c["type"]: c.get("reason") for c in pod["status"]["conditions"]}["Ready"] == "PodCompleted"
    assert kubesim.kubectl("get", "jobs", "-n", namespace, "--no-headers").stdout.split()[:3] == ["hello", "Complete", "1/1"]
    assert "Completed" in kubesim.kubectl("get", "pods", "-n", namespace, "--no-headers").stdout.split()
    recorded = summary(events_of(kubesim, namespace, "Job", "hello"))
    assert recorded == [("Normal", "SuccessfulCreate", f"Created pod: {pod['metadata']['name']}"), ("Normal", "Completed", "Job completed")]


def test_completions_run_at_most_parallelism_pods_at_a_time(shared_kubesim, request):
    kubesim = shared_kubesim
    namespace = new_namespace(kubesim, request.node.name)
    with PodWatch(kubesim, namespace, "job-name=batch") as watch:
        apply(kubesim, namespace, job("batch", completions=4, parallelism=2))
        done = wait_for(kubesim, namespace, "batch", "complete")
        states = watch.states()
    running = [sum(1 for p in state.values() if p["status"].get("phase") not in ("Succeeded", "Failed")) for state in states]
    assert max(running) == 2
    assert done["status"]["succeeded"] == 4 and len(items(kubesim, namespace, "pods")) == 4


def test_failures_beyond_the_backoff_limit_fail_the_job(shared_kubesim, request):
    kubesim = shared_kubesim
    namespace = new_namespace(kubesim, request.node.name)
    apply(kubesim, namespace, job("flaky", annotations={EXIT_CODE: "3"}, backoffLimit=1))
    failed = wait_for(kubesim, namespace, "flaky", "failed")
    found = conditions(failed)
    assert (found["Failed"]["reason"], found["Failed"]["message"]) == ("BackoffLimitExceeded", "Job has reached the specified backoff limit")
    assert found["FailureTarget"]["reason"] == "BackoffLimitExceeded" and failed["status"]["failed"] == 2
    pods = items(kubesim, namespace, "pods")
    assert [p["status"]["phase"] for p in pods] == ["Failed", "Failed"]
    assert pods[0]["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 3
    warning = events_of(kubesim, namespace, "Job", "flaky", reason="BackoffLimitExceeded")
    assert summary(warning) == [("Warning", "BackoffLimitExceeded", "Job has reached the specified backoff limit")]
    assert kubesim.kubectl("get", "jobs", "-n", namespace, "--no-headers").stdout.split()[:3] == ["flaky", "Failed", "0/1"]


def test_restarts_of_an_on_failure_pod_count_toward_the_backoff_limit(shared_kubesim, request):
    kubesim = shared_kubesim
    namespace = new_namespace(kubesim, request.node.name)
    apply(kubesim, namespace, job("retry", restart_policy="OnFailure", annotations={EXIT_CODE: "1", COMPLETE_AFTER: "1"}, backoffLimit=2))
    wait_for(kubesim, namespace, "retry", "failed")
    poll(lambda: items(kubesim, namespace, "pods"), lambda found: not found, "the restarting pod to be deleted")


def test_the_active_deadline_fails_a_job_and_ttl_deletes_a_finished_one(shared_kubesim, request):
    kubesim = shared_kubesim
    namespace = new_namespace(kubesim, request.node.name)
    apply(kubesim, namespace, job("slow", annotations={COMPLETE_AFTER: "3600"}, activeDeadlineSeconds=10),
          job("brief", ttlSecondsAfterFinished=20))
    failed = wait_for(kubesim, namespace, "slow", "failed")
    assert (conditions(failed)["Failed"]["reason"], conditions(failed)["Failed"]["message"]) == ("DeadlineExceeded", "Job was active longer than specified deadline")
    poll(lambda: [j["metadata"]["name"] for j in items(kubesim, namespace, "jobs")], lambda found: found == ["slow"], "the finished Job's TTL")


def test_kubernetes_core_waits_for_a_job_to_complete(shared_kubesim, request, tmp_path):
    namespace = new_namespace(shared_kubesim, request.node.name)
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"kubernetes.core.k8s": {"state": "present", "namespace": namespace, "definition": job("migrate", annotations={COMPLETE_AFTER: "10"}),
                                 "wait": True, "wait_condition": {"type": "Complete", "status": "True"}, "wait_timeout": 30, "wait_sleep": 1},
         "register": "ran"},
        {"assert": {"that": ["ran.result.status.succeeded == 1"]}},
    ]}]
    path = tmp_path / "play.yml"
    path.write_text(yaml.safe_dump(play, sort_keys=False))
    ansible_playbook = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    result = subprocess.run([ansible_playbook, str(path)], capture_output=True, text=True, timeout=120, env=shared_kubesim.env, cwd=tmp_path,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_job_and_cronjob_admission_refuse_what_the_real_server_refuses(shared_kubesim, request):
    namespace = new_namespace(shared_kubesim, request.node.name)
    batch = kubernetes.client.BatchV1Api(api_client(shared_kubesim))
    status, body = failure(batch.create_namespaced_job, namespace, job("forever", restart_policy="Always"))
    assert status == 422 and body["details"]["causes"][0] == {
        "reason": "FieldValueNotSupported", "field": "spec.template.spec.restartPolicy",
        "message": 'Unsupported value: "Always": supported values: "OnFailure", "Never"'}
    cronjob = {"metadata": {"name": "bad"}, "spec": {"schedule": "61 * * * *", "jobTemplate": {"spec": job("x")["spec"]}}}
    status, body = failure(batch.create_namespaced_cron_job, namespace, cronjob)
    assert status == 422 and body["message"] == 'CronJob.batch "bad" is invalid: spec.schedule: Invalid value: "61 * * * *": end of range (61) above maximum (59): 61'


def cronjob(name, schedule="*/1 * * * *", policy="Allow", complete_after="5", **spec):
    template = job("x", annotations={COMPLETE_AFTER: complete_after})["spec"]
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": name},
            "spec": {"schedule": schedule, "concurrencyPolicy": policy, "jobTemplate": {"metadata": {"labels": {"cron": name}}, "spec": template}, **spec}}


def test_a_cronjob_runs_on_its_schedule_in_simulated_time_and_keeps_its_history_limit(kubesim_factory, request):
    kubesim = kubesim_factory(time_scale=120)  # a simulated minute every half real second
    namespace = new_namespace(kubesim, request.node.name)
    apply(kubesim, namespace, cronjob("tick", successfulJobsHistoryLimit=2))
    poll(lambda: summary(events_of(kubesim, namespace, "CronJob", "tick", reason="SuccessfulDelete")), lambda found: len(found) >= 2,
         "two Jobs beyond the history limit to be deleted")
    jobs = items(kubesim, namespace, "jobs", "cron=tick")
    complete = [j for j in jobs if "Complete" in conditions(j)]
    assert len(complete) <= 2
    # A Job is named for its scheduled time in minutes since the epoch, and annotated with that time.
    minutes = int(jobs[0]["metadata"]["name"].rsplit("-", 1)[1])
    stamp = jobs[0]["metadata"]["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"]
    assert datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc).timestamp() == minutes * 60
    assert jobs[0]["metadata"]["ownerReferences"][0]["kind"] == "CronJob"
    status = get_json(kubesim, namespace, "cronjob", "tick")["status"]
    assert status["lastScheduleTime"].endswith(":00Z") and status["lastSuccessfulTime"]
    created = summary(events_of(kubesim, namespace, "CronJob", "tick", reason="SuccessfulCreate"))
    assert created[0][2].startswith("Created job tick-") and len(created) >= 4


def test_forbid_skips_a_run_while_the_previous_one_is_active(kubesim_factory, request):
    kubesim = kubesim_factory(time_scale=120)
    namespace = new_namespace(kubesim, request.node.name)
    apply(kubesim, namespace, cronjob("exclusive", policy="Forbid", complete_after="3600"))
    skipped = poll(lambda: events_of(kubesim, namespace, "CronJob", "exclusive", reason="JobAlreadyActive"), lambda found: found, "a skipped run")
    assert skipped[0]["message"] == "Not starting job because prior execution is running and concurrency policy is Forbid"
    assert len(items(kubesim, namespace, "jobs")) == 1
    active = get_json(kubesim, namespace, "cronjob", "exclusive")["status"]["active"]
    assert [(ref["kind"], ref["name"]) for ref in active] == [("Job", items(kubesim, namespace, "jobs")[0]["metadata"]["name"])]


def test_replace_deletes_the_running_job_for_the_next_one(kubesim_factory, request):
    kubesim = kubesim_factory(time_scale=120)
    namespace = new_namespace(kubesim, request.node.name)
    apply(kubesim, namespace, cronjob("latest", policy="Replace", complete_after="3600"))
    replaced = poll(lambda: events_of(kubesim, namespace, "CronJob", "latest", reason="SuccessfulDelete"), lambda found: found, "a replaced run")
    first = replaced[0]["message"].removeprefix("Deleted job ")
    assert first not in [j["metadata"]["name"] for j in items(kubesim, namespace, "jobs") if not j["metadata"].get("deletionTimestamp")]


def test_a_suspended_job_starts_no_pods_until_it_is_resumed(shared_kubesim, request):
    kubesim = shared_kubesim
    namespace = new_namespace(kubesim, request.node.name)
    apply(kubesim, namespace, job("later", suspend=True))
    suspended = poll(lambda: get_json(kubesim, namespace, "job", "later"), lambda found: "Suspended" in conditions(found), "Suspended")
    assert (conditions(suspended)["Suspended"]["status"], conditions(suspended)["Suspended"]["reason"]) == ("True", "JobSuspended")
    assert "startTime" not in suspended["status"] and items(kubesim, namespace, "pods") == []
    assert kubesim.kubectl("get", "jobs", "-n", namespace, "--no-headers").stdout.split()[1] == "Suspended"
    kubesim.kubectl("patch", "job", "later", "-n", namespace, "-p", '{"spec": {"suspend": false}}')
    done = wait_for(kubesim, namespace, "later", "complete")
    assert (conditions(done)["Suspended"]["status"], conditions(done)["Suspended"]["reason"]) == ("False", "JobResumed")
    reasons = [e[1] for e in summary(events_of(kubesim, namespace, "Job", "later"))]
    # As in the real syncJob, the pods are created before the resumption is recorded.
    assert reasons[:3] == ["Suspended", "SuccessfulCreate", "Resumed"]
