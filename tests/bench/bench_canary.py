"""A canary weight change with cxpe.rollout.canary_weight next to the same change in plain kubernetes.core tasks.

Starts ``kubesim serve``, deploys a canary service behind ingress-nginx as the integration tests do
(``tests/integration/canary_support.py``: Deployments ``web`` and ``web-canary``, Services ``web``,
``web-stable`` and ``web-canary``, the stable Ingress ``web`` and the canary Ingress ``web-canary``),
then changes the canary's weight N times (50 by default), 5, 25, 50 and again, alternating the two
ways in the same run:

- a play with one ``cxpe.rollout.canary_weight`` task, router ``nginx`` (its ``duration_ms`` is the
  module time);
- a play with ``kubernetes.core.k8s_info`` (canary Deployment Available), ``kubernetes.core.k8s``
  (patch the canary Ingress's ``canary-weight``) and ``kubernetes.core.k8s`` (apply a ConfigMap
  holding the weight, the version and the step, as the module's ledger does).

Prints p50 and p95 of the module time and of each play's ``ansible-playbook`` wall time, the ratio
of the two plays, and the API writes per change of each play, from the module's ``writes`` and from
kubesim's ``apiserver_request_total``. About nine minutes on 2 cores.

    .venv/bin/python tests/bench/bench_canary.py [--changes 50]
"""

import argparse
import os
import sys

import yaml
from bench_bluegreen import (
    KUBECTL_TIMEOUT,
    TIME_SCALE,
    ansible_env,
    kubectl,
    print_timings,
    run_play,
    simulator,
    task_result,
    write_plays,
)

# The canary service and the write count of the integration tests.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from bluegreen_support import api_writes
from canary_support import canary_service

NAMESPACE = "bench"
SERVICE = "web"
CANARY_VERSION = "2.0"
# The canary's weight at each change, in turn: every change moves it.
WEIGHTS = (5, 25, 50)

MODULE_PLAY = [{"hosts": "localhost", "gather_facts": False, "tasks": [{
    "name": "Set the canary weight", "cxpe.rollout.canary_weight": {
        "namespace": NAMESPACE, "service": SERVICE, "weight": "{{ weight }}", "step": "{{ step }}", "version": "{{ version }}",
        "routers": [{"kind": "nginx"}], "reason": "benchmark"}}]}]

PLAIN_PLAY = [{"hosts": "localhost", "gather_facts": False, "tasks": [
    {"name": "Wait until the canary is Available", "kubernetes.core.k8s_info": {
        "kind": "Deployment", "namespace": NAMESPACE, "name": SERVICE + "-canary", "wait": True,
        "wait_condition": {"type": "Available", "status": "True"}, "wait_sleep": 1, "wait_timeout": 60}},
    {"name": "Set the canary Ingress's weight", "kubernetes.core.k8s": {
        "state": "patched", "kind": "Ingress", "namespace": NAMESPACE, "name": SERVICE + "-canary",
        "definition": {"metadata": {"annotations": {"nginx.ingress.kubernetes.io/canary-weight": "{{ weight | string }}"}}}}},
    {"name": "Record the weight", "kubernetes.core.k8s": {
        "state": "present", "apply": True, "definition": {
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": SERVICE + "-weights", "namespace": NAMESPACE},
            "data": {"weight": "{{ weight | string }}", "version": "{{ version }}", "step": "{{ step | string }}"}}}},
]}]


class Simulator:
    """What the integration tests' helpers use of a simulator (see tests/conftest.py): kubectl and the API URL."""

    def __init__(self, kubeconfig):
        self.kubeconfig = kubeconfig
        with open(kubeconfig, encoding="utf-8") as handle:
            self.api_url = yaml.safe_load(handle)["clusters"][0]["cluster"]["server"]

    def kubectl(self, *args, stdin=None, timeout=KUBECTL_TIMEOUT):
        return kubectl(self.kubeconfig, *args, stdin=stdin, timeout=timeout)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=50, help="weight changes of each kind (default 50)")
    args = parser.parse_args(argv)
    with simulator("kubesim-bench-canary-") as (workdir, kubeconfig):
        cluster = Simulator(kubeconfig)
        cluster.kubectl("create", "namespace", NAMESPACE)
        canary_service(cluster, NAMESPACE, "nginx", service_name=SERVICE, canary=CANARY_VERSION)
        env = ansible_env(kubeconfig)
        plays = write_plays(workdir, {"module": MODULE_PLAY, "plain": PLAIN_PLAY})
        module_ms, module_wall, plain_wall, writes, module_requests, plain_requests = [], [], [], [], [], []
        for change in range(2 * args.changes):
            # The module makes one change, the plain play the next, in turn.
            step = change % len(WEIGHTS)
            variables = {"weight": WEIGHTS[step], "step": step, "version": CANARY_VERSION}
            writes_before = api_writes(cluster)
            if change % 2 == 0:
                elapsed, report = run_play(plays["module"], env, variables)
                result = task_result(report)
                module_wall.append(elapsed)
                module_ms.append(result["duration_ms"])
                writes.append(result["writes"])
                module_requests.append(api_writes(cluster) - writes_before)
            else:
                plain_wall.append(run_play(plays["plain"], env, variables)[0])
                plain_requests.append(api_writes(cluster) - writes_before)
        print("kubesim at time scale %d, %d changes of each kind, %d cores" % (TIME_SCALE, args.changes, os.cpu_count()))
        print_timings("canary_weight", module_ms, module_wall, "plain k8s_info + k8s + k8s", plain_wall)
        print("API writes per module change: %d to %d (its writes: canary Ingress + ledger), %d to %d (apiserver_request_total)" % (
            min(writes), max(writes), min(module_requests), max(module_requests)))
        print("API writes per plain change: %d to %d (apiserver_request_total)" % (min(plain_requests), max(plain_requests)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
