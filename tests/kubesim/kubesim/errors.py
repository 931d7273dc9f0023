"""API errors carried as Kubernetes ``Status`` objects.

Every failure the server reports goes through :class:`ApiError`, so the HTTP layer renders one
shape: the ``metav1.Status`` body a real API server sends (kind, apiVersion, status=Failure,
message, reason, details, code).
"""


class ApiError(Exception):
    code = 500
    reason = "InternalError"

    def __init__(self, message, *, details=None, code=None, reason=None):
        super().__init__(message)
        self.message = message
        self.details = details
        if code is not None:
            self.code = code
        if reason is not None:
            self.reason = reason

    def status(self):
        """The Status body, its fields in metav1.Status's order (as the real server writes them)."""
        body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": self.message}
        if self.reason:
            body["reason"] = self.reason
        if self.details is not None:
            body["details"] = self.details
        body["code"] = self.code
        return body


def _details(rtype, name):
    details = {"kind": rtype.plural}
    if rtype.group:
        details["group"] = rtype.group
    if name:
        details["name"] = name
    return details


def _qualified(rtype):
    return f"{rtype.plural}.{rtype.group}" if rtype.group else rtype.plural


class BadRequest(ApiError):
    code = 400
    reason = "BadRequest"


class Unauthorized(ApiError):
    """A request whose credentials the server does not accept; the real server's body says no more than this."""

    code = 401
    reason = "Unauthorized"

    def __init__(self):
        super().__init__("Unauthorized")


class NotFound(ApiError):
    code = 404
    reason = "NotFound"

    @classmethod
    def for_object(cls, rtype, name):
        return cls(f'{_qualified(rtype)} "{name}" not found', details=_details(rtype, name))


class MethodNotAllowed(ApiError):
    code = 405
    reason = "MethodNotAllowed"


class AlreadyExists(ApiError):
    code = 409
    reason = "AlreadyExists"

    @classmethod
    def for_object(cls, rtype, name):
        return cls(f'{_qualified(rtype)} "{name}" already exists', details=_details(rtype, name))


class Conflict(ApiError):
    code = 409
    reason = "Conflict"

    @classmethod
    def stale(cls, rtype, name):
        return cls(
            f'Operation cannot be fulfilled on {_qualified(rtype)} "{name}": the object has been modified; '
            "please apply your changes to the latest version and try again",
            details=_details(rtype, name),
        )


class Gone(ApiError):
    code = 410
    reason = "Expired"


class UnsupportedMediaType(ApiError):
    code = 415
    reason = "UnsupportedMediaType"


class Invalid(ApiError):
    """422 with the per-field causes a real server lists in ``details.causes``."""

    code = 422
    reason = "Invalid"

    def __init__(self, rtype, kind, name, causes):
        # causes: list of (field, reason, message), reason like FieldValueRequired / FieldValueInvalid.
        summary = ", ".join(f"{field}: {message}" for field, _, message in causes)
        if len(causes) > 1:
            summary = f"[{summary}]"
        # The message names the kind qualified by its group ("Deployment.apps"), details.kind does not.
        qualified_kind = f"{kind}.{rtype.group}" if rtype.group else kind
        message = f'{qualified_kind} "{name}" is invalid: {summary}' if name else f"{qualified_kind} is invalid: {summary}"
        details = _details(rtype, name)
        details["kind"] = kind
        details["causes"] = [{"reason": reason, "message": message_, "field": field} for field, reason, message_ in causes]
        super().__init__(message, details=details)


def unnamed_invalid(group, kind, causes):
    """422 for an object the REST storage does not name (a TokenRequest, a review): the real message quotes an empty name."""
    summary = ", ".join(f"{field}: {message}" for field, _, message in causes)
    return ApiError(f'{kind}.{group} "" is invalid: {summary if len(causes) == 1 else f"[{summary}]"}', code=422, reason="Invalid",
                    details={"group": group, "kind": kind,
                             "causes": [{"reason": reason, "message": message, "field": field} for field, reason, message in causes]})


class AdmissionDenied(ApiError):
    """An admission webhook's denial as the API server reports it: the webhook's Status (400 and no reason
    unless it gave others), its message prefixed with the webhook's name."""

    code = 400
    reason = ""

    def __init__(self, webhook, message, code=None, reason=None):
        super().__init__(f'admission webhook "{webhook}" denied the request: {message}', code=code, reason=reason)


class TooManyRequests(ApiError):
    code = 429
    reason = "TooManyRequests"


class Forbidden(ApiError):
    code = 403
    reason = "Forbidden"
