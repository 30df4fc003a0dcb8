"""The ledger (台账) as rows with derived lights, shared by chat, CLI, web and API."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from models import CLOSED, LEAD_STAGE, REPORTED, Assignment, Task, Unit
from schedules.calendar import WorkCalendar
from schedules.judge import Facts, Reason, Standing, score, standing
from schedules.plan import Milestone, effective_plan, milestone_dates
from schedules.rules import Rules

AWAITING_LEAD_REVIEW = "awaiting_lead_review"
LIGHT_ORDER = {"red": 0, "yellow": 1, "green": 2, "done": 3}


@dataclass(frozen=True)
class LedgerRow:
    assignment_id: int
    task_code: int
    key_work: str
    content: str
    lead_unit: str
    unit_code: str
    unit_name: str
    unit_kind: str
    status: str
    status_label: str
    percent: int
    deadline: dt.date
    light: Standing
    milestones: tuple[Milestone, ...]
    # A recurring duty's occurrence ("2026-06"); "" for a one-off task.
    period: str = ""
    # A reported or closed item judged as the scorer judges it: on time, or how late and
    # what that cost (points lost), so a late completion does not read like a timely one.
    finish: Reason | None = None
    finish_lost: float = 0.0

    @property
    def ref(self) -> str:
        return f"#{self.task_code}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "assignment_id": self.assignment_id,
            "task": self.ref,
            "task_code": self.task_code,
            "key_work": self.key_work,
            "content": self.content,
            "lead_unit": self.lead_unit,
            "unit_code": self.unit_code,
            "unit_name": self.unit_name,
            "unit_kind": self.unit_kind,
            "status": self.status,
            "status_label": self.status_label,
            "percent": self.percent,
            "deadline": self.deadline.isoformat(),
            "light": self.light.color,
            "reason": {
                "kind": self.light.reason.kind,
                "date": self.light.reason.date.isoformat() if self.light.reason.date else None,
                "workdays": self.light.reason.workdays,
                "milestone": self.light.reason.milestone,
            },
            "period": self.period,
            "milestones": [
                {"name": m.name, "date": m.date.isoformat(), "percent": m.percent}
                for m in self.milestones
            ],
        }


def row_for(
    a: Assignment,
    today: dt.date,
    cal: WorkCalendar,
    rules: Rules,
) -> LedgerRow:
    deadline = a.deadline
    # An occurrence of a recurring duty is too short for a backward plan: none applies.
    plan = () if a.period else effective_plan(a.task.plan, a.task.key_work.name, rules.plans)
    milestones = tuple(milestone_dates(deadline, plan, cal))
    status = {REPORTED: "reported", CLOSED: "closed"}.get(a.status, "open")
    lit = standing(Facts(deadline, status, a.percent, milestones), today, rules, cal)
    if status == "reported" and a.review_stage == LEAD_STAGE:
        lit = replace(lit, reason=Reason(AWAITING_LEAD_REVIEW))  # not the office's turn yet
    finish, lost = None, 0.0
    if status != "open" and a.reported_at is not None:
        extended = any(e.status == "approved" for e in a.extensions)
        done_on = rules.local_day(a.reported_at)
        judged = score(Facts(deadline, done_on=done_on, extended=extended), done_on, rules, cal)
        if judged is not None:
            finish, lost = judged.reason, rules.score_on_time - judged.value
    return LedgerRow(
        assignment_id=a.id,
        task_code=a.task.code,
        key_work=a.task.key_work.name,
        content=a.task.content,
        lead_unit=a.task.lead_unit.name if a.task.lead_unit else "",
        unit_code=a.unit.code,
        unit_name=a.unit.name,
        unit_kind=a.unit.kind,
        status=a.status,
        status_label=a.status_label,
        percent=a.percent,
        deadline=deadline,
        light=lit,
        milestones=milestones,
        period=a.period,
        finish=finish,
        finish_lost=lost,
    )


def ledger_rows(
    session: Session,
    *,
    today: dt.date,
    cal: WorkCalendar,
    rules: Rules,
    unit_code: str | None = None,
    open_only: bool = False,
    light_filter: str | None = None,
    task_code: int | None = None,
    status: str | None = None,
) -> list[LedgerRow]:
    """Ledger rows, worst light first, then by deadline and task code."""
    q = (
        select(Assignment)
        .join(Assignment.task)
        .join(Assignment.unit)
        .options(
            joinedload(Assignment.task).joinedload(Task.key_work),
            joinedload(Assignment.task).joinedload(Task.lead_unit),
            joinedload(Assignment.unit),
        )
    )
    if unit_code:
        q = q.where(Unit.code == unit_code)
    if task_code is not None:
        q = q.where(Task.code == task_code)
    if status is not None:
        q = q.where(Assignment.status == status)
    rows = [row_for(a, today, cal, rules) for a in session.scalars(q).unique()]
    if open_only:
        rows = [r for r in rows if r.light.color != "done"]
    if light_filter:
        rows = [r for r in rows if r.light.color == light_filter]
    rows.sort(key=lambda r: (LIGHT_ORDER[r.light.color], r.deadline, r.task_code, r.unit_code))
    return rows
