"""Workday calendar, backward plans and lights: pure functions, property-tested."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schedules.calendar import WorkCalendar
from schedules.judge import Facts, standing
from schedules.plan import milestone_dates
from schedules.rules import Rules

CAL = WorkCalendar()
D = dt.date


@pytest.mark.parametrize(
    ("day", "workday"),
    [
        (D(2026, 10, 1), False),  # 国庆
        (D(2026, 10, 7), False),  # 国庆 holiday week
        (D(2026, 10, 8), True),  # back to work
        (D(2026, 10, 10), True),  # 调休 Saturday
        (D(2026, 9, 20), True),  # 调休 Sunday before 中秋/国庆
        (D(2026, 11, 28), False),  # ordinary Saturday
        (D(2026, 11, 25), True),  # ordinary Wednesday
        (D(2026, 2, 17), False),  # 春节
    ],
)
def test_statutory_holidays_and_make_up_days(day: dt.date, workday: bool) -> None:
    assert CAL.is_workday(day) is workday


def test_add_workdays_skips_the_national_holiday() -> None:
    # Wed 30 Sep + 1 workday = Thu 8 Oct (1–7 Oct off); + 3 = the 调休 Saturday 10 Oct.
    assert CAL.add_workdays(D(2026, 9, 30), 1) == D(2026, 10, 8)
    assert CAL.add_workdays(D(2026, 9, 30), 3) == D(2026, 10, 10)
    assert CAL.add_workdays(D(2026, 10, 8), -1) == D(2026, 9, 30)


def test_config_overrides_win_and_cover_a_new_year(caplog: pytest.LogCaptureFixture) -> None:
    cal = WorkCalendar.from_config(holidays=[D(2027, 2, 8)], workdays=[D(2027, 2, 6)])
    assert cal.is_workday(D(2027, 2, 6))  # a Saturday declared a make-up workday
    assert not cal.is_workday(D(2027, 2, 8))
    assert cal.covers(2027) and cal.uncovered_years(D(2026, 12, 1)) == []


def test_unknown_year_falls_back_to_weekdays_and_warns(caplog: pytest.LogCaptureFixture) -> None:
    cal = WorkCalendar()
    assert 2031 not in cal.known_years
    with caplog.at_level(logging.WARNING):
        assert cal.is_workday(D(2031, 3, 3))  # a Monday
        assert not cal.is_workday(D(2031, 3, 1))  # a Saturday
        assert not cal.is_workday(D(2031, 1, 1))  # 元旦 is fixed by law
        assert not cal.is_workday(D(2031, 10, 2))  # so is 国庆
        cal.is_workday(D(2031, 3, 4))
    warnings = [r for r in caplog.records if "2031" in r.getMessage()]
    assert len(warnings) == 1  # loud once, not once per call
    assert 2031 in cal.uncovered_years(D(2031, 1, 1))


days = st.dates(min_value=D(2024, 1, 1), max_value=D(2027, 12, 31))
month_ends = st.builds(
    lambda y, m: (D(y, m % 12 + 1, 1) if m < 12 else D(y + 1, 1, 1)) - dt.timedelta(days=1),
    st.integers(2024, 2027),
    st.integers(1, 12),
)
plans = st.lists(st.integers(min_value=1, max_value=40), min_size=0, max_size=4, unique=True).map(
    lambda offs: [{"name": f"节点{i}", "offset": o} for i, o in enumerate(offs)]
)


@given(deadline=st.one_of(days, month_ends), plan=plans)
def test_milestones_never_on_a_non_workday_and_keep_their_order(
    deadline: dt.date, plan: list[dict[str, object]]
) -> None:
    ms = milestone_dates(deadline, plan, CAL)
    assert len(ms) == len(plan)
    assert all(CAL.is_workday(m.date) for m in ms)
    assert all(m.date < deadline for m in ms)
    assert [m.date for m in ms] == sorted(m.date for m in ms)
    assert len({m.date for m in ms}) == len(ms)
    by_offset = sorted(plan, key=lambda p: -int(p["offset"]))  # type: ignore[arg-type]
    for m, p in zip(ms, by_offset, strict=True):
        anchor = CAL.previous_workday_or_same(deadline)
        assert CAL.workdays_between(m.date, anchor) == p["offset"]


@given(day=days, n=st.integers(min_value=-30, max_value=30))
def test_add_workdays_lands_on_a_workday_and_round_trips(day: dt.date, n: int) -> None:
    target = CAL.add_workdays(day, n)
    if n:
        assert CAL.is_workday(target)
    assert CAL.workdays_between(day, target) == n


def test_make_up_saturday_counts_in_a_backward_plan() -> None:
    # Deadline Mon 12 Oct 2026: one workday back is the 调休 Saturday 10 Oct, not Fri 9 Oct.
    (m,) = milestone_dates(D(2026, 10, 12), [{"name": "初验", "offset": 1}], CAL)
    assert m.date == D(2026, 10, 10)


def lit(
    today: dt.date,
    deadline: dt.date,
    percent: int = 0,
    is_open: bool = True,
    plan: list[dict[str, object]] | None = None,
) -> str:
    ms = milestone_dates(deadline, plan or [], CAL)
    item = Facts(deadline, "open" if is_open else "closed", percent, ms)
    return standing(item, today, Rules(warning_workdays=3), CAL).color


def test_lights() -> None:
    today = D(2026, 11, 25)
    assert lit(today, D(2026, 12, 31)) == "green"
    assert lit(today, D(2026, 11, 30)) == "yellow"  # 3 workdays left
    assert lit(today, D(2026, 12, 1)) == "green"  # 4 workdays left
    assert lit(today, today) == "yellow"
    assert lit(today, D(2026, 11, 24)) == "red"
    assert lit(today, D(2026, 11, 24), is_open=False) == "done"
    plan = [{"name": "摸底", "offset": 20}]
    assert lit(today, D(2026, 12, 18), plan=plan) == "red"  # milestone 19 Nov missed
    assert lit(today, D(2026, 12, 18), percent=60, plan=plan) == "green"  # milestone met


def test_yellow_window_counts_workdays_across_a_holiday() -> None:
    # On 30 Sep, 10 Oct is three workdays away (8, 9 and the 调休 Saturday) despite ten
    # calendar days; 12 Oct is four.
    assert lit(D(2026, 9, 30), D(2026, 10, 10)) == "yellow"
    assert lit(D(2026, 9, 30), D(2026, 10, 12)) == "green"


@given(today=days, deadline=days, percent=st.integers(0, 99))
def test_light_is_red_exactly_when_past_an_open_deadline(
    today: dt.date, deadline: dt.date, percent: int
) -> None:
    color = lit(today, deadline, percent)
    assert (color == "red") == (today > deadline)
    assert color != "done"
