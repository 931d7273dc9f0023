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

Every API failure becomes a `ClusterError` naming the object. Transient
failures are retried here and nowhere else (urllib3's own retries are turned
off, so this is the whole budget): 429 Too Many Requests no sooner than its
Retry-After, 5xx answers, timeouts and dropped connections after a delay that
doubles, each request at most RETRIES more times and never waiting more than
RETRY_BUDGET_SECONDS in all. Every request carries a client timeout
(REQUEST_TIMEOUT), so a connection the server stopped answering fails and is
tried again instead of hanging. A write whose answer was lost may have been
applied: when it then fails (its retry conflicting with it, or failing for
good), the object is read back, and a write already there is not made again.
A watch the server cuts, throttles or fails is re-established from the last
resourceVersion it delivered, until the wait's own deadline.
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
    from urllib3.exceptions import ConnectTimeoutError, HTTPError, MaxRetryError, ProtocolError
    from urllib3.exceptions import TimeoutError as TransportTimeoutError
except ImportError:
    # The modules report the missing kubernetes library (AnsibleK8SModule);
    # these names only need to exist for the except clauses and unit tests.
    class DynamicApiError(Exception):
        status = reason = body = headers = None

    class ResourceNotFoundError(Exception):
        pass

    ApiException = HTTPError = ConnectTimeoutError = MaxRetryError = ProtocolError = TransportTimeoutError = DynamicApiError
    k8s_watch = None

# How often a request that failed transiently (429, 5xx, a timeout, a dropped connection) is tried again.
RETRIES = 4
# The delay before a retry without Retry-After: doubling from the first, up to the largest.
RETRY_DELAY_SECONDS = 0.2
RETRY_DELAY_MAX_SECONDS = 2.0
# The most one request waits between its attempts in all. A Retry-After beyond what is left fails the request
# at once rather than retrying it sooner than the server asked.
RETRY_BUDGET_SECONDS = 30.0
# (connect, read) seconds: the read timeout is longer than the API server's own 60 s request deadline, so a
# server that is only slow answers 504 itself first; the client timeout is for a connection nobody answers.
REQUEST_TIMEOUT = (10.0, 75.0)
# How often update() re-reads and re-applies its change after a 409 Conflict.
UPDATE_ATTEMPTS = 5
MERGE_PATCH = "application/merge-patch+json"
# Metadata that a read-modify-write never sends back.
SERVER_METADATA = ("resourceVersion", "managedFields", "generation", "uid", "creationTimestamp", "selfLink")


# Transport failures worth another attempt: the server may answer the next one.
TRANSIENT_TRANSPORT_ERRORS = (ProtocolError, TransportTimeoutError, MaxRetryError, OSError)


class ClusterError(Exception):
    """A Kubernetes API request failed (or a wait ran out of time); the message names the object.

    `uncertain`: an earlier attempt of the request failed in a way that leaves open whether the server
    applied it (a 5xx answer, a timeout, a connection lost after the request was sent)."""

    def __init__(self, message, status=None, reason=None, uncertain=False):
        super(ClusterError, self).__init__(message)
        self.status = status
        self.reason = reason
        self.uncertain = uncertain


def describe(kind, name=None, namespace=None):
    """'Service gws/gws-chat', 'ConfigMaps in gws': how messages name objects."""
    if name is None:
        return "%ss%s" % (kind, " in %s" % namespace if namespace else "")
    return "%s %s" % (kind, "%s/%s" % (namespace, name) if namespace else name)


def _status_of(error):
    """The Status document an API error's body holds, or {} (a throttling 429's body is plain text)."""
    try:
        status = json.loads(error.body)
    except (TypeError, ValueError):
        return {}
    return status if isinstance(status, dict) else {}


def _api_message(error):
    """The Status message of an API error body, else its HTTP reason."""
    return _status_of(error).get("message") or "%s %s" % (error.status, error.reason)


def is_transient(error):
    """Whether another attempt of a request that failed with `error` may succeed."""
    if isinstance(error, (DynamicApiError, ApiException)):
        status = getattr(error, "status", None) or 0
        return status == 429 or status >= 500
    return isinstance(error, TRANSIENT_TRANSPORT_ERRORS)


def is_budget_refusal(error):
    """Whether a 429 is an eviction that a PodDisruptionBudget forbids (a Status naming the budget), not throttling."""
    if getattr(error, "status", None) != 429:
        return False
    status = _status_of(error)
    causes = (status.get("details") or {}).get("causes") or []
    return any(cause.get("reason") == "DisruptionBudget" for cause in causes) or "disruption budget" in (status.get("message") or "")


def _retry_after(error):
    """The seconds a Retry-After header asks to wait, or None."""
    headers = getattr(error, "headers", None) or {}
    try:
        return max(float(headers.get("Retry-After")), 0.0)
    except (TypeError, ValueError):
        return None


def retry_delay(error, attempt):
    """How long to wait before attempt `attempt` + 2 of a request: its Retry-After, else the doubling delay."""
    asked = _retry_after(error)
    if asked is not None:
        return asked
    return min(RETRY_DELAY_SECONDS * (2 ** attempt), RETRY_DELAY_MAX_SECONDS)


def _may_have_been_applied(error):
    """Whether a failed attempt may still have reached the server and been applied."""
    if isinstance(error, (DynamicApiError, ApiException)):
        return (getattr(error, "status", None) or 0) >= 500
    # A connection that was never made carried no request.
    return not isinstance(error, ConnectTimeoutError)


def contains(obj, patch):
    """Whether applying a merge patch to `obj` would change nothing: every field it sets has that value, every
    field it removes is absent."""
    for key, value in patch.items():
        if value is None:
            if key in obj:
                return False
        elif isinstance(value, dict):
            if not isinstance(obj.get(key), dict) or not contains(obj[key], value):
                return False
        elif obj.get(key) != value:
            return False
    return True


def _leave_retries_to_cluster(client):
    """Turn off urllib3's own retries on the dynamic client's connection pools: it would otherwise retry reads on
    timeouts and 429s by itself, multiplying Cluster's budget out of sight."""
    pool_manager = getattr(getattr(getattr(client, "client", None), "rest_client", None), "pool_manager", None)
    if pool_manager is not None:
        pool_manager.connection_pool_kw["retries"] = False


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
                 watcher=None, request_timeout=REQUEST_TIMEOUT, retry_budget=RETRY_BUDGET_SECONDS):
        self.client = client
        self.check_mode = check_mode
        self.retries = retries
        self.request_timeout = request_timeout
        self.retry_budget = retry_budget
        self.writes = 0
        self.operations = []
        self._sleep = sleep
        self._clock = clock
        self._watcher = watcher or k8s_watch.Watch
        self._resources = {}
        _leave_retries_to_cluster(client)

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

    def _error(self, error, doing, attempts=1, uncertain=False):
        tried = " (%d attempts)" % attempts if attempts > 1 else ""
        if isinstance(error, (DynamicApiError, ApiException)) and getattr(error, "status", None):
            return ClusterError("cannot %s: %s%s" % (doing, _api_message(error), tried), error.status, error.reason, uncertain)
        if isinstance(error, TransportTimeoutError):
            return ClusterError("cannot %s: the API server did not answer in time: %s%s" % (doing, error, tried), uncertain=uncertain)
        return ClusterError("cannot %s: the API server is unreachable: %s%s" % (doing, error, tried), uncertain=uncertain)

    def _call(self, doing, request, retryable=is_transient):
        """Run `request(timeout)` (a dynamic client call returning a raw response, `timeout` its client timeout)
        and decode its JSON body, trying again while `retryable(error)` says a failure is transient."""
        waited, uncertain = 0.0, False
        for attempt in range(self.retries + 1):
            try:
                response = request(self.request_timeout)
                return json.loads(response.data) if response.data else {}
            except (DynamicApiError, ApiException, HTTPError, OSError) as error:
                if not retryable(error) or attempt == self.retries:
                    raise self._error(error, doing, attempt + 1, uncertain)
                delay = retry_delay(error, attempt)
                if waited + delay > self.retry_budget:
                    raise self._error(error, "%s within the retry budget of %gs (the server asks to wait %gs more)"
                                      % (doing, self.retry_budget, delay), attempt + 1, uncertain)
                uncertain = uncertain or _may_have_been_applied(error)
                self._sleep(delay)
                waited += delay
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _record(self, verb, kind, name, namespace, body):
        self.operations.append({"verb": verb, "kind": kind, "name": name, "namespace": namespace, "body": body})

    # --------------------------------------------------------------- reads --

    def get(self, api_version, kind, name, namespace=None):
        """The object as a dict, or None when it does not exist."""
        resource = self.resource(api_version, kind)
        try:
            return self._call("read %s" % describe(kind, name, namespace), lambda timeout: self.client.get(
                resource, name=name, namespace=namespace, serialize=False, _request_timeout=timeout))
        except ClusterError as error:
            if error.status == 404:
                return None
            raise

    def list(self, api_version, kind, namespace=None, label_selector=None, field_selector=None):
        """(items, resourceVersion of the list)."""
        resource = self.resource(api_version, kind)
        body = self._call("list %s" % describe(kind, namespace=namespace), lambda timeout: self.client.get(
            resource, namespace=namespace, label_selector=label_selector, field_selector=field_selector,
            serialize=False, _request_timeout=timeout))
        return body.get("items") or [], (body.get("metadata") or {}).get("resourceVersion")

    def server_version(self):
        """The server's /version document: major, minor, gitVersion, ..."""
        return self._call("read the server version",
                          lambda timeout: self.client.request("get", "/version", serialize=False, _request_timeout=timeout))

    # -------------------------------------------------------------- writes --

    def create(self, body):
        """Create an object; in check mode, record it and return the body unchanged."""
        kind, metadata = body["kind"], body["metadata"]
        name, namespace = metadata["name"], metadata.get("namespace")
        created = body
        if not self.check_mode:
            resource = self.resource(body["apiVersion"], kind)
            try:
                created = self._call("create %s" % describe(kind, name, namespace), lambda timeout: self.client.create(
                    resource, body=body, namespace=namespace, serialize=False, _request_timeout=timeout))
            except ClusterError as error:
                created = self._landed(error, body["apiVersion"], kind, name, namespace, body)
            self.writes += 1
        self._record("create", kind, name, namespace, body)
        return created

    def _landed(self, error, api_version, kind, name, namespace, written):
        """After a write failed with `error`, the object as stored when an attempt whose answer was lost was
        applied after all (a retry then conflicts with it, or fails on its own); otherwise `error` is raised."""
        if not error.uncertain:
            raise error
        try:
            stored = self.get(api_version, kind, name, namespace)
        except ClusterError:
            raise error
        if stored is not None and contains(stored, written):
            return stored
        # Read back, it is not there: no attempt was applied.
        error.uncertain = False
        raise error

    def _patch(self, current, patch):
        metadata = current["metadata"]
        kind, name, namespace = current["kind"], metadata["name"], metadata.get("namespace")
        # The resourceVersion makes the patch conditional: the server answers
        # 409 Conflict when the object changed since it was read.
        body = dict(patch, metadata=dict(patch.get("metadata") or {}, resourceVersion=metadata["resourceVersion"]))
        resource = self.resource(current["apiVersion"], kind)
        try:
            patched = self._call("update %s" % describe(kind, name, namespace), lambda timeout: self.client.patch(
                resource, body=body, name=name, namespace=namespace, content_type=MERGE_PATCH, serialize=False,
                _request_timeout=timeout))
        except ClusterError as error:
            # Its own earlier attempt may be what the retry conflicts with: then the patch is there already, and
            # re-applying the change to the object as it is now would make it twice.
            patched = self._landed(error, current["apiVersion"], kind, name, namespace, patch)
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
            self._call("delete %s" % describe(kind, name, namespace), lambda timeout: self.client.delete(
                resource, name=name, namespace=namespace, body=options, serialize=False, _request_timeout=timeout))
        except ClusterError as error:
            if error.status != 404:
                raise
            # Already gone, unless an earlier attempt of this very delete is what removed it.
            if not error.uncertain:
                return False
        self.writes += 1
        self._record("delete", kind, name, namespace, None)
        return True

    def evict(self, name, namespace, grace_period_seconds=None):
        """Evict a pod through the Eviction API: True when evicted, False when a
        PodDisruptionBudget forbids it now (a 429 naming the budget; the caller
        decides when to try again). Throttling and server errors are retried."""
        if self.check_mode:
            self._record("create", "Eviction", name, namespace, None)
            return True
        body = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name, "namespace": namespace}}
        if grace_period_seconds is not None:
            body["deleteOptions"] = {"gracePeriodSeconds": grace_period_seconds}
        path = "/api/v1/namespaces/%s/pods/%s/eviction" % (namespace, name)
        refusals = []

        def retryable(error):
            if is_budget_refusal(error):
                refusals.append(error)
                return False
            return is_transient(error)

        try:
            self._call("evict %s" % describe("Pod", name, namespace),
                       lambda timeout: self.client.request("post", path, body=body, serialize=False, _request_timeout=timeout),
                       retryable=retryable)
        except ClusterError as error:
            if refusals and error.status == 429:
                return False
            # A pod an earlier attempt evicted may be gone by the time the retry asks.
            if error.status != 404 or not error.uncertain:
                raise
        self.writes += 1
        self._record("create", "Eviction", name, namespace, None)
        return True

    # --------------------------------------------------------------- waits --

    def wait(self, api_version, kind, namespace, condition, timeout, what, label_selector=None, field_selector=None):
        """Follow the objects a list selects until `condition(objects)` returns a truthy value, and return it.

        `objects` maps each object's name to its latest state. The list gives
        the starting state and resourceVersion; a watch from there brings
        every change. A watch the server ends, cuts or fails transiently is
        followed again from the last resourceVersion it delivered (after a
        delay when it delivered nothing); an expired version (410) lists again.
        `timeout` bounds the whole wait in seconds; running out is a
        ClusterError (status 504) saying `what` was awaited, and why the watch
        failed if it was failing.
        """
        resource = self.resource(api_version, kind)
        deadline = self._clock() + timeout
        objects, version = self._listed(api_version, kind, namespace, label_selector, field_selector)
        watching = "watch %s" % describe(kind, namespace=namespace)
        failures, failing = 0, None
        while True:
            outcome = condition(objects)
            if outcome:
                return outcome
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise ClusterError("timed out after %gs waiting for %s%s" % (timeout, what, "; %s" % failing if failing else ""),
                                   504, "Timeout")
            seen = {"version": version, "events": 0}
            try:
                outcome = self._follow(resource, namespace, label_selector, field_selector, seen, remaining, objects, condition)
                failing = None
            except (DynamicApiError, ApiException, HTTPError, OSError) as error:
                if getattr(error, "status", None) == 410:
                    # The version expired from the server's history: start again from a list.
                    objects, version = self._listed(api_version, kind, namespace, label_selector, field_selector)
                    continue
                if not is_transient(error):
                    raise self._error(error, watching)
                failing = "%s" % self._error(error, watching)
                failures = 0 if seen["events"] else failures + 1
                if failures:
                    # Nothing came through: back off (as asked by a 429) before the next attempt.
                    self._sleep(min(retry_delay(error, failures - 1), max(deadline - self._clock(), 0)))
            version = seen["version"]
            if outcome:
                return outcome

    def _listed(self, api_version, kind, namespace, label_selector, field_selector):
        items, version = self.list(api_version, kind, namespace, label_selector, field_selector)
        return dict((item["metadata"]["name"], item) for item in items), version

    def _follow(self, resource, namespace, label_selector, field_selector, seen, remaining, objects, condition):
        """One watch stream from seen["version"]: apply its events to `objects` until `condition` holds (its outcome)
        or the stream ends (None). `seen` keeps the last resourceVersion delivered and the events counted, also when
        the stream breaks."""
        watcher = self._watcher()
        seconds = max(1, int(remaining + 0.999))
        events = watcher.stream(
            resource.get, namespace=namespace, label_selector=label_selector, field_selector=field_selector,
            resource_version=seen["version"], timeout_seconds=seconds, allow_watch_bookmarks=True, serialize=False,
            # The server ends the stream after `seconds`; the client gives up on a silent connection a little later.
            _request_timeout=(self.request_timeout[0], seconds + self.request_timeout[0]))
        for event in events:
            obj = event["object"]
            seen["version"] = (obj.get("metadata") or {}).get("resourceVersion") or seen["version"]
            seen["events"] += 1
            if event["type"] == "BOOKMARK":
                continue
            if event["type"] == "DELETED":
                objects.pop(obj["metadata"]["name"], None)
            else:
                objects[obj["metadata"]["name"]] = obj
            outcome = condition(objects)
            if outcome:
                watcher.stop()
                return outcome
        return None
