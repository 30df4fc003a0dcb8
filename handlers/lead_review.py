"""初审: the lead unit (牵头单位) passes or returns a done claim before the office's 销号.

`初审通过 #12 [单位] [意见]`, `初审退回 #12 [单位] 原因`, `待初审`. Parsed here rather than in
`handlers/parse.py` so the chat grammar there stays one concern; the router asks this handler
before the others.
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers.actions import last_reported_percent, supervision_units
from handlers.base import Context, Reply
from handlers.parse import normalize
from handlers.render import render
from handlers.review import units_named
from handlers.review_cards import FIRST_REVIEW_ROLES, current_claim, enqueue_review_cards
from models import (
    IN_PROGRESS,
    LEAD_STAGE,
    OFFICE_STAGE,
    REPORTED,
    Assignment,
    Member,
    Progress,
    Task,
    Unit,
)
from models.audit import audit
from models.outbox import enqueue_to_unit
from schedules.review import Waiting, lead_unit_of

COMMAND = re.compile(
    r"^初审\s*(?P<word>通过|同意|退回|不通过)[\s,，:：]*(?:#\s*|任务\s*)?(?P<ref>\d{1,6})?(?P<rest>.*)$"
)
QUEUE_WORDS = {"待初审", "初审清单", "初审"}
SHOWN = 20


def may_first_review(member: Member, a: Assignment) -> bool:
    lead = lead_unit_of(a)
    return (
        lead is not None
        and member.unit_id == lead.id
        and any(member.has_role(r) for r in FIRST_REVIEW_ROLES)
    )


def review_actions(member: Member | None, a: Assignment) -> tuple[str, ...]:
    """What `member` may do to `a` now: 初审 while the lead unit holds the claim, 销号/退回
    once the office does (the dashboard's buttons and its checks)."""
    if member is None or a.status != REPORTED:
        return ()
    if a.review_stage == LEAD_STAGE:
        return ("lead_pass", "lead_reject") if may_first_review(member, a) else ()
    return ("close", "reject") if member.is_supervisor else ()


def _record(
    session: Session,
    a: Assignment,
    reviewer: Member,
    *,
    now: dt.datetime,
    source: str,
    action: str,
    text: str,
    new_status: str,
    **detail: object,
) -> None:
    session.add(
        Progress(
            assignment=a,
            member=reviewer,
            created_at=now,
            kind="lead_review",
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
        new_status=new_status,
        **detail,
    )


def pass_first_review(
    session: Session,
    a: Assignment,
    reviewer: Member,
    *,
    note: str,
    now: dt.datetime,
    today: dt.date,
    source: str,
    cards: bool = False,
) -> None:
    """初审通过: the claim moves on to the office, which is told the lead unit vouched for it
    (and, with the self-built app, its supervisors get 销号 / 退回 cards)."""
    a.review_stage = OFFICE_STAGE
    a.review_stage_at = now
    _record(
        session,
        a,
        reviewer,
        now=now,
        source=source,
        action="lead_pass",
        text=render("history_lead_pass", {"note": note}, today=today),
        new_status=REPORTED,
        note=note,
    )
    text = render("notify_lead_passed", {"a": a, "reviewer": reviewer, "note": note}, today=today)
    for office in supervision_units(session):
        enqueue_to_unit(
            session,
            office,
            dedupe_key=f"lead_pass:{a.id}:{office.code}:{int(now.timestamp())}",
            content=text,
            now=now,
            source=source,
        )
    claim = current_claim(session, a) if cards else None
    if claim is not None:
        enqueue_review_cards(session, a, claim, None, now, today, vouched=True)


def return_first_review(
    session: Session,
    a: Assignment,
    reviewer: Member,
    *,
    reason: str,
    now: dt.datetime,
    today: dt.date,
    source: str,
) -> None:
    """初审退回: back to 推进中 where the unit last said it stood, with the reason, and tell it.
    The office never sees the claim."""
    a.status = IN_PROGRESS
    a.reported_at = None
    a.review_stage = None
    a.review_stage_at = None
    a.percent = last_reported_percent(session, a)
    _record(
        session,
        a,
        reviewer,
        now=now,
        source=source,
        action="lead_reject",
        text=render("history_lead_reject", {"reason": reason}, today=today),
        new_status=IN_PROGRESS,
        reason=reason,
    )
    enqueue_to_unit(
        session,
        a.unit,
        dedupe_key=f"lead_reject:{a.id}:{int(now.timestamp())}",
        content=render(
            "notify_lead_rejected", {"a": a, "reviewer": reviewer, "reason": reason}, today=today
        ),
        now=now,
        source=source,
    )


def waiting_for(session: Session, member: Member) -> list[Assignment]:
    """Claims waiting for `member`'s unit's 初审 (every one for a supervisor)."""
    rows = session.scalars(
        select(Assignment)
        .join(Assignment.task)
        .where(Assignment.status == REPORTED, Assignment.review_stage == LEAD_STAGE)
        .order_by(Task.code, Assignment.unit_id)
    ).all()
    if member.is_supervisor:
        return list(rows)
    return [a for a in rows if (lead := lead_unit_of(a)) is not None and lead.id == member.unit_id]


class FirstReviewHandler:
    name = "first_review"

    def check(self, ctx: Context) -> tuple[str, int | None, str] | None:
        if ctx.msg_type not in ("text", "event"):  # event: a card's 通过 / 退回 button
            return None
        text = normalize(ctx.text).rstrip("。.!！")
        if text in QUEUE_WORDS:
            return ("queue", None, "")
        m = COMMAND.match(text)
        if m is None:
            return None
        kind = "pass" if m.group("word") in ("通过", "同意") else "reject"
        ref = int(m.group("ref")) if m.group("ref") else None
        return (kind, ref, m.group("rest").strip(" ,，:：、。;；-"))

    def handle(self, ctx: Context, match: tuple[str, int | None, str]) -> Reply:
        kind, ref, rest = match
        if kind == "queue":
            rows = waiting_for(ctx.session, ctx.member)
            return Reply(
                "first_review_list",
                {"rows": rows[:SHOWN], "more": max(len(rows) - SHOWN, 0), "unit": ctx.member.unit},
            )
        word = "初审通过" if kind == "pass" else "初审退回"
        if ref is None:
            return Reply("first_review_usage", {"word": word})
        task = ctx.session.scalar(select(Task).where(Task.code == ref))
        if task is None:
            return Reply("no_such_task", {"ref": ref})
        named = units_named(ctx.session, rest)
        if isinstance(named, Reply):
            return named
        units, note = named
        if units:
            a = next((x for x in task.assignments if x.unit_id == units[0].id), None)
            if a is None:
                return Reply("not_assigned", {"ref": ref, "unit": units[0].name})
        else:
            waiting = [
                x for x in task.assignments if x.status == REPORTED and x.review_stage == LEAD_STAGE
            ]
            if len(waiting) != 1:
                return Reply(
                    "first_review_which_unit",
                    {"ref": ref, "word": word, "waiting": [x.unit.name for x in waiting]},
                )
            a = waiting[0]
        if a.status != REPORTED or a.review_stage != LEAD_STAGE:
            return Reply("not_awaiting_first_review", {"a": a})
        if not may_first_review(ctx.member, a):
            return Reply("first_review_not_yours", {"a": a, "lead": lead_unit_of(a)})
        if kind == "pass":
            pass_first_review(
                ctx.session,
                a,
                ctx.member,
                note=note,
                now=ctx.now,
                today=ctx.today,
                source=ctx.source,
                cards=ctx.cards,
            )
            return Reply("first_review_passed", {"a": a, "note": note})
        if not note:
            return Reply("first_review_needs_reason", {"a": a})
        return_first_review(
            ctx.session, a, ctx.member, reason=note, now=ctx.now, today=ctx.today, source=ctx.source
        )
        return Reply("first_review_returned", {"a": a, "reason": note})


def enqueue_review_nudges(
    session: Session, waiting: list[Waiting], now: dt.datetime, today: dt.date
) -> int:
    """One list a day to each reviewer that has claims waiting too long: the lead unit's group
    (@ its reviewers) for 初审, the office's for 销号. Returns the messages queued."""
    by_reviewer: dict[tuple[str, int], list[Waiting]] = {}
    units: dict[int, Unit] = {}
    for w in waiting:
        if w.stage == LEAD_STAGE:
            lead = lead_unit_of(w.assignment)
            targets = [lead] if lead is not None else []
        else:
            targets = supervision_units(session)
        for unit in targets:
            units[unit.id] = unit
            by_reviewer.setdefault((w.stage, unit.id), []).append(w)
    queued = 0
    for (stage, unit_id), items in sorted(by_reviewer.items()):
        unit = units[unit_id]
        mentions = [
            m.userid
            for m in unit.members
            if m.active and any(m.has_role(r) for r in FIRST_REVIEW_ROLES)
        ]
        rows = enqueue_to_unit(
            session,
            unit,
            dedupe_key=f"review-wait:{stage}:{unit.code}:{today.isoformat()}",
            content=render("nudge_review", {"stage": stage, "items": items}, today=today),
            now=now,
            mentions=mentions if stage == LEAD_STAGE else None,
            source="scheduler",
        )
        queued += len(rows)
    return queued
