"""Two-level review: who reviews a done claim first, and which claims have waited too long.

A claim on a task whose key work has two-level review on (`Rules.lead_review`) goes first to
the task's lead unit (牵头单位, else the key work's) for 初审, then to the office for 销号. A
unit never reviews its own claim: when the lead unit is the responsible unit, the claim goes
straight to the office.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import OFFICE_STAGE, REPORTED, Assignment, Progress, Unit
from schedules.calendar import WorkCalendar
from schedules.rules import Rules


def lead_unit_of(a: Assignment) -> Unit | None:
    """The unit that vouches for `a`'s claims, or None when there is none but the unit."""
    lead = a.task.lead_unit or a.task.key_work.lead_unit
    return lead if lead is not None and lead.id != a.unit_id else None


def first_reviewer(a: Assignment, rules: Rules) -> Unit | None:
    """The lead unit that must pass `a`'s done claim before the office sees it, if any."""
    if not rules.lead_review_on(a.task.key_work.name):
        return None
    return lead_unit_of(a)


# A review's verdict starts a new round: evidence sent before a 退回 does not count again.
ROUND_ENDS = ("review", "lead_review")


def current_evidence(session: Session, a: Assignment) -> list[Progress]:
    """The evidence entries (佐证材料) of the current claim: since the last review verdict."""
    entries = session.scalars(
        select(Progress).where(Progress.assignment_id == a.id).order_by(Progress.id)
    ).all()
    out: list[Progress] = []
    for p in entries:
        if p.kind in ROUND_ENDS:
            out = []
        elif p.kind == "evidence":
            out.append(p)
    return out


def stage_of(a: Assignment) -> str | None:
    """Which step holds a reported claim; rows reported before two-level review existed
    carry no stage and are with the office."""
    if a.status != REPORTED:
        return None
    return a.review_stage or OFFICE_STAGE


@dataclass(frozen=True)
class Waiting:
    assignment: Assignment
    stage: str  # LEAD_STAGE | OFFICE_STAGE
    since: dt.date  # local day the claim reached this step
    workdays: int  # whole workdays it has waited since


def reviews_waiting(
    items: Iterable[Assignment], today: dt.date, rules: Rules, cal: WorkCalendar
) -> list[Waiting]:
    """Reported claims that have waited at least `rules.review_nudge_workdays` workdays at
    their current step, longest first."""
    out = []
    for a in items:
        stage = stage_of(a)
        moment = a.review_stage_at or a.reported_at
        if stage is None or moment is None:
            continue
        since = rules.local_day(moment)
        waited = cal.workdays_between(since, today)
        if waited >= rules.review_nudge_workdays:
            out.append(Waiting(a, stage, since, waited))
    out.sort(key=lambda w: (-w.workdays, w.assignment.task.code, w.assignment.unit_id))
    return out


def review_nudges_due(
    session: Session, now: dt.datetime, rules: Rules, cal: WorkCalendar
) -> list[Waiting]:
    """Claims to nudge their reviewers about as of `now`: on workdays from the morning slot,
    outside quiet hours (the notices send each reviewer one list a day)."""
    local = rules.local(now)
    if (
        not cal.is_workday(local.date())
        or local.time() < rules.due_day_time
        or rules.quiet(local.time())
    ):
        return []
    rows = session.scalars(select(Assignment).where(Assignment.status == REPORTED)).all()
    return reviews_waiting(rows, local.date(), rules, cal)
