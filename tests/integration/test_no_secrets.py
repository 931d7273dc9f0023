# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""No credential in the output, nor in what the modules write: every module of the collection that talks to a cluster
runs at -vvvv (which prints each module's invocation) against a kubesim that authenticates every request (RBAC), once
given a kubeconfig that holds the bearer token (inline, as the kubeconfig option), once the token as api_key; neither the output
(stdout and stderr) nor a ConfigMap of the cluster (the ledgers) holds the token."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import os
import time

import pytest
import yaml
from bluegreen_support import apply, deployment, new_namespace, router_objects, wait_rollout
from canary_support import canary_service
from playbook_support import ROOT, run_tasks
from rolling_support import deploy, new_version

TIME_SCALE = 20


def cluster_modules():
    """The modules that talk to a cluster: the action group cxpe.rollout.k8s of meta/runtime.yml."""
    with open(os.path.join(ROOT, "meta", "runtime.yml"), encoding="utf-8") as handle:
        return sorted(yaml.safe_load(handle)["action_groups"]["k8s"])


@pytest.fixture(name="simulator", scope="module")
def simulator_fixture(module_kubesim_factory):
    return module_kubesim_factory(time_scale=TIME_SCALE, extra_args=["--tls", "--authorization-mode", "RBAC"])


def credentials(simulator, tmp_path):
    """The kubeconfig (holding the admin's bearer token), the token, and the file of the cluster's CA."""
    with open(simulator.kubeconfig, encoding="utf-8") as handle:
        config = yaml.safe_load(handle)
    ca_file = tmp_path / "ca.crt"
    ca_file.write_bytes(base64.b64decode(config["clusters"][0]["cluster"]["certificate-authority-data"]))
    return config, config["users"][0]["user"]["token"], str(ca_file)


def workloads(simulator, namespace):
    """A blue/green service, a canary service and a Deployment with a new version to drain onto."""
    apply(simulator, namespace, deployment("bg", "blue", "1.0", replicas=1), deployment("bg", "green", "1.0", replicas=1),
          *router_objects("bg", "service"))
    wait_rollout(simulator, namespace, "bg-green")
    canary_service(simulator, namespace, "nginx", service_name="cn", stable="1.0", canary="2.0", stable_replicas=1, canary_replicas=1)
    deploy(simulator, namespace, "Deployment", "rl", "1.0", replicas=1, session_rate=0)
    simulator.kubectl("annotate", "pods", "-n", namespace, "-l", "app.kubernetes.io/name=rl", "cxpe.io/active-sessions=0")
    new_version(simulator, namespace, "Deployment", "rl", "2.0")


def every_module(namespace):
    """One task per module, each doing what it is for: the ones that write make their writes, ledgers included."""
    return [
        ("cxpe.rollout.service_status", {"namespaces": [namespace]}),
        ("cxpe.rollout.rollout_lease", {"namespace": namespace, "service": "cn", "duration": 30}),
        ("cxpe.rollout.bluegreen_switch", {"namespace": namespace, "service": "bg", "color": "green", "preview": {}}),
        ("cxpe.rollout.canary_weight", {"namespace": namespace, "service": "cn", "weight": 50, "routers": [{"kind": "nginx"}]}),
        ("cxpe.rollout.rolling_drain", {"namespace": namespace, "name": "rl", "sessions_source": "annotation", "rotation_delay": 0.5,
                                        "poll_interval": 0.5, "drain_timeout": 30, "ready_timeout": 60}),
        ("cxpe.rollout.rollout_info", {"namespaces": [namespace], "service": "bg", "routers": []}),
        ("cxpe.rollout.platform_preflight", {"namespaces": [namespace], "services": [{"namespace": namespace, "service": "bg"}]}),
        ("cxpe.rollout.platform_backup", {"namespaces": [namespace]}),
        ("cxpe.rollout.rollout_report_data", {"namespaces": [namespace], "start": "%d" % (time.time() - 600)}),
    ]


@pytest.mark.parametrize("auth", ("kubeconfig", "api_key"))
def test_no_module_prints_or_records_the_token(simulator, tmp_path, request, auth):
    config, token, ca_file = credentials(simulator, tmp_path)
    namespace = new_namespace(simulator, request.node.name)
    workloads(simulator, namespace)
    tasks = every_module(namespace)
    assert sorted(set(module.rsplit(".", 1)[-1] for module, _arguments in tasks)) == cluster_modules()
    # Nothing but the options reach the cluster: no kubeconfig file to fall back on.
    environment = dict((key, value) for key, value in simulator.env.items() if key not in ("KUBECONFIG", "K8S_AUTH_KUBECONFIG"))
    if auth == "kubeconfig":
        # The kubeconfig itself as the option, token and all, as kubernetes.core takes it.
        connection = {"kubeconfig": config}
    else:
        connection = {"host": simulator.api_url, "api_key": token, "ca_cert": ca_file}
    run, results = run_tasks(environment, tmp_path, [(module, dict(arguments, **connection)) for module, arguments in tasks], "-vvvv")

    failed = [(module, result.get("msg")) for (module, _arguments), result in zip(tasks, results) if result.get("failed")]
    assert not failed, failed
    # The modules did reach the cluster with the token: the writes are there.
    assert [result["changed"] for result in results[1:5]] == [True] * 4, results[1:5]
    assert "invocation" in run.stdout and "module_args" in run.stdout
    assert token not in run.stdout and token not in run.stderr
    stored = simulator.kubectl("get", "configmaps", "--all-namespaces", "-o", "json").stdout
    assert "%s-rollout" % "bg" in stored and json.loads(stored)["items"]
    assert token not in stored
