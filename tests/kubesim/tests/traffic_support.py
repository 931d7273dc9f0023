"""Building traffic scenarios with kubectl and reading their outcome from /metrics."""

import itertools
import re
import time

import prometheus_text
import yaml

IMAGE = "registry.example.com/cxpe/app"
READY_AFTER = "kubesim.cxpe.io/ready-after"
WAIT_SECONDS = 30
POLL_SECONDS = 0.05
_namespace_numbers = itertools.count(1)


def new_namespace(simulator, test_name):
    """A fresh namespace named after the test, so tests sharing a simulator never see each other's traffic."""
    stem = re.sub(r"[^a-z0-9]+", "-", test_name.lower().removeprefix("test_"))[:40].strip("-")
    name = f"{stem}-{next(_namespace_numbers)}"
    simulator.kubectl("create", "namespace", name)
    return name


def manifest(api_version, kind, name, spec, labels=None, annotations=None):
    metadata = {"name": name, "labels": dict(labels or {}), "annotations": dict(annotations or {})}
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata, "spec": spec}


def pod(name, labels, version="1.0", annotations=None, image_tag=None):
    container = {"name": "app", "image": f"{IMAGE}:{image_tag or version}", "ports": [{"name": "http", "containerPort": 8080}]}
    return manifest("v1", "Pod", name, {"terminationGracePeriodSeconds": 30, "containers": [container]}, labels, annotations)


def service(name, selector, annotations=None):
    spec = {"selector": dict(selector), "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}
    return manifest("v1", "Service", name, spec, annotations=annotations)


def apply(simulator, namespace, *objects):
    """``kubectl apply`` the objects as one multi-document YAML stream."""
    simulator.kubectl("apply", "-n", namespace, "-f", "-", stdin=yaml.safe_dump_all(objects))


def wait_ready(simulator, namespace, selector):
    simulator.kubectl("wait", "-n", namespace, "--for=condition=Ready", "pod", "-l", selector, f"--timeout={WAIT_SECONDS}s", timeout=WAIT_SECONDS + 10)


def endpoint_pods(simulator, namespace, service_name):
    result = simulator.kubectl("get", "endpoints", service_name, "-n", namespace, "-o",
                               "jsonpath={.subsets[*].addresses[*].targetRef.name}", check=False)
    return sorted(result.stdout.split()) if result.returncode == 0 else []


def poll(read, condition, description):
    """Call ``read()`` until ``condition`` holds for what it returns; returns that."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        value = read()
        if condition(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {description}; last read:\n{value}")
        time.sleep(POLL_SECONDS)


def wait_for_endpoints(simulator, namespace, service_name, pod_names):
    """Wait until the Service's ready addresses are exactly ``pod_names``."""
    poll(lambda: endpoint_pods(simulator, namespace, service_name), lambda pods: pods == sorted(pod_names), f"endpoints {sorted(pod_names)}")


def traffic_annotations(**settings):
    """Traffic annotations from keywords: ``request_rate=50`` is ``kubesim.cxpe.io/request-rate: "50"``."""
    return {f"kubesim.cxpe.io/{name.replace('_', '-')}": str(value) for name, value in settings.items()}


def start_traffic(simulator, namespace, name, kind="service", **settings):
    """Annotate an entry point (a Service, Ingress or Route) with traffic settings (``request_rate=50``,
    ``session_rate=2``, ``session_duration=10``, ``request_headers="X-Canary: always"``...): its traffic starts."""
    simulator.kubectl("annotate", "--overwrite", "-n", namespace, kind, name,
                      *(f"{key}={value}" for key, value in traffic_annotations(**settings).items()))


def entry_count(samples, name, namespace, **labels):
    """An entry family's total: ``requests_total`` or ``request_errors_total`` (by ``reason``)."""
    return prometheus_text.total(samples, f"kubesim_entry_{name}", namespace=namespace, **labels)


def scrape(simulator):
    return prometheus_text.parse(simulator.metrics())


def wait_for_metrics(simulator, condition, description):
    """Scrape until ``condition(samples)`` holds; returns those samples."""
    return prometheus_text.parse(poll(simulator.metrics, lambda text: condition(prometheus_text.parse(text)), description))


def count(samples, name, namespace, **labels):
    """A family's total for a namespace, over the series matching ``labels``; ``name`` is without ``kubesim_``."""
    return prometheus_text.total(samples, f"kubesim_{name}", namespace=namespace, **labels)


# Longer than any router's default propagation delay (simulated seconds).
PROPAGATION_SECONDS = 3.0


def propagate(simulator, simulated_seconds=PROPAGATION_SECONDS):
    """Wait until every router has caught up with the changes made so far."""
    time.sleep(simulated_seconds / simulator.time_scale)
