# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible_collections.cxpe.rollout.plugins.module_utils.cluster import (
    REQUEST_TIMEOUT,
    Cluster,
    ClusterError,
    contains,
    describe,
    merge_patch,
    strip_server_fields,
)
from cluster_support import FakeClient, Response, ScriptedWatch, api_error, configmap
from kubernetes.client.rest import ApiException
from urllib3.exceptions import NewConnectionError, ProtocolError, ReadTimeoutError


def cluster(*objects, **options):
    client = FakeClient(objects)
    delays = []
    return Cluster(client, sleep=delays.append, **options), client, delays


def test_describe_names_objects_the_way_messages_do():
    assert describe("Service", "gws-chat", "gws") == "Service gws/gws-chat"
    assert describe("Namespace", "gws") == "Namespace gws"
    assert describe("Pod", namespace="gws") == "Pods in gws"


@pytest.mark.parametrize("before, after, patch", [
    ({"a": 1, "b": {"c": 2, "d": 3}}, {"a": 1, "b": {"c": 2, "d": 4}}, {"b": {"d": 4}}),
    ({"a": 1, "b": 2}, {"a": 1}, {"b": None}),
    ({"a": [1, 2]}, {"a": [1, 3], "n": {"x": 1}}, {"a": [1, 3], "n": {"x": 1}}),
    ({"a": {"b": 1}}, {"a": {"b": 1}}, {}),
])
def test_merge_patch_is_the_minimal_rfc7386_difference(before, after, patch):
    assert merge_patch(before, after) == patch


def test_strip_server_fields_keeps_what_a_user_wrote():
    obj = {"metadata": {"name": "x", "resourceVersion": "3", "uid": "u", "managedFields": [], "generation": 2,
                        "creationTimestamp": "t", "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"}},
           "spec": {"a": 1}, "status": {"b": 2}}
    assert strip_server_fields(obj) == {"metadata": {"name": "x"}, "spec": {"a": 1}}
    assert obj["status"] == {"b": 2}


def test_get_returns_none_for_a_missing_object_and_raises_other_errors():
    api, client, _delays = cluster(configmap("here"))
    assert api.get("v1", "ConfigMap", "here", "ns")["metadata"]["name"] == "here"
    assert api.get("v1", "ConfigMap", "absent", "ns") is None
    client.failures["get"] = [api_error(403, 'configmaps "here" is forbidden: User "x" cannot get resource')]
    with pytest.raises(ClusterError) as error:
        api.get("v1", "ConfigMap", "here", "ns")
    assert error.value.status == 403
    assert str(error.value) == 'cannot read ConfigMap ns/here: configmaps "here" is forbidden: User "x" cannot get resource'


def test_a_kind_the_server_does_not_serve_is_a_cluster_error():
    api, _client, _delays = cluster()
    with pytest.raises(ClusterError, match=r"the API server does not serve Route \(route.openshift.io/v1\)"):
        api.get("route.openshift.io/v1", "Route", "x", "ns")


def test_throttling_and_server_errors_are_retried_a_bounded_number_of_times():
    api, client, delays = cluster(configmap("here"), retries=2)
    client.failures["get"] = [api_error(429, "slow down", {"Retry-After": "1"}), api_error(503, "unavailable")]
    assert api.get("v1", "ConfigMap", "here", "ns") is not None
    # Retry-After is honoured; without it the delay doubles from the base.
    assert delays == [1.0, 0.4]
    client.failures["get"] = [api_error(500, "boom")] * 3
    with pytest.raises(ClusterError, match="cannot read ConfigMap ns/here: boom") as error:
        api.get("v1", "ConfigMap", "here", "ns")
    assert error.value.status == 500
    assert client.requests.count(("get", "ConfigMap", "here")) == 1 + 2 + 3


def test_an_unreachable_server_is_tried_again_then_a_cluster_error():
    api, client, delays = cluster()
    client.failures["list"] = [OSError("Connection refused")] * 5
    with pytest.raises(ClusterError, match=r"cannot list ConfigMaps in ns: the API server is unreachable: Connection refused \(5 attempts\)"):
        api.list("v1", "ConfigMap", "ns")
    # The delay doubles up to its ceiling.
    assert delays == [0.2, 0.4, 0.8, 1.6]


def test_retry_after_is_honoured_however_long_within_the_budget():
    api, client, delays = cluster(configmap("here"))
    client.failures["get"] = [api_error(429, "slow down", {"Retry-After": "12"}), api_error(429, "slow down", {"Retry-After": "12"})]
    assert api.get("v1", "ConfigMap", "here", "ns") is not None
    assert delays == [12.0, 12.0]
    # A third wait of 12 s would pass the 30 s budget: the request fails at once instead of retrying early.
    client.failures["get"] = [api_error(429, "slow down", {"Retry-After": "12"})] * 3
    delays[:] = []
    with pytest.raises(ClusterError, match=r"cannot read ConfigMap ns/here within the retry budget of 30s \(the server asks to wait 12s more\): "
                                           r"slow down \(3 attempts\)") as error:
        api.get("v1", "ConfigMap", "here", "ns")
    assert error.value.status == 429 and delays == [12.0, 12.0]


def test_every_request_carries_the_client_timeout_and_a_timeout_is_tried_again():
    api, client, delays = cluster(configmap("here"))
    client.failures["get"] = [ReadTimeoutError(None, "/api/v1/namespaces/ns/configmaps/here", "Read timed out. (read timeout=75)")]
    assert api.get("v1", "ConfigMap", "here", "ns") is not None
    assert client.timeouts == [REQUEST_TIMEOUT, REQUEST_TIMEOUT] and delays == [0.2]
    client.failures["get"] = [ReadTimeoutError(None, "/here", "Read timed out.")] * 5
    with pytest.raises(ClusterError, match="cannot read ConfigMap ns/here: the API server did not answer in time: .*Read timed out"):
        api.get("v1", "ConfigMap", "here", "ns")


def test_urllib3_is_left_no_retries_of_its_own():
    class Pools(object):
        connection_pool_kw = {"maxsize": 4}

    client = FakeClient()
    client.client = type("ApiClient", (), {"rest_client": type("RESTClient", (), {"pool_manager": Pools()})()})()
    Cluster(client)
    assert Pools.connection_pool_kw == {"maxsize": 4, "retries": False}


class LosingClient(FakeClient):
    """Applies the first `lost` writes of a verb and then loses the answer (a 504, as after a request timeout)."""

    def __init__(self, objects=(), lost=None):
        super(LosingClient, self).__init__(objects)
        self.lost = dict(lost or {})

    def _lose(self, verb, response):
        if self.lost.get(verb):
            self.lost[verb] -= 1
            raise api_error(504, "Timeout: request did not complete within requested timeout - context deadline exceeded")
        return response

    def patch(self, *args, **kwargs):
        return self._lose("patch", super(LosingClient, self).patch(*args, **kwargs))

    def create(self, *args, **kwargs):
        return self._lose("create", super(LosingClient, self).create(*args, **kwargs))

    def delete(self, *args, **kwargs):
        return self._lose("delete", super(LosingClient, self).delete(*args, **kwargs))


def append(obj):
    """A change that is not idempotent: applied twice, it leaves two entries."""
    return dict(obj, data=dict(obj["data"], history=obj["data"]["history"] + "x"))


def test_a_patch_whose_answer_was_lost_is_not_made_twice():
    client = LosingClient([configmap("cm", {"history": ""})], lost={"patch": 1})
    api = Cluster(client, sleep=lambda seconds: None)
    _before, after = api.update("v1", "ConfigMap", "cm", "ns", append)
    # The retry conflicted with the first attempt, which had been applied: read back, it is not applied again.
    assert after["data"]["history"] == "x" and client.objects[("ConfigMap", "ns", "cm")]["data"]["history"] == "x"
    assert [verb for verb, _kind, _name in client.requests] == ["get", "patch", "patch", "get"]
    assert api.writes == 1 and len(api.operations) == 1


def test_a_conflict_after_a_lost_answer_is_still_someone_elses_change_when_the_patch_is_not_there():
    client = LosingClient([configmap("cm", {"history": ""})])
    client.failures["patch"] = [api_error(503, "unavailable"), api_error(409, "the object has been modified")]
    api = Cluster(client, sleep=lambda seconds: None)
    _before, after = api.update("v1", "ConfigMap", "cm", "ns", append)
    assert after["data"]["history"] == "x"
    assert [verb for verb, _kind, _name in client.requests] == ["get", "patch", "patch", "get", "get", "patch"]


def test_a_write_that_failed_and_is_not_there_when_read_back_is_known_not_applied():
    client = FakeClient([configmap("cm", {"history": ""})])
    client.failures["patch"] = [api_error(500, "etcdserver: leader changed")] * 5
    api = Cluster(client, sleep=lambda seconds: None)
    with pytest.raises(ClusterError, match=r"cannot update ConfigMap ns/cm: etcdserver: leader changed \(5 attempts\)") as error:
        api.update("v1", "ConfigMap", "cm", "ns", append)
    assert error.value.uncertain is False and api.writes == 0
    assert [verb for verb, _kind, _name in client.requests] == ["get"] + ["patch"] * 5 + ["get"]
    # Unless it cannot be read back either.
    client.failures["patch"] = [api_error(500, "etcdserver: leader changed")] * 5
    client.failures["get"] = [OSError("Connection refused")] * 5
    with pytest.raises(ClusterError) as error:
        api.update("v1", "ConfigMap", "cm", "ns", append, current=client.objects[("ConfigMap", "ns", "cm")])
    assert error.value.uncertain is True


def test_a_create_or_delete_whose_answer_was_lost_is_taken_for_done():
    client = LosingClient(lost={"create": 1, "delete": 1})
    api = Cluster(client, sleep=lambda seconds: None)
    created = api.create(configmap("cm", {"a": "1"}))
    assert created["metadata"]["resourceVersion"] and api.writes == 1
    assert [verb for verb, _kind, _name in client.requests] == ["create", "create", "get"]
    assert api.delete("v1", "ConfigMap", "cm", "ns") is True and api.writes == 2
    # Without a lost answer, an object that already exists is the caller's to handle.
    api.create(configmap("other"))
    with pytest.raises(ClusterError) as error:
        api.create(configmap("other"))
    assert error.value.status == 409 and not error.value.uncertain


def test_contains_says_whether_a_merge_patch_is_already_applied():
    obj = {"metadata": {"labels": {"a": "1"}}, "data": {"k": "v", "x": "y"}}
    assert contains(obj, {"data": {"k": "v"}, "metadata": {"labels": {"a": "1"}}})
    assert contains(obj, {"data": {"gone": None}})
    assert not contains(obj, {"data": {"x": None}})
    assert not contains(obj, {"data": {"k": "w"}})
    assert not contains(obj, {"spec": {"replicas": 1}})


class VersionClient(FakeClient):
    """Answers GET /version, failing first with the errors in `failures["version"]`."""

    def request(self, method, path, body=None, serialize=True, _request_timeout=None):
        self.requests.append((method, path, None))
        self._fail("version")
        return Response({"major": "1", "minor": "32", "gitVersion": "v1.32.4"})


def test_server_version_reads_the_version_document_and_retries_like_any_read():
    client = VersionClient()
    api = Cluster(client, sleep=lambda seconds: None)
    client.failures["version"] = [api_error(503, "unavailable")]
    assert api.server_version() == {"major": "1", "minor": "32", "gitVersion": "v1.32.4"}
    assert client.requests == [("get", "/version", None)] * 2
    client.failures["version"] = [api_error(403, "forbidden")]
    with pytest.raises(ClusterError, match="cannot read the server version: forbidden"):
        api.server_version()


def test_update_sends_the_difference_guarded_by_the_resource_version_it_read():
    api, client, _delays = cluster(configmap("cm", {"a": "1", "b": "2"}))
    before, after = api.update("v1", "ConfigMap", "cm", "ns", lambda obj: dict(obj, data={"a": "1", "b": "3"}))
    assert before["data"] == {"a": "1", "b": "2"} and after["data"] == {"a": "1", "b": "3"}
    assert api.writes == 1
    assert api.operations == [{"verb": "patch", "kind": "ConfigMap", "name": "cm", "namespace": "ns",
                               "body": {"data": {"b": "3"}, "metadata": {"resourceVersion": before["metadata"]["resourceVersion"]}}}]


def test_update_with_nothing_to_change_writes_nothing():
    api, client, _delays = cluster(configmap("cm", {"a": "1"}))
    before, after = api.update("v1", "ConfigMap", "cm", "ns", lambda obj: None)
    assert before is after and api.writes == 0 and api.operations == []
    api.update("v1", "ConfigMap", "cm", "ns", lambda obj: obj)
    assert api.writes == 0 and [verb for verb, _kind, _name in client.requests] == ["get", "get"]


def test_a_concurrent_change_is_read_again_and_kept():
    api, client, _delays = cluster(configmap("cm", {"a": "1"}))

    def someone_else(fake):
        stored = fake.objects[("ConfigMap", "ns", "cm")]
        fake.put(dict(stored, data=dict(stored["data"], other="theirs")))

    client.before_patch = someone_else
    _before, after = api.update("v1", "ConfigMap", "cm", "ns", lambda obj: dict(obj, data=dict(obj["data"], a="2")))
    assert after["data"] == {"a": "2", "other": "theirs"}
    assert api.writes == 1
    assert [verb for verb, _kind, _name in client.requests] == ["get", "patch", "get", "patch"]


def test_conflicts_give_up_after_the_bounded_attempts():
    api, client, _delays = cluster(configmap("cm", {"a": "1"}))
    client.failures["patch"] = [api_error(409, "the object has been modified")] * 3
    with pytest.raises(ClusterError, match="cannot update ConfigMap ns/cm: the object has been modified") as error:
        api.update("v1", "ConfigMap", "cm", "ns", lambda obj: dict(obj, data={"a": "2"}), attempts=3)
    assert error.value.status == 409 and api.writes == 0


def test_update_of_a_missing_object_names_it():
    api, _client, _delays = cluster()
    with pytest.raises(ClusterError, match="ConfigMap ns/cm does not exist"):
        api.update("v1", "ConfigMap", "cm", "ns", lambda obj: obj)


def test_check_mode_records_writes_and_makes_none():
    api, client, _delays = cluster(configmap("cm", {"a": "1"}), check_mode=True)
    _before, after = api.update("v1", "ConfigMap", "cm", "ns", lambda obj: dict(obj, data={"a": "2"}))
    created = api.create(configmap("new"))
    assert api.delete("v1", "ConfigMap", "cm", "ns") is True
    assert api.evict("pod-1", "ns") is True
    assert after["data"] == {"a": "2"} and created["metadata"]["name"] == "new"
    assert api.writes == 0
    assert [(op["verb"], op["kind"], op["name"]) for op in api.operations] == [
        ("patch", "ConfigMap", "cm"), ("create", "ConfigMap", "new"), ("delete", "ConfigMap", "cm"), ("create", "Eviction", "pod-1")]
    assert [verb for verb, _kind, _name in client.requests] == ["get"]
    assert client.objects[("ConfigMap", "ns", "cm")]["data"] == {"a": "1"}


def test_create_and_delete_count_their_writes():
    api, client, _delays = cluster()
    api.create(configmap("cm"))
    assert ("ConfigMap", "ns", "cm") in client.objects
    assert api.delete("v1", "ConfigMap", "cm", "ns") is True
    assert api.delete("v1", "ConfigMap", "cm", "ns") is False
    assert api.writes == 2


def test_an_eviction_a_disruption_budget_forbids_is_not_retried():
    api, client, delays = cluster()
    client.failures["evict"] = [api_error(429, "Cannot evict pod as it would violate the pod's disruption budget.")]
    assert api.evict("pod-1", "ns") is False
    assert delays == [] and api.writes == 0
    assert api.evict("pod-1", "ns") is True and api.writes == 1


def throttled():
    """What the API server's priority and fairness filter answers: 429, Retry-After, a plain-text body."""
    error = ApiException(status=429, reason="Too Many Requests")
    error.body, error.headers = "Too many requests, please try again later.\n", {"Retry-After": "2"}
    return error


def test_an_eviction_throttled_or_failed_by_the_server_is_tried_again():
    api, client, delays = cluster()
    client.failures["evict"] = [throttled(), api_error(500, "etcdserver: leader changed")]
    assert api.evict("pod-1", "ns") is True
    assert delays == [2.0, 0.4] and api.writes == 1
    # Throttled to the end, it is an error, not a budget's refusal.
    client.failures["evict"] = [throttled()] * 5
    with pytest.raises(ClusterError, match=r"cannot evict Pod ns/pod-1: 429 Too Many Requests \(5 attempts\)"):
        api.evict("pod-1", "ns")


def event(kind, name, version, **fields):
    obj = {"metadata": {"name": name, "resourceVersion": version}}
    obj.update(fields)
    return {"type": kind, "object": obj, "raw_object": obj}


def test_wait_returns_at_once_when_the_list_already_satisfies_the_condition():
    watch = ScriptedWatch([])
    api, client, _delays = cluster(configmap("cm", {"ready": "yes"}), watcher=watch)
    found = api.wait("v1", "ConfigMap", "ns", lambda objects: objects.get("cm", {}).get("data", {}).get("ready") == "yes", 5, "cm")
    assert found is True and watch.calls == []


def test_wait_follows_the_watch_from_the_list_and_resumes_where_a_stream_ended():
    watch = ScriptedWatch([
        [event("ADDED", "a", "201"), event("BOOKMARK", "", "205")],
        [event("MODIFIED", "a", "206", data={"n": "2"}), event("ADDED", "b", "207")],
    ])
    api, client, _delays = cluster(watcher=watch)
    names = api.wait("v1", "ConfigMap", "ns", lambda objects: sorted(objects) if len(objects) == 2 else None, 5, "two")
    assert names == ["a", "b"]
    assert [call["resource_version"] for call in watch.calls] == ["100", "205"]
    assert watch.calls[0]["allow_watch_bookmarks"] is True and watch.stopped


def test_wait_lists_again_when_its_version_expired():
    watch = ScriptedWatch([ApiException(status=410, reason="Expired: too old resource version"), [event("DELETED", "cm", "300")]])
    api, client, _delays = cluster(configmap("cm"), watcher=watch)
    assert api.wait("v1", "ConfigMap", "ns", lambda objects: "cm" not in objects or None, 5, "cm to go")
    assert [verb for verb, _kind, _name in client.requests] == ["list", "list"]


def test_wait_times_out_with_what_it_waited_for():
    now = [0.0]
    watch = ScriptedWatch([[event("ADDED", "a", "201")]])

    def clock():
        now[0] += 3
        return now[0]

    api = Cluster(FakeClient(), watcher=watch, clock=clock)
    with pytest.raises(ClusterError, match="timed out after 5s waiting for cm to appear") as error:
        api.wait("v1", "ConfigMap", "ns", lambda objects: "cm" in objects, 5, "cm to appear")
    assert error.value.status == 504


def test_a_watch_cut_mid_stream_is_followed_again_from_the_last_version_it_delivered():
    watch = ScriptedWatch([
        [event("ADDED", "a", "201"), ProtocolError("Response ended prematurely")],
        [ProtocolError("Response ended prematurely")],
        [event("ADDED", "b", "207")],
    ])
    api, client, delays = cluster(watcher=watch)
    names = api.wait("v1", "ConfigMap", "ns", lambda objects: sorted(objects) if len(objects) == 2 else None, 5, "two")
    assert names == ["a", "b"]
    assert [call["resource_version"] for call in watch.calls] == ["100", "201", "201"]
    # At once after a stream that brought something; after one that brought nothing, a delay.
    assert delays == [0.2]
    assert [verb for verb, _kind, _name in client.requests] == ["list"]
    assert watch.calls[0]["_request_timeout"] == (REQUEST_TIMEOUT[0], 5 + REQUEST_TIMEOUT[0])


def test_a_throttled_or_failing_watch_is_tried_again_after_its_retry_after():
    failing = api_error(500, "Internal error occurred: etcd cluster is unavailable")
    watch = ScriptedWatch([api_error(429, "slow down", {"Retry-After": "3"}), failing, [event("ADDED", "a", "201")]])
    api, _client, delays = cluster(watcher=watch)
    assert api.wait("v1", "ConfigMap", "ns", lambda objects: "a" in objects, 60, "a")
    assert delays == [3.0, 0.4]


def test_a_watch_that_keeps_failing_times_out_naming_the_failure_and_one_that_is_refused_fails_at_once():
    now = [0.0]

    def clock():
        return now[0]

    def sleep(seconds):
        now[0] += seconds

    watch = ScriptedWatch([[ProtocolError("Connection broken: IncompleteRead")]] * 10)
    api = Cluster(FakeClient(), watcher=watch, clock=clock, sleep=sleep)
    with pytest.raises(ClusterError, match="timed out after 3s waiting for cm to appear; cannot watch ConfigMaps in ns: "
                                           "the API server is unreachable: Connection broken") as error:
        api.wait("v1", "ConfigMap", "ns", lambda objects: "cm" in objects, 3, "cm to appear")
    # Delays of 0.2, 0.4, 0.8 and 1.6 s fill the 3 s.
    assert error.value.status == 504 and len(watch.calls) == 4

    watch = ScriptedWatch([api_error(403, 'configmaps is forbidden: User "x" cannot watch resource "configmaps"')])
    api = Cluster(FakeClient(), watcher=watch, sleep=sleep)
    with pytest.raises(ClusterError, match="cannot watch ConfigMaps in ns: configmaps is forbidden") as error:
        api.wait("v1", "ConfigMap", "ns", lambda objects: "cm" in objects, 3, "cm to appear")
    assert error.value.status == 403 and len(watch.calls) == 1


def test_a_connection_never_made_leaves_no_doubt_about_a_write():
    client = FakeClient([configmap("cm", {"history": ""})])
    client.failures["patch"] = [NewConnectionError(None, "Failed to establish a new connection: [Errno 111] Connection refused"),
                                api_error(409, "the object has been modified")]
    api = Cluster(client, sleep=lambda seconds: None)
    api.update("v1", "ConfigMap", "cm", "ns", append)
    # The conflict is someone else's change: read again and re-applied, with no check for a write of its own.
    assert [verb for verb, _kind, _name in client.requests] == ["get", "patch", "patch", "get", "patch"]
