"""The demo county's recurring duties (常态化工作) and quantified targets (量化指标): task
codes after the one-off tasks, each occurrence of a duty its own ledger row, reported
counts and values with their progress history. Derived from the seed and `today` like the
rest of the demo, and added only where missing (a second load changes nothing)."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import CLOSED, IN_PROGRESS, NOT_STARTED, Assignment, KeyWork, Progress, Task, Unit
from schedules.calendar import WorkCalendar
from schedules.recurrence import Occurrence, Recurrence, current_or_next, occurrence_on

# How long a demo duty runs (its task deadline): within the demo's deadline range.
DUTY_DAYS = 90


@dataclass(frozen=True)
class Spec:
    code: int
    key_work: str
    content: str
    lead: str  # unit code
    units: tuple[str, ...]
    recurrence: dict[str, Any] | None = None
    target: tuple[float, str] | None = None
    values: tuple[float, ...] = ()  # per unit, for a target


def specs(first_code: int) -> list[Spec]:
    return [
        Spec(
            first_code,
            "河湖长制",
            "乡镇河长每月巡河不少于2次",
            "D04",  # 县水利局
            ("T02", "T03"),
            recurrence={"every": "month", "times": 2, "season": None},
        ),
        Spec(
            first_code + 1,
            "防汛抗旱",
            "汛期每日报送雨水情和水库运行情况",
            "D04",
            ("D04",),
            recurrence={"every": "day", "times": 1, "season": "汛期"},
        ),
        Spec(
            first_code + 2,
            "牦牛产业集群",
            "全年牦牛出栏5000头",
            "D07",  # 县农业农村局
            ("T04", "T05"),
            target=(5000, "头"),
            values=(3200, 2150),
        ),
        Spec(
            first_code + 3,
            "一网通办",
            "政务服务事项网上可办率不低于90%",
            "D10",  # 县政务服务中心
            ("D10",),
            target=(90, "%"),
            values=(68.5,),
        ),
    ]


def load_duties(
    session: Session,
    seed: int,
    today: dt.date,
    units: dict[str, Unit],
    key_works: dict[str, KeyWork],
    tz: dt.tzinfo,
    first_code: int,
) -> bool:
    """Add the demo's duties and targets where missing; True when anything was added."""
    cal = WorkCalendar()
    tasks = {t.code: t for t in session.scalars(select(Task).where(Task.code >= first_code))}
    have = {
        (code, unit, period)
        for code, unit, period in session.execute(
            select(Task.code, Unit.code, Assignment.period)
            .join(Assignment.task)
            .join(Assignment.unit)
            .where(Task.code >= first_code)
        )
    }
    created = False
    for spec in specs(first_code):
        task = tasks.get(spec.code)
        if task is None:
            task = Task(
                code=spec.code,
                key_work=key_works[spec.key_work],
                content=spec.content,
                lead_unit=units[spec.lead],
                deadline=today + dt.timedelta(days=DUTY_DAYS),
                weight=2.0,
                plan=[],
                recurrence=spec.recurrence,
                target_value=spec.target[0] if spec.target else None,
                target_unit=spec.target[1] if spec.target else "",
                created_at=_at(today - dt.timedelta(days=60), tz, 9),
            )
            session.add(task)
            created = True
        for i, code in enumerate(spec.units):
            rng = random.Random(f"{seed}:duty:{spec.code}:{code}")
            for period, make in _rows(rng, spec, i, task, units[code], today, cal, tz):
                if (spec.code, code, period) not in have:
                    session.add(make())  # built only when missing: it joins its task
                    created = True
    return created


def _rows(
    rng: random.Random,
    spec: Spec,
    i: int,
    task: Task,
    unit: Unit,
    today: dt.date,
    cal: WorkCalendar,
    tz: dt.tzinfo,
) -> list[tuple[str, Callable[[], Assignment]]]:
    """(period, how to build the row) for each row of a unit."""
    liaison = next(m for m in unit.members if m.has_role("liaison"))
    if spec.target is not None:
        value = spec.values[i]
        percent = min(99, int(100 * value / spec.target[0]))
        at = _at(today - dt.timedelta(days=3), tz, rng.randint(9, 17))

        def target_row() -> Assignment:
            a = Assignment(task=task, unit=unit, status=IN_PROGRESS, value=value, percent=percent)
            a.progress.append(_report(liaison, at, value=value))
            return a

        return [("", target_row)]
    assert spec.recurrence is not None
    rec = Recurrence.from_json(spec.recurrence)
    rows: list[tuple[str, Callable[[], Assignment]]] = []
    current = current_or_next(rec, today, cal)
    if rec.every != "day" and current is not None:
        # The previous occurrence: done by the first unit, half done by the other.
        last = occurrence_on(rec, current.start - dt.timedelta(days=1), cal)
        if last is not None:
            rows.append(_occurrence_row(rng, task, unit, liaison, last, 2 if i == 0 else 1, tz))
    if current is not None:
        started = current.start < today
        rows.append(_occurrence_row(rng, task, unit, liaison, current, 1 if started else 0, tz))
    return rows


def _occurrence_row(
    rng: random.Random,
    task: Task,
    unit: Unit,
    liaison: Any,
    occ: Occurrence,
    count: int,
    tz: dt.tzinfo,
) -> tuple[str, Callable[[], Assignment]]:
    at = _at(occ.start, tz, rng.randint(9, 17))

    def build() -> Assignment:
        a = Assignment(
            task=task, unit=unit, period=occ.key, period_deadline=occ.deadline, status=NOT_STARTED
        )
        if count == 0:
            return a
        a.count = count
        a.progress.append(_report(liaison, at, count=count))
        if count >= occ.times:
            a.status, a.percent = CLOSED, 100
            a.reported_at = at
            a.progress[-1].kind, a.progress[-1].percent = "done", 100
            a.closed_at = at + dt.timedelta(days=1)
        else:
            a.status, a.percent = IN_PROGRESS, int(100 * count / occ.times)
        return a

    return occ.key, build


def _report(
    liaison: Any, at: dt.datetime, *, value: float | None = None, count: int | None = None
) -> Progress:
    text = f"本期已巡河{count}次" if count is not None else f"累计完成{value:g}"
    return Progress(
        member=liaison, created_at=at, kind="progress", text=text, value=value, count=count
    )


def _at(day: dt.date, tz: dt.tzinfo, hour: int) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=tz).astimezone(dt.UTC)
