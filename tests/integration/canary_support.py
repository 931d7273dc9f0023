# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Canary services, their weighted routers and their traffic on kubesim, built and read with kubectl.

A canary service `web` is what the platform deploys (see docs/canary.md): the Deployments `web` (stable
track) and `web-canary`, the Service `web` over both tracks and the Services `web-stable` and
`web-canary`, one track each; then the routers of one kind, with the clients calling its entry point.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from bluegreen_support import IMAGE, apply, ingress, metadata, route, service, start_traffic, traffic_totals, wait_rollout

CANARY_KINDS = ("nginx", "route", "consul", "replicas")
TRAFFIC_ENTRY = "kubesim.cxpe.io/traffic-entry"
CONSUL_META = "consul.hashicorp.com/service-meta-track"
PRESTOP_SECONDS = 5


def track_deployment(service_name, track, version, replicas, annotations=None):
    selector = {"app.kubernetes.io/name": service_name, "cxpe.io/track": track}
    labels = dict(selector, **{"app.kubernetes.io/version": version})
    # A preStop pause longer than the routers take to forget an endpoint, as production pods have:
    # without it, scaling a track down fails the requests still sent to the pods that go.
    container = {"name": "app", "image": "%s:%s" % (IMAGE, version), "ports": [{"name": "http", "containerPort": 8080}],
                 "lifecycle": {"preStop": {"sleep": {"seconds": PRESTOP_SECONDS}}}}
    name = service_name if track == "stable" else "%s-%s" % (service_name, track)
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": metadata(name, labels),
            "spec": {"replicas": replicas, "selector": {"matchLabels": selector},
                     "template": {"metadata": {"labels": labels, "annotations": dict(annotations or {}, **{CONSUL_META: track})},
                                  "spec": {"terminationGracePeriodSeconds": 30, "containers": [container]}}}}


def track_selector(service_name, track=None):
    selector = {"app.kubernetes.io/name": service_name}
    if track:
        selector["cxpe.io/track"] = track
    return selector


def router_objects(service_name, kind):
    """The entry point's objects for one router kind, at weight 0, and the (kind, name) clients call."""
    host = "%s.example.com" % service_name
    if kind == "nginx":
        canary_ingress = ingress(service_name + "-canary", service_name + "-canary", host, annotations={
            "nginx.ingress.kubernetes.io/canary": "true", "nginx.ingress.kubernetes.io/canary-weight": "0"})
        return [ingress(service_name, service_name + "-stable", host), canary_ingress], ("ingress", service_name)
    if kind == "route":
        return [route(service_name, service_name + "-stable", host)], ("route", service_name)
    if kind == "consul":
        subsets = dict((track, {"filter": 'Service.Meta.track == "%s"' % track}) for track in ("stable", "canary"))
        resolver = {"apiVersion": "consul.hashicorp.com/v1alpha1", "kind": "ServiceResolver", "metadata": metadata(service_name),
                    "spec": {"defaultSubset": "stable", "subsets": subsets}}
        splitter = {"apiVersion": "consul.hashicorp.com/v1alpha1", "kind": "ServiceSplitter", "metadata": metadata(service_name),
                    "spec": {"splits": [{"serviceSubset": "stable", "weight": 100}, {"serviceSubset": "canary", "weight": 0}]}}
        return [resolver, splitter], ("service", service_name)
    return [], ("service", service_name)


def canary_service(simulator, namespace, kind, service_name="web", stable="1.0", canary="2.0", stable_replicas=3,
                   canary_replicas=1, canary_annotations=None, request_rate=None):
    """A canary service deployed behind the routers of `kind`, with the canary Ready (unless it is meant
    never to be) and, with `request_rate`, clients calling the entry point. Returns the entry point."""
    objects, entry = router_objects(service_name, kind)
    main = service(service_name, track_selector(service_name),
                   annotations={TRAFFIC_ENTRY: "mesh"} if kind == "consul" else None)
    apply(simulator, namespace,
          track_deployment(service_name, "stable", stable, stable_replicas),
          track_deployment(service_name, "canary", canary, 0 if kind == "replicas" else canary_replicas, canary_annotations),
          main, service(service_name + "-stable", track_selector(service_name, "stable")),
          service(service_name + "-canary", track_selector(service_name, "canary")), *objects)
    wait_rollout(simulator, namespace, service_name)
    if kind != "replicas" and not canary_annotations:
        wait_rollout(simulator, namespace, service_name + "-canary")
    if request_rate:
        start_traffic(simulator, namespace, entry[0], entry[1], request_rate)
    return entry


def version_counts(simulator, namespace, versions=("1.0", "2.0")):
    """{version: (requests, failed requests)} kubesim counted in a namespace."""
    return dict((version, traffic_totals(simulator, namespace, version=version)) for version in versions)


def canary_share(before, after, canary="2.0"):
    """The canary version's share of the requests served between two version_counts, and how many there were."""
    served = dict((version, after[version][0] - before[version][0]) for version in after)
    total = sum(served.values())
    return (served[canary] / total if total else 0.0), total
