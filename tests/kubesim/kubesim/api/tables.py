"""Server-side printing: the meta.k8s.io/v1 Table that ``kubectl get`` asks for and prints as it is.

Each kind has the columns the real server prints for it (priority 1 columns show with ``-o wide``);
kinds without a printer get NAME and AGE, like custom resources without printer columns. Ages are
computed by the server, as a real one does, against the simulated clock.
"""

from .. import resources
from ..clock import Clock
from . import crds

TABLE_API_VERSION = "meta.k8s.io/v1"


def human_duration(seconds):
    """Age the way kubectl prints it: 45s, 3m20s, 15m, 5h10m, 20h, 3d4h, 12d, 2y."""
    seconds = max(int(seconds), 0)
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if seconds < 120:
        return f"{seconds}s"
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 192:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    if days < 365 * 2:
        return f"{days}d"
    return f"{days // 365}y"


class Since(float):
    """A cell holding a moment (epoch seconds): the table shows the time elapsed since it, as of its own "now"."""


def _since(stamp):
    return Since(Clock.parse_timestamp(stamp)) if stamp else "<unknown>"


def age(obj):
    return _since(obj["metadata"].get("creationTimestamp"))


def _spec(obj):
    return obj.get("spec") or {}


def _status(obj):
    return obj.get("status") or {}


def _joined(values, empty="<none>"):
    values = [str(v) for v in values if v not in (None, "")]
    return ",".join(values) if values else empty


def _selector_text(selector):
    if not selector:
        return "<none>"
    parts = [f"{k}={v}" for k, v in (selector.get("matchLabels") or {}).items()]
    for expression in selector.get("matchExpressions") or []:
        operator = expression.get("operator")
        values = ",".join(expression.get("values") or [])
        parts.append({"In": f"{expression['key']} in ({values})", "NotIn": f"{expression['key']} notin ({values})",
                      "Exists": expression["key"], "DoesNotExist": f"!{expression['key']}"}.get(operator, expression["key"]))
    return ",".join(parts)


def _template_containers(obj):
    return ((_spec(obj).get("template") or {}).get("spec") or {}).get("containers") or []


# ---------------------------------------------------------------- pods


def pod_ready(pod):
    statuses = _status(pod).get("containerStatuses") or []
    total = len(_spec(pod).get("containers") or [])
    return f"{sum(1 for s in statuses if s.get('ready'))}/{total}"


def pod_status_reason(pod):
    """The STATUS column: Terminating, a container's waiting/terminated reason, else the phase."""
    if pod["metadata"].get("deletionTimestamp"):
        return "Terminating"
    status = _status(pod)
    reason = status.get("reason") or status.get("phase") or "Pending"
    for container in status.get("containerStatuses") or []:
        state = container.get("state") or {}
        if (state.get("waiting") or {}).get("reason"):
            reason = state["waiting"]["reason"]
        elif (state.get("terminated") or {}).get("reason"):
            reason = state["terminated"]["reason"]
    return reason


def pod_restarts(pod):
    return sum(s.get("restartCount", 0) for s in _status(pod).get("containerStatuses") or [])


def _service_ports(service):
    ports = []
    for port in _spec(service).get("ports") or []:
        node_port = f":{port['nodePort']}" if port.get("nodePort") else ""
        ports.append(f"{port.get('port')}{node_port}/{port.get('protocol', 'TCP')}")
    return _joined(ports)


def _endpoint_addresses(endpoints):
    shown = []
    for subset in endpoints.get("subsets") or []:
        for address in subset.get("addresses") or []:
            for port in subset.get("ports") or [{}]:
                shown.append(f"{address.get('ip')}:{port.get('port')}" if port.get("port") else address.get("ip"))
    if len(shown) > 3:
        return ",".join(shown[:3]) + f" + {len(shown) - 3} more..."
    return _joined(shown)


def _node_ready(node):
    ready = next((c for c in _status(node).get("conditions") or [] if c.get("type") == "Ready"), None)
    status = "Ready" if ready and ready.get("status") == "True" else "NotReady"
    return f"{status},SchedulingDisabled" if _spec(node).get("unschedulable") else status


def _node_roles(node):
    prefix = "node-role.kubernetes.io/"
    roles = [key[len(prefix):] for key in node["metadata"].get("labels") or {} if key.startswith(prefix)]
    return _joined(sorted(roles))


def _budget_figure(pdb, key):
    value = _spec(pdb).get(key)
    return "N/A" if value is None else str(value)


def _ingress_hosts(ingress):
    hosts = [rule.get("host") for rule in _spec(ingress).get("rules") or [] if rule.get("host")]
    return _joined(hosts, empty="*")


def _load_balancer_addresses(obj):
    ingress = (_status(obj).get("loadBalancer") or {}).get("ingress") or []
    return _joined([entry.get("ip") or entry.get("hostname") for entry in ingress], empty="")


def _event_object(event):
    involved = event.get("involvedObject") or event.get("regarding") or {}
    return f"{(involved.get('kind') or '').lower()}/{involved.get('name', '')}"


def _event_first_seen(event):
    return _since(event.get("firstTimestamp") or event.get("eventTime"))


def _event_last_seen(event):
    series = event.get("series") or {}
    return _since(series.get("lastObservedTime") or event.get("lastTimestamp") or event.get("firstTimestamp") or event.get("eventTime"))


def _event_count(event):
    """Events of the events.k8s.io recorder carry no count: one, or their series' count."""
    return (event.get("series") or {}).get("count") or event.get("count") or 1


def _event_source(event):
    source = event.get("source") or {}
    component = source.get("component") or event.get("reportingComponent") or ""
    instance = source.get("host") or event.get("reportingInstance") or ""
    return f"{component}, {instance}" if instance else component


_ACCESS_MODE_SHORT = {"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX", "ReadWriteOncePod": "RWOP"}


def _access_modes(modes):
    return ",".join(_ACCESS_MODE_SHORT.get(mode, mode) for mode in modes or [])


def _hpa_target(spec, status):
    """One metric of the TARGETS column, ``cpu: <unknown>/80%`` style."""
    kind = spec.get("type")
    key = {"Resource": "resource", "ContainerResource": "containerResource", "Pods": "pods", "Object": "object", "External": "external"}.get(kind)
    if key is None:
        return "<unknown type>"
    source, current = spec.get(key) or {}, (status or {}).get(key) or {}
    target = source.get("target") or {}
    if kind in ("Resource", "ContainerResource"):
        name = source.get("name", "")
        if target.get("averageValue") is not None:
            return f"{name}: {(current.get('current') or {}).get('averageValue', '<unknown>')}/{target['averageValue']}"
        shown = (current.get("current") or {}).get("averageUtilization")
        goal = f"{target['averageUtilization']}%" if target.get("averageUtilization") is not None else "<auto>"
        return f"{name}: {'<unknown>' if shown is None else f'{shown}%'}/{goal}"
    averaged = target.get("averageValue") is not None
    wanted = target.get("averageValue") if averaged else target.get("value")
    value = (current.get("current") or {}).get("averageValue" if averaged else "value") or "<unknown>"
    return f"{value}/{wanted}" + (" (avg)" if averaged and kind != "Pods" else "")


def hpa_targets(hpa):
    metrics, statuses = _spec(hpa).get("metrics") or [], _status(hpa).get("currentMetrics") or []
    shown = [_hpa_target(metric, statuses[index] if index < len(statuses) else None) for index, metric in enumerate(metrics)]
    if not shown:
        return "<none>"
    return ", ".join(shown[:2]) + (f" + {len(shown) - 2} more..." if len(shown) > 2 else "")


def _has_condition(obj, condition_type):
    return any(c.get("type") == condition_type and c.get("status") == "True" for c in _status(obj).get("conditions") or [])


def job_status(job):
    """The STATUS column: the Job's terminal condition, else Terminating, Suspended, FailureTarget or Running."""
    for condition_type, shown in (("Complete", "Complete"), ("Failed", "Failed")):
        if _has_condition(job, condition_type):
            return shown
    if job["metadata"].get("deletionTimestamp"):
        return "Terminating"
    for condition_type in ("Suspended", "FailureTarget"):
        if _has_condition(job, condition_type):
            return condition_type
    return "Running"


def job_completions(job):
    succeeded, completions = _status(job).get("succeeded", 0), _spec(job).get("completions")
    if completions is not None:
        return f"{succeeded}/{completions}"
    parallelism = _spec(job).get("parallelism") or 0
    return f"{succeeded}/1 of {parallelism}" if parallelism > 1 else f"{succeeded}/1"


def job_duration(job):
    started, completed = _status(job).get("startTime"), _status(job).get("completionTime")
    if not started:
        return ""
    if not completed:
        return _since(started)
    return human_duration(Clock.parse_timestamp(completed) - Clock.parse_timestamp(started))


def _subjects(binding, kind):
    """A binding's subjects of one kind, as kubectl lists them (service accounts as namespace/name)."""
    subjects = [s for s in binding.get("subjects") or [] if s.get("kind") == kind]
    return ", ".join(f"{s.get('namespace', '')}/{s.get('name', '')}" if kind == "ServiceAccount" else s.get("name", "") for s in subjects)


def _job_template_containers(cronjob):
    return ((((_spec(cronjob).get("jobTemplate") or {}).get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []


# ---------------------------------------------------------------- column tables

# (name, type, priority, cell(obj)); the name column comes first for every kind.
_NAME = ("Name", "string", 0, lambda o: o["metadata"]["name"])
_AGE = ("Age", "string", 0, age)
_CONTAINERS = ("Containers", "string", 1, lambda o: _joined(c.get("name") for c in _template_containers(o)))
_IMAGES = ("Images", "string", 1, lambda o: _joined(c.get("image") for c in _template_containers(o)))
_SELECTOR = ("Selector", "string", 1, lambda o: _selector_text(_spec(o).get("selector")))
_CREATED_AT = ("Created At", "date", 0, lambda o: o["metadata"].get("creationTimestamp", ""))
_BINDING_COLUMNS = (
    _NAME, ("Role", "string", 0, lambda o: f"{(o.get('roleRef') or {}).get('kind', '')}/{(o.get('roleRef') or {}).get('name', '')}"), _AGE,
    ("Users", "string", 1, lambda o: _subjects(o, "User")), ("Groups", "string", 1, lambda o: _subjects(o, "Group")),
    ("ServiceAccounts", "string", 1, lambda o: _subjects(o, "ServiceAccount")),
)

COLUMNS = {
    resources.PODS.key: (
        _NAME, ("Ready", "string", 0, pod_ready), ("Status", "string", 0, pod_status_reason),
        ("Restarts", "string", 0, lambda o: str(pod_restarts(o))), _AGE,
        ("IP", "string", 1, lambda o: _status(o).get("podIP") or "<none>"),
        ("Node", "string", 1, lambda o: _spec(o).get("nodeName") or "<none>"),
        ("Nominated Node", "string", 1, lambda o: _status(o).get("nominatedNodeName") or "<none>"),
        ("Readiness Gates", "string", 1, lambda o: "<none>"),
    ),
    resources.DEPLOYMENTS.key: (
        _NAME, ("Ready", "string", 0, lambda o: f"{_status(o).get('readyReplicas', 0)}/{_spec(o).get('replicas', 0)}"),
        ("Up-to-date", "integer", 0, lambda o: _status(o).get("updatedReplicas", 0)),
        ("Available", "integer", 0, lambda o: _status(o).get("availableReplicas", 0)), _AGE, _CONTAINERS, _IMAGES, _SELECTOR,
    ),
    resources.REPLICASETS.key: (
        _NAME, ("Desired", "integer", 0, lambda o: _spec(o).get("replicas", 0)),
        ("Current", "integer", 0, lambda o: _status(o).get("replicas", 0)),
        ("Ready", "integer", 0, lambda o: _status(o).get("readyReplicas", 0)), _AGE, _CONTAINERS, _IMAGES, _SELECTOR,
    ),
    resources.STATEFULSETS.key: (
        _NAME, ("Ready", "string", 0, lambda o: f"{_status(o).get('readyReplicas', 0)}/{_spec(o).get('replicas', 0)}"), _AGE,
        _CONTAINERS, _IMAGES,
    ),
    resources.DAEMONSETS.key: (
        _NAME, ("Desired", "integer", 0, lambda o: _status(o).get("desiredNumberScheduled", 0)),
        ("Current", "integer", 0, lambda o: _status(o).get("currentNumberScheduled", 0)),
        ("Ready", "integer", 0, lambda o: _status(o).get("numberReady", 0)),
        ("Up-to-date", "integer", 0, lambda o: _status(o).get("updatedNumberScheduled", 0)),
        ("Available", "integer", 0, lambda o: _status(o).get("numberAvailable", 0)),
        ("Node Selector", "string", 0, lambda o: _joined(f"{k}={v}" for k, v in (((_spec(o).get("template") or {}).get("spec") or {})
                                                                                   .get("nodeSelector") or {}).items())),
        _AGE, _CONTAINERS, _IMAGES, _SELECTOR,
    ),
    resources.JOBS.key: (
        _NAME, ("Status", "string", 0, job_status), ("Completions", "string", 0, job_completions),
        ("Duration", "string", 0, job_duration), _AGE, _CONTAINERS, _IMAGES, _SELECTOR,
    ),
    resources.CRONJOBS.key: (
        _NAME, ("Schedule", "string", 0, lambda o: _spec(o).get("schedule", "")),
        ("Timezone", "string", 0, lambda o: _spec(o).get("timeZone") or "<none>"),
        ("Suspend", "boolean", 0, lambda o: bool(_spec(o).get("suspend"))),
        ("Active", "integer", 0, lambda o: len(_status(o).get("active") or [])),
        ("Last Schedule", "string", 0, lambda o: _since(_status(o).get("lastScheduleTime")) if _status(o).get("lastScheduleTime") else "<none>"),
        _AGE,
        ("Containers", "string", 1, lambda o: _joined(c.get("name") for c in _job_template_containers(o))),
        ("Images", "string", 1, lambda o: _joined(c.get("image") for c in _job_template_containers(o))),
        ("Selector", "string", 1, lambda o: _selector_text((((_spec(o).get("jobTemplate") or {}).get("spec") or {}).get("selector")))),
    ),
    resources.NETWORKPOLICIES.key: (_NAME, ("Pod-Selector", "string", 0, lambda o: _selector_text(_spec(o).get("podSelector"))), _AGE),
    resources.PVCS.key: (
        _NAME, ("Status", "string", 0, lambda o: _status(o).get("phase", "")), ("Volume", "string", 0, lambda o: _spec(o).get("volumeName", "")),
        ("Capacity", "string", 0, lambda o: (_status(o).get("capacity") or {}).get("storage", "")),
        ("Access Modes", "string", 0, lambda o: _access_modes(_status(o).get("accessModes"))),
        ("StorageClass", "string", 0, lambda o: _spec(o).get("storageClassName", "")),
        ("VolumeAttributesClass", "string", 0, lambda o: _spec(o).get("volumeAttributesClassName") or "<unset>"), _AGE,
        ("VolumeMode", "string", 1, lambda o: _spec(o).get("volumeMode", "")),
    ),
    resources.PVS.key: (
        _NAME, ("Capacity", "string", 0, lambda o: (_spec(o).get("capacity") or {}).get("storage", "")),
        ("Access Modes", "string", 0, lambda o: _access_modes(_spec(o).get("accessModes"))),
        ("Reclaim Policy", "string", 0, lambda o: _spec(o).get("persistentVolumeReclaimPolicy", "")),
        ("Status", "string", 0, lambda o: _status(o).get("phase", "")),
        ("Claim", "string", 0, lambda o: "/".join(filter(None, ((_spec(o).get("claimRef") or {}).get("namespace"),
                                                                 (_spec(o).get("claimRef") or {}).get("name"))))),
        ("StorageClass", "string", 0, lambda o: _spec(o).get("storageClassName", "")),
        ("VolumeAttributesClass", "string", 0, lambda o: _spec(o).get("volumeAttributesClassName") or "<unset>"),
        ("Reason", "string", 0, lambda o: _status(o).get("reason", "")), _AGE,
        ("VolumeMode", "string", 1, lambda o: _spec(o).get("volumeMode", "")),
    ),
    resources.STORAGECLASSES.key: (
        ("Name", "string", 0, lambda o: o["metadata"]["name"] + (" (default)" if (o["metadata"].get("annotations") or {}).get(
            "storageclass.kubernetes.io/is-default-class") == "true" else "")),
        ("Provisioner", "string", 0, lambda o: o.get("provisioner", "")), ("ReclaimPolicy", "string", 0, lambda o: o.get("reclaimPolicy", "Delete")),
        ("VolumeBindingMode", "string", 0, lambda o: o.get("volumeBindingMode", "Immediate")),
        ("AllowVolumeExpansion", "string", 0, lambda o: "true" if o.get("allowVolumeExpansion") else "false"), _AGE,
    ),
    resources.HPAS.key: (
        _NAME, ("Reference", "string", 0, lambda o: f"{(_spec(o).get('scaleTargetRef') or {}).get('kind', '')}/{(_spec(o).get('scaleTargetRef') or {}).get('name', '')}"),
        ("Targets", "string", 0, hpa_targets), ("MinPods", "string", 0, lambda o: str(_spec(o)["minReplicas"]) if _spec(o).get("minReplicas") is not None else "<unset>"),
        ("MaxPods", "integer", 0, lambda o: _spec(o).get("maxReplicas", 0)), ("Replicas", "integer", 0, lambda o: _status(o).get("currentReplicas", 0)), _AGE,
    ),
    resources.CRDS.key: (_NAME, _CREATED_AT),
    resources.SERVICES.key: (
        _NAME, ("Type", "string", 0, lambda o: _spec(o).get("type", "ClusterIP")),
        ("Cluster-IP", "string", 0, lambda o: _spec(o).get("clusterIP") or "<none>"),
        ("External-IP", "string", 0, lambda o: _load_balancer_addresses(o) or ("<pending>" if _spec(o).get("type") == "LoadBalancer" else "<none>")),
        ("Port(s)", "string", 0, _service_ports), _AGE,
        ("Selector", "string", 1, lambda o: _joined(f"{k}={v}" for k, v in (_spec(o).get("selector") or {}).items())),
    ),
    resources.ENDPOINTS.key: (_NAME, ("Endpoints", "string", 0, _endpoint_addresses), _AGE),
    resources.NAMESPACES.key: (_NAME, ("Status", "string", 0, lambda o: _status(o).get("phase", "Active")), _AGE),
    resources.NODES.key: (
        _NAME, ("Status", "string", 0, _node_ready), ("Roles", "string", 0, _node_roles), _AGE,
        ("Version", "string", 0, lambda o: (_status(o).get("nodeInfo") or {}).get("kubeletVersion", "")),
    ),
    resources.by_path("", "v1", "configmaps").key: (_NAME, ("Data", "integer", 0, lambda o: len(o.get("data") or {}) + len(o.get("binaryData") or {})), _AGE),
    resources.by_path("", "v1", "secrets").key: (
        _NAME, ("Type", "string", 0, lambda o: o.get("type", "Opaque")), ("Data", "integer", 0, lambda o: len(o.get("data") or {})), _AGE,
    ),
    resources.by_path("", "v1", "serviceaccounts").key: (_NAME, ("Secrets", "integer", 0, lambda o: len(o.get("secrets") or [])), _AGE),
    resources.PDBS.key: (
        _NAME, ("Min Available", "string", 0, lambda o: _budget_figure(o, "minAvailable")),
        ("Max Unavailable", "string", 0, lambda o: _budget_figure(o, "maxUnavailable")),
        ("Allowed Disruptions", "integer", 0, lambda o: _status(o).get("disruptionsAllowed", 0)), _AGE,
    ),
    resources.INGRESSES.key: (
        _NAME, ("Class", "string", 0, lambda o: _spec(o).get("ingressClassName") or "<none>"), ("Hosts", "string", 0, _ingress_hosts),
        ("Address", "string", 0, _load_balancer_addresses), ("Ports", "string", 0, lambda o: "80, 443" if _spec(o).get("tls") else "80"), _AGE,
    ),
    resources.EVENTS.key: (
        ("Last Seen", "string", 0, _event_last_seen), ("Type", "string", 0, lambda o: o.get("type", "")),
        ("Reason", "string", 0, lambda o: o.get("reason", "")), ("Object", "string", 0, _event_object),
        ("Subobject", "string", 1, lambda o: (o.get("involvedObject") or {}).get("fieldPath", "")), ("Source", "string", 1, _event_source),
        ("Message", "string", 0, lambda o: (o.get("message") or o.get("note") or "").strip()), ("First Seen", "string", 1, _event_first_seen),
        ("Count", "string", 1, _event_count), ("Name", "string", 1, lambda o: o["metadata"]["name"]),
    ),
    resources.by_path("scheduling.k8s.io", "v1", "priorityclasses").key: (
        _NAME, ("Value", "integer", 0, lambda o: o.get("value", 0)),
        ("Global-Default", "boolean", 0, lambda o: bool(o.get("globalDefault"))), _AGE,
        ("PreemptionPolicy", "string", 0, lambda o: o.get("preemptionPolicy", "PreemptLowerPriority")),
    ),
    resources.by_path("coordination.k8s.io", "v1", "leases").key: (
        _NAME, ("Holder", "string", 0, lambda o: _spec(o).get("holderIdentity", "")), _AGE,
    ),
    resources.ROLES.key: (_NAME, _CREATED_AT),
    resources.CLUSTERROLES.key: (_NAME, _CREATED_AT),
    resources.ROLEBINDINGS.key: _BINDING_COLUMNS,
    resources.CLUSTERROLEBINDINGS.key: _BINDING_COLUMNS,
}
_DEFAULT_COLUMNS = (_NAME, _AGE)


def _column_definition(column):
    name, kind, priority, _ = column
    return {"name": name, "type": kind, "format": "name" if column is _NAME else "", "description": name, "priority": priority}


def _row_object(obj, include_object):
    if include_object == "None":
        return None
    if include_object == "Object":
        return obj
    return {"kind": "PartialObjectMetadata", "apiVersion": TABLE_API_VERSION, "metadata": obj["metadata"]}


def _cell(value, now):
    return human_duration(now - value) if isinstance(value, Since) else value


def table(rtype, objects, now, include_object="Metadata", list_metadata=None):
    """A Table of ``objects`` as of ``now`` (epoch seconds); ``include_object`` is the includeObject query
    parameter (None/Metadata/Object)."""
    columns = crds.printer_columns(rtype, _NAME, _AGE, _since) if rtype.definition is not None else COLUMNS.get(rtype.key, _DEFAULT_COLUMNS)
    rows = []
    for obj in objects:
        row = {"cells": [_cell(column[3](obj), now) for column in columns]}
        embedded = _row_object(obj, include_object)
        if embedded is not None:
            row["object"] = embedded
        rows.append(row)
    return {"kind": "Table", "apiVersion": TABLE_API_VERSION, "metadata": list_metadata or {},
            "columnDefinitions": [_column_definition(column) for column in columns], "rows": rows}
