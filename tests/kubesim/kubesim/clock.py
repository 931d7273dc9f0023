"""The one clock of the simulated world, and its time compression.

The simulated wall clock starts at the real wall time when the simulator starts and runs
``time_scale`` times faster than real time: at 20x, twenty simulated seconds pass in one real
second. Every timestamp the server and the controllers write comes from it, so a grace period,
a startup delay or a progress deadline of ``s`` simulated seconds ends ``s`` seconds later on
the timestamps too, and lasts ``s / time_scale`` real seconds.

Scheduling (how long a thread waits) runs on the real monotonic clock; ``monotonic_at`` and
``wall_at`` convert between the two, so a stored timestamp can be turned back into the moment a
controller waits for.
"""

import datetime
import time


class Clock:
    def __init__(self, time_scale=1.0):
        if time_scale <= 0:
            raise ValueError("time scale must be positive")
        self.time_scale = float(time_scale)
        # Read together, so both origins name the same instant.
        self._origin_wall_nanoseconds = time.time_ns()
        self._origin_monotonic_nanoseconds = time.monotonic_ns()
        self._origin_wall = self._origin_wall_nanoseconds / 1e9
        self._origin_monotonic = self._origin_monotonic_nanoseconds / 1e9

    def now(self):
        """Simulated seconds since the simulator started: the one timeline that the kubelet's and
        the traffic model's schedules share."""
        return (time.monotonic() - self._origin_monotonic) * self.time_scale

    @staticmethod
    def monotonic():
        """Real seconds on a clock that never jumps: what waits and deadlines are scheduled on."""
        return time.monotonic()

    def wall(self):
        """Simulated wall time, in seconds since the epoch."""
        return self.wall_at(time.monotonic())

    def wall_at(self, monotonic_moment):
        """The simulated wall time at a moment of the real monotonic clock."""
        return self._origin_wall + (monotonic_moment - self._origin_monotonic) * self.time_scale

    def monotonic_at(self, wall_seconds):
        """The moment of the real monotonic clock at which the simulated wall clock reads ``wall_seconds``."""
        return self._origin_monotonic + (wall_seconds - self._origin_wall) / self.time_scale

    def monotonic_since(self, stamp):
        """The monotonic moment a stored timestamp stands for, never later than now (now if there is none)."""
        now = time.monotonic()
        return min(self.monotonic_at(self.parse_timestamp(stamp)), now) if stamp else now

    def wall_nanoseconds(self):
        """Simulated wall time in integer nanoseconds: a float of seconds has no nanosecond digits left."""
        elapsed = time.monotonic_ns() - self._origin_monotonic_nanoseconds
        return self._origin_wall_nanoseconds + int(elapsed * self.time_scale)

    def real_seconds(self, simulated_seconds):
        """How long a simulated duration lasts in real time."""
        return float(simulated_seconds) / self.time_scale

    def simulated_seconds(self, real_seconds):
        return float(real_seconds) * self.time_scale

    def timestamp(self, epoch_seconds=None):
        """metav1.Time: RFC 3339 at one-second precision (truncated, as Go formats it); now if no moment is given."""
        return _utc(self.wall() if epoch_seconds is None else epoch_seconds).strftime("%Y-%m-%dT%H:%M:%SZ")

    def micro_timestamp(self, epoch_seconds=None):
        """metav1.MicroTime: RFC 3339 with microseconds (an Event's eventTime, a Lease's renewTime)."""
        return _utc(self.wall() if epoch_seconds is None else epoch_seconds).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    @staticmethod
    def parse_timestamp(text):
        """Seconds since the epoch of an RFC 3339 timestamp, with or without fractional seconds."""
        moment = datetime.datetime.fromisoformat(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=datetime.timezone.utc)
        return moment.timestamp()


def _utc(epoch_seconds):
    return datetime.datetime.fromtimestamp(epoch_seconds, datetime.timezone.utc)
