"""What is due to be nudged at a moment: a pure function of the ledger, `now` and the rules.

Slots are fixed local times on workdays. Every slot of today that has already passed is
returned, each with a key unique to (rule, unit, slot): run at any minute, twice, or after a
restart, the outbox's unique key turns it into exactly one message per unit per slot, and
the slots of a day the bot missed entirely are simply never computed again.

A date that falls on a non-workday (a deadline on a Saturday or inside 国庆) is due on the
last workday before it: that day gets the due-day nudges, and the first workday after it
counts as one workday overdue.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from schedules.calendar import WorkCalendar
from schedules.judge import DUE_SOON, MILESTONE_OVERDUE, Reason, due_today
from schedules.judge import OVERDUE as OVERDUE_REASON
from schedules.plan import Milestone
from schedules.recurrence import DAY, WEEK
from schedules.rules import (
    DUE_EVENING,
    DUE_MORNING,
    ESCALATE,
    OVERDUE,
    YELLOW,
    Rules,
)


@dataclass(frozen=True)
class Item:
    """An open ledger row, as plain data."""

    assignment_id: int
    task_code: int
    content: str
    unit_code: str
    deadline: dt.date
    percent: int = 0
    milestones: tuple[Milestone, ...] = ()
    # A recurring duty's period ("day", "week", "month", "quarter"); "" for a one-off task.
    every: str = ""


@dataclass(frozen=True)
class Line:
    assignment_id: int
    task_code: int
    content: str
    deadline: dt.date
    reason: Reason
    overdue_workdays: int = 0


@dataclass(frozen=True)
class Nudge:
    rule: str
    unit_code: str
    slot: dt.datetime  # local time of the slot
    lines: tuple[Line, ...] = field(default_factory=tuple)

    @property
    def key(self) -> str:
        return f"nudge:{self.rule}:{self.unit_code}:{self.slot:%Y-%m-%dT%H%M}"


@dataclass(frozen=True)
class Sent:
    nudge: Nudge
    enqueued: bool  # False: already sent for this slot (a repeated or concurrent run)

    def as_dict(self) -> dict[str, object]:
        return {
            "key": self.nudge.key,
            "rule": self.nudge.rule,
            "unit": self.nudge.unit_code,
            "slot": self.nudge.slot.isoformat(),
            "enqueued": self.enqueued,
            "items": [f"#{x.task_code}" for x in self.nudge.lines],
        }


def passed_slots(now: dt.datetime, rules: Rules, cal: WorkCalendar) -> list[tuple[dt.time, str]]:
    """Today's slots up to `now` (local time); none on a non-workday or in quiet hours."""
    if rules.quiet(now.time()) or not cal.is_workday(now.date()):
        return []
    t = now.time()
    return [(s, rule) for s, rule in rules.slots() if s <= t and not rules.quiet(s)]


def dropped_slots(
    last: dt.datetime, now: dt.datetime, rules: Rules, cal: WorkCalendar, limit: int = 50
) -> list[dt.datetime]:
    """Slots that passed between the last run (`last`) and the start of today, oldest first.

    They are not sent late: the day they belonged to is over. Today's missed slots are not
    in here; `reminders_due` still returns them, so they are caught up once. At most `limit`
    slots are listed (the most recent ones).
    """
    out: list[dt.datetime] = []
    today = now.date()
    day = max(last.date(), today - dt.timedelta(days=366))
    while day < today:
        if cal.is_workday(day):
            for t, _rule in rules.slots():
                at = dt.datetime.combine(day, t, now.tzinfo)
                if at > last and not rules.quiet(t) and (not out or out[-1] != at):
                    out.append(at)
        day += dt.timedelta(days=1)
    return out[-limit:]


class _Pass:
    """Per-pass memo of calendar answers: a pass asks about a few hundred distinct dates."""

    def __init__(self, day: dt.date, cal: WorkCalendar) -> None:
        self.day = day
        self.cal = cal
        self._due: dict[dt.date, dt.date] = {}
        self._count: dict[dt.date, int] = {}

    def due_day(self, date: dt.date) -> dt.date:
        """The workday a date is due on: itself, or the last workday before it."""
        d = self._due.get(date)
        if d is None:
            d = self._due[date] = self.cal.previous_workday_or_same(date)
        return d

    def workdays(self, date: dt.date) -> int:
        """Workdays from today to `date`: positive ahead (left), negative behind (late)."""
        n = self._count.get(date)
        if n is None:
            if date >= self.day:
                n = self.cal.workdays_between(self.day, date)
            else:
                n = -self.cal.workdays_between(date, self.day)
            self._count[date] = n
        return n


def _lines(item: Item, wanted: frozenset[str], rules: Rules, p: _Pass) -> dict[str, Line]:
    """The line each rule has for an item today (only rules in `wanted` are computed)."""
    day = p.day
    out: dict[str, Line] = {}
    due = p.due_day(item.deadline)
    if (
        due > day
        and not item.milestones
        and p.workdays(item.deadline) not in rules.yellow_nudge_workdays
    ):
        return out  # the common case: nothing due yet, no milestone to watch

    def line(reason: Reason) -> Line:
        late = reason.workdays if reason.kind == OVERDUE_REASON else 0
        return Line(item.assignment_id, item.task_code, item.content, item.deadline, reason, late)

    if due == day:
        today = due_today(item.deadline, day)
        if DUE_MORNING in wanted:
            out[DUE_MORNING] = line(today)
        if DUE_EVENING in wanted:
            out[DUE_EVENING] = line(today)
        return out
    if due < day:
        late = -p.workdays(item.deadline)
        if OVERDUE in wanted:
            out[OVERDUE] = line(Reason(OVERDUE_REASON, item.deadline, late))
        # Escalate on reaching the threshold, then again every threshold's worth of workdays.
        n = rules.escalate_after_workdays
        if ESCALATE in wanted and n > 0 and late >= n and late % n == 0:
            out[ESCALATE] = line(Reason(OVERDUE_REASON, item.deadline, late))
        return out
    # Not yet due: milestones not met (in date order), then the deadline.
    missed: Milestone | None = None
    targets: list[tuple[dt.date, str]] = []
    for m in item.milestones:
        if item.percent >= m.percent:
            continue
        m_due = p.due_day(m.date)
        if m_due < day:
            missed = m  # the latest milestone already missed
        elif m_due == day:
            if DUE_MORNING in wanted and DUE_MORNING not in out:
                out[DUE_MORNING] = line(due_today(m.date, day, m.name))
        else:
            targets.append((m.date, m.name))
    if missed is not None and OVERDUE in wanted:
        late = -p.workdays(missed.date)
        out[OVERDUE] = line(Reason(MILESTONE_OVERDUE, missed.date, late, missed.name))
    if YELLOW in wanted:
        targets.append((item.deadline, ""))
        for date, name in sorted(targets):
            left = p.workdays(date)
            if left in rules.yellow_nudge_workdays:
                out[YELLOW] = line(Reason(DUE_SOON, date, left, name))
                break
    return out


def gentle(item: Item, found: dict[str, Line], rules: Rules) -> dict[str, Line]:
    """A recurring duty is nudged lightly: its next occurrence is always close, so daily
    reminders would become noise. A daily duty gets only the evening check of its day; a
    weekly one the last yellow day and its due evening; a monthly or quarterly one the usual
    yellow days and due day. A missed occurrence is nudged once, the first workday after,
    and escalated once; the next occurrence takes over, and the miss stays in the score."""
    if not item.every:
        return found
    out = {}
    for rule, line in found.items():
        late = line.overdue_workdays
        if item.every == DAY:
            keep = rule == DUE_EVENING
        elif rule == YELLOW:
            keep = item.every != WEEK or line.reason.workdays == min(rules.yellow_nudge_workdays)
        elif rule == DUE_MORNING:
            keep = item.every != WEEK
        elif rule == OVERDUE:
            keep = line.reason.kind != OVERDUE_REASON or late == 1
        elif rule == ESCALATE:
            keep = late == rules.escalate_after_workdays
        else:
            keep = True
        if keep:
            out[rule] = line
    return out


def reminders_due(
    items: Iterable[Item], now: dt.datetime, rules: Rules, cal: WorkCalendar
) -> list[Nudge]:
    """Every nudge of today's slots up to `now` (local time): grouped per unit and slot.

    An item gets at most `max_per_item_per_day` nudges a day in its unit group (earliest
    slots first); escalations to leaders are not counted against that cap.
    """
    slots = passed_slots(now, rules, cal)
    if not slots:
        return []
    day = now.date()
    order = {rule: i for i, (_, rule) in enumerate(slots)}
    wanted = frozenset(order)
    cap = rules.max_nudges_per_item_per_day
    p = _Pass(day, cal)
    groups: dict[tuple[int, str], list[Line]] = defaultdict(list)
    for item in items:
        found = gentle(item, _lines(item, wanted, rules, p), rules)
        if not found:
            continue
        sent = 0
        for rule in sorted(found, key=order.__getitem__) if len(found) > 1 else found:
            if rule != ESCALATE:  # the cap protects the unit group, not the leader
                if sent >= cap:
                    continue
                sent += 1
            groups[(order[rule], item.unit_code)].append(found[rule])
    nudges = []
    for (i, unit_code), lines in sorted(groups.items()):
        t, rule = slots[i]
        lines.sort(key=lambda x: (x.deadline, x.task_code, x.assignment_id))
        nudges.append(Nudge(rule, unit_code, dt.datetime.combine(day, t, now.tzinfo), tuple(lines)))
    return nudges
