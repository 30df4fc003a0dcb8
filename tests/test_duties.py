"""Recurring duties as ledger rows: each occurrence made once, with its own deadline, and
nudged gently."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.runtime import Runtime
from models import Assignment, KeyWork, Task, Unit
from schedules.calendar import WorkCalendar
from schedules.jobs import materialize_due
from schedules.reminders import Item, reminders_due
from schedules.rules import DUE_EVENING, DUE_MORNING, ESCALATE, OVERDUE, YELLOW, Rules
from tests.conftest import Clock, County

TZ = ZoneInfo("Asia/Shanghai")
CAL = WorkCalendar()
RULES = Rules()
D = dt.date


def at(day: dt.date, hh: int, mm: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hh, mm, tzinfo=TZ)


def add_patrol(rt: Runtime, recurrence: dict[str, object], code: int = 21) -> None:
    """#21 每月巡河不少于2次 for 河西乡, as an import leaves it: one row, no occurrence yet."""
    with rt.sessions() as s:
        kw = s.scalar(select(KeyWork).where(KeyWork.name == "河湖长制"))
        hxx = s.scalar(select(Unit).where(Unit.code == "HXX"))
        task = Task(
            code=code,
            key_work=kw,
            content="每月巡河不少于2次",
            deadline=D(2026, 12, 31),
            recurrence=recurrence,
        )
        s.add(Assignment(task=task, unit=hxx))
        s.commit()


def rows(rt: Runtime, code: int = 21) -> list[tuple[str, dt.date | None, str]]:
    with rt.sessions() as s:
        return [
            (a.period, a.period_deadline, a.status)
            for a in s.scalars(
                select(Assignment)
                .join(Assignment.task)
                .where(Task.code == code)
                .order_by(Assignment.period)
            )
        ]


def test_each_occurrence_is_a_row_made_once(rt: Runtime, county: County, clock: Clock) -> None:
    add_patrol(rt, {"every": "month", "times": 2})
    rules, cal = rt.config.rules, rt.calendar
    made = materialize_due(rt.sessions, rules, cal, at(D(2026, 11, 25), 10))
    assert [(m.key, m.deadline, m.created) for m in made] == [("2026-11", D(2026, 11, 30), False)]
    assert rows(rt) == [("2026-11", D(2026, 11, 30), "not_started")]
    assert materialize_due(rt.sessions, rules, cal, at(D(2026, 11, 30), 18)) == []
    made = materialize_due(rt.sessions, rules, cal, at(D(2026, 12, 1), 8))
    assert [(m.key, m.created) for m in made] == [("2026-12", True)]
    assert rows(rt) == [
        ("2026-11", D(2026, 11, 30), "not_started"),
        ("2026-12", D(2026, 12, 31), "not_started"),
    ]
    assert materialize_due(rt.sessions, rules, cal, at(D(2026, 12, 1), 8)) == []
    # The ledger shows each occurrence with its own deadline and no backward plan.
    from schedules.ledger import ledger_rows

    with rt.sessions() as s:
        ledger = [
            r
            for r in ledger_rows(s, today=D(2026, 12, 1), cal=cal, rules=rules)
            if r.task_code == 21
        ]
    assert [(r.period, r.deadline, r.light.color, r.milestones) for r in ledger] == [
        ("2026-11", D(2026, 11, 30), "red", ()),
        ("2026-12", D(2026, 12, 31), "green", ()),
    ]


def test_out_of_season_the_next_season_start_is_shown(rt: Runtime, county: County) -> None:
    add_patrol(rt, {"every": "day", "season": "汛期"}, code=22)
    made = materialize_due(rt.sessions, rt.config.rules, rt.calendar, at(D(2026, 11, 25), 10))
    # 2027-06-01 is a Tuesday: the first flood-season day, and a workday.
    assert [(m.key, m.deadline) for m in made] == [("2027-06-01", D(2027, 6, 1))]


def nudges(items: list[Item], moment: dt.datetime) -> set[str]:
    return {n.rule for n in reminders_due(items, moment, RULES, CAL)}


def test_a_daily_duty_gets_only_the_evening_check() -> None:
    day = D(2026, 11, 25)
    one_off = Item(1, 1, "报送", "A", day)
    daily = Item(2, 2, "汛情日报", "A", day, every="day")
    assert nudges([one_off], at(day, 17)) == {DUE_MORNING, DUE_EVENING}
    assert nudges([daily], at(day, 17)) == {DUE_EVENING}
    # Missed yesterday: tomorrow's occurrence takes over, no overdue nagging.
    assert nudges([Item(3, 3, "汛情日报", "A", D(2026, 11, 24), every="day")], at(day, 17)) == set()


def test_a_missed_monthly_duty_is_nudged_once_and_escalated_once() -> None:
    deadline = D(2026, 10, 30)  # Friday

    def rules_on(day: dt.date, every: str) -> set[str]:
        return nudges([Item(1, 1, "巡河", "A", deadline, every=every)], at(day, 10))

    assert rules_on(D(2026, 11, 2), "month") == {OVERDUE}  # first workday late
    assert rules_on(D(2026, 11, 3), "month") == set()  # no daily nagging after that
    assert rules_on(D(2026, 11, 4), "month") == {ESCALATE}  # three workdays: the leader, once
    assert rules_on(D(2026, 11, 3), "") == {OVERDUE}  # a one-off task is nagged daily
    assert rules_on(D(2026, 11, 9), "month") == set()
    assert rules_on(D(2026, 11, 9), "") == {OVERDUE, ESCALATE}


def test_a_weekly_duty_gets_one_yellow_day() -> None:
    deadline = D(2026, 11, 27)  # Friday
    item = Item(1, 1, "周巡查", "A", deadline, every="week")
    assert nudges([item], at(D(2026, 11, 24), 10)) == set()  # 3 workdays left
    assert nudges([Item(1, 1, "周巡查", "A", deadline)], at(D(2026, 11, 24), 10)) == {YELLOW}
    assert nudges([item], at(D(2026, 11, 26), 10)) == {YELLOW}  # 1 workday left


@pytest.mark.parametrize("backend", ["sqlite"])
def test_demo_duties_and_targets_on_the_task_page(rt: Runtime) -> None:
    import html

    from bot.app import create_app
    from bot.devtools.demo import TASK_COUNT, load_demo
    from bot.web.auth import create_account
    from tests.test_web import PASSWORD, csrf

    with rt.sessions() as s:
        load_demo(s, rt.today(), rt.tz)
        create_account(s, "duchashi", PASSWORD)
        s.commit()
        patrol = s.scalar(select(Task).where(Task.code == TASK_COUNT + 1))
        assert patrol is not None and patrol.recurrence == {
            "every": "month",
            "times": 2,
            "season": None,
        }
        assert sorted((a.unit.code, a.period, a.status) for a in patrol.assignments) == [
            ("T02", "2026-10", "closed"),
            ("T02", "2026-11", "in_progress"),
            ("T03", "2026-10", "in_progress"),
            ("T03", "2026-11", "in_progress"),
        ]
    # The scheduler finds the demo's occurrences already made.
    assert [
        m.task_code for m in materialize_due(rt.sessions, rt.config.rules, rt.calendar, rt.now())
    ] == []
    c = create_app(runtime=rt, TESTING=True).test_client()
    c.post("/login", data={"username": "duchashi", "password": PASSWORD, "csrf_token": csrf(c)})
    page = html.unescape(c.get(f"/task/{TASK_COUNT + 1}").get_data(as_text=True))
    assert "常态化工作" in page and "每月不少于2次" in page
    assert "2026年11月" in page and "2026年10月" in page and "1/2 次" in page and "2/2 次" in page
    assert "关键节点" not in page
    page = html.unescape(c.get(f"/task/{TASK_COUNT + 3}").get_data(as_text=True))
    assert "量化指标" in page and "目标 5000头" in page and "3200头" in page and "64%" in page


def test_migration_0005_keeps_rows_and_downgrades_to_one_row_per_unit(engine: object) -> None:
    from alembic import command
    from sqlalchemy import Engine, MetaData, Table, insert, text

    from models.migrate import alembic_config, upgrade

    assert isinstance(engine, Engine)
    command.downgrade(alembic_config(engine), "0004")
    now = dt.datetime(2026, 11, 25, 2)
    # Plain SQL: the JSON columns are text to MariaDB's reflection, JSON to the others'.
    with engine.begin() as conn:
        for sql in (
            "INSERT INTO unit (id, code, name, kind, webhook_keys, created_at) "
            "VALUES (1, 'HXX', '河西乡', 'township', '[]', :now)",
            "INSERT INTO key_work (id, name, weight) VALUES (1, '河湖长制', 1.0)",
            "INSERT INTO task (id, code, key_work_id, content, deadline, weight, plan, "
            "target_unit, recurrence, created_at) VALUES (1, 21, 1, '巡河', :end, 1.0, '[]', '', "
            '\'{"every": "month"}\', :now)',
            "INSERT INTO assignment (id, task_id, unit_id, status, percent, count, updated_at) "
            "VALUES (1, 1, 1, 'not_started', 0, 0, :now)",
        ):
            conn.execute(text(sql), {"now": now, "end": D(2026, 12, 31)})
    upgrade(engine)
    with engine.connect() as conn:
        after = Table("assignment", MetaData(), autoload_with=conn)
        assert conn.execute(select(after.c.id, after.c.period)).all() == [(1, "")]
    with engine.begin() as conn:  # a second occurrence of the same unit: only 0005 allows it
        conn.execute(
            insert(after).values(
                id=2,
                task_id=1,
                unit_id=1,
                status="not_started",
                percent=0,
                count=0,
                period="2026-12",
                period_deadline=D(2026, 12, 31),
                updated_at=now,
            )
        )
    command.downgrade(alembic_config(engine), "0004")
    with engine.connect() as conn:
        before = Table("assignment", MetaData(), autoload_with=conn)
        assert conn.execute(select(before.c.id)).scalars().all() == [1]
    upgrade(engine)
