"""Run officials' messages through the real parser and router against a small fixture county
and count what happened: understood, asked, missed, wrong (a recorded effect that differs
from the expected one — the count that must stay 0).

The file format is described in tests/data/corpus/README.md. Each message runs in its own
transaction on an in-memory SQLite copy of the fixture county, rolled back afterwards, so
messages never see each other's effects; a numbered question is answered in the same
transaction when the expectation says how (`then`).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from handlers.base import Context, Reply
from handlers.render import render
from handlers.router import handle, route
from models import (
    CLOSED,
    IN_PROGRESS,
    NOT_STARTED,
    REPORTED,
    Assignment,
    AuditLog,
    Base,
    Extension,
    KeyWork,
    Member,
    Progress,
    Task,
    Unit,
)
from schedules.board import compute_live
from schedules.calendar import WorkCalendar
from schedules.rules import Rules

# Wednesday 2026-11-25, 10:00 in Shanghai.
NOW = dt.datetime(2026, 11, 25, 2, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 11, 25)

UNITS = [
    ("CGZ", "城关镇", "township"),
    ("HXX", "河西乡", "township"),
    ("SLJ", "县水利局", "department"),
    ("NYJ", "县农业农村局", "department"),
    ("DCS", "县委县政府督查室", "office"),
]
MEMBERS = [
    ("cgz_liaison", "张联络", "CGZ", "liaison"),
    ("hxx_liaison", "赵联络", "HXX", "liaison"),
    ("slj_liaison", "钱联络", "SLJ", "liaison"),
    ("nyj_liaison", "孙联络", "NYJ", "liaison"),
    ("dcs_sup", "李督查", "DCS", "supervisor"),
]
# code, title, deadline, {unit: (status, percent)}
TASKS: list[tuple[int, str, dt.date, dict[str, tuple[str, int]]]] = [
    (7, "整改消防通道占用问题", dt.date(2026, 11, 20), {"CGZ": (NOT_STARTED, 0)}),
    (
        8,
        "报送重点项目清单",
        dt.date(2026, 11, 30),
        {"CGZ": (REPORTED, 100), "HXX": (REPORTED, 100)},
    ),
    (
        12,
        "农村人居环境整治",
        dt.date(2026, 11, 30),
        {"CGZ": (IN_PROGRESS, 40), "HXX": (NOT_STARTED, 0)},
    ),
    (13, "燃气安全隐患排查", dt.date(2026, 12, 10), {"CGZ": (NOT_STARTED, 0)}),
    (
        15,
        "更新河道巡查台账",
        dt.date(2026, 12, 5),
        {"CGZ": (NOT_STARTED, 0), "SLJ": (IN_PROGRESS, 50)},
    ),
    (
        21,
        "秸秆禁烧宣传",
        dt.date(2026, 11, 28),
        {"HXX": (IN_PROGRESS, 60), "NYJ": (NOT_STARTED, 0)},
    ),
    (23, "防汛物资清点", dt.date(2026, 12, 15), {"SLJ": (NOT_STARTED, 0)}),
    (30, "高标准农田建设验收", dt.date(2026, 12, 31), {"NYJ": (IN_PROGRESS, 70)}),
    (31, "冬季森林防火巡查", dt.date(2026, 12, 20), {"HXX": (NOT_STARTED, 0)}),
    (35, "困难群众冬季救助摸排", dt.date(2026, 12, 8), {"HXX": (REPORTED, 100)}),
    (40, "往年已销号事项", dt.date(2026, 10, 31), {"CGZ": (CLOSED, 100)}),
]

RECORDS = {"done", "progress", "extend", "close", "reject", "approve", "refuse_ext", "urge"}
ASK_TEMPLATES = {"pick", "confirm", "review_which_unit"}
HINT_TEMPLATES = {"not_understood", "ack_hint"}
ANSWER_TEMPLATES = {
    "deadline": {"deadline_answer"},
    "list": {"task_list", "awaiting_list", "nothing_open"},
    "rank": {"rank_chat"},
    "help": {"help"},
}
NOT_REFUSALS = ASK_TEMPLATES | HINT_TEMPLATES | {"silent"} | set().union(*ANSWER_TEMPLATES.values())


def build_county(session: Session) -> None:
    units = {code: Unit(code=code, name=name, kind=kind) for code, name, kind in UNITS}
    session.add_all(units.values())
    for userid, name, unit, role in MEMBERS:
        session.add(Member(userid=userid, name=name, unit=units[unit], roles=[role]))
    kw = KeyWork(name="重点工作", lead_unit=units["DCS"], weight=1.0)
    session.add(kw)
    for code, title, deadline, rows in TASKS:
        task = Task(
            code=code, key_work=kw, content=title, lead_unit=units["DCS"], deadline=deadline
        )
        session.add(task)
        for unit, (status, percent) in rows.items():
            a = Assignment(task=task, unit=units[unit], status=status, percent=percent)
            if status == REPORTED:
                a.reported_at = NOW - dt.timedelta(days=1)
            if status == CLOSED:
                a.closed_at = NOW - dt.timedelta(days=20)
            session.add(a)
    session.flush()
    slj = next(a for a in session.scalars(select(Assignment)) if a.task.code == 23)
    session.add(
        Extension(
            assignment=slj,
            requested_at=NOW - dt.timedelta(days=1),
            old_deadline=dt.date(2026, 12, 15),
            new_deadline=dt.date(2026, 12, 31),
            reason="物资采购未到货",
        )
    )
    session.flush()


@dataclass
class Outcome:
    message: dict[str, Any]
    verdict: str  # understood | asked | missed | wrong
    template: str
    records: list[dict[str, Any]]
    reply: str


@dataclass
class Counts:
    total: int = 0
    by: Counter[str] = field(default_factory=Counter)
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def wrong(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.verdict == "wrong"]

    def line(self) -> str:
        n = max(self.total, 1)
        ok = self.by["understood"] + self.by["asked"]
        return (
            f"messages {self.total}: understood {self.by['understood']}, "
            f"asked {self.by['asked']}, missed {self.by['missed']}, wrong {self.by['wrong']} "
            f"(understood or asked {100 * ok / n:.1f}%)"
        )


def load(path: str | Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


class Runner:
    def __init__(self, rules: Rules | None = None) -> None:
        self.engine = create_engine("sqlite://")
        # Per-message rollback needs SAVEPOINT-free nesting: pysqlite's own transaction
        # handling is switched off so SQLAlchemy's BEGIN/ROLLBACK are the only ones.
        event.listen(self.engine, "connect", _no_pysqlite_tx)
        event.listen(self.engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN"))
        Base.metadata.create_all(self.engine)
        with Session(self.engine) as s:
            build_county(s)
            s.commit()
        self.rules = rules or Rules()
        self.calendar = WorkCalendar()

    def run(self, messages: Iterable[dict[str, Any]]) -> Counts:
        counts = Counts()
        for message in messages:
            outcome = self.one(message)
            counts.total += 1
            counts.by[outcome.verdict] += 1
            counts.outcomes.append(outcome)
        return counts

    def _say(self, session: Session, member: Member, text: str, chat: str) -> tuple[Reply, str]:
        ctx = Context(
            session=session,
            rules=self.rules,
            calendar=self.calendar,
            boards=lambda s, today: compute_live(s, self.rules, self.calendar, today),
            member=member,
            text=text,
            now=NOW,
            today=TODAY,
            chat=chat,
        )
        handler, match = route(ctx)
        answer = handle(ctx, handler, match)
        session.flush()
        return answer, render(answer.template, answer.data, today=TODAY)

    def one(self, message: dict[str, Any]) -> Outcome:
        with sessionmaker(self.engine)() as session:
            try:
                return self._one(session, message)
            finally:
                session.rollback()

    def _one(self, session: Session, message: dict[str, Any]) -> Outcome:
        member = session.scalar(select(Member).where(Member.userid == message["sender"]))
        if member is None:
            raise ValueError(f"message {message.get('id')}: unknown sender {message['sender']}")
        chat = message.get("chat", "group")
        mark = session.scalar(select(AuditLog.id).order_by(AuditLog.id.desc()).limit(1)) or 0
        answer, reply = self._say(session, member, message["text"], chat)
        records = _records(session, mark)
        expect = message["expect"]
        wanted = [e for e in expect if e["kind"] in RECORDS]
        verdict = _judge(answer.template, records, expect, wanted)
        then = next((e["then"] for e in expect if e.get("then")), None)
        if answer.template in ASK_TEMPLATES and then is not None and not records:
            mark = session.scalar(select(AuditLog.id).order_by(AuditLog.id.desc()).limit(1)) or 0
            _, reply2 = self._say(session, member, then["reply"], chat)
            after = _records(session, mark)
            target = {k: v for k, v in then.items() if k != "reply"}
            if after and not all(_same(r, target) for r in after):
                verdict = "wrong"
            elif not after and verdict == "understood":
                verdict = "missed"  # the question promised a record the answer did not make
            records, reply = after, reply + "\n→ " + reply2
        return Outcome(message, verdict, answer.template, records, reply)


def _no_pysqlite_tx(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None


def _records(session: Session, after_id: int) -> list[dict[str, Any]]:
    """The effects recorded since audit row `after_id`, in the corpus's words."""
    out: list[dict[str, Any]] = []
    for entry in session.scalars(
        select(AuditLog).where(AuditLog.id > after_id).order_by(AuditLog.id)
    ):
        a = session.get(Assignment, entry.entity_id) if entry.entity == "assignment" else None
        if a is None:
            continue
        base = {"task": a.task.code, "unit": a.unit.code}
        d = entry.detail or {}
        if entry.action == "claim_done":
            out.append({"kind": "done", **base})
        elif entry.action == "report_progress":
            p = session.scalar(
                select(Progress).where(Progress.assignment_id == a.id).order_by(Progress.id.desc())
            )
            out.append({"kind": "progress", **base, "percent": p.percent if p else None})
        elif entry.action == "request_extension":
            e = session.scalar(
                select(Extension)
                .where(Extension.assignment_id == a.id)
                .order_by(Extension.id.desc())
            )
            assert e is not None
            out.append(
                {"kind": "extend", **base, "date": e.new_deadline.isoformat(), "reason": e.reason}
            )
        elif entry.action in ("close", "reject", "urge"):
            out.append({"kind": entry.action, **base, "reason": d.get("reason", "")})
        elif entry.action in ("approve_extension", "refuse_extension"):
            kind = "approve" if entry.action == "approve_extension" else "refuse_ext"
            out.append({"kind": kind, **base, "reason": d.get("note", "")})
    return out


def _plain(text: str) -> str:
    return "".join(ch for ch in text if ch.isalnum())


def _same(record: dict[str, Any], want: dict[str, Any]) -> bool:
    """Does a recorded effect match an expected one (fields the expectation names)?"""
    if record["kind"] != want["kind"] or record["task"] != want.get("task"):
        return False
    if "unit" in want and record["unit"] != want["unit"]:
        return False
    if "percent" in want and record.get("percent") != want["percent"]:
        return False
    if "date" in want and record.get("date") != want["date"]:
        return False
    if "reason" not in want:
        return True
    # The reason, not the request's or the date's words: one contains the other ("燃气排查户数多"
    # for "排查户数多"), and no date crept in.
    got, wanted = _plain(record.get("reason", "")), _plain(want["reason"])
    if re.search(r"\d+[月日号]", got) and not re.search(r"\d+[月日号]", wanted):
        return False
    return bool(got) and (wanted in got or got in wanted)


def _judge(
    template: str,
    records: list[dict[str, Any]],
    expect: list[dict[str, Any]],
    wanted: list[dict[str, Any]],
) -> str:
    if records:
        if not wanted:
            return "wrong"
        if len(records) < len(wanted) and all(any(_same(r, w) for w in wanted) for r in records):
            return "missed"  # part of a two-task message recorded right, the rest not
        urge = [w for w in wanted if w["kind"] == "urge" and "unit" not in w]
        if urge:  # 催办 without a unit urges every open row of the task
            return "understood" if all(_same(r, urge[0]) for r in records) else "wrong"
        matched = (
            len(records) == len(wanted)
            and all(any(_same(r, w) for w in wanted) for r in records)
            and all(any(_same(r, w) for r in records) for w in wanted)
        )
        return "understood" if matched else "wrong"
    kinds = {e["kind"] for e in expect}
    if wanted:
        return "asked" if template in ASK_TEMPLATES else "missed"
    if "ask" in kinds:
        return "understood" if template in ASK_TEMPLATES else "missed"
    if "answer" in kinds:
        about = next(e["about"] for e in expect if e["kind"] == "answer")
        return "understood" if template in ANSWER_TEMPLATES[about] else "missed"
    if "silent" in kinds:
        return "understood" if template == "silent" else "missed"
    if "hint" in kinds:
        return "understood" if template in HINT_TEMPLATES else "missed"
    if "refuse" in kinds:
        return "understood" if template not in NOT_REFUSALS else "missed"
    # norecord: any answer but silence (the sender must learn nothing was recorded)
    return "understood" if template != "silent" else "missed"


def check_file(path: str | Path) -> Counts:
    return Runner().run(load(path))
