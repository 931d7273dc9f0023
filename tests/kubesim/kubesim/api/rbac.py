"""RBAC authorization (rbac.authorization.k8s.io/v1), judged the way kube-apiserver judges it.

A request is read into its authorization attributes as the real RequestInfoFactory reads the URL:
resource requests (``/api/v1/...``, ``/apis/<group>/<version>/...``) have a verb (create, get, list,
watch, update, patch, delete, deletecollection), a resource and subresource, a name and a namespace;
everything else (``/api``, ``/apis/apps/v1``, ``/version``, ``/healthz``) is a non-resource request
whose verb is the lower-cased HTTP method. A list or watch whose field selector pins
``metadata.name`` names that object, so ``resourceNames`` can grant it.

The authorizer is the chain of ``--authorization-mode=RBAC``: members of ``system:masters`` are
allowed everything, then the rules of the ClusterRoleBindings and, for a namespaced request, of
the RoleBindings in its namespace (a RoleBinding may grant a ClusterRole's rules there) that name
the user, one of its groups or its service account. A denial is a 403 with the real message; a
binding whose role is missing makes its reason (``RBAC: role.rbac.authorization.k8s.io "x" not found``).

Writing a Role or ClusterRole, or a binding, is also checked for privilege escalation as the RBAC
registry checks it: the writer must hold every permission it grants, unless it may ``escalate``
(roles) or ``bind`` (the bound role), or is in ``system:masters``.
"""

import contextlib
import threading
from dataclasses import dataclass

from .. import resources
from ..errors import ApiError, Forbidden, NotFound
from ..selectors import parse_field_selector, selector_matches
from .field_errors import quote
from .users import MASTERS, service_account_username

API_GROUP = "rbac.authorization.k8s.io"
ALL = "*"
_API_PREFIXES = ("api", "apis")
_SPECIAL_VERBS = ("proxy", "watch")
_NAMESPACE_SUBRESOURCES = ("status", "finalize")
_METHOD_VERBS = {"POST": "create", "GET": "get", "HEAD": "get", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}


@dataclass(frozen=True)
class Attributes:
    """What a request asks to do (authorizer.Attributes)."""

    user: object
    verb: str
    resource_request: bool = True
    path: str = ""
    namespace: str = ""
    group: str = ""
    version: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""


def _valid_path_segment(name):
    return name not in (".", "..") and "/" not in name and "%" not in name


def path_segment_errors(name):
    """Why ``name`` cannot be a path segment (the rule RBAC object names follow)."""
    if name in (".", ".."):
        return [f"may not be '{name}'"]
    return [f"may not contain '{character}'" for character in "/%" if character in name]


def _name_from_field_selector(text):
    """The object a list or watch is limited to by ``metadata.name=...``, or ''."""
    try:
        requirements = parse_field_selector(text or "")
    except ApiError:
        return ""
    name = next((value for path, equal, value in requirements if path == "metadata.name" and equal), "")
    return name if name and _valid_path_segment(name) else ""


def request_attributes(user, method, path, query):
    """The authorization attributes of a request, as the real server reads them from its URL."""
    parts = path.strip("/").split("/") if path.strip("/") else []
    non_resource = Attributes(user, method.lower(), resource_request=False, path=path)
    if len(parts) < 3 or parts[0] not in _API_PREFIXES:
        return non_resource
    rest, group = parts[1:], ""
    if parts[0] == "apis":
        if len(rest) < 3:
            return non_resource
        group, rest = rest[0], rest[1:]
    version, rest = rest[0], rest[1:]
    if rest[0] in _SPECIAL_VERBS:
        if len(rest) < 2:
            raise NotFound("the server could not find the requested resource", details={})
        verb, rest = rest[0], rest[1:]
    else:
        verb = _METHOD_VERBS.get(method, "")
    namespace = ""
    if rest[0] == "namespaces" and len(rest) > 1:
        namespace = rest[1]
        if len(rest) > 2 and rest[2] not in _NAMESPACE_SUBRESOURCES:
            rest = rest[2:]
    resource = rest[0]
    name = rest[1] if len(rest) >= 2 else ""
    subresource = rest[2] if len(rest) >= 3 and verb != "proxy" else ""
    if not name and verb == "get":
        watch = query.get("watch")
        verb = "watch" if watch is not None and watch.lower() not in ("false", "0") else "list"
        name = _name_from_field_selector(query.get("fieldSelector"))
    if not name and verb == "delete":
        verb = "deletecollection"
    return Attributes(user, verb, namespace=namespace, group=group, version=version, resource=resource, subresource=subresource, name=name)


# ---------------------------------------------------------------- rules


def _listed(rule, key):
    return rule.get(key) or []


def _verb_matches(rule, verb):
    verbs = _listed(rule, "verbs")
    return ALL in verbs or verb in verbs


def _group_matches(rule, group):
    groups = _listed(rule, "apiGroups")
    return ALL in groups or group in groups


def _resource_matches(rule, combined, subresource):
    for resource in _listed(rule, "resources"):
        if resource in (ALL, combined) or (subresource and resource == f"*/{subresource}"):
            return True
    return False


def _name_matches(rule, name):
    names = _listed(rule, "resourceNames")
    return not names or name in names


def _url_covers(pattern, path):
    return pattern in (ALL, path) or (pattern.endswith("*") and path.startswith(pattern.rstrip("*")))


def rule_allows(attributes, rule):
    """Whether one PolicyRule allows the request (rbac's RuleAllows)."""
    if not attributes.resource_request:
        return _verb_matches(rule, attributes.verb) and any(_url_covers(url, attributes.path) for url in _listed(rule, "nonResourceURLs"))
    combined = f"{attributes.resource}/{attributes.subresource}" if attributes.subresource else attributes.resource
    return (_verb_matches(rule, attributes.verb) and _group_matches(rule, attributes.group)
            and _resource_matches(rule, combined, attributes.subresource) and _name_matches(rule, attributes.name))


def _subject_applies(user, subject, namespace):
    kind, name = subject.get("kind"), subject.get("name")
    if kind == "User":
        return user.name == name
    if kind == "Group":
        return name in user.groups
    if kind == "ServiceAccount":
        account_namespace = subject.get("namespace") or namespace
        return bool(account_namespace) and user.name == service_account_username(account_namespace, name)
    return False


def _describe_subject(subject, namespace):
    if subject.get("kind") == "ServiceAccount":
        return f'ServiceAccount {quote(subject.get("name", "") + "/" + (subject.get("namespace") or namespace))}'
    return f'{subject.get("kind")} {quote(subject.get("name", ""))}'


def describe_grant(binding, subject):
    """The reason an allowed request gives: which binding, of which role, to which subject."""
    reference = binding.get("roleRef") or {}
    name, namespace = binding["metadata"]["name"], binding["metadata"].get("namespace")
    source = f"RoleBinding {quote(f'{name}/{namespace}')}" if namespace else f"ClusterRoleBinding {quote(name)}"
    return f'{source} of {reference.get("kind")} {quote(reference.get("name", ""))} to {_describe_subject(subject, namespace or "")}'


def aggregate_errors(messages):
    """Several errors in one, as apimachinery's aggregate prints them (duplicates once)."""
    unique = list(dict.fromkeys(messages))
    return unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]"


class RuleResolver:
    """The rules that apply to a user, read from the stored roles and bindings."""

    def __init__(self, store):
        self.store = store

    def role_rules(self, reference, namespace):
        """(rules, error) of the role a binding in ``namespace`` ('' for a ClusterRoleBinding) refers to."""
        kind, name = reference.get("kind"), reference.get("name", "")
        if kind == "Role":
            role = self.store.find(resources.ROLES, namespace, name)
        elif kind == "ClusterRole":
            role = self.store.find(resources.CLUSTERROLES, None, name)
        else:
            return [], f"unsupported role reference kind: {quote(kind or '')}"
        if role is None:
            return [], f"{kind.lower()}.{API_GROUP} {quote(name)} not found"
        return role.get("rules") or [], None

    def visit(self, user, namespace):
        """(binding, subject, rule, error) for each rule granted to ``user`` in ``namespace`` ('' for cluster-wide
        requests): the ClusterRoleBindings' first, then the namespace's RoleBindings'; a binding whose role
        cannot be read yields its error instead."""
        with self.store.shared_reads():
            bindings = [(binding, "") for binding in self.store.list(resources.CLUSTERROLEBINDINGS)[0]]
            if namespace:
                bindings += [(binding, namespace) for binding in self.store.list(resources.ROLEBINDINGS, namespace)[0]]
        for binding, binding_namespace in bindings:
            subject = next((s for s in binding.get("subjects") or [] if _subject_applies(user, s, binding_namespace)), None)
            if subject is None:
                continue
            rules, error = self.role_rules(binding.get("roleRef") or {}, binding_namespace)
            if error:
                yield binding, subject, None, error
            for rule in rules:
                yield binding, subject, rule, None

    def rules_for(self, user, namespace):
        """(rules, errors): every rule that applies to ``user`` in ``namespace``."""
        rules, errors = [], []
        for _, _, rule, error in self.visit(user, namespace):
            if error:
                errors.append(error)
            else:
                rules.append(rule)
        return rules, errors


class AllowAll:
    """The authorizer without ``--authorization-mode RBAC``: everything is allowed."""

    @staticmethod
    def authorize(_attributes):
        return True, ""


class Authorizer:
    """``--authorization-mode RBAC``: system:masters, then the RBAC rules."""

    def __init__(self, store):
        self.resolver = RuleResolver(store)

    def authorize(self, attributes):
        """(allowed, reason)."""
        if MASTERS in attributes.user.groups:
            return True, ""
        errors = []
        for binding, subject, rule, error in self.resolver.visit(attributes.user, attributes.namespace):
            if error:
                errors.append(error)
            elif rule_allows(attributes, rule):
                return True, f"RBAC: allowed by {describe_grant(binding, subject)}"
        return False, f"RBAC: {aggregate_errors(errors)}" if errors else ""


def forbidden(attributes, reason=""):
    """The 403 of a denied request: the message and details the real server writes."""
    if attributes.resource_request:
        resource = f"{attributes.resource}/{attributes.subresource}" if attributes.subresource else attributes.resource
        place = f"in the namespace {quote(attributes.namespace)}" if attributes.namespace else "at the cluster scope"
        message = (f"User {quote(attributes.user.name)} cannot {attributes.verb} resource {quote(resource)} "
                   f"in API group {quote(attributes.group)} {place}")
    else:
        message = f"User {quote(attributes.user.name)} cannot {attributes.verb} path {quote(attributes.path)}"
    if reason:
        message = f"{message}: {reason}"
    if not attributes.resource_request:
        return Forbidden(f"forbidden: {message}", details={})
    qualified = f"{attributes.resource}.{attributes.group}" if attributes.group else attributes.resource
    return Forbidden(f"{qualified} {quote(attributes.name)} is forbidden: {message}" if attributes.name else f"{qualified} is forbidden: {message}",
                     details=object_details(attributes.group, attributes.resource, attributes.name))


def object_details(group, resource, name):
    details = {}
    if name:
        details["name"] = name
    if group:
        details["group"] = group
    details["kind"] = resource
    return details


# ---------------------------------------------------------------- aggregation


def aggregated_rules(cluster_role, cluster_roles):
    """The rules of an aggregated ClusterRole: those of the other ClusterRoles its selectors match, each
    selector's by name, every rule once (what the aggregation controller writes)."""
    rules = []
    for selector in ((cluster_role.get("aggregationRule") or {}).get("clusterRoleSelectors") or []):
        matched = sorted((role for role in cluster_roles if selector_matches(selector, role["metadata"].get("labels"))),
                         key=lambda role: role["metadata"]["name"])
        for role in matched:
            if role["metadata"]["name"] == cluster_role["metadata"]["name"]:
                continue
            rules += [rule for rule in role.get("rules") or [] if rule not in rules]
    return rules


# ---------------------------------------------------------------- escalation


def _breakdown(rule):
    """Rules with at most one verb, group, resource, name or URL each, granting what ``rule`` grants."""
    subrules = []
    for group in _listed(rule, "apiGroups"):
        for resource in _listed(rule, "resources"):
            for verb in _listed(rule, "verbs"):
                base = {"apiGroups": [group], "resources": [resource], "verbs": [verb]}
                names = _listed(rule, "resourceNames")
                subrules += [dict(base, resourceNames=[name]) for name in names] if names else [base]
    for url in _listed(rule, "nonResourceURLs"):
        subrules += [{"nonResourceURLs": [url], "verbs": [verb]} for verb in _listed(rule, "verbs")]
    return subrules


def _resources_cover(owned, wanted):
    if ALL in owned:
        return True
    for path in wanted:
        if path in owned:
            continue
        if "/" not in path or f"*/{path.split('/', 1)[1]}" not in owned:
            return False
    return True


def _rule_covers(owner, subrule):
    owned_names, wanted_names = _listed(owner, "resourceNames"), _listed(subrule, "resourceNames")
    names = not owned_names or (bool(wanted_names) and set(wanted_names) <= set(owned_names))
    return ((ALL in _listed(owner, "verbs") or set(_listed(subrule, "verbs")) <= set(_listed(owner, "verbs")))
            and (ALL in _listed(owner, "apiGroups") or set(_listed(subrule, "apiGroups")) <= set(_listed(owner, "apiGroups")))
            and _resources_cover(_listed(owner, "resources"), _listed(subrule, "resources"))
            and names
            and all(any(_url_covers(pattern, url) for pattern in _listed(owner, "nonResourceURLs")) for url in _listed(subrule, "nonResourceURLs")))


def missing_rules(owned, granted):
    """The parts of ``granted`` that no rule of ``owned`` covers, combined by resource as the server reports them."""
    missing = [subrule for rule in granted for subrule in _breakdown(rule) if not any(_rule_covers(owner, subrule) for owner in owned)]
    compacted, simple = [], {}
    for rule in missing:
        names = _listed(rule, "resourceNames")
        if "resources" not in rule or len(names) > 1:
            compacted.append(rule)
            continue
        key = (rule["apiGroups"][0], rule["resources"][0], names[0] if names else None)
        if key in simple:
            simple[key]["verbs"] += [verb for verb in rule["verbs"] if verb not in simple[key]["verbs"]]
        else:
            simple[key] = {name: list(values) for name, values in rule.items()}
    return compacted + list(simple.values())


def _go_strings(values):
    return "[" + " ".join(quote(value) for value in values) + "]"


def compact_string(rule):
    """A rule as rbac's CompactString prints it: {APIGroups:["apps"], Resources:["deployments"], Verbs:["delete"]}."""
    parts = [f"{label}:{_go_strings(rule[key])}" for label, key in
             (("APIGroups", "apiGroups"), ("Resources", "resources"), ("NonResourceURLs", "nonResourceURLs"),
              ("ResourceNames", "resourceNames"), ("Verbs", "verbs")) if rule.get(key)]
    return "{" + ", ".join(parts) + "}"


_requester = threading.local()


@contextlib.contextmanager
def acting_for(attributes, authorizer):
    """Writes made inside (on this thread) are the request's: checked for privilege escalation as its user's."""
    previous = getattr(_requester, "request", None)
    _requester.request = (attributes, authorizer)
    try:
        yield
    finally:
        _requester.request = previous


def _granted_rules(rtype, obj, attributes, authorizer):
    """The rules a write of a role or binding grants, or None when its writer may grant anything it names."""
    user = attributes.user
    if rtype.key in (resources.ROLES.key, resources.CLUSTERROLES.key):
        escalate = Attributes(user, "escalate", group=attributes.group, version=ALL, resource=attributes.resource,
                              name=attributes.name, namespace=attributes.namespace)
        return None if authorizer.authorize(escalate)[0] else obj.get("rules") or []
    reference = obj.get("roleRef") or {}
    bound = {"ClusterRole": "clusterroles", "Role": "roles"}.get(reference.get("kind"))
    if bound and authorizer.authorize(Attributes(user, "bind", group=reference.get("apiGroup", ""), resource=bound,
                                                 name=reference.get("name", ""), namespace=attributes.namespace))[0]:
        return None
    rules, error = authorizer.resolver.role_rules(reference, attributes.namespace)
    if error and bound:
        kind = resources.ROLES if bound == "roles" else resources.CLUSTERROLES
        raise NotFound.for_object(kind, reference.get("name", ""))
    if error:
        raise ApiError(f"Internal error occurred: {error}")
    return rules


def prevent_escalation(rtype, obj, _old, _store):
    """Refuse a role or binding that grants more than its writer holds (the RBAC registry's check); writes not made
    for an RBAC-authorized request (the controllers', seeds') are not checked."""
    acting = getattr(_requester, "request", None)
    if acting is None:
        return
    attributes, authorizer = acting
    if MASTERS in attributes.user.groups:
        return
    granted = _granted_rules(rtype, obj, attributes, authorizer)
    if granted is None:
        return
    owned, errors = authorizer.resolver.rules_for(attributes.user, attributes.namespace)
    missing = missing_rules(owned, granted)
    if not missing:
        return
    user = attributes.user
    message = (f"user {quote(user.name)} (groups={_go_strings(user.groups)}) is attempting to grant RBAC permissions not currently held:\n"
               + "\n".join(sorted({compact_string(rule) for rule in missing})))
    if errors:
        message += f"; resolution errors: [{' '.join(errors)}]"
    name = obj["metadata"].get("name", "")
    raise Forbidden(f"{rtype.plural}.{rtype.group} {quote(name)} is forbidden: {message}", details=object_details(rtype.group, rtype.plural, name))
