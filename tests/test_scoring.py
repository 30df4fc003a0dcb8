"""Scoring and ranking as pure functions: hand-computed cases and properties."""

from __future__ import annotations

import datetime as dt
import itertools

from hypothesis import given
from hypothesis import strategies as st

from handlers.render import movement_label
from schedules.calendar import WorkCalendar
from schedules.rules import Rules
from schedules.scoring import Fact, rank_all, score_item, unit_scores

CAL = WorkCalendar()
RULES = Rules()
D = dt.date
WEEK = (D(2026, 11, 23), D(2026, 11, 29))
AS_OF = D(2026, 11, 27)  # Friday


def fact(
    i: int,
    unit: str,
    deadline: dt.date,
    done: dt.date | None,
    weight: float = 1,
    extended: bool = False,
) -> Fact:
    return Fact(i, i, unit, weight, deadline, done, extended)


FACTS = [
    fact(1, "A", D(2026, 11, 24), D(2026, 11, 24), weight=2),  # on time: 100
    fact(2, "A", D(2026, 11, 25), D(2026, 11, 27)),  # 2 workdays late: 80
    fact(3, "B", D(2026, 11, 23), D(2026, 11, 23)),  # 100, finished first
    fact(4, "C", D(2026, 11, 24), None),  # overdue and open: 0
    fact(5, "D", D(2026, 11, 26), D(2026, 11, 26), extended=True),  # capped at 90
    fact(6, "E", D(2026, 11, 25), D(2026, 11, 25)),  # 100, finished later than B
    fact(7, "F", D(2026, 11, 28), None),  # due tomorrow: not judged yet
    fact(8, "X", D(2026, 11, 25), D(2026, 11, 26)),  # 1 late: 90
    fact(9, "Y", D(2026, 11, 26), None),  # 0
    fact(10, "A", D(2026, 11, 16), D(2026, 11, 16)),  # last week: not in this period
]
GROUPS = {u: "township" for u in "ABCDEF"} | {"X": "department", "Y": "department"}


def test_hand_computed_scores() -> None:
    scores = unit_scores(FACTS, *WEEK, AS_OF, RULES, CAL)
    assert {u: s.score for u, s in scores.items()} == {
        "A": 93.33,
        "B": 100.0,
        "C": 0.0,
        "D": 90.0,
        "E": 100.0,
        "X": 90.0,
        "Y": 0.0,
    }
    assert scores["C"].overdue == 1 and "F" not in scores


def test_hand_computed_ranks_lists_ties_movement_and_streaks() -> None:
    scores = unit_scores(FACTS, *WEEK, AS_OF, RULES, CAL)
    previous = {"B": (3, 0), "C": (5, 1), "X": (1, 0)}
    board = rank_all(scores, GROUPS, RULES, previous)
    towns = [
        (r.unit_code, r.rank, r.red, r.black, r.movement, r.black_streak) for r in board["township"]
    ]
    # five townships: fewer than 3 + 3, so two on each list
    assert towns == [
        ("B", 1, True, False, 2, 0),  # tie with E broken by the earlier completion
        ("E", 2, True, False, None, 0),
        ("A", 3, False, False, None, 0),
        ("D", 4, False, True, None, 1),
        ("C", 5, False, True, 0, 2),  # black list twice in a row
    ]
    depts = [(r.unit_code, r.rank, r.red, r.black) for r in board["department"]]
    assert depts == [("X", 1, True, False), ("Y", 2, False, True)]
    assert [movement_label(m) for m in (2, -1, 0, None)] == ["↑2", "↓1", "持平", "上期未参评"]


def test_exact_ties_share_a_rank() -> None:
    facts = [
        fact(1, "A", D(2026, 11, 24), D(2026, 11, 24)),
        fact(2, "B", D(2026, 11, 24), D(2026, 11, 24)),
        fact(3, "C", D(2026, 11, 24), None),
    ]
    board = rank_all(
        unit_scores(facts, *WEEK, AS_OF, RULES, CAL), dict.fromkeys("ABC", "township"), RULES
    )
    assert [(r.unit_code, r.rank) for r in board["township"]] == [("A", 1), ("B", 1), ("C", 3)]


def test_late_floor() -> None:
    s = score_item(fact(1, "A", D(2026, 11, 2), D(2026, 11, 27)), AS_OF, RULES, CAL)
    assert s is not None and s.late_workdays == 19 and s.score == 40.0


days = st.dates(min_value=D(2025, 1, 1), max_value=D(2026, 12, 31))


@given(deadline=days, a=days, b=days, extended=st.booleans())
def test_bounded_and_earlier_never_scores_lower(
    deadline: dt.date, a: dt.date, b: dt.date, extended: bool
) -> None:
    early, late = min(a, b), max(a, b)
    as_of = max(late, deadline) + dt.timedelta(days=1)
    s1 = score_item(fact(1, "A", deadline, early, extended=extended), as_of, RULES, CAL)
    s2 = score_item(fact(1, "A", deadline, late, extended=extended), as_of, RULES, CAL)
    assert s1 is not None and s2 is not None
    assert 0 <= s2.score <= s1.score <= 100
    if extended:
        assert s1.score <= RULES.score_extension_cap
    open_ = score_item(fact(1, "A", deadline, None), as_of, RULES, CAL)
    assert open_ is not None and open_.score == 0 and s2.score >= open_.score


@given(
    st.lists(
        st.tuples(st.sampled_from("ABCDEFGH"), days, st.one_of(st.none(), days), st.integers(1, 3)),
        max_size=30,
    )
)
def test_unit_scores_stay_within_bounds(
    rows: list[tuple[str, dt.date, dt.date | None, int]],
) -> None:
    facts = [fact(i, u, d, done, w) for i, (u, d, done, w) in enumerate(rows)]
    scores = unit_scores(facts, D(2025, 1, 1), D(2026, 12, 31), D(2027, 1, 1), RULES, CAL)
    assert all(0 <= s.score <= 100 for s in scores.values())
    board = rank_all(scores, dict.fromkeys("ABCDEFGH", "township"), RULES)
    rows_ = board["township"]
    assert not any(r.red and r.black for r in rows_)
    assert not any(r.black and r.score >= RULES.score_on_time for r in rows_)  # lost nothing
    assert [r.score for r in rows_] == sorted((r.score for r in rows_), reverse=True)


def test_a_unit_that_lost_no_points_is_never_black_listed() -> None:
    """Six departments all on time, split only by the completion-date tie-break: the red
    list takes three; nobody is black-listed for finishing a day later than the others."""
    facts = [
        fact(i, u, D(2026, 11, 24), D(2026, 11, 16) + dt.timedelta(days=i))
        for i, u in enumerate("ABCDEF")
    ]
    facts.append(fact(9, "F", D(2026, 11, 25), None))  # F also left one item open: 50
    board = rank_all(
        unit_scores(facts, *WEEK, AS_OF, RULES, CAL), dict.fromkeys("ABCDEF", "department"), RULES
    )
    rows = [(r.unit_code, r.rank, r.score, r.red, r.black) for r in board["department"]]
    assert rows == [
        ("A", 1, 100.0, True, False),
        ("B", 2, 100.0, True, False),
        ("C", 3, 100.0, True, False),
        ("D", 4, 100.0, False, False),
        ("E", 5, 100.0, False, False),
        ("F", 6, 50.0, False, True),
    ]


def test_ties_at_the_edge_of_a_list_share_it() -> None:
    facts = [
        fact(i, u, D(2026, 11, 24), D(2026, 11, 24) if u in "ABCDE" else None)
        for i, u in enumerate("ABCDEFGHI")
    ]  # five on time, four tied at 0
    board = rank_all(
        unit_scores(facts, *WEEK, AS_OF, RULES, CAL), dict.fromkeys("ABCDEFGHI", "township"), RULES
    )
    rows = {r.unit_code: r for r in board["township"]}
    assert {u for u, r in rows.items() if r.red} == set("ABCDE")  # all tied for first
    assert {u for u, r in rows.items() if r.black} == set("FGHI")  # all tied for last
    everyone = [fact(i, u, D(2026, 11, 24), D(2026, 11, 24)) for i, u in enumerate("ABCD")]
    board = rank_all(
        unit_scores(everyone, *WEEK, AS_OF, RULES, CAL), dict.fromkeys("ABCD", "township"), RULES
    )
    assert not any(r.black for r in board["township"])  # no one is worst when all are equal


def test_tied_units_are_listed_by_unit_code_not_by_database_id() -> None:
    # Units keyed by database id: as text "10" sorts before "8", which must not matter.
    ids = {"8": "CGZ", "10": "NSX", "9": "LLX"}
    facts = [fact(i, u, D(2026, 11, 24), D(2026, 11, 24)) for i, u in enumerate(ids)]
    board = rank_all(
        unit_scores(facts, *WEEK, AS_OF, RULES, CAL),
        dict.fromkeys(ids, "township"),
        RULES,
        names=ids,
    )
    assert [ids[r.unit_code] for r in board["township"]] == ["CGZ", "LLX", "NSX"]
    assert {r.rank for r in board["township"]} == {1}


@given(deadline=days, done=days, as_of=days, extended=st.booleans())
def test_a_completion_after_the_evaluation_day_is_not_known_yet(
    deadline: dt.date, done: dt.date, as_of: dt.date, extended: bool
) -> None:
    judged = score_item(fact(1, "A", deadline, done, extended=extended), as_of, RULES, CAL)
    if done > as_of:
        assert judged == score_item(
            fact(1, "A", deadline, None, extended=extended), as_of, RULES, CAL
        )
    else:
        assert judged is None or judged.score >= min(
            RULES.score_late_floor, RULES.score_extension_cap
        )


@given(
    first=st.dates(min_value=D(2025, 1, 1), max_value=D(2026, 6, 30)),
    weekday=st.integers(1, 7),
    skipped=st.lists(st.booleans(), min_size=1, max_size=12),
)
def test_weekly_windows_cover_every_day_once_and_only_after_it(
    first: dt.date, weekday: int, skipped: list[bool]
) -> None:
    """Publications (some skipped for holidays) judge contiguous, disjoint windows, each
    over before its publication; nothing is left between them."""
    from schedules.periods import MAX_CATCH_UP, due_week, open_week, publication_day

    day = publication_day(first, weekday)
    last_end: dt.date | None = None
    windows = []
    for skip in skipped:
        if not skip:
            live = open_week(day, weekday, last_end)
            window = due_week(day, last_end)
            assert window is not None and live == (*window, day)
            assert window[1] < day and window[0] <= window[1]
            assert due_week(day, window[1]) is None  # published once
            windows.append(window)
            last_end = window[1]
        day += dt.timedelta(days=7)
    for (_, end), (start, end2) in itertools.pairwise(windows):
        if end2 - end <= MAX_CATCH_UP:
            assert start == end + dt.timedelta(days=1)
        else:  # after a longer outage: seven days again (the monthly evaluation covers it)
            assert start == end2 - dt.timedelta(days=6)
    assert all(7 <= (b - a).days + 1 <= 28 for a, b in windows)


def test_periods_by_hand() -> None:
    from schedules.periods import (
        calendar_month,
        due_month,
        due_week,
        open_week,
        previous_month,
        week_window,
    )

    fri = D(2026, 11, 27)
    assert week_window(fri, None) == (D(2026, 11, 20), D(2026, 11, 26))
    assert due_week(fri, D(2026, 11, 12)) == (D(2026, 11, 13), D(2026, 11, 26))  # a skipped week
    assert due_week(fri, D(2026, 10, 1)) == (D(2026, 11, 20), D(2026, 11, 26))  # too long ago
    assert due_week(fri, D(2026, 11, 26)) is None
    assert open_week(D(2026, 11, 27), 5, D(2026, 11, 26)) == (
        D(2026, 11, 27),
        D(2026, 12, 3),
        D(2026, 12, 4),
    )
    assert calendar_month(D(2028, 2, 10)) == (D(2028, 2, 1), D(2028, 2, 29))
    assert previous_month(D(2027, 1, 4)) == (D(2026, 12, 1), D(2026, 12, 31))
    # 国庆: October 2026's first workday is the 8th; September is published then, once.
    sept = (D(2026, 9, 1), D(2026, 9, 30))
    assert due_month(D(2026, 10, 1), CAL) is None
    assert due_month(D(2026, 10, 8), CAL, D(2026, 8, 31)) == sept
    assert due_month(D(2026, 10, 9), CAL, D(2026, 9, 30)) is None  # published on the 8th
    # The bot was down on the 8th: the next workdays catch up (the 10th is a 调休 Saturday)…
    assert due_month(D(2026, 10, 9), CAL, D(2026, 8, 31)) == sept
    assert due_month(D(2026, 10, 10), CAL, D(2026, 8, 31)) == sept
    assert due_month(D(2026, 10, 11), CAL, D(2026, 8, 31)) is None  # a Sunday
    assert due_month(D(2026, 10, 13), CAL, D(2026, 8, 31)) == sept  # the 5th workday
    assert due_month(D(2026, 10, 14), CAL, D(2026, 8, 31)) is None  # …but not for ever
    assert due_month(D(2026, 12, 1), CAL) == (D(2026, 11, 1), D(2026, 11, 30))


@given(
    st.dates(D(2025, 1, 1), D(2026, 6, 30)),
    st.sets(st.integers(min_value=0, max_value=180), max_size=60),
)
def test_each_month_is_published_once_on_an_early_workday_whatever_the_outages(
    first: dt.date, down: set[int]
) -> None:
    from schedules.periods import MONTH_CATCH_UP, due_month, workday_of_month

    last_end: dt.date | None = None
    published: list[tuple[dt.date, dt.date]] = []
    for i in range(181):
        day = first + dt.timedelta(days=i)
        if i in down:
            continue  # the bot was not running that day
        due = due_month(day, CAL, last_end)
        if due is not None:
            assert 1 <= workday_of_month(day, CAL) <= MONTH_CATCH_UP
            assert due[1] == day.replace(day=1) - dt.timedelta(days=1)
            published.append(due)
            last_end = due[1]
    assert len(published) == len(set(published))  # never twice
    for i in range(181):  # a month whose first workday the bot was up for is published
        day = first + dt.timedelta(days=i)
        if i not in down and workday_of_month(day, CAL) == 1 and published:
            start = (day.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
            if start > published[0][0]:
                assert any(p[0] == start for p in published)
