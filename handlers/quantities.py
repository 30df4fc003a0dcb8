"""Quantities in chat: "#12 已出栏3200头", "#21 本月已巡河2次", "#30 办件满意度98.5%".

Pure parsing, kept apart from `handlers/parse.py` (which only asks `read_quantity` whether
a message carries one). A count (次, 趟, 遍, 回) counts toward a recurring duty's current
occurrence; any other measure is a value against the task's target. Words such as 已, 累计,
本月 make the number the running total; 新增, 又, 再 add it to what was reported before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# The task reference, as `handlers.parse.REF` reads it (kept in step by tests/test_quantities).
REF = r"(?:#\s*|任务\s*|(?<![A-Za-z])[Tt])(?P<ref>\d{1,6})(?!\d)"
SEP = r"[\s,，:：、。;；]*"
COUNT_UNITS = ("次", "趟", "遍", "回")
# Longest first, so 人次 is not read as 人 and 万头 not as 头.
MEASURES = (
    "人次",
    "公里",
    "千米",
    "公顷",
    "万元",
    "万头",
    "万只",
    "头",
    "只",
    "匹",
    "户",
    "人",
    "个",
    "件",
    "起",
    "处",
    "家",
    "所",
    "座",
    "条",
    "米",
    "亩",
    "吨",
    "元",
    "台",
    "辆",
    "场",
    "篇",
    "份",
    "批",
    "栋",
    "套",
    "株",
    "棵",
    *COUNT_UNITS,
)
# A percentage is a value only after the name of a rate ("满意度98.5%"); "#12 60%" stays
# a progress report.
RATE = r"(?:满意度|满意率|合格率|覆盖率|到位率|达标率|办结率|好评率|知晓率|参保率|接种率)"
# 上半年 / 下半年 / 本半年: the occurrence of a half-yearly duty ("上半年已开展演练1次").
PERIOD = (
    r"(?:本月|本周|本季度?|(?:今年)?[上下]半年|本半年度?|今年|本年度?|当月|当周|截至目前|目前"
    r"|累计|共计?)"
)
ADD = r"(?:新增|又|再|增加|今天|今日)"
# Words that make the message a done claim, a progress report or a denial, not a quantity.
OTHER = r"完成|办结|到位|进度|进展|延期|未|没|尚|计划|预计|争取|目标|还有|还剩|剩|还差|差"
# After the number: what is still left ("还有3个村没排查完") is not what was done.
LEFT = r"未|没|尚|剩|差|待"
NUMBER = r"(?P<num>\d+(?:\.\d+)?)"


@dataclass(frozen=True)
class Quantity:
    ref: int | None
    amount: float
    unit: str  # 头, 次, %
    cumulative: bool  # the running total (已, 本月, 累计), else an addition (新增)

    @property
    def is_count(self) -> bool:
        return self.unit in COUNT_UNITS


_UNIT = "|".join(re.escape(u) for u in MEASURES)
_BODY = re.compile(
    r"(?P<lead>[^\d#%]{0,16}?)" + NUMBER + r"\s*(?:(?P<unit>" + _UNIT + r")|(?P<pct>%))"
)


def read_quantity(text: str) -> Quantity | None:
    """The quantity a (normalized) message reports, or None.

    It needs a task reference or a period word first ("本月已巡河2次"), so a note that
    merely mentions a number ("进展 3个村已完成") is left to the other readers.
    """
    m = re.match(r"\s*" + REF + SEP + r"(?P<rest>.*)$", text)
    ref = int(m.group("ref")) if m else None
    rest = m.group("rest") if m else text
    if ref is None and not re.match(r"\s*" + PERIOD, rest):
        return None
    body = _BODY.match(rest)
    if body is None:
        return None
    lead = body.group("lead")
    tail = rest[body.end() :]
    if re.search(OTHER, lead) or re.search(REF, tail) or re.search(LEFT, tail):
        return None
    unit = body.group("unit") or "%"
    if body.group("pct") and not re.search(RATE + r"\s*$", lead):
        return None
    cumulative = not re.search(ADD, lead)
    return Quantity(ref, float(body.group("num")), unit, cumulative)
