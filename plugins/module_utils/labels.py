# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The labels and label values that tie the platform's objects together.

Every plugin reads these names from here: the manifests that create the
objects, the status that reads them, the ledger and the routers that move
traffic between them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

LABEL_NAME = "app.kubernetes.io/name"
LABEL_PART_OF = "app.kubernetes.io/part-of"
LABEL_VERSION = "app.kubernetes.io/version"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGED_BY = "cxpe.rollout"
# The Deployment a pod belongs to (<service>, <service>-blue, <service>-canary, ...); on a service's Services and
# PodDisruptionBudget, the service.
LABEL_INSTANCE = "app.kubernetes.io/instance"
# What kind of service it is, from the catalog (catalog.COMPONENTS): realtime, api, ui or reporting.
LABEL_COMPONENT = "app.kubernetes.io/component"

# The node pool label of the sample platform's nodes (kubesim's nodes carry it): real-time services run on the
# nodes where it is REALTIME_POOL, and tolerate the taint of the same key and value that keeps other pods away.
LABEL_NODE_POOL = "cxpe.io/node-pool"
REALTIME_POOL = "realtime"

# Blue/green: the pods of <service>-blue and <service>-green carry their color,
# and a router selects one of them.
LABEL_COLOR = "cxpe.io/color"
COLORS = ("blue", "green")

# Canary: the track of a service's pods. The stable Deployment <service> and the
# canary Deployment <service>-canary each select their track; the Services
# <service>-stable and <service>-canary select one track each (what weighted
# routers point at) while the Service <service> selects both.
LABEL_TRACK = "cxpe.io/track"
STABLE_TRACK = "stable"
CANARY_TRACK = "canary"
TRACKS = (STABLE_TRACK, CANARY_TRACK)
# consul-k8s registers a pod's annotation consul.hashicorp.com/service-meta-<key> as
# service meta <key>: the Consul ServiceResolver's subsets filter on Service.Meta.track.
CONSUL_TRACK_META = "track"
CONSUL_META_ANNOTATION = "consul.hashicorp.com/service-meta-" + CONSUL_TRACK_META

# Rolling update: the pods of a Deployment carry SERVING in this label and its Service
# selects on it, while the Deployment's selector does not: a rolling drain flips a pod's
# label to "false" to take it out of rotation, and the pod stays owned by its ReplicaSet.
LABEL_SERVING = "cxpe.io/serving"
SERVING = "true"
# What a rolling drain sets the label to on a pod it takes out of rotation.
NOT_SERVING = "false"

# The rollout ledger ConfigMap of a service carries the service's name in this
# label, so one list per namespace finds every ledger.
LABEL_LEDGER = "cxpe.io/rollout-ledger"


def other_color(color):
    """The idle color when `color` is active."""
    return COLORS[1] if color == COLORS[0] else COLORS[0]
