"""A database outage under the scheduler (issue 11, finding 9): one error with its
traceback when it starts, one line when it ends, and fewer attempts in between."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from bot.runtime import Runtime
from bot.scheduler import SchedulerService
from tests.conftest import Clock


@pytest.mark.parametrize("backend", ["sqlite"])
def test_an_outage_is_logged_once_and_backed_off(
    rt: Runtime, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    state = {"down": True, "calls": 0}
    real = rt.sessions

    def sessions() -> Any:
        state["calls"] += 1
        if state["down"]:
            raise OperationalError("SELECT 1", {}, Exception("connection refused"))
        return real()

    broken = dataclasses.replace(rt, sessions=sessions)  # type: ignore[arg-type]
    service = SchedulerService(broken, holder="test")
    service.active = True
    inbound = service.guard("inbound", service.inbound)  # the job as APScheduler runs it
    with caplog.at_level(logging.DEBUG, logger="bot"):
        for _ in range(120):  # two minutes of a once-a-second job
            inbound()
            clock.advance(seconds=1)
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(errors) == 1 and errors[0].exc_info is not None
        assert "job inbound failing" in errors[0].getMessage()
        # At 0, 2, 6, 14, 30 and 62 s (waits doubling from 2 s): 6 attempts, not 120.
        assert state["calls"] == 6
        state["down"] = False
        clock.advance(seconds=60)
        inbound()
        inbound()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and warnings[0].startswith("job inbound recovered after 6")
    assert not inbound.failing
