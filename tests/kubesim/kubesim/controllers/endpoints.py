"""The endpoints and EndpointSlice controllers: which pods back each Service with a selector.

Endpoints list ready pods as ``addresses`` and not-ready ones as ``notReadyAddresses``; a terminating
pod is left out (unless the Service publishes not-ready addresses). EndpointSlices keep terminating
pods, with conditions ``ready`` / ``serving`` / ``terminating`` that say what each can do.
"""

from .. import resources
from ..selectors import service_selector_matches
from .meta import by_namespace, is_deleting, labels, mutate_if_changed, name_of, namespace_of, owner_reference, random_suffix, try_write, uid_of
from .pods import TERMINAL_PHASES, is_ready, phase

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
SLICE_CONTROLLER = "endpointslice-controller.k8s.io"
HEADLESS_LABEL = "service.kubernetes.io/headless"
ZONE_LABEL = "topology.kubernetes.io/zone"


def is_managed(service):
    spec = service.get("spec") or {}
    return bool(spec.get("selector")) and spec.get("type") != "ExternalName"


def publishes_not_ready(service):
    return bool((service.get("spec") or {}).get("publishNotReadyAddresses"))


def selected_pods(service, namespace_pods):
    """The pods that can be endpoints of the Service: selected, with an address, not finished."""
    selector = (service.get("spec") or {}).get("selector")
    return [
        pod for pod in namespace_pods
        if service_selector_matches(selector, labels(pod)) and (pod.get("status") or {}).get("podIP") and phase(pod) not in TERMINAL_PHASES
    ]


def container_port(pod, name, protocol):
    for container in (pod.get("spec") or {}).get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("name") == name and port.get("protocol", "TCP") == protocol:
                return port.get("containerPort")
    return None


def endpoint_ports(service, pod):
    """The Service's ports as this pod serves them: a named targetPort is looked up among the pod's
    container ports (a pod without it is no endpoint for that port)."""
    ports = []
    for service_port in (service.get("spec") or {}).get("ports") or []:
        protocol = service_port.get("protocol", "TCP")
        target = service_port.get("targetPort", service_port.get("port"))
        number = container_port(pod, target, protocol) if isinstance(target, str) else target
        if number is None:
            continue
        port = {"port": number, "protocol": protocol}
        if service_port.get("name"):
            port["name"] = service_port["name"]
        if service_port.get("appProtocol"):
            port["appProtocol"] = service_port["appProtocol"]
        ports.append(port)
    return ports


def _ports_key(ports):
    return tuple(sorted((p.get("name", ""), p["port"], p["protocol"]) for p in ports))


def target_reference(pod):
    return {"kind": "Pod", "namespace": namespace_of(pod), "name": name_of(pod), "uid": uid_of(pod)}


def endpoint_address(service, pod):
    spec = pod.get("spec") or {}
    address = {"ip": pod["status"]["podIP"], "targetRef": target_reference(pod)}
    if spec.get("nodeName"):
        address["nodeName"] = spec["nodeName"]
    if spec.get("hostname") and spec.get("subdomain") == name_of(service):
        address["hostname"] = spec["hostname"]
    return address


def endpoints_subsets(service, pods):
    """Endpoints subsets: addresses grouped by the ports they serve, sorted by IP."""
    groups = {}
    for pod in pods:
        if is_deleting(pod) and not publishes_not_ready(service):
            continue
        ports = endpoint_ports(service, pod)
        if not ports and (service.get("spec") or {}).get("ports"):
            continue
        subset = groups.setdefault(_ports_key(ports), {"ports": ports, "addresses": [], "notReadyAddresses": []})
        bucket = "addresses" if is_ready(pod) or publishes_not_ready(service) else "notReadyAddresses"
        subset[bucket].append(endpoint_address(service, pod))
    subsets = []
    for key in sorted(groups):
        subset = groups[key]
        trimmed = {field: sorted(subset[field], key=lambda a: a["ip"]) for field in ("addresses", "notReadyAddresses") if subset[field]}
        if subset["ports"]:
            trimmed["ports"] = sorted(subset["ports"], key=lambda p: (p.get("name", ""), p["port"]))
        subsets.append(trimmed)
    return subsets


def owned_labels(service):
    """The labels of the objects that describe a Service's endpoints: its own, plus the headless marker."""
    result = dict(labels(service))
    if (service.get("spec") or {}).get("clusterIP") == "None":
        result[HEADLESS_LABEL] = ""
    else:
        result.pop(HEADLESS_LABEL, None)
    return result


class EndpointsController:
    def __init__(self, store):
        self.store = store
        self._services = set()  # (namespace, name) of the Services whose Endpoints this controller keeps

    def reconcile(self):
        services, _ = self.store.list(resources.SERVICES)
        managed = [s for s in services if is_managed(s)]
        existing = {(namespace_of(s), name_of(s)) for s in services}
        for namespace, name in self._services - existing:
            self.store.remove(resources.ENDPOINTS, namespace, name)
        self._services = {(namespace_of(s), name_of(s)) for s in managed}
        if not managed:
            return None
        pods = by_namespace(self.store.list(resources.PODS)[0])
        for service in managed:
            self._sync(service, selected_pods(service, pods.get(namespace_of(service), [])))
        return None

    def _sync(self, service, pods):
        subsets = endpoints_subsets(service, pods)
        wanted_labels = owned_labels(service)
        existing = self.store.find(resources.ENDPOINTS, namespace_of(service), name_of(service))

        def change(endpoints):
            if wanted_labels:
                endpoints["metadata"]["labels"] = wanted_labels
            else:
                endpoints["metadata"].pop("labels", None)
            if subsets:
                endpoints["subsets"] = subsets
            else:
                endpoints.pop("subsets", None)

        if existing is None:
            endpoints = {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": name_of(service), "namespace": namespace_of(service)}}
            change(endpoints)
            try_write(self.store.create, resources.ENDPOINTS, endpoints)
        else:
            mutate_if_changed(self.store, resources.ENDPOINTS, existing, change)


def slice_endpoint(service, pod, node_zones):
    spec = pod.get("spec") or {}
    serving, terminating = is_ready(pod), is_deleting(pod)
    endpoint = {
        "addresses": [pod["status"]["podIP"]],
        "conditions": {"ready": publishes_not_ready(service) or (serving and not terminating), "serving": serving, "terminating": terminating},
        "targetRef": target_reference(pod),
    }
    if spec.get("nodeName"):
        endpoint["nodeName"] = spec["nodeName"]
        if node_zones.get(spec["nodeName"]):
            endpoint["zone"] = node_zones[spec["nodeName"]]
    if spec.get("hostname") and spec.get("subdomain") == name_of(service):
        endpoint["hostname"] = spec["hostname"]
    return endpoint


def desired_slices(service, pods, node_zones):
    """{ports key: (ports, endpoints)}: one slice per distinct port list; an empty placeholder when no pod serves."""
    groups = {}
    for pod in pods:
        ports = endpoint_ports(service, pod)
        group = groups.setdefault(_ports_key(ports), (ports, []))
        group[1].append(slice_endpoint(service, pod, node_zones))
    for _, endpoints in groups.values():
        endpoints.sort(key=lambda e: e["addresses"][0])
    return groups or {(): ([], [])}


class EndpointSliceController:
    def __init__(self, store):
        self.store = store

    def reconcile(self):
        services, _ = self.store.list(resources.SERVICES)
        managed = [s for s in services if is_managed(s) and not is_deleting(s)]
        if not managed:
            return None
        pods = by_namespace(self.store.list(resources.PODS)[0])
        slices = by_namespace(self.store.list(resources.ENDPOINTSLICES, label_requirements=[(MANAGED_BY_LABEL, "In", (SLICE_CONTROLLER,))])[0])
        node_zones = {name_of(node): labels(node).get(ZONE_LABEL) for node in self.store.list(resources.NODES)[0]}
        for service in managed:
            namespace = namespace_of(service)
            own = [s for s in slices.get(namespace, []) if labels(s).get(SERVICE_NAME_LABEL) == name_of(service)]
            self._sync(service, selected_pods(service, pods.get(namespace, [])), own, node_zones)
        return None

    def _sync(self, service, pods, existing, node_zones):
        wanted = desired_slices(service, pods, node_zones)
        wanted_labels = dict(owned_labels(service), **{SERVICE_NAME_LABEL: name_of(service), MANAGED_BY_LABEL: SLICE_CONTROLLER})
        unclaimed = list(existing)
        for key, (ports, endpoints) in sorted(wanted.items()):
            match = next((s for s in unclaimed if _ports_key(s.get("ports") or []) == key), None) or (unclaimed[0] if unclaimed else None)

            def change(target, ports=ports, endpoints=endpoints):
                target["metadata"]["labels"] = wanted_labels
                # The real server stores slices as protobuf, which keeps no empty lists: an empty
                # slice comes back with `endpoints: null` (the typed Python client rejects it).
                target["endpoints"] = endpoints or None
                if ports:
                    target["ports"] = ports
                else:
                    target.pop("ports", None)

            if match is None:
                endpoint_slice = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": "IPv4",
                                  "metadata": {"name": f"{name_of(service)}-{random_suffix()}", "generateName": f"{name_of(service)}-",
                                               "namespace": namespace_of(service), "ownerReferences": [owner_reference(service)]}}
                change(endpoint_slice)
                try_write(self.store.create, resources.ENDPOINTSLICES, endpoint_slice)
            else:
                unclaimed.remove(match)
                mutate_if_changed(self.store, resources.ENDPOINTSLICES, match, change)
        for leftover in unclaimed:
            try_write(self.store.delete, resources.ENDPOINTSLICES, namespace_of(leftover), name_of(leftover))
