# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Blue/green services, their routers and their traffic on kubesim, built and read with kubectl."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import itertools
import json
import re
import time
import urllib.request

import yaml

IMAGE = "registry.example.com/cxpe/web"
REQUEST_RATE = "kubesim.cxpe.io/request-rate"
READY_AFTER = "kubesim.cxpe.io/ready-after"
CRASH_LOOP = "kubesim.cxpe.io/crash-loop"
ERROR_RATIO = "kubesim.cxpe.io/error-ratio"
WAIT_SECONDS = 60
# Simulated seconds that cover every router's propagation delay in kubesim (1 to 2 s by default).
PROPAGATION_SECONDS = 3.0
ROUTER_KINDS = ("service", "ingress", "route")
_numbers = itertools.count(1)


def new_namespace(simulator, test_name):
    """A fresh namespace named after the test, so tests sharing a simulator never see each other's objects."""
    stem = re.sub(r"[^a-z0-9]+", "-", test_name.lower().removeprefix("test_"))[:40].strip("-")
    name = "%s-%d" % (stem, next(_numbers))
    simulator.kubectl("create", "namespace", name)
    return name


def metadata(name, labels=None, annotations=None):
    result = {"name": name, "labels": dict(labels or {})}
    if annotations:
        result["annotations"] = dict(annotations)
    return result


def deployment(service, color, version, replicas=3, annotations=None):
    selector = {"app.kubernetes.io/name": service, "cxpe.io/color": color}
    labels = dict(selector, **{"app.kubernetes.io/version": version})
    container = {"name": "app", "image": "%s:%s" % (IMAGE, version), "ports": [{"name": "http", "containerPort": 8080}]}
    template_metadata = {"labels": labels}
    if annotations:
        template_metadata["annotations"] = dict(annotations)
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": metadata("%s-%s" % (service, color), labels),
            "spec": {"replicas": replicas, "selector": {"matchLabels": selector},
                     "template": {"metadata": template_metadata,
                                  "spec": {"terminationGracePeriodSeconds": 30, "containers": [container]}}}}


def service(name, selector, annotations=None):
    return {"apiVersion": "v1", "kind": "Service", "metadata": metadata(name, annotations=annotations),
            "spec": {"selector": dict(selector), "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}}


def color_selector(service_name, color):
    return {"app.kubernetes.io/name": service_name, "cxpe.io/color": color}


def ingress(name, backend, host, annotations=None):
    rule = {"host": host, "http": {"paths": [{"path": "/", "pathType": "Prefix",
                                             "backend": {"service": {"name": backend, "port": {"number": 80}}}}]}}
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": metadata(name, annotations=annotations),
            "spec": {"ingressClassName": "nginx", "rules": [rule]}}


def route(name, backend, host, annotations=None):
    return {"apiVersion": "route.openshift.io/v1", "kind": "Route", "metadata": metadata(name, annotations=annotations),
            "spec": {"host": host, "to": {"kind": "Service", "name": backend, "weight": 100},
                     "port": {"targetPort": "http"}}}


def apply(simulator, namespace, *objects):
    simulator.kubectl("apply", "-n", namespace, "-f", "-", stdin=yaml.safe_dump_all(objects))


def router_objects(service_name, kind):
    """The router of one kind (and its preview): the entry point the clients call.

    service: Services <svc> (blue) and <svc>-preview (green), selecting the colors.
    ingress, route: an Ingress or Route <svc> leading to <svc>-blue, and <svc>-preview leading to <svc>-green,
    over the color Services <svc>-blue and <svc>-green.
    """
    if kind == "service":
        return [service(service_name, color_selector(service_name, "blue")),
                service(service_name + "-preview", color_selector(service_name, "green"))]
    colors = [service("%s-%s" % (service_name, color), color_selector(service_name, color)) for color in ("blue", "green")]
    build = ingress if kind == "ingress" else route
    return colors + [build(service_name, service_name + "-blue", "%s.example.com" % service_name),
                     build(service_name + "-preview", service_name + "-green", "preview.%s.example.com" % service_name)]


def blue_green_service(simulator, namespace, service_name="web", kind="service", blue="1.0", green="2.0",
                       green_annotations=None, request_rate=None, green_replicas=3):
    """Both colors deployed (blue active) behind the routers of `kind`; waits until blue is Ready
    (and green too unless it is meant never to be). With `request_rate`, the clients start calling
    the router once it has learnt of blue's endpoints."""
    apply(simulator, namespace, deployment(service_name, "blue", blue),
          deployment(service_name, "green", green, green_replicas, green_annotations),
          *router_objects(service_name, kind))
    wait_rollout(simulator, namespace, service_name + "-blue")
    if not green_annotations:
        wait_rollout(simulator, namespace, service_name + "-green")
    if request_rate:
        start_traffic(simulator, namespace, kind, service_name, request_rate)


def start_traffic(simulator, namespace, kind, name, request_rate):
    """Once kubesim's routers know of the endpoints, clients start calling the entry point (a Service, Ingress or Route)."""
    propagate(simulator)
    simulator.kubectl("annotate", "--overwrite", "-n", namespace, kind, name, "%s=%s" % (REQUEST_RATE, request_rate))


def propagate(simulator):
    """Wait until kubesim's routers have caught up with every change made so far."""
    time.sleep(PROPAGATION_SECONDS / simulator.time_scale)


def wait_rollout(simulator, namespace, name):
    simulator.kubectl("rollout", "status", "-n", namespace, "deployment/" + name, "--timeout=%ds" % WAIT_SECONDS,
                      timeout=WAIT_SECONDS + 10)


def get(simulator, namespace, kind, name):
    return json.loads(simulator.kubectl("get", kind, name, "-n", namespace, "-o", "json").stdout)


def objects(simulator, namespace, kinds="deployments,services,ingresses,routes,configmaps"):
    return json.loads(simulator.kubectl("get", kinds, "-n", namespace, "-o", "json").stdout)["items"]


def resource_versions(simulator, namespace):
    """What would show a write to the objects of a namespace, by (kind, name): the resourceVersion, except
    for Deployments, whose status the controllers keep writing; for them, the generation (their spec)."""
    return dict(((item["kind"], item["metadata"]["name"]),
                 "generation %s" % item["metadata"]["generation"] if item["kind"] == "Deployment"
                 else item["metadata"]["resourceVersion"])
                for item in objects(simulator, namespace))


def router_color(simulator, namespace, kind, name):
    """The color a router sends its traffic to, read with kubectl."""
    obj = get(simulator, namespace, kind, name)
    if kind == "service":
        return obj["spec"]["selector"]["cxpe.io/color"]
    if kind == "ingress":
        backend = obj["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"]
    else:
        backend = obj["spec"]["to"]["name"]
    return backend.rsplit("-", 1)[1]


def endpoint_pods(simulator, namespace, service_name):
    slices = json.loads(simulator.kubectl("get", "endpointslices", "-n", namespace, "-l",
                                          "kubernetes.io/service-name=" + service_name, "-o", "json").stdout)["items"]
    return sorted(endpoint["targetRef"]["name"] for item in slices for endpoint in item.get("endpoints") or []
                  if endpoint["conditions"].get("ready"))


def pod_names(simulator, namespace, service_name, color):
    result = simulator.kubectl("get", "pods", "-n", namespace, "-l", "cxpe.io/color=%s,app.kubernetes.io/name=%s" % (color, service_name),
                               "-o", "jsonpath={.items[*].metadata.name}")
    return sorted(result.stdout.split())


def ledger(simulator, namespace, service_name):
    return get(simulator, namespace, "configmap", service_name + "-rollout")["data"]


def poll(read, condition, description, seconds=WAIT_SECONDS):
    deadline = time.monotonic() + seconds
    while True:
        value = read()
        if condition(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for %s; last read:\n%s" % (description, value))
        time.sleep(0.05)


def traffic_totals(simulator, namespace, **labels):
    """(requests, failed requests) that kubesim counted in a namespace, summed over every pod and version
    of the series that also carry `labels` (service="web", version="2.0", ...)."""
    with urllib.request.urlopen(simulator.metrics_url, timeout=10) as response:
        text = response.read().decode()
    wanted = ['%s="%s"' % item for item in dict(labels, namespace=namespace).items()]
    totals = {"kubesim_requests_total": 0.0, "kubesim_request_errors_total": 0.0}
    for line in text.splitlines():
        match = re.match(r'^(kubesim_requests_total|kubesim_request_errors_total)\{([^}]*)\} (\S+)$', line)
        if match and all(label in match.group(2).split(",") for label in wanted):
            totals[match.group(1)] += float(match.group(3))
    return totals["kubesim_requests_total"], totals["kubesim_request_errors_total"]


WRITE_VERBS = ("POST", "PUT", "PATCH", "DELETE", "APPLY")


def api_writes(simulator):
    """The writes the API server has answered so far, from its apiserver_request_total counter."""
    with urllib.request.urlopen(simulator.api_url + "/metrics", timeout=10, context=simulator.ssl_context()) as response:
        text = response.read().decode()
    total = 0.0
    for line in text.splitlines():
        match = re.match(r'^apiserver_request_total\{([^}]*)\} (\S+)$', line)
        if match and re.search(r'(^|,)verb="(%s)"' % "|".join(WRITE_VERBS), match.group(1)):
            total += float(match.group(2))
    return total
