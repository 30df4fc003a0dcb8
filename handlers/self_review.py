"""After a publication: each black-listed unit gets a 检视 item — its self-examination due
within `Rules.self_review_workdays` workdays — on the ledger like any item, so it has a light,
is nudged and scored; a unit black-listed in consecutive periods is flagged to the office
for 约谈 (interview). A red-listed unit can be asked for an 经验交流 note the same way."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from handlers.actions import supervision_units
from handlers.render import render
from models import Assignment, KeyWork, Task, Unit
from models.audit import audit
from models.outbox import enqueue_to_unit
from schedules.board import Board
from schedules.calendar import WorkCalendar
from schedules.interviews import INTERVIEW_STREAK
from schedules.rules import Rules

KEY_WORK = "黑榜检视整改"
EXPERIENCE_KEY_WORK = "红榜经验交流"


def _item(
    session: Session, key_work: str, unit: Unit, content: str, deadline: dt.date, now: dt.datetime
) -> Assignment | None:
    """A ledger item of `key_work` for `unit`, unless the same one exists (then None)."""
    kw = session.scalar(select(KeyWork).where(KeyWork.name == key_work))
    if kw is None:
        kw = KeyWork(name=key_work)
        session.add(kw)
        session.flush()
    exists = session.scalar(
        select(Assignment.id)
        .join(Task, Assignment.task_id == Task.id)
        .where(Task.key_work_id == kw.id, Task.content == content, Assignment.unit_id == unit.id)
    )
    if exists is not None:
        return None
    code = (session.scalar(select(func.max(Task.code))) or 0) + 1
    task = Task(code=code, key_work=kw, content=content, deadline=deadline, created_at=now)
    a = Assignment(task=task, unit=unit)
    session.add_all([task, a])
    session.flush()
    return a


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
    deadline = cal.add_workdays(today, rules.self_review_workdays)
    period = {"start": board.start, "end": board.end, "kind": board.kind}
    created = []
    flagged = []
    for r in (r for rows in board.groups.values() for r in rows if r.black):
        unit = board.units[r.unit_code]
        content = render("self_review_task", {**period, "row": r}, today=today)
        a = _item(session, KEY_WORK, unit, content, deadline, now)
        if a is None:
            continue
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


def ask_experience_note(
    session: Session,
    board: Board,
    unit: Unit,
    rules: Rules,
    cal: WorkCalendar,
    now: dt.datetime,
    today: dt.date,
    actor: str,
) -> Assignment | None:
    """Ask a red-listed unit of a published board for an 经验交流 note, due like a 检视
    item; None when it was asked already. ValueError when the unit is not on the red list."""
    row = board.row_for(unit.id)
    if not board.frozen or row is None or not row.red:
        raise ValueError(f"{unit.code} is not on a published red list of this period")
    period = {"start": board.start, "end": board.end, "kind": board.kind}
    content = render("experience_task", period, today=today)
    deadline = cal.add_workdays(today, max(rules.self_review_workdays, 1))
    a = _item(session, EXPERIENCE_KEY_WORK, unit, content, deadline, now)
    if a is None:
        return None
    audit(
        session,
        at=now,
        actor=actor,
        source=actor,
        action="experience_requested",
        entity="assignment",
        entity_id=a.id,
    )
    enqueue_to_unit(
        session,
        unit,
        dedupe_key=f"experience:{a.id}",
        content=render("notify_experience", {**period, "a": a}, today=today),
        now=now,
        source="experience",
    )
    return a
