"""CustomResourceDefinitions: a registered CRD's kind appears in discovery once Established and is served
generically (CRUD, list and watch, selectors, status and scale subresources, printer columns, schema
defaults and validation, other served versions); deleting the CRD removes its resources. Through
kubectl, the Python clients and kubernetes.core."""

import json
import os
import subprocess
import sys
import threading

import kubernetes
import pytest
import yaml
from api_support import api_client, http, new_namespace, wait_until

WIDGETS = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.GROUP}
spec:
  group: GROUP
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wd], categories: [all]}
  versions:
  - name: v1beta1
    served: true
    storage: false
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
  - name: v1
    served: true
    storage: true
    subresources:
      status: {}
      scale: {specReplicasPath: .spec.replicas, statusReplicasPath: .status.replicas}
    additionalPrinterColumns:
    - {name: Size, type: integer, jsonPath: .spec.size}
    - {name: Color, type: string, jsonPath: .spec.color}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [size]
            properties:
              size: {type: integer, minimum: 1}
              replicas: {type: integer}
              color: {type: string, enum: [red, blue], default: red}
          status:
            type: object
            properties:
              replicas: {type: integer}
"""


@pytest.fixture
def group(shared_kubesim, request):
    """A CRD of the test's own (the group named after it), Established."""
    name = f"{request.node.name.replace('_', '-')[:30].strip('-')}.example.com"
    shared_kubesim.kubectl("apply", "-f", "-", stdin=WIDGETS.replace("GROUP", name))
    shared_kubesim.kubectl("wait", "--for=condition=Established", f"crd/widgets.{name}", "--timeout=20s")
    return name


def widget(name, **spec):
    return {"metadata": {"name": name, "labels": {"tier": spec.pop("tier", "web")}}, "spec": spec}


def test_an_established_crd_is_served_with_its_schema_subresources_and_columns(shared_kubesim, request, group):
    kubesim = shared_kubesim
    namespace = new_namespace(kubesim, request.node.name)
    crd = json.loads(kubesim.kubectl("get", "crd", f"widgets.{group}", "-o", "json").stdout)
    conditions = {c["type"]: (c["status"], c["reason"]) for c in crd["status"]["conditions"]}
    assert conditions == {"NamesAccepted": ("True", "NoConflicts"), "Established": ("True", "InitialNamesAccepted")}
    assert crd["status"]["acceptedNames"]["listKind"] == "WidgetList" and crd["status"]["storedVersions"] == ["v1"]
    resources = kubesim.kubectl("api-resources", f"--api-group={group}", "--no-headers").stdout.split()
    assert resources == ["widgets", "wd", f"{group}/v1", "true", "Widget"]

    client = kubernetes.dynamic.DynamicClient(api_client(kubesim))
    widgets = client.resources.get(api_version=f"{group}/v1", kind="Widget")
    created = widgets.create(body=dict(widget("w1", size=3, replicas=1), apiVersion=f"{group}/v1", kind="Widget"), namespace=namespace)
    assert created.spec.color == "red" and created.metadata.generation == 1
    widgets.create(body=dict(widget("w2", size=5, color="blue", tier="db"), apiVersion=f"{group}/v1", kind="Widget"), namespace=namespace)
    assert [w.metadata.name for w in widgets.get(namespace=namespace, label_selector="tier=db").items] == ["w2"]
    listed = kubesim.kubectl("get", "wd", "-n", namespace, "--no-headers").stdout.splitlines()
    assert [line.split()[:3] for line in listed] == [["w1", "3", "red"], ["w2", "5", "blue"]]
    assert "widget." + group + "/w1" in kubesim.kubectl("get", "all", "-n", namespace, "-o", "name").stdout.split()

    # status is a subresource: the main resource ignores it, /status sets it; scale reads and writes the declared paths.
    path = f"/apis/{group}/v1/namespaces/{namespace}/widgets/w1"
    status, body = http(kubesim, "PATCH", path, body={"status": {"replicas": 9}}, content_type="application/merge-patch+json")
    assert status == 200 and "status" not in body
    status, body = http(kubesim, "PATCH", f"{path}/status", body={"status": {"replicas": 1}}, content_type="application/merge-patch+json")
    assert status == 200 and body["status"] == {"replicas": 1}
    kubesim.kubectl("scale", f"widgets.{group}", "w1", "--replicas=4", "-n", namespace)
    assert widgets.get(name="w1", namespace=namespace).spec.replicas == 4
    scale = http(kubesim, "GET", f"{path}/scale")[1]
    assert (scale["spec"]["replicas"], scale["status"]["replicas"]) == (4, 1)
    assert widgets.get(name="w1", namespace=namespace).metadata.generation == 2

    # Another served version of the same objects.
    beta = json.loads(kubesim.kubectl("get", f"widgets.v1beta1.{group}", "w1", "-n", namespace, "-o", "json").stdout)
    assert beta["apiVersion"] == f"{group}/v1beta1" and beta["spec"]["size"] == 3


def test_custom_resources_are_validated_against_their_schema(shared_kubesim, request, group):
    kubesim = shared_kubesim
    namespace = new_namespace(kubesim, request.node.name)
    path = f"/apis/{group}/v1/namespaces/{namespace}/widgets"
    status, body = http(kubesim, "POST", path, body={"apiVersion": f"{group}/v1", "kind": "Widget", "metadata": {"name": "bad"},
                                                      "spec": {"size": "big", "color": "green"}})
    assert status == 422 and body["message"] == (
        f'Widget.{group} "bad" is invalid: [spec.color: Unsupported value: "green": supported values: "red", "blue", '
        'spec.size: Invalid value: "string": spec.size in body must be of type integer: "string"]')
    status, body = http(kubesim, "POST", path, body={"apiVersion": f"{group}/v1", "kind": "Widget", "metadata": {"name": "bad"}, "spec": {}})
    assert (status, body["details"]["causes"]) == (422, [{"reason": "FieldValueRequired", "message": "Required value", "field": "spec.size"}])
    status, body = http(kubesim, "POST", path, body={"apiVersion": f"{group}/v1", "kind": "Widget", "metadata": {"name": "bad"}, "spec": {"size": 0}})
    assert status == 422 and body["details"]["causes"][0]["message"] == "Invalid value: 0: spec.size in body should be greater than or equal to 1"
    refused = kubesim.kubectl("apply", "-n", namespace, "-f", "-", check=False, stdin=yaml.safe_dump(
        {"apiVersion": f"{group}/v1", "kind": "Widget", "metadata": {"name": "odd"}, "spec": {"size": 1, "shape": "round"}}))
    assert refused.returncode != 0 and 'strict decoding error: unknown field "spec.shape"' in refused.stderr
    status, pruned = http(kubesim, "POST", path, body={"apiVersion": f"{group}/v1", "kind": "Widget", "metadata": {"name": "odd"},
                                                        "spec": {"size": 1, "shape": "round"}})
    assert status == 201 and pruned["spec"] == {"size": 1, "color": "red"}


def test_a_watch_sees_custom_resources_and_deleting_the_crd_removes_them(shared_kubesim, request, group):
    kubesim = shared_kubesim
    namespace = new_namespace(kubesim, request.node.name)
    client = kubernetes.dynamic.DynamicClient(api_client(kubesim))
    widgets = client.resources.get(api_version=f"{group}/v1", kind="Widget")
    seen = []

    def follow():
        for event in widgets.watch(namespace=namespace, timeout=10):
            seen.append((event["type"], event["object"].metadata.name))
            if event["type"] == "DELETED":
                return

    watcher = threading.Thread(target=follow, daemon=True)
    watcher.start()
    wait_until(lambda: http(kubesim, "GET", f"/apis/{group}/v1/namespaces/{namespace}/widgets")[0] == 200)
    widgets.create(body=dict(widget("w1", size=1), apiVersion=f"{group}/v1", kind="Widget"), namespace=namespace)
    kubesim.kubectl("delete", "crd", f"widgets.{group}", "--timeout=20s")
    watcher.join(timeout=15)
    assert ("ADDED", "w1") in seen and seen[-1] == ("DELETED", "w1")
    assert kubesim.kubectl("get", "crd", f"widgets.{group}", "--ignore-not-found", "-o", "name").stdout == ""
    assert kubesim.kubectl("api-resources", f"--api-group={group}", "--no-headers").stdout == ""
    assert http(kubesim, "GET", f"/apis/{group}/v1/namespaces/{namespace}/widgets")[0] == 404


def test_an_invalid_crd_is_refused(shared_kubesim):
    status, body = http(shared_kubesim, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", body=yaml.safe_load(
        WIDGETS.replace("widgets.GROUP", "gadgets.example.org").replace("GROUP", "example.org")))
    assert status == 422 and body["details"]["causes"] == [
        {"reason": "FieldValueInvalid", "field": "metadata.name", "message": 'Invalid value: "gadgets.example.org": must be spec.names.plural+"."+spec.group'}]


def test_kubernetes_core_registers_a_crd_waits_for_it_and_creates_a_resource(shared_kubesim, request, tmp_path):
    namespace = new_namespace(shared_kubesim, request.node.name)
    group = f"ansible-{namespace}.example.com"
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"kubernetes.core.k8s": {"state": "present", "definition": yaml.safe_load(WIDGETS.replace("GROUP", group))}},
        {"kubernetes.core.k8s_info": {"kind": "CustomResourceDefinition", "name": f"widgets.{group}", "wait": True, "wait_timeout": 20,
                                      "wait_condition": {"type": "Established", "status": "True"}}},
        {"kubernetes.core.k8s": {"state": "present", "namespace": namespace,
                                 "definition": {"apiVersion": f"{group}/v1", "kind": "Widget", "metadata": {"name": "w1"}, "spec": {"size": 2}}},
         "register": "made"},
        {"assert": {"that": ["made.result.spec.color == 'red'", "made.changed"]}},
    ]}]
    path = tmp_path / "play.yml"
    path.write_text(yaml.safe_dump(play, sort_keys=False))
    ansible_playbook = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    result = subprocess.run([ansible_playbook, str(path)], capture_output=True, text=True, timeout=120, env=shared_kubesim.env, cwd=tmp_path,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr
