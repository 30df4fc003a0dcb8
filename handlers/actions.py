"""State changes on the ledger. Each writes its audit entry and outbox rows in the caller's
transaction, so a change and the messages it causes commit together or not at all."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers.render import render
from handlers.review_cards import enqueue_review_cards
from models import (
    CLOSED,
    IN_PROGRESS,
    LEAD_STAGE,
    NOT_STARTED,
    OFFICE_STAGE,
    REPORTED,
    Assignment,
    Extension,
    Member,
    Progress,
    Unit,
)
from models.audit import audit
from models.outbox import enqueue_to_unit
from schedules.review import current_evidence


def supervision_units(session: Session) -> list[Unit]:
    return list(session.scalars(select(Unit).where(Unit.kind == "office").order_by(Unit.id)))


def claim_done(
    session: Session,
    a: Assignment,
    member: Member,
    *,
    note: str,
    now: dt.datetime,
    today: dt.date,
    source: str,
    inbound_id: int | None = None,
    first_reviewer: Unit | None = None,
    cards: bool = False,
) -> Progress:
    """未启动/推进中 → 已报完成(待审核), and tell the supervision office — or, under
    two-level review, the lead unit (`first_reviewer`) that must pass it first (初审)."""
    old = a.status
    a.status = REPORTED
    a.percent = 100
    a.reported_at = now
    a.review_stage = LEAD_STAGE if first_reviewer is not None else OFFICE_STAGE
    a.review_stage_at = now
    entry = Progress(
        assignment=a,
        member=member,
        created_at=now,
        kind="done",
        text=note,
        percent=100,
        inbound_id=inbound_id,
    )
    session.add(entry)
    session.flush()
    audit(
        session,
        at=now,
        actor=member.userid,
        source=source,
        action="claim_done",
        entity="assignment",
        entity_id=a.id,
        old_status=old,
        new_status=REPORTED,
        note=note,
        review_stage=a.review_stage,
    )
    evidence = len(current_evidence(session, a))  # the reviewer learns what is attached
    if first_reviewer is not None:
        text = render(
            "notify_lead_claim",
            {"a": a, "member": member, "note": note, "lead": first_reviewer, "evidence": evidence},
            today=today,
        )
        enqueue_to_unit(
            session,
            first_reviewer,
            dedupe_key=f"done-claim:{entry.id}:{first_reviewer.code}",
            content=text,
            now=now,
            source=source,
        )
        if cards:  # the self-built app is configured: its reviewers get 通过 / 退回 buttons
            enqueue_review_cards(session, a, entry, first_reviewer, now, today)
        return entry
    text = render(
        "notify_done_claim",
        {"a": a, "member": member, "note": note, "evidence": evidence},
        today=today,
    )
    for office in supervision_units(session):
        enqueue_to_unit(
            session,
            office,
            dedupe_key=f"done-claim:{entry.id}:{office.code}",
            content=text,
            now=now,
            source=source,
        )
    if cards:  # the office's supervisors get 销号 / 退回 buttons
        enqueue_review_cards(session, a, entry, None, now, today)
    return entry


def report_progress(
    session: Session,
    a: Assignment,
    member: Member,
    *,
    percent: int | None,
    note: str,
    now: dt.datetime,
    today: dt.date,
    source: str,
    inbound_id: int | None = None,
) -> Progress:
    old_status, old_percent = a.status, a.percent
    if percent is not None:
        a.percent = percent
    if a.status == NOT_STARTED:
        a.status = IN_PROGRESS
    entry = Progress(
        assignment=a,
        member=member,
        created_at=now,
        kind="progress",
        text=note,
        percent=percent,
        inbound_id=inbound_id,
    )
    session.add(entry)
    session.flush()
    audit(
        session,
        at=now,
        actor=member.userid,
        source=source,
        action="report_progress",
        entity="assignment",
        entity_id=a.id,
        old_status=old_status,
        new_status=a.status,
        old_percent=old_percent,
        new_percent=a.percent,
        note=note,
    )
    return entry


def _record_review(
    session: Session,
    a: Assignment,
    reviewer: Member,
    *,
    now: dt.datetime,
    today: dt.date,
    source: str,
    action: str,
    text: str,
    template: str,
    data: dict[str, object],
    **detail: object,
) -> None:
    """A supervisor's decision: the history entry, the audit record, the unit's notice."""
    session.add(
        Progress(
            assignment=a,
            member=reviewer,
            created_at=now,
            kind="review",
            text=text,
            percent=a.percent,
        )
    )
    session.flush()
    audit(
        session,
        at=now,
        actor=reviewer.userid,
        source=source,
        action=action,
        entity="assignment",
        entity_id=a.id,
        old_status=REPORTED,
        new_status=a.status,
        **detail,
    )
    enqueue_to_unit(
        session,
        a.unit,
        dedupe_key=f"{action}:{a.id}:{int(now.timestamp())}",
        content=render(template, {"a": a, "reviewer": reviewer, **data}, today=today),
        now=now,
        source=source,
    )


def close_item(
    session: Session,
    a: Assignment,
    reviewer: Member,
    *,
    now: dt.datetime,
    today: dt.date,
    source: str,
    note: str = "",
) -> None:
    """已报完成 → 已销号 (挂账销号), and tell the unit."""
    a.status = CLOSED
    a.closed_at = now
    a.review_stage = None
    _record_review(
        session,
        a,
        reviewer,
        now=now,
        today=today,
        source=source,
        action="close",
        text=f"销号{('：' + note) if note else ''}",
        template="notify_closed",
        data={},
        note=note,
    )


def last_reported_percent(session: Session, a: Assignment) -> int:
    """What the unit last reported before its done claim: a returned item goes back to
    where the unit said it stood, not to a made-up figure (0 when it never reported)."""
    value = session.scalar(
        select(Progress.percent)
        .where(
            Progress.assignment_id == a.id,
            Progress.kind == "progress",
            Progress.percent.is_not(None),
        )
        .order_by(Progress.created_at.desc(), Progress.id.desc())
        .limit(1)
    )
    return min(int(value or 0), 99)


def reject_item(
    session: Session,
    a: Assignment,
    reviewer: Member,
    *,
    reason: str,
    now: dt.datetime,
    today: dt.date,
    source: str,
) -> None:
    """已报完成 → 推进中 (退回) with the reason, and tell the unit."""
    a.status = IN_PROGRESS
    a.reported_at = None
    a.review_stage = None
    a.percent = last_reported_percent(session, a)
    _record_review(
        session,
        a,
        reviewer,
        now=now,
        today=today,
        source=source,
        action="reject",
        text=f"退回：{reason}",
        template="notify_rejected",
        data={"reason": reason},
        reason=reason,
    )


def request_extension(
    session: Session,
    a: Assignment,
    member: Member,
    *,
    new_deadline: dt.date,
    reason: str,
    now: dt.datetime,
    today: dt.date,
    source: str,
    inbound_id: int | None = None,
) -> Extension:
    """延期申请: recorded as pending; the supervision office decides."""
    ext = Extension(
        assignment=a,
        requested_by=member,
        requested_at=now,
        old_deadline=a.deadline,
        new_deadline=new_deadline,
        reason=reason,
    )
    session.add(ext)
    session.add(
        Progress(
            assignment=a,
            member=member,
            created_at=now,
            kind="extension",
            text=f"申请延期至{new_deadline.isoformat()}：{reason}",
            inbound_id=inbound_id,
        )
    )
    session.flush()
    audit(
        session,
        at=now,
        actor=member.userid,
        source=source,
        action="request_extension",
        entity="assignment",
        entity_id=a.id,
        extension_id=ext.id,
        old_deadline=a.deadline.isoformat(),
        new_deadline=new_deadline.isoformat(),
        reason=reason,
    )
    text = render("notify_extension_request", {"a": a, "ext": ext, "member": member}, today=today)
    for office in supervision_units(session):
        enqueue_to_unit(
            session,
            office,
            dedupe_key=f"ext-request:{ext.id}:{office.code}",
            content=text,
            now=now,
            source=source,
        )
    return ext


def decide_extension(
    session: Session,
    ext: Extension,
    reviewer: Member,
    *,
    approve: bool,
    note: str,
    now: dt.datetime,
    today: dt.date,
    source: str,
) -> None:
    """批准 moves the unit's deadline (milestones follow); 驳回 keeps it. Both are recorded."""
    a = ext.assignment
    ext.status = "approved" if approve else "refused"
    ext.decided_by = reviewer
    ext.decided_at = now
    ext.decision_note = note
    if approve:
        a.deadline_override = ext.new_deadline
    session.flush()
    audit(
        session,
        at=now,
        actor=reviewer.userid,
        source=source,
        action="approve_extension" if approve else "refuse_extension",
        entity="assignment",
        entity_id=a.id,
        extension_id=ext.id,
        old_deadline=ext.old_deadline.isoformat(),
        new_deadline=a.deadline.isoformat(),
        note=note,
    )
    text = render(
        "notify_extension_decision",
        {"a": a, "ext": ext, "approve": approve, "note": note},
        today=today,
    )
    enqueue_to_unit(
        session, a.unit, dedupe_key=f"ext-decision:{ext.id}", content=text, now=now, source=source
    )


def urge(
    session: Session,
    a: Assignment,
    reviewer: Member,
    *,
    now: dt.datetime,
    today: dt.date,
    source: str,
    key: str,
    note: str = "",
    not_before: dt.datetime | None = None,
) -> None:
    """催办: a nudge to the unit's group, @ its liaison and head — at once, or at
    `not_before` (the end of quiet hours)."""
    mentions = [
        m.userid
        for m in a.unit.members
        if m.active and (m.has_role("liaison") or m.has_role("head"))
    ]
    audit(
        session,
        at=now,
        actor=reviewer.userid,
        source=source,
        action="urge",
        entity="assignment",
        entity_id=a.id,
    )
    text = render("notify_urge", {"a": a, "reviewer": reviewer, "note": note}, today=today)
    enqueue_to_unit(
        session,
        a.unit,
        dedupe_key=f"urge:{a.id}:{key}",
        content=text,
        now=now,
        mentions=mentions,
        source=source,
        not_before=not_before,
    )


def report_quantity(
    session: Session,
    a: Assignment,
    member: Member,
    *,
    amount: float,
    is_count: bool,
    cumulative: bool,
    goal: float,
    note: str,
    now: dt.datetime,
    today: dt.date,
    source: str,
    inbound_id: int | None = None,
    first_reviewer: Unit | None = None,
    cards: bool = False,
) -> tuple[Progress, float]:
    """A value against the task's target, or occurrences of a recurring duty: the running
    total moves (set when `cumulative`, else added), the percent follows total / `goal`, and
    reaching the goal is a done claim like any other (reviewed as any other: by the lead
    unit first under two-level review, `first_reviewer`).

    Returns the progress entry and the new total."""
    old_status, old_percent = a.status, a.percent
    if is_count:
        a.count = int(amount) if cumulative else a.count + int(amount)
        total = float(a.count)
    else:
        a.value = amount if cumulative else (a.value or 0.0) + amount
        total = a.value
    ratio = total / goal if goal > 0 else 0.0
    if ratio >= 1:
        entry = claim_done(
            session,
            a,
            member,
            note=note,
            now=now,
            today=today,
            source=source,
            inbound_id=inbound_id,
            first_reviewer=first_reviewer,
            cards=cards,
        )
        entry.value = None if is_count else amount
        entry.count = int(amount) if is_count else None
        return entry, total
    a.percent = min(99, int(ratio * 100))
    if a.status == NOT_STARTED:
        a.status = IN_PROGRESS
    entry = Progress(
        assignment=a,
        member=member,
        created_at=now,
        kind="progress",
        text=note,
        percent=a.percent,
        value=None if is_count else amount,
        count=int(amount) if is_count else None,
        inbound_id=inbound_id,
    )
    session.add(entry)
    session.flush()
    audit(
        session,
        at=now,
        actor=member.userid,
        source=source,
        action="report_quantity",
        entity="assignment",
        entity_id=a.id,
        old_status=old_status,
        new_status=a.status,
        old_percent=old_percent,
        new_percent=a.percent,
        note=note,
    )
    return entry, total
