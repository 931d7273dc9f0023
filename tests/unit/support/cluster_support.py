# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An in-memory stand-in for the kubernetes dynamic client, enough for cluster.Cluster: objects by
(kind, namespace, name) with resourceVersions, merge patches guarded by them, scripted failures,
and scripted watch streams."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json

from kubernetes.client.rest import ApiException
from kubernetes.dynamic.exceptions import api_exception


def api_error(status, message="", headers=None):
    error = ApiException(status=status, reason={404: "Not Found", 409: "Conflict", 429: "Too Many Requests"}.get(status, "Error"))
    error.body = json.dumps({"kind": "Status", "message": message, "code": status})
    error.headers = headers or {}
    return api_exception(error)


class Response(object):
    def __init__(self, body):
        self.data = json.dumps(body).encode()


class Resource(object):
    def __init__(self, api_version, kind):
        self.api_version, self.kind = api_version, kind

    def get(self, **kwargs):
        raise AssertionError("watch streams are scripted")


class Resources(object):
    def __init__(self, served):
        self.served = served

    def get(self, api_version, kind):
        from kubernetes.dynamic.exceptions import ResourceNotFoundError
        if (api_version, kind) not in self.served:
            raise ResourceNotFoundError("no %s" % kind)
        return Resource(api_version, kind)


def merge(target, patch):
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


class FakeClient(object):
    """Requests are recorded in `requests` as (verb, kind, name); `failures` maps a verb to errors raised in turn."""

    def __init__(self, objects=(), served=None):
        self.version = 100
        self.objects = {}
        self.requests = []
        self.failures = {}
        self.timeouts = []
        self.before_patch = None
        self.resources = Resources(served or set([("v1", "ConfigMap"), ("v1", "Service"), ("v1", "Pod"),
                                                  ("apps/v1", "Deployment"), ("discovery.k8s.io/v1", "EndpointSlice")]))
        for obj in objects:
            self.put(obj)

    def put(self, obj):
        self.version += 1
        obj = copy.deepcopy(obj)
        obj["metadata"]["resourceVersion"] = str(self.version)
        self.objects[(obj["kind"], obj["metadata"].get("namespace"), obj["metadata"]["name"])] = obj
        return obj

    def _fail(self, verb):
        pending = self.failures.get(verb) or []
        if pending:
            raise pending.pop(0)

    def get(self, resource, name=None, namespace=None, label_selector=None, field_selector=None, serialize=True,
            _request_timeout=None):
        self.timeouts.append(_request_timeout)
        self.requests.append(("get" if name else "list", resource.kind, name))
        self._fail("get" if name else "list")
        if name:
            obj = self.objects.get((resource.kind, namespace, name))
            if obj is None:
                raise api_error(404, "%s %r not found" % (resource.kind, name))
            return Response(obj)
        items = [obj for (kind, ns, _name), obj in sorted(self.objects.items()) if kind == resource.kind and ns == namespace]
        return Response({"items": items, "metadata": {"resourceVersion": str(self.version)}})

    def create(self, resource, body=None, namespace=None, serialize=True, _request_timeout=None):
        self.requests.append(("create", resource.kind, body["metadata"]["name"]))
        self._fail("create")
        if (resource.kind, namespace, body["metadata"]["name"]) in self.objects:
            raise api_error(409, "already exists")
        return Response(self.put(body))

    def patch(self, resource, body=None, name=None, namespace=None, content_type=None, serialize=True, _request_timeout=None):
        self.requests.append(("patch", resource.kind, name))
        assert content_type == "application/merge-patch+json"
        if self.before_patch:
            hook, self.before_patch = self.before_patch, None
            hook(self)
        self._fail("patch")
        current = self.objects[(resource.kind, namespace, name)]
        if body["metadata"]["resourceVersion"] != current["metadata"]["resourceVersion"]:
            raise api_error(409, "the object has been modified; please apply your changes to the latest version and try again")
        patched = copy.deepcopy(current)
        merge(patched, dict(body, metadata=dict((k, v) for k, v in body["metadata"].items() if k != "resourceVersion")))
        return Response(self.put(patched))

    def delete(self, resource, name=None, namespace=None, body=None, serialize=True, _request_timeout=None):
        self.requests.append(("delete", resource.kind, name))
        self._fail("delete")
        if self.objects.pop((resource.kind, namespace, name), None) is None:
            raise api_error(404, "not found")
        return Response({"kind": "Status", "status": "Success"})

    def request(self, method, path, body=None, serialize=True, _request_timeout=None):
        self.requests.append((method, "Eviction", body["metadata"]["name"]))
        self._fail("evict")
        return Response({"kind": "Status", "status": "Success"})


class ScriptedWatch(object):
    """Watch.stream stand-in: each call plays the next list of events (or raises the next exception); an exception
    in a list breaks that stream there, as a dropped connection does."""

    def __init__(self, streams):
        self.streams = list(streams)
        self.calls = []
        self.stopped = False

    def __call__(self):
        return self

    def stream(self, func, **kwargs):
        self.calls.append(kwargs)
        events = self.streams.pop(0)
        if isinstance(events, Exception):
            raise events
        for event in events:
            if isinstance(event, Exception):
                raise event
            yield event
            if self.stopped:
                return

    def stop(self):
        self.stopped = True


def configmap(name, data=None, namespace="ns", labels=None):
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace, "labels": dict(labels or {})}, "data": dict(data or {})}
