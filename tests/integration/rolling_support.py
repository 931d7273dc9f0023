# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Session-holding workloads on kubesim for the rolling drain: a Deployment or a StatefulSet whose pods
carry the serving label, a Service selecting on it, long-lived sessions, and what kubesim counted."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import threading
import time
import urllib.request

from bluegreen_support import IMAGE, apply, metadata, service

SERVING = "cxpe.io/serving"
SESSION_RATE = "kubesim.cxpe.io/session-rate"
SESSION_DURATION = "kubesim.cxpe.io/session-duration"


def workload(kind, name, version, replicas=4, annotations=None):
    selector = {"app.kubernetes.io/name": name}
    labels = dict(selector, **{"app.kubernetes.io/version": version, SERVING: "true"})
    container = {"name": "app", "image": "%s:%s" % (IMAGE, version), "ports": [{"name": "http", "containerPort": 8080}]}
    spec = {"replicas": replicas, "selector": {"matchLabels": selector},
            # The app exits on SIGTERM instead of finishing its sessions: only a drain before the pod goes keeps them.
            "template": {"metadata": {"labels": labels, "annotations": dict({"kubesim.cxpe.io/on-sigterm": "exit"}, **(annotations or {}))},
                         "spec": {"terminationGracePeriodSeconds": 3600, "containers": [container]}}}
    if kind == "StatefulSet":
        spec.update(serviceName=name, updateStrategy={"type": "OnDelete"})
    else:
        spec.update(paused=True, strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}})
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": metadata(name, selector), "spec": spec}


def deploy(simulator, namespace, kind, name="calls", version="1.0", replicas=4, session_rate=2, session_duration=20):
    """The workload and its Service; with `session_rate`, clients open sessions of `session_duration` simulated
    seconds through the Service."""
    front = service(name, {"app.kubernetes.io/name": name, SERVING: "true"})
    obj = workload(kind, name, version, replicas)
    if kind == "Deployment":
        # Created paused, a Deployment makes no pod: let it start, then pause it as the role does.
        obj["spec"]["paused"] = False
    apply(simulator, namespace, obj, front)
    kind_name = "%s/%s" % (kind.lower(), name)
    if kind == "StatefulSet":
        # kubectl rollout status only follows RollingUpdate StatefulSets.
        simulator.kubectl("wait", "-n", namespace, kind_name, "--for=jsonpath={.status.readyReplicas}=%d" % replicas,
                          "--timeout=60s", timeout=70)
    else:
        simulator.kubectl("rollout", "status", "-n", namespace, kind_name, "--timeout=60s", timeout=70)
    if kind == "Deployment":
        simulator.kubectl("rollout", "pause", "-n", namespace, kind_name)
    if session_rate:
        simulator.kubectl("annotate", "--overwrite", "-n", namespace, "service", name,
                          "%s=%s" % (SESSION_RATE, session_rate), "%s=%s" % (SESSION_DURATION, session_duration))


def new_version(simulator, namespace, kind, name, version):
    """Give the workload a new version, as the rolling role does (the Deployment stays paused)."""
    simulator.kubectl("set", "image", "-n", namespace, "%s/%s" % (kind.lower(), name), "app=%s:%s" % (IMAGE, version))


def session_totals(simulator, namespace):
    """{started, completed, dropped, active} sessions kubesim counted in a namespace."""
    with urllib.request.urlopen(simulator.metrics_url, timeout=10) as response:
        text = response.read().decode()
    totals = dict.fromkeys(("started", "completed", "dropped", "active"), 0.0)
    pattern = re.compile(r'^kubesim_sessions_(started_total|completed_total|dropped_total|active)\{([^}]*)\} (\S+)$')
    for line in text.splitlines():
        match = pattern.match(line)
        if match and 'namespace="%s"' % namespace in match.group(2).split(","):
            totals[match.group(1).replace("_total", "")] += float(match.group(3))
    return totals


def pod_versions(simulator, namespace, name):
    result = simulator.kubectl("get", "pods", "-n", namespace, "-l", "app.kubernetes.io/name=" + name, "-o",
                               "jsonpath={range .items[*]}{.metadata.name}={.spec.containers[0].image}{\"\\n\"}{end}")
    return dict(line.split("=", 1) for line in result.stdout.split())


class CapacitySampler(object):
    """Counts the Service's ready endpoints every few milliseconds while a drain runs; `lowest` is the least seen."""

    def __init__(self, simulator, namespace, name):
        self.simulator, self.namespace, self.name = simulator, namespace, name
        self.lowest, self.samples = None, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _ready(self):
        result = self.simulator.kubectl("get", "endpointslices", "-n", self.namespace, "-l", "kubernetes.io/service-name=" + self.name,
                                        "-o", "jsonpath={.items[*].endpoints[*].conditions.ready}", check=False)
        return result.stdout.split().count("true") if result.returncode == 0 else None

    def _run(self):
        while not self._stop.is_set():
            ready = self._ready()
            if ready is not None:
                self.samples += 1
                self.lowest = ready if self.lowest is None else min(self.lowest, ready)
            time.sleep(0.05)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
