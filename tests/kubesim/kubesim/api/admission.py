"""Admission: the defaulting and validation a real API server applies before it stores an object.

``admit(rtype, obj, old, store)`` is the store's admission hook. Defaulting runs first (so a
rejected object is reported with its defaults, as a real server does), then validation collects
every field error and raises one ``Invalid`` (422) listing them as causes.
"""

import ipaddress
import re

from .. import resources
from ..controllers.meta import random_suffix
from ..errors import Forbidden, Invalid
from ..selectors import selector_matches
from ..store import copy_json
from . import crds
from . import routers
from .field_errors import DUPLICATE, FORBIDDEN, INVALID, invalid, not_supported, quote, required

# ---------------------------------------------------------------- name and label rules (apimachinery)

_DNS1123_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN = rf"{_DNS1123_LABEL}(\.{_DNS1123_LABEL})*"
_DNS1035_LABEL = "[a-z]([-a-z0-9]*[a-z0-9])?"
_QUALIFIED_NAME = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?"

_SUBDOMAIN_MESSAGE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end "
    f"with an alphanumeric character (e.g. 'example.com', regex used for validation is '{_DNS1123_SUBDOMAIN}')"
)
_LABEL_MESSAGE = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an "
    f"alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '{_DNS1123_LABEL}')"
)
_DNS1035_MESSAGE = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end "
    f"with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '{_DNS1035_LABEL}')"
)
_QUALIFIED_NAME_MESSAGE = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
    f"character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '{_QUALIFIED_NAME}')"
)
_LABEL_VALUE_MESSAGE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end "
    f"with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '{_LABEL_VALUE}')"
)

# (pattern, message, maximum length) of each kind of object name.
_SUBDOMAIN_RULE = (_DNS1123_SUBDOMAIN, _SUBDOMAIN_MESSAGE, 253)
_LABEL_RULE = (_DNS1123_LABEL, _LABEL_MESSAGE, 63)
_DNS1035_RULE = (_DNS1035_LABEL, _DNS1035_MESSAGE, 63)
_NAME_RULES = {resources.NAMESPACES.key: _LABEL_RULE, resources.SERVICES.key: _DNS1035_RULE}

def _full_match(pattern, text):
    return isinstance(text, str) and re.fullmatch(pattern, text) is not None


def name_errors(path, name, rule):
    """The errors of an object name under ``rule``: (pattern, message, maximum length), or a function giving
    the messages for names that are not patterns (RBAC's path segments)."""
    if callable(rule):
        return [invalid(path, name, message) for message in rule(name if isinstance(name, str) else "")]
    pattern, message, maximum = rule
    errors = []
    if isinstance(name, str) and len(name) > maximum:
        errors.append(invalid(path, name, f"must be no more than {maximum} characters"))
    if not _full_match(pattern, name):
        errors.append(invalid(path, name, message))
    return errors


def qualified_name_errors(path, key):
    """A label or annotation key: an optional DNS subdomain prefix and a name part."""
    prefix, _, name = key.rpartition("/") if "/" in key else ("", "", key)
    errors = []
    if "/" in key and not _full_match(_DNS1123_SUBDOMAIN, prefix):
        errors.append(invalid(path, key, f"prefix part {_SUBDOMAIN_MESSAGE}"))
    if not name:
        errors.append(invalid(path, key, "name part must be non-empty"))
    elif len(name) > 63:
        errors.append(invalid(path, key, "name part must be no more than 63 characters"))
    elif not _full_match(_QUALIFIED_NAME, name):
        errors.append(invalid(path, key, _QUALIFIED_NAME_MESSAGE))
    return errors


def label_errors(path, labels):
    if labels is None:
        return []
    if not isinstance(labels, dict):
        return [invalid(path, labels, "must be a map of strings")]
    errors = []
    for key, value in labels.items():
        errors.extend(qualified_name_errors(path, key))
        if not isinstance(value, str) or len(value) > 63 or not _full_match(_LABEL_VALUE, value):
            detail = "must be no more than 63 characters" if isinstance(value, str) and len(value) > 63 else _LABEL_VALUE_MESSAGE
            errors.append(invalid(path, value, detail))
    return errors


def metadata_errors(rtype, obj):
    metadata = obj.get("metadata") or {}
    errors = []
    name = metadata.get("name")
    if not name:
        errors.append(required("metadata.name", "name or generateName is required"))
    else:
        errors.extend(name_errors("metadata.name", name, _NAME_RULES.get(rtype.key, _SUBDOMAIN_RULE)))
    if rtype.namespaced and metadata.get("namespace"):
        errors.extend(name_errors("metadata.namespace", metadata["namespace"], _LABEL_RULE))
    errors.extend(label_errors("metadata.labels", metadata.get("labels")))
    for key in metadata.get("annotations") or {}:
        errors.extend(qualified_name_errors("metadata.annotations", key))
    return errors


# ---------------------------------------------------------------- defaults


def _set_defaults(target, defaults):
    """Fill missing keys; nested dict defaults fill recursively."""
    for key, value in defaults.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _set_defaults(target[key], value)
        elif key not in target or target[key] is None:
            target[key] = copy_json(value)
    return target


_CONTAINER_DEFAULTS = {"terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File", "resources": {}}
_POD_SPEC_DEFAULTS = {"restartPolicy": "Always", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst",
                      "securityContext": {}, "schedulerName": "default-scheduler"}


def _image_pull_policy(image):
    """Always for an untagged or :latest image, else IfNotPresent."""
    reference = (image or "").split("@", 1)
    if len(reference) == 2:
        return "IfNotPresent"
    last = reference[0].rsplit("/", 1)[-1]
    tag = last.split(":", 1)[1] if ":" in last else "latest"
    return "Always" if tag == "latest" else "IfNotPresent"


def default_container(container):
    _set_defaults(container, _CONTAINER_DEFAULTS)
    container.setdefault("imagePullPolicy", _image_pull_policy(container.get("image")))
    for port in container.get("ports") or []:
        port.setdefault("protocol", "TCP")


def default_pod_spec(spec):
    _set_defaults(spec, _POD_SPEC_DEFAULTS)
    for key in ("initContainers", "containers"):
        for container in spec.get(key) or []:
            if isinstance(container, dict):
                default_container(container)


def default_template(obj):
    template = (obj.setdefault("spec", {})).setdefault("template", {})
    template.setdefault("metadata", {}).setdefault("creationTimestamp", None)
    default_pod_spec(template.setdefault("spec", {}))


def default_deployment(obj, _old, _store):
    _set_defaults(obj.setdefault("spec", {}), {
        "replicas": 1, "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600,
        "strategy": {"type": "RollingUpdate"},
    })
    strategy = obj["spec"]["strategy"]
    if strategy.get("type") == "RollingUpdate":
        _set_defaults(strategy, {"rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}})
    default_template(obj)


def default_replicaset(obj, _old, _store):
    obj.setdefault("spec", {}).setdefault("replicas", 1)
    default_template(obj)


def default_statefulset(obj, _old, _store):
    _set_defaults(obj.setdefault("spec", {}), {
        "replicas": 1, "podManagementPolicy": "OrderedReady", "revisionHistoryLimit": 10,
        "updateStrategy": {"type": "RollingUpdate"},
        "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
    })
    strategy = obj["spec"]["updateStrategy"]
    if strategy.get("type") == "RollingUpdate":
        _set_defaults(strategy, {"rollingUpdate": {"partition": 0}})
    for claim in obj["spec"].get("volumeClaimTemplates") or []:
        if isinstance(claim, dict):
            # Each template is a whole PersistentVolumeClaim, defaulted as one.
            _set_defaults(claim, {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"creationTimestamp": None},
                                  "spec": {"volumeMode": "Filesystem"}, "status": {"phase": "Pending"}})
    default_template(obj)


def default_pod(obj, old, store):
    spec = obj.setdefault("spec", {})
    if old is None:
        _resolve_priority(obj, store)
        _resolve_service_account(obj, store)
        _default_toleration_seconds(spec)
    default_pod_spec(spec)
    _set_defaults(spec, {"enableServiceLinks": True, "preemptionPolicy": "PreemptLowerPriority"})
    obj.setdefault("status", {}).setdefault("phase", "Pending")
    obj["status"].setdefault("qosClass", qos_class(spec))


def qos_class(spec):
    """Guaranteed when every container limits cpu and memory at its requests, BestEffort with no resources at all."""
    containers = [c for key in ("initContainers", "containers") for c in spec.get(key) or [] if isinstance(c, dict)]
    resource_sets = [c.get("resources") or {} for c in containers]
    if not any(r.get("requests") or r.get("limits") for r in resource_sets):
        return "BestEffort"
    guaranteed = all(
        all(name in (r.get("limits") or {}) for name in ("cpu", "memory"))
        and all((r.get("requests") or {}).get(name, limit) == limit for name, limit in (r.get("limits") or {}).items())
        for r in resource_sets
    )
    return "Guaranteed" if guaranteed else "Burstable"


_PRIORITY_CLASSES = resources.by_path("scheduling.k8s.io", "v1", "priorityclasses")


def _resolve_priority(obj, store):
    """The Priority admission plugin: spec.priority from the named PriorityClass (403 if there is none),
    or from the global default class when the pod names none."""
    spec, metadata = obj["spec"], obj["metadata"]
    class_name = spec.get("priorityClassName")
    if not class_name:
        default = next((c for c in store.list(_PRIORITY_CLASSES)[0] if c.get("globalDefault")), None)
        if default is None:
            spec.setdefault("priority", 0)
            return
        class_name = spec["priorityClassName"] = default["metadata"]["name"]
    priority_class = store.find(_PRIORITY_CLASSES, None, class_name)
    if priority_class is None:
        raise Forbidden(f'pods "{metadata.get("name", "")}" is forbidden: no PriorityClass with name {class_name} was found',
                        details={"name": metadata.get("name", ""), "kind": "pods"})
    spec["priority"] = priority_class.get("value", 0)
    spec.setdefault("preemptionPolicy", priority_class.get("preemptionPolicy", "PreemptLowerPriority"))


SERVICEACCOUNTS = resources.by_path("", "v1", "serviceaccounts")
DEFAULT_SERVICE_ACCOUNT = "default"
TOKEN_MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"


def _admitted_pod_name(metadata):
    """The name a real admission error gives a pod: its generateName while the name is still to be generated."""
    return metadata.get("generateName") or metadata.get("name", "")


def _resolve_service_account(obj, store):
    """The ServiceAccount admission plugin: the pod runs as ``default`` unless it names an account (403 if that
    does not exist), and gets the projected API token volume mounted into every container, unless the pod or
    its account opts out. ``default`` is never refused: the service account controller creates it in every
    namespace, and the real plugin waits for it."""
    spec, metadata = obj["spec"], obj["metadata"]
    name = spec.get("serviceAccountName") or spec.get("serviceAccount") or DEFAULT_SERVICE_ACCOUNT
    spec["serviceAccountName"] = spec["serviceAccount"] = name
    account = store.find(SERVICEACCOUNTS, metadata.get("namespace"), name)
    if account is None and name != DEFAULT_SERVICE_ACCOUNT:
        subject = _admitted_pod_name(metadata)
        raise Forbidden(f'pods "{subject}" is forbidden: error looking up service account {metadata.get("namespace")}/{name}: '
                        f'serviceaccount "{name}" not found', details={"name": subject, "kind": "pods"})
    automount = spec.get("automountServiceAccountToken")
    if automount is None:
        automount = (account or {}).get("automountServiceAccountToken", True)
    if automount:
        _mount_api_token(spec)


def _mount_api_token(spec):
    volume_name = f"kube-api-access-{random_suffix()}"
    mount = {"name": volume_name, "readOnly": True, "mountPath": TOKEN_MOUNT_PATH}
    mounted = False
    for key in ("initContainers", "containers"):
        for container in spec.get(key) or []:
            if isinstance(container, dict) and not any(m.get("mountPath") == TOKEN_MOUNT_PATH for m in container.get("volumeMounts") or []):
                container.setdefault("volumeMounts", []).append(dict(mount))
                mounted = True
    if mounted:
        spec.setdefault("volumes", []).append({"name": volume_name, "projected": {"defaultMode": 420, "sources": [
            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
            {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
            {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
        ]}})


NOT_READY_TAINT = "node.kubernetes.io/not-ready"
UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"
DEFAULT_TOLERATION_SECONDS = 300


def _default_toleration_seconds(spec):
    """The DefaultTolerationSeconds plugin: a pod that does not tolerate its node turning not-ready or
    unreachable stays there five minutes before the taint manager evicts it."""
    tolerations = [t for t in spec.get("tolerations") or [] if isinstance(t, dict)]
    for key in (NOT_READY_TAINT, UNREACHABLE_TAINT):
        if not any(t.get("key", "") in ("", key) and t.get("effect", "") in ("", "NoExecute") for t in tolerations):
            spec.setdefault("tolerations", []).append(
                {"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": DEFAULT_TOLERATION_SECONDS})


def default_namespace(obj, _old, _store):
    name = obj["metadata"].get("name")
    if name:
        obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = name
    obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
    obj.setdefault("status", {}).setdefault("phase", "Active")


def default_service(obj, old, store):
    spec = obj.setdefault("spec", {})
    _set_defaults(spec, {"type": "ClusterIP", "sessionAffinity": "None"})
    for port in spec.get("ports") or []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")
            port.setdefault("targetPort", port.get("port"))
    if spec["type"] == "ExternalName":
        return
    _set_defaults(spec, {"ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack", "internalTrafficPolicy": "Cluster"})
    old_spec = (old or {}).get("spec") or {}
    if not spec.get("clusterIP") and old_spec.get("clusterIP"):
        # Values the server allocated are kept when an update leaves them out.
        spec["clusterIP"] = old_spec["clusterIP"]
        spec.setdefault("clusterIPs", old_spec.get("clusterIPs"))
    if not spec.get("clusterIP"):
        spec["clusterIP"] = _free_cluster_ip(store)
    spec.setdefault("clusterIPs", [spec["clusterIP"]])
    if spec["type"] in ("NodePort", "LoadBalancer"):
        spec.setdefault("externalTrafficPolicy", "Cluster")
        _allocate_node_ports(spec, old_spec, store)
    obj.setdefault("status", {}).setdefault("loadBalancer", {})


SERVICE_NETWORK = ipaddress.ip_network("10.96.0.0/12")
NODE_PORT_RANGE = range(30000, 32768)


def _services(store):
    items, _ = store.list(resources.SERVICES)
    return items


def _free_cluster_ip(store):
    used = {(s.get("spec") or {}).get("clusterIP") for s in _services(store)}
    # .1 is the kubernetes service's address on a real cluster.
    for offset in range(2, SERVICE_NETWORK.num_addresses - 1):
        candidate = str(SERVICE_NETWORK.network_address + offset)
        if candidate not in used:
            return candidate
    raise Invalid(resources.SERVICES, "Service", "", [("spec.clusterIPs", "FieldValueInvalid", "no free cluster IP")])


def _allocate_node_ports(spec, old_spec, store):
    used = {p.get("nodePort") for s in _services(store) for p in (s.get("spec") or {}).get("ports") or []}
    previous = {p.get("port"): p.get("nodePort") for p in old_spec.get("ports") or []}
    free = (port for port in NODE_PORT_RANGE if port not in used)
    for port in spec.get("ports") or []:
        if not port.get("nodePort"):
            port["nodePort"] = previous.get(port.get("port")) or next(free)


# ---------------------------------------------------------------- validation


def _replicas_errors(spec, path="spec.replicas"):
    replicas = spec.get("replicas")
    if replicas is None:
        return []
    if not isinstance(replicas, int) or isinstance(replicas, bool):
        return [invalid(path, replicas, "must be an integer")]
    if replicas < 0:
        return [invalid(path, replicas, "must be greater than or equal to 0")]
    return []


def container_errors(path, containers, required_list=True):
    if not containers:
        return [required(path)] if required_list else []
    errors, seen = [], set()
    for index, container in enumerate(containers):
        where = f"{path}[{index}]"
        if not isinstance(container, dict):
            errors.append(invalid(where, container, "must be an object"))
            continue
        name = container.get("name")
        if not name:
            errors.append(required(f"{where}.name"))
        else:
            errors.extend(name_errors(f"{where}.name", name, _LABEL_RULE))
            if name in seen:
                errors.append((f"{where}.name", DUPLICATE, f"Duplicate value: {quote(name)}"))
            seen.add(name)
        if not container.get("image"):
            errors.append(required(f"{where}.image"))
        for port_index, port in enumerate(container.get("ports") or []):
            number = port.get("containerPort")
            if not isinstance(number, int) or not 1 <= number <= 65535:
                errors.append(invalid(f"{where}.ports[{port_index}].containerPort", number, "must be between 1 and 65535, inclusive"))
    return errors


def pod_spec_errors(path, spec):
    errors = container_errors(f"{path}.containers", spec.get("containers"))
    errors += container_errors(f"{path}.initContainers", spec.get("initContainers"), required_list=False)
    policy = spec.get("restartPolicy")
    if policy not in ("Always", "OnFailure", "Never"):
        errors.append(not_supported(f"{path}.restartPolicy", policy, ("Always", "OnFailure", "Never")))
    grace = spec.get("terminationGracePeriodSeconds")
    if isinstance(grace, int) and grace < 0:
        errors.append(invalid(f"{path}.terminationGracePeriodSeconds", grace, "must be greater than or equal to 0"))
    return errors


def _go_string_map(mapping):
    if not mapping:
        return "map[string]string(nil)"
    return "map[string]string{" + ", ".join(f"{quote(k)}:{quote(v)}" for k, v in sorted(mapping.items())) + "}"


def _go_label_selector(selector):
    """A LabelSelector the way the real server prints it in a field error."""
    selector = selector or {}
    expressions = selector.get("matchExpressions")
    shown = (
        "[]v1.LabelSelectorRequirement{" + ", ".join(
            f"v1.LabelSelectorRequirement{{Key:{quote(e.get('key'))}, Operator:{quote(e.get('operator'))}, "
            f"Values:[]string{{{', '.join(quote(v) for v in e.get('values') or [])}}}}}" for e in expressions) + "}"
        if expressions else "[]v1.LabelSelectorRequirement(nil)"
    )
    return f"v1.LabelSelector{{MatchLabels:{_go_string_map(selector.get('matchLabels'))}, MatchExpressions:{shown}}}"


def template_errors(obj, controller_kind):
    """A controller's selector and pod template: the selector must be set and select the template."""
    spec = obj.get("spec") or {}
    template = spec.get("template") or {}
    selector = spec.get("selector")
    errors = []
    if not selector:
        errors.append(required("spec.selector"))
    elif not (selector.get("matchLabels") or selector.get("matchExpressions")):
        errors.append(("spec.selector", INVALID, f"Invalid value: {_go_label_selector(selector)}: empty selector is invalid for {controller_kind}"))
    template_labels = (template.get("metadata") or {}).get("labels")
    errors += label_errors("spec.template.metadata.labels", template_labels)
    if selector and not selector_matches(selector, template_labels):
        errors.append(("spec.template.metadata.labels", INVALID,
                       f"Invalid value: {_go_string_map(template_labels)}: `selector` does not match template `labels`"))
    errors += pod_spec_errors("spec.template.spec", template.get("spec") or {})
    policy = (template.get("spec") or {}).get("restartPolicy")
    if policy not in (None, "Always"):
        errors.append(not_supported("spec.template.spec.restartPolicy", policy, ("Always",)))
    return errors


def _immutable(path, new, old):
    return [invalid(path, new, "field is immutable")] if old is not None and new != old else []


def _immutable_selector(obj, old):
    new_selector, old_selector = (obj.get("spec") or {}).get("selector"), (old.get("spec") or {}).get("selector")
    if new_selector == old_selector:
        return []
    return [("spec.selector", INVALID, f"Invalid value: {_go_label_selector(new_selector)}: field is immutable")]


def _int_or_percent_errors(path, value):
    if value is None:
        return []
    if isinstance(value, str):
        if not re.fullmatch(r"\d+%", value):
            return [invalid(path, value, "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%')")]
        return []
    if value < 0:
        return [invalid(path, value, "must be greater than or equal to 0")]
    return []


def validate_deployment(obj, old):
    spec = obj.get("spec") or {}
    errors = _replicas_errors(spec) + template_errors(obj, "deployment")
    strategy = spec.get("strategy") or {}
    if strategy.get("type") not in ("RollingUpdate", "Recreate"):
        errors.append(not_supported("spec.strategy.type", strategy.get("type"), ("Recreate", "RollingUpdate")))
    rolling = strategy.get("rollingUpdate") or {}
    if strategy.get("type") == "Recreate" and rolling:
        errors.append(("spec.strategy.rollingUpdate", FORBIDDEN, "Forbidden: may not be specified when strategy `type` is 'Recreate'"))
    for key in ("maxUnavailable", "maxSurge"):
        errors += _int_or_percent_errors(f"spec.strategy.rollingUpdate.{key}", rolling.get(key))
    if rolling and rolling.get("maxUnavailable") in (0, "0%") and rolling.get("maxSurge") in (0, "0%"):
        errors.append(invalid("spec.strategy.rollingUpdate.maxUnavailable", rolling["maxUnavailable"],
                              "may not be 0 when `maxSurge` is 0"))
    if old is not None:
        errors += _immutable_selector(obj, old)
    return errors


def validate_replicaset(obj, old):
    errors = _replicas_errors(obj.get("spec") or {}) + template_errors(obj, "replicaset")
    if old is not None:
        errors += _immutable_selector(obj, old)
    return errors


def validate_statefulset(obj, old):
    spec = obj.get("spec") or {}
    errors = _replicas_errors(spec) + template_errors(obj, "statefulset")
    if spec.get("podManagementPolicy") not in ("OrderedReady", "Parallel"):
        errors.append(not_supported("spec.podManagementPolicy", spec.get("podManagementPolicy"), ("OrderedReady", "Parallel")))
    if old is not None:
        old_spec = old.get("spec") or {}
        # Only these fields of a StatefulSet spec may change.
        mutable = ("replicas", "template", "updateStrategy", "persistentVolumeClaimRetentionPolicy", "minReadySeconds", "ordinals")
        changed = sorted(k for k in set(spec) | set(old_spec) if k not in mutable and spec.get(k) != old_spec.get(k))
        if changed:
            errors.append(("spec", FORBIDDEN, "Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', "
                                              "'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' "
                                              "are forbidden"))
    return errors


def validate_pod(obj, old):
    errors = pod_spec_errors("spec", obj.get("spec") or {})
    if old is not None:
        errors += _pod_update_errors(obj.get("spec") or {}, old.get("spec") or {})
    return errors


def _pod_update_errors(spec, old_spec):
    """A pod's spec is fixed once created, except for container images and a few scheduling fields."""
    def comparable(pod_spec):
        trimmed = {k: v for k, v in pod_spec.items() if k not in ("activeDeadlineSeconds", "tolerations", "nodeName", "schedulingGates")}
        trimmed["containers"] = [{k: v for k, v in c.items() if k != "image"} for c in pod_spec.get("containers") or []]
        trimmed["initContainers"] = [{k: v for k, v in c.items() if k != "image"} for c in pod_spec.get("initContainers") or []]
        return trimmed

    if comparable(spec) != comparable(old_spec):
        return [("spec", FORBIDDEN, "Forbidden: pod updates may not change fields other than `spec.containers[*].image`, "
                                    "`spec.initContainers[*].image`, `spec.activeDeadlineSeconds`, `spec.tolerations` "
                                    "(only additions to existing tolerations), `spec.terminationGracePeriodSeconds` "
                                    "(allow it to be set to 1 if it was previously negative)")]
    return []


def validate_service(obj, old):
    spec = obj.get("spec") or {}
    errors = []
    service_type = spec.get("type")
    supported = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")
    if service_type not in supported:
        errors.append(not_supported("spec.type", service_type, supported))
    ports = spec.get("ports") or []
    if not ports and service_type != "ExternalName" and spec.get("clusterIP") != "None":
        errors.append(required("spec.ports"))
    errors += _service_port_errors(ports)
    if service_type == "ExternalName" and not spec.get("externalName"):
        errors.append(required("spec.externalName"))
    if old is not None:
        old_ip = (old.get("spec") or {}).get("clusterIP")
        if old_ip and spec.get("clusterIP") != old_ip:
            errors.append(invalid("spec.clusterIPs[0]", spec.get("clusterIP"), "may not change once set"))
    return errors


def _service_port_errors(ports):
    errors, names, numbers = [], set(), set()
    for index, port in enumerate(ports):
        where = f"spec.ports[{index}]"
        name = port.get("name")
        if len(ports) > 1 and not name:
            errors.append(required(f"{where}.name"))
        elif name:
            errors += name_errors(f"{where}.name", name, _LABEL_RULE)
            if name in names:
                errors.append((f"{where}.name", DUPLICATE, f"Duplicate value: {quote(name)}"))
            names.add(name)
        number = port.get("port")
        if not isinstance(number, int) or not 1 <= number <= 65535:
            errors.append(invalid(f"{where}.port", number, "must be between 1 and 65535, inclusive"))
        protocol = port.get("protocol")
        if protocol not in ("TCP", "UDP", "SCTP"):
            errors.append(not_supported(f"{where}.protocol", protocol, ("SCTP", "TCP", "UDP")))
        key = (number, protocol)
        if key in numbers:
            errors.append((where, DUPLICATE, f"Duplicate value: core.ServicePort{{Port:{number}, Protocol:{quote(protocol)}}}"))
        numbers.add(key)
        target = port.get("targetPort")
        if isinstance(target, int) and not 1 <= target <= 65535:
            errors.append(invalid(f"{where}.targetPort", target, "must be between 1 and 65535, inclusive"))
    return errors


def validate_pdb(obj, _old):
    spec = obj.get("spec") or {}
    errors = []
    if spec.get("minAvailable") is not None and spec.get("maxUnavailable") is not None:
        errors.append(invalid("spec", spec, "minAvailable and maxUnavailable cannot be both set"))
    for key in ("minAvailable", "maxUnavailable"):
        errors += _int_or_percent_errors(f"spec.{key}", spec.get(key))
    return errors


def validate_priority_class(obj, old):
    errors = []
    if not isinstance(obj.get("value"), int):
        errors.append(required("value"))
    if old is not None:
        errors += _immutable("value", obj.get("value"), old.get("value"))
    return errors


DEFAULTERS = {
    resources.DEPLOYMENTS.key: default_deployment,
    resources.REPLICASETS.key: default_replicaset,
    resources.STATEFULSETS.key: default_statefulset,
    resources.PODS.key: default_pod,
    resources.NAMESPACES.key: default_namespace,
    resources.SERVICES.key: default_service,
    resources.ROUTES.key: routers.default_route,
}

VALIDATORS = {
    resources.DEPLOYMENTS.key: validate_deployment,
    resources.REPLICASETS.key: validate_replicaset,
    resources.STATEFULSETS.key: validate_statefulset,
    resources.PODS.key: validate_pod,
    resources.SERVICES.key: validate_service,
    resources.PDBS.key: validate_pdb,
    _PRIORITY_CLASSES.key: validate_priority_class,
    resources.ROUTES.key: routers.validate_route,
    resources.INGRESSES.key: routers.validate_ingress,
}

# Admission webhooks the project's clusters run (they see the defaulted object, before validation).
WEBHOOKS = {
    resources.SERVICESPLITTERS.key: routers.admit_splitter,
}

# Checks of what the writer may grant, run before validation as the registry runs them (RBAC's escalation check).
PRIVILEGE_CHECKS = {}


def _refuse_terminating_namespace(rtype, obj, store):
    """The NamespaceLifecycle plugin: nothing new goes into a namespace that is being deleted."""
    metadata = obj.get("metadata") or {}
    namespace = store.find(resources.NAMESPACES, None, metadata.get("namespace") or "")
    if namespace is None or not namespace["metadata"].get("deletionTimestamp"):
        return
    name = namespace["metadata"]["name"]
    raise Forbidden(
        f'{rtype.plural} "{metadata.get("name", "")}" is forbidden: unable to create new content in namespace {name} because it is being terminated',
        details={"name": metadata.get("name", ""), "kind": rtype.plural, "causes": [
            {"reason": "NamespaceTerminating", "message": f"namespace {name} is being terminated", "field": "metadata.namespace"}]},
    )


# The status a new object starts with: the zero values its Go type serialises even when empty.
INITIAL_STATUS = {
    resources.DEPLOYMENTS.key: {},
    resources.REPLICASETS.key: {"replicas": 0},
    resources.STATEFULSETS.key: {"replicas": 0, "availableReplicas": 0},
    resources.PDBS.key: {"disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 0, "expectedPods": 0},
    resources.INGRESSES.key: {"loadBalancer": {}},
}


def admit(rtype, obj, old, store):
    """Default and validate ``obj`` (``old`` is the stored object on update, else None)."""
    if old is None and rtype.key in INITIAL_STATUS:
        obj["status"] = _set_defaults(obj["status"] if isinstance(obj.get("status"), dict) else {}, INITIAL_STATUS[rtype.key])
    if old is None and rtype.namespaced:
        _refuse_terminating_namespace(rtype, obj, store)
    defaulter = DEFAULTERS.get(rtype.key)
    if defaulter:
        defaulter(obj, old, store)
    webhook = WEBHOOKS.get(rtype.key)
    if webhook:
        webhook(obj)
    privilege_check = PRIVILEGE_CHECKS.get(rtype.key)
    if privilege_check:
        privilege_check(rtype, obj, old, store)
    errors = metadata_errors(rtype, obj)
    validator = VALIDATORS.get(rtype.key)
    if validator:
        errors += validator(obj, old)
    if rtype.definition is not None:
        if old is None:
            crds.refuse_while_terminating(store, rtype, (obj.get("metadata") or {}).get("name", ""))
        errors += crds.admit_custom(rtype, obj)
    if errors:
        raise Invalid(rtype, rtype.kind, (obj.get("metadata") or {}).get("name", ""), errors)
    return obj


# ---------------------------------------------------------------- kinds whose rules live in modules of their own

# Imported last, since they build on the rules above.
from . import admission_auth, admission_network, admission_storage, admission_workloads  # noqa: E402  pylint: disable=wrong-import-position,cyclic-import

for _kinds in (admission_workloads, admission_network, admission_storage, admission_auth):
    DEFAULTERS.update(_kinds.DEFAULTERS)
    VALIDATORS.update(_kinds.VALIDATORS)
    INITIAL_STATUS.update(_kinds.INITIAL_STATUS)
_NAME_RULES.update(admission_auth.NAME_RULES)
PRIVILEGE_CHECKS.update(admission_auth.PRIVILEGE_CHECKS)
DEFAULTERS[resources.CRDS.key] = crds.default_crd
VALIDATORS[resources.CRDS.key] = crds.validate_crd
