"""初审 by card button: when a done claim waits for the lead unit (牵头单位), each of its
reviewers gets a 按钮交互型 card with 通过 / 退回 in the self-built app.

A button's key carries the claim (the done entry's id), not the task, so a click on an old
card can never act on a later claim of the same item. The click is turned into the chat
command (`初审通过 #12 FGJ`) by bot/inbound/callbacks/wecom.py and goes through the same
handler, checks and audit as typed text; 退回 needs a reason, so that click only answers how
to give one in chat."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from handlers.render import render
from models import Assignment, AuditLog, Member, Progress, Unit
from models.outbox import enqueue

# Who may speak for a lead unit in 初审: its designated reviewer, its head or its leader —
# not any liaison, since passing a claim vouches for it.
FIRST_REVIEW_ROLES = ("reviewer", "head", "leader")
# WeCom: a card's main title is at most 26 characters.
TITLE_MAX = 26
PASS, REJECT = "lead_pass", "lead_reject"
DECISIONS = (PASS, REJECT)


def reviewers_of(unit: Unit) -> list[Member]:
    return [m for m in unit.members if m.active and any(m.has_role(r) for r in FIRST_REVIEW_ROLES)]


def review_task_id(claim: Progress, userid: str) -> str:
    """One card per claim and reviewer (WeCom: at most 128 of [A-Za-z0-9_-@])."""
    who = hashlib.sha1(userid.encode()).hexdigest()[:12]
    return f"duban-lead-{claim.id}-{who}"


def review_card(a: Assignment, claim: Progress, userid: str, today: dt.date) -> dict[str, Any]:
    data = {"a": a, "claim": claim}
    labels = render("review_card_buttons", data, today=today).strip().split("|")
    return {
        "card_type": "button_interaction",
        "main_title": {
            "title": render("review_card_title", data, today=today).strip()[:TITLE_MAX],
            "desc": render("review_card_desc", data, today=today).strip(),
        },
        "task_id": review_task_id(claim, userid),
        "button_list": [
            {"text": label, "style": 1 if key == PASS else 2, "key": f"{key}:{claim.id}"}
            for key, label in zip(DECISIONS, labels, strict=True)
        ],
    }


def enqueue_review_cards(
    session: Session, a: Assignment, claim: Progress, lead: Unit, now: dt.datetime, today: dt.date
) -> int:
    """A card to each of the lead unit's reviewers; the group notice is unchanged. Returns
    the number of cards queued (none again for the same claim)."""
    queued = 0
    for m in reviewers_of(lead):
        row = enqueue(
            session,
            dedupe_key=f"lead-card:{claim.id}:{m.userid}",
            channel="app",
            target=m.userid,
            content="",
            now=now,
            msg_type="template_card",
            source=f"claim:{claim.id}",
        )
        if row is not None:
            row.payload = {"template_card": review_card(a, claim, m.userid, today)}
            queued += 1
    return queued


def claim_command(session: Session, action: str, claim_id: int) -> str | None:
    """The chat command a review button stands for, or None when the button's claim is not
    the item's current one (decided and claimed again since): acting would judge a claim the
    reviewer never saw on this card."""
    claim = session.get(Progress, claim_id)
    if claim is None or claim.kind != "done":
        return None
    latest = session.scalar(
        select(func.max(Progress.id)).where(
            Progress.assignment_id == claim.assignment_id, Progress.kind == "done"
        )
    )
    if latest != claim.id:
        return None
    a = claim.assignment
    word = "初审通过" if action == PASS else "初审退回"
    return f"{word} #{a.task.code} {a.unit.code}"


def decision_label(session: Session, claim_id: int, today: dt.date) -> str | None:
    """What a review card shows once the claim is decided — who passed or returned it — or
    None while it still waits (the buttons stay)."""
    claim = session.get(Progress, claim_id)
    if claim is None:
        return None
    entry = session.scalar(
        select(AuditLog)
        .where(
            AuditLog.entity == "assignment",
            AuditLog.entity_id == claim.assignment_id,
            AuditLog.action.in_(DECISIONS),
            AuditLog.at >= claim.created_at,
        )
        .order_by(AuditLog.id)
        .limit(1)
    )
    if entry is None:
        return None
    who = session.scalar(select(Member).where(Member.userid == entry.actor))
    data = {"action": entry.action, "name": who.name if who is not None else entry.actor}
    return render("review_card_decided", data, today=today).strip()


def stale_reply(session: Session, claim_id: int, today: dt.date) -> str:
    """The answer to a click on a card whose claim is no longer the item's current one."""
    return render(
        "review_card_stale", {"decided": decision_label(session, claim_id, today)}, today=today
    ).strip()
