"""A rolling drain with cxpe.rollout.rolling_drain next to a plain ``kubectl rollout`` of the same workload.

Starts ``kubesim serve`` (time scale 50) and a real Prometheus scraping its traffic counters, then for
N rounds (3 by default) upgrades a Deployment of 4 pods under steady session load, as the
integration tests deploy it (``tests/integration/rolling_support.py``: pods labelled
``cxpe.io/serving=true``, a Service selecting on it, ``terminationGracePeriodSeconds: 3600``, four
new sessions per simulated second of 40 simulated seconds on average), both ways in each round,
each in a namespace of its own:

- the module: ``kubectl set image`` (the Deployment stays paused), then a play with one
  ``cxpe.rollout.rolling_drain`` task reading each pod's sessions from Prometheus;
- the plain way: ``kubectl rollout resume``, ``kubectl set image`` and ``kubectl rollout status``
  (RollingUpdate, maxSurge 1, maxUnavailable 0), after which the old pods drain their sessions on
  SIGTERM in the background.

Prints, per way and round, the wall time, the pods replaced, the sessions dropped and the session
openings that failed (kubesim's counters), and the API requests per pod (kubesim's
``apiserver_request_total``, every verb and the writes), then for the module the split of its time
into the waits it cannot shorten and the control-plane overhead per pod. The bench's own watches
(which time the pods and endpoints) are left out of the request counts. About two minutes on 2 cores.

    .venv/bin/python tests/bench/bench_rolling.py [--rounds 3]
"""

import argparse
import collections
import json
import os
import re
import statistics
import sys
import threading
import time
import urllib.parse
import urllib.request

import kubernetes
from bench_api import core_api
from bench_bluegreen import ROOT, TIME_SCALE, ansible_env, run_play, task_result, write_plays

# The simulator and Prometheus of the tests, the workload and the counters of the integration tests,
# and the module's own reading of EndpointSlices.
sys.path[:0] = [os.path.join(ROOT, *parts) for parts in (("tests",), ("tests", "integration"), ("tests", "unit", "support"), ("build", "collections"))]
from ansible_collections.cxpe.rollout.plugins.module_utils.routers import ready_endpoint_pods
from bluegreen_support import WRITE_VERBS, new_namespace, traffic_totals
from conftest import start_prometheus, start_simulator
from rolling_support import SERVING, deploy, new_version, pod_versions, session_totals

NAME = "calls"
REPLICAS = 4
SESSION_RATE = 4
SESSION_DURATION = 40
# Prometheus scrapes every real second: a count read that long after the pod left the endpoints is newer
# than its last new session (kube-proxy follows in 1 simulated second, 20 ms here).
ROTATION_DELAY = 1.5
POLL_INTERVAL = 0.5
WAIT_SECONDS = 120
# Longer than kubesim takes to count a watch the client closed (it looks every 0.5 s).
SETTLE_SECONDS = 1.0

MODULE_PLAY = [{"hosts": "localhost", "gather_facts": False, "tasks": [{
    "name": "Drain and replace the pods", "cxpe.rollout.rolling_drain": {
        "namespace": "{{ namespace }}", "kind": "Deployment", "name": NAME, "prometheus_url": "{{ prometheus_url }}",
        # No "or vector(0)": a pod Prometheus has no count for yet is not taken for a drained one.
        "sessions_query": "{{ sessions_query }}", "rotation_delay": ROTATION_DELAY, "poll_interval": POLL_INTERVAL,
        "drain_timeout": WAIT_SECONDS, "ready_timeout": WAIT_SECONDS, "lease_duration": 10, "reason": "benchmark"}}]}]


def api_requests(simulator):
    """The requests the API server has answered so far by (verb, resource), from apiserver_request_total;
    a path that is not a resource (discovery, health checks) stands for the resource."""
    with urllib.request.urlopen(simulator.api_url + "/metrics", timeout=10) as response:
        text = response.read().decode()
    counts = collections.Counter()
    for line in text.splitlines():
        match = re.match(r'^apiserver_request_total\{([^}]*)\} (\S+)$', line)
        if match:
            labels = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1)))
            counts[labels["verb"], labels["resource"] or labels["subresource"]] += float(match.group(2))
    return counts


class Timeline(object):
    """When the pods of a namespace and their endpoints changed, in real monotonic seconds, as the bench's
    own watches saw them (kubesim's timestamps are on its simulated clock, to the second).

    For each pod: ``created`` (after the watches started), ``out`` (its serving label false),
    ``unlisted`` (no EndpointSlice lists it as ready any more, once out), ``ready``, ``terminating``
    (marked for deletion) and ``gone``. ``requests`` counts the bench's own requests by (verb, resource).
    """

    def __init__(self, kubeconfig, namespace):
        self.namespace = namespace
        self.pods = {}
        self.requests = collections.Counter()
        self._slices = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.failure = None
        listings = ((core_api(kubeconfig).list_namespaced_pod, "pods", self._pod_event),
                    (kubernetes.client.DiscoveryV1Api(core_api(kubeconfig).api_client).list_namespaced_endpoint_slice, "endpointslices",
                     self._slice_event))
        self._listed = [threading.Event() for _listing in listings]
        self._threads = [threading.Thread(target=self._follow, args=listing + (listed,), daemon=True)
                         for listing, listed in zip(listings, self._listed)]

    def __enter__(self):
        for thread in self._threads:
            thread.start()
        for listed in self._listed:
            if not listed.wait(WAIT_SECONDS) or self.failure:
                raise RuntimeError("the watches of %s did not start: %s" % (self.namespace, self.failure))
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for thread in self._threads:
            thread.join()
        # Every stream has ended by now; give kubesim the moment it takes to count them.
        time.sleep(SETTLE_SECONDS)

    def _follow(self, list_function, resource, apply, listed):
        """List, then watch in one-second streams (each one request) from the last version seen until stopped;
        a failure is kept in ``failure`` for the waits to report."""
        try:
            self._list_and_watch(list_function, resource, apply, listed)
        except Exception as error:  # pylint: disable=broad-except
            self.failure = "%s %s" % (resource, error)
            listed.set()

    def _list_and_watch(self, list_function, resource, apply, listed):
        response = list_function(self.namespace, _preload_content=False)
        body = json.loads(response.data)
        version = body["metadata"]["resourceVersion"]
        with self._lock:
            self.requests["LIST", resource] += 1
            for item in body["items"]:
                apply("LISTED", item, None)
        listed.set()
        while not self._stop.is_set():
            with self._lock:
                self.requests["WATCH", resource] += 1
            for event in kubernetes.watch.Watch().stream(list_function, self.namespace, resource_version=version, timeout_seconds=1,
                                                         allow_watch_bookmarks=True, deserialize=False):
                version = event["object"]["metadata"]["resourceVersion"]
                if event["type"] != "BOOKMARK":
                    with self._lock:
                        apply(event["type"], event["object"], time.monotonic())

    def _pod_event(self, kind, pod, now):
        """Note what changed; ``now`` is None for the pods listed when the watches started."""
        metadata = pod["metadata"]
        # rolling_support.new_version changes the image only.
        record = self.pods.setdefault(metadata["name"], {"version": pod["spec"]["containers"][0]["image"].rsplit(":", 1)[1]})
        if now is None:
            return
        if kind == "ADDED":
            record.setdefault("created", now)
        if metadata["labels"].get(SERVING) == "false" and "out" not in record:
            record["out"] = now
            self._note_unlisted(now)
        if any(condition["type"] == "Ready" and condition["status"] == "True" for condition in (pod.get("status") or {}).get("conditions") or []):
            record.setdefault("ready", now)
        if metadata.get("deletionTimestamp"):
            record.setdefault("terminating", now)
        if kind == "DELETED":
            record.setdefault("gone", now)

    def _slice_event(self, kind, endpoint_slice, now):
        if kind == "DELETED":
            self._slices.pop(endpoint_slice["metadata"]["name"], None)
        else:
            self._slices[endpoint_slice["metadata"]["name"]] = endpoint_slice
        if now is not None:
            self._note_unlisted(now)

    def _note_unlisted(self, now):
        """Note the pods out of rotation that no EndpointSlice lists as ready any more, as the module reads the slices."""
        listed = ready_endpoint_pods(self._slices.values())
        for name, record in self.pods.items():
            if "out" in record and "unlisted" not in record and name not in listed:
                record["unlisted"] = now

    def wait(self, condition, what):
        """Wait until ``condition(pods)`` holds on what the watches have seen."""
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            with self._lock:
                if condition(self.pods):
                    return
            if self.failure or time.monotonic() > deadline:
                raise RuntimeError("no sign of %s in %s: %s" % (what, self.namespace, self.failure or "timed out"))
            time.sleep(0.05)

    def old_pods_gone(self, version):
        """Wait until every pod of ``version`` has gone; the moment the last one went."""
        self.wait(lambda pods: all("gone" in record for record in pods.values() if record["version"] == version), "the old pods to go")
        return max(record["gone"] for record in self.pods.values() if record["version"] == version)

    def new_pods(self):
        """The pods created while the watches ran, in the order they were created."""
        return sorted((record for record in self.pods.values() if "created" in record), key=lambda record: record["created"])


class Counts(object):
    """What the simulator counts for a namespace from now until ``finish``: sessions, failed session openings
    (the workload takes no other request) and API requests, less the Timeline's own."""

    def __init__(self, simulator, namespace):
        self.simulator, self.namespace = simulator, namespace
        self._before = self.read()
        self.sessions = self.failed_openings = self.requests = None

    def read(self):
        return session_totals(self.simulator, self.namespace), traffic_totals(self.simulator, self.namespace)[1], api_requests(self.simulator)

    def finish(self, timeline):
        """Read the counters again (once the timeline's watches have ended) and keep the differences."""
        sessions, failed, requests = self.read()
        before_sessions, before_failed, before_requests = self._before
        self.sessions = dict((key, sessions[key] - before_sessions[key]) for key in ("started", "dropped"))
        self.failed_openings = failed - before_failed
        requests.subtract(before_requests)
        requests.subtract(timeline.requests)
        self.requests = +requests

    def writes(self):
        return sum(count for (verb, _resource), count in self.requests.items() if verb in WRITE_VERBS)


def workload(simulator, prefix):
    """A fresh namespace holding the workload at version 1.0, paused, its sessions at their steady state."""
    namespace = new_namespace(simulator, prefix)
    deploy(simulator, namespace, "Deployment", NAME, "1.0", replicas=REPLICAS, session_rate=SESSION_RATE, session_duration=SESSION_DURATION)
    # Sessions last SESSION_DURATION on average (exponentially): three of them bring the count close to its steady state.
    time.sleep(3.0 * SESSION_DURATION / TIME_SCALE)
    return namespace


def retire(simulator, namespace):
    """Stop the namespace's clients and let it go, so the next measurement has the simulator to itself."""
    simulator.kubectl("delete", "namespace", namespace, "--wait=false")


def upgraded(simulator, namespace):
    versions = set(pod_versions(simulator, namespace, NAME).values())
    if len(versions) != 1 or not versions.pop().endswith(":2.0"):
        raise RuntimeError("%s still runs %s" % (namespace, sorted(versions)))


def module_way(simulator, prometheus, env, play):
    """Upgrade with rolling_drain: the figures of the run and of each pod, in real seconds."""
    namespace = workload(simulator, "rolling_drain")
    variables = {"namespace": namespace, "prometheus_url": prometheus.url,
                 "sessions_query": 'sum(kubesim_sessions_active{namespace="%s",pod="{pod}"})' % namespace}
    counts = Counts(simulator, namespace)
    with Timeline(simulator.kubeconfig, namespace) as timeline:
        started = time.monotonic()
        new_version(simulator, namespace, "Deployment", NAME, "2.0")
        _elapsed, report = run_play(play, env, variables)
        wall = time.monotonic() - started
        gone = timeline.old_pods_gone("1.0") - started
    counts.finish(timeline)
    upgraded(simulator, namespace)
    retire(simulator, namespace)
    result = task_result(report)
    replacements = timeline.new_pods()
    if len(replacements) != len(result["pods"]):
        raise RuntimeError("%d pods drained, %d created" % (len(result["pods"]), len(replacements)))
    pods = [split(drained, timeline.pods[drained["pod"]], replacement,
                  first_zero_scrape(prometheus, namespace, drained["pod"], timeline.pods[drained["pod"]]["unlisted"]))
            for drained, replacement in zip(result["pods"], replacements)]
    return {"wall": wall, "gone": gone, "duration": result["duration_ms"] / 1000.0, "module_writes": result["writes"], "pods": pods,
            "counts": counts}


def first_zero_scrape(prometheus, namespace, pod, since):
    """The moment (monotonic) of the first scrape after ``since`` at which Prometheus read no session on the pod."""
    query = 'kubesim_sessions_active{namespace="%s",pod="%s"}[10m]' % (namespace, pod)
    with urllib.request.urlopen("%s/api/v1/query?%s" % (prometheus.url, urllib.parse.urlencode({"query": query})), timeout=10) as response:
        series = json.load(response)["data"]["result"]
    # Prometheus stamps its samples with the wall clock.
    offset = time.time() - time.monotonic()
    return min(float(stamp) - offset for item in series for stamp, value in item["values"] if float(value) == 0 and float(stamp) - offset >= since)


def split(drained, old, new, zero_scraped):
    """One pod's drain and replacement (batch_size 1), split into the waits the module cannot shorten and the rest.

    The module reports drain_seconds (from the start of the batch until the pod had no session) and
    replace_seconds (from then until the replacement was Ready and the pod gone). The watches give the
    moments in between; the module's end of the batch is when they saw the replacement Ready and the
    old pod gone, so the moment the drain ended is that less replace_seconds."""
    replaced = max(new["ready"], old["gone"])
    drain_ended = replaced - drained["replace_seconds"]
    batch_started = drain_ended - drained["drain_seconds"]
    rotation_ended = old["unlisted"] + ROTATION_DELAY
    return {
        "drain": drained["drain_seconds"], "replace": drained["replace_seconds"],
        # Ledger write and label patch.
        "take_out": old["out"] - batch_started,
        # kubesim's endpoints controller following the label.
        "endpoint_wait": old["unlisted"] - old["out"],
        "rotation_delay": ROTATION_DELAY,
        # Sessions ending, as the module sees them through Prometheus (scraped every second, read every poll_interval) ...
        "session_wait": drain_ended - rotation_ended,
        # ... of which the module's reading after the first scrape of 0 (or after the rotation delay, when that came later).
        "read_lag": drain_ended - max(zero_scraped, rotation_ended),
        "start_up": new["ready"] - new["created"],
        "termination": old["gone"] - old["terminating"],
    }


def plain_way(simulator):
    """Upgrade with kubectl: the figures of the run, in real seconds."""
    namespace = workload(simulator, "kubectl_rollout")
    deployment = "deployment/" + NAME
    counts = Counts(simulator, namespace)
    with Timeline(simulator.kubeconfig, namespace) as timeline:
        started = time.monotonic()
        simulator.kubectl("rollout", "resume", "-n", namespace, deployment)
        new_version(simulator, namespace, "Deployment", NAME, "2.0")
        simulator.kubectl("rollout", "status", "-n", namespace, deployment, "--timeout=%ds" % WAIT_SECONDS, timeout=WAIT_SECONDS + 10)
        wall = time.monotonic() - started
        gone = timeline.old_pods_gone("1.0") - started
    counts.finish(timeline)
    upgraded(simulator, namespace)
    retire(simulator, namespace)
    replacements = timeline.new_pods()
    return {"wall": wall, "gone": gone, "counts": counts, "pods": [{"start_up": record["ready"] - record["created"]} for record in replacements]}


def mean(runs, key):
    """The mean of a figure over every pod of the runs."""
    return statistics.mean(pod[key] for run in runs for pod in run["pods"])


def overhead(run):
    """The module's time less the waits it cannot shorten (endpoints, rotation delay, sessions, start-up), per pod."""
    waits = sum(pod["endpoint_wait"] + pod["rotation_delay"] + pod["session_wait"] + pod["start_up"] for pod in run["pods"])
    return (run["duration"] - waits) / len(run["pods"])


def print_report(rounds, modules, plains):
    print("kubesim at time scale %d, %d rounds, %d pods, %d new sessions per simulated second lasting %d simulated seconds on average, "
          "rotation_delay %g s, poll_interval %g s, Prometheus scraping every second, %d cores" % (
              TIME_SCALE, rounds, REPLICAS, SESSION_RATE, SESSION_DURATION, ROTATION_DELAY, POLL_INTERVAL, os.cpu_count()))
    print()
    print("| round | way | wall | old pods gone | pods replaced | sessions started | sessions dropped | session openings failed "
          "| API requests / pod | API writes / pod |")
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for index, (module, plain) in enumerate(zip(modules, plains), 1):
        for way, run in (("rolling_drain", module), ("kubectl rollout", plain)):
            counts, pods = run["counts"], len(run["pods"])
            print("| %d | %s | %.1f s | %.1f s | %d | %d | %d | %d | %.1f | %.1f |" % (
                index, way, run["wall"], run["gone"], pods, counts.sessions["started"], counts.sessions["dropped"], counts.failed_openings,
                sum(counts.requests.values()) / pods, counts.writes() / pods))
    print()
    print("rolling_drain's own count of its writes per pod: %s; replacement start-up with kubectl rollout: %.3f s per pod" % (
        " / ".join("%.1f" % (run["module_writes"] / len(run["pods"])) for run in modules), mean(plains, "start_up")))
    print()
    print("rolling_drain time per pod (s): the waits it cannot shorten, and the rest (overhead)")
    print()
    print("| round | module time | endpoint wait | rotation delay | session wait | (of it, read after the scrape of 0) | start-up | overhead "
          "| overhead: take out | overhead: replace beyond start-up | overhead: before and after the batches | (old pod termination) |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for index, run in enumerate(modules, 1):
        pods = run["pods"]
        outside = (run["duration"] - sum(pod["drain"] + pod["replace"] for pod in pods)) / len(pods)
        beyond_start_up = statistics.mean(pod["replace"] - pod["start_up"] for pod in pods)
        print("| %d | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | **%.3f** | %.3f | %.3f | %.3f | %.3f |" % ((index, run["duration"] / len(pods)) + tuple(
            mean([run], key) for key in ("endpoint_wait", "rotation_delay", "session_wait", "read_lag", "start_up"))
            + (overhead(run), mean([run], "take_out"), beyond_start_up, outside, mean([run], "termination"))))
    print()
    with_read_lag = [overhead(run) + mean([run], "read_lag") for run in modules]
    print("control-plane overhead per pod: %.3f s on average, %.3f s in the worst round; counting the reading after the scrape of 0 "
          "as overhead too: %.3f s and %.3f s" % (statistics.mean(overhead(run) for run in modules), max(overhead(run) for run in modules),
                                                  statistics.mean(with_read_lag), max(with_read_lag)))
    print()
    for way, runs in (("rolling_drain", modules), ("kubectl rollout", plains)):
        requests = collections.Counter()
        for run in runs:
            requests.update(dict((key, count / len(run["pods"]) / len(runs)) for key, count in run["counts"].requests.items()))
        print("%s API requests per pod by verb and resource: %s" % (way, ", ".join(
            "%s %s %.1f" % (verb, resource, count) for (verb, resource), count in sorted(requests.items(), key=lambda item: (-item[1], item[0])))))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="upgrades of each kind (default 3)")
    args = parser.parse_args(argv)
    simulator = start_simulator(time_scale=TIME_SCALE)
    try:
        prometheus = start_prometheus(simulator)
        try:
            env = ansible_env(simulator.kubeconfig)
            play = write_plays(simulator.workdir, {"module": MODULE_PLAY})["module"]
            modules, plains = [], []
            for _round in range(args.rounds):
                modules.append(module_way(simulator, prometheus, env, play))
                plains.append(plain_way(simulator))
            print_report(args.rounds, modules, plains)
        finally:
            prometheus.stop()
    finally:
        simulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
