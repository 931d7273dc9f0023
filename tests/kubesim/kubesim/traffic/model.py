"""The traffic model: requests and long-lived sessions flowing into annotated Services.

Each tick reads what a client-side proxy would see (Services, their routers, the Endpoints the
controllers maintain, the pods behind them), then, under the model's lock, advances simulated
time: sessions that ran their course complete, sessions of deleted pods are settled, and the
tick's new requests and sessions are placed. Everything is deterministic: rates and error ratios
carry their fractions from tick to tick, weights are spread by smooth weighted round-robin and
session durations come from a fixed-seed random generator.
"""

import collections
import math
import random
import threading
from dataclasses import dataclass, field

from .. import resources
from . import routing
from .behaviour import number, pod_error_ratio, pod_version
from .metrics import REQUEST_ERRORS, REQUESTS, SESSIONS_ACTIVE, SESSIONS_COMPLETED, SESSIONS_DROPPED, SESSIONS_STARTED, Counters

REQUEST_RATE_ANNOTATION = "kubesim.cxpe.io/request-rate"
SESSION_RATE_ANNOTATION = "kubesim.cxpe.io/session-rate"
SESSION_DURATION_ANNOTATION = "kubesim.cxpe.io/session-duration"
DEFAULT_SESSION_DURATION = 60.0
# Real seconds between ticks: fine enough for session durations of a few simulated seconds at
# the time scales tests use, coarse enough to leave the engine's other controllers idle.
TICK_SECONDS = 0.1
# Fixed, so a scenario draws the same session durations on every run.
SESSION_DURATION_SEED = 5061
# Lets a rate of 10/s over 0.1 s of float arithmetic still make exactly one arrival.
_ROUNDING_SLACK = 1e-9


@dataclass(frozen=True)
class Endpoint:
    """A ready pod behind a Service; ``series`` is its (namespace, service, pod, version) counter key."""

    uid: str
    series: tuple
    error_ratio: float

    @classmethod
    def of(cls, pod, service):
        metadata = pod["metadata"]
        return cls(metadata["uid"], (metadata["namespace"], service, metadata["name"], pod_version(pod)), pod_error_ratio(pod))


@dataclass(frozen=True)
class Pool:
    """The endpoints one backend's share of traffic is spread over: the pods of ``service`` that pass ``pod_filter``."""

    namespace: str
    service: str
    pod_filter: tuple | None
    endpoints: tuple

    @property
    def failure_series(self):
        """Where a request that finds no ready endpoint is counted: the Service, with no pod and no version."""
        return (self.namespace, self.service, "", "")

    def without(self, uids):
        return Pool(self.namespace, self.service, self.pod_filter, tuple(e for e in self.endpoints if e.uid not in uids))


@dataclass(frozen=True)
class Demand:
    """One entry Service's traffic: its rates (per simulated second) and the weighted pools its router feeds."""

    namespace: str
    name: str
    request_rate: float
    session_rate: float
    session_duration: float
    pools: tuple

    @property
    def weights(self):
        return tuple(weight for weight, _ in self.pools)


@dataclass
class PodSessions:
    series: tuple
    ends: list = field(default_factory=list)


class Carry:
    """Whole units out of a stream of fractional amounts, keeping each key's remainder for next time."""

    def __init__(self):
        self._remainders = {}

    def take(self, key, amount):
        total = self._remainders.get(key, 0.0) + amount
        whole = math.floor(total + _ROUNDING_SLACK)
        self._remainders[key] = total - whole
        return whole

    def forget(self, key):
        self._remainders.pop(key, None)


class SmoothWeightedChoice:
    """nginx's smooth weighted round-robin: each option's share follows its weight over any run of picks, evenly interleaved."""

    def __init__(self, weights):
        self.weights = weights
        self._current = [0.0] * len(weights)

    def pick(self):
        for index, weight in enumerate(self.weights):
            self._current[index] += weight
        chosen = max(range(len(self.weights)), key=self._current.__getitem__)
        self._current[chosen] -= sum(self.weights)
        return chosen


# ---------------------------------------------------------------- reading the cluster


def _traffic_rates(service):
    annotations = service["metadata"].get("annotations") or {}
    return (
        max(number(annotations.get(REQUEST_RATE_ANNOTATION), 0.0), 0.0),
        max(number(annotations.get(SESSION_RATE_ANNOTATION), 0.0), 0.0),
        max(number(annotations.get(SESSION_DURATION_ANNOTATION), DEFAULT_SESSION_DURATION), 0.0),
    )


class ClusterView:
    """One tick's reads of the store, each namespace's routers and each Service's ready pods read once."""

    def __init__(self, store):
        self._store = store
        self._routers = {}
        self._ready_pods = {}

    def demands(self):
        demands = []
        for service in self._store.list(resources.SERVICES)[0]:
            request_rate, session_rate, session_duration = _traffic_rates(service)
            if request_rate or session_rate:
                demands.append(self._demand(service, request_rate, session_rate, session_duration))
        return demands

    def _demand(self, service, request_rate, session_rate, session_duration):
        namespace, name = service["metadata"]["namespace"], service["metadata"]["name"]
        backends = routing.backends(service, self.routers(namespace))
        pools = tuple((backend.weight, self._pool(namespace, backend)) for backend in backends)
        # A router that weighs every backend 0 answers 503: the entry Service's traffic all fails.
        return Demand(namespace, name, request_rate, session_rate, session_duration, pools or ((1.0, Pool(namespace, name, (), ())),))

    def routers(self, namespace):
        if namespace not in self._routers:
            self._routers[namespace] = routing.Routers(
                ingresses=self._store.list(resources.INGRESSES, namespace)[0],
                routes=self._store.list(resources.ROUTES, namespace)[0],
                splitters=self._by_name(resources.SERVICESPLITTERS, namespace),
                resolvers=self._by_name(resources.SERVICERESOLVERS, namespace),
            )
        return self._routers[namespace]

    def _by_name(self, rtype, namespace):
        return {obj["metadata"]["name"]: obj for obj in self._store.list(rtype, namespace)[0]}

    def _pool(self, namespace, backend):
        pods = [pod for pod in self.ready_pods(namespace, backend.service) if routing.pod_matches(backend.pod_filter, pod)]
        return Pool(namespace, backend.service, backend.pod_filter, tuple(Endpoint.of(pod, backend.service) for pod in pods))

    def ready_pods(self, namespace, service):
        """The live pods of the Service's ready Endpoints addresses, by name: what kube-proxy would route to."""
        key = (namespace, service)
        if key not in self._ready_pods:
            self._ready_pods[key] = self._read_ready_pods(namespace, service)
        return self._ready_pods[key]

    def _read_ready_pods(self, namespace, service):
        endpoints = self._store.find(resources.ENDPOINTS, namespace, service) or {}
        pods = {}
        for subset in endpoints.get("subsets") or []:
            for address in subset.get("addresses") or []:
                reference = address.get("targetRef") or {}
                if reference.get("kind") != "Pod" or reference.get("name") in pods:
                    continue
                pod = self._store.find(resources.PODS, reference.get("namespace") or namespace, reference.get("name"))
                # The Endpoints may lag a deletion by a moment; a terminating pod takes no new traffic.
                if pod and not pod["metadata"].get("deletionTimestamp") and reference.get("uid") in (None, pod["metadata"]["uid"]):
                    pods[reference["name"]] = pod
        return [pods[name] for name in sorted(pods)]


# ---------------------------------------------------------------- the model


class TrafficModel:
    """A controller for the engine (``reconcile`` ticks) and a store listener (pod deletions drop sessions)."""

    def __init__(self, store, clock, seed=SESSION_DURATION_SEED):
        self._store = store
        self._clock = clock
        self._lock = threading.Lock()
        self._counters = Counters()
        self._origin = clock.monotonic()
        self._last_tick = None
        # (pod uid, simulated time of removal), appended by the store listener without taking the model lock.
        self._removals = collections.deque()
        self._durations = random.Random(seed)
        self._generated_until = {}
        self._arrivals = Carry()
        self._errors = Carry()
        self._choices = {}
        self._rotations = collections.Counter()
        self._sessions = {}
        store.add_listener(self._on_store_event)

    def _simulated_now(self):
        return self._clock.simulated_seconds(self._clock.monotonic() - self._origin)

    def _on_store_event(self, event_type, rtype, obj):
        if event_type == "DELETED" and rtype.key == resources.PODS.key:
            self._removals.append((obj["metadata"]["uid"], self._simulated_now()))

    def exposition(self):
        """The counters in Prometheus text format."""
        with self._lock:
            return self._counters.exposition()

    def reconcile(self):
        now = self._clock.monotonic()
        if self._last_tick is not None and now - self._last_tick < TICK_SECONDS:
            return TICK_SECONDS - (now - self._last_tick)
        self._last_tick = now
        demands = ClusterView(self._store).demands()
        with self._lock:
            self._advance(self._simulated_now(), demands)
        return TICK_SECONDS

    def _advance(self, now, demands):
        removed = self._settle_removals()
        self._complete_sessions(now)
        self._forget_stopped_demands(demands)
        for demand in demands:
            self._generate(demand, now, removed)

    # ---------------------------------------------------------------- sessions ending

    def _close_sessions(self, series, family, count):
        if count:
            self._counters.add(family, series, count)
            self._counters.add(SESSIONS_ACTIVE, series, -count)

    def _settle_removals(self):
        """Settle the sessions of pods deleted since the last tick; returns their uids."""
        removed = set()
        while self._removals:
            uid, removed_at = self._removals.popleft()
            removed.add(uid)
            self._errors.forget(uid)
            sessions = self._sessions.pop(uid, None)
            if sessions:
                completed = sum(1 for end in sessions.ends if end <= removed_at)
                self._close_sessions(sessions.series, SESSIONS_COMPLETED, completed)
                self._close_sessions(sessions.series, SESSIONS_DROPPED, len(sessions.ends) - completed)
        return removed

    def _complete_sessions(self, now):
        for sessions in self._sessions.values():
            remaining = [end for end in sessions.ends if end > now]
            self._close_sessions(sessions.series, SESSIONS_COMPLETED, len(sessions.ends) - len(remaining))
            sessions.ends = remaining

    # ---------------------------------------------------------------- new traffic

    def _forget_stopped_demands(self, demands):
        current = {(demand.namespace, demand.name) for demand in demands}
        for key in set(self._generated_until) - current:
            del self._generated_until[key]
            for kind in ("requests", "sessions"):
                self._arrivals.forget((key, kind))
                self._choices.pop((key, kind), None)

    def _generate(self, demand, now, removed):
        """Place the requests and sessions that arrived since this Service's traffic was last generated."""
        key = (demand.namespace, demand.name)
        elapsed = now - self._generated_until.get(key, now)
        self._generated_until[key] = now
        pools = [pool.without(removed) if removed else pool for _, pool in demand.pools]
        for _ in range(self._arrivals.take((key, "requests"), demand.request_rate * elapsed)):
            self._request(pools[self._pick(key, "requests", demand.weights)], self._next_in_rotation)
        for _ in range(self._arrivals.take((key, "sessions"), demand.session_rate * elapsed)):
            endpoint = self._request(pools[self._pick(key, "sessions", demand.weights)], self._least_busy)
            if endpoint is not None:
                self._open_session(endpoint, now + self._session_duration(demand.session_duration))

    def _pick(self, key, kind, weights):
        choice = self._choices.get((key, kind))
        if choice is None or choice.weights != weights:
            choice = self._choices[(key, kind)] = SmoothWeightedChoice(weights)
        return choice.pick()

    def _request(self, pool, choose_endpoint):
        """Count one request to the pool; returns the endpoint that served it, or None if it failed."""
        if not pool.endpoints:
            self._counters.add(REQUESTS, pool.failure_series)
            self._counters.add(REQUEST_ERRORS, pool.failure_series)
            return None
        endpoint = choose_endpoint(pool)
        self._counters.add(REQUESTS, endpoint.series)
        if self._errors.take(endpoint.uid, endpoint.error_ratio):
            self._counters.add(REQUEST_ERRORS, endpoint.series)
            return None
        return endpoint

    def _rotation(self, pool):
        """A per-pool counter that advances on every use, so ties and turns move on through the pods."""
        key = (pool.namespace, pool.service, pool.pod_filter)
        turn = self._rotations[key]
        self._rotations[key] += 1
        return turn

    def _next_in_rotation(self, pool):
        return pool.endpoints[self._rotation(pool) % len(pool.endpoints)]

    def _least_busy(self, pool):
        """The endpoint holding the fewest sessions; among equals, the next in rotation."""
        start, count = self._rotation(pool), len(pool.endpoints)
        order = [pool.endpoints[(start + offset) % count] for offset in range(count)]
        return min(order, key=lambda endpoint: len(self._sessions[endpoint.uid].ends) if endpoint.uid in self._sessions else 0)

    def _session_duration(self, mean):
        """Exponentially distributed around the Service's mean, like call or connection lengths."""
        return self._durations.expovariate(1.0 / mean) if mean > 0 else 0.0

    def _open_session(self, endpoint, ends_at):
        self._sessions.setdefault(endpoint.uid, PodSessions(endpoint.series)).ends.append(ends_at)
        self._counters.add(SESSIONS_STARTED, endpoint.series)
        self._counters.add(SESSIONS_ACTIVE, endpoint.series)
