"""Wall time for timestamps, and the time compression of the simulated world.

A simulated duration (a pod's startup delay, a grace period, a voice session) of ``s`` seconds
lasts ``s / time_scale`` real seconds, so a 60-minute drain fits in a test.
"""

import datetime
import time


class Clock:
    def __init__(self, time_scale=1.0):
        if time_scale <= 0:
            raise ValueError("time scale must be positive")
        self.time_scale = float(time_scale)
        self._origin = time.monotonic()

    def now(self):
        """Simulated seconds since the simulator started: the one timeline that the kubelet's and
        the traffic model's schedules share."""
        return (time.monotonic() - self._origin) * self.time_scale

    @staticmethod
    def monotonic():
        return time.monotonic()

    @staticmethod
    def wall():
        return time.time()

    @staticmethod
    def wall_nanoseconds():
        """Wall time in integer nanoseconds: a float of seconds has no nanosecond digits left."""
        return time.time_ns()

    def real_seconds(self, simulated_seconds):
        """How long a simulated duration lasts in real time."""
        return float(simulated_seconds) / self.time_scale

    def simulated_seconds(self, real_seconds):
        return float(real_seconds) * self.time_scale

    @staticmethod
    def timestamp(epoch_seconds=None):
        """RFC 3339 at one-second precision, the form metav1.Time serialises to."""
        moment = datetime.datetime.fromtimestamp(time.time() if epoch_seconds is None else epoch_seconds, datetime.timezone.utc)
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")

    @staticmethod
    def parse_timestamp(text):
        return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc).timestamp()
