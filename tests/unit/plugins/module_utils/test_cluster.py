# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible_collections.cxpe.rollout.plugins.module_utils.cluster import (
    Cluster,
    ClusterError,
    describe,
    merge_patch,
    strip_server_fields,
)
from cluster_support import FakeClient, Response, ScriptedWatch, api_error, configmap
from kubernetes.client.rest import ApiException


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


def test_an_unreachable_server_is_a_cluster_error():
    api, client, _delays = cluster()
    client.failures["list"] = [OSError("Connection refused")]
    with pytest.raises(ClusterError, match="cannot list ConfigMaps in ns: the API server is unreachable: Connection refused"):
        api.list("v1", "ConfigMap", "ns")


class VersionClient(FakeClient):
    """Answers GET /version, failing first with the errors in `failures["version"]`."""

    def request(self, method, path, body=None, serialize=True):
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
