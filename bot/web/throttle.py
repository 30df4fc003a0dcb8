"""Login guessing limits: failures per account and per client address, with a lockout.

The counts are rows of `attempt_counter` (models/attempts.py), not process memory: a
restart does not forget them and the several web processes of a deployment
(docs/deploy.md) count together. The clock is the runtime's, so tests move it instead of
sleeping.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy.exc import DBAPIError

from bot.config import WebConfig
from bot.runtime import Runtime
from models import attempts

log = logging.getLogger(__name__)


class Throttle:
    def __init__(self, rt: Runtime, limits: WebConfig) -> None:
        self.rt = rt
        self.window = dt.timedelta(minutes=limits.login_window_minutes)
        self.lockout = dt.timedelta(minutes=limits.login_lockout_minutes)
        self.limits = limits

    def _max(self, key: str) -> int:
        if key.startswith("source:"):
            return self.limits.login_max_failures_per_source
        return self.limits.login_max_failures

    @staticmethod
    def _name(key: str) -> str:
        # Names are user input: bounded to the column (a longer one shares its prefix's
        # counter, which only makes guessing harder).
        return f"login:{key}"[:191]

    def locked_until(self, keys: list[str], now: dt.datetime) -> dt.datetime | None:
        """The latest end of a lockout on any of the keys, or None."""
        with self.rt.sessions() as db:
            ends = [attempts.blocked_until(db, self._name(k), self._max(k), now) for k in keys]
        found = [e for e in ends if e is not None]
        return max(found) if found else None

    def fail(self, keys: list[str], now: dt.datetime) -> None:
        with self.rt.sessions() as db:
            for key in keys:
                attempts.fail(
                    db,
                    self._name(key),
                    now,
                    window=self.window,
                    limit=self._max(key),
                    lockout=self.lockout,
                )
            db.commit()

    def succeed(self, key: str, now: dt.datetime) -> None:
        with self.rt.sessions() as db:
            attempts.clear(db, self._name(key))
            db.commit()
        # Sign-ins are rare, so ended windows are swept here, in a transaction of their own:
        # housekeeping that meets a lock (another process sweeping) must not fail a login.
        try:
            with self.rt.sessions() as db:
                attempts.sweep(db, now)
                db.commit()
        except DBAPIError as exc:
            log.warning("attempt counters not swept: %s", exc.__class__.__name__)
