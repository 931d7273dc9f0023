# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The backup and restore playbooks against kubesim: what a backup holds, a restore that puts back what changed
since, files a restore refuses, and a platform restored from a backup after it was uninstalled."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re

import pytest
import yaml
from ansible_collections.cxpe.rollout.plugins.module_utils.backup import clean
from bluegreen_support import apply, endpoint_pods, get
from playbook_support import deploy_groups, run_ok, run_playbook

TIME_SCALE = 100
GROUPS = ["gauth", "webrtc"]
LEDGER = {"schema-version": "1", "service": "webrtc-gateway", "strategy": "blue_green", "phase": "active",
          "active.color": "blue", "active.version": "9.0.100.01"}
LEDGER_LABELS = {"cxpe.io/rollout-ledger": "webrtc-gateway", "app.kubernetes.io/name": "webrtc-gateway",
                 "app.kubernetes.io/managed-by": "cxpe.rollout"}


def backup(simulator, backup_dir, *args):
    """Run the backup playbook on the groups; the path of the file it wrote."""
    result, _counts = run_ok(simulator, "backup", "-e", json.dumps({"cxpe_groups": GROUPS, "backup_dir": str(backup_dir)}), *args)
    (path,) = re.findall(r"Wrote (\S+): \d+ objects", result.stdout)
    return path


def documents(path):
    with open(path, encoding="utf-8") as handle:
        return [document for document in yaml.safe_load_all(handle) if document]


def saved(objects, kind, namespace, name):
    (found,) = [obj for obj in objects if (obj["kind"], obj["metadata"]["namespace"], obj["metadata"]["name"]) == (kind, namespace, name)]
    return found


def write_versions(simulator):
    """What shows a write to the platform's objects: resourceVersions, and the generation (the spec) of Deployments,
    whose status the controllers keep writing."""
    items = json.loads(simulator.kubectl("get", "namespaces,deployments,services,configmaps,routes,poddisruptionbudgets",
                                         "--all-namespaces", "-o", "json").stdout)["items"]
    return dict(((item["kind"], item["metadata"].get("namespace"), item["metadata"]["name"]),
                 item["metadata"]["generation"] if item["kind"] == "Deployment" else item["metadata"]["resourceVersion"])
                for item in items)


def routers_and_ledger(simulator):
    """A ledger and an OpenShift Route beside what the platform deploys (a PodDisruptionBudget per service among it)."""
    apply(simulator, "webrtc",
          {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "webrtc-gateway-rollout", "labels": LEDGER_LABELS},
           "data": LEDGER},
          {"apiVersion": "route.openshift.io/v1", "kind": "Route", "metadata": {"name": "webrtc-gateway"},
           "spec": {"host": "webrtc.example.com", "to": {"kind": "Service", "name": "webrtc-gateway", "weight": 100},
                    "port": {"targetPort": "http"}}})


def test_a_restore_puts_back_what_changed_since_the_backup(kubesim_factory, tmp_path):
    simulator = kubesim_factory(time_scale=TIME_SCALE)
    deploy_groups(simulator, GROUPS)
    routers_and_ledger(simulator)

    # Check mode reads and writes nothing.
    result, counts = run_ok(simulator, "backup", "--check", "-e", json.dumps({"cxpe_groups": GROUPS, "backup_dir": str(tmp_path / "dry")}))
    assert "Would write" in result.stdout and not os.path.exists(tmp_path / "dry")

    path = backup(simulator, tmp_path)
    # <backup_dir>/<UTC time>/<inventory host>.yml
    assert re.match(r"^%s/\d{8}T\d{6}Z/localhost\.yml$" % re.escape(str(tmp_path)), path)
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    objects = documents(path)
    kinds = sorted(set(obj["kind"] for obj in objects))
    assert kinds == ["ConfigMap", "Deployment", "PodDisruptionBudget", "Route", "Service"]
    assert set(obj["metadata"]["namespace"] for obj in objects) == set(["gauth", "webrtc"])
    assert all("status" not in obj and "resourceVersion" not in obj["metadata"] and "uid" not in obj["metadata"] for obj in objects)
    assert all("clusterIP" not in obj["spec"] for obj in objects if obj["kind"] == "Service")
    assert [obj["metadata"]["name"] for obj in objects if obj["kind"] == "ConfigMap"] == ["webrtc-gateway-rollout"]

    # An image, a Service selector (a value changed, a key added), the ledger (a value changed, a key added), the
    # Route's backend and the budget change after the backup.
    cluster_ip = get(simulator, "webrtc", "service", "webrtc-gateway")["spec"]["clusterIP"]
    simulator.kubectl("set", "image", "-n", "gauth", "deployment/gauth-auth", "gauth-auth=registry.example.com/genesys/gauth-auth:6.6.6")
    simulator.kubectl("patch", "service", "webrtc-gateway", "-n", "webrtc", "-p",
                      json.dumps({"spec": {"selector": {"cxpe.io/color": "green", "tier": "edge"}}}))
    simulator.kubectl("patch", "configmap", "webrtc-gateway-rollout", "-n", "webrtc", "-p",
                      json.dumps({"data": {"active.color": "green", "previous.color": "blue"}}))
    simulator.kubectl("patch", "route", "webrtc-gateway", "-n", "webrtc", "--type=merge", "-p",
                      json.dumps({"spec": {"to": {"name": "webrtc-gateway-preview"}}}))
    simulator.kubectl("patch", "poddisruptionbudget", "webrtc-gateway", "-n", "webrtc", "-p", json.dumps({"spec": {"maxUnavailable": 2}}))

    result, counts = run_ok(simulator, "restore", "-e", "restore_dir=" + os.path.dirname(path))
    assert counts["changed"] > 0
    for kind, namespace, name in (("Service", "webrtc", "webrtc-gateway"), ("ConfigMap", "webrtc", "webrtc-gateway-rollout"),
                                  ("Route", "webrtc", "webrtc-gateway"), ("PodDisruptionBudget", "webrtc", "webrtc-gateway")):
        assert clean(get(simulator, namespace, kind, name)) == saved(objects, kind, namespace, name), (kind, name)
    restored = get(simulator, "gauth", "deployment", "gauth-auth")
    assert restored["spec"] == saved(objects, "Deployment", "gauth", "gauth-auth")["spec"]
    assert restored["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":9.0.100.01")
    # The Deployments were Ready before the Services changed; the Service kept its cluster IP.
    assert restored["status"]["updatedReplicas"] == restored["status"]["readyReplicas"] == 1
    assert get(simulator, "webrtc", "service", "webrtc-gateway")["spec"]["clusterIP"] == cluster_ip
    order = re.findall(r"^TASK \[cxpe\.rollout\.restore : (Apply [^\]]*|Wait [^\]]*)\]", result.stdout, re.M)
    assert order == ["Apply the configuration (the ConfigMaps other than the rollout ledgers)", "Apply the Deployments and StatefulSets",
                     "Apply the PodDisruptionBudgets", "Wait until every restored Deployment is Ready",
                     "Wait until every restored StatefulSet is Ready", "Apply the Services and Ingresses",
                     "Apply the Routes, ServiceResolvers and ServiceSplitters", "Apply the rollout ledgers"]

    # Restoring one namespace leaves the others as they are.
    simulator.kubectl("patch", "service", "gauth-ui", "-n", "gauth", "-p", json.dumps({"spec": {"selector": {"tier": "x"}}}))
    simulator.kubectl("patch", "service", "webrtc-coturn", "-n", "webrtc", "-p", json.dumps({"spec": {"selector": {"tier": "x"}}}))
    run_ok(simulator, "restore", "-e", "restore_file=" + path, "-e", json.dumps({"cxpe_groups": ["webrtc"]}))
    assert "tier" not in get(simulator, "webrtc", "service", "webrtc-coturn")["spec"]["selector"]
    assert get(simulator, "gauth", "service", "gauth-ui")["spec"]["selector"]["tier"] == "x"


@pytest.fixture(scope="module")
def deployed_gauth(module_kubesim_factory):
    """GAuth deployed once for the refusals, which change nothing."""
    simulator = module_kubesim_factory(time_scale=TIME_SCALE)
    deploy_groups(simulator, ["gauth"])
    return simulator


@pytest.mark.parametrize("content, reason", [
    (None, "does not exist on the controller"),
    ("kind: Service\nmetadata: {name: [unclosed\n", "does not parse as YAML (while parsing"),
    ("\x00\x01 not text", "does not parse as YAML"),
    ("a backup of nothing\n---\n- 1\n", "is not a backup - 2 of its 2 documents are not Kubernetes objects"),
    ("apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Service, metadata: {name: gauth-ui}}\n",
     "is not a backup - 1 of its objects lack an apiVersion, a kind, a name or a namespace"),
    ("apiVersion: v1\nkind: Secret\nmetadata: {name: keys, namespace: gauth}\n", "is not a backup - it holds kinds that a backup does not: Secret"),
], ids=["missing", "garbled", "binary", "not objects", "no namespace", "other kinds"])
def test_a_backup_file_that_is_missing_or_garbled_is_refused_and_nothing_changes(deployed_gauth, tmp_path, content, reason):
    simulator = deployed_gauth
    path = tmp_path / "backup.yml"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    before = write_versions(simulator)

    result, counts = run_playbook(simulator.env, "cxpe.rollout.restore", "-e", "restore_file=%s" % path)
    assert result.returncode != 0
    assert counts["changed"] == 0
    assert "refusing to restore: the backup file %s %s" % (path, reason) in result.stdout
    assert "nothing was changed" in result.stdout
    assert write_versions(simulator) == before


def test_a_platform_uninstalled_with_its_namespace_comes_back_from_its_backup(kubesim_factory, tmp_path):
    simulator = kubesim_factory(time_scale=TIME_SCALE)
    deploy_groups(simulator, ["gauth"])
    path = backup(simulator, tmp_path, "-e", "backup_name=before")
    assert path == str(tmp_path / "before" / "localhost.yml")
    run_ok(simulator, "uninstall", "-e", json.dumps({"cxpe_groups": ["gauth"], "uninstall_namespaces": True}))
    assert simulator.kubectl("get", "namespace", "gauth", check=False).returncode != 0

    # Check mode reports the objects of the namespace it would create.
    result, _counts = run_ok(simulator, "restore", "--check", "-e", "restore_file=" + path)
    assert "Would also restore, in namespaces that do not exist yet: Deployment gauth/gauth-auth" in result.stdout
    assert simulator.kubectl("get", "namespace", "gauth", check=False).returncode != 0

    run_ok(simulator, "restore", "-e", "restore_file=" + path)
    namespace = json.loads(simulator.kubectl("get", "namespace", "gauth", "-o", "json").stdout)
    # Labelled as deploy_platform labels it: for the uninstall, and for Pod Security admission.
    assert namespace["metadata"]["labels"] == {
        "kubernetes.io/metadata.name": "gauth", "app.kubernetes.io/managed-by": "cxpe.rollout", "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/audit": "restricted", "pod-security.kubernetes.io/warn": "restricted"}
    for name in ("gauth-auth", "gauth-environment", "gauth-ui"):
        assert get(simulator, "gauth", "deployment", name)["status"]["readyReplicas"] == 1
        assert len(endpoint_pods(simulator, "gauth", name)) == 1
