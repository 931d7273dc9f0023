"""kubesim's own control endpoints, under a path no Kubernetes API uses, for tests that need a sick cluster.

    /kubesim/v1/faults        GET: the rules with how often each matched and fired; POST: add a rule
                              (see faults.py; 201 with its id); DELETE: remove them all
    /kubesim/v1/faults/<id>   GET, DELETE: one rule
    /kubesim/v1/pause         GET: whether the controllers are paused; POST {"seconds": S}: pause them
                              for S simulated seconds, or until resumed without "seconds"; DELETE: resume

Answers are JSON; a request these endpoints cannot use is answered with a Status (400, 404, 405).
"""

import json
import math

from ..errors import BadRequest, MethodNotAllowed, NotFound
from .faults import RuleError

PREFIX = "/kubesim/v1/"


def _document(request):
    try:
        document = json.loads(request.body or b"{}")
    except ValueError as exc:
        raise BadRequest(f"the body must be JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise BadRequest("the body must be a JSON object")
    return document


def _not_allowed():
    return MethodNotAllowed("the server does not allow this method on the requested resource", details={})


class Admin:
    def __init__(self, faults, engine, clock):
        self.faults = faults
        self.engine = engine
        self.clock = clock

    def handle(self, request, path):
        """(code, JSON body) for a path under PREFIX."""
        parts = path[len(PREFIX):].split("/")
        if parts[0] == "faults" and len(parts) == 1:
            return self._faults(request)
        if parts[0] == "faults" and len(parts) == 2:
            return self._fault(request, parts[1])
        if parts == ["pause"]:
            return self._pause(request)
        raise NotFound("the server could not find the requested resource", details={})

    def _faults(self, request):
        if request.method == "GET":
            return 200, {"faults": self.faults.describe()}
        if request.method == "POST":
            try:
                return 201, self.faults.add(_document(request))
            except RuleError as exc:
                raise BadRequest(f"invalid fault rule: {exc}") from exc
        if request.method == "DELETE":
            return 200, {"faults": self.faults.clear()}
        raise _not_allowed()

    def _fault(self, request, rule_id):
        lookup = {"GET": self.faults.find, "DELETE": self.faults.remove}.get(request.method)
        if lookup is None:
            raise _not_allowed()
        rule = lookup(int(rule_id)) if rule_id.isdigit() else None
        if rule is None:
            raise NotFound(f'fault rule "{rule_id}" not found', details={})
        return 200, rule

    def _pause(self, request):
        if request.method == "POST":
            seconds = _document(request).get("seconds")
            if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0):
                raise BadRequest(f'"seconds" must be a number of simulated seconds, not {seconds!r}')
            self.engine.pause(None if seconds is None else self.clock.real_seconds(seconds))
        elif request.method == "DELETE":
            self.engine.resume()
        elif request.method != "GET":
            raise _not_allowed()
        return 200, self.pause_state()

    def pause_state(self):
        remaining = self.engine.pause_remaining()
        state = {"paused": remaining > 0}
        if 0 < remaining < math.inf:
            state["remainingSeconds"] = self.clock.simulated_seconds(remaining)
        return state
