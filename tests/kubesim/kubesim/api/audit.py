"""``--audit-log-path``: kube-apiserver's log backend at the ``Metadata`` level.

Each client request (kubesim's own ``/kubesim/v1/`` endpoints aside) is written as one audit.k8s.io/v1
``Event`` JSON line when its answer is complete (stage ``ResponseComplete``); a watch also gets a
``ResponseStarted`` line when its stream begins, as on a real server. The fields are the real ones, in
the real order: who asked (``user``, and ``impersonatedUser`` when it impersonated someone), the verb
and ``objectRef`` as the request's URL names them (the same attributes RBAC judges), the
``responseStatus`` (the Status of a failure, only the code of a success) and the authorizer's
decision and reason as annotations. A real server logs only what its ``--audit-policy-file`` asks
for; kubesim logs everything at ``Metadata``, as the policy ``rules: [{level: Metadata}]`` with
``omitStages: [RequestReceived]`` would.
"""

import json
import sys
import threading
import uuid

from . import rbac

API_VERSION = "audit.k8s.io/v1"
LEVEL = "Metadata"
RESPONSE_STARTED = "ResponseStarted"
RESPONSE_COMPLETE = "ResponseComplete"
DECISION = "authorization.k8s.io/decision"
REASON = "authorization.k8s.io/reason"
# The fields of a Status that a Metadata-level event keeps (audit.LogResponseObject).
_STATUS_FIELDS = ("status", "message", "reason", "details", "code")


def object_ref(attributes):
    """The objectRef of a resource request's attributes (omitempty fields left out), or None."""
    if not attributes.resource_request:
        return None
    ref = {"resource": attributes.resource, "namespace": attributes.namespace, "name": attributes.name,
           "apiGroup": attributes.group, "apiVersion": attributes.version, "subresource": attributes.subresource}
    return {key: value for key, value in ref.items() if value}


def response_status(code, body):
    """The responseStatus: what a Status body says of a failure, else only the code."""
    status = {"metadata": {}}
    if isinstance(body, dict) and body.get("kind") == "Status":
        status.update((key, body[key]) for key in _STATUS_FIELDS if key in body)
    status["code"] = code
    return status


class Entry:
    """One request's audit state from its arrival: its ID, when it came, its URI and whence."""

    def __init__(self, uri, source_ip, received):
        self.audit_id = str(uuid.uuid4())
        self.uri, self.source_ip, self.received = uri, source_ip, received


class AuditLog:
    """Writes audit events as JSON lines to ``path`` (``-``: standard output), each flushed as it is written."""

    def __init__(self, path, clock):
        self.clock = clock
        self._lock = threading.Lock()
        self._stream = sys.stdout if path == "-" else open(path, "a", encoding="utf-8")  # pylint: disable=consider-using-with

    def close(self):
        if self._stream is not sys.stdout:
            self._stream.close()

    def received(self, uri, source_ip):
        """The Entry of a request that has just come in."""
        return Entry(uri, source_ip, self.clock.micro_timestamp())

    def started(self, entry, request):
        """A watch stream has begun."""
        self._write(self.event(entry, request, RESPONSE_STARTED, 200, None))

    def completed(self, entry, request, code, body):
        """The answer is complete: ``code``, with ``body`` (a Status for a failure)."""
        self._write(self.event(entry, request, RESPONSE_COMPLETE, code, body))

    def event(self, entry, request, stage, code, body):
        user = request.requester
        attributes = rbac.request_attributes(user, request.method, request.path, request.query)
        event = {"kind": "Event", "apiVersion": API_VERSION, "level": LEVEL, "auditID": entry.audit_id, "stage": stage,
                 "requestURI": entry.uri, "verb": attributes.verb, "user": user.as_json() if user else {}}
        if request.attributes is not None and request.attributes.user is not user:
            event["impersonatedUser"] = request.attributes.user.as_json()
        event["sourceIPs"] = [entry.source_ip]
        if request.headers.get("user-agent"):
            event["userAgent"] = request.headers["user-agent"]
        ref = object_ref(attributes)
        if ref:
            event["objectRef"] = ref
        event["responseStatus"] = response_status(code, body)
        event["requestReceivedTimestamp"] = entry.received
        event["stageTimestamp"] = self.clock.micro_timestamp()
        if request.decision is not None:
            allowed, reason = request.decision
            event["annotations"] = {DECISION: "allow" if allowed else "forbid", REASON: reason}
        return event

    def _write(self, event):
        line = json.dumps(event, separators=(",", ":")) + "\n"
        with self._lock:
            self._stream.write(line)
            self._stream.flush()
