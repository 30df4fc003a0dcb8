"""The reminder rules as pure functions: holidays, quiet hours, caps, grouping."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.render import reason_text
from schedules.calendar import WorkCalendar
from schedules.plan import milestone_dates
from schedules.reminders import (
    Item,
    dropped_slots,
    passed_slots,
    reminders_due,
)
from schedules.rules import ESCALATE, Rules

TZ = ZoneInfo("Asia/Shanghai")
CAL = WorkCalendar()
RULES = Rules()
D = dt.date


def at(day: dt.date, hh: int, mm: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hh, mm, tzinfo=TZ)


def item(
    i: int,
    unit: str,
    deadline: dt.date,
    percent: int = 0,
    plan: list[dict[str, object]] | None = None,
) -> Item:
    return Item(
        i, i, f"任务{i}", unit, deadline, percent, tuple(milestone_dates(deadline, plan or [], CAL))
    )


def test_one_message_per_unit_per_slot_listing_its_items() -> None:
    day = D(2026, 11, 25)
    items = [
        item(1, "A", D(2026, 11, 20)),
        item(2, "A", D(2026, 11, 18)),
        item(3, "B", D(2026, 11, 24)),
    ]
    overdue = [n for n in reminders_due(items, at(day, 9, 30), RULES, CAL) if n.rule == "overdue"]
    assert [(n.unit_code, [x.task_code for x in n.lines]) for n in overdue] == [
        ("A", [2, 1]),
        ("B", [3]),
    ]
    assert overdue[0].key == "nudge:overdue:A:2026-11-25T0930"


def test_slots_not_yet_come_are_not_due() -> None:
    day = D(2026, 11, 25)
    items = [item(1, "A", day)]
    assert [n.rule for n in reminders_due(items, at(day, 8, 59), RULES, CAL)] == []
    assert [n.rule for n in reminders_due(items, at(day, 9, 0), RULES, CAL)] == ["due_morning"]
    assert [n.rule for n in reminders_due(items, at(day, 16, 30), RULES, CAL)] == [
        "due_morning",
        "due_evening",
    ]


def test_cap_per_item_per_day() -> None:
    day = D(2026, 11, 25)
    rules = Rules(max_nudges_per_item_per_day=1)
    assert [n.rule for n in reminders_due([item(1, "A", day)], at(day, 17), rules, CAL)] == [
        "due_morning"
    ]


def test_escalation_on_reaching_the_threshold_and_every_threshold_after() -> None:
    deadline = D(2026, 11, 16)  # a Monday
    days = {D(2026, 11, 19): 3, D(2026, 11, 20): 4, D(2026, 11, 24): 6}
    for day, late in days.items():
        rules = [n.rule for n in reminders_due([item(1, "A", deadline)], at(day, 10), RULES, CAL)]
        assert ("escalate" in rules) == (late % 3 == 0), (day, rules)


def test_milestone_yellow_and_due_day() -> None:
    deadline = D(2026, 12, 18)
    plan = [{"name": "完成选址", "offset": 5}]  # 5 workdays before: Fri 11 Dec
    assert milestone_dates(deadline, plan, CAL)[0].date == D(2026, 12, 11)
    yellow = reminders_due([item(1, "A", deadline, plan=plan)], at(D(2026, 12, 8), 9), RULES, CAL)
    assert yellow[0].rule == "yellow" and "完成选址" in reason_text(yellow[0].lines[0].reason)
    due = reminders_due([item(1, "A", deadline, plan=plan)], at(D(2026, 12, 11), 9), RULES, CAL)
    assert [n.rule for n in due] == ["due_morning"] and "节点" in reason_text(
        due[0].lines[0].reason
    )
    met = reminders_due([item(1, "A", deadline, 60, plan)], at(D(2026, 12, 11), 9), RULES, CAL)
    assert met == []  # the milestone's percent was reported


days = st.dates(min_value=D(2024, 1, 1), max_value=D(2026, 12, 31))
month_ends = st.builds(
    lambda y, m: D(y, m % 12 + 1, 1) - dt.timedelta(days=1) if m < 12 else D(y, 12, 31),
    st.integers(2024, 2026),
    st.integers(1, 12),
)
times = st.times()
deadlines = st.lists(st.one_of(days, month_ends), min_size=1, max_size=6)


@settings(deadline=None)
@given(day=st.one_of(days, month_ends), t=times, ds=deadlines)
def test_never_on_a_non_workday_nor_in_quiet_hours(
    day: dt.date, t: dt.time, ds: list[dt.date]
) -> None:
    now = dt.datetime.combine(day, t, tzinfo=TZ)
    nudges = reminders_due([item(i, "A", d) for i, d in enumerate(ds)], now, RULES, CAL)
    if not CAL.is_workday(day) or RULES.quiet(t):
        assert nudges == []
    for n in nudges:
        assert n.slot <= now and n.slot.date() == day
        assert not RULES.quiet(n.slot.time())
        assert len({x.assignment_id for x in n.lines}) == len(n.lines)


@settings(deadline=None)
@given(day=days, ds=deadlines)
def test_later_in_the_day_only_adds(day: dt.date, ds: list[dt.date]) -> None:
    items = [item(i, "A", d) for i, d in enumerate(ds)]
    morning = {n.key for n in reminders_due(items, at(day, 10), RULES, CAL)}
    evening = {n.key for n in reminders_due(items, at(day, 20), RULES, CAL)}
    assert morning <= evening


def test_a_deadline_on_a_holiday_is_due_on_the_last_workday_before() -> None:
    deadline = D(2026, 10, 3)  # Saturday inside 国庆
    rules = {
        d: sorted(n.rule for n in reminders_due([item(1, "A", deadline)], at(d, 17), RULES, CAL))
        for d in (D(2026, 9, 29), D(2026, 9, 30), D(2026, 10, 8))
    }
    assert rules == {
        D(2026, 9, 29): ["yellow"],  # one workday left
        D(2026, 9, 30): ["due_evening", "due_morning"],
        D(2026, 10, 8): ["overdue"],  # one workday late
    }
    (late,) = reminders_due([item(1, "A", deadline)], at(D(2026, 10, 8), 10), RULES, CAL)
    assert late.lines[0].overdue_workdays == 1


def test_a_missed_milestone_is_nudged_as_overdue_until_met() -> None:
    deadline = D(2026, 12, 18)
    plan = [{"name": "完成选址", "offset": 5}]  # Fri 11 Dec
    day = D(2026, 12, 14)  # one workday after it (the deadline is 4 workdays ahead)
    (n,) = reminders_due([item(1, "A", deadline, plan=plan)], at(day, 10), RULES, CAL)
    assert (
        n.rule == "overdue"
        and "完成选址" in reason_text(n.lines[0].reason)
        and "1 个工作日" in reason_text(n.lines[0].reason)
    )
    assert n.lines[0].overdue_workdays == 0  # a milestone never escalates
    assert reminders_due([item(1, "A", deadline, 50, plan)], at(day, 10), RULES, CAL) == []


def test_dropped_slots_are_those_of_earlier_workdays_only() -> None:
    last = at(D(2026, 9, 30), 12)  # after the morning slots, before the evening check
    now = at(D(2026, 10, 9), 15)
    assert [f"{d:%m-%d %H:%M}" for d in dropped_slots(last, now, RULES, CAL)] == [
        "09-30 16:30",
        "10-08 09:00",
        "10-08 09:30",
        "10-08 16:30",
    ]
    friday_evening, monday = at(D(2026, 11, 27), 17), at(D(2026, 11, 30), 9, 5)
    assert dropped_slots(friday_evening, monday, RULES, CAL) == []  # a weekend is no downtime


times_of_day = st.times().map(lambda t: t.replace(second=0, microsecond=0))
any_rules = st.builds(
    Rules,
    yellow_nudge_workdays=st.lists(st.integers(1, 5), max_size=3, unique=True).map(tuple),
    due_day_time=times_of_day,
    overdue_time=times_of_day,
    evening_check_time=times_of_day,
    escalate_after_workdays=st.integers(0, 5),
    max_nudges_per_item_per_day=st.integers(0, 4),
    quiet_start=times_of_day,
    quiet_end=times_of_day,
)
plan_lists = st.lists(st.integers(1, 15), max_size=3, unique=True).map(
    lambda offs: [{"name": f"节点{o}", "offset": o} for o in offs]
)
ledgers = st.lists(
    st.tuples(st.sampled_from("ABC"), st.one_of(days, month_ends), st.integers(0, 99), plan_lists),
    max_size=12,
)


@settings(deadline=None)
@given(day=st.one_of(days, month_ends), t=times, rules=any_rules, rows=ledgers)
def test_any_rules_any_ledger(
    day: dt.date,
    t: dt.time,
    rules: Rules,
    rows: list[tuple[str, dt.date, int, list[dict[str, object]]]],
) -> None:
    """Whatever the configuration: never on a non-workday or in quiet hours, never a slot
    still to come, one message per (rule, unit, slot), at most `cap` nudges per item."""
    now = dt.datetime.combine(day, t, tzinfo=TZ)
    items = [item(i, u, d, pc, plan) for i, (u, d, pc, plan) in enumerate(rows)]
    nudges = reminders_due(items, now, rules, CAL)
    if not CAL.is_workday(day) or rules.quiet(t):
        assert nudges == [] and passed_slots(now, rules, CAL) == []
    assert len({n.key for n in nudges}) == len(nudges)
    per_item: dict[int, int] = {}
    for n in nudges:
        assert n.lines and n.slot <= now and n.slot.date() == day
        assert not rules.quiet(n.slot.time())
        assert all(
            x.assignment_id < len(rows) and rows[x.assignment_id][0] == n.unit_code for x in n.lines
        )
        if n.rule != ESCALATE:
            for x in n.lines:
                per_item[x.assignment_id] = per_item.get(x.assignment_id, 0) + 1
    assert all(c <= rules.max_nudges_per_item_per_day for c in per_item.values())


@settings(deadline=None)
@given(deadline=st.one_of(days, month_ends))
def test_every_deadline_gets_its_due_day_nudge_on_a_workday(deadline: dt.date) -> None:
    """Month ends, weekends and holidays alike: one workday has the due-day nudge."""
    due = CAL.previous_workday_or_same(deadline)
    assert CAL.is_workday(due)
    rules = [n.rule for n in reminders_due([item(1, "A", deadline)], at(due, 17), RULES, CAL)]
    assert rules == ["due_morning", "due_evening"]
    after = CAL.add_workdays(due, 1)
    (late,) = reminders_due([item(1, "A", deadline)], at(after, 10), RULES, CAL)
    assert late.rule == "overdue" and late.lines[0].overdue_workdays == 1


CAL_2027 = WorkCalendar.from_config(
    holidays=[D(2027, 2, 8), D(2027, 2, 9), D(2027, 10, 4)], workdays=[D(2027, 2, 6)]
)


@settings(deadline=None)
@given(day=st.dates(min_value=D(2027, 1, 1), max_value=D(2027, 12, 31)), t=times)
def test_a_year_from_the_config_overrides(day: dt.date, t: dt.time) -> None:
    """A year the package may not know: the configured holidays and make-up days rule."""
    cal = CAL_2027
    now = dt.datetime.combine(day, t, tzinfo=TZ)
    nudges = reminders_due([item(1, "A", day), item(2, "A", D(2027, 1, 4))], now, RULES, cal)
    if day in (D(2027, 2, 8), D(2027, 2, 9), D(2027, 10, 4)) or not cal.is_workday(day):
        assert nudges == []
    if day == D(2027, 2, 6) and dt.time(9) <= t < dt.time(21):
        assert nudges  # the make-up Saturday is a workday: item 1 is due that very day
