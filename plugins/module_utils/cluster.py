# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place where the collection's modules talk to a Kubernetes API server.

`Cluster` wraps the dynamic client that kubernetes.core's `get_api_client`
builds (so every way kubernetes.core reaches a cluster works here) and gives
the rest of the collection plain dicts:

- reads: `get` (None when absent), `list` and `server_version`;
- guarded writes: `update` reads an object, applies a pure `mutate(obj)` and
  sends the difference as a merge patch that carries the resourceVersion it
  was computed from, so a concurrent change is a 409 Conflict, never
  overwritten; on a conflict it reads again and re-applies `mutate`, a
  bounded number of times. `create`, `delete` and `evict` complete the set;
- `wait`: lists once, then follows a watch from the list's resourceVersion,
  resuming from the last resourceVersion seen when the server ends the
  stream and listing again when that version has expired (410), until a
  condition over the watched objects holds or a deadline passes. No polling.

It counts the writes it makes (`writes`) and records each one
(`operations`). In check mode it makes none: `update` and `create` return what
would be written and record it.

Every API failure becomes a `ClusterError` naming the object; 429 Too Many
Requests (after its Retry-After) and 5xx answers are retried here, a bounded
number of times, and nowhere else.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import time

try:
    from kubernetes.dynamic.exceptions import DynamicApiError, ResourceNotFoundError
    from kubernetes.client.rest import ApiException
    from kubernetes import watch as k8s_watch
    from urllib3.exceptions import HTTPError
except ImportError:
    # The modules report the missing kubernetes library (AnsibleK8SModule);
    # these names only need to exist for the except clauses and unit tests.
    class DynamicApiError(Exception):
        status = reason = body = headers = None

    class ResourceNotFoundError(Exception):
        pass

    ApiException = HTTPError = DynamicApiError
    k8s_watch = None

# How often a throttled (429) or failed (5xx) request is tried again.
RETRIES = 3
RETRY_DELAY_SECONDS = 0.2
RETRY_DELAY_MAX_SECONDS = 5.0
# How often update() re-reads and re-applies its change after a 409 Conflict.
UPDATE_ATTEMPTS = 5
MERGE_PATCH = "application/merge-patch+json"
# Metadata that a read-modify-write never sends back.
SERVER_METADATA = ("resourceVersion", "managedFields", "generation", "uid", "creationTimestamp", "selfLink")


class ClusterError(Exception):
    """A Kubernetes API request failed (or a wait ran out of time); the message names the object."""

    def __init__(self, message, status=None, reason=None):
        super(ClusterError, self).__init__(message)
        self.status = status
        self.reason = reason


def describe(kind, name=None, namespace=None):
    """'Service gws/gws-chat', 'ConfigMaps in gws': how messages name objects."""
    if name is None:
        return "%ss%s" % (kind, " in %s" % namespace if namespace else "")
    return "%s %s" % (kind, "%s/%s" % (namespace, name) if namespace else name)


def _api_message(error):
    """The Status message of an API error body, else its HTTP reason."""
    try:
        message = json.loads(error.body).get("message")
    except (TypeError, ValueError, AttributeError):
        message = None
    return message or "%s %s" % (error.status, error.reason)


def merge_patch(before, after):
    """The JSON merge patch (RFC 7386) that turns `before` into `after`; {} when they are equal."""
    patch = {}
    for key in set(before) | set(after):
        if key not in after:
            patch[key] = None
        elif key not in before:
            patch[key] = after[key]
        elif isinstance(before[key], dict) and isinstance(after[key], dict):
            nested = merge_patch(before[key], after[key])
            if nested:
                patch[key] = nested
        elif before[key] != after[key]:
            patch[key] = after[key]
    return patch


def strip_server_fields(obj):
    """A copy of an object without status and the metadata the server owns: what a diff should show."""
    shown = copy.deepcopy(obj)
    shown.pop("status", None)
    metadata = shown.get("metadata") or {}
    for field in SERVER_METADATA:
        metadata.pop(field, None)
    annotations = metadata.get("annotations") or {}
    annotations.pop("kubectl.kubernetes.io/last-applied-configuration", None)
    if "annotations" in metadata and not annotations:
        del metadata["annotations"]
    return shown


class Cluster(object):
    """Reads, guarded writes and watches over a kubernetes dynamic client (see the module docstring)."""

    def __init__(self, client, check_mode=False, retries=RETRIES, sleep=time.sleep, clock=time.monotonic,
                 watcher=None):
        self.client = client
        self.check_mode = check_mode
        self.retries = retries
        self.writes = 0
        self.operations = []
        self._sleep = sleep
        self._clock = clock
        self._watcher = watcher or k8s_watch.Watch
        self._resources = {}

    # ------------------------------------------------------------ plumbing --

    def resource(self, api_version, kind):
        key = (api_version, kind)
        if key not in self._resources:
            try:
                self._resources[key] = self.client.resources.get(api_version=api_version, kind=kind)
            except ResourceNotFoundError:
                raise ClusterError("the API server does not serve %s (%s)" % (kind, api_version))
            except (DynamicApiError, HTTPError, OSError) as error:
                raise self._error(error, "discover %s (%s)" % (kind, api_version))
        return self._resources[key]

    def _error(self, error, doing):
        if isinstance(error, (DynamicApiError, ApiException)) and getattr(error, "status", None):
            return ClusterError("cannot %s: %s" % (doing, _api_message(error)), error.status, error.reason)
        return ClusterError("cannot %s: the API server is unreachable: %s" % (doing, error))

    def _retry_delay(self, error, attempt):
        headers = getattr(error, "headers", None) or {}
        try:
            delay = float(headers.get("Retry-After"))
        except (TypeError, ValueError):
            delay = RETRY_DELAY_SECONDS * (2 ** attempt)
        return min(max(delay, 0.0), RETRY_DELAY_MAX_SECONDS)

    def _call(self, doing, request, retry=True):
        """Run `request()` (a dynamic client call returning a raw response) and decode its JSON body."""
        for attempt in range(self.retries + 1):
            try:
                response = request()
                return json.loads(response.data) if response.data else {}
            except (DynamicApiError, ApiException) as error:
                status = getattr(error, "status", None) or 0
                if retry and (status == 429 or status >= 500) and attempt < self.retries:
                    self._sleep(self._retry_delay(error, attempt))
                    continue
                raise self._error(error, doing)
            except (HTTPError, OSError) as error:
                raise self._error(error, doing)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _record(self, verb, kind, name, namespace, body):
        self.operations.append({"verb": verb, "kind": kind, "name": name, "namespace": namespace, "body": body})

    # --------------------------------------------------------------- reads --

    def get(self, api_version, kind, name, namespace=None):
        """The object as a dict, or None when it does not exist."""
        resource = self.resource(api_version, kind)
        try:
            return self._call("read %s" % describe(kind, name, namespace),
                              lambda: self.client.get(resource, name=name, namespace=namespace, serialize=False))
        except ClusterError as error:
            if error.status == 404:
                return None
            raise

    def list(self, api_version, kind, namespace=None, label_selector=None, field_selector=None):
        """(items, resourceVersion of the list)."""
        resource = self.resource(api_version, kind)
        body = self._call("list %s" % describe(kind, namespace=namespace), lambda: self.client.get(
            resource, namespace=namespace, label_selector=label_selector, field_selector=field_selector,
            serialize=False))
        return body.get("items") or [], (body.get("metadata") or {}).get("resourceVersion")

    def server_version(self):
        """The server's /version document: major, minor, gitVersion, ..."""
        return self._call("read the server version", lambda: self.client.request("get", "/version", serialize=False))

    # -------------------------------------------------------------- writes --

    def create(self, body):
        """Create an object; in check mode, record it and return the body unchanged."""
        kind, metadata = body["kind"], body["metadata"]
        created = body
        if not self.check_mode:
            resource = self.resource(body["apiVersion"], kind)
            created = self._call("create %s" % describe(kind, metadata["name"], metadata.get("namespace")),
                                 lambda: self.client.create(resource, body=body, namespace=metadata.get("namespace"),
                                                            serialize=False))
            self.writes += 1
        self._record("create", kind, metadata["name"], metadata.get("namespace"), body)
        return created

    def _patch(self, current, patch):
        metadata = current["metadata"]
        kind, name, namespace = current["kind"], metadata["name"], metadata.get("namespace")
        # The resourceVersion makes the patch conditional: the server answers
        # 409 Conflict when the object changed since it was read.
        body = dict(patch, metadata=dict(patch.get("metadata") or {}, resourceVersion=metadata["resourceVersion"]))
        resource = self.resource(current["apiVersion"], kind)
        patched = self._call("update %s" % describe(kind, name, namespace), lambda: self.client.patch(
            resource, body=body, name=name, namespace=namespace, content_type=MERGE_PATCH, serialize=False))
        self.writes += 1
        self._record("patch", kind, name, namespace, body)
        return patched

    def update(self, api_version, kind, name, namespace, mutate, current=None, attempts=UPDATE_ATTEMPTS):
        """Read-modify-write: (before, after) of applying `mutate` to the object.

        `mutate(obj)` gets a copy of the current object and returns the object
        it should become, or None when it needs no change (then nothing is
        written and after is before). `current` saves the first read when the
        caller already has the object. A missing object is a ClusterError.
        In check mode the change is recorded, not written.
        """
        for attempt in range(attempts):
            if current is None:
                current = self.get(api_version, kind, name, namespace)
                if current is None:
                    raise ClusterError("%s does not exist" % describe(kind, name, namespace), 404, "NotFound")
            wanted = mutate(copy.deepcopy(current))
            patch = merge_patch(current, wanted) if wanted is not None else {}
            if not patch:
                return current, current
            if self.check_mode:
                self._record("patch", kind, name, namespace, patch)
                return current, wanted
            try:
                return current, self._patch(current, patch)
            except ClusterError as error:
                if error.status != 409 or attempt == attempts - 1:
                    raise
                # Someone else wrote in between: start again from what they wrote.
                current = None
        raise AssertionError("unreachable: the last attempt returns or raises")

    def delete(self, api_version, kind, name, namespace=None, grace_period_seconds=None, propagation_policy=None,
               resource_version=None):
        """Delete an object; False when it was already gone. With `resource_version`, only that version of it
        (a precondition: a 409 Conflict when it changed)."""
        if self.check_mode:
            self._record("delete", kind, name, namespace, None)
            return True
        resource = self.resource(api_version, kind)
        options = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if grace_period_seconds is not None:
            options["gracePeriodSeconds"] = grace_period_seconds
        if propagation_policy:
            options["propagationPolicy"] = propagation_policy
        if resource_version:
            options["preconditions"] = {"resourceVersion": resource_version}
        try:
            self._call("delete %s" % describe(kind, name, namespace), lambda: self.client.delete(
                resource, name=name, namespace=namespace, body=options, serialize=False))
        except ClusterError as error:
            if error.status == 404:
                return False
            raise
        self.writes += 1
        self._record("delete", kind, name, namespace, None)
        return True

    def evict(self, name, namespace, grace_period_seconds=None):
        """Evict a pod through the Eviction API: True when evicted, False when a
        PodDisruptionBudget forbids it now (429; the caller decides when to try
        again, so this 429 is not retried here)."""
        if self.check_mode:
            self._record("create", "Eviction", name, namespace, None)
            return True
        body = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name, "namespace": namespace}}
        if grace_period_seconds is not None:
            body["deleteOptions"] = {"gracePeriodSeconds": grace_period_seconds}
        path = "/api/v1/namespaces/%s/pods/%s/eviction" % (namespace, name)
        try:
            self._call("evict %s" % describe("Pod", name, namespace),
                       lambda: self.client.request("post", path, body=body, serialize=False), retry=False)
        except ClusterError as error:
            if error.status == 429:
                return False
            raise
        self.writes += 1
        self._record("create", "Eviction", name, namespace, None)
        return True

    # --------------------------------------------------------------- waits --

    def wait(self, api_version, kind, namespace, condition, timeout, what, label_selector=None, field_selector=None):
        """Follow the objects a list selects until `condition(objects)` returns a truthy value, and return it.

        `objects` maps each object's name to its latest state. The list gives
        the starting state and resourceVersion; a watch from there brings
        every change. `timeout` bounds the whole wait in seconds; running out
        is a ClusterError (status 504) saying `what` was awaited.
        """
        resource = self.resource(api_version, kind)
        deadline = self._clock() + timeout
        objects, version = self._listed(api_version, kind, namespace, label_selector, field_selector)
        while True:
            outcome = condition(objects)
            if outcome:
                return outcome
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise ClusterError("timed out after %gs waiting for %s" % (timeout, what), 504, "Timeout")
            try:
                version, outcome = self._follow(resource, namespace, label_selector, field_selector, version,
                                                remaining, objects, condition)
            except (DynamicApiError, ApiException) as error:
                if getattr(error, "status", None) != 410:
                    raise self._error(error, "watch %s" % describe(kind, namespace=namespace))
                # The version expired from the server's history: start again from a list.
                objects, version = self._listed(api_version, kind, namespace, label_selector, field_selector)
                continue
            except (HTTPError, OSError) as error:
                raise self._error(error, "watch %s" % describe(kind, namespace=namespace))
            if outcome:
                return outcome

    def _listed(self, api_version, kind, namespace, label_selector, field_selector):
        items, version = self.list(api_version, kind, namespace, label_selector, field_selector)
        return dict((item["metadata"]["name"], item) for item in items), version

    def _follow(self, resource, namespace, label_selector, field_selector, version, remaining, objects, condition):
        """One watch stream: apply its events to `objects` until `condition` holds or the stream ends.

        Returns (last resourceVersion seen, outcome or None)."""
        watcher = self._watcher()
        events = watcher.stream(
            resource.get, namespace=namespace, label_selector=label_selector, field_selector=field_selector,
            resource_version=version, timeout_seconds=max(1, int(remaining + 0.999)), allow_watch_bookmarks=True,
            serialize=False)
        for event in events:
            obj = event["object"]
            version = (obj.get("metadata") or {}).get("resourceVersion") or version
            if event["type"] == "BOOKMARK":
                continue
            if event["type"] == "DELETED":
                objects.pop(obj["metadata"]["name"], None)
            else:
                objects[obj["metadata"]["name"]] = obj
            outcome = condition(objects)
            if outcome:
                watcher.stop()
                return version, outcome
        return version, None
