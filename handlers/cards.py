"""Template cards (按钮交互型) sent privately to each liaison named in a nudge: one card per
item with 已完成 / 报进度 / 申请延期. A click comes back as `template_card_event` and is the
same chat command a typed message would be (see bot/inbound/callbacks/wecom.py)."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from handlers.notices import mentions_for
from handlers.render import render
from models import Unit
from models.outbox import enqueue
from schedules.reminders import ESCALATE, Line, Nudge

# WeCom: a card's main title is at most 26 characters, a task id at most 128 of [A-Za-z0-9_-@].
TITLE_MAX = 26


def task_id(nudge: Nudge, line: Line, userid: str) -> str:
    """Unique per card and stable for a slot, so a repeated run cannot make a second card."""
    who = hashlib.sha1(userid.encode()).hexdigest()[:12]
    return f"duban-{nudge.slot:%Y%m%d%H%M}-{nudge.rule}-{line.assignment_id}-{who}"


def card_for(nudge: Nudge, line: Line, userid: str, today: dt.date) -> dict[str, Any]:
    data = {"line": line, "rule": nudge.rule}
    labels = render("card_buttons", data, today=today).strip().split("|")
    keys = ("done", "progress", "extension")
    return {
        "card_type": "button_interaction",
        "main_title": {
            "title": render("card_title", data, today=today).strip()[:TITLE_MAX],
            "desc": render("card_desc", data, today=today).strip(),
        },
        "task_id": task_id(nudge, line, userid),
        "button_list": [
            {"text": label, "style": 1 if key == "done" else 2, "key": f"{key}:{line.task_code}"}
            for key, label in zip(keys, labels, strict=True)
        ],
    }


def enqueue_cards(session: Session, nudges: list[Nudge], now: dt.datetime) -> int:
    """One card per item to every liaison (and head) a nudge names; the group message is
    unchanged. Returns the number of cards queued."""
    units = {
        u.code: u for u in session.scalars(select(Unit).options(joinedload(Unit.members))).unique()
    }
    queued = 0
    for n in nudges:
        if n.rule == ESCALATE:
            continue  # the leader's escalation is a message of its own, not a to-do
        day = n.slot.date()
        for userid in mentions_for(units[n.unit_code], n.rule, day):
            for line in n.lines:
                card = card_for(n, line, userid, day)
                row = enqueue(
                    session,
                    dedupe_key=f"{n.key}:card:{line.assignment_id}:{userid}",
                    channel="app",
                    target=userid,
                    content="",
                    now=now,
                    msg_type="template_card",
                    source=n.key,
                )
                if row is not None:
                    row.payload = {"template_card": card}
                    queued += 1
    return queued
