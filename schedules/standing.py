"""Readings of the ranking beyond one board: trends that end with the live (unpublished)
period, standings over a longer window (month and year to date) beside the weekly board, so
every unit is ranked and movement means something, and whether a period has too little due
yet to be read."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import RankingSnapshot
from schedules.board import (
    Board,
    compute,
    current_period,
    load_facts,
    published_periods,
    stored,
    trends,
)
from schedules.calendar import WorkCalendar
from schedules.rules import Rules


def live_trends(
    session: Session,
    rules: Rules,
    cal: WorkCalendar,
    today: dt.date,
    kind: str = "week",
    limit: int = 8,
    unit_id: int | None = None,
) -> dict[int, list[dict[str, Any]]]:
    """Published points per unit, oldest first, then the current period as it stands today
    (`"live": True`) unless it is published already or nothing in it is due yet for the unit."""
    out = trends(session, kind, limit, unit_id)
    for points in out.values():
        for p in points:
            p["live"] = False
    start, end = current_period(session, rules, kind, today)
    if stored(session, kind, start, end) is not None:
        return out
    board = compute(session, rules, cal, kind, start, end, today)
    for rows in board.groups.values():
        for r in rows:
            uid = int(r.unit_code)
            if unit_id is not None and uid != unit_id:
                continue
            out.setdefault(uid, []).append(
                {
                    "start": start.isoformat(),
                    "end": end.isoformat(),
                    "score": r.score,
                    "rank": r.rank,
                    "red": r.red,
                    "black": r.black,
                    "live": True,
                }
            )
    return out


@dataclass(frozen=True)
class Standing:
    kind: str  # "month": month to date; "year": year to date
    board: Board
    # What its movement compares with: the last published month for "month", the year to
    # the end of last month for "year"; None when there is nothing to compare with.
    compared: str | None


def _moved(board: Board, before: Board) -> Board:
    """`board` with each row's movement against its rank on `before` (None when absent)."""
    ranks = {r.unit_code: r.rank for rows in before.groups.values() for r in rows}
    groups = {
        g: [
            dataclasses.replace(
                r, movement=ranks[r.unit_code] - r.rank if r.unit_code in ranks else None
            )
            for r in rows
        ]
        for g, rows in board.groups.items()
    }
    return dataclasses.replace(board, groups=groups)


def standings(session: Session, rules: Rules, cal: WorkCalendar, today: dt.date) -> list[Standing]:
    """Month to date and year to date as of `today`: windows long enough for every unit to
    have something due, unlike most weeks."""
    month_start = today.replace(day=1)
    month = compute(session, rules, cal, "month", month_start, today, today)
    moved_month = any(r.movement is not None for rows in month.groups.values() for r in rows)
    year_start = today.replace(month=1, day=1)
    year = compute(session, rules, cal, "year", year_start, today, today)
    compared: str | None = None
    if month_start > year_start:
        last_month_end = month_start - dt.timedelta(days=1)
        before = compute(session, rules, cal, "year", year_start, last_month_end, last_month_end)
        year = _moved(year, before)
        compared = "last_month_end"
    return [
        Standing("month", month, "last_month" if moved_month else None),
        Standing("year", year, compared),
    ]


@dataclass(frozen=True)
class Thin:
    """A period with fewer than `Rules.thin_period_items` items due so far."""

    due: int
    last: tuple[str, dt.date, dt.date] | None  # the last published period of any kind


def thin_period(
    session: Session, rules: Rules, start: dt.date, end: dt.date, today: dt.date
) -> Thin | None:
    """None when enough is due in [start, end] by `today` for its ranking to be read."""
    until = min(end, today)
    due = sum(1 for f in load_facts(session, rules.tz, start, end) if f.deadline <= until)
    if due >= rules.thin_period_items:
        return None
    latest = published_periods(session, limit=1)
    return Thin(due, latest[0] if latest else None)


def published_on(
    session: Session, kind: str, start: dt.date, end: dt.date, tz: dt.tzinfo
) -> dt.date | None:
    """The local day a period was published (its snapshots' time), None if it was not."""
    at = session.scalar(
        select(func.min(RankingSnapshot.created_at)).where(
            RankingSnapshot.period_kind == kind,
            RankingSnapshot.period_start == start,
            RankingSnapshot.period_end == end,
        )
    )
    if at is None:
        return None
    if at.tzinfo is None:  # SQLite keeps no zone; stored times are UTC
        at = at.replace(tzinfo=dt.UTC)
    return at.astimezone(tz).date()
