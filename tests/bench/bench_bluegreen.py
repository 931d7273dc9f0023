"""A blue/green switch with cxpe.rollout.bluegreen_switch next to the same switch in plain kubernetes.core tasks.

Starts ``kubesim serve``, deploys a service as two colors (both running, so the traffic can go back
and forth), then switches it N times (50 by default), alternating the two ways in the same run:

- a play with one ``cxpe.rollout.bluegreen_switch`` task (its ``duration_ms`` is the module time);
- a play with ``kubernetes.core.k8s_info`` (target Deployment Available), ``kubernetes.core.k8s``
  (patch the Service selector) and ``kubernetes.core.k8s_info`` (until the Service's endpoints are
  the target's pods).

Prints p50 and p95 of the module time and of each play's ``ansible-playbook`` wall time, the ratio
of the two plays, and the writes the module made per switch. About ten minutes on 2 cores.

    .venv/bin/python tests/bench/bench_bluegreen.py [--switches 50]
"""

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import yaml
from bench_api import start_simulator

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "unit", "support"))
from kubectl_support import kubectl_env
NAMESPACE = "bench"
SERVICE = "web"
TIME_SCALE = 50
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
KUBECTL_TIMEOUT = 120


def workload(color):
    selector = {"app.kubernetes.io/name": SERVICE, "cxpe.io/color": color}
    labels = dict(selector, **{"app.kubernetes.io/version": {"blue": "1.0", "green": "2.0"}[color]})
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "%s-%s" % (SERVICE, color), "labels": labels},
            "spec": {"replicas": 3, "selector": {"matchLabels": selector},
                     "template": {"metadata": {"labels": labels}, "spec": {"containers": [
                         {"name": "app", "image": "registry.example.com/web:%s" % labels["app.kubernetes.io/version"],
                          "ports": [{"name": "http", "containerPort": 8080}]}]}}}}


def kubectl(kubeconfig, *args, stdin=None, timeout=KUBECTL_TIMEOUT):
    """Run the real kubectl against the simulator; the CompletedProcess (CalledProcessError when it fails)."""
    return subprocess.run(["kubectl", "--kubeconfig", kubeconfig, *args], input=stdin, text=True, check=True,
                          capture_output=True, timeout=timeout, env=kubectl_env(kubeconfig))


def deploy(kubeconfig):
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": SERVICE},
               "spec": {"selector": {"app.kubernetes.io/name": SERVICE, "cxpe.io/color": "blue"},
                        "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}}
    kubectl(kubeconfig, "create", "namespace", NAMESPACE)
    kubectl(kubeconfig, "apply", "-n", NAMESPACE, "-f", "-", stdin=yaml.safe_dump_all([workload("blue"), workload("green"), service]))
    for color in ("blue", "green"):
        kubectl(kubeconfig, "rollout", "status", "-n", NAMESPACE, "deployment/%s-%s" % (SERVICE, color), "--timeout=60s")


MODULE_PLAY = [{"hosts": "localhost", "gather_facts": False, "tasks": [{
    "name": "Switch", "cxpe.rollout.bluegreen_switch": {
        "namespace": NAMESPACE, "service": SERVICE, "color": "{{ color }}", "reason": "benchmark"}}]}]

PLAIN_PLAY = [{"hosts": "localhost", "gather_facts": False, "tasks": [
    {"name": "Wait until the target color is Available", "kubernetes.core.k8s_info": {
        "kind": "Deployment", "namespace": NAMESPACE, "name": SERVICE + "-{{ color }}", "wait": True,
        "wait_condition": {"type": "Available", "status": "True"}, "wait_sleep": 1, "wait_timeout": 60}},
    {"name": "Point the Service at the target color", "kubernetes.core.k8s": {
        "state": "patched", "kind": "Service", "namespace": NAMESPACE, "name": SERVICE,
        "definition": {"spec": {"selector": {"cxpe.io/color": "{{ color }}"}}}}},
    {"name": "Wait until the endpoints are the target's pods", "kubernetes.core.k8s_info": {
        "kind": "Endpoints", "namespace": NAMESPACE, "name": SERVICE},
     "register": "endpoints", "retries": 60, "delay": 0.5,
     "until": "endpoints.resources[0].subsets | default([]) | map(attribute='addresses') | flatten"
              " | map(attribute='targetRef.name') | reject('match', 'web-' ~ color ~ '-') | list | length == 0"
              " and endpoints.resources[0].subsets | default([]) | length > 0"},
]}]


def ansible_env(kubeconfig):
    """The environment of ansible-playbook: the simulator, the collection as built, a JSON report on stdout."""
    return dict(os.environ, K8S_AUTH_KUBECONFIG=kubeconfig, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, "build", "collections"),
                ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_LOCALHOST_WARNING="false",
                ANSIBLE_INVENTORY_UNPARSED_WARNING="false")


def write_plays(workdir, plays):
    """Each play of {name: play} as a playbook file in workdir; {name: path}."""
    paths = {}
    for name, play in plays.items():
        paths[name] = os.path.join(workdir, name + ".yml")
        with open(paths[name], "w", encoding="utf-8") as handle:
            yaml.safe_dump(play, handle)
    return paths


def run_play(path, env, variables):
    """Wall time of one ansible-playbook run with the extra variables given, and its JSON report."""
    started = time.perf_counter()
    result = subprocess.run([ANSIBLE_PLAYBOOK, path, "-e", json.dumps(variables)], env=env, capture_output=True, text=True,
                            timeout=300, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError("%s failed:\n%s\n%s" % (path, result.stdout, result.stderr))
    return elapsed, json.loads(result.stdout)


def task_result(report):
    return report["plays"][0]["tasks"][0]["hosts"]["localhost"]


def percentile(values, fraction):
    """The nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(round(fraction * len(ordered) + 0.5)) - 1))]


def print_timings(module_name, module_ms, module_wall, plain_name, plain_wall):
    """The p50 / p95 table of the module time and of both plays' wall times, then the ratio of the plays."""
    print("| measure | p50 | p95 |")
    print("| --- | ---: | ---: |")
    print("| %s module time (duration_ms) | %d ms | %d ms |" % (module_name, percentile(module_ms, 0.5), percentile(module_ms, 0.95)))
    print("| play with %s (wall) | %.2f s | %.2f s |" % (module_name, percentile(module_wall, 0.5), percentile(module_wall, 0.95)))
    print("| %s play (wall) | %.2f s | %.2f s |" % (plain_name, percentile(plain_wall, 0.5), percentile(plain_wall, 0.95)))
    print("module play / plain play: %.2f at p50, %.2f at p95" % (
        percentile(module_wall, 0.5) / percentile(plain_wall, 0.5), percentile(module_wall, 0.95) / percentile(plain_wall, 0.95)))


@contextlib.contextmanager
def simulator(prefix):
    """A kubesim at TIME_SCALE for the length of a with block, in a new directory: (directory, kubeconfig path)."""
    workdir = tempfile.mkdtemp(prefix=prefix)
    process, kubeconfig = start_simulator(workdir, "--time-scale", str(TIME_SCALE))
    try:
        yield workdir, kubeconfig
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--switches", type=int, default=50, help="switches of each kind (default 50)")
    args = parser.parse_args(argv)
    with simulator("kubesim-bench-bluegreen-") as (workdir, kubeconfig):
        deploy(kubeconfig)
        env = ansible_env(kubeconfig)
        plays = write_plays(workdir, {"module": MODULE_PLAY, "plain": PLAIN_PLAY})
        module_ms, module_wall, plain_wall, writes = [], [], [], []
        color = "green"
        for _switch in range(args.switches):
            # The module switches to one color, the plain play back to the other, in turn.
            elapsed, report = run_play(plays["module"], env, {"color": color})
            result = task_result(report)
            module_wall.append(elapsed)
            module_ms.append(result["duration_ms"])
            writes.append(result["writes"])
            color = "blue" if color == "green" else "green"
            plain_wall.append(run_play(plays["plain"], env, {"color": color})[0])
            color = "blue" if color == "green" else "green"
        print("kubesim at time scale %d, %d switches of each kind, %d cores" % (TIME_SCALE, args.switches, os.cpu_count()))
        print_timings("bluegreen_switch", module_ms, module_wall, "plain k8s_info + k8s + k8s_info", plain_wall)
        print("API writes per module switch: %d to %d (router + ledger)" % (min(writes), max(writes)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
