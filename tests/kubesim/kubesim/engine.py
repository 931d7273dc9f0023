"""Runs the controllers: level-triggered reconcilers woken by store changes and by their own timers.

A controller is any object with ``reconcile()`` that brings the store one step closer to its
desired state and returns how many real seconds until it needs to run again without a store
change (``None``: only on change). Controllers must write only when something differs, so the
loop settles when the world is at rest. A store change runs every controller; a timer runs only
the controller that asked for it, so a timer (the traffic model ticks ten times a second) does not
make the others walk the whole store.

The engine can be paused (a "slow cluster"): the pausable controllers (all but those added with
``pausable=False``) do not run until the pause ends or ``resume()`` is called, while the API keeps
serving; then they catch up, being level-triggered.
"""

import logging
import math
import threading
import time

LOG = logging.getLogger("kubesim.engine")
IDLE_WAKE_SECONDS = 1.0
# A controller that asks to run again "now" without writing must not spin a core.
MINIMUM_WAIT_SECONDS = 0.005
# Who the controllers' writes are recorded as in managedFields, unless a controller names itself.
DEFAULT_FIELD_MANAGER = "kube-controller-manager"


class Engine:
    def __init__(self, store):
        self.store = store
        self.controllers = []
        self._steady = []  # the controllers that run through a pause
        self._paused_until = 0.0  # monotonic moment the pause ends; inf: until resumed
        self._due = {}  # controller -> monotonic moment its timer fires (inf: none)
        self._changed = threading.Event()  # the store changed since the last pass began
        self._held = False  # the last pass ran during a pause
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kubesim-controllers", daemon=True)
        store.add_listener(self._on_change)

    def _on_change(self, *_):
        self._changed.set()
        self._wake.set()

    def add(self, controller, pausable=True):
        self.controllers.append(controller)
        self._due[controller] = 0.0
        if not pausable:
            self._steady.append(controller)

    def pause(self, seconds=None):
        """Stop the pausable controllers for ``seconds`` real seconds, or until resume() when None."""
        self._paused_until = math.inf if seconds is None else time.monotonic() + seconds
        self._wake.set()

    def resume(self):
        self._paused_until = 0.0
        self._wake.set()

    def pause_remaining(self):
        """Real seconds the pause still lasts: 0 when not paused, inf when until resumed."""
        return max(self._paused_until - time.monotonic(), 0.0)

    def start(self):
        self._thread.start()

    def stop(self):
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=5)

    def run_once(self):
        """One pass: every controller after a store change, else those whose timer is due (only the
        steady ones while paused); returns the real seconds until the next timer, or the end of the
        pause if that comes first."""
        paused = self.pause_remaining()
        # What changed during a pause is still news to the controllers it held back.
        changed = self._changed.is_set() or (self._held and not paused)
        self._changed.clear()
        self._held = bool(paused)
        now = time.monotonic()
        for controller in self._steady if paused else self.controllers:
            if not changed and self._due[controller] > now:
                continue
            try:
                with self.store.writer(getattr(controller, "field_manager", DEFAULT_FIELD_MANAGER)), self.store.shared_reads():
                    delay = controller.reconcile()
            except Exception:  # a controller bug must not take the API server down
                LOG.exception("controller %s failed", type(controller).__name__)
                delay = IDLE_WAKE_SECONDS
            self._due[controller] = math.inf if delay is None else time.monotonic() + max(delay, 0.0)
        running = self._steady if paused else self.controllers
        waits = [self._due[controller] - time.monotonic() for controller in running]
        if 0 < paused < math.inf:
            waits.append(paused)
        return min(waits, default=IDLE_WAKE_SECONDS)

    def _run(self):
        while not self._stop.is_set():
            self._wake.clear()
            delay = self.run_once()
            self._wake.wait(timeout=min(max(delay, MINIMUM_WAIT_SECONDS), IDLE_WAKE_SECONDS))
