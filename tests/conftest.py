"""Shared pytest fixtures: a real ``kubesim serve`` process reached only through real clients,
and a real Prometheus scraping it."""

import base64
import functools
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

import pytest
import yaml
from kubectl_support import kubectl_env
from port_support import free_port
from xdist.scheduler import LoadFileScheduling

START_TIMEOUT_SECONDS = 30
# free_port() only finds a port free now: a parallel worker may bind it before the server does, so a start retries.
START_ATTEMPTS = 5
# A simulator that authenticates and authorizes as a cluster does: RBAC needs TLS (kubectl sends no token over HTTP).
RBAC_ARGS = ("--tls", "--authorization-mode", "RBAC")


def kubesim_command():
    beside_python = os.path.join(os.path.dirname(sys.executable), "kubesim")
    return beside_python if os.path.exists(beside_python) else shutil.which("kubesim")


def answers(url, context=None):
    """Whether an HTTP GET of ``url`` succeeds now (``context``: the SSLContext for an https URL)."""
    try:
        with urllib.request.urlopen(url, timeout=2, context=context):
            return True
    except OSError:
        return False


class PortTaken(RuntimeError):
    """The server could not bind a port that was free when chosen."""


class ServerProcess:
    """A server run as a child process, its output in ``<workdir>/<name>.log``."""

    def __init__(self, name, command, workdir):
        self.name = name
        self.workdir = workdir
        self.log_path = os.path.join(workdir, f"{name}.log")
        with open(self.log_path, "w", encoding="utf-8") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)  # pylint: disable=consider-using-with

    def wait_until(self, ready):
        """Wait until ``ready()`` holds; fail with the server's log if it exits or takes too long."""
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                with open(self.log_path, encoding="utf-8") as output:
                    log = output.read()
                error = PortTaken if "address already in use" in log.lower() else RuntimeError
                self.stop()
                raise error(f"{self.name} exited with {self.process.returncode}:\n{log}")
            if ready():
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.name} did not become ready within {START_TIMEOUT_SECONDS}s")

    def stop(self):
        """Stop the server and remove its files (a start-up failure already reported its log)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.workdir, ignore_errors=True)


class Simulator(ServerProcess):
    """A running ``kubesim serve`` and the ways a test reaches it."""

    def __init__(self, seeds=(), time_scale=20.0, nodes=3, extra_args=()):
        workdir = tempfile.mkdtemp(prefix="kubesim-")
        self.time_scale = time_scale
        self.kubeconfig = os.path.join(workdir, "kubeconfig")
        api_port, metrics_port = free_port(), free_port()
        # With --tls the API (not the metrics endpoint) is served over HTTPS.
        self.api_url = f"{'https' if '--tls' in extra_args else 'http'}://127.0.0.1:{api_port}"
        self.metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
        self.env = kubectl_env(self.kubeconfig, KUBECONFIG=self.kubeconfig, K8S_AUTH_KUBECONFIG=self.kubeconfig)
        command = [
            kubesim_command(), "serve", "--port", str(api_port), "--metrics-port", str(metrics_port),
            "--kubeconfig", self.kubeconfig, "--time-scale", str(time_scale), "--nodes", str(nodes), *extra_args,
        ]
        for seed in seeds:
            command += ["--seed", str(seed)]
        super().__init__("kubesim", command, workdir)

    def kubectl(self, *args, check=True, stdin=None, timeout=60):
        """Run the real kubectl against this simulator; returns the CompletedProcess."""
        result = subprocess.run(
            ["kubectl", "--kubeconfig", self.kubeconfig, *args],
            input=stdin, capture_output=True, text=True, timeout=timeout, env=self.env, check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return result

    def ssl_context(self):
        """An SSLContext trusting the simulator's CA (from its kubeconfig), or None when it serves plain HTTP."""
        if not self.api_url.startswith("https:"):
            return None
        with open(self.kubeconfig, encoding="utf-8") as handle:
            cluster = yaml.safe_load(handle)["clusters"][0]["cluster"]
        return ssl.create_default_context(cadata=base64.b64decode(cluster["certificate-authority-data"]).decode())

    def metrics(self):
        with urllib.request.urlopen(self.metrics_url, timeout=10) as response:
            return response.read().decode()


def started_on_free_ports(create, ready):
    """``create()`` a server on newly chosen ports and wait until ``ready(server)``, again on other ports while one was taken."""
    attempts = 0
    while True:
        attempts += 1
        server = create()
        try:
            return server.wait_until(functools.partial(ready, server))
        except PortTaken:
            if attempts == START_ATTEMPTS:
                raise


def start_simulator(**options):
    """Start kubesim (see ``Simulator`` for the options) and wait until it serves."""
    # kubesim writes its kubeconfig once it serves; /readyz confirms.
    return started_on_free_ports(
        lambda: Simulator(**options),
        lambda simulator: os.path.exists(simulator.kubeconfig) and answers(f"{simulator.api_url}/readyz", simulator.ssl_context()))


def stopped_at_teardown(start_server):
    """The body of a factory fixture: start servers with ``start_server``, stop them all at teardown."""
    started = []

    def start(*args, **options):
        server = start_server(*args, **options)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def kubesim_factory():
    """Start simulators with custom options; all are stopped at the end of the test."""
    yield from stopped_at_teardown(start_simulator)


@pytest.fixture
def kubesim(kubesim_factory):
    """A fresh simulator for one test, time compressed 20x."""
    return kubesim_factory()


@pytest.fixture(scope="module")
def module_kubesim_factory():
    """Start simulators with custom options for a whole test module; all are stopped at its end."""
    yield from stopped_at_teardown(start_simulator)


def with_rbac(start):
    """A simulator factory like ``start`` whose simulators serve HTTPS and authorize requests by RBAC (``RBAC_ARGS``, before
    their own ``extra_args``): their kubeconfig is the admin's, a service account may do only what its roles grant."""

    def start_with_rbac(extra_args=(), **options):
        return start(extra_args=[*RBAC_ARGS, *extra_args], **options)

    return start_with_rbac


@pytest.fixture
def rbac_kubesim_factory(kubesim_factory):
    """``kubesim_factory`` with RBAC (see ``with_rbac``)."""
    return with_rbac(kubesim_factory)


@pytest.fixture(scope="module")
def module_rbac_kubesim_factory(module_kubesim_factory):
    """``module_kubesim_factory`` with RBAC (see ``with_rbac``)."""
    return with_rbac(module_kubesim_factory)


@pytest.fixture(scope="module")
def shared_kubesim():
    """One simulator for a whole test module, for tests that only read or use their own namespace."""
    simulator = start_simulator()
    yield simulator
    simulator.stop()


class Prometheus(ServerProcess):
    """A real Prometheus server (Debian's package) scraping simulators' /metrics."""

    def __init__(self, simulators, scrape_interval="1s"):
        workdir = tempfile.mkdtemp(prefix="prometheus-")
        targets = [urllib.parse.urlsplit(simulator.metrics_url).netloc for simulator in simulators]
        config = {"global": {"scrape_interval": scrape_interval, "evaluation_interval": scrape_interval},
                  "scrape_configs": [{"job_name": "kubesim", "static_configs": [{"targets": targets}]}]}
        config_path = os.path.join(workdir, "prometheus.yml")
        with open(config_path, "w", encoding="utf-8") as handle:
            yaml.safe_dump(config, handle)
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        super().__init__("prometheus", ["prometheus", f"--config.file={config_path}", f"--storage.tsdb.path={workdir}/data",
                                        f"--web.listen-address=127.0.0.1:{port}"], workdir)

    def query(self, promql):
        """The instant vector of a PromQL query: a list of (labels, float value)."""
        with urllib.request.urlopen(f"{self.url}/api/v1/query?{urllib.parse.urlencode({'query': promql})}", timeout=10) as response:
            body = json.load(response)
        assert body["status"] == "success", body
        return [(sample["metric"], float(sample["value"][1])) for sample in body["data"]["result"]]


def start_prometheus(*simulators, **options):
    """Start Prometheus scraping the metrics endpoints of ``simulators``; wait until it is ready."""
    return started_on_free_ports(lambda: Prometheus(simulators, **options), lambda server: answers(f"{server.url}/-/ready"))


@pytest.fixture
def prometheus_factory():
    """Start real Prometheus servers for simulators; all are stopped at the end of the test."""
    yield from stopped_at_teardown(start_prometheus)


@pytest.fixture(scope="module")
def module_prometheus_factory():
    """Start real Prometheus servers for a whole test module; all are stopped at its end."""
    yield from stopped_at_teardown(start_prometheus)


# The modules that take minutes (`make test` prints the slowest tests), longest first. With --dist loadfile, xdist hands
# out the files with the most tests first; one of these handed out last would keep the run going on a single worker.
LONG_RUNNING_MODULES = (
    "tests/integration/test_upgrade_playbook.py",
    "tests/integration/test_canary_role.py",
    "tests/integration/test_deploy_platform.py",
    "tests/integration/test_bluegreen_role.py",
    "tests/integration/test_backup_restore.py",
    "tests/integration/test_uninstall.py",
)


class LongRunningFirst(LoadFileScheduling):
    """loadfile's scheduling, with LONG_RUNNING_MODULES handed out before the other files."""

    def _assign_work_unit(self, node):
        for module in reversed(LONG_RUNNING_MODULES):
            if module in self.workqueue:
                self.workqueue.move_to_end(module, last=False)
        super()._assign_work_unit(node)


def pytest_xdist_make_scheduler(config, log):
    return LongRunningFirst(config, log)
