"""The traffic model: requests and long-lived sessions entering at entry points, judged instant by instant.

Every store change the routers or the pods' fate depend on is noted with the simulated moment it
was committed. Each tick replays those changes and the tick's arrivals in time order, so each
request is judged against the state in force at its own instant, whatever the tick length or the
time scale:

- the router sees the cluster as it was ``delay`` seconds before (:class:`.world.History`), so it
  still sends traffic to endpoints that have just gone, and learns of new ones late;
- the pod is judged as it is at that instant: a pod that is gone, not serving (not started,
  crash-looping) or past its SIGTERM (:mod:`kubesim.lifecycle`) refuses the connection; a pod
  fails the share its error ratio gives;
- a request stays in flight on its pod for the entry's request duration, a session for its drawn
  length; a pod that stops (SIGKILL, an app that exits on SIGTERM, a forced deletion) cuts both;
- a draining app exits when its last session and request are over: the model tells the kubelet.

Everything is deterministic: arrivals are evenly spaced, error ratios carry their fractions,
weights are spread by smooth weighted round-robin and session lengths come from a fixed-seed
random generator.
"""

import collections
import heapq
import math
import random
import threading
from dataclasses import dataclass, field

from .. import resources
from ..lifecycle import DRAIN
from . import routing
from .behaviour import pod_error_ratio, pod_version
from .entries import DEFAULT_PROPAGATION_DELAYS, Arrivals, declares_traffic, entry_of
from .metrics import (
    REQUEST_ERRORS, REQUESTS, SESSIONS_ACTIVE, SESSIONS_COMPLETED, SESSIONS_DROPPED, SESSIONS_STARTED, Counters,
)
from .world import ROUTING_KINDS, History, World

# Real seconds between ticks: requests are judged at their own instants whatever the tick, so this
# only bounds how stale /metrics can be and how late the kubelet hears that a drain has ended.
TICK_SECONDS = 0.1
# Fixed, so a scenario draws the same session durations on every run.
SESSION_DURATION_SEED = 5061
# Lets a fraction like 0.1 + 0.2 of float arithmetic still make exactly one error.
_ROUNDING_SLACK = 1e-9
_ENTRY_KIND_BY_RESOURCE = {resources.SERVICES.key: "Service", resources.INGRESSES.key: "Ingress", resources.ROUTES.key: "Route"}
_WATCHED = set(ROUTING_KINDS) | {resources.NAMESPACES.key}
REQUEST, SESSION = "requests", "sessions"


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


@dataclass
class PodState:
    """A pod as its containers are now: what it serves and what it is serving."""

    version: str
    error_ratio: float
    serving: bool
    removed_at: float | None = None
    settled: bool = False
    sessions: list = field(default_factory=list)  # [end, series]
    in_flight: list = field(default_factory=list)  # (end, series, entry series)

    @classmethod
    def of(cls, pod):
        status = pod.get("status") or {}
        containers = status.get("containerStatuses") or []
        serving = status.get("phase") == "Running" and bool(containers) and all(c.get("ready") for c in containers)
        return cls(pod_version(pod), pod_error_ratio(pod), serving)

    def last_work_end(self):
        return max([end for end, _ in self.sessions] + [end for end, _, _ in self.in_flight], default=None)


class TrafficModel:
    """A controller for the engine (``reconcile`` ticks) and a store listener (the changes, with their moments)."""

    def __init__(self, store, clock, terminations, propagation_delays=None, seed=SESSION_DURATION_SEED):
        self._clock = clock
        self._terminations = terminations
        self._delays = dict(DEFAULT_PROPAGATION_DELAYS, **(propagation_delays or {}))
        self._lock = threading.Lock()
        self._counters = Counters()
        self._changes = collections.deque()  # (moment, event type, resource key, object), in commit order
        self._durations = random.Random(seed)
        self._errors = Carry()
        self._choices = {}
        self._rotations = collections.Counter()
        self._pods = {}  # uid -> PodState
        self._pod_terminations = {}  # uid -> Termination, kept once seen so a removed pod's schedule stays known
        self._entries = {}  # entry key -> Entry
        self._arrivals = {}  # (entry key, REQUEST | SESSION) -> Arrivals
        self._drains_judged = set()
        self._last_tick = None
        now = clock.now()
        world = World()
        # Built before the API serves or the controllers run, so nothing is written in between.
        for rtype in resources.RESOURCES:
            if rtype.key in _WATCHED:
                for obj in store.list(rtype)[0]:
                    world = self._apply(now, "ADDED", rtype.key, obj, world)
        self._history = History(world, now)
        store.add_listener(self._on_store_event)

    def _on_store_event(self, event_type, rtype, obj):
        if rtype.key in _WATCHED:
            self._changes.append((self._clock.now(), event_type, rtype.key, obj))

    def exposition(self):
        """The counters in Prometheus text format, up to the moment of the scrape."""
        with self._lock:
            self._advance(self._clock.now())
            return self._counters.exposition()

    def reconcile(self):
        real_now = self._clock.monotonic()
        if self._last_tick is not None and real_now - self._last_tick < TICK_SECONDS:
            return TICK_SECONDS - (real_now - self._last_tick)
        self._last_tick = real_now
        with self._lock:
            self._advance(self._clock.now())
        return TICK_SECONDS

    # ---------------------------------------------------------------- the timeline

    def _advance(self, now):
        while self._changes and self._changes[0][0] <= now:
            moment, event_type, rtype_key, obj = self._changes.popleft()
            self._serve_until(moment, inclusive=False)
            self._history.record(moment, self._apply(moment, event_type, rtype_key, obj, self._history.latest))
        self._serve_until(now, inclusive=True)
        self._settle_terminations(now)
        self._complete(now)
        self._forget(now)

    def _apply(self, moment, event_type, rtype_key, obj, world):
        """Take one change into the pods, the entries and the routers' World; returns the new World."""
        if rtype_key == resources.PODS.key:
            self._pod_changed(moment, event_type, obj)
        elif rtype_key == resources.NAMESPACES.key and event_type == "DELETED":
            for key in [key for key in self._entries if key[1] == obj["metadata"]["name"]]:
                self._set_entry(key, None, moment)
        if rtype_key in _ENTRY_KIND_BY_RESOURCE and event_type != "DELETED" and declares_traffic(obj):
            kind = _ENTRY_KIND_BY_RESOURCE[rtype_key]
            self._set_entry((kind, obj["metadata"]["namespace"], obj["metadata"]["name"]), entry_of(kind, obj, self._delays), moment)
        return world.changed(event_type, rtype_key, obj)

    def _set_entry(self, key, entry, moment):
        """Start, change or (``entry`` None) stop an entry point's traffic at ``moment``."""
        if entry is None:
            self._entries.pop(key, None)
        else:
            self._entries[key] = entry
        for kind, rate in ((REQUEST, entry.request_rate if entry else 0.0), (SESSION, entry.session_rate if entry else 0.0)):
            arrivals = self._arrivals.get((key, kind))
            if not rate:
                self._arrivals.pop((key, kind), None)
                self._choices.pop((key, kind), None)
            elif arrivals is None:
                self._arrivals[(key, kind)] = Arrivals(rate, moment)
            elif arrivals.rate != rate:
                arrivals.change(rate, moment)

    def _pod_changed(self, moment, event_type, pod):
        uid = pod["metadata"]["uid"]
        state = self._pods.get(uid)
        if event_type == "DELETED":
            if state is not None and state.removed_at is None:
                state.removed_at = moment
                termination = self._pod_terminations.get(uid)
                # A pod removed before its schedule said (a forced deletion, a node that went) is cut now.
                if termination is None or moment < termination.stopped_at:
                    self._settle(state, moment)
            return
        if pod["metadata"].get("deletionTimestamp") and uid not in self._pod_terminations:
            # The kubelet noted the schedule when the deletion was committed, before this replay.
            termination = self._terminations.get(uid)
            if termination is not None:
                self._pod_terminations[uid] = termination
        fresh = PodState.of(pod)
        if state is None:
            self._pods[uid] = fresh
        else:
            state.version, state.error_ratio, state.serving = fresh.version, fresh.error_ratio, fresh.serving

    def _serve_until(self, moment, inclusive):
        """Place every arrival before ``moment`` (or at it, when ``inclusive``), in time order."""
        queue = [(arrivals.next_time, index, key) for index, (key, arrivals) in enumerate(self._arrivals.items())]
        heapq.heapify(queue)
        while queue and (queue[0][0] < moment or (inclusive and queue[0][0] <= moment)):
            _, index, key = heapq.heappop(queue)
            arrivals = self._arrivals[key]
            self._arrive(key, arrivals.take())
            heapq.heappush(queue, (arrivals.next_time, index, key))

    # ---------------------------------------------------------------- one arrival

    def _arrive(self, key, moment):
        entry_key, kind = key
        entry = self._entries[entry_key]
        entry_series = (entry.namespace, entry.kind, entry.name)
        self._counters.add_entry_request(entry_series)
        plan = routing.plan(self._history.at(moment - entry.delay), entry)
        if not plan.shares:
            self._fail_unrouted(entry, entry_series, plan.failure_service, plan.failure)
            return
        pool = plan.shares[self._pick(key, plan.weights)][1]
        if not pool.endpoints:
            self._fail_unrouted(entry, entry_series, pool.service, routing.NO_ENDPOINTS)
            return
        uid, pod_name = (self._least_busy if kind == SESSION else self._next_in_rotation)(pool)
        state = self._pods.get(uid)
        series = (pool.namespace, pool.service, pod_name, state.version if state else "")
        self._counters.add(REQUESTS, series)
        if state is None or not self._accepts(uid, state, moment):
            self._fail(series, entry_series, "refused")
            return
        if self._errors.take(uid, state.error_ratio):
            self._fail(series, entry_series, "app_error")
            return
        state.in_flight.append((moment + entry.request_duration, series, entry_series))
        if kind == SESSION:
            state.sessions.append([moment + self._session_duration(entry.session_duration), series])
            self._counters.add(SESSIONS_STARTED, series)
            self._counters.add(SESSIONS_ACTIVE, series)

    def _accepts(self, uid, state, moment):
        """Whether the pod takes a new connection at ``moment``."""
        if state.removed_at is not None and moment >= state.removed_at:
            return False
        termination = self._pod_terminations.get(uid)
        if termination is not None and not termination.accepts_at(moment):
            return False
        return state.serving

    def _fail_unrouted(self, entry, entry_series, service, reason):
        series = (entry.namespace, service, "", "")
        self._counters.add(REQUESTS, series)
        self._fail(series, entry_series, reason)

    def _fail(self, series, entry_series, reason):
        self._counters.add(REQUEST_ERRORS, series)
        self._counters.add_entry_error(entry_series, reason)

    def _pick(self, key, weights):
        if len(weights) == 1:
            return 0
        choice = self._choices.get(key)
        if choice is None or choice.weights != weights:
            choice = self._choices[key] = SmoothWeightedChoice(weights)
        return choice.pick()

    def _rotation(self, pool):
        """A per-pool counter that advances on every use, so ties and turns move on through the pods."""
        key = (pool.namespace, pool.service, pool.subset)
        turn = self._rotations[key]
        self._rotations[key] += 1
        return turn

    def _next_in_rotation(self, pool):
        return pool.endpoints[self._rotation(pool) % len(pool.endpoints)]

    def _least_busy(self, pool):
        """The endpoint holding the fewest sessions; among equals, the next in rotation."""
        start, count = self._rotation(pool), len(pool.endpoints)
        order = [pool.endpoints[(start + offset) % count] for offset in range(count)]
        return min(order, key=lambda endpoint: len(self._pods[endpoint[0]].sessions) if endpoint[0] in self._pods else 0)

    def _session_duration(self, mean):
        """Exponentially distributed around the entry's mean, like call or connection lengths."""
        return self._durations.expovariate(1.0 / mean) if mean > 0 else 0.0

    # ---------------------------------------------------------------- endings

    def _settle(self, state, moment):
        """The pod's containers stopped at ``moment``: what ended by then completed, the rest is cut."""
        if state.settled:
            return
        state.settled = True
        for end, series in state.sessions:
            self._close_session(series, SESSIONS_COMPLETED if end <= moment else SESSIONS_DROPPED)
        for end, series, entry_series in state.in_flight:
            if end > moment:
                self._fail(series, entry_series, "reset")
        state.sessions, state.in_flight = [], []

    def _settle_terminations(self, now):
        """Tell the kubelet when each draining app is done, and cut what pods that stopped by now still held."""
        for uid, termination in self._terminations.snapshot().items():
            self._pod_terminations.setdefault(uid, termination)
        for uid, termination in self._pod_terminations.items():
            state = self._pods.get(uid)
            if state is None:
                continue
            if termination.on_sigterm == DRAIN and uid not in self._drains_judged and termination.sigterm_at <= now:
                # Nothing new lands on a pod past its SIGTERM: what it holds now is all it must finish.
                self._drains_judged.add(uid)
                last = state.last_work_end()
                self._terminations.end_drain(uid, min(max(termination.sigterm_at, last or 0.0), termination.kill_at))
            if termination.stopped_at <= now:
                self._settle(state, termination.stopped_at)

    def _complete(self, now):
        for state in self._pods.values():
            if state.settled:
                continue
            if state.sessions:
                remaining = []
                for session in state.sessions:
                    if session[0] <= now:
                        self._close_session(session[1], SESSIONS_COMPLETED)
                    else:
                        remaining.append(session)
                state.sessions = remaining
            if state.in_flight:
                state.in_flight = [request for request in state.in_flight if request[0] > now]

    def _close_session(self, series, family):
        self._counters.add(family, series)
        self._counters.add(SESSIONS_ACTIVE, series, -1)

    def _forget(self, now):
        """Let go of what no router can still be behind: old Worlds, and pods removed before them."""
        horizon = now - max([entry.delay for entry in self._entries.values()] + list(self._delays.values())) - 1.0
        self._history.forget_before(horizon)
        for uid in [uid for uid, state in self._pods.items() if state.removed_at is not None and state.removed_at < horizon]:
            del self._pods[uid]
            self._pod_terminations.pop(uid, None)
            self._drains_judged.discard(uid)
            self._errors.forget(uid)
