"""What an extension request says: the new date (or how much later), and the reason only.

"因雨雪天气影响施工，#12申请延期至12月15日" and "#12 申请延期至12月15日，原因：雨雪天气影响施工"
carry the same reason; the words of the request and of the date are not part of it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from handlers.dates import cn_number, date_mention

# 春节 (正月初一) by year: a fixed astronomical table, so 春节前 needs no lunar library.
SPRING_FESTIVAL = {
    2025: dt.date(2025, 1, 29),
    2026: dt.date(2026, 2, 17),
    2027: dt.date(2027, 2, 6),
    2028: dt.date(2028, 1, 26),
    2029: dt.date(2029, 2, 13),
    2030: dt.date(2030, 2, 3),
    2031: dt.date(2031, 1, 23),
    2032: dt.date(2032, 2, 11),
}
DURATION = re.compile(
    r"(?P<n>\d{1,2}|[一二两三四五六七八九十半])\s*(?:个)?\s*(?P<unit>周|星期|礼拜|天|日|月)"
)
HOLIDAY = re.compile(r"(?P<name>元旦|春节)(?:前|之前|以前)")
REQUEST = re.compile(
    r"(?:特|现|我们|我镇|我乡|我局|想|拟)?(?:申请|请求|能否|可否|是否可以|可以)?"
    r"(?:延期|延后|推迟|顺延|延长|宽限|往后推)(?:申请)?"
)
BOILERPLATE = re.compile(
    r"^(?:妥否|请批示|请审批|请领导审批|请领导批示|特此申请|特此报告|谢谢|可以吗|行吗|好吗|"
    r"未完成|尚未完成|还没完成|暂未完成|关于.*|.*工作)$"
)
REASON_HEAD = re.compile(r"^(?:原因|理由|延期原因|情况说明)?[\s:：]*(?:因为|由于|因)?")
DATE_GLUE = re.compile(r"(?:至|到|延至|延到|推迟到|顺延至|延后至|延后到)\s*$")
# A yearless date this far in the past was meant as past, not as next year's.
PAST_WINDOW_DAYS = 183


@dataclass(frozen=True)
class Reading:
    date: dt.date | None = None
    shift_days: int | None = None  # "延期一周": from the item's deadline
    past: dt.date | None = None  # a date already gone
    bad_words: str = ""  # a date that does not exist (13月40日)
    reason: str = ""


def read_extension(text: str, today: dt.date) -> Reading | None:
    """None when the text names no date and no span of time."""
    date: dt.date | None = None
    shift: int | None = None
    span: tuple[int, int] | None = None
    h = HOLIDAY.search(text)
    if h:
        span = h.span()
        if h.group("name") == "元旦":
            date = dt.date(today.year, 12, 31)
        else:
            date = next(
                (d - dt.timedelta(days=1) for y, d in sorted(SPRING_FESTIVAL.items()) if d > today),
                None,
            )
    mention = date_mention(text, today) if date is None else None
    if mention is not None:
        found, words, span = mention
        if found is None:
            return Reading(bad_words=words)
        date = found
        this_year = _this_year(found, today)
        if "年" not in words and this_year is not None and this_year < today:
            if (today - this_year).days <= PAST_WINDOW_DAYS:
                return Reading(past=this_year, reason=_reason(text, span))
    if date is None:
        d = DURATION.search(text)
        if d is None:
            return None
        span = d.span()
        n = 0.5 if d.group("n") == "半" else cn_number(d.group("n"))
        if n is None:
            return None
        per = {"周": 7, "星期": 7, "礼拜": 7, "天": 1, "日": 1, "月": 30}[d.group("unit")]
        shift = int(n * per)
    assert span is not None
    return Reading(date=date, shift_days=shift, reason=_reason(text, span))


def _this_year(d: dt.date, today: dt.date) -> dt.date | None:
    try:
        return d.replace(year=today.year)
    except ValueError:
        return None


def _reason(text: str, span: tuple[int, int]) -> str:
    """The clauses that are neither the request nor its date, without 原因/因为 heads."""
    rest = text[: span[0]] + "\u0000" + text[span[1] :]
    clauses = re.split(r"[,，。;；!！?？\n]|(?=因为|由于|原因[:：])", rest)
    kept = []
    for clause in clauses:
        if "\u0000" in clause:
            before, after = clause.split("\u0000", 1)
            # "申请延期至[date]完成" : the request; words after the date may be a reason.
            after = re.sub(r"^\s*(?:之前|以前|前)?\s*(?:完成|办结|截止)?\s*", "", after)
            # Before the request stand the task's words, unless a reason leads in: keep that.
            lead = re.search(r"(?:因为|由于|因)(?P<why>.+)$", REQUEST.sub(" ", before))
            why = DATE_GLUE.sub("", lead.group("why")) if lead else ""
            clause = why + " " + after
        else:
            clause = REQUEST.sub(" ", clause)
            lead = re.search(r"(?<!原)(?:因为|由于|因)(?P<why>.+)$", clause)
            if lead and lead.start() > 0:  # "森林防火巡查因山区路远": the task's words go
                clause = lead.group("why")
        clause = re.sub(r"#\s*\d+|任务|事项|可以吗|行吗|好吗|我们|特", " ", clause)
        clause = REASON_HEAD.sub("", clause.strip(" :：、")).strip(" :：、")
        clause = re.sub(r"\s+", "", clause)
        if clause and not BOILERPLATE.match(clause):
            kept.append(clause)
    return "，".join(kept)
