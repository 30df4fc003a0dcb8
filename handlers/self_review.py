"""After a publication: each black-listed unit gets a 检视 item — its self-examination due
within `Rules.self_review_workdays` workdays — on the ledger like any item, so it has a light,
is nudged and scored; a unit black-listed in consecutive periods is flagged to the office
for 约谈 (interview)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from handlers.actions import supervision_units
from handlers.render import render
from models import Assignment, KeyWork, Task
from models.audit import audit
from models.outbox import enqueue_to_unit
from schedules.board import Board
from schedules.calendar import WorkCalendar
from schedules.rules import Rules

KEY_WORK = "黑榜检视整改"
# From this many consecutive black listings the office is asked to hold a 约谈.
INTERVIEW_STREAK = 2


def assign_self_reviews(
    session: Session,
    board: Board,
    rules: Rules,
    cal: WorkCalendar,
    now: dt.datetime,
    today: dt.date,
) -> list[Assignment]:
    """Create (once per unit and period) the 检视 items of a published board's black list."""
    if rules.self_review_workdays <= 0 or not board.frozen:
        return []
    black = [r for rows in board.groups.values() for r in rows if r.black]
    if not black:
        return []
    kw = session.scalar(select(KeyWork).where(KeyWork.name == KEY_WORK))
    if kw is None:
        kw = KeyWork(name=KEY_WORK)
        session.add(kw)
        session.flush()
    deadline = cal.add_workdays(today, rules.self_review_workdays)
    period = {"start": board.start, "end": board.end, "kind": board.kind}
    created = []
    flagged = []
    for r in black:
        unit = board.units[r.unit_code]
        content = render("self_review_task", {**period, "row": r}, today=today)
        exists = session.scalar(
            select(Assignment.id)
            .join(Task, Assignment.task_id == Task.id)
            .where(
                Task.key_work_id == kw.id, Task.content == content, Assignment.unit_id == unit.id
            )
        )
        if exists is not None:
            continue
        code = (session.scalar(select(func.max(Task.code))) or 0) + 1
        task = Task(code=code, key_work=kw, content=content, deadline=deadline, created_at=now)
        a = Assignment(task=task, unit=unit)
        session.add_all([task, a])
        session.flush()
        audit(
            session,
            at=now,
            actor="scheduler",
            source=f"rank:{board.kind}:{board.start.isoformat()}",
            action="self_review_assigned",
            entity="assignment",
            entity_id=a.id,
            black_streak=r.black_streak,
        )
        enqueue_to_unit(
            session,
            unit,
            dedupe_key=f"self-review:{a.id}",
            content=render("notify_self_review", {**period, "a": a, "row": r}, today=today),
            now=now,
            source="self_review",
        )
        created.append(a)
        if r.black_streak >= INTERVIEW_STREAK:
            flagged.append((unit, r.black_streak))
    if flagged:
        text = render("notify_interview_flag", {**period, "flagged": flagged}, today=today)
        for office in supervision_units(session):
            enqueue_to_unit(
                session,
                office,
                dedupe_key=f"interview:{board.kind}:{board.start.isoformat()}:{office.code}",
                content=text,
                now=now,
                source="self_review",
            )
    return created
