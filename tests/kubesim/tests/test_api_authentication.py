"""``kubesim serve --authorization-mode RBAC``: who a request is. The admin token of the kubeconfig, service
account tokens from the TokenRequest API (``kubectl create token``) and from legacy token Secrets, anonymous
requests, impersonation, and the 401 of a token the server did not issue; the kubeconfig helpers tests use."""

import base64
import json
import os
import socket
import ssl
import subprocess
import sys
import time

import kubernetes
import pytest
import yaml
from api_support import api_client, failure, http
from kubectl_support import kubectl_env
from kubesim.kubeconfig import service_account_token
from rbac_support import RBAC_ARGS, Account, denial, rule, server_error
from traffic_support import new_namespace, poll

UNAUTHORIZED = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": "Unauthorized", "reason": "Unauthorized",
                "code": 401}
ACCOUNT_GROUPS = ["system:serviceaccounts", "system:serviceaccounts:{namespace}", "system:authenticated"]


@pytest.fixture(scope="module")
def rbac_kubesim(module_kubesim_factory):
    return module_kubesim_factory(extra_args=list(RBAC_ARGS))


@pytest.fixture
def namespace(rbac_kubesim, request):
    return new_namespace(rbac_kubesim, request.node.name)


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def admin_token(simulator):
    with open(simulator.kubeconfig, encoding="utf-8") as handle:
        return yaml.safe_load(handle)["users"][0]["user"]["token"]


def whoami(simulator, token):
    """The user a token authenticates as, from ``kubectl auth whoami`` (a SelfSubjectReview)."""
    result = simulator.kubectl("--token", token, "auth", "whoami", "-o", "json", check=False)
    return json.loads(result.stdout)["status"]["userInfo"] if result.returncode == 0 else result.stderr.strip()


def test_a_token_the_server_did_not_issue_is_unauthorized_and_no_token_is_anonymous(rbac_kubesim, tmp_path):
    assert http(rbac_kubesim, "GET", "/api/v1/namespaces", headers=bearer("not-a-token")) == (401, UNAUTHORIZED)
    assert http(rbac_kubesim, "GET", "/version", headers=bearer("not-a-token")) == (401, UNAUTHORIZED)
    status, body = http(rbac_kubesim, "GET", "/api/v1/namespaces")
    assert (status, body["message"]) == (403, 'namespaces is forbidden: User "system:anonymous" cannot list resource "namespaces" '
                                              'in API group "" at the cluster scope')
    assert http(rbac_kubesim, "GET", "/version")[0] == 200
    config = yaml.safe_load(open(rbac_kubesim.kubeconfig, encoding="utf-8"))
    config["users"][0]["user"]["token"] = "forged"
    (tmp_path / "forged").write_text(yaml.safe_dump(config))
    configuration = kubernetes.client.Configuration()
    kubernetes.config.load_kube_config(config_file=str(tmp_path / "forged"), client_configuration=configuration)
    core = kubernetes.client.CoreV1Api(kubernetes.client.ApiClient(configuration))
    assert failure(core.list_namespaced_pod, "default") == (401, UNAUTHORIZED)
    # kubectl's message depends on where the 401 comes from. With nothing cached for the server, it comes from
    # discovery, which kubectl 1.27 and later report with client-go's generic text; with the server's discovery cached
    # (or from kubectl before 1.27), it comes from the request itself and kubectl shows the Status's message.
    env = kubectl_env(str(tmp_path / "forged"))  # a discovery cache of this test's own, empty at first

    def get_pods(kubeconfig):
        return subprocess.run(["kubectl", "--kubeconfig", kubeconfig, "get", "pods"], capture_output=True, text=True, check=False, env=env)

    cold = get_pods(str(tmp_path / "forged"))
    assert cold.returncode == 1
    assert cold.stderr.splitlines()[-1] in ("error: You must be logged in to the server (the server has asked for the client to provide credentials)",
                                            "error: You must be logged in to the server (Unauthorized)")
    assert get_pods(rbac_kubesim.kubeconfig).returncode == 0
    warm = get_pods(str(tmp_path / "forged"))
    assert (warm.returncode, warm.stderr.splitlines()[-1]) == (1, "error: You must be logged in to the server (Unauthorized)")


def test_the_kubeconfig_authenticates_as_an_admin_in_system_masters(rbac_kubesim):
    token = admin_token(rbac_kubesim)
    assert token != "kubesim" and len(token) >= 32
    assert whoami(rbac_kubesim, token) == {"username": "kubernetes-admin", "groups": ["system:masters", "system:authenticated"]}
    assert rbac_kubesim.kubectl("auth", "can-i", "*", "*").stdout == "yes\n"


def test_kubectl_create_token_authenticates_as_the_service_account(rbac_kubesim, namespace):
    rbac_kubesim.kubectl("create", "serviceaccount", "robot", "-n", namespace)
    token = rbac_kubesim.kubectl("create", "token", "robot", "-n", namespace).stdout.strip()
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    uid = rbac_kubesim.kubectl("get", "serviceaccount", "robot", "-n", namespace, "-o", "jsonpath={.metadata.uid}").stdout
    assert claims["sub"] == f"system:serviceaccount:{namespace}:robot" and claims["exp"] - claims["iat"] == 3600
    assert claims["kubernetes.io"] == {"namespace": namespace, "serviceaccount": {"name": "robot", "uid": uid}}
    assert whoami(rbac_kubesim, token) == {
        "username": f"system:serviceaccount:{namespace}:robot", "uid": uid, "groups": [g.format(namespace=namespace) for g in ACCOUNT_GROUPS],
        "extra": {"authentication.kubernetes.io/credential-id": [f"JTI={claims['jti']}"]}}
    review = kubernetes.client.AuthenticationV1Api(api_client(rbac_kubesim)).create_token_review({"spec": {"token": token}})
    assert (review.status.authenticated, review.status.user.username) == (True, f"system:serviceaccount:{namespace}:robot")
    assert kubernetes.client.AuthenticationV1Api(api_client(rbac_kubesim)).create_token_review(
        {"spec": {"token": "forged"}}).status.authenticated is None
    denied = rbac_kubesim.kubectl("--token", token, "get", "pods", "-n", namespace, check=False)
    assert server_error(denied) == (
        f'Error from server (Forbidden): pods is forbidden: {denial(f"system:serviceaccount:{namespace}:robot", "list", "pods", namespace=namespace)}')

    # kubectl 1.27 sends a null expirationSeconds when no --duration is given: unset, so defaulted.
    status, body = http(rbac_kubesim, "POST", f"/api/v1/namespaces/{namespace}/serviceaccounts/robot/token",
                        {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": None}},
                        headers=bearer(admin_token(rbac_kubesim)))
    assert (status, body["spec"]["expirationSeconds"]) == (201, 3600)
    short = rbac_kubesim.kubectl("create", "token", "robot", "-n", namespace, "--duration=5m", check=False)
    assert "spec.expirationSeconds: Invalid value: 300: may not specify a duration less than 10 minutes" in short.stderr
    missing = rbac_kubesim.kubectl("create", "token", "nobody", "-n", namespace, check=False)
    assert 'serviceaccounts "nobody" not found' in missing.stderr


def test_a_token_dies_with_its_service_account(rbac_kubesim, namespace):
    rbac_kubesim.kubectl("create", "serviceaccount", "robot", "-n", namespace)
    token = service_account_token(rbac_kubesim.kubeconfig, namespace, "robot")
    assert whoami(rbac_kubesim, token)["username"] == f"system:serviceaccount:{namespace}:robot"
    rbac_kubesim.kubectl("delete", "serviceaccount", "robot", "-n", namespace)
    rbac_kubesim.kubectl("create", "serviceaccount", "robot", "-n", namespace)
    # The new account has another uid: the old token does not come back to life.
    assert http(rbac_kubesim, "GET", "/api", headers=bearer(token)) == (401, UNAUTHORIZED)
    assert whoami(rbac_kubesim, service_account_token(rbac_kubesim.kubeconfig, namespace, "robot"))["username"].endswith(":robot")


def test_a_token_expires_on_the_simulated_clock_and_a_bound_one_with_its_object(kubesim_factory, request):
    simulator = kubesim_factory(time_scale=300, extra_args=list(RBAC_ARGS))
    namespace = new_namespace(simulator, request.node.name)
    simulator.kubectl("create", "serviceaccount", "robot", "-n", namespace)
    simulator.kubectl("create", "secret", "generic", "anchor", "-n", namespace, "--from-literal=a=b")
    # Ten simulated minutes are two real seconds at this time scale.
    short = service_account_token(simulator.kubeconfig, namespace, "robot", expiration_seconds=600)
    assert http(simulator, "GET", "/api", headers=bearer(short))[0] == 200
    bound = kubernetes.client.CoreV1Api(api_client(simulator)).create_namespaced_service_account_token("robot", namespace, {
        "spec": {"expirationSeconds": 24 * 3600, "boundObjectRef": {"kind": "Secret", "apiVersion": "v1", "name": "anchor"}}}).status.token
    poll(lambda: http(simulator, "GET", "/api", headers=bearer(short))[0], lambda code: code == 401, "the token to expire")
    assert http(simulator, "GET", "/api", headers=bearer(bound))[0] == 200
    simulator.kubectl("delete", "secret", "anchor", "-n", namespace)
    assert http(simulator, "GET", "/api", headers=bearer(bound)) == (401, UNAUTHORIZED)


def test_a_legacy_token_secret_is_filled_in_and_lasts_as_long_as_the_secret(rbac_kubesim, namespace):
    rbac_kubesim.kubectl("create", "serviceaccount", "robot", "-n", namespace)
    secret = {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
              "metadata": {"name": "robot-token", "annotations": {"kubernetes.io/service-account.name": "robot"}}}
    rbac_kubesim.kubectl("apply", "-n", namespace, "-f", "-", stdin=yaml.safe_dump(secret))
    filled = poll(lambda: json.loads(rbac_kubesim.kubectl("get", "secret", "robot-token", "-n", namespace, "-o", "json").stdout),
                  lambda found: "token" in (found.get("data") or {}), "the token controller")
    assert base64.b64decode(filled["data"]["namespace"]).decode() == namespace
    token = base64.b64decode(filled["data"]["token"]).decode()
    assert whoami(rbac_kubesim, token)["username"] == f"system:serviceaccount:{namespace}:robot"
    rbac_kubesim.kubectl("delete", "secret", "robot-token", "-n", namespace)
    assert http(rbac_kubesim, "GET", "/api", headers=bearer(token)) == (401, UNAUTHORIZED)

    unnamed = rbac_kubesim.kubectl("apply", "-n", namespace, "-f", "-", check=False,
                                   stdin=yaml.safe_dump(dict(secret, metadata={"name": "orphan-token"})))
    assert 'metadata.annotations[kubernetes.io/service-account.name]: Required value' in unnamed.stderr


def test_impersonation_needs_the_impersonate_verb(rbac_kubesim, namespace, tmp_path):
    rbac_kubesim.kubectl("create", "serviceaccount", "robot", "-n", namespace)
    who = json.loads(rbac_kubesim.kubectl("--as", f"system:serviceaccount:{namespace}:robot", "auth", "whoami", "-o", "json").stdout)
    assert who["status"]["userInfo"] == {"username": f"system:serviceaccount:{namespace}:robot",
                                         "groups": [g.format(namespace=namespace) for g in ACCOUNT_GROUPS]}
    account = Account(rbac_kubesim, tmp_path, namespace, [rule([""], ["serviceaccounts"], ["impersonate"], ["robot"])])
    assert account.kubectl("--as", f"system:serviceaccount:{namespace}:robot", "auth", "whoami").returncode == 0
    assert server_error(account.kubectl("--as", "jane", "get", "pods")) == (
        f'Error from server (Forbidden): users "jane" is forbidden: {denial(account.username, "impersonate", "users")}')


def test_the_kubeconfig_helpers_give_a_service_account_its_rules(kubesim_factory, request, tmp_path):
    simulator = kubesim_factory(extra_args=list(RBAC_ARGS))
    namespace = new_namespace(simulator, request.node.name)
    simulator.kubectl("create", "deployment", "web", "-n", namespace, "--image=registry.example.com/app:1.0")
    account = Account(simulator, tmp_path, namespace, [rule(["apps"], ["deployments"], ["get", "list", "watch"])],
                      cluster_rules=[rule([""], ["namespaces"], ["get"])], name="deployer")
    config = yaml.safe_load(open(account.kubeconfig, encoding="utf-8"))
    assert config["contexts"][0]["context"]["namespace"] == namespace
    assert config["clusters"][0]["cluster"]["certificate-authority-data"]
    assert account.kubectl("get", "deployments", "-o", "name").stdout.split() == ["deployment.apps/web"]
    assert account.kubectl("get", "namespace", namespace, "-o", "name").stdout.split() == [f"namespace/{namespace}"]
    apps = kubernetes.client.AppsV1Api(account.client())
    assert [d.metadata.name for d in apps.list_namespaced_deployment(namespace).items] == ["web"]
    assert failure(apps.delete_namespaced_deployment, "web", namespace)[0] == 403
    # Granting again changes the rules in place.
    Account(simulator, tmp_path, namespace, [rule(["apps"], ["deployments"], ["get", "list", "delete"])], name="deployer")
    apps.delete_namespaced_deployment("web", namespace)


class StartedServer:
    """Where a server started by hand serves, and its CA (from its kubeconfig), in the shape ``api_support.http`` takes."""

    def __init__(self, port, kubeconfig):
        self.api_url = f"https://127.0.0.1:{port}"
        cluster = yaml.safe_load(kubeconfig.read_text())["clusters"][0]["cluster"]
        self.ca = base64.b64decode(cluster["certificate-authority-data"]).decode()

    def ssl_context(self):
        return ssl.create_default_context(cadata=self.ca)


def test_without_anonymous_auth_a_request_without_a_token_is_unauthorized(tmp_path):
    # Started by hand: the fixtures wait for /readyz without credentials, which this server refuses.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    kubeconfig = tmp_path / "kubeconfig"
    command = [os.path.join(os.path.dirname(sys.executable), "kubesim"), "serve", "--port", str(port), "--kubeconfig", str(kubeconfig),
               *RBAC_ARGS, "--anonymous-auth", "false"]
    with open(tmp_path / "kubesim.log", "w", encoding="utf-8") as log:
        server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)  # pylint: disable=consider-using-with
    try:
        deadline = time.monotonic() + 30
        while not os.path.exists(kubeconfig):
            assert server.poll() is None and time.monotonic() < deadline, (tmp_path / "kubesim.log").read_text()
            time.sleep(0.05)
        simulator = StartedServer(port, kubeconfig)
        assert http(simulator, "GET", "/readyz") == (401, UNAUTHORIZED)
        token = yaml.safe_load(kubeconfig.read_text())["users"][0]["user"]["token"]
        assert http(simulator, "GET", "/version", headers=bearer(token))[0] == 200
        assert http(simulator, "GET", "/kubesim/v1/pause") == (200, {"paused": False})
    finally:
        server.terminate()
        server.wait(timeout=10)
