"""Target dates as officials write them: 8月15日, 2026年9月30日, 下周五, 月底, 9月底, 15号 …

A pure function of the text and today; a date without a year that has already passed this
year means next year.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re

import cn2an

WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def _safe(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _future(today: dt.date, month: int, day: int | None) -> dt.date | None:
    """This year's date, or next year's if this year's has passed."""
    # 2月29日 said in a common year means the next leap year's, up to four years on.
    for year in range(today.year, today.year + 5):
        d = _month_end(year, month) if day is None else _safe(year, month, day)
        if d is not None and d >= today:
            return d
    return None


def cn_number(text: str) -> int | None:
    """An integer written in digits or Chinese numerals (十五, 两百, 一百零一); None when it
    is not one (十十). cn2an does the reading: hand-written readers got 一百 and 十十 wrong."""
    if text.isdigit():
        return int(text)
    try:
        value = cn2an.cn2an(text, "normal")
    except (ValueError, KeyError, IndexError):
        return None
    return int(value) if float(value).is_integer() else None


NUM = r"(\d{1,2}|[一二两三四五六七八九十]{1,3})"

PATTERNS: list[tuple[str, str]] = [
    ("ymd", r"(\d{4})\s*[年\-/.]\s*(\d{1,2})\s*[月\-/.]\s*(\d{1,2})\s*[日号]?"),
    ("ym_end", r"(\d{4})\s*年\s*" + NUM + r"\s*月\s*(?:底|末)"),
    ("y_end", r"(\d{4})\s*年\s*(?:底|末)"),
    ("year_end", r"(?:今年)?年底|年末"),
    ("month_end_of", NUM + r"\s*月\s*(?:底|末|末尾)"),
    ("md", NUM + r"\s*月\s*" + NUM + r"\s*[日号]"),
    ("md_slash", r"(\d{1,2})/(\d{1,2})(?!\d)"),
    ("next_month_end", r"下(?:个)?月\s*(?:底|末)"),
    ("month_end", r"(?:本月|这个月|当月)?\s*月\s*(?:底|末)"),
    ("week", r"(下下|下|本|这|这个|下个)?\s*(?:周|星期|礼拜)\s*([一二三四五六日天])"),
    ("relative", r"(今天|明天|后天|大后天)"),
    ("in_days", NUM + r"\s*天(?:后|以后|之后|内)"),
    ("day_only", r"(?<![\d月])" + NUM + r"\s*[日号]"),
]


def date_mention(text: str, today: dt.date) -> tuple[dt.date | None, str, tuple[int, int]] | None:
    """The first thing written like a date in `text`: its date (None when no such day
    exists, as 13月40日), its words and where they stood; None when nothing looks like one."""
    mentions = sorted(
        (m.start(), i, kind, m)
        for i, (kind, pattern) in enumerate(PATTERNS)
        for m in re.finditer(pattern, text)
    )
    if not mentions:
        return None
    # The first that is a real day wins: "完成 8/40 户，延至12月15日" means 12月15日 — but
    # not a piece of an impossible one ("十二月十十日" has no "十日" in it to fall back on).
    refused: list[tuple[int, int]] = []
    for _, _, kind, m in mentions:
        if any(a <= m.start() and m.end() <= b for a, b in refused):
            continue
        d = _resolve(kind, m, today)
        if d is not None:
            return d, m.group(0), m.span()
        refused.append(m.span())
    _, _, _, first = mentions[0]
    return None, first.group(0), first.span()


def parse_date(text: str, today: dt.date) -> tuple[dt.date, tuple[int, int]] | None:
    """The first date written in `text` and where it stood (start, end), or None."""
    found = date_mention(text, today)
    if found is None or found[0] is None:
        return None
    return found[0], found[2]


def _resolve(kind: str, m: re.Match[str], today: dt.date) -> dt.date | None:
    g = m.groups()
    if kind == "ymd":
        return _safe(int(g[0]), int(g[1]), int(g[2]))
    if kind == "year_end":
        return dt.date(today.year, 12, 31)
    if kind == "ym_end":
        month = cn_number(g[1])
        return _month_end(int(g[0]), month) if month and 1 <= month <= 12 else None
    if kind == "y_end":
        return dt.date(int(g[0]), 12, 31)
    if kind in ("md", "md_slash"):
        month, day = cn_number(g[0]), cn_number(g[1])
        if month is None or day is None or not 1 <= month <= 12:
            return None
        return _future(today, month, day)
    if kind == "month_end_of":
        month = cn_number(g[0])
        return _future(today, month, None) if month and 1 <= month <= 12 else None
    if kind == "next_month_end":
        year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
        return _month_end(year, month)
    if kind == "month_end":
        return _month_end(today.year, today.month)
    if kind == "week":
        prefix, target = g[0] or "", WEEKDAYS[g[1]]
        monday = today - dt.timedelta(days=today.weekday())
        weeks = {"下下": 2, "下": 1, "下个": 1}.get(prefix, 0)
        d = monday + dt.timedelta(weeks=weeks, days=target)
        if not prefix and d < today:  # a bare 周五 already past means next week's
            d += dt.timedelta(weeks=1)
        return d
    if kind == "relative":
        return today + dt.timedelta(days={"今天": 0, "明天": 1, "后天": 2, "大后天": 3}[g[0]])
    if kind == "in_days":
        n = cn_number(g[0])
        return today + dt.timedelta(days=n) if n is not None else None
    if kind == "day_only":
        day = cn_number(g[0])
        if day is None or not 1 <= day <= 31:
            return None
        for months_ahead in range(3):
            year = today.year + (today.month - 1 + months_ahead) // 12
            month = (today.month - 1 + months_ahead) % 12 + 1
            found = _safe(year, month, day)
            if found is not None and found >= today:
                return found
    return None


# Dates a ledger (台账) writes: absolute ones only — a sheet has no "today" to be relative to.
LEDGER_KINDS = ("ymd", "ym_end", "y_end", "year_end", "month_end_of", "md", "md_slash")


def ledger_dates(text: str, year: int) -> list[tuple[dt.date, tuple[int, int]]]:
    """Every date written in a ledger cell, in order: 2026年9月30日, 9月底, 12月31日前, 年底,
    2026-09-30, 9/30. A date without a year is in the year last written before it in the
    cell, else in `year` (the ledger's year)."""
    patterns = [(k, p) for k, p in PATTERNS if k in LEDGER_KINDS]
    found: list[tuple[dt.date, tuple[int, int]]] = []
    pos = 0
    while True:
        best: tuple[int, int, str, re.Match[str]] | None = None
        for kind, pattern in patterns:
            m = re.compile(pattern).search(text, pos)
            if m and (best is None or (m.start(), -m.end()) < (best[0], -best[1])):
                best = (m.start(), m.end(), kind, m)
        if best is None:
            return found
        start, end, kind, m = best
        d = _resolve(kind, m, dt.date(year, 1, 1))
        if d is not None:
            found.append((d, (start, end)))
            if kind in ("ymd", "ym_end", "y_end"):
                year = d.year  # "2027年6月底…12月底" : the later date is in 2027 too
        pos = max(end, start + 1)
