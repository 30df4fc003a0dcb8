"""Pure parsing of chat text into commands. Full-width and half-width alike."""

from __future__ import annotations

import re
import unicodedata

from handlers.command import Command

__all__ = ["Command", "normalize", "parse"]
from handlers.dates import cn_number
from handlers.quantities import read_quantity
from handlers.reading import read

# `#12`, `任务12`, `任务 12`, `T12` (T not glued to a preceding Latin letter).
REF = r"(?:#\s*|任务\s*|(?<![A-Za-z])[Tt])(?P<ref>\d{1,6})(?!\d)"
DONE_WORDS = (
    r"(?:已经?完成|完成|已经?办结|办结|(?:已经?)?(?:整改)?到位|(?:done|finished)(?![A-Za-z]))"
)
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
LIST_WORDS = {
    "任务",
    "待办",
    "我的任务",
    "任务清单",
    "任务列表",
    "查看任务",
    "待办事项",
    "我的待办",
    "还有什么没完成",
    "tasks",
    "todo",
    "list",
}
HELP_WORDS = {"帮助", "help", "?", "？", "菜单", "使用说明", "怎么用", "用法"}
AWAITING_WORDS = {"待审核", "待销号", "审核清单", "待审", "review"}
RANK_WORDS = {"排名", "红黑榜", "排行", "排行榜", "本周排名", "ranking", "rank"}
SEP = r"[\s,，:：、。;；]*"
# Words right after 完成 that say the work is not (all) done, or talk about it.
PARTIAL = r"^\s*(?:了?一半|了?部分|率|情况|时限|进度|度|量|\d{1,3}\s*%)"
# Words between a task ref and 完成 that deny it: "#12 未完成", "#12 还没完成".
NOT_DONE = r"未|没|尚|不|将|预计|计划|准备|争取|正在"
# "完成 #30 方案制定，正在组织实施" is progress in a done claim's clothes.
STILL_GOING = r"正在|尚未|未完成|还没|没有完成|预计|下一步|待完成|仍在"
# "城关镇 #7 完成", "县水利局#23已完成": the sender names its own unit first.
UNIT_PREFIX = r"(?:\S{1,12}?(?:镇|乡|局|办|委|中心|街道|所|队|院|站)\s*)?"
GREETING = r"^(?:您好|你好|领导好|报告|汇报)[\s,，:：!！]*"
TRAILING = "?？!！。.~～ "
# A pick: "2", "第二个", "选1", "1、", "第1项".
PICK = r"(?:第|选)?(?P<n>\d{1,2}|[一二三四五六七八九十])(?:个|项|条)?[、.．。]?"


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


def _percent(text: str) -> tuple[int | None, str]:
    """A percentage written anywhere (60%, 百分之八十) and the text without it."""
    m = re.search(r"(?<![\d.])(?P<pct>\d{1,3})(?:\.\d+)?\s*(?:%|percent)", text)
    if m:
        return int(m.group("pct")), text[: m.start()] + " " + text[m.end() :]
    m = re.search(r"百分之(?P<cn>[一二两三四五六七八九十百零]{1,4})", text)
    if m:
        value = 100 if m.group("cn") == "百" else cn_number(m.group("cn"))
        if value is not None:
            return value, text[: m.start()] + " " + text[m.end() :]
    return None, text


def _classic(t: str) -> Command | None:
    """The strict grammar (`完成 #12`, `进度 #12 60%`, `延期 #12 至…`) on cleaned text."""
    low = t.lower().rstrip(TRAILING) or t.lower()
    if not t:
        return None
    if low in LIST_WORDS:
        return Command("list")
    if low in HELP_WORDS:
        return Command("help")
    if low in RANK_WORDS:
        return Command("rank")
    if low in AWAITING_WORDS:
        return Command("awaiting")
    pick = re.fullmatch(PICK, t)
    if pick:
        n = cn_number(pick.group("n"))
        return Command("pick", ref=n) if n is not None else None
    if len(set(re.findall(REF, t))) > 1:
        return Command("several", note=t)  # one report per message: which one is meant?
    quantity = read_quantity(t)  # "#12 已出栏3200头", "#21 本月已巡河2次"
    if quantity is not None:
        return Command("quantity", ref=quantity.ref, note=t)

    m = re.match(
        r"(?P<word>批准延期|同意延期|驳回延期|不同意延期|催办|urge)(?P<rest>.*)$", t, re.IGNORECASE
    )
    if m:
        kind = SUPERVISOR_WORDS[m.group("word").lower()]
        ref, rest = _ref_and_rest(m.group("rest"))
        return Command(kind, ref=ref, note=_strip_note(rest))

    m = re.match(r"(?P<word>销号|退回|(?:close|reject)(?![A-Za-z]))(?P<rest>.*)$", t, re.IGNORECASE)
    if m:
        ref, rest = _ref_and_rest(m.group("rest"))
        return Command(REVIEW_WORDS[m.group("word").lower()], ref=ref, note=_strip_note(rest))

    # `延期 #12 至…`, `#12 申请延期至…`, `能否延期至…`: 延期 wins over a 完成 in the text
    # ("完成时限申请延期至12月20日" asks for time, it reports nothing done).
    m = re.match(
        r"(?:" + REF + SEP + r")?(?:[^\d#]{0,8}?)(?:申请|能否|请求)?(?:延期|extend(?![A-Za-z]))"
        r"(?P<rest>.*)$",
        t,
        re.IGNORECASE,
    )
    if m:
        ref = int(m.group("ref")) if m.group("ref") else None
        rest = m.group("rest")
        if ref is None:
            ref, rest = _ref_and_rest(rest)
        return Command("extension", ref=ref, note=_strip_note(rest))

    # `#12 进度 60%`, `进度 #12 60%`, `进展：已完成选址 60%`, `#50 60%`.
    m = re.match(
        r"(?:" + REF + SEP + r")?" + PROGRESS_WORDS + r"(?P<rest>.*)$", t, re.IGNORECASE
    ) or re.fullmatch(r"(?:" + REF + SEP + r")?(?P<rest>\d{1,3}\s*%)", t)
    if m:
        ref = int(m.group("ref")) if m.group("ref") else None
        rest = m.group("rest")
        if ref is None:
            ref, rest = _ref_and_rest(rest)
        percent, rest = _percent(rest)
        if percent is not None and ref is None:
            bare_ref = re.fullmatch(SEP + r"(?P<n>\d{1,6})" + SEP, rest)
            if bare_ref:  # "进度 56 80%": the number before the percentage is the task
                ref, rest = int(bare_ref.group("n")), ""
        if percent is None:
            # A bare number is a percentage only on its own: "进度 60", not "进展 3个村…".
            bare = re.fullmatch(SEP + r"(?P<pct>\d{1,3})" + SEP, rest)
            if bare:
                percent, rest = int(bare.group("pct")), ""
        if ref is None:
            ref, rest = _ref_and_rest(rest)
        return Command("progress", ref=ref, percent=percent, note=_strip_note(rest))

    # `#12 完成`, `#7 已整改到位`, `12号任务完成`.
    m = re.match(
        UNIT_PREFIX
        + r"(?:"
        + REF
        + r"|(?:第)?(?P<num>\d{1,6})号(?:任务)?)"
        + SEP
        + r"(?P<mid>[^\d#%]{0,6}?)"
        + DONE_WORDS
        + r"(?P<rest>.*)$",
        t,
        re.IGNORECASE,
    )
    if m and not re.search(NOT_DONE, m.group("mid")):
        ref = int(m.group("ref") or m.group("num"))
        return _done(ref, m.group("rest"), m.group("rest"), t)

    m = re.match(r"(?:已经|已)?" + DONE_WORDS + r"(?P<rest>.*)$", t, re.IGNORECASE)
    if m:
        rest = m.group("rest")
        bare = re.fullmatch(SEP + r"(?P<n>\d{1,6})" + SEP, rest)
        if bare:  # "完成 12": the number is the task
            return Command("done", ref=int(bare.group("n")))
        ref, note = _ref_and_rest(rest)
        return _done(ref, rest, note, t)
    return None


def _done(ref: int | None, after: str, note: str, text: str) -> Command:
    """A done claim, unless the words right after 完成 say it is not whole (完成了一半,
    完成率50%, 完成情况：…; a percentage is progress) or the note says work goes on."""
    if re.match(PARTIAL, after):
        percent, rest = _percent(note if ref is not None else after)
        if percent is not None and percent < 100:
            rest = re.sub(r"^\s*(?:率|度|进度)", "", rest)
            return Command("progress", ref=ref, percent=percent, note=_strip_note(rest))
        return Command("partial", ref=ref, note=text)
    note = _strip_note(re.sub(r"^[了啦啊]+", "", _strip_note(note)))
    if re.search(STILL_GOING, note):
        return Command("partial", ref=ref, note=text)
    return Command("done", ref=ref, note=note)


def parse(text: str) -> Command | None:
    """Return the command a message carries, or None when it is not one.

    `handlers.reading` reads what officials write loosely (greetings, 12号, 八成, questions,
    another unit's words) and hands the strict forms to `_classic`."""
    return read(normalize(text), _classic)
