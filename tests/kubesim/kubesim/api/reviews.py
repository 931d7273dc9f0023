"""The review kinds: a client asks a question by creating one, and the answer comes back at once (201);
nothing is stored.

- authorization.k8s.io/v1 SelfSubjectAccessReview (``kubectl auth can-i``), SubjectAccessReview and
  LocalSubjectAccessReview: whether a request would be allowed, with the authorizer's reason.
- authorization.k8s.io/v1 SelfSubjectRulesReview (``kubectl auth can-i --list``): the rules that apply
  to the requester in a namespace.
- authentication.k8s.io/v1 SelfSubjectReview (``kubectl auth whoami``) and TokenReview: who the
  requester, or the holder of a token, is.
"""

from .. import resources
from ..errors import BadRequest, unnamed_invalid
from .field_errors import INVALID, invalid
from .rbac import ALL, Attributes, aggregate_errors
from .tokens import API_AUDIENCES
from .users import UserInfo

AUTHORIZATION = "authorization.k8s.io"


def _answer(rtype, metadata, spec, status):
    body = {"kind": rtype.kind, "apiVersion": rtype.api_version, "metadata": dict(metadata or {}, creationTimestamp=None)}
    if spec is not None:
        body["spec"] = spec
    body["status"] = status
    return body


def _go_struct(name, fields):
    """A struct the way Go's %#v prints it in a field error."""
    return f"authorization.{name}{{" + ", ".join(f'{key}:"{value}"' for key, value in fields) + "}"


def _attributes(user, spec, kind, namespace=None):
    """The authorization attributes a review's spec asks about."""
    resource, non_resource = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
    if resource is not None and non_resource is not None:
        text = _go_struct("NonResourceAttributes", (("Path", non_resource.get("path", "")), ("Verb", non_resource.get("verb", ""))))
        raise unnamed_invalid(AUTHORIZATION, kind, [("spec.nonResourceAttributes", INVALID,
                                                     f"Invalid value: {text}: cannot be specified in combination with resourceAttributes")])
    if resource is None and non_resource is None:
        raise unnamed_invalid(AUTHORIZATION, kind, [invalid("spec.resourceAttributes", "null",
                                                            "exactly one of nonResourceAttributes or resourceAttributes must be specified")])
    if non_resource is not None:
        return Attributes(user, non_resource.get("verb", ""), resource_request=False, path=non_resource.get("path", ""))
    if namespace is not None:
        if resource.get("namespace") not in (None, "", namespace):
            raise BadRequest(f"spec.resourceAttributes.namespace must match namespace: {namespace}")
        resource = dict(resource, namespace=namespace)
    return Attributes(user, resource.get("verb", ""), namespace=resource.get("namespace", ""), group=resource.get("group", ""),
                      version=resource.get("version") or ALL, resource=resource.get("resource", ""),
                      subresource=resource.get("subresource", ""), name=resource.get("name", ""))


def _decision(access, attributes):
    allowed, reason = access.authorizer.authorize(attributes)
    status = {"allowed": allowed}
    if reason:
        status["reason"] = reason
    return status


def _spec(document):
    spec = document.get("spec") or {}
    if not isinstance(spec, dict):
        raise BadRequest("the spec must be an object")
    return spec


def self_subject_access_review(access, user, rtype, document, _namespace):
    spec = _spec(document)
    return _answer(rtype, document.get("metadata"), spec, _decision(access, _attributes(user, spec, rtype.kind)))


def _subject(spec, kind):
    if not spec.get("user") and not spec.get("groups"):
        raise unnamed_invalid(AUTHORIZATION, kind, [invalid("spec.user", spec.get("user", ""), "at least one of user or group must be specified")])
    extra = tuple(sorted((key, tuple(values or ())) for key, values in (spec.get("extra") or {}).items()))
    return UserInfo(spec.get("user", ""), spec.get("uid", ""), tuple(spec.get("groups") or ()), extra)


def subject_access_review(access, _user, rtype, document, _namespace):
    spec = _spec(document)
    return _answer(rtype, document.get("metadata"), spec, _decision(access, _attributes(_subject(spec, rtype.kind), spec, rtype.kind)))


def local_subject_access_review(access, _user, rtype, document, namespace):
    spec = _spec(document)
    attributes = _attributes(_subject(spec, rtype.kind), spec, rtype.kind, namespace)
    if attributes.resource_request:
        spec = dict(spec, resourceAttributes=dict(spec["resourceAttributes"], namespace=namespace))
    return _answer(rtype, dict(document.get("metadata") or {}, namespace=namespace), spec, _decision(access, attributes))


def self_subject_rules_review(access, user, rtype, document, _namespace):
    namespace = _spec(document).get("namespace")
    if not namespace:
        raise BadRequest("no namespace on request")
    if not access.rbac:
        status = {"resourceRules": [{"verbs": [ALL], "apiGroups": [ALL], "resources": [ALL]}],
                  "nonResourceRules": [{"verbs": [ALL], "nonResourceURLs": [ALL]}], "incomplete": False}
        return _answer(rtype, None, {}, status)
    rules, errors = access.authorizer.resolver.rules_for(user, namespace)
    resource_rules = [{key: list(rule[key]) for key in ("verbs", "apiGroups", "resources", "resourceNames") if rule.get(key) or key == "verbs"}
                      for rule in rules if rule.get("resources")]
    non_resource_rules = [{"verbs": list(rule.get("verbs") or []), "nonResourceURLs": list(rule["nonResourceURLs"])}
                          for rule in rules if rule.get("nonResourceURLs")]
    status = {"resourceRules": resource_rules, "nonResourceRules": non_resource_rules, "incomplete": False}
    if errors:
        status["evaluationError"] = aggregate_errors(errors)
    return _answer(rtype, None, {}, status)


def self_subject_review(_access, user, rtype, _document, _namespace):
    return _answer(rtype, None, None, {"userInfo": user.as_json()})


def token_review(access, _user, rtype, document, _namespace):
    spec = _spec(document)
    token = spec.get("token")
    if not token:
        raise BadRequest("token is required for TokenReview in authentication")
    reviewed = access.authenticate_token(token)
    if reviewed is None:
        status = {"user": {}, "error": "invalid bearer token"}
    else:
        status = {"authenticated": True, "user": reviewed.as_json(), "audiences": list(spec.get("audiences") or API_AUDIENCES)}
    return _answer(rtype, document.get("metadata"), spec, status)


ANSWERS = {
    resources.by_path(AUTHORIZATION, "v1", "selfsubjectaccessreviews").key: self_subject_access_review,
    resources.by_path(AUTHORIZATION, "v1", "subjectaccessreviews").key: subject_access_review,
    resources.by_path(AUTHORIZATION, "v1", "localsubjectaccessreviews").key: local_subject_access_review,
    resources.by_path(AUTHORIZATION, "v1", "selfsubjectrulesreviews").key: self_subject_rules_review,
    resources.by_path("authentication.k8s.io", "v1", "selfsubjectreviews").key: self_subject_review,
    resources.by_path("authentication.k8s.io", "v1", "tokenreviews").key: token_review,
}
