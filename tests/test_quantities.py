"""Quantified targets and counted duties in chat: "#12 已出栏3200头", "#21 本月已巡河2次"."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import select

from bot.inbound.pipeline import handle_message
from bot.runtime import Runtime
from handlers import parse as parse_module
from handlers import quantities
from handlers.parse import parse
from handlers.quantities import Quantity, read_quantity
from handlers.render import period_label
from models import Assignment, KeyWork, Progress, Task, Unit
from schedules.jobs import materialize_due
from tests.conftest import Clock, County


@pytest.mark.parametrize(
    ("text", "quantity"),
    [
        ("#12 已出栏3200头", Quantity(12, 3200, "头", True)),
        ("#21 本月已巡河2次", Quantity(21, 2, "次", True)),
        ("＃２１　本月巡河２次", Quantity(21, 2, "次", True)),
        ("#12 新增出栏200头", Quantity(12, 200, "头", False)),
        ("#30 办件满意度98.5%", Quantity(30, 98.5, "%", True)),
        ("本月已巡河1次", Quantity(None, 1, "次", True)),
        ("#7 累计培训120人次", Quantity(7, 120, "人次", True)),
    ],
)
def test_quantities_are_read(text: str, quantity: Quantity) -> None:
    cmd = parse(text)
    assert cmd is not None and cmd.kind == "quantity" and cmd.ref == quantity.ref
    assert read_quantity(cmd.note) == quantity


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("#12 60%", "progress"),  # a bare percentage is progress
        # Some villages done is not the task done: never a done claim (issue 10's rule).
        ("#3 完成3个村", "partial"),
        ("进展 3个村已完成", "progress"),  # no ref, no period word: a note
        ("#12 进度 60%", "progress"),
        ("#12 计划出栏5000头", None),  # a plan is not a report
        ("延期 #12 至12月5日", "extension"),
    ],
)
def test_other_messages_are_not_quantities(text: str, kind: str | None) -> None:
    cmd = parse(text)
    assert (cmd.kind if cmd else None) == kind


def test_the_task_reference_is_read_alike() -> None:
    assert quantities.REF == parse_module.REF


def test_period_labels() -> None:
    assert period_label("2026-11") == "2026年11月"
    assert period_label("2026-Q4") == "2026年第四季度"
    assert period_label("2026-W48") == "11月23日起的一周"
    assert period_label("2026-11-25") == "11月25日"


def say(rt: Runtime, sender: str, text: str) -> str:
    return handle_message(
        rt, channel="cli", sender=sender, text=text, msg_key=f"t:{uuid.uuid4()}"
    ).reply


def add_task(rt: Runtime, code: int, content: str, **fields: object) -> None:
    with rt.sessions() as s:
        kw = s.scalar(select(KeyWork).where(KeyWork.name == "河湖长制"))
        hxx = s.scalar(select(Unit).where(Unit.code == "HXX"))
        task = Task(
            code=code, key_work=kw, content=content, deadline=dt.date(2026, 12, 31), **fields
        )
        s.add(Assignment(task=task, unit=hxx))
        s.commit()


def state(rt: Runtime, code: int) -> list[tuple[str, str, int, float | None, int]]:
    with rt.sessions() as s:
        return [
            (a.period, a.status, a.percent, a.value, a.count)
            for a in s.scalars(
                select(Assignment)
                .join(Assignment.task)
                .where(Task.code == code)
                .order_by(Assignment.period)
            )
        ]


def test_a_value_moves_progress_toward_the_target(rt: Runtime, county: County) -> None:
    add_task(rt, 12, "牦牛出栏", target_value=5000, target_unit="头")
    reply = say(rt, county.liaison_one, "#12 已出栏3200头")
    assert "累计3200头" in reply and "目标5000头" in reply and "完成64%" in reply
    assert state(rt, 12) == [("", "in_progress", 64, 3200.0, 0)]
    reply = say(rt, county.liaison_one, "#12 新增出栏1800头")
    assert "已达到目标" in reply and "待审核" in reply
    assert state(rt, 12) == [("", "reported", 100, 5000.0, 0)]
    with rt.sessions() as s:
        assert s.scalars(select(Progress.value).order_by(Progress.id)).all() == [3200.0, 1800.0]


def test_a_value_in_the_wrong_unit_is_refused(rt: Runtime, county: County) -> None:
    add_task(rt, 12, "牦牛出栏", target_value=5000, target_unit="头")
    reply = say(rt, county.liaison_one, "#12 已出栏30只")
    assert "以“头”计" in reply and "“只”" in reply
    assert state(rt, 12) == [("", "not_started", 0, None, 0)]


def test_counts_go_to_the_current_occurrence(rt: Runtime, county: County, clock: Clock) -> None:
    add_task(rt, 21, "每月巡河不少于2次", recurrence={"every": "month", "times": 2})
    rules, cal = rt.config.rules, rt.calendar
    materialize_due(rt.sessions, rules, cal, clock())
    clock.set(dt.datetime(2026, 12, 2, 2, 0, tzinfo=dt.UTC))
    materialize_due(rt.sessions, rules, cal, clock())
    reply = say(rt, county.liaison_one, "#21 本月已巡河1次")
    assert "2026年12月" in reply and "已1次" in reply and "不少于2次" in reply
    reply = say(rt, county.liaison_one, "#21 本月已巡河2次")
    assert "已达到本期要求" in reply
    assert state(rt, 21) == [
        ("2026-11", "not_started", 0, None, 0),
        ("2026-12", "reported", 100, None, 2),
    ]


def test_a_number_for_a_plain_task_is_a_progress_note(rt: Runtime, county: County) -> None:
    reply = say(rt, county.liaison_one, "#2 已更新台账3份")
    assert "已记录进度" in reply
    with rt.sessions() as s:
        assert s.scalars(select(Progress.text)).all() == ["#2 已更新台账3份"]


def test_help_shows_how_to_report_quantities(rt: Runtime, county: County) -> None:
    assert "#21 本月已巡河2次" in say(rt, county.liaison_one, "帮助")


def test_a_count_target_on_a_one_off_task_is_counted(rt: Runtime, county: County) -> None:
    add_task(rt, 12, "开展安全督查", target_value=10, target_unit="次")
    say(rt, county.liaison_one, "#12 已开展督查6次")
    assert state(rt, 12) == [("", "in_progress", 60, None, 6)]
