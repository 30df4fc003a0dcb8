"""Spot checks (抽查): draw a sample of closed items, record each re-inspection; a failed one
reopens the item and deducts the unit (虚报) and the lead unit that passed it (把关不严).
Each step is audited; units are told in their groups."""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers.actions import last_reported_percent
from handlers.render import render
from models import (
    CLOSED,
    IN_PROGRESS,
    Assignment,
    AuditLog,
    Progress,
    SpotCheck,
    SpotCheckItem,
    Unit,
)
from models.audit import audit
from models.outbox import enqueue_to_unit
from schedules.review import lead_unit_of
from schedules.rules import Rules
from schedules.spot_check import draw, population


def draw_check(
    session: Session,
    *,
    actor: str,
    source: str,
    start: dt.date,
    end: dt.date,
    size: int,
    now: dt.datetime,
    rules: Rules,
    seed: str | None = None,
) -> SpotCheck:
    """Draw and record: the population, the seed (fresh unless given) and the sample."""
    ids = population(session, start, end, rules.tz)
    seed = seed or secrets.token_hex(8)
    check = SpotCheck(
        drawn_at=now,
        drawn_by=actor,
        seed=seed,
        window_start=start,
        window_end=end,
        population=ids,
        size=size,
    )
    check.items = [SpotCheckItem(assignment_id=aid) for aid in draw(ids, size, seed)]
    session.add(check)
    session.flush()
    audit(
        session,
        at=now,
        actor=actor,
        source=source,
        action="spot_check_draw",
        entity="spot_check",
        entity_id=check.id,
        seed=seed,
        population=len(ids),
        sample=[i.assignment_id for i in check.items],
    )
    return check


def passed_by(session: Session, a: Assignment) -> Unit | None:
    """The lead unit that passed the claim now closed, if its 初审 did (the last claim's)."""
    actions = session.scalars(
        select(AuditLog.action)
        .where(
            AuditLog.entity == "assignment",
            AuditLog.entity_id == a.id,
            AuditLog.action.in_(("claim_done", "lead_pass")),
        )
        .order_by(AuditLog.at.desc(), AuditLog.id.desc())
        .limit(1)
    ).all()
    return lead_unit_of(a) if actions == ["lead_pass"] else None


def record_result(
    session: Session,
    item: SpotCheckItem,
    *,
    passed: bool,
    note: str,
    actor: str,
    source: str,
    now: dt.datetime,
    today: dt.date,
    rules: Rules,
) -> None:
    """Record what the re-inspection found. A failure reopens the item (推进中, as the unit
    last reported it) and books the deductions the rankings show."""
    if item.result != "pending":
        raise ValueError(f"spot check item {item.id} already {item.result}")
    a = item.assignment
    item.result = "passed" if passed else "failed"
    item.note = note
    item.decided_at = now
    item.decided_by = actor
    if passed:
        audit(
            session,
            at=now,
            actor=actor,
            source=source,
            action="spot_check_pass",
            entity="assignment",
            entity_id=a.id,
            spot_check_id=item.check_id,
            note=note,
        )
        return
    if a.status != CLOSED:
        raise ValueError(f"item {a.id} is no longer closed")
    lead = passed_by(session, a)
    item.unit_id = a.unit_id
    item.unit_points = rules.spot_check_false_report_points
    item.lead_unit_id = lead.id if lead is not None else None
    item.lead_points = rules.spot_check_lax_review_points if lead is not None else 0.0
    a.status = IN_PROGRESS
    a.closed_at = None
    a.reported_at = None
    a.review_stage = None
    a.review_stage_at = None
    a.percent = last_reported_percent(session, a)
    session.add(
        Progress(
            assignment=a,
            created_at=now,
            kind="review",  # a verdict: evidence sent before it does not count again
            text=render("history_spot_check_failed", {"note": note}, today=today),
            percent=a.percent,
        )
    )
    session.flush()
    audit(
        session,
        at=now,
        actor=actor,
        source=source,
        action="spot_check_fail",
        entity="assignment",
        entity_id=a.id,
        old_status=CLOSED,
        new_status=IN_PROGRESS,
        spot_check_id=item.check_id,
        note=note,
        unit_points=item.unit_points,
        lead_unit=lead.code if lead is not None else None,
        lead_points=item.lead_points,
    )
    data = {"a": a, "item": item, "lead": lead, "note": note}
    for unit, role in ((a.unit, "unit"), (lead, "lead")):
        if unit is None:
            continue
        enqueue_to_unit(
            session,
            unit,
            dedupe_key=f"spot-check:{item.id}:{role}",
            content=render("notify_spot_check_failed", {**data, "role": role}, today=today),
            now=now,
            source=source,
        )
