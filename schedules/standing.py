"""Trends that end with the live (unpublished) period, so a unit's line has the week it is
in, not only the weeks already published."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from schedules.board import compute, current_period, stored, trends
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
