"""How an office's sheet writes what the ledger's plain columns do not: recurring duties
(完成时限 长期 / 每月 / 每季度 / 每半年 / 每年 / 汛期每日, or 每月…不少于N次 in the
content), quantified targets (目标 5000头, ≥98%), 关键节点 without dates, and units the
bot does not know yet.

Pure functions of cell text; `bot.excel.sheet` calls them while it reads a row.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from schedules.recurrence import DAY, HALF_YEAR, MONTH, QUARTER, WEEK, YEAR, Recurrence

EVERY_WORDS = {
    "每日": DAY,
    "每天": DAY,
    "每周": WEEK,
    "每月": MONTH,
    "每季度": QUARTER,
    "每季": QUARTER,
    "按日": DAY,
    "按周": WEEK,
    "按月": MONTH,
    "按季度": QUARTER,
    "按季": QUARTER,
    "每半年": HALF_YEAR,
    "按半年": HALF_YEAR,
    "每年度": YEAR,
    "每年": YEAR,
    "按年度": YEAR,
    "按年": YEAR,
}
EVERY_LABELS = {
    DAY: "每日",
    WEEK: "每周",
    MONTH: "每月",
    QUARTER: "每季度",
    HALF_YEAR: "每半年",
    YEAR: "每年",
}
# Standing duties without a frequency of their own: reported on monthly.
STANDING = ("长期", "常态化", "长期坚持", "持续推进", "持续开展")
# Longest first: 每半年 is not 每年, 每年度 is.
FREQ = re.compile(
    r"(每日|每天|每周|每月|每季度|每季|每半年|每年度|每年|按日|按周|按月|按季度|按季|按半年|按年度|按年)"
)
TIMES = re.compile(
    r"(?:不少于|至少|不低于|不得少于)?\s*(\d{1,3}|[一二两三四五六七八九十])\s*(?:次|遍|趟|回)"
)
CN_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8}
CN_DIGITS |= {"九": 9, "十": 10}
TARGET = re.compile(
    r"^(?:目标|指标)?[:：]?\s*(?:≥|>=|不低于|不少于|达到|达)?\s*"
    r"(?P<num>\d+(?:\.\d+)?)\s*(?P<unit>%|[^\d\s%]{1,4}?)\s*(?:以上|及以上)?$"
)
# Steps between undated milestones when the key work has no `[plans]` template.
DEFAULT_STEP = 5


@dataclass(frozen=True)
class Duty:
    recurrence: Recurrence
    how: str  # how the sheet's words were read, for the dry run


def read_duty(deadline_text: str, content: str, seasons: Mapping[str, Any]) -> Duty | None:
    """A recurring duty, when 完成时限 says so (长期, 每月, 汛期每日 …); the content may give
    the frequency and the times (每月巡河不少于2次). None for a dated one-off task."""
    cell = re.sub(r"\s+", "", deadline_text or "")
    if not cell:
        return None
    season = next((s for s in sorted(seasons, key=len, reverse=True) if s in cell), None)
    if season is None and "防火期" in cell:
        season = next((s for s in seasons if "防火" in s), None)
    freq = FREQ.search(cell)
    standing = any(w in cell for w in STANDING)
    from_content = FREQ.search(content or "")
    # "每月巡河不少于2次" in the content makes a duty even under a dated 完成时限.
    counted = from_content is not None and TIMES.search(content[from_content.end() :])
    if freq is None and not standing and season is None and not counted:
        return None
    if re.search(r"\d{1,2}\s*月", cell) and freq is None and not counted:
        return None  # "长期坚持，12月底前见效": a dated task
    found = freq or from_content
    every_word = found.group(1) if found is not None else None
    every = EVERY_WORDS[every_word] if every_word else (DAY if season and "日" in cell else MONTH)
    times = 1
    m = TIMES.search(cell[freq.end() :]) if freq is not None else None
    content_read = freq is None and from_content is not None
    if m is None and from_content is not None:
        m = TIMES.search(content[from_content.end() :])
        content_read = content_read or m is not None
    if m:
        n = m.group(1)
        times = int(n) if n.isdigit() else CN_DIGITS.get(n, 1)
    rec = Recurrence(every, max(1, times), season)
    words = [f"“{deadline_text.strip()}”"]
    if content_read and from_content is not None:
        words.append(f"内容“{from_content.group(1)}…{times}次”")
    how = "、".join(words) + " → " + duty_label(rec)
    if every_word is None:
        how += "（未写频次，按每月报送一次）"
    return Duty(rec, how)


def duty_label(rec: Recurrence) -> str:
    """汛期每日, 每月不少于2次: a recurrence as the sheet writes it (read back the same)."""
    text = (rec.season or "") + EVERY_LABELS[rec.every]
    return text + (f"不少于{rec.times}次" if rec.times > 1 else "")


def read_target(text: Any) -> tuple[float, str] | None:
    """目标 5000头, ≥98%, 不低于98%: (value, unit); None for an empty cell."""
    cell = re.sub(r"\s+", "", str(text or ""))
    if not cell:
        return None
    m = TARGET.match(cell)
    if m is None:
        raise ValueError(cell)
    return float(m.group("num")), m.group("unit")


def target_label(value: float, unit: str) -> str:
    number = f"{value:g}" if value != int(value) else str(int(value))
    return f"≥{number}%" if unit == "%" else f"{number}{unit}"


def spread_plan(
    names: Sequence[str], template: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Undated 关键节点 in the sheet's order, spread backward from the deadline by the key
    work's template: the last name takes the template's last (smallest) offset, and so on
    back; names beyond the template step back DEFAULT_STEP workdays each."""
    offsets = sorted((int(m["offset"]) for m in template), reverse=True)
    out = []
    n = len(names)
    for k, name in enumerate(names):
        from_end = n - k  # 1 for the last milestone
        if from_end <= len(offsets):
            offset = offsets[len(offsets) - from_end]
        else:
            base = offsets[0] if offsets else 0
            offset = base + DEFAULT_STEP * (from_end - len(offsets))
        out.append({"name": name, "offset": offset})
    return out


def unit_kind(name: str) -> str:
    """A new unit's kind from its name: 乡/镇 (and 街道) are townships, the rest departments."""
    core = re.sub(r"(人民政府|党委|政府)$", "", name)
    return "township" if re.search(r"(乡|镇|街道)$", core) else "department"


QUARTER_NUMBERS = {"一": 1, "二": 2, "三": 3, "四": 4, "1": 1, "2": 2, "3": 3, "4": 4}
MONTH_PART = {"上旬": 10, "中旬": 20}


def loose_deadline(text: str, year: int) -> dt.date | None:
    """Deadlines offices write without a day, read as the last day they allow: 全年/年内/每年
    → 12月31日, 上半年 → 6月30日, 三季度(末) → 9月30日, 2026年12月 / 6-9月 → the month's
    end, 10月中旬 → 10月20日, 12.31 → 12月31日. None when the text is none of these."""
    cell = re.sub(r"\s+", "", text or "")
    m = re.match(r"^(?:(\d{4})年)?(?:全年|年内|本年度?|每年|每半年|下半年|按时间节点|按节点)", cell)
    if m:
        return dt.date(int(m.group(1) or year), 12, 31)
    m = re.match(r"^(?:(\d{4})年)?上半年", cell)
    if m:
        return dt.date(int(m.group(1) or year), 6, 30)
    m = re.match(r"^(?:(\d{4})年)?(?:第)?([一二三四1-4])季度", cell)
    if m:
        return _month_end(int(m.group(1) or year), 3 * QUARTER_NUMBERS[m.group(2)])
    m = re.match(
        r"^(?:(\d{4})年)?(?:\d{1,2}月?[-—~至到])?(\d{1,2})月(上旬|中旬|下旬|份)?(?:前|之前|以前|底)?",
        cell,
    )
    if m and 1 <= int(m.group(2)) <= 12:
        y, month = int(m.group(1) or year), int(m.group(2))
        day = MONTH_PART.get(m.group(3) or "")
        return dt.date(y, month, day) if day else _month_end(y, month)
    m = re.match(r"^(\d{4})\.(\d{1,2})(?:前|之前|底)?$", cell)
    if m and 1 <= int(m.group(2)) <= 12:
        return _month_end(int(m.group(1)), int(m.group(2)))
    m = re.match(r"^(\d{1,2})\.(\d{1,2})(?:前|之前)?$", cell)
    if m:
        try:
            return dt.date(year, int(m.group(1)), int(m.group(2)))
        except ValueError:
            return None
    return None


def _month_end(year: int, month: int) -> dt.date:
    nxt = dt.date(year + 1, 1, 1) if month == 12 else dt.date(year, month + 1, 1)
    return nxt - dt.timedelta(days=1)


def year_end(year: int) -> dt.date:
    """A recurring duty's task deadline: the end of the sheet's year."""
    return dt.date(year, 12, 31)
