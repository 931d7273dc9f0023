"""The REST semantics of the API server, independent of HTTP: a Request in, a Response out.

Reads, writes, patches, watches, subresources (status, scale, eviction) and discovery for every
resource in the registry, answering with the bodies and status codes a real API server sends.
Each client request for a resource gets the labels it is counted under in the request metrics,
and may be failed by a fault rule before its handler runs.
"""

import base64
import binascii
import contextlib
import dataclasses
import functools
import json
import threading
from dataclasses import dataclass, field

import yaml

from .. import managedfields, resources
from ..errors import ApiError, BadRequest, Conflict, Invalid, MethodNotAllowed, NotFound, TooManyRequests, UnsupportedMediaType
from ..selectors import parse_field_selector, parse_label_selector, selector_matches
from ..store import copy_json
from . import crds, discovery, disruption, faults, fields, metrics, patch, protobuf, rbac, reviews, tables
from .access import AccessControl
from .admin import PREFIX as ADMIN_PREFIX, Admin
from .conversion import conversion_for
from .routing import not_found, resolve
from .tokens import ServiceAccountTokens

JSON = "application/json"
# How often an idle watch that asked for bookmarks gets one (real servers: about a minute).
BOOKMARK_INTERVAL_SECONDS = 10.0
DEFAULT_WATCH_TIMEOUT_SECONDS = 1800.0
# A patch retries on a concurrent write, as the real server's optimistic loop does.
PATCH_ATTEMPTS = 5
_BOOLEAN_TRUE = ("1", "t", "T", "true", "TRUE", "True")
_BODY_MEDIA_TYPES = (JSON, "application/yaml", protobuf.MEDIA_TYPE)


@dataclass
class Request:
    method: str
    path: str
    query: dict
    headers: dict
    body: bytes = b""
    # Warning headers for the response, e.g. the unknown fields dropped from the body.
    warnings: list = field(default_factory=list)
    # The labels the request is counted under in the request metrics; None: not counted.
    labels: tuple = None
    # The Impersonate-Group headers (there may be several).
    impersonate_groups: tuple = ()
    # What the request was authorized to do, and as whom (rbac.Attributes).
    attributes: object = None
    # Who sent it (users.UserInfo; before impersonation), and the authorizer's (allowed, reason): for the audit log.
    requester: object = None
    decision: tuple = None

    def param(self, name, default=None):
        return self.query.get(name, default)

    def flag(self, name):
        return self.param(name, "") in _BOOLEAN_TRUE

    @property
    def media_ranges(self):
        return parse_accept(self.headers.get("accept", ""))

    @property
    def content_type(self):
        return (self.headers.get("content-type") or "").split(";")[0].strip().lower()


@dataclass
class Response:
    code: int
    body: object
    content_type: str = JSON
    headers: dict = field(default_factory=dict)
    # Real seconds to hold the answer back (an injected request timeout).
    delay: float = 0.0


@dataclass
class WatchStream:
    """A watch to stream: ``events`` first, then what ``watch`` delivers, each rendered by ``render``.
    An injected fault may cut it after ``cut_events`` events or ``cut_seconds`` real seconds."""

    watch: object
    render: object
    timeout: float
    bookmarks: bool
    events: list = field(default_factory=list)
    bookmark: object = None
    cut_events: int = None
    cut_seconds: float = None


def parse_accept(header):
    """[(media type, {param: value}), ...] of an Accept header, in the order given."""
    ranges = []
    for part in header.split(","):
        pieces = [piece.strip() for piece in part.split(";")]
        params = dict(piece.split("=", 1) for piece in pieces[1:] if "=" in piece)
        ranges.append((pieces[0].lower(), params))
    return ranges


def wants_table(request):
    return any(params.get("as") == "Table" for _, params in request.media_ranges)


def success_status(code=None, details=None):
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}
    if code is not None:
        body["code"] = code
    if details is not None:
        body["details"] = details
    return body


def _decode_body(request):
    if request.content_type not in _BODY_MEDIA_TYPES + ("",):
        raise UnsupportedMediaType(
            f'the body of the request was in an unknown format - accepted media types include: {", ".join(_BODY_MEDIA_TYPES)}'
        )
    if request.content_type == protobuf.MEDIA_TYPE:
        return protobuf.decode(request.body)
    try:
        text = request.body.decode("utf-8")
        document = json.loads(text) if request.content_type != "application/yaml" else yaml.safe_load(text)
    except (UnicodeDecodeError, ValueError, yaml.YAMLError) as exc:
        raise BadRequest(f"couldn't get version/kind; json parse error: {exc}") from exc
    if not isinstance(document, dict):
        raise BadRequest("couldn't get version/kind; json parse error: the body must be a JSON object")
    return document


def _check_kind(document, rtype):
    """A body's apiVersion and kind must name the kind served at the URL (missing ones are taken from it)."""
    api_version, kind = document.get("apiVersion"), document.get("kind")
    if api_version and api_version != rtype.api_version:
        raise BadRequest(f"the API version in the data ({api_version}) does not match the expected API version ({rtype.api_version})")
    if kind and kind != rtype.kind:
        raise BadRequest(f'{kind} in version "{rtype.version}" cannot be handled as a {rtype.kind}: '
                         f"the kind in the data ({kind}) does not match the expected kind ({rtype.kind})")


def _metadata(document):
    metadata = document.setdefault("metadata", {})
    if not isinstance(metadata, dict):
        raise BadRequest("metadata must be an object")
    return metadata


def _check_namespace(document, target):
    metadata = _metadata(document)
    if not target.rtype.namespaced:
        return
    if metadata.get("namespace") and metadata["namespace"] != target.namespace:
        raise BadRequest("the namespace of the provided object does not match the namespace sent on the request")
    metadata["namespace"] = target.namespace


def _decode_checks(request, rtype, document):
    """Shape checks, and field validation as the fieldValidation parameter asks: Strict rejects unknown
    fields, Warn (the default) drops them with a warning, Ignore drops them silently."""
    directive = request.param("fieldValidation", "Warn")
    warnings = fields.decode_checks(rtype, document, strict=directive == "Strict")
    if directive != "Ignore":
        request.warnings.extend(warnings)


def _dry_run(request):
    value = request.param("dryRun")
    if value not in (None, "All"):
        raise BadRequest(f'dryRun: Unsupported value: "{value}": supported values: "All"')
    return value == "All"


def _label_requirements(request):
    return parse_label_selector(request.param("labelSelector", ""))


def _field_requirements(request):
    return parse_field_selector(request.param("fieldSelector", ""))


def _continue_token(resource_version, last):
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": int(resource_version), "start": last}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _continue_start(token):
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        return tuple(decoded["start"])
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise BadRequest(f"continue key is not valid: {exc}") from exc


def _position(obj):
    return [obj["metadata"].get("namespace") or "", obj["metadata"]["name"]]


def _page(items, resource_version, request, position=_position):
    """One page of a list (limit/continue) and the list metadata that goes with it."""
    token = request.param("continue")
    if token:
        start = _continue_start(token)
        items = [item for item in items if tuple(position(item)) > start]
    metadata = {"resourceVersion": resource_version}
    try:
        limit = int(request.param("limit") or 0)
    except ValueError as exc:
        raise BadRequest(f"invalid limit: {request.param('limit')}") from exc
    if limit > 0 and len(items) > limit:
        metadata["continue"] = _continue_token(resource_version, position(items[limit - 1]))
        metadata["remainingItemCount"] = len(items) - limit
        items = items[:limit]
    return items, metadata


def _at(obj, path, default=None):
    """The value at a dotted path (``spec.replicas``), or ``default``."""
    for part in path.split("."):
        obj = obj.get(part) if isinstance(obj, dict) else None
        if obj is None:
            return default
    return obj


def _scale_view(rtype, obj):
    """The autoscaling/v1 Scale of a scalable object; a custom resource's scale subresource names its paths."""
    spec_path, status_path, selector_path = rtype.scale_paths
    if selector_path:
        labels = _at(obj, selector_path, "")
    else:
        selector = (obj.get("spec") or {}).get("selector") or {}
        labels = ",".join(f"{k}={v}" for k, v in (selector.get("matchLabels") or {}).items())
    metadata = {k: obj["metadata"][k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp") if k in obj["metadata"]}
    return {
        "kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": metadata,
        "spec": {"replicas": _at(obj, spec_path, 0)},
        "status": {"replicas": _at(obj, status_path, 0), "selector": labels},
    }


def _scale_replicas(scale):
    replicas = (scale.get("spec") or {}).get("replicas", 0)
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        raise Invalid(resources.by_path("apps", "v1", "deployments"), "Scale", scale["metadata"].get("name", ""),
                      [("spec.replicas", "FieldValueInvalid", f"Invalid value: {replicas}: must be greater than or equal to 0")])
    return replicas


class Api:
    def __init__(self, store, engine, fault_rules, server_address=lambda: "127.0.0.1:0", access=None):
        self.store = store
        self.server_address = server_address
        self.access = access or AccessControl(store, ServiceAccountTokens(store))
        self.metrics = metrics.RequestMetrics()
        self.faults = fault_rules
        self.admin = Admin(fault_rules, engine, store.clock)
        # Evictions of one namespace are decided one at a time, so two cannot spend the same disruption.
        self._eviction_lock = threading.Lock()
        self._fixed_paths = {
            "/healthz": self._health, "/livez": self._health, "/readyz": self._health,
            "/version": lambda _: Response(200, discovery.version()),
            "/api": lambda request: self._discovery_root(request, core=True),
            "/apis": lambda request: self._discovery_root(request, core=False),
            "/openapi/v2": self._openapi_v2,
            "/openapi/v3": lambda _: Response(200, discovery.openapi_index()),
            "/metrics": lambda _: Response(200, self.metrics.exposition(), metrics.CONTENT_TYPE),
        }

    # ---------------------------------------------------------------- dispatch

    def handle(self, request):
        path = request.path.rstrip("/") or "/"
        # kubesim's own endpoints are the test harness's, outside the cluster's access control.
        if path.startswith(ADMIN_PREFIX):
            return Response(*self.admin.handle(request, path))
        request.attributes = self.access.authorize_request(request)
        fixed = self._fixed_paths.get(path)
        if fixed is not None:
            return fixed(request)
        if path.startswith("/openapi/v3/"):
            return self._openapi_document(path[len("/openapi/v3/"):])
        discovered = self._group_discovery(path)
        if discovered is not None:
            return Response(200, discovered)
        if request.method not in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            raise MethodNotAllowed("the server does not allow this method on the requested resource", details={})
        target = resolve(path)
        request.labels = metrics.resource_labels(request, target)
        rule = self.faults.firing(request.labels, target)
        if rule is None:
            return self._resource(request, target)
        return self._injected(rule, request, target)

    def _injected(self, rule, request, target):
        """The answer of a fault rule: a failure instead of the handler's, or (cut-watch) the watch, to be cut."""
        if rule.fault != "cut-watch":
            return Response(**faults.failure(rule, request, target))
        stream = self._resource(request, target)
        if isinstance(stream, WatchStream):
            stream.cut_events, stream.cut_seconds = rule.events, rule.seconds
        return stream

    def _health(self, request):
        request.labels = metrics.path_labels(request, request.path.rstrip("/"), component="")
        return Response(200, "ok", "text/plain; charset=utf-8")

    def _discovery_root(self, request, core):
        if discovery.wants_aggregated(request.media_ranges):
            request.labels = metrics.path_labels(request, "/api" if core else "/apis", component=metrics.COMPONENT)
            return Response(200, discovery.aggregated(core), discovery.AGGREGATED_MEDIA_TYPE)
        return Response(200, discovery.core_versions(self.server_address()) if core else discovery.group_list())

    @staticmethod
    def _group_discovery(path):
        parts = [part for part in path.split("/") if part]
        if len(parts) == 2 and parts[0] == "api":
            return discovery.resource_list("", parts[1])
        if len(parts) == 2 and parts[0] == "apis":
            return discovery.api_group(parts[1])
        if len(parts) == 3 and parts[0] == "apis":
            return discovery.resource_list(parts[1], parts[2])
        return None

    @staticmethod
    def _openapi_v2(request):
        # A request without an Accept header takes any form.
        content_type = discovery.openapi_v2_content_type(parse_accept(request.headers.get("accept") or "*/*"))
        if content_type is None:
            return Response(406, b"", "text/plain; charset=utf-8", {"Vary": "Accept"})
        document = discovery.openapi_v2()
        body = document if content_type == JSON else discovery.openapi_v2_protobuf(document)
        return Response(200, body, content_type, {"Vary": "Accept"})

    @staticmethod
    def _openapi_document(group_version_path):
        parts = group_version_path.split("/")
        if len(parts) == 2 and parts[0] == "api":
            document = discovery.openapi_document("", parts[1])
        elif len(parts) == 3 and parts[0] == "apis":
            document = discovery.openapi_document(parts[1], parts[2])
        else:
            document = None
        if document is None:
            raise not_found()
        return Response(200, document)

    def _resource(self, request, target):
        """Serve a resource request, its writes recorded in managedFields as the request's field manager's."""
        if request.method == "GET":
            return self._serve_resource(request, target)
        manager = request.param("fieldManager") or managedfields.manager_from_user_agent(request.headers.get("user-agent", ""))
        operation = managedfields.APPLY if request.method == "PATCH" and request.content_type == patch.APPLY_PATCH else managedfields.UPDATE
        acting = rbac.acting_for(request.attributes, self.access.authorizer) if self.access.rbac else contextlib.nullcontext()
        with self.store.writer(manager, operation, "scale" if target.subresource == "scale" else None), acting:
            return self._serve_resource(request, target)

    def _serve_resource(self, request, target):
        answer = reviews.ANSWERS.get(target.rtype.key)
        if answer is not None:
            return self._require_method(request, target, {"POST": functools.partial(self._review, answer)})
        if target.subresource == "token":
            return self._require_method(request, target, {"POST": self._token})
        converted = conversion_for(target.rtype)
        if converted is not None:
            return self._serve_converted(request, target, converted)
        if target.subresource == "eviction":
            return self._require_method(request, target, {"POST": self._evict})
        if target.subresource == "scale":
            return self._require_method(request, target, {"GET": self._get_scale, "PUT": self._put_scale, "PATCH": self._patch_scale})
        if target.subresource is not None:
            return self._require_method(request, target, {"GET": self._get, "PUT": self._update, "PATCH": self._patch})
        if target.is_collection:
            handlers = {"GET": self._list_or_watch, "POST": self._create, "DELETE": self._delete_collection}
        else:
            handlers = {"GET": self._watch_one if target.legacy_watch or request.flag("watch") else self._get,
                        "PUT": self._update, "PATCH": self._patch, "DELETE": self._delete}
        return self._require_method(request, target, handlers)

    def _serve_converted(self, request, target, converted):
        """A request to a version served by conversion: its body goes to the stored version, the answer comes back."""
        stored = dataclasses.replace(target, rtype=converted.stored)
        if request.method == "PATCH" and request.content_type != patch.APPLY_PATCH:
            schema = patch.schema_for(converted.stored)

            def patched(current):
                return converted.to_stored(patch.apply(request.content_type, request.body, converted.to_served(current), schema))

            return Response(200, converted.to_served(self._write_patched(request, stored, patched, target.subresource)))
        if request.method in ("POST", "PUT", "PATCH") and request.body.strip():
            document = patch.decode_apply_configuration(request.body) if request.method == "PATCH" else _decode_body(request)
            _check_kind(document, target.rtype)
            document.update(apiVersion=converted.served.api_version, kind=converted.served.kind)
            body = json.dumps(converted.to_stored(document)).encode()
            headers = dict(request.headers) if request.method == "PATCH" else dict(request.headers, **{"content-type": JSON})
            request = dataclasses.replace(request, body=body, headers=headers)
        response = self._serve_resource(request, stored)
        if isinstance(response, WatchStream):
            render = response.render
            response.render = lambda event_type, obj: render(event_type, converted.render(obj) if event_type != "ERROR" else obj)
            return response
        return Response(response.code, converted.render(response.body), response.content_type)

    @staticmethod
    def _require_method(request, target, handlers):
        handler = handlers.get(request.method)
        verb = _VERBS.get((request.method, target.is_collection))
        if handler is None or (target.subresource is None and verb not in target.rtype.verbs):
            raise MethodNotAllowed("the server does not allow this method on the requested resource", details={})
        if target.rtype.namespaced and not target.namespace and not (request.method == "GET" and target.is_collection):
            raise not_found()
        return handler(request, target)

    # ---------------------------------------------------------------- reads

    def _table(self, request, target, objects, list_metadata):
        """The Table ``kubectl get`` prints, its ages as of the simulated clock's now."""
        return tables.table(target.rtype, objects, self.store.clock.wall(), request.param("includeObject", "Metadata"), list_metadata)

    def _render(self, request, target, obj):
        if wants_table(request):
            return self._table(request, target, [obj], {"resourceVersion": obj["metadata"].get("resourceVersion", "")})
        return obj

    def _get(self, request, target):
        if not wants_table(request):
            return Response(200, self.store.get_encoded(target.rtype, target.namespace, target.name))
        obj = self.store.get(target.rtype, target.namespace, target.name)
        return Response(200, self._render(request, target, obj))

    def _list_or_watch(self, request, target):
        if target.legacy_watch or request.flag("watch"):
            return self._watch(request, target)
        selection = (target.rtype, target.namespace, _label_requirements(request), _field_requirements(request))
        if wants_table(request):
            items, resource_version = self.store.list(*selection)
            items, metadata = _page(items, resource_version, request)
            return Response(200, self._table(request, target, items, metadata))
        # The items go out as the store encoded them; only the list's envelope is encoded here.
        encoded, resource_version = self.store.list_encoded(*selection)
        encoded, metadata = _page(encoded, resource_version, request, position=lambda entry: list(entry[0]))
        envelope = json.dumps({"kind": target.rtype.list_kind, "apiVersion": target.rtype.api_version, "metadata": metadata},
                              separators=(",", ":")).encode()
        return Response(200, envelope[:-1] + b',"items":[' + b",".join(data for _, data in encoded) + b"]}")

    # ---------------------------------------------------------------- watch

    def _watch_one(self, request, target):
        by_name = [("metadata.name", True, target.name)]
        return self._watch(request, target, by_name)

    def _watch(self, request, target, extra_fields=()):
        field_requirements = _field_requirements(request) + list(extra_fields)
        labels = _label_requirements(request)
        table = wants_table(request)

        def render(event_type, obj):
            if event_type in ("ERROR", "BOOKMARK") or not table:
                return {"type": event_type, "object": obj}
            return {"type": event_type, "object": self._table(request, target, [obj], {"resourceVersion": obj["metadata"].get("resourceVersion", "")})}

        try:
            timeout = float(request.param("timeoutSeconds") or DEFAULT_WATCH_TIMEOUT_SECONDS)
        except ValueError as exc:
            raise BadRequest(f"invalid timeoutSeconds: {request.param('timeoutSeconds')}") from exc
        try:
            watch = self.store.watch(target.rtype, target.namespace, request.param("resourceVersion"), labels, field_requirements)
        except ApiError as exc:
            if exc.code != 410:
                raise
            # An expired resourceVersion is reported inside the stream, as the real server does.
            return WatchStream(None, render, 0, False, [("ERROR", exc.status())])
        return WatchStream(watch, render, timeout, request.flag("allowWatchBookmarks"), bookmark=lambda: self._bookmark(target))

    def _bookmark(self, target):
        return {"kind": target.rtype.kind, "apiVersion": target.rtype.api_version, "metadata": {"resourceVersion": self.store.resource_version}}

    # ---------------------------------------------------------------- writes

    def _create(self, request, target):
        document = _decode_body(request)
        _check_kind(document, target.rtype)
        _check_namespace(document, target)
        _decode_checks(request, target.rtype, document)
        if target.rtype.has_status():
            # A new object's status is the server's to set.
            document.pop("status", None)
        created = self.store.create(target.rtype, document, dry_run=_dry_run(request))
        return Response(201, created)

    def _updated_document(self, request, target):
        document = _decode_body(request)
        _check_kind(document, target.rtype)
        _check_namespace(document, target)
        name = _metadata(document).get("name")
        if name and name != target.name:
            raise BadRequest(f"the name of the object ({name}) does not match the name on the URL ({target.name})")
        document["metadata"]["name"] = target.name
        _decode_checks(request, target.rtype, document)
        return document

    def _update(self, request, target):
        document = self._updated_document(request, target)
        dry_run = _dry_run(request)
        absent = self.store.find(target.rtype, target.namespace, target.name) is None
        if absent and target.subresource is None and target.rtype.key in _CREATE_ON_UPDATE and not document["metadata"].get("resourceVersion"):
            return Response(201, self.store.create(target.rtype, document, dry_run=dry_run))
        return Response(200, self.store.update(target.rtype, document, subresource=target.subresource, dry_run=dry_run))

    def _patch(self, request, target):
        if request.content_type == patch.APPLY_PATCH:
            return self._apply(request, target)
        schema = patch.schema_for(target.rtype)

        def patched(current):
            return patch.apply(request.content_type, request.body, current, schema)

        return Response(200, self._write_patched(request, target, patched, target.subresource))

    def _write_patched(self, request, target, patched_from, subresource):
        """Apply ``patched_from(current)`` to the stored object and write it, retrying on concurrent writes
        unless the patch itself names the resourceVersion it expects."""
        dry_run = _dry_run(request)
        for attempt in range(PATCH_ATTEMPTS):
            current = self.store.get(target.rtype, target.namespace, target.name)
            result = patched_from(copy_json(current))
            if not isinstance(result, dict) or not isinstance(result.get("metadata", {}), dict):
                raise BadRequest("the patch must leave an object")
            request.warnings.clear()
            _decode_checks(request, target.rtype, result)
            metadata = result.setdefault("metadata", {})
            metadata.update(name=target.name, namespace=current["metadata"].get("namespace"))
            current_version = current["metadata"]["resourceVersion"]
            demanded = metadata.get("resourceVersion") not in (None, current_version)
            if not demanded:
                metadata["resourceVersion"] = current_version
            try:
                return self.store.update(target.rtype, result, subresource=subresource, dry_run=dry_run)
            except Conflict:
                if demanded or attempt == PATCH_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _apply(self, request, target):
        """Server-side apply: create the object from the configuration, or merge the configuration into it
        and drop the fields this field manager applied before but no longer does."""
        manager = request.param("fieldManager")
        if not manager:
            raise _missing_field_manager()
        configuration = patch.decode_apply_configuration(request.body)
        _check_kind(configuration, target.rtype)
        _check_namespace(configuration, target)
        configuration["metadata"]["name"] = target.name
        owned = patch.field_set(configuration)
        entry = {"manager": manager, "operation": "Apply", "apiVersion": target.rtype.api_version,
                 "time": self.store.clock.timestamp(), "fieldsType": "FieldsV1", "fieldsV1": owned}
        if target.subresource is None and self.store.find(target.rtype, target.namespace, target.name) is None:
            configuration["metadata"]["managedFields"] = [entry]
            return Response(201, self.store.create(target.rtype, configuration, dry_run=_dry_run(request)))
        schema = patch.schema_for(target.rtype)

        def applied(current):
            entries = current["metadata"].get("managedFields") or []
            previous = next((e.get("fieldsV1") or {} for e in entries if e.get("manager") == manager and e.get("operation") == "Apply"), {})
            patch.release_fields(current, previous, owned)
            merged = patch.merge_patch(current, configuration) if schema is None else patch.strategic_merge(current, configuration, schema)
            merged["metadata"]["managedFields"] = [e for e in entries if e.get("manager") != manager] + [entry]
            return merged

        return Response(200, self._write_patched(request, target, applied, target.subresource))

    # ---------------------------------------------------------------- reviews and tokens

    def _review(self, answer, request, target):
        document = _decode_body(request)
        _check_kind(document, target.rtype)
        return Response(201, answer(self.access, request.attributes.user, target.rtype, document, target.namespace))

    def _token(self, request, target):
        document = _decode_body(request)
        if document.get("kind") not in (None, "TokenRequest") or document.get("apiVersion") not in (None, "authentication.k8s.io/v1"):
            raise BadRequest(f"the kind in the data ({document.get('kind')}) does not match the expected kind (TokenRequest)")
        return Response(201, self.access.tokens.token_request(target.namespace, target.name, document))

    # ---------------------------------------------------------------- scale

    def _get_scale(self, _request, target):
        return Response(200, _scale_view(target.rtype, self.store.get(target.rtype, target.namespace, target.name)))

    def _scaled_write(self, request, target, new_scale):
        def with_replicas(current):
            scale = new_scale(_scale_view(target.rtype, current))
            *parents, leaf = target.rtype.scale_paths[0].split(".")
            holder = current
            for part in parents:
                holder = holder.setdefault(part, {})
            holder[leaf] = _scale_replicas(scale)
            rv = (scale.get("metadata") or {}).get("resourceVersion")
            if rv:
                current["metadata"]["resourceVersion"] = rv
            return current

        updated = self._write_patched(request, target, with_replicas, None)
        return Response(200, _scale_view(target.rtype, updated))

    def _put_scale(self, request, target):
        document = _decode_body(request)
        return self._scaled_write(request, target, lambda _current: document)

    def _patch_scale(self, request, target):
        return self._scaled_write(request, target, lambda current: patch.apply(request.content_type, request.body, current, patch.SCALE_SCHEMA))

    # ---------------------------------------------------------------- delete

    @staticmethod
    def _delete_options(request):
        options = _decode_body(request) if request.body.strip() else {}
        grace = options.get("gracePeriodSeconds", request.param("gracePeriodSeconds"))
        policy = options.get("propagationPolicy", request.param("propagationPolicy"))
        if policy is None and options.get("orphanDependents", request.param("orphanDependents")) in (True, "true"):
            policy = "Orphan"
        dry_run = options.get("dryRun") == ["All"] or _dry_run(request)
        try:
            grace = int(grace) if grace is not None else None
        except ValueError as exc:
            raise BadRequest(f"invalid gracePeriodSeconds: {grace}") from exc
        return {"grace_period_seconds": grace, "propagation_policy": policy, "preconditions": options.get("preconditions"), "dry_run": dry_run}

    def _delete_one(self, target, name, options):
        """Delete and say what a real server answers: the object while it lingers (graceful deletion,
        finalizers) or for pods, else a Success Status."""
        if target.rtype.key == resources.CRDS.key and not options.get("dry_run"):
            # A CRD stays, Terminating, until the controller has removed its custom resources.
            now = self.store.clock.timestamp()
            self.store.mutate(target.rtype, None, name, lambda crd: crds.start_deletion(crd, now), subresource="status")
            self.store.mutate(target.rtype, None, name, lambda crd: crds.start_deletion(crd, now))
        result = self.store.delete(target.rtype, target.namespace, name, **options)
        gone = self.store.find(target.rtype, target.namespace, name) is None
        if gone and target.rtype.key != resources.PODS.key:
            details = {"name": name, "kind": target.rtype.plural, "uid": result["metadata"].get("uid")}
            if target.rtype.group:
                details["group"] = target.rtype.group
            return success_status(details=details)
        return result

    def _delete(self, request, target):
        return Response(200, self._delete_one(target, target.name, self._delete_options(request)))

    def _delete_collection(self, request, target):
        options = self._delete_options(request)
        items, resource_version = self.store.list(target.rtype, target.namespace, _label_requirements(request), _field_requirements(request))
        deleted = []
        for item in items:
            try:
                self.store.delete(target.rtype, item["metadata"].get("namespace"), item["metadata"]["name"], **options)
            except NotFound:
                continue
            deleted.append(item)
        return Response(200, {"kind": target.rtype.list_kind, "apiVersion": target.rtype.api_version,
                              "metadata": {"resourceVersion": resource_version}, "items": deleted})

    # ---------------------------------------------------------------- eviction

    def _evict(self, request, target):
        eviction = _decode_body(request)
        if eviction.get("kind") not in (None, "Eviction") or eviction.get("apiVersion") not in (None, "policy/v1", "policy/v1beta1"):
            raise BadRequest(f"the kind in the data ({eviction.get('kind')}) does not match the expected kind (Eviction)")
        name = (eviction.get("metadata") or {}).get("name")
        if name and name != target.name:
            raise BadRequest(f"name in URL does not match name in Eviction object: {target.name} != {name}")
        options = eviction.get("deleteOptions") or {}
        with self._eviction_lock:
            pod = self.store.get(resources.PODS, target.namespace, target.name)
            if _evictable_without_budget(pod):
                self._delete_evicted(pod, options)
                return Response(201, success_status(201))
            budgets = [pdb for pdb in self.store.list(resources.PDBS, target.namespace)[0]
                       if selector_matches((pdb.get("spec") or {}).get("selector"), pod["metadata"].get("labels"))]
            if len(budgets) > 1:
                raise ApiError("This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.")
            if budgets:
                self._spend_disruption(budgets[0], pod)
            self._delete_evicted(pod, options)
        return Response(201, success_status(201))

    def _spend_disruption(self, pdb, pod):
        """Check the budget allows one more disruption and record it, or answer 429."""
        status = disruption.evaluate(self.store, pdb)
        healthy_enough = status["currentHealthy"] >= status["desiredHealthy"] and status["desiredHealthy"] > 0
        if not disruption.is_healthy(pod) and (healthy_enough or (pdb.get("spec") or {}).get("unhealthyPodEvictionPolicy") == "AlwaysAllow"):
            return
        if status["disruptionsAllowed"] <= 0:
            message = (f"The disruption budget {pdb['metadata']['name']} needs {status['desiredHealthy']} healthy pods "
                       f"and has {status['currentHealthy']} currently")
            raise TooManyRequests("Cannot evict pod as it would violate the pod's disruption budget.",
                                  details={"causes": [{"reason": "DisruptionBudget", "message": message}]})
        status["disruptionsAllowed"] -= 1
        status["disruptedPods"] = dict(status.get("disruptedPods") or {}, **{pod["metadata"]["name"]: self.store.clock.timestamp()})
        disruption.write_status(self.store, pdb, status)

    def _delete_evicted(self, pod, options):
        self.store.delete(resources.PODS, pod["metadata"]["namespace"], pod["metadata"]["name"],
                          grace_period_seconds=options.get("gracePeriodSeconds"), preconditions=options.get("preconditions"),
                          dry_run=options.get("dryRun") == ["All"])


def _missing_field_manager():
    message = "Required value: is required for apply patch"
    return ApiError(f'PatchOptions.meta.k8s.io "" is invalid: fieldManager: {message}', code=422, reason="Invalid",
                    details={"group": "meta.k8s.io", "kind": "PatchOptions",
                             "causes": [{"reason": "FieldValueRequired", "message": message, "field": "fieldManager"}]})


def _evictable_without_budget(pod):
    """Pods that are finished, not started, or already terminating are evicted without a budget check."""
    return bool(pod["metadata"].get("deletionTimestamp")) or (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed", "Pending")


# Kinds whose PUT creates an absent object (AllowCreateOnUpdate); for the others it is a 404.
_CREATE_ON_UPDATE = {resources.ENDPOINTS.key, resources.EVENTS.key, resources.by_path("coordination.k8s.io", "v1", "leases").key}

_VERBS = {
    ("GET", True): "list", ("GET", False): "get", ("POST", True): "create", ("PUT", False): "update",
    ("PATCH", False): "patch", ("DELETE", False): "delete", ("DELETE", True): "deletecollection",
}
