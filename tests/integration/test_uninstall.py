# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The uninstall playbook against kubesim: the last deployment step first, each step's pods gone before the previous
step goes, what it keeps (namespaces, objects it did not make, the groups not named), and check mode."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import subprocess
import threading
import time

import yaml
from bluegreen_support import apply, poll
from playbook_support import ROOT, deploy_groups, run_ok

TIME_SCALE = 100
MANAGED = "app.kubernetes.io/managed-by=cxpe.rollout"


def catalog_steps():
    """{service: deployment step} from the catalog."""
    with open(os.path.join(ROOT, "data", "service_catalog.yml"), encoding="utf-8") as stream:
        groups = yaml.safe_load(stream)["groups"]
    return dict((service["name"], service.get("step", group["step"])) for group in groups for service in group["services"])


def names(simulator, kinds, selector=MANAGED):
    items = json.loads(simulator.kubectl("get", kinds, "--all-namespaces", "-l", selector, "-o", "json").stdout)["items"]
    return sorted(" ".join((item["kind"], "/".join(filter(None, (item["metadata"].get("namespace"), item["metadata"]["name"])))))
                  for item in items)


def ledger(namespace, service):
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": service + "-rollout", "namespace": namespace,
                         "labels": {"cxpe.io/rollout-ledger": service, "app.kubernetes.io/name": service,
                                    "app.kubernetes.io/managed-by": "cxpe.rollout"}},
            "data": {"schema-version": "1", "service": service, "strategy": "canary"}}


class Watch(object):
    """`kubectl get <kind> --all-namespaces --watch-only`: each event with the time it arrived."""

    def __init__(self, simulator, kind):
        self.kind = kind
        self.events = []
        self.process = subprocess.Popen(  # pylint: disable=consider-using-with
            ["kubectl", "--kubeconfig", simulator.kubeconfig, "get", kind, "--all-namespaces", "--watch-only",
             "--output-watch-events", "-o", "json"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=simulator.env)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        decoder, text = json.JSONDecoder(), ""
        for line in self.process.stdout:
            text += line
            try:
                event, end = decoder.raw_decode(text.strip())
            except ValueError:
                continue
            text = text.strip()[end:]
            self.events.append((time.monotonic(), event["type"], event["object"]))

    def started(self, simulator, namespace, name):
        """Wait until the watch sees a change made to one of its objects; a change made before kubectl has opened the
        watch is not seen, so changes are made until one is."""

        def changed():
            simulator.kubectl("annotate", "--overwrite", "-n", namespace, self.kind, name, "test.cxpe.io/watched=%s" % time.monotonic())
            time.sleep(0.2)
            return [event for event in self.events if event[2]["metadata"]["name"] == name]
        poll(changed, bool, "the %s watch" % self.kind)

    def deleted(self, steps):
        """[(time, step)] of the DELETED events of objects of the platform's services."""
        return [(at, steps[obj["metadata"]["labels"]["app.kubernetes.io/name"]]) for at, kind, obj in self.events
                if kind == "DELETED" and (obj["metadata"].get("labels") or {}).get("app.kubernetes.io/name") in steps]

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)


def test_the_platform_goes_the_last_step_first_and_what_it_did_not_make_stays(kubesim_factory):
    simulator = kubesim_factory(time_scale=TIME_SCALE)
    groups = ["gauth", "voice", "tenant", "webrtc"]
    deploy_groups(simulator, groups)
    apply(simulator, "voice", ledger("voice", "tenant-service"), ledger("voice", "voice-dialplan"))
    # Made by hand, so not the collection's to remove: a configuration ConfigMap and an Ingress in front of a service.
    apply(simulator, "webrtc",
          {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "webrtc-settings"}, "data": {"stun": "on"}},
          {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "webrtc-gateway"},
           "spec": {"rules": [{"host": "webrtc.example.com", "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {
               "service": {"name": "webrtc-gateway", "port": {"number": 80}}}}]}}]}})
    steps = catalog_steps()
    deployments, pods = Watch(simulator, "deployments"), Watch(simulator, "pods")
    try:
        deployments.started(simulator, "gauth", "gauth-ui")
        pod = json.loads(simulator.kubectl("get", "pods", "-n", "gauth", "-o", "json").stdout)["items"][0]["metadata"]["name"]
        pods.started(simulator, "gauth", pod)
        result, counts = run_ok(simulator, "uninstall", "-e", json.dumps({"cxpe_groups": groups}))
        time.sleep(0.5)
    finally:
        deployments.stop()
        pods.stop()

    # Steps 5 (webrtc), 4 (tenant), 3 (voice), 2 (gauth), each one's pods gone before the previous step's
    # Deployments go.
    removed = deployments.deleted(steps)
    assert [step for _at, step in removed] == sorted([step for _at, step in removed], reverse=True)
    assert set(step for _at, step in removed) == set([5, 4, 3, 2])
    pods_gone = pods.deleted(steps)
    for step in (5, 4, 3):
        last_pod = max(at for at, pod_step in pods_gone if pod_step == step)
        assert last_pod < min(at for at, deployment_step in removed if deployment_step == step - 1), step
    tasks = re.findall(r"^TASK \[cxpe\.rollout\.uninstall : (Remove the \w+|Wait)[^\]]*? step (\d+)[^\]]*\]", result.stdout, re.M)
    assert tasks == [(task, step) for step in ("5", "4", "3", "2")
                     for task in ("Remove the Services", "Remove the Deployments", "Wait", "Remove the PodDisruptionBudgets",
                                  "Remove the rollout")]

    assert names(simulator, "deployments,services,poddisruptionbudgets,configmaps,pods") == []
    assert names(simulator, "namespaces") == ["Namespace gauth", "Namespace voice", "Namespace webrtc"]
    assert names(simulator, "configmaps,ingresses", "!cxpe.io/rollout-ledger") == [
        "ConfigMap webrtc/webrtc-settings", "Ingress webrtc/webrtc-gateway"]
    assert len(names(simulator, "priorityclasses")) == 4

    # Nothing is left to remove.
    assert run_ok(simulator, "uninstall", "-e", json.dumps({"cxpe_groups": groups}))[1]["changed"] == 0


def write_versions(simulator):
    items = json.loads(simulator.kubectl("get", "namespaces,priorityclasses,deployments,services,configmaps", "--all-namespaces",
                                         "-o", "json").stdout)["items"]
    return dict(((item["kind"], item["metadata"].get("namespace"), item["metadata"]["name"]),
                 item["metadata"]["generation"] if item["kind"] == "Deployment" else item["metadata"]["resourceVersion"])
                for item in items)


def test_namespaces_go_when_asked_once_no_group_left_uses_them(kubesim_factory):
    simulator = kubesim_factory(time_scale=TIME_SCALE)
    deploy_groups(simulator, ["gauth", "voice", "tenant"])
    apply(simulator, "voice", ledger("voice", "tenant-service"))
    before = write_versions(simulator)

    # Check mode reports the removals and makes none.
    result, counts = run_ok(simulator, "uninstall", "--check", "--diff", "-e", json.dumps({"uninstall_namespaces": True}))
    assert counts["changed"] > 0
    assert write_versions(simulator) == before

    # The tenant group shares the voice namespace with the voice group, which stays.
    run_ok(simulator, "uninstall", "-e", json.dumps({"cxpe_groups": ["tenant"], "uninstall_namespaces": True}))
    assert names(simulator, "namespaces") == ["Namespace gauth", "Namespace voice"]
    voice = names(simulator, "deployments", MANAGED + ",app.kubernetes.io/part-of in (voice,tenant)")
    assert len(voice) == 20 and not [name for name in voice if "tenant" in name]
    assert names(simulator, "configmaps") == []

    # Every group: every namespace of the platform, then the PriorityClasses.
    run_ok(simulator, "uninstall", "-e", json.dumps({"uninstall_namespaces": True}))
    assert names(simulator, "namespaces") == []
    assert names(simulator, "priorityclasses") == []
    assert simulator.kubectl("get", "namespace", "default").returncode == 0
