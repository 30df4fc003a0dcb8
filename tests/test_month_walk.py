"""A frozen clock walks a small county through 中秋 and 国庆 2026, with the 调休 Sunday of
20 September and the 调休 Saturday of 10 October, ticking at each slot, twice (a restart or a
second run), and in quiet hours."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections import defaultdict
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.runtime import Runtime
from bot.scheduler import remind
from models import Assignment, Outbox, Task
from tests.factories import holiday_county

TZ = ZoneInfo("Asia/Shanghai")
D = dt.date


TICKS = ((0, 30), (8, 0), (9, 0), (9, 30), (12, 0), (16, 30), (16, 31), (21, 0), (23, 59))


def walk(rt: Runtime, first: dt.date, last: dt.date) -> None:
    day = first
    while day <= last:
        for hh, mm in TICKS:
            when = dt.datetime(day.year, day.month, day.day, hh, mm, tzinfo=TZ)
            remind(rt, when)
            remind(rt, when)  # a second scheduler run, or a restart: nothing doubles
        day += dt.timedelta(days=1)


def test_a_month_of_nudges(rt: Runtime) -> None:
    holiday_county(rt)
    walk(rt, D(2026, 9, 18), D(2026, 10, 18))
    with rt.sessions() as s:
        rows = s.scalars(select(Outbox).order_by(Outbox.id)).all()
    keys = [r.dedupe_key for r in rows]
    assert len(keys) == len(set(keys))
    by_day: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        _, rule, unit, slot, *rest = r.dedupe_key.split(":")
        by_day[slot[:10]].append(f"{rule}/{unit}" + (f"/{rest[0]}" if rest else ""))
        local = r.created_at.astimezone(TZ)
        assert dt.time(8) <= local.time() < dt.time(21), r.dedupe_key  # never in quiet hours
        assert rt.calendar.is_workday(local.date()), r.dedupe_key
    esc_a = ["escalate/A/leader", "escalate/A/office"]
    esc_b = ["escalate/B/office"]  # B has no leader: the office only
    expected = {
        # 9-19 Sat: nothing. 9-20 is the 调休 Sunday: a workday.
        "2026-09-20": ["yellow/B"],  # #3 milestone 23 Sep: 3 workdays left
        "2026-09-22": ["yellow/B"],  # 1 left
        "2026-09-23": ["yellow/A", "due_morning/B"],  # #2: 3 left; #3 milestone due today
        "2026-09-24": ["yellow/B", "overdue/B"],  # #3 milestone missed; deadline 3 left
        # 9-25…27 中秋: nothing.
        "2026-09-28": ["yellow/A", "overdue/B"],  # #2: 1 left
        "2026-09-29": [
            "yellow/A",  # #1: 3 left
            "due_morning/A",  # #2 due today
            "due_evening/A",  # and still unreported at 16:30
            "yellow/B",  # #3: 1 left
            "overdue/B",  # its milestone still missed
        ],
        "2026-09-30": ["overdue/A", "due_morning/B", "due_evening/B"],  # #3 due 10-3, a holiday
        # 10-1…7 国庆: nothing at all.
        "2026-10-08": ["yellow/A", "overdue/A", "overdue/B"],  # #1: 1 left; #2 late 2; #3 late 1
        "2026-10-09": ["due_morning/A", "overdue/A", *esc_a, "due_evening/A", "overdue/B"],
        # The 调休 Saturday is a workday: #1 late 1, #2 late 4; #3 late 3 escalates.
        "2026-10-10": ["overdue/A", "overdue/B", *esc_b],
        "2026-10-12": ["overdue/A", "overdue/B"],
        "2026-10-13": ["overdue/A", *esc_a, "overdue/B"],  # #1 late 3, #2 late 6: one message
        "2026-10-14": ["overdue/A", "overdue/B", *esc_b],  # #3 late 6
        "2026-10-15": ["overdue/A", "overdue/B"],
        "2026-10-16": ["overdue/A", *esc_a, "overdue/B"],  # #1 late 6, #2 late 9
    }
    assert {d: sorted(v) for d, v in by_day.items()} == {d: sorted(v) for d, v in expected.items()}
    by_key = {r.dedupe_key: r for r in rows}
    overdue = by_key["nudge:overdue:A:2026-10-10T0930"]
    assert "#1" in overdue.payload["content"] and "#2" in overdue.payload["content"]
    assert overdue.payload["mentioned_list"] == ["a_deputy", "a_liaison"]  # head on leave
    assert by_key["nudge:overdue:A:2026-10-13T0930"].payload["mentioned_list"] == [
        "a_head",
        "a_liaison",
    ]  # back from leave
    leader = by_key["nudge:escalate:A:2026-10-13T0930:leader"]
    assert (leader.channel, leader.target) == ("app", "a_leader")
    assert "#1" in leader.payload["content"] and "#2" in leader.payload["content"]
    office = by_key["nudge:escalate:A:2026-10-13T0930:office:DCS"]
    assert (office.channel, office.target) == ("webhook", "key-dcs")
    assert "已提醒分管领导李副镇长" in office.payload["content"]
    assert (
        "未设分管领导" in by_key["nudge:escalate:B:2026-10-10T0930:office:DCS"].payload["content"]
    )
    assert by_key["nudge:yellow:A:2026-09-28T0900"].payload["mentioned_list"] == ["a_liaison"]
    assert by_key["nudge:overdue:B:2026-09-24T0930"].payload["mentioned_list"] == ["b_liaison"]
    assert "摸底排查" in by_key["nudge:overdue:B:2026-09-24T0930"].payload["content"]
    assert (
        "今天是到期前最后一个工作日"
        in by_key["nudge:due_morning:B:2026-09-30T0900"].payload["content"]
    )


def test_reported_items_are_never_nudged(rt: Runtime) -> None:
    holiday_county(rt)
    with rt.sessions() as s:
        for a in s.scalars(select(Assignment)):
            a.status = "reported"
        s.commit()
    walk(rt, D(2026, 9, 28), D(2026, 10, 13))
    with rt.sessions() as s:
        assert s.scalars(select(Outbox)).all() == []


def test_downtime_drops_old_slots_and_catches_up_today_once(
    rt: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    holiday_county(rt)
    # Down all of 8 Oct and until the afternoon of the 9th: the morning slots of the 9th
    # are caught up at 15:00, once; the 8th's are not sent late.
    remind(rt, dt.datetime(2026, 9, 30, 17, 0, tzinfo=TZ))
    with caplog.at_level(logging.WARNING, logger="schedules.jobs"):
        sent = remind(rt, dt.datetime(2026, 10, 9, 15, 0, tzinfo=TZ))
    assert sorted((s.nudge.rule, s.nudge.unit_code) for s in sent) == [
        ("due_morning", "A"),
        ("escalate", "A"),
        ("overdue", "A"),
        ("overdue", "B"),
    ]
    assert all(s.enqueued and s.nudge.slot.date() == D(2026, 10, 9) for s in sent)
    (warning,) = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    assert "3 slot(s)" in warning and "10-08 09:00, 10-08 09:30, 10-08 16:30" in warning
    again = remind(rt, dt.datetime(2026, 10, 9, 15, 1, tzinfo=TZ))
    assert not any(s.enqueued for s in again)
    with rt.sessions() as s:
        assert not s.scalars(select(Outbox).where(Outbox.dedupe_key.like("%2026-10-08%"))).all()


def test_plan_templates_and_extensions_move_milestones(
    db_url: str, engine: object, clock: object
) -> None:
    from bot.config import load_config
    from bot.runtime import build_runtime
    from schedules.ledger import ledger_rows

    cfg = load_config(environ={}, overrides={"database": {"url": db_url}})
    plans = {"安全生产": ({"name": "摸底", "offset": 2},)}
    cfg = dataclasses.replace(cfg, rules=dataclasses.replace(cfg.rules, plans=plans))
    rt = build_runtime(cfg, clock=clock, engine=engine)  # type: ignore[arg-type]
    holiday_county(rt)
    with rt.sessions() as s:
        rows = ledger_rows(s, today=D(2026, 9, 28), cal=rt.calendar, rules=cfg.rules, task_code=1)
        # two workdays before Fri 9 Oct, across 国庆: Wed 30 Sep
        assert [m.date for m in rows[0].milestones] == [D(2026, 9, 30)]
        a = s.scalars(select(Assignment).join(Assignment.task).where(Task.code == 1)).one()
        a.deadline_override = D(2026, 10, 16)  # an approved extension
        s.commit()
        rows = ledger_rows(s, today=D(2026, 9, 28), cal=rt.calendar, rules=cfg.rules, task_code=1)
        assert [m.date for m in rows[0].milestones] == [D(2026, 10, 14)]
    sent = remind(rt, dt.datetime(2026, 10, 14, 9, 0, tzinfo=TZ))
    assert any(x.reason.milestone == "摸底" for s_ in sent for x in s_.nudge.lines)
