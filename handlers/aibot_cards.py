"""The smart robot's own template cards (按钮交互型 with a drop-down of items).

The smart robot cannot message a member on its own; it answers what it is sent. So when a
member asks it for `任务`, the answer carries a card: the unit's open items in a drop-down and
已完成 / 报进度 / 申请延期; asking it `待初审` gives the claims waiting for the member's 初审 with
通过 / 退回. A click comes back as `template_card_event` with the chosen option and is the
chat command a typed message would be (bot/inbound/callbacks/aibot.py); the callback answers
with `update_template_card`, the same card with the outcome, for the clicker only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers.lead_review import QUEUE_WORDS, waiting_for
from handlers.parse import normalize, parse
from handlers.render import render
from handlers.review_cards import DECISIONS, STAGE_BUTTONS, claim_command
from models import OPEN_STATUSES, Assignment, Member, Progress, Task, Unit

# WeCom: a drop-down holds 1–10 options; a card's sub-title should stay within 112 characters,
# its main title within 26, an option's text within 10.
OPTIONS_MAX = 10
TITLE_MAX = 26
SUBTITLE_MAX = 112
OPTION_TEXT_MAX = 10
QUESTION = "item"
ITEM_ACTIONS = ("done", "progress", "extension")
ITEM_COMMANDS = {"done": "#{ref} 已完成", "progress": "#{ref} 进度", "extension": "#{ref} 延期"}


def card_task_id(msg_key: str) -> str:
    """One card per message answered (WeCom: task ids never repeat for a robot)."""
    return "duban-ai-" + hashlib.sha1(msg_key.encode()).hexdigest()[:24]


def _member(session: Session, userid: str) -> Member | None:
    m = session.scalar(select(Member).where(Member.userid == userid))
    return m if m is not None and m.active else None


def _open_items(session: Session, member: Member) -> list[Assignment]:
    return list(
        session.scalars(
            select(Assignment)
            .join(Assignment.task)
            .where(Assignment.unit_id == member.unit_id, Assignment.status.in_(OPEN_STATUSES))
            .order_by(Task.deadline, Task.code)
        )
    )


def _option(ident: int, label: str) -> dict[str, str]:
    return {"id": str(ident), "text": label[:OPTION_TEXT_MAX]}


def _card(
    kind: str,
    task_id: str,
    options: list[dict[str, str]],
    more: int,
    today: dt.date,
    outcome: str = "",
    selected: str = "",
) -> dict[str, Any]:
    data = {"kind": kind, "count": len(options) + more, "more": more}
    keys = ITEM_ACTIONS if kind == "items" else STAGE_BUTTONS["lead"]
    labels = render("aibot_card_buttons", data, today=today).strip().split("|")
    sub = outcome or render("aibot_card_hint", data, today=today).strip()
    if len(sub) > SUBTITLE_MAX:
        sub = sub[: SUBTITLE_MAX - 1] + "…"
    selection: dict[str, Any] = {
        "question_key": QUESTION,
        "title": render("aibot_card_question", data, today=today).strip(),
        "option_list": options,
    }
    if selected and any(o["id"] == selected for o in options):
        selection["selected_id"] = selected
    return {
        "card_type": "button_interaction",
        "main_title": {"title": render("aibot_card_title", data, today=today).strip()[:TITLE_MAX]},
        "sub_title_text": sub,
        "button_selection": selection,
        "button_list": [
            {"text": label, "style": 1 if i == 0 else 2, "key": key}
            for i, (key, label) in enumerate(zip(keys, labels, strict=True))
        ],
        "task_id": task_id,
    }


def _items_options(session: Session, member: Member) -> tuple[list[dict[str, str]], int]:
    rows = _open_items(session, member)
    options: list[dict[str, str]] = []
    seen: set[int] = set()
    for a in rows:  # a recurring duty has a row per occurrence: one option per task
        if a.task.code not in seen:
            seen.add(a.task.code)
            # The option names the unit too: in a group anyone may tap the card, and a tap
            # must never report on the tapper's own item of the same number.
            options.append(
                {
                    **_option(a.task.code, f"#{a.task.code} {a.task.content}"),
                    "id": f"{a.task.code}-{a.unit_id}",
                }
            )
    return options[:OPTIONS_MAX], max(len(options) - OPTIONS_MAX, 0)


def _claims_options(session: Session, member: Member) -> tuple[list[dict[str, str]], int]:
    options: list[dict[str, str]] = []
    for a in waiting_for(session, member):
        claim = session.scalar(
            select(Progress)
            .where(Progress.assignment_id == a.id, Progress.kind == "done")
            .order_by(Progress.id.desc())
            .limit(1)
        )
        if claim is not None:
            options.append(_option(claim.id, f"#{a.task.code} {a.unit.name}"))
    return options[:OPTIONS_MAX], max(len(options) - OPTIONS_MAX, 0)


def _build(
    session: Session, member: Member, kind: str, task_id: str, today: dt.date, **kw: str
) -> dict[str, Any] | None:
    options, more = (_items_options if kind == "items" else _claims_options)(session, member)
    if not options:
        return None  # WeCom needs at least one option; the text answer says there is none
    return _card(kind, task_id, options, more, today, **kw)


def card_for_message(
    session: Session, userid: str, text: str, msg_key: str, today: dt.date
) -> dict[str, Any] | None:
    """The card that goes with the answer to `text`, or None. `任务` gives the open items,
    `待初审` the claims waiting for this member's 初审."""
    member = _member(session, userid)
    if member is None:
        return None
    if normalize(text).rstrip("。.!！") in QUEUE_WORDS:
        kind = "claims"
    else:
        cmd = parse(text)
        if cmd is None or cmd.kind != "list":
            return None
        kind = "items"
    return _build(session, member, kind, card_task_id(msg_key), today)


def click_command(
    session: Session, userid: str, action: str, option: str, today: dt.date
) -> tuple[str | None, str]:
    """(the chat command a click stands for, or None; what to say when it stands for none).
    None: an unknown button, no option, an item of another unit, a claim decided and
    claimed again since the card was made."""
    if action in DECISIONS and option.isdigit():
        return claim_command(session, action, int(option)), ""
    code, _, unit_id = option.partition("-")
    if action not in ITEM_COMMANDS or not (code.isdigit() and unit_id.isdigit()):
        return None, ""
    member = _member(session, userid)
    if member is not None and member.unit_id != int(unit_id):
        unit = session.get(Unit, int(unit_id))
        data = {"unit": unit.name if unit is not None else "", "mine": member.unit.name}
        return None, render("aibot_card_other_unit", data, today=today).strip()
    return ITEM_COMMANDS[action].format(ref=int(code)), ""


def updated_card(
    session: Session,
    userid: str,
    action: str,
    task_id: str,
    option: str,
    outcome: str,
    today: dt.date,
) -> dict[str, Any]:
    """The clicked card as it stands now — items still open (or claims still waiting) and
    the outcome in its sub-title; when nothing is left, a card without buttons to press."""
    member = _member(session, userid)
    kind = "claims" if action in STAGE_BUTTONS["lead"] else "items"
    card = None
    if member is not None:
        card = _build(session, member, kind, task_id, today, outcome=outcome, selected=option)
    if card is not None:
        return card
    data = {"kind": kind, "count": 0, "more": 0}
    title = render("aibot_card_title", data, today=today).strip()[:TITLE_MAX]
    return {
        "card_type": "text_notice",
        "main_title": {"title": title},
        "sub_title_text": (outcome or render("aibot_card_hint", data, today=today).strip())[
            :SUBTITLE_MAX
        ],
        "card_action": {"type": 0},
        "task_id": task_id,
    }
