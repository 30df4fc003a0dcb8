"""A scheduler job that survives an outage quietly.

Without it, APScheduler logs a full traceback each time a job raises: during a database
outage that is one traceback a second from the inbound job alone, burying the one line that
matters. A guarded job logs the change of state once (failing, with the traceback; then
recovered, with how long and how many runs failed), and while failing waits longer between
attempts (doubling up to a cap) instead of hammering the database.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

log = logging.getLogger("bot.scheduler")


class JobGuard:
    def __init__(
        self,
        name: str,
        job: Callable[[], object],
        clock: Callable[[], dt.datetime],
        *,
        base_seconds: float = 2.0,
        cap_seconds: float = 60.0,
    ) -> None:
        self.name = name
        self.job = job
        self.clock = clock
        self.base = base_seconds
        self.cap = cap_seconds
        self.failures = 0
        self.since: dt.datetime | None = None
        self.next_try: dt.datetime | None = None

    @property
    def failing(self) -> bool:
        return self.failures > 0

    def __call__(self) -> None:
        now = self.clock()
        if self.next_try is not None and now < self.next_try:
            return  # backing off: this run is skipped, silently
        try:
            self.job()
        except Exception as exc:
            self.failures += 1
            if self.failures == 1:
                self.since = now
                log.error("job %s failing: %s", self.name, exc, exc_info=True)
            else:
                log.debug("job %s still failing (%s): %s", self.name, self.failures, exc)
            wait = min(self.cap, self.base * 2 ** (self.failures - 1))
            self.next_try = now + dt.timedelta(seconds=wait)
            return
        if self.failing:
            log.warning(
                "job %s recovered after %s failed run(s) since %s",
                self.name,
                self.failures,
                self.since.isoformat() if self.since else "?",
            )
        self.failures, self.since, self.next_try = 0, None, None
