"""Admission of the RBAC kinds (Role, ClusterRole, RoleBinding, ClusterRoleBinding) and of legacy service
account token Secrets: the real server's defaults and validation, and the RBAC registry's refusal of a
role or binding that grants more than its writer holds (``rbac.prevent_escalation``)."""

from .. import resources
from . import rbac
from .admission import _SUBDOMAIN_RULE, name_errors, not_supported, required
from .field_errors import INVALID, quote
from .tokens import SERVICE_ACCOUNT_NAME_ANNOTATION, SERVICE_ACCOUNT_TOKEN_TYPE

SUBJECT_KINDS = ("ServiceAccount", "User", "Group")


def _go_strings(values):
    return "[]string{" + ", ".join(quote(value) for value in values) + "}"


def _rule_errors(path, rule, namespaced):
    """ValidatePolicyRule."""
    errors = []
    if not rule.get("verbs"):
        errors.append(required(f"{path}.verbs", "verbs must contain at least one value"))
    urls = rule.get("nonResourceURLs") or []
    if urls:
        if namespaced:
            errors.append((f"{path}.nonResourceURLs", INVALID, f"Invalid value: {_go_strings(urls)}: namespaced rules cannot apply to non-resource URLs"))
        if rule.get("apiGroups") or rule.get("resources") or rule.get("resourceNames"):
            errors.append((f"{path}.nonResourceURLs", INVALID,
                           f"Invalid value: {_go_strings(urls)}: rules cannot apply to both regular resources and non-resource URLs"))
        return errors
    if not rule.get("apiGroups"):
        errors.append(required(f"{path}.apiGroups", "resource rules must supply at least one api group"))
    if not rule.get("resources"):
        errors.append(required(f"{path}.resources", "resource rules must supply at least one resource"))
    return errors


def _role_errors(obj, namespaced):
    errors = []
    for index, rule in enumerate(obj.get("rules") or []):
        errors += _rule_errors(f"rules[{index}]", rule or {}, namespaced)
    return errors


def validate_role(obj, _old):
    return _role_errors(obj, namespaced=True)


def validate_cluster_role(obj, _old):
    errors = _role_errors(obj, namespaced=False)
    aggregation = obj.get("aggregationRule")
    if aggregation is not None and not aggregation.get("clusterRoleSelectors"):
        errors.append(required("aggregationRule.clusterRoleSelectors", "at least one clusterRoleSelector required if aggregationRule is non-nil"))
    return errors


def default_binding(obj, _old, _store):
    reference = obj.setdefault("roleRef", {})
    if isinstance(reference, dict) and not reference.get("apiGroup"):
        reference["apiGroup"] = rbac.API_GROUP
    for subject in obj.get("subjects") or []:
        if isinstance(subject, dict) and not subject.get("apiGroup") and subject.get("kind") in ("User", "Group"):
            subject["apiGroup"] = rbac.API_GROUP


def _go_role_ref(reference):
    return (f'rbac.RoleRef{{APIGroup:{quote(reference.get("apiGroup", ""))}, Kind:{quote(reference.get("kind", ""))}, '
            f'Name:{quote(reference.get("name", ""))}}}')


def _subject_errors(path, subject, namespaced):
    """ValidateRoleBindingSubject."""
    errors = [] if subject.get("name") else [required(f"{path}.name")]
    kind, group = subject.get("kind"), subject.get("apiGroup", "")
    if kind == "ServiceAccount":
        if subject.get("name"):
            errors += name_errors(f"{path}.name", subject["name"], _SUBDOMAIN_RULE)
        if group:
            errors.append(not_supported(f"{path}.apiGroup", group, [""]))
        if not namespaced and not subject.get("namespace"):
            errors.append(required(f"{path}.namespace"))
    elif kind in ("User", "Group"):
        if group != rbac.API_GROUP:
            errors.append(not_supported(f"{path}.apiGroup", group, [rbac.API_GROUP]))
    else:
        errors.append(not_supported(f"{path}.kind", kind or "", SUBJECT_KINDS))
    return errors


def _binding_errors(obj, old, role_kinds):
    errors = []
    reference = obj.get("roleRef") or {}
    if reference.get("apiGroup") != rbac.API_GROUP:
        errors.append(not_supported("roleRef.apiGroup", reference.get("apiGroup", ""), [rbac.API_GROUP]))
    if reference.get("kind") not in role_kinds:
        errors.append(not_supported("roleRef.kind", reference.get("kind", ""), role_kinds))
    if not reference.get("name"):
        errors.append(required("roleRef.name"))
    else:
        errors += name_errors("roleRef.name", reference["name"], rbac.path_segment_errors)
    for index, subject in enumerate(obj.get("subjects") or []):
        errors += _subject_errors(f"subjects[{index}]", subject or {}, namespaced=role_kinds != ("ClusterRole",))
    if old is not None and (old.get("roleRef") or {}) != reference:
        errors.append(("roleRef", INVALID, f"Invalid value: {_go_role_ref(reference)}: cannot change roleRef"))
    return errors


def validate_role_binding(obj, old):
    return _binding_errors(obj, old, ("Role", "ClusterRole"))


def validate_cluster_role_binding(obj, old):
    return _binding_errors(obj, old, ("ClusterRole",))


def validate_secret(obj, _old):
    """A legacy token Secret must name its service account (the token controller fills in the rest)."""
    if obj.get("type") != SERVICE_ACCOUNT_TOKEN_TYPE or (obj["metadata"].get("annotations") or {}).get(SERVICE_ACCOUNT_NAME_ANNOTATION):
        return []
    return [required(f"metadata.annotations[{SERVICE_ACCOUNT_NAME_ANNOTATION}]")]


# RBAC objects are named by path segments (system:discovery is one), not DNS subdomains.
NAME_RULES = {rtype.key: rbac.path_segment_errors for rtype in (resources.ROLES, resources.CLUSTERROLES, resources.ROLEBINDINGS, resources.CLUSTERROLEBINDINGS)}
DEFAULTERS = {resources.ROLEBINDINGS.key: default_binding, resources.CLUSTERROLEBINDINGS.key: default_binding}
VALIDATORS = {
    resources.ROLES.key: validate_role,
    resources.CLUSTERROLES.key: validate_cluster_role,
    resources.ROLEBINDINGS.key: validate_role_binding,
    resources.CLUSTERROLEBINDINGS.key: validate_cluster_role_binding,
    resources.SECRETS.key: validate_secret,
}
PRIVILEGE_CHECKS = {rtype.key: rbac.prevent_escalation
                    for rtype in (resources.ROLES, resources.CLUSTERROLES, resources.ROLEBINDINGS, resources.CLUSTERROLEBINDINGS)}
INITIAL_STATUS = {}
