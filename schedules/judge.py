"""How a ledger item stands on a day: its light, how late it is and what it costs — judged
once, here, for the ledger, the nudges and the scoring alike.

Every answer comes with a structured `Reason` (what decided it, as data); the words are the
templates' business (`handlers/templates/_reason.j2`).

Dates: a deadline or milestone that falls on a non-workday (a Saturday, inside 国庆) is *due*
on the last workday before it — that day gets the due-day nudges and reads "到期前最后一个
工作日" — but the item is late only after the date itself, and its lateness counts the
workdays after that date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from schedules.calendar import WorkCalendar
from schedules.plan import Milestone
from schedules.rules import Rules

GREEN, YELLOW, RED, DONE = "green", "yellow", "red", "done"

# Reason kinds. For a light:
AWAITING_REVIEW = "awaiting_review"  # reported done, the office has not closed it yet
CLOSED = "closed"  # 已销号
OVERDUE = "overdue"  # the deadline has passed, still open
MILESTONE_OVERDUE = "milestone_overdue"  # an unmet milestone's date has passed
DUE_TODAY = "due_today"  # the deadline (or a milestone) is today
DUE_LAST_WORKDAY = "due_last_workday"  # falls on a non-workday; today is the last before it
DUE_SOON = "due_soon"  # within the warning window
ON_TRACK = "on_track"
# For a score (what it cost):
ON_TIME = "on_time"
LATE = "late"  # done, N workdays after the deadline
OPEN_OVERDUE = "open_overdue"  # not done by the evaluation day
EXTENDED = "extended"  # done within an approved extension: capped
EXTENDED_LATE = "extended_late"  # done after even the extended deadline
# Scored by how much of the target (or a recurring duty's count) was reached, alone or mixed
# with timeliness (`[key_works]` scoring); `workdays` is still the lateness.
ATTAINED = "attainment"
MIXED = "mix"


@dataclass(frozen=True)
class Reason:
    """What decided a light or a score, as data."""

    kind: str
    date: dt.date | None = None  # the deadline or milestone concerned
    workdays: int = 0  # workdays late, or workdays left
    milestone: str = ""  # the milestone's name, for milestone reasons
    attained: float | None = None  # of a target (0.64), for attainment and mix scores


@dataclass(frozen=True)
class Facts:
    """A ledger item as the judge needs it."""

    deadline: dt.date  # effective: an approved extension's new deadline
    status: str = "open"  # open | reported | closed
    percent: int = 0
    milestones: Sequence[Milestone] = ()
    done_on: dt.date | None = None  # the local day it was reported done
    extended: bool = False  # an approved extension moved the deadline


@dataclass(frozen=True)
class Standing:
    """The traffic light (红黄绿灯) on a day."""

    color: str
    reason: Reason
    due: dt.date | None = None  # the date that decided it


@dataclass(frozen=True)
class Score:
    """What an item scores when judged on a day, and why it lost points (if it did)."""

    value: float
    late_workdays: int
    overdue: bool  # still open past its deadline
    reason: Reason


def due_day(date: dt.date, cal: WorkCalendar) -> dt.date:
    """The workday a date is due on: itself, or the last workday before it."""
    return cal.previous_workday_or_same(date)


def late_workdays(date: dt.date, on: dt.date, cal: WorkCalendar) -> int:
    """Workdays after `date` up to `on` (0 when `on` is not after it)."""
    return cal.workdays_between(date, on) if on > date else 0


def workdays_left(date: dt.date, on: dt.date, cal: WorkCalendar) -> int:
    """Workdays from `on` to the day `date` is due (0 on that day or past it)."""
    return max(0, cal.workdays_between(on, due_day(date, cal)))


def standing(item: Facts, on: dt.date, rules: Rules, cal: WorkCalendar) -> Standing:
    """Red when the deadline or an unmet milestone has passed; yellow within the warning
    window of either; green otherwise. A reported item is done for nudging and scoring."""
    if item.status == "reported":
        return Standing(DONE, Reason(AWAITING_REVIEW))
    if item.status == "closed":
        return Standing(DONE, Reason(CLOSED))
    if on > item.deadline:
        late = late_workdays(item.deadline, on, cal)
        return Standing(RED, Reason(OVERDUE, item.deadline, late), item.deadline)
    pending = [m for m in item.milestones if item.percent < m.percent]
    for m in pending:
        if on > m.date:
            late = late_workdays(m.date, on, cal)
            return Standing(RED, Reason(MILESTONE_OVERDUE, m.date, late, m.name), m.date)
    targets = [(m.date, m.name) for m in pending] + [(item.deadline, "")]
    for date, name in sorted(targets, key=lambda t: t[0]):
        reason = approaching(date, on, rules.warning_workdays, cal, name)
        if reason is not None:
            return Standing(YELLOW, reason, date)
    return Standing(GREEN, Reason(ON_TRACK))


def due_today(date: dt.date, on: dt.date, milestone: str = "") -> Reason:
    """The reason of a date due on `on`: the date itself, or the last workday before it."""
    return Reason(DUE_TODAY if on == date else DUE_LAST_WORKDAY, date, 0, milestone)


def approaching(
    date: dt.date, on: dt.date, window: int, cal: WorkCalendar, milestone: str = ""
) -> Reason | None:
    """Why a date not yet passed is close, or None when it is further than `window`
    workdays away."""
    if on == date or on == due_day(date, cal):
        return due_today(date, on, milestone)
    left = workdays_left(date, on, cal)
    if left <= window:
        return Reason(DUE_SOON, date, left, milestone)
    return None


def score(item: Facts, on: dt.date, rules: Rules, cal: WorkCalendar) -> Score | None:
    """The score of an item judged on `on`; None when it is not yet due (nothing to judge).

    On time 100; late 100 − penalty per late workday, never below the floor; still open past
    its deadline 0; with an approved extension judged against the new deadline but capped. A
    completion reported after `on` is not known on that day: the item is judged as open.
    """
    done_on = item.done_on if item.done_on is not None and item.done_on <= on else None
    if done_on is None:
        if item.deadline >= on:
            return None
        late = late_workdays(item.deadline, on, cal)
        return Score(0.0, late, True, Reason(OPEN_OVERDUE, item.deadline, late))
    late = late_workdays(item.deadline, done_on, cal)
    value = rules.score_on_time
    if late:
        value = max(
            rules.score_late_floor,
            rules.score_on_time - rules.score_late_penalty_per_workday * late,
        )
    kind = LATE if late else ON_TIME
    if item.extended:
        value = min(value, rules.score_extension_cap)
        kind = EXTENDED_LATE if late else EXTENDED
    return Score(value, late, False, Reason(kind, item.deadline, late))


def lost_reason(lost: Mapping[str, Any]) -> Reason:
    """The reason of a deduction as published rankings store it ({"late", "overdue",
    "extended", …}), so a frozen board reads the same as a live one."""
    late = int(lost.get("late") or 0)
    if lost.get("penalty"):  # a spot check's deduction: its kind is the reason
        return Reason(str(lost["penalty"]), None, 0)
    mode = lost.get("mode")
    if mode in (ATTAINED, MIXED):
        attained = lost.get("attained")
        return Reason(str(mode), None, late, attained=float(attained or 0))
    if lost.get("overdue"):
        return Reason(OPEN_OVERDUE, None, late)
    if lost.get("extended"):
        return Reason(EXTENDED_LATE if late else EXTENDED, None, late)
    return Reason(LATE if late else ON_TIME, None, late)
