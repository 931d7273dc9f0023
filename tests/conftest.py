"""Shared pytest fixtures: a real ``kubesim serve`` process reached only through real clients,
and a real Prometheus scraping it."""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

import pytest
import yaml

START_TIMEOUT_SECONDS = 30


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def kubesim_command():
    beside_python = os.path.join(os.path.dirname(sys.executable), "kubesim")
    return beside_python if os.path.exists(beside_python) else shutil.which("kubesim")


@dataclass
class Simulator:
    """A running simulator and the ways a test reaches it."""

    kubeconfig: str
    api_url: str
    metrics_url: str
    process: subprocess.Popen
    workdir: str
    env: dict = field(default_factory=dict)

    def kubectl(self, *args, check=True, stdin=None, timeout=60):
        """Run the real kubectl against this simulator; returns the CompletedProcess."""
        result = subprocess.run(
            ["kubectl", "--kubeconfig", self.kubeconfig, *args],
            input=stdin, capture_output=True, text=True, timeout=timeout, env=self.env, check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return result

    def metrics(self):
        with urllib.request.urlopen(self.metrics_url, timeout=10) as response:
            return response.read().decode()

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_simulator(seeds=(), time_scale=20.0, nodes=3, extra_args=()):
    workdir = tempfile.mkdtemp(prefix="kubesim-")
    kubeconfig = os.path.join(workdir, "kubeconfig")
    api_port, metrics_port = free_port(), free_port()
    command = [
        kubesim_command(), "serve", "--port", str(api_port), "--metrics-port", str(metrics_port),
        "--kubeconfig", kubeconfig, "--time-scale", str(time_scale), "--nodes", str(nodes), *extra_args,
    ]
    for seed in seeds:
        command += ["--seed", str(seed)]
    log = open(os.path.join(workdir, "kubesim.log"), "w", encoding="utf-8")  # pylint: disable=consider-using-with
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)  # pylint: disable=consider-using-with
    env = dict(os.environ, KUBECONFIG=kubeconfig, K8S_AUTH_KUBECONFIG=kubeconfig)
    simulator = Simulator(kubeconfig, f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{metrics_port}/metrics", process, workdir, env)
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.close()
            with open(os.path.join(workdir, "kubesim.log"), encoding="utf-8") as output:
                raise RuntimeError(f"kubesim exited with {process.returncode}:\n{output.read()}")
        if os.path.exists(kubeconfig):
            try:
                with urllib.request.urlopen(f"{simulator.api_url}/readyz", timeout=2):
                    return simulator
            except OSError:
                pass
        time.sleep(0.05)
    simulator.stop()
    raise RuntimeError(f"kubesim did not become ready within {START_TIMEOUT_SECONDS}s")


@pytest.fixture
def kubesim_factory():
    """Start simulators with custom options; all are stopped at the end of the test."""
    started = []

    def start(**options):
        simulator = start_simulator(**options)
        started.append(simulator)
        return simulator

    yield start
    for simulator in started:
        simulator.stop()


@pytest.fixture
def kubesim(kubesim_factory):
    """A fresh simulator for one test, time compressed 20x."""
    return kubesim_factory()


@pytest.fixture(scope="module")
def shared_kubesim():
    """One simulator for a whole test module, for tests that only read or use their own namespace."""
    simulator = start_simulator()
    yield simulator
    simulator.stop()


@dataclass
class Prometheus:
    """A real Prometheus server (Debian's package) scraping simulators' /metrics."""

    url: str
    process: subprocess.Popen

    def query(self, promql):
        """The instant vector of a PromQL query: a list of (labels, float value)."""
        with urllib.request.urlopen(f"{self.url}/api/v1/query?{urllib.parse.urlencode({'query': promql})}", timeout=10) as response:
            body = json.load(response)
        assert body["status"] == "success", body
        return [(sample["metric"], float(sample["value"][1])) for sample in body["data"]["result"]]

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_prometheus(simulators, scrape_interval="1s"):
    """Start Prometheus scraping the metrics endpoints of ``simulators``; wait until it is ready."""
    workdir = tempfile.mkdtemp(prefix="prometheus-")
    targets = [urllib.parse.urlsplit(simulator.metrics_url).netloc for simulator in simulators]
    config = {"global": {"scrape_interval": scrape_interval, "evaluation_interval": scrape_interval},
              "scrape_configs": [{"job_name": "kubesim", "static_configs": [{"targets": targets}]}]}
    config_path = os.path.join(workdir, "prometheus.yml")
    with open(config_path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(config, handle)
    port = free_port()
    log = open(os.path.join(workdir, "prometheus.log"), "w", encoding="utf-8")  # pylint: disable=consider-using-with
    process = subprocess.Popen(  # pylint: disable=consider-using-with
        ["prometheus", f"--config.file={config_path}", f"--storage.tsdb.path={workdir}/data", f"--web.listen-address=127.0.0.1:{port}"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    server = Prometheus(f"http://127.0.0.1:{port}", process)
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.close()
            with open(os.path.join(workdir, "prometheus.log"), encoding="utf-8") as output:
                raise RuntimeError(f"prometheus exited with {process.returncode}:\n{output.read()}")
        try:
            with urllib.request.urlopen(f"{server.url}/-/ready", timeout=2):
                return server
        except OSError:
            time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"prometheus did not become ready within {START_TIMEOUT_SECONDS}s")


@pytest.fixture
def prometheus_factory():
    """Start real Prometheus servers for simulators; all are stopped at the end of the test."""
    started = []

    def start(*simulators, **options):
        server = start_prometheus(simulators, **options)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
