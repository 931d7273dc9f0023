# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A backup of the platform: the objects an upgrade touches in some namespaces, cleaned so that applying them
again puts them back as they were.

What is read (KINDS): the workloads (Deployments, StatefulSets), what routes to them (Services, Ingresses, and
the router kinds the strategies drive when the server serves them: OpenShift Routes, Consul ServiceSplitters and
ServiceResolvers), ConfigMaps (the services' configuration and the rollout ledgers, which are ConfigMaps) and
PodDisruptionBudgets. A kind the server does not serve is skipped and named in `skipped_kinds`.

What is left out, and why:
- Leases. The collection's Leases (lease.py) are run locks only: a rolling drain holds one for its run and deletes
  it at the end, and what a run needs to resume is in the ledger. A restored Lease would either be stale (a run
  that has ended) or claim a workload for a run that no longer exists.
- `kube-root-ca.crt`, the ConfigMap that Kubernetes publishes in every namespace.
- Objects that another object controls (a controller ownerReference): their controller makes them again, and a
  copy restored with the old owner's uid would be garbage collected.

Cleaning (`clean`) drops what the server owns - status and the metadata fields of cluster.SERVER_METADATA (uid,
resourceVersion, managedFields, creationTimestamp, generation, selfLink) and a deletion in progress - and a
Service's allocated cluster IPs (a headless Service keeps `clusterIP: None`, which is its spec, not an
allocation). Everything else is kept as the server returned it, defaults included, so that replacing an object
with its copy restores it field for field.

Every read goes through cluster.Cluster.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.cxpe.rollout.plugins.module_utils.cluster import SERVER_METADATA, ClusterError

ROOT_CA_CONFIGMAP = "kube-root-ca.crt"
# Set on an object being deleted; the server refuses them on create and owns them on update.
DELETION_METADATA = ("deletionTimestamp", "deletionGracePeriodSeconds")
HEADLESS = "None"


class BackupKind(object):
    def __init__(self, api_version, kind):
        self.api_version, self.kind = api_version, kind


KINDS = (
    BackupKind("apps/v1", "Deployment"),
    BackupKind("apps/v1", "StatefulSet"),
    BackupKind("v1", "Service"),
    BackupKind("networking.k8s.io/v1", "Ingress"),
    BackupKind("v1", "ConfigMap"),
    BackupKind("policy/v1", "PodDisruptionBudget"),
    BackupKind("route.openshift.io/v1", "Route"),
    BackupKind("consul.hashicorp.com/v1alpha1", "ServiceResolver"),
    BackupKind("consul.hashicorp.com/v1alpha1", "ServiceSplitter"),
)


def not_served(error, kind):
    """Whether a ClusterError says that the server does not serve `kind` at all (cluster.Cluster.resource reports it
    without an HTTP status, in these words), rather than that it could not be asked."""
    return error.status is None and "%s" % error == "the API server does not serve %s (%s)" % (kind.kind, kind.api_version)


def kept(obj):
    """Whether an object read belongs in the backup (see the module docstring for what does not)."""
    metadata = obj.get("metadata") or {}
    if obj.get("kind") == "ConfigMap" and metadata.get("name") == ROOT_CA_CONFIGMAP:
        return False
    return not any(owner.get("controller") for owner in metadata.get("ownerReferences") or [])


def clean(obj):
    """A copy of an object without what the server owns: what applying it again should send."""
    cleaned = copy.deepcopy(obj)
    cleaned.pop("status", None)
    metadata = cleaned.get("metadata") or {}
    for field in SERVER_METADATA + DELETION_METADATA:
        metadata.pop(field, None)
    if cleaned.get("kind") == "Service":
        spec = cleaned.get("spec") or {}
        if spec.get("clusterIP") != HEADLESS:
            spec.pop("clusterIP", None)
            spec.pop("clusterIPs", None)
    return cleaned


def _object_key(obj):
    metadata = obj["metadata"]
    return metadata.get("namespace") or "", metadata["name"]


def read_backup(cluster, namespaces, kinds=KINDS):
    """{"objects", "counts", "skipped_kinds"} of the namespaces: the objects kept and cleaned, by kind in the order
    of `kinds` then by namespace and name; how many of each kind served; the kinds the server does not serve."""
    namespaces = list(dict.fromkeys(namespaces))
    objects, counts, skipped = [], {}, []
    for kind in kinds:
        try:
            cluster.resource(kind.api_version, kind.kind)
        except ClusterError as error:
            if not not_served(error, kind):
                raise
            skipped.append(kind.kind)
            continue
        found = []
        for namespace in namespaces:
            items, _version = cluster.list(kind.api_version, kind.kind, namespace)
            # A list's items carry no kind or apiVersion of their own.
            found.extend(dict(item, apiVersion=kind.api_version, kind=kind.kind) for item in items)
        found = sorted((clean(item) for item in found if kept(item)), key=_object_key)
        counts[kind.kind] = len(found)
        objects.extend(found)
    return {"objects": objects, "counts": counts, "skipped_kinds": skipped}
