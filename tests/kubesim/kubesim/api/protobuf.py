"""Request bodies in the Kubernetes protobuf encoding (``application/vnd.kubernetes.protobuf``).

kubectl's typed clients (``kubectl create namespace|deployment|configmap|secret|service|role|rolebinding|token|...``,
the evictions of ``kubectl drain``, ``kubectl auth can-i|whoami``) send protobuf, and a server that refuses it breaks them.
A body is the magic ``k8s\\0`` followed by a ``runtime.Unknown`` envelope holding the type and the
object's own message. This decoder knows the messages of the kinds those commands create, by the
field numbers of the Kubernetes API's protobuf definitions, and turns them into the JSON form.
Zero values of fields that are not pointers (and so always sent) are dropped, as JSON omits them.
``length_delimited`` writes the one field form an answer of the server needs (/openapi/v2).
"""

import base64
import datetime

from ..errors import BadRequest, UnsupportedMediaType

MEDIA_TYPE = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"

_VARINT, _FIXED64, _BYTES, _FIXED32 = 0, 1, 2, 5


def _field(name, kind, repeated=False, keep_zero=False):
    return (name, kind, repeated, keep_zero)


def _pointer(name, kind):
    """A field the Go type holds by pointer: sent only when set, so a zero is meaningful."""
    return _field(name, kind, keep_zero=True)


def _repeated(name, kind):
    return _field(name, kind, repeated=True)


def _inline(kind):
    """An embedded Go struct: its fields appear in the JSON of the message that holds it."""
    return _field(None, kind)


_OBJECT = {1: _field("metadata", "ObjectMeta")}

MESSAGES = {
    "Unknown": {1: _field("typeMeta", "TypeMeta"), 2: _field("raw", "raw"), 3: _field("contentEncoding", "string"),
                4: _field("contentType", "string")},
    "TypeMeta": {1: _field("apiVersion", "string"), 2: _field("kind", "string")},
    "ObjectMeta": {
        1: _field("name", "string"), 2: _field("generateName", "string"), 3: _field("namespace", "string"), 5: _field("uid", "string"),
        6: _field("resourceVersion", "string"), 7: _field("generation", "int"), 8: _field("creationTimestamp", "time"),
        9: _field("deletionTimestamp", "time"), 10: _pointer("deletionGracePeriodSeconds", "int"), 11: _field("labels", "map"),
        12: _field("annotations", "map"), 13: _repeated("ownerReferences", "OwnerReference"), 14: _repeated("finalizers", "string"),
    },
    "OwnerReference": {1: _field("kind", "string"), 3: _field("name", "string"), 4: _field("uid", "string"),
                       5: _field("apiVersion", "string"), 6: _pointer("controller", "bool"), 7: _pointer("blockOwnerDeletion", "bool")},
    "LabelSelector": {1: _field("matchLabels", "map"), 2: _repeated("matchExpressions", "LabelSelectorRequirement")},
    "LabelSelectorRequirement": {1: _field("key", "string"), 2: _field("operator", "string"), 3: _repeated("values", "string")},
    "DeleteOptions": {1: _pointer("gracePeriodSeconds", "int"), 2: _field("preconditions", "Preconditions"),
                      3: _pointer("orphanDependents", "bool"), 4: _field("propagationPolicy", "string"), 5: _repeated("dryRun", "string")},
    "Preconditions": {1: _field("uid", "string"), 2: _field("resourceVersion", "string")},
    # core/v1
    "Namespace": {**_OBJECT, 2: _field("spec", "NamespaceSpec")},
    "NamespaceSpec": {1: _repeated("finalizers", "string")},
    "ConfigMap": {**_OBJECT, 2: _field("data", "map"), 3: _field("binaryData", "bytesmap"), 4: _pointer("immutable", "bool")},
    "Secret": {**_OBJECT, 2: _field("data", "bytesmap"), 3: _field("type", "string"), 4: _field("stringData", "map"),
               5: _pointer("immutable", "bool")},
    "ServiceAccount": {**_OBJECT, 2: _repeated("secrets", "ObjectReference"), 3: _repeated("imagePullSecrets", "LocalObjectReference"),
                       4: _pointer("automountServiceAccountToken", "bool")},
    "ObjectReference": {1: _field("kind", "string"), 2: _field("namespace", "string"), 3: _field("name", "string")},
    "LocalObjectReference": {1: _field("name", "string")},
    "Service": {**_OBJECT, 2: _field("spec", "ServiceSpec")},
    "ServiceSpec": {
        1: _repeated("ports", "ServicePort"), 2: _field("selector", "map"), 3: _field("clusterIP", "string"), 4: _field("type", "string"),
        5: _repeated("externalIPs", "string"), 7: _field("sessionAffinity", "string"), 10: _field("externalName", "string"),
        11: _field("externalTrafficPolicy", "string"), 13: _field("publishNotReadyAddresses", "bool"),
    },
    "ServicePort": {1: _field("name", "string"), 2: _field("protocol", "string"), 3: _field("port", "int"),
                    4: _field("targetPort", "intstr"), 5: _field("nodePort", "int"), 6: _pointer("appProtocol", "string")},
    "PodTemplateSpec": {**_OBJECT, 2: _field("spec", "PodSpec")},
    "PodSpec": {
        2: _repeated("containers", "Container"), 3: _field("restartPolicy", "string"), 4: _pointer("terminationGracePeriodSeconds", "int"),
        6: _field("dnsPolicy", "string"), 7: _field("nodeSelector", "map"), 8: _field("serviceAccountName", "string"),
        10: _field("nodeName", "string"), 19: _field("schedulerName", "string"), 20: _repeated("initContainers", "Container"),
        24: _field("priorityClassName", "string"), 25: _pointer("priority", "int"),
    },
    "Container": {
        1: _field("name", "string"), 2: _field("image", "string"), 3: _repeated("command", "string"), 4: _repeated("args", "string"),
        5: _field("workingDir", "string"), 6: _repeated("ports", "ContainerPort"), 7: _repeated("env", "EnvVar"),
        8: _field("resources", "ResourceRequirements"), 13: _field("terminationMessagePath", "string"),
        14: _field("imagePullPolicy", "string"), 20: _field("terminationMessagePolicy", "string"),
    },
    "ContainerPort": {1: _field("name", "string"), 2: _field("hostPort", "int"), 3: _field("containerPort", "int"),
                      4: _field("protocol", "string"), 5: _field("hostIP", "string")},
    "EnvVar": {1: _field("name", "string"), 2: _field("value", "string")},
    "ResourceRequirements": {1: _field("limits", "quantitymap"), 2: _field("requests", "quantitymap")},
    # apps/v1
    "Deployment": {**_OBJECT, 2: _field("spec", "DeploymentSpec")},
    "DeploymentSpec": {
        1: _pointer("replicas", "int"), 2: _field("selector", "LabelSelector"), 3: _field("template", "PodTemplateSpec"),
        4: _field("strategy", "DeploymentStrategy"), 5: _field("minReadySeconds", "int"), 6: _pointer("revisionHistoryLimit", "int"),
        7: _field("paused", "bool"), 9: _pointer("progressDeadlineSeconds", "int"),
    },
    "DeploymentStrategy": {1: _field("type", "string"), 2: _field("rollingUpdate", "RollingUpdateDeployment")},
    "RollingUpdateDeployment": {1: _field("maxUnavailable", "intstr"), 2: _field("maxSurge", "intstr")},
    # networking.k8s.io/v1
    "Ingress": {**_OBJECT, 2: _field("spec", "IngressSpec")},
    "IngressSpec": {1: _field("defaultBackend", "IngressBackend"), 2: _repeated("tls", "IngressTLS"), 3: _repeated("rules", "IngressRule"),
                    4: _pointer("ingressClassName", "string")},
    "IngressBackend": {4: _field("service", "IngressServiceBackend")},
    "IngressServiceBackend": {1: _field("name", "string"), 2: _field("port", "ServiceBackendPort")},
    "ServiceBackendPort": {1: _field("name", "string"), 2: _field("number", "int")},
    "IngressTLS": {1: _repeated("hosts", "string"), 2: _field("secretName", "string")},
    "IngressRule": {1: _field("host", "string"), 2: _inline("IngressRuleValue")},
    "IngressRuleValue": {1: _field("http", "HTTPIngressRuleValue")},
    "HTTPIngressRuleValue": {1: _repeated("paths", "HTTPIngressPath")},
    "HTTPIngressPath": {1: _field("path", "string"), 2: _field("backend", "IngressBackend"), 3: _pointer("pathType", "string")},
    # policy/v1, scheduling.k8s.io/v1
    "PodDisruptionBudget": {**_OBJECT, 2: _field("spec", "PodDisruptionBudgetSpec")},
    "PodDisruptionBudgetSpec": {1: _field("minAvailable", "intstr"), 2: _field("selector", "LabelSelector"),
                                3: _field("maxUnavailable", "intstr"), 4: _pointer("unhealthyPodEvictionPolicy", "string")},
    "Eviction": {**_OBJECT, 2: _field("deleteOptions", "DeleteOptions")},
    # autoscaling/v1
    "HorizontalPodAutoscaler": {**_OBJECT, 2: _field("spec", "HorizontalPodAutoscalerSpec")},
    "HorizontalPodAutoscalerSpec": {1: _field("scaleTargetRef", "CrossVersionObjectReference"), 2: _pointer("minReplicas", "int"),
                                    3: _field("maxReplicas", "int"), 4: _pointer("targetCPUUtilizationPercentage", "int")},
    "CrossVersionObjectReference": {1: _field("kind", "string"), 2: _field("name", "string"), 3: _field("apiVersion", "string")},
    # batch/v1
    "Job": {**_OBJECT, 2: _field("spec", "JobSpec")},
    "JobSpec": {
        1: _pointer("parallelism", "int"), 2: _pointer("completions", "int"), 3: _pointer("activeDeadlineSeconds", "int"),
        4: _field("selector", "LabelSelector"), 5: _pointer("manualSelector", "bool"), 6: _field("template", "PodTemplateSpec"),
        7: _pointer("backoffLimit", "int"), 8: _pointer("ttlSecondsAfterFinished", "int"), 9: _pointer("completionMode", "string"),
        10: _pointer("suspend", "bool"), 12: _pointer("backoffLimitPerIndex", "int"), 13: _pointer("maxFailedIndexes", "int"),
        14: _pointer("podReplacementPolicy", "string"), 15: _pointer("managedBy", "string"),
    },
    "CronJob": {**_OBJECT, 2: _field("spec", "CronJobSpec")},
    "CronJobSpec": {
        1: _field("schedule", "string"), 2: _pointer("startingDeadlineSeconds", "int"), 3: _field("concurrencyPolicy", "string"),
        4: _pointer("suspend", "bool"), 5: _field("jobTemplate", "JobTemplateSpec"), 6: _pointer("successfulJobsHistoryLimit", "int"),
        7: _pointer("failedJobsHistoryLimit", "int"), 8: _pointer("timeZone", "string"),
    },
    "JobTemplateSpec": {**_OBJECT, 2: _field("spec", "JobSpec")},
    "PriorityClass": {**_OBJECT, 2: _pointer("value", "int"), 3: _field("globalDefault", "bool"), 4: _field("description", "string"),
                      5: _pointer("preemptionPolicy", "string")},
    # rbac.authorization.k8s.io/v1 (kubectl create role|clusterrole|rolebinding|clusterrolebinding)
    "PolicyRule": {1: _repeated("verbs", "string"), 2: _repeated("apiGroups", "string"), 3: _repeated("resources", "string"),
                   4: _repeated("resourceNames", "string"), 5: _repeated("nonResourceURLs", "string")},
    "Role": {**_OBJECT, 2: _repeated("rules", "PolicyRule")},
    "ClusterRole": {**_OBJECT, 2: _repeated("rules", "PolicyRule"), 3: _field("aggregationRule", "AggregationRule")},
    "AggregationRule": {1: _repeated("clusterRoleSelectors", "LabelSelector")},
    "RoleBinding": {**_OBJECT, 2: _repeated("subjects", "Subject"), 3: _field("roleRef", "RoleRef")},
    "Subject": {1: _field("kind", "string"), 2: _field("apiGroup", "string"), 3: _field("name", "string"), 4: _field("namespace", "string")},
    "RoleRef": {1: _field("apiGroup", "string"), 2: _field("kind", "string"), 3: _field("name", "string")},
    # authentication.k8s.io/v1 (kubectl create token, kubectl auth whoami)
    "TokenRequest": {**_OBJECT, 2: _field("spec", "TokenRequestSpec")},
    "TokenRequestSpec": {1: _repeated("audiences", "string"), 3: _field("boundObjectRef", "BoundObjectReference"),
                         4: _pointer("expirationSeconds", "int")},
    "BoundObjectReference": {1: _field("kind", "string"), 2: _field("apiVersion", "string"), 3: _field("name", "string"), 4: _field("uid", "string")},
    "SelfSubjectReview": _OBJECT,
    # authorization.k8s.io/v1 (kubectl auth can-i)
    "SelfSubjectAccessReview": {**_OBJECT, 2: _field("spec", "SelfSubjectAccessReviewSpec")},
    "SelfSubjectAccessReviewSpec": {1: _field("resourceAttributes", "ResourceAttributes"), 2: _field("nonResourceAttributes", "NonResourceAttributes")},
    "ResourceAttributes": {1: _field("namespace", "string"), 2: _field("verb", "string"), 3: _field("group", "string"), 4: _field("version", "string"),
                           5: _field("resource", "string"), 6: _field("subresource", "string"), 7: _field("name", "string")},
    "NonResourceAttributes": {1: _field("path", "string"), 2: _field("verb", "string")},
    "SelfSubjectRulesReview": {**_OBJECT, 2: _field("spec", "SelfSubjectRulesReviewSpec")},
    "SelfSubjectRulesReviewSpec": {1: _field("namespace", "string")},
}

KINDS = {
    ("v1", "Namespace"): "Namespace", ("v1", "ConfigMap"): "ConfigMap", ("v1", "Secret"): "Secret",
    ("v1", "ServiceAccount"): "ServiceAccount", ("v1", "Service"): "Service", ("apps/v1", "Deployment"): "Deployment",
    ("policy/v1", "PodDisruptionBudget"): "PodDisruptionBudget", ("policy/v1", "Eviction"): "Eviction",
    ("scheduling.k8s.io/v1", "PriorityClass"): "PriorityClass", ("meta.k8s.io/v1", "DeleteOptions"): "DeleteOptions",
    ("v1", "DeleteOptions"): "DeleteOptions", ("networking.k8s.io/v1", "Ingress"): "Ingress",
    ("batch/v1", "Job"): "Job", ("batch/v1", "CronJob"): "CronJob", ("autoscaling/v1", "HorizontalPodAutoscaler"): "HorizontalPodAutoscaler",
    **{("rbac.authorization.k8s.io/v1", kind): kind for kind in ("Role", "ClusterRole", "RoleBinding")},
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): "RoleBinding",
    **{("authentication.k8s.io/v1", kind): kind for kind in ("TokenRequest", "SelfSubjectReview")},
    **{("authorization.k8s.io/v1", kind): kind for kind in ("SelfSubjectAccessReview", "SelfSubjectRulesReview")},
}


# ---------------------------------------------------------------- wire format


def _varint(data, position):
    result, shift = 0, 0
    while True:
        if position >= len(data):
            raise BadRequest("protobuf: truncated varint")
        byte = data[position]
        result |= (byte & 0x7F) << shift
        position += 1
        if not byte & 0x80:
            return result, position
        shift += 7


def _encoded_varint(value):
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def length_delimited(number, payload):
    """Field `number` of a message holding `payload` (bytes, a str in UTF-8, or an encoded message)."""
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    return _encoded_varint(number << 3 | _BYTES) + _encoded_varint(len(payload)) + payload


def _wire_fields(data):
    """(field number, wire type, value) of each field of a message, in order."""
    position = 0
    while position < len(data):
        key, position = _varint(data, position)
        number, wire_type = key >> 3, key & 7
        if wire_type == _VARINT:
            value, position = _varint(data, position)
        elif wire_type == _BYTES:
            length, position = _varint(data, position)
            value, position = data[position:position + length], position + length
        elif wire_type in (_FIXED64, _FIXED32):
            width = 8 if wire_type == _FIXED64 else 4
            value, position = data[position:position + width], position + width
        else:
            raise BadRequest(f"protobuf: unsupported wire type {wire_type}")
        yield number, wire_type, value


def _signed(value):
    return value - (1 << 64) if value >= 1 << 63 else value


def _map_entry(value, decode_value):
    entry = {number: raw for number, _, raw in _wire_fields(value)}
    return entry.get(1, b"").decode("utf-8"), decode_value(entry.get(2, b""))


def _time(value):
    seconds = dict((number, raw) for number, _, raw in _wire_fields(value)).get(1, 0)
    if not seconds:
        return None
    return datetime.datetime.fromtimestamp(_signed(seconds), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _int_or_string(value):
    fields = {number: raw for number, _, raw in _wire_fields(value)}
    return fields.get(3, b"").decode("utf-8") if fields.get(1) == 1 else _signed(fields.get(2, 0))


def _quantity(value):
    return dict((number, raw) for number, _, raw in _wire_fields(value)).get(1, b"").decode("utf-8")


_SCALARS = {
    "string": lambda value: value.decode("utf-8"),
    "raw": lambda value: value,
    "int": _signed,
    "bool": bool,
    "time": _time,
    "intstr": _int_or_string,
}
_MAPS = {
    "map": lambda value: value.decode("utf-8"),
    "bytesmap": lambda value: base64.b64encode(value).decode("ascii"),
    "quantitymap": _quantity,
}


def _is_zero(value):
    return value in ("", 0, None, {}, b"")


def _message(data, name):
    schema = MESSAGES[name]
    result = {}
    for number, _, value in _wire_fields(data):
        if number not in schema:
            continue
        field_name, kind, repeated, keep_zero = schema[number]
        if kind in _MAPS:
            key, item = _map_entry(value, _MAPS[kind])
            result.setdefault(field_name, {})[key] = item
            continue
        decoded = _SCALARS[kind](value) if kind in _SCALARS else _message(value, kind)
        if field_name is None:
            result.update(decoded)
        elif repeated:
            result.setdefault(field_name, []).append(decoded)
        elif keep_zero or not _is_zero(decoded):
            result[field_name] = decoded
    return result


def decode(body):
    """The JSON form of a protobuf-encoded object."""
    if not body.startswith(MAGIC):
        raise BadRequest("protobuf: the body does not start with the Kubernetes protobuf prefix")
    envelope = _message(body[len(MAGIC):], "Unknown")
    type_meta = envelope.get("typeMeta") or {}
    api_version, kind = type_meta.get("apiVersion", ""), type_meta.get("kind", "")
    message = KINDS.get((api_version, kind))
    if message is None:
        raise UnsupportedMediaType(f"the protobuf encoding of {api_version}/{kind} is not supported; send application/json")
    obj = _message(envelope.get("raw", b""), message)
    return {"apiVersion": api_version, "kind": kind, **obj}
