"""Kubeconfigs for a kubesim server: the admin's, which ``kubesim serve`` writes, and a service account's,
for tests that run a client with no more rights than the RBAC rules they grant it
(``kubesim serve --authorization-mode RBAC``)::

    from kubesim.kubeconfig import grant, service_account_kubeconfig

    grant(admin_kubeconfig, "demo", "deployer",
          rules=[{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list", "patch"]}])
    path = service_account_kubeconfig(admin_kubeconfig, tmp_path / "deployer.kubeconfig", "demo", "deployer")

Both talk to the server over its API with the admin kubeconfig, as any client would: ``grant``
applies the ServiceAccount, Role and RoleBinding (server-side apply, so calling it again updates
them), ``service_account_kubeconfig`` asks for a token as ``kubectl create token`` does.
"""

import base64
import json
import os
import ssl
import urllib.error
import urllib.parse
import urllib.request

import yaml

# Tokens for tests last a simulated year, so a long test at a high time scale keeps its credentials.
TOKEN_SECONDS = 365 * 24 * 3600
FIELD_MANAGER = "kubesim-grant"
RBAC = "rbac.authorization.k8s.io/v1"


def kubeconfig(server_url, context="kubesim", ca_pem=None, token="kubesim", namespace="default"):
    cluster = {"server": server_url}
    if ca_pem:
        cluster["certificate-authority-data"] = base64.b64encode(ca_pem).decode()
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": context, "cluster": cluster}],
        "users": [{"name": context, "user": {"token": token}}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": context, "namespace": namespace}}],
        "current-context": context,
        "preferences": {},
    }


def write_kubeconfig(path, config):
    """Write atomically, so a reader that sees the file sees all of it."""
    temporary = f"{path}.tmp{os.getpid()}"
    with open(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as handle:
        yaml.safe_dump(config, handle, sort_keys=False)
    os.replace(temporary, path)


class ApiRequestError(Exception):
    """The server refused a request; ``status`` is its code, ``body`` its Status."""

    def __init__(self, status, body):
        super().__init__(f"{status}: {body.get('message', body) if isinstance(body, dict) else body}")
        self.status = status
        self.body = body


class _Client:
    """The server, cluster CA and token of a kubeconfig's current context."""

    def __init__(self, path):
        with open(path, encoding="utf-8") as handle:
            config = yaml.safe_load(handle)
        context = next(c["context"] for c in config["contexts"] if c["name"] == config["current-context"])
        self.cluster = next(c["cluster"] for c in config["clusters"] if c["name"] == context["cluster"])
        self.token = next(u["user"] for u in config["users"] if u["name"] == context["user"]).get("token")
        ca_data = self.cluster.get("certificate-authority-data")
        self.ssl_context = ssl.create_default_context(cadata=base64.b64decode(ca_data).decode()) if ca_data else None

    def request(self, method, path, body=None, content_type="application/json"):
        headers = {"Content-Type": content_type, "Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.cluster["server"] + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30, context=self.ssl_context) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            text = exc.read()
            try:
                raise ApiRequestError(exc.code, json.loads(text)) from exc
            except ValueError:
                raise ApiRequestError(exc.code, text.decode(errors="replace")) from exc

    def apply(self, collection_path, obj):
        """Create or update ``obj`` by server-side apply."""
        query = urllib.parse.urlencode({"fieldManager": FIELD_MANAGER, "force": "true"})
        return self.request("PATCH", f"{collection_path}/{obj['metadata']['name']}?{query}", obj, "application/apply-patch+yaml")


def grant(admin_kubeconfig, namespace, name, rules=(), cluster_rules=()):
    """Make ServiceAccount ``name`` in ``namespace`` (the namespace must exist) with the rights ``rules`` give it there
    (a Role and RoleBinding ``name``) and, with ``cluster_rules``, the rights those give it across the cluster (a
    ClusterRole and ClusterRoleBinding ``<namespace>:<name>``). Rules are PolicyRules:
    ``{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}``."""
    client = _Client(admin_kubeconfig)
    subject = [{"kind": "ServiceAccount", "name": name, "namespace": namespace}]
    client.apply(f"/api/v1/namespaces/{namespace}/serviceaccounts",
                 {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": namespace}})
    if rules:
        metadata = {"name": name, "namespace": namespace}
        client.apply(f"/apis/{RBAC}/namespaces/{namespace}/roles", {"apiVersion": RBAC, "kind": "Role", "metadata": metadata, "rules": list(rules)})
        client.apply(f"/apis/{RBAC}/namespaces/{namespace}/rolebindings",
                     {"apiVersion": RBAC, "kind": "RoleBinding", "metadata": metadata, "subjects": subject,
                      "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name}})
    if cluster_rules:
        metadata = {"name": f"{namespace}:{name}"}
        client.apply(f"/apis/{RBAC}/clusterroles", {"apiVersion": RBAC, "kind": "ClusterRole", "metadata": metadata, "rules": list(cluster_rules)})
        client.apply(f"/apis/{RBAC}/clusterrolebindings",
                     {"apiVersion": RBAC, "kind": "ClusterRoleBinding", "metadata": metadata, "subjects": subject,
                      "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": metadata["name"]}})


def service_account_token(admin_kubeconfig, namespace, name, expiration_seconds=TOKEN_SECONDS):
    """A token of ServiceAccount ``name`` from the TokenRequest API (what ``kubectl create token`` asks for)."""
    request = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": expiration_seconds}}
    answer = _Client(admin_kubeconfig).request("POST", f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token", request)
    return answer["status"]["token"]


def service_account_kubeconfig(admin_kubeconfig, path, namespace, name, expiration_seconds=TOKEN_SECONDS):
    """Write a kubeconfig at ``path`` for the same server that authenticates as ServiceAccount ``name`` of ``namespace``
    (its context's namespace); returns ``path``."""
    client = _Client(admin_kubeconfig)
    token = service_account_token(admin_kubeconfig, namespace, name, expiration_seconds)
    ca_data = client.cluster.get("certificate-authority-data")
    context = f"{namespace}-{name}"
    write_kubeconfig(path, kubeconfig(client.cluster["server"], context, base64.b64decode(ca_data) if ca_data else None, token, namespace))
    return path
