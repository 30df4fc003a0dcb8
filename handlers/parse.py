"""Pure parsing of chat text into commands. Full-width and half-width alike."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# `#12`, `任务12`, `任务 12`, `T12` (T not glued to a preceding Latin letter).
REF = r"(?:#\s*|任务\s*|(?<![A-Za-z])[Tt])(?P<ref>\d{1,6})(?!\d)"
DONE_WORDS = r"(?:已完成|完成|已办结|办结|(?:done|finished)(?![A-Za-z]))"
PROGRESS_WORDS = r"(?:进度|进展|progress(?![A-Za-z]))"
SUPERVISOR_WORDS = {
    "批准延期": "approve_ext",
    "同意延期": "approve_ext",
    "驳回延期": "refuse_ext",
    "不同意延期": "refuse_ext",
    "催办": "urge",
    "urge": "urge",
}
REVIEW_WORDS = {"销号": "close", "close": "close", "退回": "reject", "reject": "reject"}
LIST_WORDS = {"任务", "待办", "我的任务", "任务清单", "tasks", "todo", "list"}
HELP_WORDS = {"帮助", "help", "?", "菜单", "使用说明"}
RANK_WORDS = {"排名", "红黑榜", "排行", "排行榜", "ranking", "rank"}
SEP = r"[\s,，:：、。;；]*"


@dataclass(frozen=True)
class Command:
    # done | progress | extension | list | help | pick | close | reject | approve_ext |
    # refuse_ext | urge
    kind: str
    ref: int | None = None
    percent: int | None = None
    note: str = ""


def normalize(text: str) -> str:
    """NFKC folds full-width forms (＃１２, ％, 全角空格) to half-width; spaces are collapsed."""
    text = unicodedata.normalize("NFKC", text or "")
    text = text.replace("\u200b", "")
    return re.sub(r"\s+", " ", text).strip()


def _strip_note(note: str) -> str:
    return note.strip(" ,，:：、。;；-").strip()


def _ref_and_rest(rest: str) -> tuple[int | None, str]:
    m = re.match(SEP + REF, rest)
    if m:
        return int(m.group("ref")), rest[m.end() :]
    return None, rest


def parse(text: str) -> Command | None:
    """Return the command a message carries, or None when it is not one."""
    t = normalize(text)
    low = t.lower()
    if not t:
        return None
    if low in LIST_WORDS:
        return Command("list")
    if low in HELP_WORDS:
        return Command("help")
    if low in RANK_WORDS:
        return Command("rank")
    if re.fullmatch(r"\d{1,2}", t):
        return Command("pick", ref=int(t))

    # `#12 完成 …` — reference first.
    m = re.match(REF + SEP + DONE_WORDS + r"(?P<rest>.*)$", t, re.IGNORECASE)
    if m:
        return Command("done", ref=int(m.group("ref")), note=_strip_note(m.group("rest")))

    m = re.match(DONE_WORDS + r"(?P<rest>.*)$", t, re.IGNORECASE)
    if m:
        ref, rest = _ref_and_rest(m.group("rest"))
        return Command("done", ref=ref, note=_strip_note(rest))

    m = re.match(
        r"(?P<word>批准延期|同意延期|驳回延期|不同意延期|催办|urge)(?P<rest>.*)$", t, re.IGNORECASE
    )
    if m:
        kind = SUPERVISOR_WORDS[m.group("word").lower()]
        ref, rest = _ref_and_rest(m.group("rest"))
        return Command(kind, ref=ref, note=_strip_note(rest))

    m = re.match(r"(?:申请)?(?:延期|extend(?![A-Za-z]))(?P<rest>.*)$", t, re.IGNORECASE)
    if m:
        ref, rest = _ref_and_rest(m.group("rest"))
        return Command("extension", ref=ref, note=_strip_note(rest))

    m = re.match(r"(?P<word>销号|退回|(?:close|reject)(?![A-Za-z]))(?P<rest>.*)$", t, re.IGNORECASE)
    if m:
        ref, rest = _ref_and_rest(m.group("rest"))
        return Command(REVIEW_WORDS[m.group("word").lower()], ref=ref, note=_strip_note(rest))

    m = re.match(PROGRESS_WORDS + r"(?P<rest>.*)$", t, re.IGNORECASE)
    if m:
        ref, rest = _ref_and_rest(m.group("rest"))
        pm = re.match(SEP + r"(?P<pct>\d{1,3})\s*(?:%|％|percent)?(?![\d])", rest)
        percent = None
        if pm and (pm.group(0).strip().endswith("%") or int(pm.group("pct")) <= 100):
            percent = int(pm.group("pct"))
            rest = rest[pm.end() :]
        if ref is None:
            ref, rest = _ref_and_rest(rest)
        return Command("progress", ref=ref, percent=percent, note=_strip_note(rest))
    return None
