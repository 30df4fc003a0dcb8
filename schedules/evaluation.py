"""What a period's 通报 reports besides the ranking: completion by key work and the items
still overdue, judged by `schedules.judge` as everywhere else."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import CLOSED, OPEN_STATUSES, REPORTED, Assignment, KeyWork, Task, Unit
from schedules.calendar import WorkCalendar
from schedules.judge import Facts, late_workdays, score
from schedules.rules import Rules


@dataclass(frozen=True)
class KeyWorkLine:
    name: str
    due: int  # items due in the period by the evaluation day
    on_time: int
    late: int  # done, but late
    open_overdue: int

    @property
    def done(self) -> int:
        return self.on_time + self.late

    @property
    def rate(self) -> float:
        """Share done (on time or late), in percent."""
        return round(100 * self.done / self.due, 1) if self.due else 0.0


@dataclass(frozen=True)
class OverdueItem:
    task_code: int
    content: str
    key_work: str
    unit_name: str
    deadline: dt.date
    workdays: int


def key_work_completion(
    session: Session,
    rules: Rules,
    cal: WorkCalendar,
    start: dt.date,
    end: dt.date,
    as_of: dt.date,
) -> list[KeyWorkLine]:
    """Per key work, the items due in [start, end] by `as_of`: done on time, late, or open."""
    deadline = func.coalesce(Assignment.deadline_override, Task.deadline)
    rows = session.execute(
        select(KeyWork.name, deadline, Assignment.status, Assignment.reported_at)
        .join(Task, Assignment.task_id == Task.id)
        .join(KeyWork, Task.key_work_id == KeyWork.id)
        .where(deadline >= start, deadline <= end)
        .order_by(KeyWork.id)
    )
    counts: dict[str, list[int]] = {}
    for name, due, status, reported in rows:
        done_on = rules.local_day(reported) if status in (REPORTED, CLOSED) and reported else None
        # As the scorer judges: an open item no later than the day after the period.
        on = as_of if done_on is not None else min(as_of, end + dt.timedelta(days=1))
        judged = score(Facts(due, done_on=done_on), on, rules, cal)
        if judged is None:
            continue  # not yet due
        c = counts.setdefault(name, [0, 0, 0, 0])
        c[0] += 1
        if judged.overdue:
            c[3] += 1
        elif judged.late_workdays:
            c[2] += 1
        else:
            c[1] += 1
    return [KeyWorkLine(name, *c) for name, c in counts.items()]


def overdue_items(session: Session, cal: WorkCalendar, today: dt.date) -> list[OverdueItem]:
    """Open items past their deadline today, the longest overdue first."""
    deadline = func.coalesce(Assignment.deadline_override, Task.deadline)
    rows = session.execute(
        select(Task.code, Task.content, KeyWork.name, Unit.name, deadline)
        .join(Task, Assignment.task_id == Task.id)
        .join(KeyWork, Task.key_work_id == KeyWork.id)
        .join(Unit, Assignment.unit_id == Unit.id)
        .where(Assignment.status.in_(OPEN_STATUSES), deadline < today)
    )
    out = [
        OverdueItem(code, content, work, unit, due, late_workdays(due, today, cal))
        for code, content, work, unit, due in rows
    ]
    out.sort(key=lambda x: (-x.workdays, x.task_code, x.unit_name))
    return out
