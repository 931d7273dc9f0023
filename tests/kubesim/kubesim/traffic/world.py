"""What the routers know of the cluster, moment by moment.

A :class:`World` is an immutable view of the objects routing reads: Services, EndpointSlices,
Ingresses, Routes, Consul ServiceSplitters and ServiceResolvers, and the pods' metadata (Consul
subsets filter on it). Each change makes a new World that shares everything it did not touch, and
:class:`History` keeps them by the simulated moment they came about, so a router that applies
changes ``delay`` seconds late is asked about the World of ``now - delay``.
"""

import bisect

from .. import resources

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
ROUTING_KINDS = {
    resources.SERVICES.key: "services", resources.ENDPOINTSLICES.key: "slices", resources.INGRESSES.key: "ingresses",
    resources.ROUTES.key: "routes", resources.SERVICESPLITTERS.key: "splitters", resources.SERVICERESOLVERS.key: "resolvers",
    resources.PODS.key: "pods",
}


def _meta(pod):
    metadata = pod["metadata"]
    return (metadata.get("labels") or {}, metadata.get("annotations") or {})


def _table_key(table, obj):
    """Where an object sits in its table: slices under their Service, pods as their metadata, the rest by (namespace, name)."""
    metadata = obj["metadata"]
    if table == "slices":
        return (metadata.get("namespace"), (metadata.get("labels") or {}).get(SERVICE_NAME_LABEL, "")), metadata["name"]
    return (metadata.get("namespace"), metadata["name"]), None


class World:
    """One moment's routing view. Tables: ``services``, ``ingresses``, ``routes``, ``splitters``,
    ``resolvers`` map (namespace, name) to the object, ``slices`` (namespace, Service) to {slice name:
    slice}, ``pods`` (namespace, name) to (labels, annotations)."""

    TABLES = ("services", "slices", "ingresses", "routes", "splitters", "resolvers", "pods")

    def __init__(self, tables=None):
        self.tables = tables or {table: {} for table in self.TABLES}
        # Routing answers computed on this World, by entry (see routing.plan).
        self.plans = {}

    def changed(self, event_type, rtype_key, obj):
        """The World after one store event, or this same World when routing cannot tell the difference."""
        table = ROUTING_KINDS.get(rtype_key)
        if table is None:
            return self
        key, inner = _table_key(table, obj)
        current = self.tables[table]
        deleted = event_type == "DELETED"
        if table == "pods":
            value = None if deleted else _meta(obj)
            if current.get(key) == value:
                return self
        elif table == "slices":
            slices = dict(current.get(key) or {})
            if deleted:
                slices.pop(inner, None)
            else:
                slices[inner] = obj
            value = slices or None
        else:
            value = None if deleted else obj
        updated = dict(current)
        if value is None:
            updated.pop(key, None)
        else:
            updated[key] = value
        return World(dict(self.tables, **{table: updated}))

    def of_namespace(self, table, namespace):
        """The objects of a table in one namespace, by name order."""
        return [obj for (obj_namespace, _), obj in sorted(self.tables[table].items()) if obj_namespace == namespace]

    def endpoints(self, namespace, service):
        """Every endpoint of a Service's EndpointSlices as (pod uid, pod name, conditions)."""
        found = []
        for endpoint_slice in (self.tables["slices"].get((namespace, service)) or {}).values():
            for endpoint in endpoint_slice.get("endpoints") or []:
                reference = endpoint.get("targetRef") or {}
                if reference.get("kind") == "Pod" and reference.get("uid"):
                    found.append((reference["uid"], reference.get("name", ""), endpoint.get("conditions") or {}))
        return sorted(found, key=lambda e: e[1])


class History:
    """Worlds by the simulated moment they began; the oldest are let go once no router can still be behind them."""

    def __init__(self, world, moment):
        self._moments = [moment]
        self._worlds = [world]

    @property
    def latest(self):
        return self._worlds[-1]

    def record(self, moment, world):
        if world is self._worlds[-1]:
            return
        if moment <= self._moments[-1]:
            self._worlds[-1] = world
        else:
            self._moments.append(moment)
            self._worlds.append(world)

    def at(self, moment):
        """The World in force at ``moment`` (the oldest kept one, for a moment before it)."""
        return self._worlds[max(bisect.bisect_right(self._moments, moment) - 1, 0)]

    def forget_before(self, moment):
        """Keep the World in force at ``moment`` and every later one."""
        keep_from = max(bisect.bisect_right(self._moments, moment) - 1, 0)
        if keep_from:
            del self._moments[:keep_from]
            del self._worlds[:keep_from]
