"""The traffic model in-process, on a clock the test moves: exact counts, whatever the ticks.

The process-level tests measure timing through real clients, with a real clock's jitter; here the
simulated moments of every change are chosen exactly, so the model's verdicts can be checked to
the request.
"""

import prometheus_text
import pytest
from kubesim import resources
from kubesim.api.admission import admit
from kubesim.api.bootstrap import bootstrap
from kubesim.clock import Clock
from kubesim.lifecycle import Terminations
from kubesim.store import Store
from kubesim.traffic import TrafficModel

NAMESPACE = "shop"


class SteppedClock(Clock):
    """Simulated time that moves only when the test says."""

    def __init__(self):
        super().__init__(1.0)
        self.moment = 0.0

    def now(self):
        return self.moment


def running_pod(store, name):
    pod = store.create(resources.PODS, {"metadata": {"name": name, "namespace": NAMESPACE, "labels": {"app": "web"}},
                                        "spec": {"nodeName": "kubesim-node-1", "containers": [{"name": "web", "image": "registry.example.com/web:1.0"}]}})
    pod["status"] = {"phase": "Running", "podIP": "10.244.0.2", "containerStatuses": [{"name": "web", "ready": True}],
                     "conditions": [{"type": "Ready", "status": "True"}]}
    return store.update(resources.PODS, pod, subresource="status")


def endpoint_slice(pod):
    endpoint = {"addresses": [pod["status"]["podIP"]], "conditions": {"ready": True},
                "targetRef": {"kind": "Pod", "namespace": NAMESPACE, "name": pod["metadata"]["name"], "uid": pod["metadata"]["uid"]}}
    return {"metadata": {"name": "web-manual", "namespace": NAMESPACE, "labels": {"kubernetes.io/service-name": "web"}},
            "addressType": "IPv4", "endpoints": [endpoint]}


def world(rate):
    clock = SteppedClock()
    store = Store(clock)
    store.admission = admit
    bootstrap(store)
    model = TrafficModel(store, clock, Terminations())
    store.create(resources.NAMESPACES, {"metadata": {"name": NAMESPACE}})
    pod = running_pod(store, "web-0")
    store.create(resources.SERVICES, {"metadata": {"name": "web", "namespace": NAMESPACE, "annotations": {"kubesim.cxpe.io/request-rate": str(rate)}},
                                      "spec": {"ports": [{"port": 80}]}})
    store.create(resources.ENDPOINTSLICES, endpoint_slice(pod))
    return clock, store, model, pod


def totals(model):
    samples = prometheus_text.parse(model.exposition())
    return {name: prometheus_text.total(samples, f"kubesim_{name}", namespace=NAMESPACE) for name in ("requests_total", "request_errors_total")}


@pytest.mark.parametrize("ticks", [0.1, 0.037, 0.7, 5.0], ids=lambda ticks: f"tick-{ticks}s")
def test_a_fifty_millisecond_window_without_endpoints_fails_exactly_its_share_whatever_the_ticks(ticks):
    clock, store, model, pod = world(rate=100)

    def run_until(moment):
        """Move the clock to ``moment``, the model ticking (a scrape brings it up to date) every ``ticks`` seconds."""
        while clock.moment + ticks < moment:
            clock.moment += ticks
            model.exposition()
        clock.moment = moment

    # Changes fall between arrivals (every 10 ms), so no arrival ties with one.
    run_until(10.005)
    emptied = endpoint_slice(pod)
    emptied["endpoints"] = None
    store.update(resources.ENDPOINTSLICES, emptied)
    run_until(10.055)
    store.update(resources.ENDPOINTSLICES, dict(endpoint_slice(pod), metadata=store.get(resources.ENDPOINTSLICES, NAMESPACE, "web-manual")["metadata"]))
    run_until(12.005)

    counted = totals(model)
    # Arrivals every 10 ms from 0.01 s on; kube-proxy lives 1 s in the past, so 11.01 to 11.05 find no endpoint.
    assert counted == {"requests_total": 1200, "request_errors_total": 5}


def test_a_pod_past_its_prestop_hook_refuses_what_the_router_still_sends_it():
    clock, store, model, pod = world(rate=100)
    terminations = model._terminations  # pylint: disable=protected-access
    clock.moment = 5.005
    deleting = store.delete(resources.PODS, NAMESPACE, pod["metadata"]["name"])
    terminations.begin(deleting, clock.moment)  # what the kubelet's listener does at the deletion
    clock.moment = 8.005
    counted = totals(model)
    # No preStop hook: SIGTERM at once; the slice still lists the pod (no controller runs here), so
    # the router sends it everything from then on, and it refuses all of it.
    assert counted == {"requests_total": 800, "request_errors_total": 300}
