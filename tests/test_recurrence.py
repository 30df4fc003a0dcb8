"""The occurrence generator of recurring duties: pure, property-tested across month ends,
holidays with their 调休 days, and the edges of a season."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schedules.calendar import WorkCalendar
from schedules.recurrence import (
    DAY,
    EVERY,
    MONTH,
    QUARTER,
    WEEK,
    Recurrence,
    RecurrenceError,
    Season,
    current_or_next,
    occurrence_on,
    occurrences,
)

CAL = WorkCalendar()
D = dt.date
SEASONS = {"汛期": ((6, 1), (9, 30)), "森林防火期": ((10, 1), (5, 31))}
days = st.dates(min_value=D(2025, 1, 1), max_value=D(2026, 12, 31))
rules = st.builds(
    Recurrence,
    every=st.sampled_from(EVERY),
    times=st.integers(1, 5),
    season=st.sampled_from([None, "汛期", "森林防火期"]),
    workdays_only=st.booleans(),
)


@given(rules, days, st.integers(0, 120))
def test_occurrences_tile_the_range_in_order_without_overlap(
    rec: Recurrence, start: dt.date, length: int
) -> None:
    end = start + dt.timedelta(days=length)
    found = list(occurrences(rec, start, end, CAL, SEASONS))
    keys = [o.key for o in found]
    assert len(keys) == len(set(keys))
    for a, b in itertools.pairwise(found):
        assert a.end < b.start
    season = Season("s", *SEASONS[rec.season]) if rec.season else None
    for o in found:
        assert o.start <= o.deadline <= o.end
        assert o.times == rec.times
        # Every day of the range inside the season belongs to exactly one occurrence.
        if season is not None:
            assert season.contains(o.start) and season.contains(o.end)
            assert season.contains(o.deadline)
        # The deadline is the last workday of the occurrence when it has one.
        span = [o.start + dt.timedelta(days=i) for i in range((o.end - o.start).days + 1)]
        work = [d for d in span if CAL.is_workday(d)]
        assert o.deadline == (work[-1] if work else o.end)
    day = start
    while day <= end:
        on = occurrence_on(rec, day, CAL, SEASONS)
        covering = [o for o in found if o.start <= day <= o.end]
        in_season = season is None or season.contains(day)
        if rec.every == DAY and rec.workdays_only:
            in_season = in_season and CAL.is_workday(day)
        if in_season:
            assert on is not None and covering == [on]
        else:
            assert on is None
        day += dt.timedelta(days=1)


@given(st.sampled_from([WEEK, MONTH, QUARTER]), days)
def test_periods_end_on_their_calendar_edge_and_keys_name_them(every: str, day: dt.date) -> None:
    occ = occurrence_on(Recurrence(every), day, CAL)
    assert occ is not None
    nxt = occ.end + dt.timedelta(days=1)
    if every == WEEK:
        assert occ.start.weekday() == 0 and occ.end.weekday() == 6
        assert occ.key == f"{day.isocalendar()[0]}-W{day.isocalendar()[1]:02d}"
    elif every == MONTH:
        assert occ.start.day == 1 and nxt.day == 1 and occ.key == f"{day:%Y-%m}"
    else:
        assert occ.start.month in (1, 4, 7, 10) and nxt.day == 1 and nxt.month in (1, 4, 7, 10)
    # The deadline is the period's last workday; a week that is all holiday (春节 2026-W08)
    # has none and keeps its last day.
    days = [occ.start + dt.timedelta(days=i) for i in range((occ.end - occ.start).days + 1)]
    work = [d for d in days if CAL.is_workday(d)]
    assert occ.deadline == (work[-1] if work else occ.end)


@given(days)
def test_daily_workday_duty_follows_holidays_and_make_up_days(day: dt.date) -> None:
    occ = occurrence_on(Recurrence(DAY), day, CAL)
    assert (occ is not None) == CAL.is_workday(day)
    every_day = occurrence_on(Recurrence(DAY, workdays_only=False), day, CAL)
    assert every_day is not None and every_day.deadline == day


@pytest.mark.parametrize(
    ("day", "key", "start", "end", "deadline"),
    [
        # 汛期 starts on 6月1日 and ends on 9月30日: a monthly duty only in June–September.
        (D(2026, 5, 31), None, None, None, None),
        (D(2026, 6, 1), "2026-06", D(2026, 6, 1), D(2026, 6, 30), D(2026, 6, 30)),
        (D(2026, 9, 30), "2026-09", D(2026, 9, 1), D(2026, 9, 30), D(2026, 9, 30)),
        (D(2026, 10, 1), None, None, None, None),
    ],
)
def test_monthly_flood_duty_at_the_season_edges(
    day: dt.date,
    key: str | None,
    start: dt.date | None,
    end: dt.date | None,
    deadline: dt.date | None,
) -> None:
    occ = occurrence_on(Recurrence(MONTH, season="汛期"), day, CAL, SEASONS)
    if key is None:
        assert occ is None
    else:
        assert occ is not None
        assert (occ.key, occ.start, occ.end, occ.deadline) == (key, start, end, deadline)


def test_quarter_clipped_by_a_season_and_week_split_by_its_start() -> None:
    # Q2 of the flood season is June only; the ISO week of 6月1日 2026 (a Monday) is whole.
    q2 = occurrence_on(Recurrence(QUARTER, season="汛期"), D(2026, 6, 15), CAL, SEASONS)
    assert q2 is not None and (q2.key, q2.start, q2.end) == (
        "2026-Q2",
        D(2026, 6, 1),
        D(2026, 6, 30),
    )
    # The fire season across the new year: week 2026-W40 (28 Sep–4 Oct) starts on 1 Oct,
    # and inside 国庆 it has no workday, so its deadline is the season week's last day.
    w = occurrence_on(Recurrence(WEEK, season="森林防火期"), D(2026, 10, 2), CAL, SEASONS)
    assert w is not None and (w.start, w.end, w.deadline) == (
        D(2026, 10, 1),
        D(2026, 10, 4),
        D(2026, 10, 4),
    )


def test_month_ends_inside_a_holiday_and_on_a_make_up_saturday() -> None:
    # 2025-01: 春节 from 28 January, so the month's last workday is Monday the 27th.
    jan = occurrence_on(Recurrence(MONTH), D(2025, 1, 3), CAL)
    assert jan is not None and jan.deadline == D(2025, 1, 27)
    # 2026-02-28 is a Saturday worked as 调休: the month is due that day, not on Friday.
    feb = occurrence_on(Recurrence(MONTH), D(2026, 2, 3), CAL)
    assert feb is not None and feb.deadline == D(2026, 2, 28)


def test_next_occurrence_out_of_season_is_the_season_start() -> None:
    nxt = current_or_next(Recurrence(DAY, season="汛期"), D(2026, 11, 3), CAL, SEASONS)
    assert nxt is not None and nxt.start == D(2027, 6, 1) and nxt.key == "2027-06-01"


def test_bad_rules_are_refused() -> None:
    with pytest.raises(RecurrenceError):
        Recurrence.from_json({"every": "fortnight"})
    with pytest.raises(RecurrenceError):
        occurrence_on(Recurrence(MONTH, season="雨季"), D(2026, 6, 1), CAL, SEASONS)
    rec = Recurrence.from_json({"every": "month", "times": 2, "season": "汛期"})
    assert Recurrence.from_json(rec.as_json()) == rec


def test_seasons_are_configurable_per_county(tmp_path: object) -> None:
    from pathlib import Path

    from bot.config import ConfigError, load_config

    path = Path(str(tmp_path)) / "duban.toml"
    path.write_text('[seasons]\n"森林防火期" = "10月1日-次年5月31日"\n', encoding="utf-8")
    rules = load_config(path, environ={}).rules
    assert rules.seasons["森林防火期"] == ((10, 1), (5, 31))
    assert rules.seasons["汛期"] == ((6, 1), (9, 30))  # the default stays
    fire = Recurrence(WEEK, season="森林防火期")
    assert occurrence_on(fire, D(2026, 11, 4), CAL, rules.seasons) is not None
    assert occurrence_on(fire, D(2026, 11, 4), CAL) is None  # outside the built-in window
    path.write_text('[seasons]\n"汛期" = "06-01..13-01"\n', encoding="utf-8")
    with pytest.raises(ConfigError):
        load_config(path, environ={})
