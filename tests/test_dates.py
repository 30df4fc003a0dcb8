"""Chinese target dates: exact cases and properties."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handlers.dates import parse_date

TODAY = dt.date(2026, 11, 25)  # a Wednesday
D = dt.date


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("至8月15日", D(2027, 8, 15)),  # already past this year: next year
        ("12月15日", D(2026, 12, 15)),
        ("12月15号", D(2026, 12, 15)),
        ("十二月五日", D(2026, 12, 5)),
        ("2026年12月30日", D(2026, 12, 30)),
        ("2027-01-05", D(2027, 1, 5)),
        ("12/31", D(2026, 12, 31)),
        ("下周五", D(2026, 12, 4)),
        ("下下周一", D(2026, 12, 7)),
        ("本周五", D(2026, 11, 27)),
        ("周一", D(2026, 11, 30)),  # Monday already past: next one
        ("月底", D(2026, 11, 30)),
        ("下月底", D(2026, 12, 31)),
        ("9月底", D(2027, 9, 30)),
        ("12月底", D(2026, 12, 31)),
        ("年底", D(2026, 12, 31)),
        ("二十号", D(2026, 12, 20)),
        ("28号", D(2026, 11, 28)),
        ("明天", D(2026, 11, 26)),
        ("10天后", D(2026, 12, 5)),
        ("2月30日", None),
        ("13月5日", None),
        ("尽快", None),
    ],
)
def test_cases(text: str, expected: dt.date | None) -> None:
    found = parse_date(text, TODAY)
    assert (found[0] if found else None) == expected


@given(
    today=st.dates(min_value=D(2024, 1, 1), max_value=D(2030, 12, 31)),
    month=st.integers(1, 12),
    day=st.integers(1, 31),
)
def test_month_day_is_never_in_the_past_and_within_a_year(
    today: dt.date, month: int, day: int
) -> None:
    found = parse_date(f"延期至{month}月{day}日 原因", today)
    if found is None:
        assert (month == 2 and day >= 30) or (day == 31 and month in (4, 6, 9, 11))
        return  # a day no year has
    date, (start, end) = found
    horizon = 4 * 366 if (month, day) == (2, 29) else 366  # the next leap year's 2月29日
    assert today <= date <= today + dt.timedelta(days=horizon)
    assert (date.month, date.day) == (month, day)
    assert f"延期至{month}月{day}日 原因"[start:end] == f"{month}月{day}日"


@given(today=st.dates(min_value=D(2024, 1, 1), max_value=D(2030, 12, 31)))
def test_month_end_words(today: dt.date) -> None:
    end = parse_date("月底", today)
    assert (
        end is not None and end[0].month == today.month and (end[0] + dt.timedelta(days=1)).day == 1
    )
    nxt = parse_date("下月底", today)
    assert nxt is not None and nxt[0] > end[0] and (nxt[0] + dt.timedelta(days=1)).day == 1
    week = parse_date("下周五", today)
    assert week is not None and week[0].weekday() == 4 and 3 <= (week[0] - today).days <= 11


def test_a_fraction_before_the_date_is_not_taken_for_it() -> None:
    from handlers.dates import date_mention

    found = date_mention("完成 8/40 户，延至12月15日 原因 下雨", TODAY)
    assert found is not None and found[0] == dt.date(2026, 12, 15) and found[1] == "12月15日"
    assert date_mention("至2月30日", TODAY) == (None, "2月30日", (1, 6))


def test_february_29_means_the_next_leap_year() -> None:
    found = parse_date("延期至2月29日", dt.date(2027, 12, 1))
    assert found is not None and found[0] == dt.date(2028, 2, 29)
