"""Discovery documents: /version, /api, /apis, the per-group-version resource lists, the
aggregated discovery form (apidiscovery.k8s.io/v2) kubectl asks for first, the OpenAPI v3
index kubectl reads to learn that the server validates fields itself (``fieldValidation``), and
the OpenAPI v2 document older kubectl versions read before they validate or apply a manifest.
"""

import hashlib
import json

from .. import resources
from .protobuf import length_delimited

GIT_VERSION = "v1.32.4"
AGGREGATED_MEDIA_TYPE = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

# Subresources with a body of their own kind, and the verbs each accepts.
_SUBRESOURCE_KINDS = {
    "scale": (("autoscaling", "v1", "Scale"), ("get", "patch", "update")),
    "eviction": (("policy", "v1", "Eviction"), ("create",)),
    "token": (("authentication.k8s.io", "v1", "TokenRequest"), ("create",)),
}
_OWN_KIND_SUBRESOURCE_VERBS = {
    "status": ("get", "patch", "update"),
    "finalize": ("update",),
}


def version():
    major, minor, _ = GIT_VERSION[1:].split(".")
    return {
        "major": major, "minor": minor, "gitVersion": GIT_VERSION, "gitCommit": "0" * 40, "gitTreeState": "clean",
        "buildDate": "2025-04-22T16:03:00Z", "goVersion": "go1.23.8", "compiler": "gc", "platform": "linux/amd64",
    }


def _subresource(rtype, name):
    """(group, version, kind, verbs) of one subresource of ``rtype``."""
    if name in _SUBRESOURCE_KINDS:
        (group, version_, kind), verbs = _SUBRESOURCE_KINDS[name]
        return group, version_, kind, verbs
    return rtype.group, rtype.version, rtype.kind, _OWN_KIND_SUBRESOURCE_VERBS[name]


def _api_resource(rtype):
    entry = {"name": rtype.plural, "singularName": rtype.singular_name, "namespaced": rtype.namespaced, "kind": rtype.kind,
             "verbs": list(rtype.verbs)}
    if rtype.short_names:
        entry["shortNames"] = list(rtype.short_names)
    if rtype.categories:
        entry["categories"] = list(rtype.categories)
    entry["storageVersionHash"] = hashlib.sha256(f"{rtype.group}/{rtype.version}/{rtype.kind}".encode()).hexdigest()[:12]
    return entry


def _api_subresource(rtype, name):
    group, version_, kind, verbs = _subresource(rtype, name)
    entry = {"name": f"{rtype.plural}/{name}", "singularName": "", "namespaced": rtype.namespaced, "kind": kind, "verbs": list(verbs)}
    if (group, version_) != (rtype.group, rtype.version):
        entry["group"], entry["version"] = group, version_
    return entry


def resource_list(group, version_):
    """The APIResourceList at /api/v1 or /apis/<group>/<version>, or None if not served."""
    served = resources.in_group_version(group, version_)
    if not served:
        return None
    entries = []
    for rtype in served:
        entries.append(_api_resource(rtype))
        entries.extend(_api_subresource(rtype, name) for name in rtype.subresources)
    group_version = f"{group}/{version_}" if group else version_
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": entries}


def core_versions(server_address):
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]}


def _group_version(group, version_):
    return {"groupVersion": f"{group}/{version_}", "version": version_}


def _api_group(group, versions):
    return {"name": group, "versions": [_group_version(group, v) for v in versions], "preferredVersion": _group_version(group, versions[0])}


def group_list():
    groups = [_api_group(group, versions) for group, versions in resources.group_versions().items() if group]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(group):
    versions = resources.group_versions().get(group)
    if not group or not versions:
        return None
    return dict(_api_group(group, versions), kind="APIGroup", apiVersion="v1")


# ---------------------------------------------------------------- aggregated discovery (v2)


def _response_kind(group, version_, kind):
    return {"group": group, "version": version_, "kind": kind}


def _discovery_resource(rtype):
    entry = {
        "resource": rtype.plural,
        "responseKind": _response_kind(rtype.group, rtype.version, rtype.kind),
        "scope": "Namespaced" if rtype.namespaced else "Cluster",
        "singularResource": rtype.singular_name,
        "verbs": list(rtype.verbs),
    }
    if rtype.short_names:
        entry["shortNames"] = list(rtype.short_names)
    if rtype.categories:
        entry["categories"] = list(rtype.categories)
    subresources = []
    for name in rtype.subresources:
        group, version_, kind, verbs = _subresource(rtype, name)
        subresources.append({"subresource": name, "responseKind": _response_kind(group, version_, kind), "verbs": list(verbs)})
    if subresources:
        entry["subresources"] = subresources
    return entry


def _discovery_group(group, versions):
    return {
        "metadata": {"name": group, "creationTimestamp": None},
        "versions": [
            {"version": v, "resources": [_discovery_resource(r) for r in resources.in_group_version(group, v)], "freshness": "Current"}
            for v in versions
        ],
    }


def aggregated(core):
    """APIGroupDiscoveryList for /api (``core``) or /apis."""
    items = [_discovery_group(group, versions) for group, versions in resources.group_versions().items() if (group == "") == core]
    return {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items}


def wants_aggregated(media_ranges):
    """Whether the parsed Accept header asks for aggregated discovery v2 (clients list it before plain JSON)."""
    wanted = {"g": "apidiscovery.k8s.io", "v": "v2", "as": "APIGroupDiscoveryList"}
    return any(all(params.get(k) == v for k, v in wanted.items()) for _, params in media_ranges)


# ---------------------------------------------------------------- OpenAPI v2

# The forms of /openapi/v2, as the real handler offers them: JSON, and gnostic's openapi_v2.Document in protobuf
# under two names; kubectl before 1.27 asks for the older one, answered under the newer.
_OPENAPI_V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
_OPENAPI_V2_FORMS = (("application/json", "application/json"),
                     ("application/com.github.proto-openapi.spec.v2@v1.0+protobuf", _OPENAPI_V2_PROTOBUF),
                     (_OPENAPI_V2_PROTOBUF, _OPENAPI_V2_PROTOBUF))


def openapi_v2():
    """The Swagger 2.0 document of /openapi/v2. kubectl before 1.27 (Debian's is 1.20) reads it for every
    command that validates or applies a manifest, and fails when the server does not serve it. Like the v3
    documents it defines no kind: for a group-version-kind without a definition kubectl validates nothing
    itself (the server does) and computes apply patches from its built-in types."""
    return {"swagger": "2.0", "info": {"title": "Kubernetes", "version": GIT_VERSION}, "paths": {}, "definitions": {}}


def openapi_v2_protobuf(document):
    """``document`` (from openapi_v2) as the protobuf openapi_v2.Document: swagger (field 1), info (2: title 1,
    version 2), paths (8) and definitions (9), the last two empty."""
    info = length_delimited(1, document["info"]["title"]) + length_delimited(2, document["info"]["version"])
    return length_delimited(1, document["swagger"]) + length_delimited(2, info) + length_delimited(8, b"") + length_delimited(9, b"")


def openapi_v2_content_type(media_ranges):
    """The content type /openapi/v2 answers an Accept header with: the first of its forms that a range (in the
    order given, wildcards included) accepts; None when none does (406)."""
    for media_range, _ in media_ranges:
        kind, _, subtype = media_range.partition("/")
        for offered, answered in _OPENAPI_V2_FORMS:
            offered_kind, _, offered_subtype = offered.partition("/")
            if kind in (offered_kind, "*") and subtype in (offered_subtype, "*"):
                return answered
    return None


# ---------------------------------------------------------------- OpenAPI v3

# Query parameters of a write; kubectl checks the PATCH operation for fieldValidation (does the
# server validate fields itself?) and dryRun (does --dry-run=server work?).
_WRITE_PARAMETERS = [
    {"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
    for name in ("dryRun", "fieldManager", "fieldValidation", "force")
]
_PATCH_MEDIA_TYPES = ("application/json-patch+json", "application/merge-patch+json", "application/strategic-merge-patch+json",
                      "application/apply-patch+yaml")


def _gv_path(group, version_):
    return f"apis/{group}/{version_}" if group else f"api/{version_}"


def _object_path(rtype):
    scope = "/namespaces/{namespace}" if rtype.namespaced else ""
    return f"/{_gv_path(rtype.group, rtype.version)}{scope}/{rtype.plural}/{{name}}"


def _object_operations(rtype):
    gvk = {"group": rtype.group, "version": rtype.version, "kind": rtype.kind}
    ref = {"$ref": f"#/components/schemas/{_schema_name(rtype)}"}

    def operation(action, verb, parameters=()):
        return {"operationId": f"{action}{rtype.kind}", "parameters": list(parameters), "x-kubernetes-action": verb,
                "x-kubernetes-group-version-kind": gvk,
                "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": ref}}}}}

    patch = operation("patch", "patch", _WRITE_PARAMETERS)
    patch["requestBody"] = {"content": {media: {"schema": {"type": "object"}} for media in _PATCH_MEDIA_TYPES}, "required": True}
    return {"get": operation("read", "get"), "put": operation("replace", "put", _WRITE_PARAMETERS), "patch": patch,
            "delete": operation("delete", "delete", _WRITE_PARAMETERS[:1])}


def _schema_name(rtype):
    return f"{rtype.group or 'core'}.{rtype.version}.{rtype.kind}"


def openapi_index():
    paths = {}
    for group, versions in resources.group_versions().items():
        for version_ in versions:
            path = _gv_path(group, version_)
            paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={_document_hash(group, version_)}"}
    return {"paths": paths}


def _document_hash(group, version_):
    return hashlib.sha512(json.dumps(openapi_document(group, version_), sort_keys=True).encode()).hexdigest()[:64].upper()


def openapi_document(group, version_):
    """The OpenAPI v3 document of one group-version: its object paths with their query parameters.

    The schemas carry no group-version-kind, so kubectl computes apply patches from its built-in
    types (with their merge keys) rather than from a schema that lacks them."""
    served = resources.in_group_version(group, version_)
    if not served:
        return None
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": GIT_VERSION},
        "paths": {_object_path(rtype): _object_operations(rtype) for rtype in served},
        "components": {"schemas": {
            _schema_name(rtype): {"type": "object", "x-kubernetes-preserve-unknown-fields": True} for rtype in served
        }},
    }
