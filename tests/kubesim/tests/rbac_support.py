"""Service accounts with chosen RBAC rules, reached through kubectl and the Python client, for the access control tests."""

import itertools
import json
import subprocess
import urllib.request

import kubernetes
from kubesim.kubeconfig import grant, service_account_kubeconfig

# kubectl sends credentials only to an https server, so RBAC needs TLS.
RBAC_ARGS = ("--tls", "--authorization-mode", "RBAC")
_accounts = itertools.count(1)


def rule(groups, names, verbs, resource_names=None):
    granted = {"apiGroups": list(groups), "resources": list(names), "verbs": list(verbs)}
    if resource_names:
        granted["resourceNames"] = list(resource_names)
    return granted


class Account:
    """A ServiceAccount granted ``rules`` in its namespace (and ``cluster_rules`` cluster-wide), with a kubeconfig of its own."""

    def __init__(self, simulator, directory, namespace, rules=(), cluster_rules=(), name=None):
        self.simulator = simulator
        self.namespace = namespace
        self.name = name or f"account-{next(_accounts)}"
        self.username = f"system:serviceaccount:{namespace}:{self.name}"
        grant(simulator.kubeconfig, namespace, self.name, rules, cluster_rules)
        self.kubeconfig = str(service_account_kubeconfig(simulator.kubeconfig, directory / f"{self.name}.kubeconfig", namespace, self.name))

    def kubectl(self, *args, stdin=None):
        """The real kubectl as this account (its namespace by default); returns the CompletedProcess."""
        return subprocess.run(["kubectl", "--kubeconfig", self.kubeconfig, *args], input=stdin, capture_output=True, text=True,
                              timeout=60, check=False, env=self.simulator.env)

    def client(self, retries=None):
        configuration = kubernetes.client.Configuration()
        kubernetes.config.load_kube_config(config_file=self.kubeconfig, client_configuration=configuration)
        if retries is not None:
            configuration.retries = retries
        return kubernetes.client.ApiClient(configuration)


def forbidden(message, kind=None, name=None, group=None):
    """The Status of a 403 as the real server writes it (a non-resource request's names no kind)."""
    details = {"kind": kind} if kind else {}
    if name:
        details["name"] = name
    if group:
        details["group"] = group
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message, "reason": "Forbidden",
            "details": details, "code": 403}


def denial(username, verb, resource, group="", namespace=None):
    """The sentence of a denial after ``... is forbidden: ``."""
    place = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
    return f'User "{username}" cannot {verb} resource "{resource}" in API group "{group}" {place}'


def server_error(result):
    """The first line of a failed kubectl's error: ``Error from server (...): ...`` (or ``error: ...``)."""
    assert result.returncode != 0, result.stdout
    lines = result.stderr.splitlines()
    for prefix in ("Error from server", "error:"):
        for line in lines:
            if line.startswith(prefix):
                return line
    raise AssertionError(f"no error in kubectl's output: {result.stderr}")


def as_json(result):
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def anonymous_metrics(simulator):
    """The API port's /metrics read without credentials, as a test harness reads it."""
    with urllib.request.urlopen(f"{simulator.api_url}/metrics", timeout=10, context=simulator.ssl_context()) as response:
        return response.read().decode()
