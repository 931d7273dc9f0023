"""Runs the controllers: level-triggered reconcilers woken by store changes and by their own timers.

A controller is any object with ``reconcile()`` that brings the store one step closer to its
desired state and returns how many real seconds until it needs to run again without a store
change (``None``: only on change). Controllers must write only when something differs, so the
loop settles when the world is at rest.
"""

import logging
import threading

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
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kubesim-controllers", daemon=True)
        store.add_listener(lambda *_: self._wake.set())

    def add(self, controller):
        self.controllers.append(controller)

    def start(self):
        self._thread.start()

    def stop(self):
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=5)

    def run_once(self):
        """One pass over every controller; returns the shortest delay any of them asked for."""
        delays = []
        for controller in self.controllers:
            try:
                with self.store.writer(getattr(controller, "field_manager", DEFAULT_FIELD_MANAGER)):
                    delay = controller.reconcile()
            except Exception:  # a controller bug must not take the API server down
                LOG.exception("controller %s failed", type(controller).__name__)
                delay = IDLE_WAKE_SECONDS
            if delay is not None:
                delays.append(max(delay, 0.0))
        return min(delays, default=IDLE_WAKE_SECONDS)

    def _run(self):
        while not self._stop.is_set():
            self._wake.clear()
            delay = self.run_once()
            self._wake.wait(timeout=min(max(delay, MINIMUM_WAIT_SECONDS), IDLE_WAKE_SECONDS))
