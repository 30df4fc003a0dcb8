"""Thin jobs around the pure rules: load what they need, let them decide, and hand what is
due to collaborators the process wiring injects (the notices that render and enqueue it).

Nothing here knows how a message reads or how it is delivered.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from models import OPEN_STATUSES, Assignment, KeyWork, Setting, Task, Unit
from schedules.board import Board, last_published_end, publish
from schedules.calendar import WorkCalendar
from schedules.duties import Materialized, materialize
from schedules.periods import due_month, due_week
from schedules.plan import Milestone, effective_plan, milestone_dates
from schedules.reminders import (
    Item,
    Nudge,
    Sent,
    dropped_slots,
    passed_slots,
    reminders_due,
)
from schedules.rules import Rules

log = logging.getLogger(__name__)
LAST_TICK = "scheduler.last_tick"

# (session, nudges due, now) -> what was enqueued; renders and writes outbox rows.
NotifyNudges = Callable[[Session, list[Nudge], dt.datetime], list[Sent]]
# (session, published board, now) -> group messages queued.
Broadcast = Callable[[Session, Board, dt.datetime], int]


def load_items(session: Session, rules: Rules, cal: WorkCalendar) -> list[Item]:
    """Every open ledger row as plain data, in one query (no ORM objects: 100k rows load fast)."""
    rows = session.execute(
        select(
            Assignment.id,
            Assignment.percent,
            Assignment.deadline_override,
            Assignment.period_deadline,
            Task.id,
            Task.code,
            Task.content,
            Task.deadline,
            Task.plan,
            Task.recurrence,
            KeyWork.name,
            Unit.code,
        )
        .join(Task, Assignment.task_id == Task.id)
        .join(KeyWork, Task.key_work_id == KeyWork.id)
        .join(Unit, Assignment.unit_id == Unit.id)
        .where(Assignment.status.in_(OPEN_STATUSES))
        .order_by(Assignment.id)
    )
    plans: dict[tuple[dt.date, int], tuple[Milestone, ...]] = {}
    items = []
    for row in rows:
        a_id, percent, override, period_deadline, task_id, code, content = row[:7]
        task_deadline, plan, recurrence, work, unit = row[7:]
        deadline = override or period_deadline or task_deadline
        key = (deadline, task_id)
        if key not in plans:
            # An occurrence of a recurring duty is too short for a backward plan.
            steps = () if recurrence else effective_plan(plan, work, rules.plans)
            plans[key] = tuple(milestone_dates(deadline, steps, cal))
        every = str((recurrence or {}).get("every") or "")
        items.append(Item(a_id, code, content, unit, deadline, percent or 0, plans[key], every))
    return items


def run_due(
    sessions: sessionmaker[Session],
    rules: Rules,
    cal: WorkCalendar,
    now: dt.datetime,
    notify: NotifyNudges,
    *,
    dry_run: bool = False,
) -> list[Sent]:
    """Every reminder rule as of `now`: hand what is due and not yet sent to `notify`.

    A concurrent run (a second scheduler during a lease hand-over, or `duban tick` while the
    scheduler runs) may insert the same keys first: the unique key refuses ours, and the
    pass is redone once, finding them sent.
    """
    local = rules.local(now)
    if not passed_slots(local, rules, cal):
        return []  # a non-workday, quiet hours, or before the first slot: nothing to load
    for attempt in (1, 2):
        try:
            return _run_once(sessions, rules, cal, now, local, notify, dry_run)
        except IntegrityError:
            if attempt == 2:
                raise
            log.info("reminder pass at %s raced another run; redoing it", local.isoformat())
    raise AssertionError("unreachable")


def _run_once(
    sessions: sessionmaker[Session],
    rules: Rules,
    cal: WorkCalendar,
    now: dt.datetime,
    local: dt.datetime,
    notify: NotifyNudges,
    dry_run: bool,
) -> list[Sent]:
    with sessions() as session:
        if not dry_run:  # today's occurrence of each recurring duty is nudged like any row
            materialize(session, local.date(), rules, cal)
        items = load_items(session, rules, cal)
        nudges = reminders_due(items, local, rules, cal)
        if dry_run:
            return [Sent(n, False) for n in nudges]
        sent = notify(session, nudges, now.astimezone(dt.UTC))
        _note_tick(session, local, rules, cal)
        session.commit()
    for s in sent:
        if s.enqueued:
            log.info("nudge %s: %s item(s)", s.nudge.key, len(s.nudge.lines))
    return sent


def materialize_due(
    sessions: sessionmaker[Session], rules: Rules, cal: WorkCalendar, now: dt.datetime
) -> list[Materialized]:
    """The occurrence rows of recurring duties for today (local), each made once."""
    with sessions() as session:
        made = materialize(session, rules.local_day(now), rules, cal)
        session.commit()
    for m in made:
        log.info("recurring #%s: occurrence %s due %s", m.task_code, m.key, m.deadline)
    return made


def publish_due(
    sessions: sessionmaker[Session],
    rules: Rules,
    cal: WorkCalendar,
    now: dt.datetime,
    broadcast: Broadcast,
) -> int:
    """At `ranking_time`: on the ranking weekday the weekly window that ended yesterday, and
    on a month's first workday the previous month; each published and broadcast once. A
    holiday skips the weekly publication and the next one covers both weeks."""
    local = rules.local(now)
    day = local.date()
    if local.time() < rules.ranking_time or rules.quiet(local.time()):
        return 0  # (a bot back after a late outage publishes on the next workday, not at night)
    due: list[tuple[str, dt.date, dt.date]] = []
    sent = 0
    with sessions() as session:
        if local.isoweekday() == rules.ranking_weekday:
            if not cal.is_workday(day):
                log.info("ranking day %s is a holiday: no weekly broadcast", day)
            elif (week := due_week(day, last_published_end(session, "week"))) is not None:
                due.append(("week", *week))
        month = due_month(day, cal, last_published_end(session, "month"))
        if month is not None:
            due.append(("month", *month))
    for kind, start, end in due:
        with sessions() as session:
            board = publish(session, rules, cal, kind, start, end, day, now)
            n = broadcast(session, board, now)
            session.commit()
        if n:
            log.info("%s ranking %s..%s broadcast to %s groups", kind, start, end, n)
        sent += n
    return sent


def _note_tick(session: Session, local: dt.datetime, rules: Rules, cal: WorkCalendar) -> None:
    """Remember the last pass; log the slots of earlier days missed while the bot was down."""
    row = session.get(Setting, LAST_TICK)
    if row is None:
        session.add(Setting(key=LAST_TICK, value=local.isoformat()))
        return
    last = dt.datetime.fromisoformat(row.value).astimezone(local.tzinfo)
    if last >= local:
        return  # `duban tick --at` an earlier moment: the record only moves forward
    dropped = dropped_slots(last, local, rules, cal)
    if dropped:
        log.warning(
            "scheduler did not run from %s to %s: %s slot(s) of earlier days dropped, not "
            "sent late (%s)",
            last.isoformat(timespec="minutes"),
            local.isoformat(timespec="minutes"),
            len(dropped),
            ", ".join(f"{d:%m-%d %H:%M}" for d in dropped),
        )
    row.value = local.isoformat()
