"""The ledger (台账) as rows with derived lights, shared by chat, CLI, web and API."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from models import (
    CLOSED,
    LEAD_STAGE,
    REPORTED,
    STATUS_LABELS,
    Assignment,
    Extension,
    KeyWork,
    Task,
    Unit,
)
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
    lit = _light(
        standing(Facts(deadline, status, a.percent, milestones), today, rules, cal),
        status,
        a.review_stage,
    )
    extended = any(e.status == "approved" for e in a.extensions)
    finish, lost = _finish(deadline, status, a.reported_at, extended, rules, cal)
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


def _light(lit: Standing, status: str, review_stage: str | None) -> Standing:
    if status == "reported" and review_stage == LEAD_STAGE:
        return replace(lit, reason=Reason(AWAITING_LEAD_REVIEW))  # not the office's turn yet
    return lit


def _finish(
    deadline: dt.date,
    status: str,
    reported_at: dt.datetime | None,
    extended: bool,
    rules: Rules,
    cal: WorkCalendar,
) -> tuple[Reason | None, float]:
    """A reported or closed item judged as the scorer judges it, and the points it lost."""
    if status == "open" or reported_at is None:
        return None, 0.0
    done_on = rules.local_day(reported_at)
    judged = score(Facts(deadline, done_on=done_on, extended=extended), done_on, rules, cal)
    if judged is None:
        return None, 0.0
    return judged.reason, rules.score_on_time - judged.value


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
    """Ledger rows, worst light first, then by deadline and task code.

    A county's ledger runs to ten thousand assignments, so this reads plain columns (no ORM
    objects) and judges each distinct (deadline, plan, status, percent) once: rows of one
    task share them. The result is what `row_for` gives for each assignment.
    """
    conn = session.connection()  # plain rows: no ORM identity map for 10,000 objects
    units = {
        uid: (code, name, kind)
        for uid, code, name, kind in conn.execute(select(Unit.id, Unit.code, Unit.name, Unit.kind))
    }
    lead = aliased(Unit)
    task_q = (
        select(
            Task.id,
            Task.code,
            Task.content,
            Task.deadline,
            Task.plan,
            KeyWork.name,
            lead.name,
        )
        .join(KeyWork, Task.key_work_id == KeyWork.id)
        .outerjoin(lead, Task.lead_unit_id == lead.id)
    )
    if task_code is not None:
        task_q = task_q.where(Task.code == task_code)
    tasks = {t[0]: t for t in conn.execute(task_q)}
    q = select(
        Assignment.id,
        Assignment.task_id,
        Assignment.unit_id,
        Assignment.status,
        Assignment.percent,
        Assignment.deadline_override,
        Assignment.period,
        Assignment.period_deadline,
        Assignment.review_stage,
        Assignment.reported_at,
    )
    if unit_code:
        q = q.where(Assignment.unit_id.in_([k for k, u in units.items() if u[0] == unit_code]))
    if task_code is not None:
        q = q.where(Assignment.task_id.in_(list(tasks)))
    if status is not None:
        q = q.where(Assignment.status == status)
    plans: dict[tuple[dt.date, object], tuple[Milestone, ...]] = {}
    judged: dict[tuple[dt.date, object, str, tuple[bool, ...]], Standing] = {}
    extended: set[int] | None = None  # read once, when a finished row first needs it
    rows = []
    for (
        a_id,
        task_id,
        unit_id,
        a_status,
        percent,
        override,
        period,
        period_deadline,
        review_stage,
        reported_at,
    ) in conn.execute(q):
        _, code, content, task_deadline, task_plan, key_work, lead_name = tasks[task_id]
        deadline = override or period_deadline or task_deadline
        # A task's own plan is its own; the key work's template is shared by its tasks; an
        # occurrence of a recurring duty is too short for a backward plan.
        plan_key = (
            deadline,
            ("duty",) if period else ("task", code) if task_plan else ("kw", key_work),
        )
        milestones = plans.get(plan_key)
        if milestones is None:
            plan = () if period else effective_plan(task_plan, key_work, rules.plans)
            milestones = plans[plan_key] = tuple(milestone_dates(deadline, plan, cal))
        kind = {REPORTED: "reported", CLOSED: "closed"}.get(a_status, "open")
        # The judge reads the percentage only to tell which milestones are still pending,
        # so rows with the same pending milestones share one judgement (tested against
        # row_for in tests/test_ledger_paging.py).
        pending = tuple(percent < m.percent for m in milestones)
        fact_key = (*plan_key, kind, pending)
        lit = judged.get(fact_key)
        if lit is None:
            facts = Facts(deadline, kind, percent, milestones)
            lit = judged[fact_key] = standing(facts, today, rules, cal)
        lit = _light(lit, kind, review_stage)
        if open_only and lit.color == "done":
            continue
        if light_filter and lit.color != light_filter:
            continue
        finish, lost = None, 0.0
        if kind != "open" and reported_at is not None:
            if extended is None:
                extended = set(
                    conn.execute(
                        select(Extension.assignment_id).where(Extension.status == "approved")
                    ).scalars()
                )
            finish, lost = _finish(deadline, kind, reported_at, a_id in extended, rules, cal)
        unit = units[unit_id]
        rows.append(
            LedgerRow(
                assignment_id=a_id,
                task_code=code,
                key_work=key_work,
                content=content,
                lead_unit=lead_name or "",
                unit_code=unit[0],
                unit_name=unit[1],
                unit_kind=unit[2],
                status=a_status,
                status_label=STATUS_LABELS[a_status],
                percent=percent,
                deadline=deadline,
                light=lit,
                milestones=milestones,
                period=period,
                finish=finish,
                finish_lost=lost,
            )
        )
    rows.sort(key=lambda r: (LIGHT_ORDER[r.light.color], r.deadline, r.task_code, r.unit_code))
    return rows
