"""``kubesim serve --tls``: a cluster CA made at start-up and the API server's certificate, signed by it.

The serving certificate names what a client may dial: ``127.0.0.1`` and ``localhost``, and the
in-cluster names of the ``kubernetes`` Service. The CA goes into the kubeconfig as
``certificate-authority-data``, so clients verify the server as they would a real one; neither
key leaves the process.
"""

import datetime
import ipaddress
import os
import ssl
import tempfile

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .api.bootstrap import KUBERNETES_SERVICE_IP

VALIDITY = datetime.timedelta(days=365)
SERVING_NAMES = ("localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local")
SERVING_ADDRESSES = ("127.0.0.1", KUBERNETES_SERVICE_IP)


def _name(common_name):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(subject, key, issuer, issuer_key, extensions):
    # Valid from a little in the past, so a client whose clock is slightly behind accepts it.
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
               .not_valid_after(now + VALIDITY))
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(issuer_key, hashes.SHA256())


def new_ca(common_name="kubernetes"):
    """(certificate, private key) of a new self-signed CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    usage = x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, encipher_only=False, decipher_only=False)
    extensions = [(x509.BasicConstraints(ca=True, path_length=None), True), (usage, True),
                  (x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)]
    return _certificate(_name(common_name), key, _name(common_name), key, extensions), key


def serving_certificate(ca, ca_key):
    """(certificate, private key) of the API server, for the names and addresses clients dial."""
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.DNSName(name) for name in SERVING_NAMES] + [x509.IPAddress(ipaddress.ip_address(a)) for a in SERVING_ADDRESSES]
    usage = x509.KeyUsage(digital_signature=True, key_encipherment=True, key_cert_sign=False, crl_sign=False, content_commitment=False,
                          data_encipherment=False, key_agreement=False, encipher_only=False, decipher_only=False)
    extensions = [(x509.BasicConstraints(ca=False, path_length=None), True), (usage, True),
                  (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False), (x509.SubjectAlternativeName(names), False),
                  (x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False)]
    return _certificate(_name("kube-apiserver"), key, ca.subject, ca_key, extensions), key


def pem(certificate):
    return certificate.public_bytes(serialization.Encoding.PEM)


def server_context(certificate, key):
    """An SSLContext serving ``certificate``; the standard library loads keys from files only, so they
    go through a private temporary directory that is removed at once."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    with tempfile.TemporaryDirectory(prefix="kubesim-tls-") as directory:
        cert_path, key_path = os.path.join(directory, "tls.crt"), os.path.join(directory, "tls.key")
        with open(cert_path, "wb") as handle:
            handle.write(pem(certificate))
        with open(os.open(key_path, os.O_WRONLY | os.O_CREAT, 0o600), "wb") as handle:
            handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        context.load_cert_chain(cert_path, key_path)
    return context


def serve_tls(background_server):
    """Make a not yet started server speak TLS with a new CA's certificate; returns the CA in PEM.
    The handshake happens in each connection's own thread, on its first read."""
    ca, ca_key = new_ca()
    context = server_context(*serving_certificate(ca, ca_key))
    httpd = background_server.httpd
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True, do_handshake_on_connect=False)
    return pem(ca)
