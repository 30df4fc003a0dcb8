"""The demo county: plausible, deterministic, every light present, idempotent."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.db import make_engine, make_session_factory
from bot.devtools.demo import DemoSummary, load_demo
from models import (
    CLOSED,
    OPEN_STATUSES,
    Assignment,
    Base,
    KeyWork,
    Member,
    Progress,
    Task,
    Unit,
)
from models.migrate import upgrade
from schedules.calendar import WorkCalendar
from schedules.ledger import ledger_rows
from schedules.rules import Rules

TODAY = dt.date(2026, 11, 25)  # a Wednesday
TZ = Rules().tz


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    upgrade(engine)
    yield make_session_factory(engine)
    engine.dispose()


def load(sessions: sessionmaker[Session], today: dt.date = TODAY, seed: int = 2026) -> DemoSummary:
    with sessions() as s:
        summary = load_demo(s, today, TZ, seed=seed)
        s.commit()
    return summary


def table_counts(sessions: sessionmaker[Session]) -> dict[str, int]:
    with sessions() as s:
        return {
            t.name: int(s.scalar(select(func.count()).select_from(t)) or 0)
            for t in Base.metadata.sorted_tables
        }


def open_by_liaison(s: Session) -> Counter[str]:
    """Open ledger rows per liaison userid (a liaison acts for its unit's rows)."""
    open_rows = Counter(
        s.scalars(select(Assignment.unit_id).where(Assignment.status.in_(OPEN_STATUSES)))
    )
    return Counter(
        {m.userid: open_rows[m.unit_id] for m in s.scalars(select(Member)) if m.has_role("liaison")}
    )


def test_county_shape(sessions: sessionmaker[Session]) -> None:
    summary = load(sessions)
    assert summary.created
    with sessions() as s:
        kinds = Counter(s.scalars(select(Unit.kind)))
        assert 18 <= kinds["township"] <= 22 and 22 <= kinds["department"] <= 28
        assert kinds["office"] == 1
        office = s.scalar(select(Unit).where(Unit.kind == "office"))
        assert office is not None and office.code == "DCS"
        assert sorted(m.userid for m in office.members if m.is_supervisor) == [
            "dcs_admin",
            "dcs_sup1",
            "dcs_sup2",
        ]
        for unit in s.scalars(select(Unit)):
            assert unit.leader is not None and unit.leader.has_role("leader"), unit.code
            assert unit.leader.unit_id == unit.id
            assert unit.webhook_keys == [f"demo-{unit.code}"] and unit.appchat_id is None
            if unit.kind != "office":
                roles = sorted(r for m in unit.members for r in m.roles)
                assert roles == ["head", "leader", "liaison"], unit.code
        for m in s.scalars(select(Member)):
            assert m.userid.isascii() and m.mobile and m.mobile.startswith("1380000")
        assert s.scalar(select(func.count()).select_from(KeyWork)) == 9
        assert {k.name for k in s.scalars(select(KeyWork))} >= {"河湖长制", "牦牛产业集群"}
        assert all(1.0 <= k.weight <= 2.0 and k.lead_unit for k in s.scalars(select(KeyWork)))
        tasks = list(s.scalars(select(Task)))
        assert 55 <= len(tasks) <= 65
        assert sorted(t.code for t in tasks) == list(range(1, len(tasks) + 1))
        for t in tasks:
            assert 1 <= len(t.assignments) <= 4, t.code
            assert 1 <= t.weight <= 3 and t.lead_unit is not None
            assert len({a.unit.kind for a in t.assignments} - {"township", "department"}) == 0
            offsets = [m["offset"] for m in t.plan]
            assert len(t.plan) <= 3
            assert all(isinstance(o, int) and o > 0 for o in offsets), t.code
            assert offsets == sorted(set(offsets), reverse=True), t.code
        assert summary.tasks == len(tasks) and summary.units == sum(kinds.values())


def test_ledger_has_every_case(sessions: sessionmaker[Session]) -> None:
    load(sessions)
    with sessions() as s:
        rows = list(s.scalars(select(Assignment)))
        overdue_open = [a for a in rows if a.is_open and a.deadline < TODAY]
        due_soon = [a for a in rows if a.is_open and 0 <= (a.deadline - TODAY).days <= 3]
        closed = [a for a in rows if a.status == CLOSED]
        assert overdue_open and due_soon and closed
        assert all(a.closed_at and a.reported_at for a in closed)
        kinds = Counter(a.unit.kind for a in rows)
        assert kinds["township"] and kinds["department"]
        deadlines = [(t.deadline - TODAY).days for t in s.scalars(select(Task))]
        assert min(deadlines) >= -40 and max(deadlines) <= 95
        assert sum(d > 7 for d in deadlines) > len(deadlines) / 2  # most in the future

        for a in rows:
            kinds_of = [p.kind for p in a.progress]
            if a.status in OPEN_STATUSES:
                assert "done" not in kinds_of
            else:
                assert "done" in kinds_of and a.percent == 100
            if a.status == "in_progress":
                assert 20 <= a.percent <= 80 and 1 <= kinds_of.count("progress") <= 3
            for p in a.progress:
                assert p.created_at.tzinfo is not None
                assert p.created_at.date() < TODAY
            liaison_rows = [p for p in a.progress if p.kind in ("progress", "done")]
            assert all(p.member and p.member.unit_id == a.unit_id for p in liaison_rows)

        per_liaison = open_by_liaison(s)
    assert per_liaison["t01_liaison"] >= 2
    assert per_liaison["t20_liaison"] == 1


def test_lights_match_the_documented_demo_story(sessions: sessionmaker[Session]) -> None:
    load(sessions)
    with sessions() as s:
        rows = ledger_rows(s, today=TODAY, cal=WorkCalendar.from_config(), rules=Rules())
    assert all(Counter(r.light.color for r in rows)[c] > 0 for c in ("red", "yellow", "green"))
    t01 = {r.ref: (r.status, r.light.color) for r in rows if r.unit_code == "T01"}
    assert t01 == {
        "#3": ("closed", "done"),
        "#7": ("not_started", "red"),
        "#12": ("in_progress", "green"),
        "#18": ("in_progress", "yellow"),
    }
    t20 = {r.ref: (r.status, r.light.color) for r in rows if r.unit_code == "T20"}
    assert t20 == {"#7": ("closed", "done"), "#12": ("in_progress", "green")}


def test_second_load_changes_nothing(sessions: sessionmaker[Session]) -> None:
    first = load(sessions)
    before = table_counts(sessions)
    with sessions() as s:
        snapshot = [
            (a.task.code, a.unit.code, a.status, a.percent, a.reported_at, a.closed_at)
            for a in s.scalars(select(Assignment).order_by(Assignment.id))
        ]
    writes: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.lstrip().upper().startswith(("SELECT", "PRAGMA")):
            writes.append(statement)

    engine = sessions.kw["bind"]
    event.listen(engine, "before_cursor_execute", record)
    try:
        again = load(sessions)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert first.created and not again.created
    assert writes == []  # no INSERT, UPDATE or DELETE at all
    assert table_counts(sessions) == before
    assert again == dataclasses.replace(first, created=False)
    with sessions() as s:
        assert snapshot == [
            (a.task.code, a.unit.code, a.status, a.percent, a.reported_at, a.closed_at)
            for a in s.scalars(select(Assignment).order_by(Assignment.id))
        ]


def test_deterministic_from_seed_and_today(tmp_path: Path) -> None:
    def dump(seed: int, name: str) -> list[tuple[object, ...]]:
        engine = make_engine(f"sqlite:///{tmp_path / name}")
        upgrade(engine)
        factory = make_session_factory(engine)
        load(factory, seed=seed)
        with factory() as s:
            rows = [
                (a.task.code, a.task.content, a.task.deadline, a.unit.code, a.status, a.percent)
                for a in s.scalars(select(Assignment).order_by(Assignment.id))
            ]
            rows += [(m.userid, m.name, m.mobile) for m in s.scalars(select(Member))]
            rows += [(p.kind, p.created_at, p.percent) for p in s.scalars(select(Progress))]
        engine.dispose()
        return rows

    assert dump(2026, "a.db") == dump(2026, "b.db")
    assert dump(2026, "a2.db") != dump(7, "c.db")


@pytest.mark.parametrize("today", [dt.date(2026, 1, 1), dt.date(2026, 12, 31)])
def test_other_days_and_seeds(sessions: sessionmaker[Session], today: dt.date) -> None:
    load(sessions, today=today, seed=99)
    with sessions() as s:
        per_liaison = open_by_liaison(s)
        rows = list(s.scalars(select(Assignment)))
        assert any(a.is_open and a.deadline < today for a in rows)
        assert any(a.is_open and 0 <= (a.deadline - today).days <= 3 for a in rows)
    assert per_liaison["t01_liaison"] >= 2 and per_liaison["t20_liaison"] == 1
