"""Recurring duties become ledger rows: for each unit of a recurring task, the row of the
occurrence running today (or the next one, out of season) exists exactly once.

Run from the scheduler (and after an import): idempotent by the unique key (task, unit,
period), so a second scheduler in a lease hand-over, or a run twice a minute, adds nothing.
Past occurrences stay as they were, each judged and scored against its own deadline.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import Assignment, Task
from schedules.calendar import WorkCalendar
from schedules.recurrence import Occurrence, Recurrence, RecurrenceError, current_or_next
from schedules.rules import Rules

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Materialized:
    task_code: int
    unit_id: int
    key: str
    deadline: dt.date
    created: bool  # False: an unscheduled row (as imported) took the occurrence


def next_occurrence(
    task: Task, today: dt.date, rules: Rules, cal: WorkCalendar
) -> Occurrence | None:
    """The occurrence of a recurring task running on `today`, else its next; None for a
    one-off task or a rule that cannot be read (logged, never guessed)."""
    if not task.recurrence:
        return None
    try:
        rec = Recurrence.from_json(task.recurrence)
        return current_or_next(rec, today, cal, rules.seasons)
    except RecurrenceError as exc:
        log.warning("task #%s: recurrence %r not read: %s", task.code, task.recurrence, exc)
        return None


def materialize(
    session: Session, today: dt.date, rules: Rules, cal: WorkCalendar
) -> list[Materialized]:
    """Make today's occurrence row of every recurring task for each of its units.

    Three small queries whatever the history: the recurring tasks, their (task, unit)
    pairs, and the rows already holding today's keys or none yet ("" as imported)."""
    tasks = session.scalars(
        select(Task).where(Task.recurrence.is_not(None)).order_by(Task.code)
    ).all()
    due = {t.id: (t, occ) for t in tasks if (occ := next_occurrence(t, today, rules, cal))}
    if not due:
        return []
    pairs = session.execute(
        select(Assignment.task_id, Assignment.unit_id)
        .where(Assignment.task_id.in_(due))
        .distinct()
        .order_by(Assignment.task_id, Assignment.unit_id)
    ).all()
    keys = {occ.key for _, occ in due.values()} | {""}
    rows: dict[tuple[int, int], list[Assignment]] = {}
    for a in session.scalars(
        select(Assignment)
        .where(Assignment.task_id.in_(due), Assignment.period.in_(keys))
        .order_by(Assignment.id)
    ):
        rows.setdefault((a.task_id, a.unit_id), []).append(a)
    done: list[Materialized] = []
    for task_id, unit_id in pairs:
        task, occ = due[task_id]
        have = rows.get((task_id, unit_id), [])
        if any(a.period == occ.key for a in have):
            continue
        blank = next((a for a in have if a.period == ""), None)
        if blank is not None:  # a row as imported or created: it becomes this occurrence
            blank.period, blank.period_deadline = occ.key, occ.deadline
            done.append(Materialized(task.code, unit_id, occ.key, occ.deadline, False))
            continue
        try:
            with session.begin_nested():
                session.add(
                    Assignment(
                        task_id=task_id,
                        unit_id=unit_id,
                        period=occ.key,
                        period_deadline=occ.deadline,
                    )
                )
        except IntegrityError:  # a concurrent run made it first
            continue
        done.append(Materialized(task.code, unit_id, occ.key, occ.deadline, True))
    session.flush()
    return done
