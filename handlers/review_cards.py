"""Review by card button: when a done claim waits for the lead unit (牵头单位), each of its
reviewers gets a 按钮交互型 card with 通过 / 退回 in the self-built app; when it reaches the
office, each of the office's supervisors gets one with 销号 / 退回.

A button's key carries the claim (the done entry's id), not the task, so a click on an old
card can never act on a later claim of the same item. The click is turned into the chat
command (`初审通过 #12 FGJ`) by bot/inbound/callbacks/wecom.py and goes through the same
handler, checks and audit as typed text. 退回 needs a reason: the card's drop-down offers the
common ones; with 在对话中写明 (the default) the click only answers how to give one in chat."""

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
CLOSE, OFFICE_REJECT = "office_close", "office_reject"
# Button → (chat command, the audit action it leads to, stage).
BUTTONS = {
    PASS: ("初审通过", "lead_pass", "lead"),
    REJECT: ("初审退回", "lead_reject", "lead"),
    CLOSE: ("销号", "close", "office"),
    OFFICE_REJECT: ("退回", "reject", "office"),
}
DECISIONS = tuple(BUTTONS)
RETURNS = (REJECT, OFFICE_REJECT)
STAGE_BUTTONS = {"lead": (PASS, REJECT), "office": (CLOSE, OFFICE_REJECT)}


def reviewers_of(unit: Unit) -> list[Member]:
    return [m for m in unit.members if m.active and any(m.has_role(r) for r in FIRST_REVIEW_ROLES)]


def office_supervisors(session: Session) -> list[Member]:
    return [
        m
        for u in session.scalars(select(Unit).where(Unit.kind == "office").order_by(Unit.id))
        for m in u.members
        if m.active and m.is_supervisor
    ]


def review_task_id(claim: Progress, userid: str, stage: str) -> str:
    """One card per claim, stage and reviewer (WeCom: at most 128 of [A-Za-z0-9_-@])."""
    who = hashlib.sha1(userid.encode()).hexdigest()[:12]
    return f"duban-{stage}-{claim.id}-{who}"


# The drop-down of a review card: why 退回. WeCom always has one option chosen (the first by
# default), so the first one means "I will write it in chat" and a tap on 通过 ignores it.
REASON_QUESTION = "reason"
IN_CHAT = "chat"


def return_reasons(today: dt.date) -> list[str]:
    """The common reasons offered on a review card (template `review_reasons`)."""
    return [r for r in render("review_reasons", {}, today=today).strip().split("|") if r]


def reason_selection(today: dt.date) -> dict[str, Any]:
    reasons = return_reasons(today)
    options = [{"id": IN_CHAT, "text": render("review_reason_in_chat", {}, today=today).strip()}]
    options += [{"id": f"r{i}", "text": r} for i, r in enumerate(reasons, 1)]
    return {
        "question_key": REASON_QUESTION,
        "title": render("review_reason_title", {}, today=today).strip(),
        "option_list": options,
        "selected_id": IN_CHAT,
    }


def chosen_reason(option: str, today: dt.date) -> str:
    """The reason an option of the drop-down stands for; "" for 在对话中写明 or anything else."""
    reasons = return_reasons(today)
    if option.startswith("r") and option[1:].isdigit() and 1 <= int(option[1:]) <= len(reasons):
        return reasons[int(option[1:]) - 1]
    return ""


def review_card(
    a: Assignment,
    claim: Progress,
    userid: str,
    today: dt.date,
    stage: str = "lead",
    vouched: bool = False,
) -> dict[str, Any]:
    data = {"a": a, "claim": claim, "stage": stage, "vouched": vouched}
    keys = STAGE_BUTTONS[stage]
    labels = render("review_card_buttons", data, today=today).strip().split("|")
    return {
        "card_type": "button_interaction",
        "main_title": {
            "title": render("review_card_title", data, today=today).strip()[:TITLE_MAX],
            "desc": render("review_card_desc", data, today=today).strip(),
        },
        "button_selection": reason_selection(today),
        "task_id": review_task_id(claim, userid, stage),
        "button_list": [
            {"text": label, "style": 1 if key == keys[0] else 2, "key": f"{key}:{claim.id}"}
            for key, label in zip(keys, labels, strict=True)
        ],
    }


def enqueue_review_cards(
    session: Session,
    a: Assignment,
    claim: Progress,
    lead: Unit | None,
    now: dt.datetime,
    today: dt.date,
    vouched: bool = False,
) -> int:
    """A card to each of the lead unit's reviewers (`lead`), or with no lead unit to decide
    to each of the office's supervisors; the group notices are unchanged. Returns the number
    of cards queued (none again for the same claim and stage)."""
    stage = "lead" if lead is not None else "office"
    reviewers = reviewers_of(lead) if lead is not None else office_supervisors(session)
    queued = 0
    for m in reviewers:
        row = enqueue(
            session,
            dedupe_key=f"{stage}-card:{claim.id}:{m.userid}",
            channel="app",
            target=m.userid,
            content="",
            now=now,
            msg_type="template_card",
            source=f"claim:{claim.id}",
        )
        if row is not None:
            row.payload = {"template_card": review_card(a, claim, m.userid, today, stage, vouched)}
            queued += 1
    return queued


def current_claim(session: Session, a: Assignment) -> Progress | None:
    return session.scalar(
        select(Progress)
        .where(Progress.assignment_id == a.id, Progress.kind == "done")
        .order_by(Progress.id.desc())
        .limit(1)
    )


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
    return f"{BUTTONS[action][0]} #{a.task.code} {a.unit.code}"


def decision_label(
    session: Session, claim_id: int, today: dt.date, stage: str = "lead"
) -> str | None:
    """What a review card of `stage` shows once the claim is decided there — who passed,
    closed or returned it — or None while it still waits (the buttons stay)."""
    audited = [BUTTONS[k][1] for k in STAGE_BUTTONS[stage]]
    claim = session.get(Progress, claim_id)
    if claim is None:
        return None
    entry = session.scalar(
        select(AuditLog)
        .where(
            AuditLog.entity == "assignment",
            AuditLog.entity_id == claim.assignment_id,
            AuditLog.action.in_(audited),
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


def stage_of(action: str) -> str:
    return BUTTONS[action][2]


def stale_reply(session: Session, claim_id: int, today: dt.date, stage: str = "lead") -> str:
    """The answer to a click on a card whose claim is no longer the item's current one."""
    decided = decision_label(session, claim_id, today, stage)
    return render("review_card_stale", {"decided": decided}, today=today).strip()
