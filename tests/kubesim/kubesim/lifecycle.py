"""How a deleted pod's containers stop: the preStop hook, SIGTERM, what the app does then, SIGKILL.

The kubelet and the traffic model share one :class:`Terminations` registry, in simulated seconds
(:meth:`Clock.now`), so both agree to the instant on when a pod stops taking requests and when
its remaining sessions are cut:

- the grace period starts when the API server marks the pod for deletion;
- the preStop hook runs first: ``exec`` with a ``sleep N`` command or the ``sleep`` action last N
  seconds, any other hook (``httpGet``, another command) ``kubesim.cxpe.io/prestop-duration``
  (default 0). Containers run their hooks side by side, so the pod's hook takes the longest of them.
  During the hook the app does not know it is going: it still serves and still accepts;
- then SIGTERM, and the app does what ``kubesim.cxpe.io/on-sigterm`` says:

  - ``drain`` (default): refuses new connections, finishes its in-flight requests and its
    sessions, and exits when the last one ends, which can be long before the grace period is up;
  - ``exit``: exits at once; what it was serving is cut;
  - ``ignore``: carries on serving (a process that does not handle the signal) until SIGKILL;

- SIGKILL at the end of the grace period cuts whatever is left. A hook still running then gets the
  kubelet's one-off two-second extension before the kill.

The traffic model says when a draining app is done (it knows the sessions); the kubelet removes
the pod once its containers have stopped.
"""

import re
import threading
from dataclasses import dataclass

ON_SIGTERM_ANNOTATION = "kubesim.cxpe.io/on-sigterm"
PRESTOP_DURATION_ANNOTATION = "kubesim.cxpe.io/prestop-duration"
DRAIN, EXIT, IGNORE = "drain", "exit", "ignore"
ON_SIGTERM_CHOICES = (DRAIN, EXIT, IGNORE)
# What the kubelet grants a preStop hook that outlives the grace period (its minimum grace period).
HOOK_GRACE_EXTENSION_SECONDS = 2.0
_SLEEP_COMMAND = re.compile(r"(?:^|[\s;&|(])sleep\s+(\d+(?:\.\d+)?)(?:s\b|\b)")


def _number(value, default):
    try:
        return max(float(value), 0.0)
    except (TypeError, ValueError):
        return default


def _hook_seconds(hook, other_hook_seconds):
    if not isinstance(hook, dict) or not hook:
        return 0.0
    if isinstance(hook.get("sleep"), dict):
        return _number(hook["sleep"].get("seconds"), 0.0)
    command = (hook.get("exec") or {}).get("command") if isinstance(hook.get("exec"), dict) else None
    if command:
        sleep = _SLEEP_COMMAND.search(" ".join(str(part) for part in command))
        if sleep:
            return float(sleep.group(1))
    return other_hook_seconds


def prestop_seconds(pod):
    """How long the pod's preStop hooks run, in simulated seconds."""
    annotations = pod["metadata"].get("annotations") or {}
    other_hook_seconds = _number(annotations.get(PRESTOP_DURATION_ANNOTATION), 0.0)
    containers = (pod.get("spec") or {}).get("containers") or []
    return max((_hook_seconds((c.get("lifecycle") or {}).get("preStop"), other_hook_seconds) for c in containers), default=0.0)


def on_sigterm(pod):
    value = ((pod["metadata"].get("annotations") or {}).get(ON_SIGTERM_ANNOTATION) or DRAIN).lower()
    return value if value in ON_SIGTERM_CHOICES else DRAIN


def has_readiness_probe(pod):
    return any(c.get("readinessProbe") for c in (pod.get("spec") or {}).get("containers") or [])


@dataclass
class Termination:
    """One deleted pod's schedule, in simulated seconds. ``drain_ends_at`` is when a draining app
    exits (its last session over, or the kill), once the traffic model knows."""

    deleted_at: float
    grace: float
    prestop: float
    on_sigterm: str
    readiness_probe: bool
    drain_ends_at: float | None = None

    @property
    def sigterm_at(self):
        return self.deleted_at + min(self.prestop, self.grace)

    @property
    def kill_at(self):
        extension = HOOK_GRACE_EXTENSION_SECONDS if self.prestop > self.grace else 0.0
        return self.deleted_at + self.grace + extension

    def accepts_at(self, moment):
        """Whether the app still takes new requests and sessions at ``moment``."""
        if moment >= self.stopped_at:
            return False
        return moment < self.sigterm_at or self.on_sigterm == IGNORE

    @property
    def stopped_at(self):
        """When the containers are gone, as far as is known now."""
        if self.on_sigterm == EXIT:
            return self.sigterm_at
        if self.on_sigterm == DRAIN and self.drain_ends_at is not None:
            return min(self.drain_ends_at, self.kill_at)
        return self.kill_at

    def ready_at(self, moment):
        """Whether the pod still reports Ready: the app answers its readiness probe until it stops
        serving, and without a probe the kubelet only sees the container running."""
        if moment >= self.stopped_at:
            return False
        return moment < self.sigterm_at or self.on_sigterm == IGNORE or not self.readiness_probe


class Terminations:
    """The schedules of the pods being deleted, by pod uid; thread-safe."""

    def __init__(self):
        self._lock = threading.Lock()
        self._by_uid = {}

    def begin(self, pod, now):
        """Note the pod's deletion (again: a later delete may only shorten the grace period)."""
        uid = pod["metadata"]["uid"]
        grace = float(pod["metadata"].get("deletionGracePeriodSeconds") or 0)
        with self._lock:
            current = self._by_uid.get(uid)
            if current is None:
                current = self._by_uid[uid] = Termination(now, grace, prestop_seconds(pod), on_sigterm(pod), has_readiness_probe(pod))
            elif now + grace < current.deleted_at + current.grace:
                current.grace = now + grace - current.deleted_at
            return current

    def get(self, uid):
        with self._lock:
            return self._by_uid.get(uid)

    def snapshot(self):
        with self._lock:
            return dict(self._by_uid)

    def end_drain(self, uid, moment):
        """The draining app of a pod exits at ``moment`` (its last session is over, or the kill comes first)."""
        with self._lock:
            termination = self._by_uid.get(uid)
            if termination is not None and termination.drain_ends_at is None:
                termination.drain_ends_at = moment

    def forget(self, live_uids, listed_at):
        """Drop the schedules of pods that are gone; one begun after ``listed_at`` may belong to a
        pod the caller's listing could not see yet."""
        with self._lock:
            for uid in set(self._by_uid) - set(live_uids):
                if self._by_uid[uid].deleted_at < listed_at:
                    del self._by_uid[uid]
