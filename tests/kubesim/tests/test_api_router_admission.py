"""Admission of the weighted routers' objects: OpenShift Routes as openshift-apiserver validates them,
Consul ServiceSplitters as consul-k8s's webhook denies them, NGINX canary weights as kubesim checks
them. A rejected write changes nothing."""

import json

import kubernetes
import pytest

from api_support import api_client, failure, new_namespace

ROUTE = ("route.openshift.io/v1", "Route")
SPLITTER = ("consul.hashicorp.com/v1alpha1", "ServiceSplitter")
SPLITTER_DENIED = 'admission webhook "mutate-servicesplitter.consul.hashicorp.com" denied the request: '
CANARY = "nginx.ingress.kubernetes.io/canary"


@pytest.fixture(scope="module")
def dynamic(shared_kubesim):
    return kubernetes.dynamic.DynamicClient(api_client(shared_kubesim))


def manifest(kind, name, spec, annotations=None):
    metadata = {"name": name, **({"annotations": annotations} if annotations else {})}
    return {"apiVersion": kind[0], "kind": kind[1], "metadata": metadata, "spec": spec}


def resource_version(dynamic, kind, namespace, name):
    return dynamic.resources.get(api_version=kind[0], kind=kind[1]).get(name=name, namespace=namespace).metadata.resourceVersion


def route_spec(weight=100, alternates=()):
    return {"to": {"kind": "Service", "name": "blue", "weight": weight},
            "alternateBackends": [{"kind": "Service", "name": f"green-{index}", "weight": w} for index, w in enumerate(alternates)]}


def test_a_route_gets_openshift_defaults(shared_kubesim, dynamic, request):
    namespace = new_namespace(shared_kubesim, request.node.name)
    routes = dynamic.resources.get(api_version=ROUTE[0], kind=ROUTE[1])
    created = routes.create(body=manifest(ROUTE, "web", {"to": {"name": "blue"}, "alternateBackends": [{"name": "green"}]}), namespace=namespace)
    spec = created.to_dict()["spec"]
    assert spec["to"] == {"kind": "Service", "name": "blue", "weight": 100}
    assert spec["alternateBackends"] == [{"kind": "Service", "name": "green", "weight": 100}]
    assert spec["wildcardPolicy"] == "None"


def test_route_weights_outside_0_to_256_are_invalid_and_change_nothing(shared_kubesim, dynamic, request):
    namespace = new_namespace(shared_kubesim, request.node.name)
    routes = dynamic.resources.get(api_version=ROUTE[0], kind=ROUTE[1])
    routes.create(body=manifest(ROUTE, "web", route_spec(256, [0])), namespace=namespace)
    before = resource_version(dynamic, ROUTE, namespace, "web")

    status, body = failure(routes.patch, name="web", namespace=namespace, content_type="application/merge-patch+json",
                           body={"spec": route_spec(257, [-1])})
    assert (status, body["reason"]) == (422, "Invalid")
    assert body["message"] == ('Route.route.openshift.io "web" is invalid: [spec.to.weight: Invalid value: 257: weight must be an integer '
                               'between 0 and 256, spec.alternateBackends[0].weight: Invalid value: -1: weight must be an integer between 0 and 256]')
    assert [(c["field"], c["reason"]) for c in body["details"]["causes"]] == [
        ("spec.to.weight", "FieldValueInvalid"), ("spec.alternateBackends[0].weight", "FieldValueInvalid")]
    assert resource_version(dynamic, ROUTE, namespace, "web") == before


def test_a_route_takes_at_most_three_alternate_backends(shared_kubesim, request):
    namespace = new_namespace(shared_kubesim, request.node.name)
    shared_kubesim.kubectl("apply", "-n", namespace, "-f", "-", stdin=json.dumps(manifest(ROUTE, "web", route_spec(10, [10, 10, 10]))))
    before = shared_kubesim.kubectl("get", "route", "web", "-n", namespace, "-o", "jsonpath={.metadata.resourceVersion}").stdout

    rejected = shared_kubesim.kubectl("apply", "-n", namespace, "-f", "-", check=False,
                                      stdin=json.dumps(manifest(ROUTE, "web", route_spec(10, [10, 10, 10, 10]))))
    assert rejected.returncode != 0
    # kubectl prints an Invalid Status from its causes.
    assert rejected.stderr.strip() == ('The Route "web" is invalid: spec.alternateBackends: '
                                       'Required value: cannot specify more than 3 alternate backends')
    assert shared_kubesim.kubectl("get", "route", "web", "-n", namespace, "-o", "jsonpath={.metadata.resourceVersion}").stdout == before


def test_a_route_weight_that_is_not_an_integer_cannot_be_decoded(shared_kubesim, dynamic, request):
    namespace = new_namespace(shared_kubesim, request.node.name)
    routes = dynamic.resources.get(api_version=ROUTE[0], kind=ROUTE[1])
    status, body = failure(routes.create, body=manifest(ROUTE, "web", {"to": {"kind": "Service", "name": "blue", "weight": 50.5}}),
                           namespace=namespace)
    assert (status, body["reason"]) == (400, "BadRequest")
    assert body["message"] == ('Route in version "v1" cannot be handled as a Route: '
                               "json: cannot unmarshal number 50.5 into Go struct field spec.to.weight of type int32")


@pytest.mark.parametrize("splits,denial", [
    ([{"weight": 90, "serviceSubset": "v1"}, {"weight": 5, "serviceSubset": "v2"}],
     'servicesplitter.consul.hashicorp.com "voice" is invalid: spec.splits: Invalid value: '
     '"[{\\"weight\\":90,\\"serviceSubset\\":\\"v1\\"},{\\"weight\\":5,\\"serviceSubset\\":\\"v2\\"}]": '
     "the sum of weights across all splits must add up to 100 percent, but adds up to 95.000000"),
    ([{"weight": 101}, {"weight": 0.001}],
     'servicesplitter.consul.hashicorp.com "voice" is invalid: [spec.splits[0].weight: Invalid value: 101: weight must be a percentage '
     "between 0.01 and 100, spec.splits[1].weight: Invalid value: 0.001: weight must be a percentage between 0.01 and 100, "
     'spec.splits: Invalid value: "[{\\"weight\\":101},{\\"weight\\":0.001}]": the sum of weights across all splits must add up '
     "to 100 percent, but adds up to 101.000999]"),
    ([{"weight": "50"}, {"weight": 50}],
     "json: cannot unmarshal string into Go struct field ServiceSplit.spec.splits.weight of type float32"),
], ids=["sum-not-100", "out-of-range", "not-a-number"])
def test_consul_webhook_denies_splitter_weights_and_changes_nothing(shared_kubesim, dynamic, request, splits, denial):
    namespace = new_namespace(shared_kubesim, request.node.name)
    splitters = dynamic.resources.get(api_version=SPLITTER[0], kind=SPLITTER[1])
    splitters.create(body=manifest(SPLITTER, "voice", {"splits": [{"weight": 50, "serviceSubset": "v1"}, {"weight": 50, "serviceSubset": "v2"}]}),
                     namespace=namespace)
    before = resource_version(dynamic, SPLITTER, namespace, "voice")

    status, body = failure(splitters.patch, name="voice", namespace=namespace, content_type="application/merge-patch+json",
                           body={"spec": {"splits": splits}})
    assert status == 400 and "reason" not in body
    assert body["message"] == SPLITTER_DENIED + denial
    assert resource_version(dynamic, SPLITTER, namespace, "voice") == before
    status, body = failure(splitters.create, body=manifest(SPLITTER, "other", {"splits": splits}), namespace=namespace)
    assert (status, body["message"]) == (400, SPLITTER_DENIED + denial.replace('"voice"', '"other"'))


def test_consul_accepts_splits_that_add_up_to_100_with_two_decimals(shared_kubesim, dynamic, request):
    namespace = new_namespace(shared_kubesim, request.node.name)
    splitters = dynamic.resources.get(api_version=SPLITTER[0], kind=SPLITTER[1])
    thirds = [{"weight": 33.33, "serviceSubset": "a"}, {"weight": 33.33, "serviceSubset": "b"}, {"weight": 33.34, "serviceSubset": "c"}]
    created = splitters.create(body=manifest(SPLITTER, "voice", {"splits": thirds}), namespace=namespace)
    assert [split["weight"] for split in created.to_dict()["spec"]["splits"]] == [33.33, 33.33, 33.34]


@pytest.mark.parametrize("annotations,field,message", [
    ({"nginx.ingress.kubernetes.io/canary-weight": "101"}, "nginx.ingress.kubernetes.io/canary-weight",
     'Invalid value: "101": must be between 0 and 100, inclusive'),
    ({"nginx.ingress.kubernetes.io/canary-weight": "-1"}, "nginx.ingress.kubernetes.io/canary-weight",
     'Invalid value: "-1": must be between 0 and 100, inclusive'),
    ({"nginx.ingress.kubernetes.io/canary-weight": "ten"}, "nginx.ingress.kubernetes.io/canary-weight",
     'Invalid value: "ten": must be an integer'),
    ({"nginx.ingress.kubernetes.io/canary-weight": "300", "nginx.ingress.kubernetes.io/canary-weight-total": "200"},
     "nginx.ingress.kubernetes.io/canary-weight", 'Invalid value: "300": must be between 0 and 200, inclusive'),
    ({"nginx.ingress.kubernetes.io/canary-weight-total": "0"}, "nginx.ingress.kubernetes.io/canary-weight-total",
     'Invalid value: "0": must be greater than zero'),
], ids=["over-100", "negative", "not-an-integer", "over-its-total", "total-not-positive"])
def test_canary_ingress_weights_are_checked_and_a_rejected_write_changes_nothing(shared_kubesim, request, annotations, field, message):
    namespace = new_namespace(shared_kubesim, request.node.name)
    networking = kubernetes.client.NetworkingV1Api(api_client(shared_kubesim))
    rule = {"host": "web.example.com", "http": {"paths": [{"path": "/", "pathType": "Prefix",
                                                           "backend": {"service": {"name": "web-v2", "port": {"number": 80}}}}]}}
    canary = {"metadata": {"name": "web-canary", "annotations": {CANARY: "true", "nginx.ingress.kubernetes.io/canary-weight": "100",
                                                                  "nginx.ingress.kubernetes.io/canary-weight-total": "200"}},
              "spec": {"rules": [rule]}}
    before = networking.create_namespaced_ingress(namespace, canary).metadata.resource_version

    status, body = failure(networking.patch_namespaced_ingress, "web-canary", namespace,
                           {"metadata": {"annotations": {"nginx.ingress.kubernetes.io/canary-weight-total": None, **annotations}}})
    assert (status, body["reason"]) == (422, "Invalid")
    assert body["message"] == f'Ingress.networking.k8s.io "web-canary" is invalid: metadata.annotations[{field}]: {message}'
    assert body["details"]["causes"] == [{"reason": "FieldValueInvalid", "message": message, "field": f"metadata.annotations[{field}]"}]
    assert networking.read_namespaced_ingress("web-canary", namespace).metadata.resource_version == before
