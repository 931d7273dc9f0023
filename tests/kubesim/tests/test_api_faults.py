"""Fault injection and a paused control plane, as the collection's reliability tests use them: rules
added with ``--fault`` or on /kubesim/v1/faults fail chosen client requests the way a real API server
fails them, change nothing, and are counted; /kubesim/v1/pause stops the controllers while the API
keeps serving."""

import json
import os
import subprocess
import sys
import time

import kubernetes
import pytest
import urllib3
from api_support import api_client, failure, http, requests_by_label, wait_until


def add_fault(simulator, **rule):
    status, body = http(simulator, "POST", "/kubesim/v1/faults", rule)
    assert status == 201, body
    return body


def core_api(simulator, retries=None):
    return kubernetes.client.CoreV1Api(api_client(simulator, retries))


def configmap_names(core):
    return sorted(item.metadata.name for item in core.list_namespaced_config_map("default").items)


def test_a_throttled_request_gets_429_with_retry_after_then_the_next_succeeds(kubesim):
    core = core_api(kubesim, retries=False)
    core.create_namespaced_config_map("default", {"metadata": {"name": "settings"}})
    rule = add_fault(kubesim, fault="throttle", verb="GET", resource="configmaps", count=1, retryAfter=3)
    assert rule["id"] == 1 and (rule["matched"], rule["fired"]) == (0, 0)

    try:
        core.read_namespaced_config_map("settings", "default")
        raise AssertionError("the throttled read succeeded")
    except kubernetes.client.ApiException as exc:
        assert (exc.status, exc.headers["Retry-After"]) == (429, "3")
        # The real filters answer with plain text, not a Status.
        assert (exc.headers["Content-Type"], exc.body) == ("text/plain; charset=utf-8", "Too many requests, please try again later.\n")
    assert core.read_namespaced_config_map("settings", "default").metadata.name == "settings"

    # Both reads matched; the rule, spent after one, failed the first.
    assert http(kubesim, "GET", "/kubesim/v1/faults/1")[1] == dict(rule, matched=2, fired=1)
    counted = requests_by_label(kubesim, resource="configmaps")
    assert (counted[("GET", "resource", "", "429")], counted[("GET", "resource", "", "200")]) == (1, 1)


def test_the_python_client_waits_out_throttling_as_it_is_told_to(kubesim):
    core = core_api(kubesim)
    core.create_namespaced_config_map("default", {"metadata": {"name": "settings"}})
    add_fault(kubesim, fault="throttle", verb="GET", resource="configmaps", count=1, retryAfter=2)
    started = time.monotonic()
    # urllib3 retries a 429 that carries Retry-After, after sleeping that long.
    assert core.read_namespaced_config_map("settings", "default").metadata.name == "settings"
    assert time.monotonic() - started >= 2
    counted = requests_by_label(kubesim, resource="configmaps", verb="GET")
    assert (counted[("GET", "resource", "", "429")], counted[("GET", "resource", "", "200")]) == (1, 1)


def test_kubectl_waits_out_throttling_as_it_is_told_to(kubesim):
    kubesim.kubectl("create", "configmap", "settings", "--from-literal=mode=fast")
    add_fault(kubesim, fault="throttle", verb="GET", resource="configmaps", name="settings", count=2, retryAfter=1)
    # client-go retries a 429 after its Retry-After (up to ten times), so kubectl succeeds on the third try.
    assert kubesim.kubectl("get", "configmap", "settings", "-o", "jsonpath={.data.mode}").stdout == "fast"
    counted = requests_by_label(kubesim, resource="configmaps", verb="GET")
    assert (counted[("GET", "resource", "", "429")], counted[("GET", "resource", "", "200")]) == (2, 1)


def test_an_injected_conflict_on_update_changes_nothing(kubesim):
    core = core_api(kubesim)
    created = core.create_namespaced_config_map("default", {"metadata": {"name": "settings"}, "data": {"mode": "fast"}})
    add_fault(kubesim, fault="conflict", verb="PUT", resource="configmaps", namespace="default", count=1)
    replacement = {"metadata": {"name": "settings", "resourceVersion": created.metadata.resource_version}, "data": {"mode": "slow"}}

    status, body = failure(core.replace_namespaced_config_map, "settings", "default", replacement)
    assert (status, body["reason"]) == (409, "Conflict")
    assert body["message"] == ('Operation cannot be fulfilled on configmaps "settings": the object has been modified; '
                               "please apply your changes to the latest version and try again")
    unchanged = core.read_namespaced_config_map("settings", "default")
    assert (unchanged.metadata.resource_version, unchanged.data) == (created.metadata.resource_version, {"mode": "fast"})
    # The rule is spent: the same update now goes through.
    assert core.replace_namespaced_config_map("settings", "default", replacement).data == {"mode": "slow"}


def test_kubectl_reports_an_injected_conflict(kubesim):
    kubesim.kubectl("create", "configmap", "settings", "--from-literal=mode=fast")
    add_fault(kubesim, fault="conflict", verb="PUT", resource="configmaps", count=1)
    current = kubesim.kubectl("get", "configmap", "settings", "-o", "json").stdout
    replaced = kubesim.kubectl("replace", "-f", "-", stdin=current.replace('"fast"', '"slow"'), check=False)
    assert replaced.returncode != 0
    assert 'Operation cannot be fulfilled on configmaps "settings": the object has been modified' in replaced.stderr
    assert kubesim.kubectl("get", "configmap", "settings", "-o", "jsonpath={.data.mode}").stdout == "fast"


def test_an_injected_500_on_a_write_stores_nothing_and_is_counted(kubesim):
    core = core_api(kubesim)
    add_fault(kubesim, fault="error", verb="POST", resource="configmaps", every=2, message="etcdserver: request timed out")
    outcomes = []
    for index in range(4):
        try:
            core.create_namespaced_config_map("default", {"metadata": {"name": f"cm-{index}"}})
            outcomes.append(201)
        except kubernetes.client.ApiException as exc:
            body = json.loads(exc.body)
            assert (body["reason"], body["message"]) == ("InternalError", "Internal error occurred: etcdserver: request timed out")
            assert body["details"]["causes"] == [{"message": "etcdserver: request timed out"}]
            outcomes.append(exc.status)
    # Every second matching request fails.
    assert outcomes == [201, 500, 201, 500]
    assert [name for name in configmap_names(core) if name.startswith("cm-")] == ["cm-0", "cm-2"]
    counted = requests_by_label(kubesim, resource="configmaps", verb="POST")
    assert counted == {("POST", "resource", "", "201"): 2, ("POST", "resource", "", "500"): 2}


def test_a_timed_out_request_is_answered_504_at_its_deadline_and_writes_nothing(kubesim):
    core = core_api(kubesim)
    add_fault(kubesim, fault="timeout", verb="POST", resource="configmaps", count=1)
    started = time.monotonic()
    status, body = http(kubesim, "POST", "/api/v1/namespaces/default/configmaps?timeout=1s", {"metadata": {"name": "late"}})
    # Held until the deadline the request asked for, then answered as the real server's timeout answers.
    assert time.monotonic() - started >= 1.0
    assert (status, body) == (504, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "code": 504, "reason": "Timeout",
                                    "message": "Timeout: request did not complete within requested timeout - context deadline exceeded",
                                    "details": {}})
    assert "late" not in configmap_names(core)
    assert requests_by_label(kubesim, resource="configmaps", verb="POST") == {("POST", "resource", "", "504"): 1}


def test_a_client_that_gives_up_first_sees_its_own_timeout(kubesim):
    core = core_api(kubesim, retries=False)
    add_fault(kubesim, fault="timeout", verb="LIST", resource="configmaps", seconds=3)
    with pytest.raises(urllib3.exceptions.ReadTimeoutError):
        core.list_namespaced_config_map("default", _request_timeout=0.5)


def test_a_cut_watch_ends_abruptly_and_the_client_resumes_from_its_last_version(kubesim):
    core = core_api(kubesim)
    start = core.list_namespaced_config_map("default").metadata.resource_version
    for index in range(3):
        core.create_namespaced_config_map("default", {"metadata": {"name": f"cm-{index}"}})
    add_fault(kubesim, fault="cut-watch", resource="configmaps", events=2, count=1)

    seen, last_version = [], start
    with pytest.raises(urllib3.exceptions.ProtocolError):
        for event in kubernetes.watch.Watch().stream(core.list_namespaced_config_map, "default", resource_version=start, timeout_seconds=10):
            seen.append(event["object"].metadata.name)
            last_version = event["object"].metadata.resource_version
    assert seen == ["cm-0", "cm-1"]

    resumed = kubernetes.watch.Watch().stream(core.list_namespaced_config_map, "default", resource_version=last_version, timeout_seconds=1)
    assert [event["object"].metadata.name for event in resumed] == ["cm-2"]
    # Both watches are counted, the cut one with the 200 its stream began with.
    assert requests_by_label(kubesim, resource="configmaps", verb="WATCH") == {("WATCH", "namespace", "", "200"): 2}


def test_a_watch_cut_after_some_seconds(kubesim):
    core = core_api(kubesim)
    add_fault(kubesim, fault="cut-watch", resource="configmaps", seconds=0.5)
    stream = kubernetes.watch.Watch().stream(core.list_namespaced_config_map, "default", timeout_seconds=30)
    with pytest.raises(urllib3.exceptions.ProtocolError):
        list(stream)


def test_an_expired_watch_is_an_error_event_with_a_410_and_a_list_starts_again(kubesim):
    core = core_api(kubesim)
    start = core.list_namespaced_config_map("default").metadata.resource_version
    core.create_namespaced_config_map("default", {"metadata": {"name": "settings"}})
    add_fault(kubesim, fault="expire-watch", resource="configmaps", count=1)

    with pytest.raises(kubernetes.client.ApiException) as error:
        list(kubernetes.watch.Watch().stream(core.list_namespaced_config_map, "default", resource_version=start, timeout_seconds=10))
    assert error.value.status == 410 and "Expired: The resourceVersion for the provided watch is too old." in error.value.reason
    # The store is as it was: a list and a watch from it see everything.
    listed = core.list_namespaced_config_map("default")
    assert [item.metadata.name for item in listed.items] == ["settings"]
    stream = kubernetes.watch.Watch().stream(core.list_namespaced_config_map, "default", resource_version=listed.metadata.resource_version,
                                             timeout_seconds=1)
    assert list(stream) == []
    assert requests_by_label(kubesim, resource="configmaps", verb="WATCH") == {("WATCH", "namespace", "", "200"): 2}
    status, body = http(kubesim, "POST", "/kubesim/v1/faults", {"fault": "expire-watch", "verb": "GET"})
    assert status == 400 and 'a "expire-watch" fault applies to WATCH requests only' in body["message"]


def test_rules_are_listed_removed_and_validated(kubesim):
    first = add_fault(kubesim, fault="error", resource="pods", ratio=0.5, seed=7)
    second = add_fault(kubesim, fault="throttle", verb="delete")
    assert (first["ratio"], first["seed"], second["verb"], second["retryAfter"]) == (0.5, 7, "DELETE", 1)
    assert [rule["id"] for rule in http(kubesim, "GET", "/kubesim/v1/faults")[1]["faults"]] == [first["id"], second["id"]]

    assert http(kubesim, "DELETE", f"/kubesim/v1/faults/{first['id']}")[0] == 200
    assert http(kubesim, "GET", f"/kubesim/v1/faults/{first['id']}")[0] == 404
    assert http(kubesim, "DELETE", "/kubesim/v1/faults")[1]["faults"] == [dict(second)]
    assert http(kubesim, "GET", "/kubesim/v1/faults")[1] == {"faults": []}

    for rule, complaint in [({"fault": "explode"}, '"fault" must be one of'), ({"fault": "error", "verb": "FETCH"}, '"verb" must be one of'),
                            ({"fault": "cut-watch", "resource": "pods"}, '"cut-watch" fault needs'),
                            ({"fault": "error", "every": 0}, '"every" must be a whole number of at least 1'),
                            ({"fault": "error", "colour": "red"}, "unknown field(s) in a fault rule: colour")]:
        status, body = http(kubesim, "POST", "/kubesim/v1/faults", rule)
        assert (status, body["reason"]) == (400, "BadRequest") and complaint in body["message"], body


def test_a_ratio_rule_fails_the_same_requests_on_every_run(kubesim_factory):
    def outcomes():
        simulator = kubesim_factory(extra_args=["--fault", json.dumps({"fault": "error", "verb": "GET", "resource": "namespaces", "ratio": 0.5, "seed": 3})])
        core = core_api(simulator)
        results = []
        for _ in range(12):
            try:
                core.read_namespace("default")
                results.append(200)
            except kubernetes.client.ApiException as exc:
                results.append(exc.status)
        simulator.stop()
        return results

    first = outcomes()
    assert first == outcomes() and 0 < first.count(500) < len(first)


def test_an_invalid_fault_flag_stops_the_server_with_the_reason(tmp_path):
    result = subprocess.run([sys.executable, "-m", "kubesim.cli", "serve", "--port", "0", "--kubeconfig", str(tmp_path / "kubeconfig"),
                             "--fault", '{"fault": "timeout", "every": -1}'], capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 2
    assert 'kubesim: invalid --fault: "every" must be a whole number of at least 1, not -1' in result.stderr
    assert not os.path.exists(tmp_path / "kubeconfig")


def replicasets(simulator):
    return kubernetes.client.AppsV1Api(api_client(simulator)).list_namespaced_replica_set("default").items


def test_paused_controllers_create_nothing_until_resumed_while_the_api_serves(kubesim_factory):
    simulator = kubesim_factory(extra_args=["--pause-controllers"])
    assert http(simulator, "GET", "/kubesim/v1/pause")[1] == {"paused": True}
    simulator.kubectl("create", "deployment", "web", "--image=registry.example.com/web:1.0", "--replicas=2")
    time.sleep(1.0)  # twenty simulated seconds: far more than a ReplicaSet takes when the controllers run
    assert replicasets(simulator) == []
    assert simulator.kubectl("get", "deployment", "web", "-o", "jsonpath={.metadata.name}").stdout == "web"

    assert http(simulator, "DELETE", "/kubesim/v1/pause")[1] == {"paused": False}
    simulator.kubectl("rollout", "status", "deployment/web", "--timeout=30s")
    assert len(replicasets(simulator)) == 1


def test_a_pause_for_some_simulated_seconds_ends_by_itself(kubesim_factory):
    simulator = kubesim_factory(time_scale=20)
    status, state = http(simulator, "POST", "/kubesim/v1/pause", {"seconds": 100})
    assert status == 200 and state["paused"] and 0 < state["remainingSeconds"] <= 100
    simulator.kubectl("create", "deployment", "web", "--image=registry.example.com/web:1.0")
    assert replicasets(simulator) == []
    # A hundred simulated seconds are five real ones at 20x; then the controllers catch up on their own.
    wait_until(lambda: len(replicasets(simulator)) == 1, timeout=20, message="the ReplicaSet after the pause")
    assert http(simulator, "GET", "/kubesim/v1/pause")[1] == {"paused": False}
