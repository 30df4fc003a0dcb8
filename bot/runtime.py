"""The running bot's shared parts: config, database, calendar and clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Config
from bot.db import make_engine, make_session_factory
from schedules.board import Board, compute_live
from schedules.calendar import WorkCalendar

Clock = Callable[[], dt.datetime]


def system_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def shifted_clock(start: dt.datetime, base: Clock = system_clock) -> Clock:
    """A clock that reads `start` now and then advances with `base`: a rehearsal of a
    given day (`duban scheduler --start-at`) that still runs at real speed."""
    offset = start.astimezone(dt.UTC) - base()
    return lambda: base() + offset


@dataclass
class Runtime:
    config: Config
    engine: Engine
    sessions: sessionmaker[Session]
    calendar: WorkCalendar
    clock: Clock = field(default=system_clock)

    @property
    def tz(self) -> ZoneInfo:
        return self.config.rules.tz

    def now(self) -> dt.datetime:
        """Aware UTC now (from the injectable clock)."""
        return self.clock()

    def local_now(self) -> dt.datetime:
        return self.clock().astimezone(self.tz)

    def today(self) -> dt.date:
        return self.local_now().date()

    def live_board(self, session: Session, today: dt.date) -> Board:
        """This week's standings as they stand (the board provider handlers get)."""
        return compute_live(session, self.config.rules, self.calendar, today)


def build_runtime(
    config: Config, clock: Clock = system_clock, engine: Engine | None = None
) -> Runtime:
    engine = engine or make_engine(config.database.url, echo=config.database.echo)
    cal = WorkCalendar.from_config(config.calendar.holidays, config.calendar.workdays)
    return Runtime(config, engine, make_session_factory(engine), cal, clock)
