"""Which units are due a 约谈 (interview): black-listed in consecutive published periods,
and whether one has been held since. Read from the frozen snapshots and the audit trail,
so the dashboard, the CLI and the flag sent after a publication agree."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import AuditLog, RankingSnapshot, Unit

# From this many consecutive black listings the office is asked to hold a 约谈.
INTERVIEW_STREAK = 2
HELD = "interview_held"


@dataclass(frozen=True)
class Held:
    unit: Unit
    held_on: dt.date
    who: str
    note: str
    actor: str
    at: dt.datetime


@dataclass(frozen=True)
class Flag:
    unit: Unit
    kind: str  # the published period that flagged it: week|month
    start: dt.date
    end: dt.date
    streak: int
    published_on: dt.date  # local day the period was published
    held: Held | None  # the 约谈 recorded on or after the publication day, if any


def interviews_held(session: Session, limit: int | None = None) -> list[Held]:
    """Every recorded 约谈, newest first."""
    q = (
        select(AuditLog)
        .where(AuditLog.action == HELD, AuditLog.entity == "unit")
        .order_by(AuditLog.at.desc(), AuditLog.id.desc())
    )
    if limit:
        q = q.limit(limit)
    rows = session.scalars(q).all()
    units = {u.id: u for u in session.scalars(select(Unit))}
    return [
        Held(
            units[r.entity_id],
            dt.date.fromisoformat(r.detail["held_on"]),
            str(r.detail.get("who", "")),
            str(r.detail.get("note", "")),
            r.actor,
            r.at,
        )
        for r in rows
        if r.entity_id in units
    ]


def _local_day(moment: dt.datetime, tz: dt.tzinfo) -> dt.date:
    if moment.tzinfo is None:  # SQLite keeps no zone; stored times are UTC
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(tz).date()


def interview_flags(session: Session, tz: dt.tzinfo) -> list[Flag]:
    """Per unit, its latest published period with a black streak of `INTERVIEW_STREAK` or
    more; open flags (no 约谈 held since that publication) first, then newest period first.
    A 约谈 held for an earlier streak does not settle a later publication's flag."""
    snaps = session.scalars(
        select(RankingSnapshot).order_by(RankingSnapshot.period_end, RankingSnapshot.id)
    ).all()
    latest: dict[int, RankingSnapshot] = {}
    for s in snaps:
        if int(s.details.get("black_streak", 0)) >= INTERVIEW_STREAK:
            latest[s.unit_id] = s  # ordered by period end: the last one wins
    held = interviews_held(session)
    flags = []
    for s in latest.values():
        published = _local_day(s.created_at, tz)
        after = [h for h in held if h.unit.id == s.unit_id and h.held_on >= published]
        flags.append(
            Flag(
                s.unit,
                s.period_kind,
                s.period_start,
                s.period_end,
                int(s.details["black_streak"]),
                published,
                min(after, key=lambda h: h.held_on) if after else None,
            )
        )
    flags.sort(key=lambda f: (f.held is not None, -f.end.toordinal(), f.unit.code))
    return flags
