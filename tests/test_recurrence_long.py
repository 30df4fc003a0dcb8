"""Half-yearly and yearly duties (每半年, 每年; issue 13): periods end on 6月30日 and 12月31日,
keys name them, seasons clip them, and the office's sheet writes and reads them back."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.excel.duties import duty_label, read_duty
from handlers.quantities import Quantity, read_quantity
from handlers.render import period_label
from schedules.calendar import WorkCalendar
from schedules.recurrence import (
    DEFAULT_SEASONS,
    HALF_YEAR,
    YEAR,
    Recurrence,
    current_or_next,
    occurrence_on,
    occurrences,
)

CAL = WorkCalendar()
D = dt.date
SEASONS = {"汛期": ((6, 1), (9, 30)), "森林防火期": ((10, 1), (5, 31))}
days = st.dates(min_value=D(2025, 1, 1), max_value=D(2027, 12, 31))


@given(st.sampled_from([HALF_YEAR, YEAR]), days)
def test_long_periods_end_on_their_calendar_edge(every: str, day: dt.date) -> None:
    occ = occurrence_on(Recurrence(every), day, CAL)
    assert occ is not None and occ.start <= day <= occ.end
    nxt = occ.end + dt.timedelta(days=1)
    if every == HALF_YEAR:
        assert (occ.start.month, occ.start.day) in ((1, 1), (7, 1))
        assert (nxt.month, nxt.day) in ((1, 1), (7, 1))
        assert occ.key == f"{day.year}-H{1 if day.month <= 6 else 2}"
    else:
        assert (occ.start, occ.end) == (D(day.year, 1, 1), D(day.year, 12, 31))
        assert occ.key == f"{day.year}-Y"
    # Due on the period's last workday.
    span = [occ.start + dt.timedelta(days=i) for i in range((occ.end - occ.start).days + 1)]
    assert occ.deadline == max(d for d in span if CAL.is_workday(d))


@given(st.sampled_from([HALF_YEAR, YEAR]), days, st.integers(0, 800))
def test_consecutive_long_occurrences_meet_edge_to_edge(
    every: str, start: dt.date, length: int
) -> None:
    found = list(occurrences(Recurrence(every), start, start + dt.timedelta(days=length), CAL))
    assert found and found[0].start <= start
    for a, b in itertools.pairwise(found):
        assert a.end + dt.timedelta(days=1) == b.start and a.key != b.key


@pytest.mark.parametrize(
    ("every", "day", "key", "start", "end"),
    [
        (HALF_YEAR, D(2026, 6, 30), "2026-H1", D(2026, 1, 1), D(2026, 6, 30)),
        (HALF_YEAR, D(2026, 7, 1), "2026-H2", D(2026, 7, 1), D(2026, 12, 31)),
        (YEAR, D(2026, 12, 31), "2026-Y", D(2026, 1, 1), D(2026, 12, 31)),
        (YEAR, D(2027, 1, 1), "2027-Y", D(2027, 1, 1), D(2027, 12, 31)),
    ],
)
def test_the_edges_of_half_years_and_years(
    every: str, day: dt.date, key: str, start: dt.date, end: dt.date
) -> None:
    occ = occurrence_on(Recurrence(every), day, CAL)
    assert occ is not None and (occ.key, occ.start, occ.end) == (key, start, end)


def test_a_season_clips_half_years_and_years() -> None:
    flood = Recurrence(HALF_YEAR, season="汛期")
    h1 = occurrence_on(flood, D(2026, 6, 1), CAL, SEASONS)
    h2 = occurrence_on(flood, D(2026, 9, 30), CAL, SEASONS)
    assert h1 is not None and (h1.key, h1.start, h1.end) == (
        "2026-H1",
        D(2026, 6, 1),
        D(2026, 6, 30),
    )
    assert h2 is not None and (h2.key, h2.start, h2.end) == (
        "2026-H2",
        D(2026, 7, 1),
        D(2026, 9, 30),
    )
    assert occurrence_on(flood, D(2026, 5, 31), CAL, SEASONS) is None
    assert occurrence_on(flood, D(2026, 10, 1), CAL, SEASONS) is None
    # Out of season the next one is the next season's first half-year occurrence.
    nxt = current_or_next(flood, D(2026, 10, 1), CAL, SEASONS)
    assert nxt is not None and (nxt.key, nxt.start) == ("2027-H1", D(2027, 6, 1))
    yearly = current_or_next(Recurrence(YEAR, season="汛期"), D(2026, 10, 1), CAL, SEASONS)
    assert yearly is not None and (yearly.key, yearly.start, yearly.end) == (
        "2027-Y",
        D(2027, 6, 1),
        D(2027, 9, 30),
    )


def test_labels_of_long_occurrences() -> None:
    assert period_label("2026-H1") == "2026年上半年"
    assert period_label("2026-H2") == "2026年下半年"
    assert period_label("2027-Y") == "2027年"


@pytest.mark.parametrize(
    ("deadline", "content", "every", "label", "times"),
    [
        ("每半年", "报送工作总结", HALF_YEAR, "每半年", 1),
        ("每年", "开展应急演练", YEAR, "每年", 1),
        ("每年度", "每年开展应急演练不少于2次", YEAR, "每年不少于2次", 2),
        ("长期", "每半年开展一次联合检查", HALF_YEAR, "每半年", 1),
        ("2026年12月31日前", "每年组织培训不少于3次", YEAR, "每年不少于3次", 3),
        ("按年度", "考核", YEAR, "每年", 1),
    ],
)
def test_the_sheet_reads_half_yearly_and_yearly_duties(
    deadline: str, content: str, every: str, label: str, times: int
) -> None:
    duty = read_duty(deadline, content, DEFAULT_SEASONS)
    assert duty is not None
    assert (duty.recurrence.every, duty.recurrence.times) == (every, times)
    assert duty_label(duty.recurrence) == label and label in duty.how
    again = read_duty(label, content, DEFAULT_SEASONS)  # the export's words read back
    assert again is not None and again.recurrence == duty.recurrence


@pytest.mark.parametrize("text", ["上半年", "全年", "下半年"])
def test_a_half_or_whole_year_as_a_deadline_is_not_a_duty(text: str) -> None:
    assert read_duty(text, "开展整治", DEFAULT_SEASONS) is None


def test_a_year_in_a_season_across_new_year_is_one_occurrence_with_a_summer_gap() -> None:
    fire = Recurrence(YEAR, season="森林防火期")
    spring = occurrence_on(fire, D(2026, 5, 31), CAL, SEASONS)
    autumn = occurrence_on(fire, D(2026, 10, 1), CAL, SEASONS)
    assert spring is not None and spring == autumn
    assert (spring.key, spring.start, spring.end) == ("2026-Y", D(2026, 1, 1), D(2026, 12, 31))
    assert occurrence_on(fire, D(2026, 7, 15), CAL, SEASONS) is None  # out of season


@pytest.mark.parametrize(
    ("text", "amount"),
    [("上半年已开展应急演练1次", 1.0), ("今年下半年已巡查3次", 3.0), ("本半年已开展2次", 2.0)],
)
def test_a_half_year_count_in_chat_counts_toward_the_occurrence(text: str, amount: float) -> None:
    assert read_quantity(text) == Quantity(None, amount, "次", True)
