"""``kubesim serve --tls``: HTTPS with a CA made at start-up, trusted through the kubeconfig it writes, by
kubectl, the Python client and kubernetes.core (which verifies certificates by default)."""

import base64
import datetime
import os
import subprocess
import sys

import kubernetes
import pytest
import urllib3
import yaml
from api_support import api_client, http
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from kubectl_support import kubectl_env
from traffic_support import apply, new_namespace
from workload_support import deployment, rollout_status


@pytest.fixture
def tls_kubesim(kubesim_factory):
    return kubesim_factory(extra_args=["--tls"])


def foreign_ca_pem():
    """A CA certificate the simulator's was not signed by."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "someone-else")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(key, hashes.SHA256()))
    return certificate.public_bytes(serialization.Encoding.PEM)


def kubeconfig_variant(simulator, tmp_path, name, change):
    """A copy of the simulator's kubeconfig with its cluster entry changed by ``change``."""
    config = yaml.safe_load(open(simulator.kubeconfig, encoding="utf-8"))
    change(config["clusters"][0]["cluster"])
    path = tmp_path / name
    path.write_text(yaml.safe_dump(config))
    return str(path)


def kubectl(kubeconfig, *args):
    return subprocess.run(["kubectl", "--kubeconfig", kubeconfig, *args], capture_output=True, text=True, timeout=60, check=False,
                          env=kubectl_env(kubeconfig))


def k8s_info_play(tmp_path, kubeconfig, namespace):
    """Run kubernetes.core.k8s_info (certificates verified, its default) against a kubeconfig; returns the result."""
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"kubernetes.core.k8s_info": {"kind": "Deployment", "namespace": namespace, "name": "web", "kubeconfig": kubeconfig}, "register": "found"},
        {"assert": {"that": ["found.resources[0].status.readyReplicas == 1"]}},
    ]}]
    path = tmp_path / "play.yml"
    path.write_text(yaml.safe_dump(play, sort_keys=False))
    ansible_playbook = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    return subprocess.run([ansible_playbook, str(path)], capture_output=True, text=True, timeout=120, cwd=tmp_path, check=False)


def test_the_kubeconfig_carries_the_ca_and_every_client_verifies_the_server_with_it(tls_kubesim, request, tmp_path):
    cluster = yaml.safe_load(open(tls_kubesim.kubeconfig, encoding="utf-8"))["clusters"][0]["cluster"]
    assert cluster["server"].startswith("https://127.0.0.1:") and cluster["server"] == tls_kubesim.api_url
    assert base64.b64decode(cluster["certificate-authority-data"]).startswith(b"-----BEGIN CERTIFICATE-----")
    assert http(tls_kubesim, "GET", "/version")[1]["gitVersion"].startswith("v1.")

    namespace = new_namespace(tls_kubesim, request.node.name)
    apply(tls_kubesim, namespace, deployment("web", replicas=1))
    rollout_status(tls_kubesim, namespace, "deployment/web")  # a watch over TLS
    nodes = kubernetes.client.CoreV1Api(api_client(tls_kubesim)).list_node().items
    assert len(nodes) == 3
    result = k8s_info_play(tmp_path, tls_kubesim.kubeconfig, namespace)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_kubeconfig_trusting_another_ca_is_refused_and_skipping_verification_is_not(tls_kubesim, tmp_path):
    foreign = kubeconfig_variant(tls_kubesim, tmp_path, "foreign", lambda c: c.update({"certificate-authority-data": base64.b64encode(foreign_ca_pem()).decode()}))
    refused = kubectl(foreign, "get", "nodes")
    assert refused.returncode != 0 and "x509: certificate signed by unknown authority" in refused.stderr

    configuration = kubernetes.client.Configuration()
    kubernetes.config.load_kube_config(config_file=foreign, client_configuration=configuration)
    configuration.retries = 0
    with pytest.raises(urllib3.exceptions.MaxRetryError, match="CERTIFICATE_VERIFY_FAILED"):
        kubernetes.client.CoreV1Api(kubernetes.client.ApiClient(configuration)).list_node()
    failed = k8s_info_play(tmp_path, foreign, "default")
    assert failed.returncode != 0 and "CERTIFICATE_VERIFY_FAILED" in failed.stdout

    def skip_verification(cluster):
        del cluster["certificate-authority-data"]
        cluster["insecure-skip-tls-verify"] = True

    insecure = kubeconfig_variant(tls_kubesim, tmp_path, "insecure", skip_verification)
    listed = kubectl(insecure, "get", "nodes", "-o", "name")
    assert listed.returncode == 0 and listed.stdout.split() == ["node/kubesim-node-1", "node/kubesim-node-2", "node/kubesim-node-3"]
