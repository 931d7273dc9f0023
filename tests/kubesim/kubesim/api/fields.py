"""Decoding checks: the shape of a request body, and the fields its kind does not have.

A real server decodes into typed structs. A value of the wrong shape (a string where a list of
ports belongs) fails decoding: 400 whatever the request asks. An unknown field is rejected with
``fieldValidation=Strict`` (what kubectl sends), dropped with a warning with ``Warn`` (the
default), dropped silently with ``Ignore``. This module knows the structures people write by
hand (object metadata, workloads, pod templates, containers, Services, budgets, ConfigMaps,
Secrets, RBAC roles and bindings, the spec of a Route and its backends) and leaves the insides of
the others unchecked.
"""

from dataclasses import dataclass, field

from .. import resources
from ..errors import BadRequest


@dataclass(frozen=True)
class Struct:
    """A JSON object with these field names; ``children`` describe the values of some of them."""

    names: frozenset
    children: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ListOf:
    item: object


# A map of string keys to string values (labels, selectors, ConfigMap data).
STRING_MAP = "map[string]string"
# A Go int32: a JSON number without a fraction, within 32 bits.
INT32 = "int32"


def _struct(names, **children):
    return Struct(frozenset(names.split()), children)


_METADATA = _struct(
    "name generateName namespace selfLink uid resourceVersion generation creationTimestamp deletionTimestamp "
    "deletionGracePeriodSeconds labels annotations ownerReferences finalizers managedFields",
    labels=STRING_MAP, annotations=STRING_MAP, finalizers=ListOf(str),
)
_CONTAINER = _struct(
    "name image command args workingDir ports envFrom env resources resizePolicy restartPolicy volumeMounts volumeDevices "
    "livenessProbe readinessProbe startupProbe lifecycle terminationMessagePath terminationMessagePolicy imagePullPolicy "
    "securityContext stdin stdinOnce tty",
    ports=ListOf(_struct("name hostPort containerPort protocol hostIP")), env=ListOf(_struct("name value valueFrom")),
    command=ListOf(str), args=ListOf(str),
)
_POD_SPEC = _struct(
    "volumes initContainers containers ephemeralContainers restartPolicy terminationGracePeriodSeconds activeDeadlineSeconds "
    "dnsPolicy nodeSelector serviceAccountName serviceAccount automountServiceAccountToken nodeName hostNetwork hostPID hostIPC "
    "shareProcessNamespace securityContext imagePullSecrets hostname subdomain affinity schedulerName tolerations hostAliases "
    "priorityClassName priority dnsConfig readinessGates runtimeClassName enableServiceLinks preemptionPolicy overhead "
    "topologySpreadConstraints setHostnameAsFQDN os hostUsers schedulingGates resourceClaims resources",
    containers=ListOf(_CONTAINER), initContainers=ListOf(_CONTAINER), nodeSelector=STRING_MAP,
)
_LABEL_SELECTOR = _struct("matchLabels matchExpressions", matchLabels=STRING_MAP)
_TEMPLATE = _struct("metadata spec", metadata=_METADATA, spec=_POD_SPEC)
_WORKLOAD = "replicas selector template minReadySeconds revisionHistoryLimit"
_WORKLOAD_CHILDREN = {"selector": _LABEL_SELECTOR, "template": _TEMPLATE}
_SERVICE_SPEC = _struct(
    "ports selector clusterIP clusterIPs type externalIPs sessionAffinity loadBalancerIP loadBalancerSourceRanges externalName "
    "externalTrafficPolicy healthCheckNodePort publishNotReadyAddresses sessionAffinityConfig ipFamilies ipFamilyPolicy "
    "allocateLoadBalancerNodePorts loadBalancerClass internalTrafficPolicy trafficDistribution",
    ports=ListOf(_struct("name protocol appProtocol port targetPort nodePort")), selector=STRING_MAP,
)
_ROUTE_TARGET = _struct("kind name weight", weight=INT32)
_SPECS = {
    resources.DEPLOYMENTS.key: _struct(f"{_WORKLOAD} strategy paused progressDeadlineSeconds", **_WORKLOAD_CHILDREN),
    resources.REPLICASETS.key: _struct(_WORKLOAD, **_WORKLOAD_CHILDREN),
    resources.STATEFULSETS.key: _struct(f"{_WORKLOAD} volumeClaimTemplates serviceName podManagementPolicy updateStrategy "
                                        "persistentVolumeClaimRetentionPolicy ordinals", **_WORKLOAD_CHILDREN),
    resources.DAEMONSETS.key: _struct("selector template minReadySeconds updateStrategy revisionHistoryLimit", **_WORKLOAD_CHILDREN),
    resources.JOBS.key: _struct("parallelism completions activeDeadlineSeconds podFailurePolicy successPolicy backoffLimit backoffLimitPerIndex "
                                "maxFailedIndexes selector manualSelector template ttlSecondsAfterFinished completionMode suspend "
                                "podReplacementPolicy managedBy", **_WORKLOAD_CHILDREN),
    resources.CRONJOBS.key: _struct("schedule timeZone startingDeadlineSeconds concurrencyPolicy suspend jobTemplate successfulJobsHistoryLimit "
                                    "failedJobsHistoryLimit", jobTemplate=_struct("metadata spec", metadata=_METADATA)),
    resources.NETWORKPOLICIES.key: _struct("podSelector ingress egress policyTypes", podSelector=_LABEL_SELECTOR),
    resources.PVCS.key: _struct("accessModes selector resources volumeName storageClassName volumeMode dataSource dataSourceRef "
                                "volumeAttributesClassName", selector=_LABEL_SELECTOR, accessModes=ListOf(str)),
    resources.PVS.key: _struct("capacity accessModes claimRef persistentVolumeReclaimPolicy storageClassName mountOptions volumeMode nodeAffinity "
                               "volumeAttributesClassName hostPath local nfs csi iscsi fc awsElasticBlockStore gcePersistentDisk azureDisk azureFile "
                               "cephfs rbd cinder glusterfs flexVolume vsphereVolume portworxVolume photonPersistentDisk quobyte scaleIO storageos "
                               "flocker", accessModes=ListOf(str)),
    resources.HPAS.key: _struct("scaleTargetRef minReplicas maxReplicas metrics behavior", scaleTargetRef=_struct("kind name apiVersion")),
    resources.PODS.key: _POD_SPEC,
    resources.SERVICES.key: _SERVICE_SPEC,
    resources.PDBS.key: _struct("minAvailable maxUnavailable selector unhealthyPodEvictionPolicy", selector=_LABEL_SELECTOR),
    resources.ROUTES.key: _struct("host subdomain path to alternateBackends port tls wildcardPolicy httpHeaders",
                                  to=_ROUTE_TARGET, alternateBackends=ListOf(_ROUTE_TARGET)),
}
_POLICY_RULES = ListOf(_struct("verbs apiGroups resources resourceNames nonResourceURLs", verbs=ListOf(str), apiGroups=ListOf(str),
                               resources=ListOf(str), resourceNames=ListOf(str), nonResourceURLs=ListOf(str)))
_BINDING = _struct("subjects roleRef", subjects=ListOf(_struct("kind apiGroup name namespace")), roleRef=_struct("apiGroup kind name"))
_TOP_LEVEL = {
    resources.by_path("", "v1", "configmaps").key: _struct("data binaryData immutable", data=STRING_MAP, binaryData=STRING_MAP),
    resources.by_path("", "v1", "secrets").key: _struct("data stringData type immutable", data=STRING_MAP, stringData=STRING_MAP),
    resources.by_path("", "v1", "serviceaccounts").key: _struct("secrets imagePullSecrets automountServiceAccountToken"),
    resources.by_path("scheduling.k8s.io", "v1", "priorityclasses").key: _struct("value globalDefault description preemptionPolicy"),
    resources.STORAGECLASSES.key: _struct("provisioner parameters reclaimPolicy mountOptions allowVolumeExpansion volumeBindingMode "
                                          "allowedTopologies", parameters=STRING_MAP),
    resources.ROLES.key: _struct("rules", rules=_POLICY_RULES),
    resources.CLUSTERROLES.key: _struct("rules aggregationRule", rules=_POLICY_RULES,
                                        aggregationRule=_struct("clusterRoleSelectors", clusterRoleSelectors=ListOf(_LABEL_SELECTOR))),
    resources.ROLEBINDINGS.key: _BINDING,
    resources.CLUSTERROLEBINDINGS.key: _BINDING,
}
_ALWAYS = frozenset({"apiVersion", "kind", "metadata"})


METADATA = _METADATA


def schema_structure(schema, root=False):
    """The shape an OpenAPI v3 schema (a CustomResourceDefinition's) gives a value, for the unknown-field
    checks; None where any field goes (preserved unknown fields, maps, scalars)."""
    if schema.get("x-kubernetes-preserve-unknown-fields") or schema.get("x-kubernetes-embedded-resource"):
        return None
    if schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        item = schema_structure(schema["items"])
        return ListOf(item) if item is not None else None
    if schema.get("type") != "object" or schema.get("additionalProperties") not in (None, False):
        return None
    properties = schema.get("properties") or {}
    children = {name: shape for name, child in properties.items() if (shape := schema_structure(child)) is not None}
    if not root:
        return Struct(frozenset(properties), children)
    return Struct(frozenset(properties) | _ALWAYS, dict(children, metadata=_METADATA))


def structure_of(rtype):
    """The structure of a whole object of this kind; only its metadata is known for kinds without one here."""
    if rtype.definition is not None:
        schema = ((rtype.definition.get("schema") or {}).get("openAPIV3Schema")) or {}
        return schema_structure(schema, root=True)
    if rtype.key in _SPECS:
        return Struct(_ALWAYS | {"spec", "status"}, {"metadata": _METADATA, "spec": _SPECS[rtype.key]})
    if rtype.key in _TOP_LEVEL:
        extra = _TOP_LEVEL[rtype.key]
        return Struct(_ALWAYS | extra.names, {"metadata": _METADATA, **extra.children})
    return None


_JSON_TYPES = {dict: "object", list: "array", str: "string", bool: "bool", int: "number", float: "number", type(None): "null"}


def _mismatch(value, expected, path):
    # Go names the number itself when a number does not fit the field (50.5 for an int32).
    found = f"number {value}" if expected == INT32 and type(value) in (int, float) else _JSON_TYPES.get(type(value), "value")
    return f"json: cannot unmarshal {found} into Go struct field {path} of type {expected}"


@dataclass
class Findings:
    unknown: list = field(default_factory=list)  # (holder, key, path)
    malformed: list = field(default_factory=list)  # messages


def _inspect(value, shape, path, findings):
    if value is None:
        return
    if shape == STRING_MAP:
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            findings.malformed.append(_mismatch(value, STRING_MAP, path))
    elif shape is str:
        if not isinstance(value, str):
            findings.malformed.append(_mismatch(value, "string", path))
    elif shape == INT32:
        if type(value) is not int or not -2**31 <= value < 2**31:
            findings.malformed.append(_mismatch(value, INT32, path))
    elif isinstance(shape, ListOf):
        if not isinstance(value, list):
            findings.malformed.append(_mismatch(value, "array", path))
            return
        for index, item in enumerate(value):
            _inspect(item, shape.item, f"{path}[{index}]", findings)
    elif not isinstance(value, dict):
        findings.malformed.append(_mismatch(value, "object", path))
    else:
        prefix = f"{path}." if path else ""
        findings.unknown += [(value, key, f"{prefix}{key}") for key in value if key not in shape.names]
        for key, child in shape.children.items():
            _inspect(value.get(key), child, f"{prefix}{key}", findings)


def inspect(rtype, obj):
    findings = Findings()
    shape = structure_of(rtype)
    if shape is None:
        _inspect(obj.get("metadata"), _METADATA, "metadata", findings)
    else:
        _inspect(obj, shape, "", findings)
    return findings


def decode_checks(rtype, obj, strict):
    """Reject a body of the wrong shape, and unknown fields when ``strict``; otherwise drop the unknown
    fields and return a warning for each."""
    findings = inspect(rtype, obj)
    cannot = f'{rtype.kind} in version "{rtype.version}" cannot be handled as a {rtype.kind}'
    if findings.malformed:
        raise BadRequest(f"{cannot}: {findings.malformed[0]}")
    if strict and findings.unknown:
        listed = ", ".join(f'unknown field "{path}"' for _, _, path in findings.unknown)
        raise BadRequest(f"{cannot}: strict decoding error: {listed}")
    for holder, key, _ in findings.unknown:
        holder.pop(key, None)
    return [f'unknown field "{path}"' for _, _, path in findings.unknown]
