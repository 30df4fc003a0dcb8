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
        return  # an impossible date such as 2月30日 (or 2月29日 in two common years)
    date, (start, end) = found
    assert today <= date <= today + dt.timedelta(days=366)
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
