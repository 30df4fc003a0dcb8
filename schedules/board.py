"""Rankings from the ledger: the period asked for, its board computed or as published, and
frozen snapshots. Scoring itself is pure (`schedules.scoring`); this loads its facts."""

from __future__ import annotations

import datetime as dt
import logging
import math
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import (
    CLOSED,
    REPORTED,
    Assignment,
    Extension,
    KeyWork,
    RankingSnapshot,
    Task,
    Unit,
)
from schedules.calendar import WorkCalendar
from schedules.periods import (
    calendar_month,
    calendar_week,
    due_week,
    open_week,
    previous_month,
    publication_day,
)
from schedules.rules import SCORING_MODES, Rules
from schedules.scoring import Fact, Lost, RankRow, rank_all, unit_scores
from schedules.spot_check import apply_penalties, load_penalties

log = logging.getLogger(__name__)


class PeriodError(ValueError):
    """A period asked for that cannot be ranked; `problem` says why (worded by the
    `period_error` template), `data` carries what was given."""

    def __init__(self, problem: str, **data: object) -> None:
        super().__init__(problem)
        self.problem = problem
        self.data = data


def period_bounds(kind: str, day: dt.date) -> tuple[dt.date, dt.date]:
    """The calendar week (Monday–Sunday) or month containing `day`."""
    if kind == "week":
        return calendar_week(day)
    if kind == "month":
        return calendar_month(day)
    raise ValueError(f"unknown period {kind!r}")


def last_published_end(session: Session, kind: str) -> dt.date | None:
    return session.scalar(
        select(func.max(RankingSnapshot.period_end)).where(RankingSnapshot.period_kind == kind)
    )


def current_period(
    session: Session, rules: Rules, kind: str, today: dt.date
) -> tuple[dt.date, dt.date]:
    """The period not yet published that `today` falls in: the open weekly window (the one
    the next weekly publication judges) or the calendar month."""
    if kind == "week":
        start, end, _ = open_week(today, rules.ranking_weekday, last_published_end(session, "week"))
        return start, end
    return period_bounds(kind, today)


def choose_period(
    session: Session,
    rules: Rules,
    today: dt.date,
    kind: str | None = None,
    start: str | None = None,
    end: str | None = None,
) -> tuple[str, dt.date, dt.date]:
    """The period a user asks for: the current week (default) or month, or a range given by
    its first and last day (`kind` "custom" unless named). ValueError says what is wrong."""
    if kind not in (None, "week", "month", "custom"):
        raise PeriodError("unknown_kind", kind=kind)
    if start or end:
        if not (start and end):
            raise PeriodError("half_range")
        try:
            first, last = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
        except ValueError:
            raise PeriodError("bad_date", start=start, end=end) from None
        if first > last:
            raise PeriodError("reversed")
        if first.year < 2000 or last.year > 2100 or (last - first).days > 3660:
            raise PeriodError("out_of_range")
        return kind or "custom", first, last
    if kind == "custom":
        raise PeriodError("custom_needs_range")
    kind = kind or "week"
    return (kind, *current_period(session, rules, kind, today))


def board_for(
    session: Session,
    rules: Rules,
    cal: WorkCalendar,
    kind: str,
    start: dt.date,
    end: dt.date,
    today: dt.date,
) -> Board:
    """A published period exactly as published (whatever kind the asker named for its dates);
    any other computed as of today."""
    for k in dict.fromkeys((kind, "week", "month")):
        if (board := stored(session, k, start, end)) is not None:
            return board
    return compute(session, rules, cal, kind, start, end, today)


def published_periods(session: Session, limit: int = 12) -> list[tuple[str, dt.date, dt.date]]:
    """The latest published weeks and months, newest first."""
    q = (
        select(
            RankingSnapshot.period_kind, RankingSnapshot.period_start, RankingSnapshot.period_end
        )
        .distinct()
        .order_by(RankingSnapshot.period_end.desc(), RankingSnapshot.period_kind)
        .limit(limit)
    )
    return [(k, a, b) for k, a, b in session.execute(q)]


def load_facts(
    session: Session, tz: dt.tzinfo, start: dt.date | None = None, end: dt.date | None = None
) -> list[Fact]:
    """Ledger rows due in [start, end] as plain facts: one query, no ORM objects, so a
    county's whole history ranks in well under a second."""
    deadline = func.coalesce(
        Assignment.deadline_override, Assignment.period_deadline, Task.deadline
    )
    extended = (
        select(Extension.id)
        .where(Extension.assignment_id == Assignment.id, Extension.status == "approved")
        .exists()
    )
    q = (
        select(
            Assignment.id,
            Task.code,
            Assignment.unit_id,
            Task.weight,
            deadline,
            Assignment.status,
            Assignment.reported_at,
            extended,
            KeyWork.name,
            KeyWork.weight,
            Task.target_value,
            Task.recurrence,
            Assignment.value,
            Assignment.count,
            Assignment.percent,
            KeyWork.scoring,
        )
        .join(Assignment.task)
        .join(Task.key_work)
    )
    if start is not None and end is not None:
        q = q.where(deadline >= start, deadline <= end)
    facts = []
    for row in session.execute(q):
        aid, code, unit_id, weight, due, status, reported, ext = row[:8]
        work, work_weight, target, recurrence, value, count, percent, mode = row[8:]
        is_done = status in (REPORTED, CLOSED)
        done = reported if is_done else None
        weight = _finite_weight(weight, f"task #{code}")
        work_weight = _finite_weight(work_weight, f"key work {work} (task #{code})")
        facts.append(
            Fact(
                aid,
                code,
                str(unit_id),
                weight,
                due,
                done.astimezone(tz).date() if done else None,
                bool(ext),
                work,
                work_weight,
                attained(target, recurrence, value, count, percent, is_done),
                mode if mode in SCORING_MODES else None,
            )
        )
    return facts


def _finite_weight(weight: float, what: str) -> float:
    """A stored weight as the ranking may use it. Imports refuse weights that are not finite
    or negative, but one stored before they did (or written by hand) would rank its unit
    first with a NaN score: it counts as the default 1 instead, and the log says which."""
    if math.isfinite(weight) and weight >= 0:
        return weight
    log.warning("stored weight %r of %s is not usable; ranked with weight 1", weight, what)
    return 1.0


def attained(
    target: float | None,
    recurrence: dict[str, Any] | None,
    value: float | None,
    count: int | None,
    percent: int | None,
    done: bool,
) -> float | None:
    """Reached / target of a row: its value against a quantified target, or its count
    against a recurring duty's times (a done claim without counts reached them); None
    when there is nothing to reach. Without a reported value, the percent stands in."""
    if target is not None and target > 0:
        return value / target if value is not None else (percent or 0) / 100
    if recurrence:
        times = int(recurrence.get("times") or 1)
        return 1.0 if done and not count else (count or 0) / times
    return None


@dataclass(frozen=True)
class Board:
    kind: str
    start: dt.date
    end: dt.date
    groups: dict[str, list[RankRow]]
    units: dict[str, Unit]  # by unit id as text
    frozen: bool  # read from a stored snapshot

    def row_for(self, unit_id: int) -> RankRow | None:
        for rows in self.groups.values():
            for r in rows:
                if r.unit_code == str(unit_id):
                    return r
        return None


def _previous(session: Session, kind: str, start: dt.date) -> dict[str, tuple[int, int]]:
    last_end = session.scalar(
        select(func.max(RankingSnapshot.period_end)).where(
            RankingSnapshot.period_kind == kind, RankingSnapshot.period_end < start
        )
    )
    if last_end is None:
        return {}
    snaps = session.scalars(
        select(RankingSnapshot).where(
            RankingSnapshot.period_kind == kind, RankingSnapshot.period_end == last_end
        )
    )
    return {str(s.unit_id): (s.rank, int(s.details.get("black_streak", 0))) for s in snaps}


def compute(
    session: Session,
    rules: Rules,
    cal: WorkCalendar,
    kind: str,
    start: dt.date,
    end: dt.date,
    as_of: dt.date,
) -> Board:
    units = {str(u.id): u for u in session.scalars(select(Unit))}
    facts = load_facts(session, rules.tz, start, end)
    scores = unit_scores(facts, start, end, as_of, rules, cal)
    # Spot-check deductions, additive to the items' scores.
    penalties = load_penalties(session, rules.tz, start, end, as_of)
    scores = apply_penalties(scores, penalties, rules.score_on_time)
    groups = rank_all(
        scores,
        {k: u.kind for k, u in units.items()},
        rules,
        _previous(session, kind, start),
        {k: u.code for k, u in units.items()},
    )
    return Board(kind, start, end, groups, units, frozen=False)


def compute_live(session: Session, rules: Rules, cal: WorkCalendar, today: dt.date) -> Board:
    """The weekly window the next publication judges, as it stands today (not frozen): for
    `排名` in chat."""
    start, end = current_period(session, rules, "week", today)
    return compute(session, rules, cal, "week", start, end, today)


def stored(session: Session, kind: str, start: dt.date, end: dt.date) -> Board | None:
    """A published period, exactly as it was published."""
    snaps = session.scalars(
        select(RankingSnapshot)
        .where(
            RankingSnapshot.period_kind == kind,
            RankingSnapshot.period_start == start,
            RankingSnapshot.period_end == end,
        )
        .order_by(RankingSnapshot.group, RankingSnapshot.rank)
    ).all()
    if not snaps:
        return None
    units = {str(u.id): u for u in session.scalars(select(Unit))}
    groups: dict[str, list[RankRow]] = {"township": [], "department": []}
    for s in snaps:
        d = s.details
        groups[s.group].append(
            RankRow(
                str(s.unit_id),
                s.group,
                s.score,
                s.rank,
                d.get("movement"),
                d.get("red", False),
                d.get("black", False),
                d.get("black_streak", 0),
                tuple(cast("list[Lost]", d.get("lost", ()))),
                tuple((str(n), float(v)) for n, v in d.get("by_work", ())),
            )
        )
    for rows in groups.values():  # ties in a stable order: by unit code
        rows.sort(key=lambda r: (r.rank, units[r.unit_code].code))
    return Board(kind, start, end, groups, units, frozen=True)


def publish(
    session: Session,
    rules: Rules,
    cal: WorkCalendar,
    kind: str,
    start: dt.date,
    end: dt.date,
    as_of: dt.date,
    now: dt.datetime,
) -> Board:
    """Freeze a period: later data never changes a published ranking."""
    existing = stored(session, kind, start, end)
    if existing is not None:
        return existing
    board = compute(session, rules, cal, kind, start, end, as_of)
    for rows in board.groups.values():
        for r in rows:
            session.add(
                RankingSnapshot(
                    period_kind=kind,
                    period_start=start,
                    period_end=end,
                    unit_id=int(r.unit_code),
                    group=r.group,
                    score=r.score,
                    rank=r.rank,
                    created_at=now,
                    details={
                        "movement": r.movement,
                        "red": r.red,
                        "black": r.black,
                        "black_streak": r.black_streak,
                        "lost": list(r.lost),
                        "by_work": [list(x) for x in r.by_work],
                    },
                )
            )
    session.flush()
    return stored(session, kind, start, end) or board


def backfill(
    session: Session, rules: Rules, cal: WorkCalendar, now: dt.datetime, weeks: int = 6
) -> int:
    """Freeze the weekly windows of the last `weeks` ranking days and the previous month,
    each as of its publication day, broadcasting nothing: the demo county's history, so
    movement and trends show on the first day. Returns the periods frozen."""
    today = rules.local_day(now)
    weekday = rules.ranking_weekday
    day = publication_day(today - dt.timedelta(days=7 * weeks), weekday)
    periods: list[tuple[str, dt.date, dt.date]] = []
    while day < today:
        window = due_week(day, last_published_end(session, "week"))
        if window is not None:
            publish(session, rules, cal, "week", *window, day, now)
            periods.append(("week", *window))
        day += dt.timedelta(days=7)
    month = previous_month(today)
    publish(session, rules, cal, "month", *month, month[1] + dt.timedelta(days=1), now)
    periods.append(("month", *month))
    # A period with nothing due stores no rows: count what was frozen.
    return sum(stored(session, *p) is not None for p in periods)


def trends(
    session: Session, kind: str = "week", limit: int = 12, unit_id: int | None = None
) -> dict[int, list[dict[str, Any]]]:
    """Published scores and ranks per unit over the last `limit` periods, oldest first."""
    recent = (
        select(RankingSnapshot.period_start)
        .where(RankingSnapshot.period_kind == kind)
        .distinct()
        .order_by(RankingSnapshot.period_start.desc())
        .limit(limit)
    )
    starts = list(session.scalars(recent))
    q = (
        select(RankingSnapshot)
        .where(RankingSnapshot.period_kind == kind, RankingSnapshot.period_start.in_(starts))
        .order_by(RankingSnapshot.period_start)
    )
    if unit_id is not None:
        q = q.where(RankingSnapshot.unit_id == unit_id)
    out: dict[int, list[dict[str, Any]]] = {}
    for s in session.scalars(q):
        out.setdefault(s.unit_id, []).append(
            {
                "start": s.period_start.isoformat(),
                "end": s.period_end.isoformat(),
                "score": s.score,
                "rank": s.rank,
                "red": s.details.get("red", False),
                "black": s.details.get("black", False),
            }
        )
    return out


def trend(
    session: Session, unit_id: int, kind: str = "week", limit: int = 12
) -> list[dict[str, Any]]:
    """A unit's published scores and ranks, oldest first."""
    return trends(session, kind, limit, unit_id).get(unit_id, [])
