"""Login guessing limits: failures per account and per client address, with a lockout.

Kept in the serving process (one waitress process serves the dashboard): a restart forgets
the counts, which costs an attacker a restart per few guesses, not a bypass. The clock is
the runtime's, so tests move it instead of sleeping.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import deque

from bot.config import WebConfig


class Throttle:
    def __init__(self, limits: WebConfig) -> None:
        self.window = dt.timedelta(minutes=limits.login_window_minutes)
        self.lockout = dt.timedelta(minutes=limits.login_lockout_minutes)
        self.limits = limits
        self.failures: dict[str, deque[dt.datetime]] = {}
        self.until: dict[str, dt.datetime] = {}
        self.lock = threading.Lock()

    def _max(self, key: str) -> int:
        if key.startswith("source:"):
            return self.limits.login_max_failures_per_source
        return self.limits.login_max_failures

    def locked_until(self, keys: list[str], now: dt.datetime) -> dt.datetime | None:
        """The latest end of a lockout on any of the keys, or None."""
        with self.lock:
            ends = [self.until[k] for k in keys if k in self.until and self.until[k] > now]
            return max(ends) if ends else None

    def fail(self, keys: list[str], now: dt.datetime) -> None:
        with self.lock:
            for key in keys:
                seen = self.failures.setdefault(key, deque())
                seen.append(now)
                while seen and seen[0] <= now - self.window:
                    seen.popleft()
                if len(seen) >= self._max(key):
                    self.until[key] = now + self.lockout
                    seen.clear()
            if len(self.failures) > 100_000:  # a spray of names: forget the idle ones
                idle = [k for k, v in self.failures.items() if not v]
                for k in idle:
                    del self.failures[k]

    def succeed(self, key: str) -> None:
        with self.lock:
            self.failures.pop(key, None)
