"""Backward scheduling (倒排工期): milestone dates from a deadline and workday offsets."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from schedules.calendar import WorkCalendar


@dataclass(frozen=True)
class Milestone:
    name: str
    date: dt.date
    # The percent a unit should have reported by this date for the milestone to count as met.
    percent: int


def milestone_dates(
    deadline: dt.date, plan: Sequence[Mapping[str, Any]], cal: WorkCalendar
) -> list[Milestone]:
    """Milestones in date order; each is `offset` workdays before the deadline.

    A deadline that itself falls on a non-workday counts back from the last workday
    before it, so a milestone never lands on a holiday.
    """
    anchor = cal.previous_workday_or_same(deadline)
    ordered = sorted(plan, key=lambda m: -int(m["offset"]))
    n = len(ordered)
    out = []
    for i, m in enumerate(ordered):
        percent = int(m.get("percent") or round(100 * (i + 1) / (n + 1)))
        out.append(Milestone(str(m["name"]), cal.add_workdays(anchor, -int(m["offset"])), percent))
    return out


def effective_plan(
    task_plan: Sequence[Mapping[str, Any]] | None,
    key_work: str,
    templates: Mapping[str, Sequence[Mapping[str, Any]]] | None,
) -> Sequence[Mapping[str, Any]]:
    """A task's own milestones, else its key work's template from `[plans]`."""
    if task_plan:
        return task_plan
    return (templates or {}).get(key_work, ())
