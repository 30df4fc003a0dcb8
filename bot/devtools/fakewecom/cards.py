"""What WeCom checks in a template card (按钮交互型, 文本通知型), for the fake WeCom and the
tests of the smart robot's passive replies: documented limits only, one problem a line."""

from __future__ import annotations

import re
from typing import Any

TASK_ID = re.compile(r"[A-Za-z0-9_\-@]{1,128}")
KINDS = ("button_interaction", "text_notice")


def _bytes(value: Any) -> int:
    return len(str(value).encode())


def card_problems(card: Any) -> list[str]:
    if not isinstance(card, dict):
        return ["template_card is not an object"]
    kind = card.get("card_type")
    if kind not in KINDS:
        return [f"card_type {kind!r} not spoken by the fake"]
    problems: list[str] = []
    if not TASK_ID.fullmatch(str(card.get("task_id", ""))):
        problems.append("task_id: 1-128 of A-Z a-z 0-9 _ - @")
    title = card.get("main_title") or {}
    if not (isinstance(title, dict) and title.get("title")) and not card.get("sub_title_text"):
        problems.append("main_title.title or sub_title_text required")
    if kind == "text_notice":
        if not isinstance(card.get("card_action"), dict):
            problems.append("text_notice needs card_action")
        return problems
    buttons = card.get("button_list")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 6:
        return [*problems, "button_list: 1-6 buttons"]
    keys = [b.get("key") if isinstance(b, dict) else None for b in buttons]
    if not all(k and _bytes(k) <= 1024 for k in keys) or len(set(keys)) != len(keys):
        problems.append("button key: unique, 1-1024 bytes")
    if not all(isinstance(b, dict) and b.get("text") for b in buttons):
        problems.append("button text required")
    selection = card.get("button_selection")
    if selection is not None:
        options = selection.get("option_list") if isinstance(selection, dict) else None
        if not isinstance(options, list) or not 1 <= len(options) <= 10:
            problems.append("button_selection.option_list: 1-10 options")
        else:
            ids = [o.get("id") if isinstance(o, dict) else None for o in options]
            if not all(i and _bytes(i) <= 128 for i in ids) or len(set(ids)) != len(ids):
                problems.append("option id: unique, 1-128 bytes")
            if not all(isinstance(o, dict) and o.get("text") for o in options):
                problems.append("option text required")
        if isinstance(selection, dict) and not selection.get("question_key"):
            problems.append("button_selection.question_key required")
    return problems
