"""Traffic lights (红黄绿灯), derived from data and today, never stored."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from schedules.calendar import WorkCalendar
from schedules.plan import Milestone

GREEN, YELLOW, RED, DONE = "green", "yellow", "red", "done"
LIGHT_LABELS = {GREEN: "绿灯", YELLOW: "黄灯", RED: "红灯", DONE: "完成"}
LIGHT_ICONS = {GREEN: "🟢", YELLOW: "🟡", RED: "🔴", DONE: "✅"}


@dataclass(frozen=True)
class Light:
    color: str
    reason: str  # short Chinese explanation shown next to the light
    due: dt.date | None = None  # the date that decided it

    @property
    def label(self) -> str:
        return LIGHT_LABELS[self.color]

    @property
    def icon(self) -> str:
        return LIGHT_ICONS[self.color]


def light(
    *,
    is_open: bool,
    percent: int,
    deadline: dt.date,
    milestones: Sequence[Milestone],
    today: dt.date,
    cal: WorkCalendar,
    warning_workdays: int,
    awaiting_review: bool = False,
) -> Light:
    """Red when a deadline or unmet milestone has passed; yellow within the warning window.
    A reported item is done for nudging and scoring; its reason says it awaits review."""
    if not is_open:
        return Light(DONE, "已报完成，待督查室审核" if awaiting_review else "已完成")
    if today > deadline:
        return Light(RED, f"已逾期 {cal.workdays_between(deadline, today)} 个工作日", deadline)
    pending = [m for m in milestones if percent < m.percent]
    for m in pending:
        if today > m.date:
            return Light(RED, f"节点“{m.name}”已逾期", m.date)
    targets = [(m.date, f"节点“{m.name}”") for m in pending] + [(deadline, "完成时限")]
    for date, what in sorted(targets):
        left = cal.workdays_between(today, date)
        if left <= warning_workdays:
            when = "今天到期" if date == today else f"还剩 {left} 个工作日"
            return Light(YELLOW, f"{what}{when}", date)
    return Light(GREEN, "按计划推进", None)
