"""Throughput of the kubesim API server for GET, LIST and PATCH of ConfigMaps.

Starts ``kubesim serve``, creates 500 ConfigMaps in one namespace, then measures the requests per
second the simulator answers through the official ``kubernetes`` Python client (one client, then
four concurrent ones), and the same operations done the plain kubernetes.core way: one
``k8s_info`` / ``k8s`` module call per object in an Ansible playbook loop. Every phase is bounded in
operations and seconds, so the run stops by itself (about a minute on 2 cores). It also prints the
simulator's resident memory (footprint) before and after the objects are loaded.

    .venv/bin/python tests/bench/bench_api.py
"""

import argparse
import concurrent.futures
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time

import kubernetes
import yaml

NAMESPACE = "bench"
CONFIGMAPS = 500
START_TIMEOUT_SECONDS = 30


def start_simulator(workdir, *extra_args):
    """Start ``kubesim serve`` (one node, then ``extra_args``); (process, kubeconfig path) once it serves."""
    kubeconfig = os.path.join(workdir, "kubeconfig")
    kubesim = os.path.join(os.path.dirname(sys.executable), "kubesim")
    process = subprocess.Popen([kubesim, "serve", "--port", "0", "--kubeconfig", kubeconfig, "--nodes", "1", *extra_args],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not os.path.exists(kubeconfig):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("kubesim did not start")
        time.sleep(0.05)
    return process, kubeconfig


def resident_mebibytes(pid):
    """Resident set size of a process, from /proc (Linux)."""
    with open(f"/proc/{pid}/status", encoding="utf-8") as status:
        kibibytes = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
    return kibibytes / 1024


def core_api(kubeconfig):
    configuration = kubernetes.client.Configuration()
    kubernetes.config.load_kube_config(config_file=kubeconfig, client_configuration=configuration)
    return kubernetes.client.CoreV1Api(kubernetes.client.ApiClient(configuration))


def populate(core):
    core.create_namespace({"metadata": {"name": NAMESPACE}})
    for index in range(CONFIGMAPS):
        core.create_namespaced_config_map(NAMESPACE, {"metadata": {"name": f"cm-{index:03d}"}, "data": {"index": str(index)}})


def rate(operation, count, seconds):
    """Operations per second of ``operation(i)`` run up to ``count`` times or for ``seconds``, whichever ends first."""
    started = time.perf_counter()
    done = 0
    while done < count and time.perf_counter() - started < seconds:
        operation(done)
        done += 1
    return done / (time.perf_counter() - started), done


def concurrent_rate(make_operation, workers, count, seconds):
    """Aggregate operations per second of ``workers`` clients each running ``rate``."""
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        started = time.perf_counter()
        results = list(pool.map(lambda _: rate(make_operation(), count, seconds)[1], range(workers)))
    return sum(results) / (time.perf_counter() - started)


def client_operations(core):
    names = [f"cm-{index:03d}" for index in range(CONFIGMAPS)]
    return {
        "GET": lambda i: core.read_namespaced_config_map(names[i % CONFIGMAPS], NAMESPACE),
        f"LIST ({CONFIGMAPS} items)": lambda i: core.list_namespaced_config_map(NAMESPACE),
        # The same LIST without the client's decoding into model objects: what the server itself answers.
        f"LIST ({CONFIGMAPS} items), body only": lambda i: core.list_namespaced_config_map(NAMESPACE, _preload_content=False).data,
        "PATCH": lambda i: core.patch_namespaced_config_map(names[i % CONFIGMAPS], NAMESPACE, {"data": {"touched": str(i)}}),
    }


def _playbook(items, task):
    return textwrap.dedent(f"""
        - hosts: localhost
          gather_facts: false
          tasks:
          - {task}
            loop: "{{{{ range({items}) | list }}}}"
    """)


_ANSIBLE_TASKS = {
    "GET": "kubernetes.core.k8s_info: {kind: ConfigMap, namespace: bench, name: \"cm-{{ '%03d' | format(item) }}\"}",
    f"LIST ({CONFIGMAPS} items)": "kubernetes.core.k8s_info: {kind: ConfigMap, namespace: bench}",
    "PATCH": ("kubernetes.core.k8s: {state: patched, kind: ConfigMap, namespace: bench, name: \"cm-{{ '%03d' | format(item) }}\", "
              "definition: {data: {touched: \"ansible-{{ item }}\"}}}"),
}


def ansible_rate(workdir, env, task, items):
    """Module calls per second in a playbook loop: the time of ``items`` calls less that of one call,
    so the playbook's own start-up does not count."""
    ansible_playbook = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")

    def run(count):
        path = os.path.join(workdir, f"play-{count}.yml")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(_playbook(count, task))
        started = time.perf_counter()
        subprocess.run([ansible_playbook, path], env=env, check=True, capture_output=True, timeout=600)
        return time.perf_counter() - started

    single, many = run(1), run(items)
    return (items - 1) / (many - single)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="time bound of each client measurement (default 5)")
    parser.add_argument("--ansible-items", type=int, default=20, help="module calls per Ansible measurement (default 20)")
    args = parser.parse_args(argv)
    workdir = tempfile.mkdtemp(prefix="kubesim-bench-")
    process, kubeconfig = start_simulator(workdir)
    try:
        with open(kubeconfig, encoding="utf-8") as handle:
            server = yaml.safe_load(handle)["clusters"][0]["cluster"]["server"]
        core = core_api(kubeconfig)
        idle_memory = resident_mebibytes(process.pid)
        populate(core)
        loaded_memory = resident_mebibytes(process.pid)
        rows = []
        for name, operation in client_operations(core).items():
            single = rate(operation, 5000, args.seconds)[0]
            parallel = concurrent_rate(lambda: client_operations(core_api(kubeconfig))[name], 4, 5000, args.seconds)
            env = dict(os.environ, K8S_AUTH_KUBECONFIG=kubeconfig, ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
            ansible = ansible_rate(workdir, env, _ANSIBLE_TASKS[name], args.ansible_items) if name in _ANSIBLE_TASKS else None
            rows.append((name, single, parallel, ansible))
        print(f"kubesim at {server}, {CONFIGMAPS} ConfigMaps, {os.cpu_count()} cores")
        print("| operation | kubernetes client, 1 thread (req/s) | kubernetes client, 4 threads (req/s) | kubernetes.core module loop (ops/s) |")
        print("| --- | ---: | ---: | ---: |")
        for name, single, parallel, ansible in rows:
            print(f"| {name} | {single:.0f} | {parallel:.0f} | {'-' if ansible is None else format(ansible, '.1f')} |")
        print(f"kubesim resident memory: {idle_memory:.0f} MiB at start, {loaded_memory:.0f} MiB with {CONFIGMAPS} ConfigMaps, "
              f"{resident_mebibytes(process.pid):.0f} MiB after the measurements")
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
