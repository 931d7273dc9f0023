"""Fault injection: chosen client requests fail the way a struggling real API server fails them.

A rule is a JSON object. It picks requests by the labels ``apiserver_request_total`` counts them
under, and by namespace and name; it picks which of those fail deterministically; and it says how
they fail:

    {"fault": "throttle", "verb": "PATCH", "resource": "deployments", "namespace": "demo",
     "count": 2, "retryAfter": 1}

- ``fault`` (required): ``error`` (500 InternalError), ``throttle`` (429, the real server's
  ``Retry-After`` header and plain-text body), ``conflict`` (409 Conflict, "the object has been
  modified"), ``timeout`` (the request is held until its deadline, then answered 504 Timeout, as
  the real server's request timeout answers), ``cut-watch`` (an open watch stream is cut, as a
  dropped connection: no closing chunk) or ``expire-watch`` (the watch's resourceVersion is
  reported too old: its only event is an ERROR with a 410 Expired Status, as the real server
  streams it for a version it no longer has).
- Which requests: ``verb`` (GET, LIST, WATCH, POST, PUT, PATCH, APPLY, DELETE), ``group`` (``""``
  for the core group), ``resource`` (the plural), ``subresource`` (``""``: the object itself, not a
  subresource), ``scope`` (resource, namespace, cluster), ``namespace``, ``name`` (the name in the
  URL: a create has none). A field left out matches anything.
- Which of those fail: ``every`` N (the Nth, 2Nth, ... matching request; default 1) or ``ratio`` R
  (each with probability R, drawn from a generator seeded with ``seed``, default 0); ``count`` N
  stops the rule after it has fired N times.
- Details: ``message`` (error; default "injected fault"), ``retryAfter`` (throttle, whole seconds,
  default 1), ``seconds`` (timeout: how long to hold the request instead of its deadline; cut-watch:
  cut after that long), ``events`` (cut-watch: cut after that many events). Durations are real
  seconds, since they are about connections, not the simulated world.

The first rule (in the order added) that fires answers the request; its handler never runs, so an
injected fault changes nothing in the store. A cut watch is the exception: it is served normally
until it is cut.
"""

import json
import random
import re
import threading
from dataclasses import dataclass, field

from ..errors import ApiError, Conflict, Gone

FAULTS = ("error", "throttle", "conflict", "timeout", "cut-watch", "expire-watch")
WATCH_FAULTS = ("cut-watch", "expire-watch")
VERBS = ("GET", "LIST", "WATCH", "POST", "PUT", "PATCH", "APPLY", "DELETE")
SCOPES = ("resource", "namespace", "cluster")
MATCH_FIELDS = ("verb", "group", "resource", "subresource", "scope", "namespace", "name")
SELECTION_FIELDS = ("every", "ratio", "seed", "count")
DETAIL_FIELDS = ("message", "retryAfter", "seconds", "events")
DEFAULT_MESSAGE = "injected fault"
# The real server's deadline for a request that names none shorter (--request-timeout).
REQUEST_TIMEOUT_SECONDS = 60.0
THROTTLED_BODY = "Too many requests, please try again later.\n"
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


class RuleError(ValueError):
    """A fault rule that cannot be used; the message says why."""


@dataclass
class Rule:
    id: int
    fault: str
    match: dict
    every: int = 1
    ratio: float | None = None
    seed: int = 0
    count: int | None = None
    message: str = DEFAULT_MESSAGE
    retry_after: int = 1
    seconds: float | None = None
    events: int | None = None
    matched: int = 0
    fired: int = 0
    _draws: random.Random = field(default=None, repr=False)

    def __post_init__(self):
        self._draws = random.Random(self.seed)

    def matches(self, values):
        return all(values[name] == wanted for name, wanted in self.match.items())

    def fires(self):
        """Count one more matching request and say whether this one fails."""
        self.matched += 1
        if self.count is not None and self.fired >= self.count:
            return False
        chosen = self._draws.random() < self.ratio if self.ratio is not None else self.matched % self.every == 0
        if chosen:
            self.fired += 1
        return chosen

    def describe(self):
        """The rule as JSON, with how many requests it matched and how many it failed."""
        shown = {"id": self.id, "fault": self.fault, **self.match}
        if self.ratio is not None:
            shown.update(ratio=self.ratio, seed=self.seed)
        else:
            shown["every"] = self.every
        details = {"count": self.count, "seconds": self.seconds, "events": self.events}
        shown.update({key: value for key, value in details.items() if value is not None})
        if self.fault == "error":
            shown["message"] = self.message
        if self.fault == "throttle":
            shown["retryAfter"] = self.retry_after
        return dict(shown, matched=self.matched, fired=self.fired)


def _number(document, key, kind, minimum, default=None):
    value = document.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float) if kind is float else int) or value < minimum:
        noun = "a whole number" if kind is int else "a number"
        raise RuleError(f'"{key}" must be {noun} of at least {minimum}, not {value!r}')
    return kind(value)


def _match(document, fault):
    match = {}
    for key in MATCH_FIELDS:
        if key not in document:
            continue
        value = document[key]
        if not isinstance(value, str):
            raise RuleError(f'"{key}" must be a string, not {value!r}')
        match[key] = value.upper() if key == "verb" else value
    if match.get("verb", "GET") not in VERBS:
        raise RuleError(f'"verb" must be one of {", ".join(VERBS)}, not {document["verb"]!r}')
    if match.get("scope", "resource") not in SCOPES:
        raise RuleError(f'"scope" must be one of {", ".join(SCOPES)}, not {document["scope"]!r}')
    if fault in WATCH_FAULTS:
        if match.setdefault("verb", "WATCH") != "WATCH":
            raise RuleError(f'a "{fault}" fault applies to WATCH requests only')
    return match


def parse_rule(document, rule_id):
    """A Rule from its JSON form; raises RuleError."""
    if not isinstance(document, dict):
        raise RuleError("a fault rule must be a JSON object")
    unknown = sorted(set(document) - {"fault", *MATCH_FIELDS, *SELECTION_FIELDS, *DETAIL_FIELDS})
    if unknown:
        raise RuleError(f"unknown field(s) in a fault rule: {', '.join(unknown)}")
    fault = document.get("fault")
    if fault not in FAULTS:
        raise RuleError(f'"fault" must be one of {", ".join(FAULTS)}, not {fault!r}')
    if "every" in document and "ratio" in document:
        raise RuleError('give "every" or "ratio", not both')
    ratio = _number(document, "ratio", float, 0)
    if ratio is not None and ratio > 1:
        raise RuleError(f'"ratio" must be between 0 and 1, not {ratio!r}')
    message = document.get("message", DEFAULT_MESSAGE)
    if not isinstance(message, str) or not message:
        raise RuleError('"message" must be a non-empty string')
    rule = Rule(rule_id, fault, _match(document, fault), every=_number(document, "every", int, 1, 1), ratio=ratio,
                seed=_number(document, "seed", int, 0, 0), count=_number(document, "count", int, 1), message=message,
                retry_after=_number(document, "retryAfter", int, 0, 1), seconds=_number(document, "seconds", float, 0),
                events=_number(document, "events", int, 1))
    if fault == "cut-watch" and rule.seconds is None and rule.events is None:
        raise RuleError('a "cut-watch" fault needs "events", "seconds" or both')
    return rule


def go_duration_seconds(text):
    """Seconds of a Go duration such as 30s, 1m0s or 500ms; None if it is not one."""
    if not text or _DURATION_PART.sub("", text) != "":
        return None
    return sum(float(number) * _UNIT_SECONDS[unit] for number, unit in _DURATION_PART.findall(text))


def request_deadline(request):
    """How long the real server lets a request run: its ``timeout`` parameter when shorter than the server's own."""
    asked = go_duration_seconds(request.param("timeout"))
    return asked if asked is not None and 0 < asked < REQUEST_TIMEOUT_SECONDS else REQUEST_TIMEOUT_SECONDS


class Faults:
    """The fault rules in force; consulted for every client request for a resource."""

    def __init__(self):
        self._lock = threading.Lock()
        # Replaced, never changed in place, so a request can test for "no rules" without the lock.
        self._rules = ()
        self._next_id = 1

    def add(self, document):
        with self._lock:
            rule = parse_rule(document, self._next_id)
            self._next_id += 1
            self._rules = self._rules + (rule,)
            return rule.describe()

    def describe(self):
        with self._lock:
            return [rule.describe() for rule in self._rules]

    def find(self, rule_id):
        with self._lock:
            return next((rule.describe() for rule in self._rules if rule.id == rule_id), None)

    def remove(self, rule_id):
        """Remove one rule; returns its description, or None if there is none by that id."""
        with self._lock:
            removed = next((rule for rule in self._rules if rule.id == rule_id), None)
            self._rules = tuple(rule for rule in self._rules if rule is not removed)
            return removed.describe() if removed else None

    def clear(self):
        with self._lock:
            removed, self._rules = self._rules, ()
            return [rule.describe() for rule in removed]

    def firing(self, labels, target):
        """The rule that fails this request (labels as apiserver_request_total counts it), or None."""
        if not self._rules:
            return None
        values = {"verb": labels[0], "group": labels[2], "resource": labels[4], "subresource": labels[5], "scope": labels[6],
                  "namespace": target.namespace or "", "name": target.name or ""}
        with self._lock:
            return next((rule for rule in self._rules if rule.matches(values) and rule.fires()), None)


def _status_answer(error, delay=0.0):
    return {"code": error.code, "body": error.status(), "delay": delay}


def failure(rule, request, target):
    """The answer to a request an injected fault other than a cut watch fails: code, body, and where they
    differ from a JSON Status answered at once, content type, headers and the real seconds to hold it back.
    An expired watch is answered whole rather than streamed: the same bytes, without the chunking."""
    if rule.fault == "error":
        return _status_answer(ApiError(f"Internal error occurred: {rule.message}", details={"causes": [{"message": rule.message}]}))
    if rule.fault == "conflict":
        return _status_answer(Conflict.stale(target.rtype, target.name or ""))
    if rule.fault == "expire-watch":
        # What a real server streams for a watch from a version its storage no longer has (etcd compacted it):
        # 200, then a single ERROR event carrying the 410 Status, then the end of the stream.
        expired = Gone("The resourceVersion for the provided watch is too old.")
        return {"code": 200, "body": json.dumps({"type": "ERROR", "object": expired.status()}, separators=(",", ":")) + "\n"}
    if rule.fault == "throttle":
        # What the real server's max-in-flight and priority-and-fairness filters answer: no Status, plain text.
        return {"code": 429, "body": THROTTLED_BODY, "content_type": "text/plain; charset=utf-8",
                "headers": {"Retry-After": str(rule.retry_after), "X-Content-Type-Options": "nosniff"}}
    timeout = ApiError("Timeout: request did not complete within requested timeout - context deadline exceeded",
                       code=504, reason="Timeout", details={})
    return _status_answer(timeout, rule.seconds if rule.seconds is not None else request_deadline(request))
