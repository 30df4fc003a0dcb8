"""One judgement of lateness for the ledger, the nudges and the scoring."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from handlers.render import reason_text
from schedules.calendar import WorkCalendar
from schedules.judge import (
    DUE_LAST_WORKDAY,
    OVERDUE,
    Facts,
    Reason,
    score,
    standing,
)
from schedules.reminders import Item, reminders_due
from schedules.rules import DUE_MORNING, YELLOW, Rules
from schedules.rules import OVERDUE as OVERDUE_RULE

TZ = ZoneInfo("Asia/Shanghai")
CAL = WorkCalendar()
RULES = Rules()
D = dt.date


def nudge_reasons(deadline: dt.date, day: dt.date) -> dict[str, Reason]:
    item = Item(1, 1, "排查", "A", deadline)
    now = dt.datetime.combine(day, dt.time(17, 0), TZ)
    return {n.rule: n.lines[0].reason for n in reminders_due([item], now, RULES, CAL)}


def test_a_saturday_deadline_reads_the_same_on_the_ledger_and_in_the_nudge() -> None:
    saturday, friday = D(2026, 11, 28), D(2026, 11, 27)
    light = standing(Facts(saturday), friday, RULES, CAL)
    nudges = nudge_reasons(saturday, friday)
    assert light.color == "yellow"
    assert light.reason == nudges[DUE_MORNING] == Reason(DUE_LAST_WORKDAY, saturday)
    words = reason_text(light.reason)
    assert words == "11月28日到期，今天是到期前最后一个工作日"
    assert "还剩 0" not in words
    # Monday is the first workday late, for the light, the nudge and the score alike.
    monday = D(2026, 11, 30)
    assert standing(Facts(saturday), monday, RULES, CAL).reason == Reason(OVERDUE, saturday, 1)
    assert nudge_reasons(saturday, monday)[OVERDUE_RULE] == Reason(OVERDUE, saturday, 1)
    judged = score(Facts(saturday, "closed", done_on=monday), monday, RULES, CAL)
    assert judged is not None and judged.late_workdays == 1 and judged.value == 90


workdays_2026 = st.dates(min_value=D(2026, 1, 5), max_value=D(2026, 12, 20)).filter(CAL.is_workday)
offsets = st.integers(-20, 20)


@given(day=workdays_2026, offset=offsets)
def test_every_nudge_says_what_the_ledger_says(day: dt.date, offset: int) -> None:
    """Whatever rule fires for an item, its line gives the reason the item's light gives."""
    deadline = day + dt.timedelta(days=offset)
    light = standing(Facts(deadline), day, RULES, CAL)
    for rule, reason in nudge_reasons(deadline, day).items():
        if rule in (DUE_MORNING, OVERDUE_RULE) or (
            rule == YELLOW and reason.workdays <= RULES.warning_workdays
        ):
            assert reason == light.reason, (rule, deadline, day)


@given(deadline=st.dates(min_value=D(2025, 1, 1), max_value=D(2026, 12, 1)), late=offsets)
def test_a_late_completion_costs_the_workdays_the_ledger_showed_red(
    deadline: dt.date, late: int
) -> None:
    done_on = deadline + dt.timedelta(days=abs(late))
    red = standing(Facts(deadline), done_on, RULES, CAL)
    judged = score(Facts(deadline, "closed", done_on=done_on), done_on, RULES, CAL)
    assert judged is not None
    shown = red.reason.workdays if red.color == "red" else 0
    assert judged.late_workdays == shown
