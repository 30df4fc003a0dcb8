"""The ledger (台账) as rows with derived lights, shared by chat, CLI, web and API."""

from __future__ import annotations

import datetime as dt
import heapq
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, Select, String, cast, func, select
from sqlalchemy.orm import Session, aliased

from models import (
    CLOSED,
    LEAD_STAGE,
    REPORTED,
    STATUS_LABELS,
    Assignment,
    Extension,
    KeyWork,
    Task,
    Unit,
)
from schedules.calendar import WorkCalendar
from schedules.judge import Facts, Reason, Standing, score, standing
from schedules.plan import Milestone, effective_plan, milestone_dates
from schedules.rules import Rules

AWAITING_LEAD_REVIEW = "awaiting_lead_review"
LIGHT_ORDER = {"red": 0, "yellow": 1, "green": 2, "done": 3}


@dataclass(frozen=True)
class LedgerRow:
    assignment_id: int
    task_code: int
    key_work: str
    content: str
    lead_unit: str
    unit_code: str
    unit_name: str
    unit_kind: str
    status: str
    status_label: str
    percent: int
    deadline: dt.date
    light: Standing
    milestones: tuple[Milestone, ...]
    # A recurring duty's occurrence ("2026-06"); "" for a one-off task.
    period: str = ""
    # A reported or closed item judged as the scorer judges it: on time, or how late and
    # what that cost (points lost), so a late completion does not read like a timely one.
    finish: Reason | None = None
    finish_lost: float = 0.0

    @property
    def ref(self) -> str:
        return f"#{self.task_code}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "assignment_id": self.assignment_id,
            "task": self.ref,
            "task_code": self.task_code,
            "key_work": self.key_work,
            "content": self.content,
            "lead_unit": self.lead_unit,
            "unit_code": self.unit_code,
            "unit_name": self.unit_name,
            "unit_kind": self.unit_kind,
            "status": self.status,
            "status_label": self.status_label,
            "percent": self.percent,
            "deadline": self.deadline.isoformat(),
            "light": self.light.color,
            "reason": {
                "kind": self.light.reason.kind,
                "date": self.light.reason.date.isoformat() if self.light.reason.date else None,
                "workdays": self.light.reason.workdays,
                "milestone": self.light.reason.milestone,
            },
            "period": self.period,
            "milestones": [
                {"name": m.name, "date": m.date.isoformat(), "percent": m.percent}
                for m in self.milestones
            ],
        }


def row_for(
    a: Assignment,
    today: dt.date,
    cal: WorkCalendar,
    rules: Rules,
) -> LedgerRow:
    deadline = a.deadline
    # An occurrence of a recurring duty is too short for a backward plan: none applies.
    plan = () if a.period else effective_plan(a.task.plan, a.task.key_work.name, rules.plans)
    milestones = tuple(milestone_dates(deadline, plan, cal))
    status = {REPORTED: "reported", CLOSED: "closed"}.get(a.status, "open")
    lit = _light(
        standing(Facts(deadline, status, a.percent, milestones), today, rules, cal),
        status,
        a.review_stage,
    )
    extended = any(e.status == "approved" for e in a.extensions)
    finish, lost = _finish(deadline, status, a.reported_at, extended, rules, cal)
    return LedgerRow(
        assignment_id=a.id,
        task_code=a.task.code,
        key_work=a.task.key_work.name,
        content=a.task.content,
        lead_unit=a.task.lead_unit.name if a.task.lead_unit else "",
        unit_code=a.unit.code,
        unit_name=a.unit.name,
        unit_kind=a.unit.kind,
        status=a.status,
        status_label=a.status_label,
        percent=a.percent,
        deadline=deadline,
        light=lit,
        milestones=milestones,
        period=a.period,
        finish=finish,
        finish_lost=lost,
    )


def _light(lit: Standing, status: str, review_stage: str | None) -> Standing:
    if status == "reported" and review_stage == LEAD_STAGE:
        return replace(lit, reason=Reason(AWAITING_LEAD_REVIEW))  # not the office's turn yet
    return lit


def _finish(
    deadline: dt.date,
    status: str,
    reported_at: dt.datetime | None,
    extended: bool,
    rules: Rules,
    cal: WorkCalendar,
) -> tuple[Reason | None, float]:
    """A reported or closed item judged as the scorer judges it, and the points it lost."""
    if status == "open" or reported_at is None:
        return None, 0.0
    done_on = rules.local_day(reported_at)
    judged = score(Facts(deadline, done_on=done_on, extended=extended), done_on, rules, cal)
    if judged is None:
        return None, 0.0
    return judged.reason, rules.score_on_time - judged.value


@dataclass(frozen=True)
class LedgerPage:
    """One page of the ledger and what the page shows around it: the light counts and the
    number awaiting review of the whole selection (before the light and status filters)."""

    rows: list[LedgerRow]
    number: int  # 1-based, clamped to the last page
    size: int
    total: int  # rows after every filter
    lights: dict[str, int]
    awaiting: int

    @property
    def pages(self) -> int:
        return _pages(self.total, self.size)

    @property
    def first_index(self) -> int:
        """1-based position of the page's first row (0 when there are none)."""
        return (self.number - 1) * self.size + 1 if self.rows else 0


def _pages(total: int, size: int) -> int:
    return max(1, -(-total // size))


# What the index phase keeps per row: enough to filter, count and sort ten thousand rows;
# a LedgerRow is built only for the rows that are shown.
_Entry = tuple[
    tuple[int, dt.date, int, str],  # sort key: light, deadline, task code, unit code
    int,  # assignment id
    int,  # task id
    int,  # unit id
    str,  # status
    int,  # percent
    dt.date,  # deadline
    Standing,
    tuple[Milestone, ...],
    str,  # period
]


# What the ledger reads of each assignment, in the order _Ledger._judge unpacks it.
_COLUMNS = (
    Assignment.id,
    Assignment.task_id,
    Assignment.unit_id,
    Assignment.status,
    Assignment.percent,
    Assignment.deadline_override,
    Assignment.period,
    Assignment.period_deadline,
    Assignment.review_stage,
)
_SEP = "|"
# Bytes a task's assignments of one period may take when read packed (assignment_rows).
_PACKED_MAX = 64 * 1024 * 1024


def assignment_rows(
    conn: Connection, q: Select[*tuple[Any, ...]], packed: bool | None = None
) -> list[Any]:
    """The rows of `q`, a select of _COLUMNS (in no particular order).

    PyMySQL reads every row, and every value in it, in Python: 10,000 assignments of nine
    values were two thirds of a ledger page's time on MariaDB (bench/bench_ledger.py).
    Read `packed` (the default on PyMySQL), the database joins each assignment into one
    string and a task's assignments of one period into one row (GROUP_CONCAT), split here:
    the values are numbers, dates and the bot's own codes, and an absent one comes back
    as "" (None, but for `period`, which is "" when absent). GROUP_CONCAT cuts what is
    longer than `group_concat_max_len` (MySQL's default: 1 KB, some twenty assignments),
    so that is raised for the session; a row that does not come back whole (its length and
    count tell: cut short, or a separator in a value) sends the whole read the plain way."""
    if packed is None:
        packed = conn.dialect.driver == "pymysql"
    if packed:
        rows = _packed_rows(conn, q)
        if rows is not None:
            return rows
    return list(conn.execute(q).all())


def _packed_rows(conn: Connection, q: Select[*tuple[Any, ...]]) -> list[Any] | None:
    conn.exec_driver_sql(f"SET SESSION group_concat_max_len = {_PACKED_MAX}")
    parts = [func.coalesce(cast(column, String), "") for column in _COLUMNS]
    one = func.concat_ws(_SEP, *parts)
    grouped = q.with_only_columns(
        func.count(), func.sum(func.char_length(one)), func.group_concat(one)
    ).group_by(Assignment.task_id, Assignment.period)
    rows: list[Any] = []
    try:
        for count, length, text in conn.execute(grouped):
            text = text.decode() if isinstance(text, bytes) else text
            each = text.split(",")
            # Cut short (the length tells) or a separator inside a value (the count does).
            if len(text) != int(length) + count - 1 or len(each) != count:
                return None
            rows.extend(_unpack(line) for line in each)
    except ValueError:  # a value that is not what _COLUMNS holds
        return None
    return rows


def _unpack(line: str) -> tuple[Any, ...]:
    a_id, task_id, unit_id, status, percent, override, period, period_deadline, stage = line.split(
        _SEP
    )
    return (
        int(a_id),
        int(task_id),
        int(unit_id),
        status,
        int(percent),
        dt.date.fromisoformat(override) if override else None,
        period,
        dt.date.fromisoformat(period_deadline) if period_deadline else None,
        stage or None,
    )


# A deadline's milestones, their percentages, and the judgements made so far for rows on it.
_Plan = tuple[dt.date, tuple[Milestone, ...], tuple[int, ...], dict[object, Standing]]


class _Ledger:
    """The ledger read once: units and tasks by id, and every selected row judged."""

    def __init__(
        self,
        session: Session,
        *,
        today: dt.date,
        cal: WorkCalendar,
        rules: Rules,
        unit_code: str | None,
        task_code: int | None,
        status: str | None,
    ) -> None:
        self.conn = conn = session.connection()  # plain rows: no ORM identity map
        self.cal, self.rules = cal, rules
        self.units = {
            uid: (code, name, kind)
            for uid, code, name, kind in conn.execute(
                select(Unit.id, Unit.code, Unit.name, Unit.kind)
            )
        }
        lead = aliased(Unit)
        task_q = (
            select(
                Task.id,
                Task.code,
                Task.content,
                Task.deadline,
                Task.plan,
                KeyWork.name,
                lead.name,
            )
            .join(KeyWork, Task.key_work_id == KeyWork.id)
            .outerjoin(lead, Task.lead_unit_id == lead.id)
        )
        if task_code is not None:
            task_q = task_q.where(Task.code == task_code)
        self.tasks = {t[0]: t for t in conn.execute(task_q)}
        # reported_at is read for the rows that are shown: parsing ten thousand
        # timestamps was a good part of a page's time.
        q = select(*_COLUMNS)
        if unit_code:
            q = q.where(
                Assignment.unit_id.in_([k for k, u in self.units.items() if u[0] == unit_code])
            )
        if task_code is not None:
            q = q.where(Assignment.task_id.in_(list(self.tasks)))
        if status is not None:
            q = q.where(Assignment.status == status)
        self.entries = self._judge(assignment_rows(conn, q), today)

    def _judge(self, found: Sequence[Any], today: dt.date) -> list[_Entry]:
        cal, rules, tasks, units = self.cal, self.rules, self.tasks, self.units
        # Rows of one deadline and plan share the milestones and every judgement made for
        # them: the judge reads the percentage only to tell which milestones are pending,
        # so rows with the same pending milestones and status share one Standing (tested
        # against row_for in tests/test_ledger_paging.py).
        plans: dict[tuple[dt.date, object], _Plan] = {}

        def plan_for(task_id: int, deadline: dt.date, duty: bool) -> _Plan:
            _, code, _, _, task_plan, key_work, _ = tasks[task_id]
            # A task's own plan is its own; the key work's template is shared by its tasks;
            # an occurrence of a recurring duty is too short for a backward plan.
            key = (deadline, ("duty",) if duty else ("task", code) if task_plan else key_work)
            known = plans.get(key)
            if known is None:
                plan = () if duty else effective_plan(task_plan, key_work, rules.plans)
                milestones = tuple(milestone_dates(deadline, plan, cal))
                thresholds = tuple(m.percent for m in milestones)
                known = plans[key] = (deadline, milestones, thresholds, {})
            return known

        # Most rows keep their task's deadline and plan: those find it by the task's id.
        on_task: dict[int, tuple[_Plan, int]] = {}
        moved: dict[tuple[int, dt.date, bool], _Plan] = {}
        entries: list[_Entry] = []
        append = entries.append
        for (
            a_id,
            task_id,
            unit_id,
            a_status,
            percent,
            override,
            period,
            period_deadline,
            review_stage,
        ) in found:
            if task_id not in tasks or unit_id not in units:
                continue  # added since its task or unit was read (READ COMMITTED): next time
            if override is None and period_deadline is None and not period:
                known = on_task.get(task_id)
                if known is None:
                    task = tasks[task_id]
                    known = on_task[task_id] = (plan_for(task_id, task[3], False), task[1])
                slot, code = known
            else:
                deadline = override or period_deadline or tasks[task_id][3]
                moved_key = (task_id, deadline, bool(period))
                slot = moved.get(moved_key) or moved.setdefault(
                    moved_key, plan_for(task_id, deadline, bool(period))
                )
                code = tasks[task_id][1]
            deadline, milestones, thresholds, judged = slot
            kind = _KIND.get(a_status, "open")
            fact = (kind, tuple([percent < t for t in thresholds])) if thresholds else kind
            lit = judged.get(fact)
            if lit is None:
                facts = Facts(deadline, kind, percent, milestones)
                lit = judged[fact] = standing(facts, today, rules, cal)
            if kind == "reported" and review_stage == LEAD_STAGE:
                lit = _light(lit, kind, review_stage)
            append(
                (
                    (LIGHT_ORDER[lit.color], deadline, code, units[unit_id][0]),
                    a_id,
                    task_id,
                    unit_id,
                    a_status,
                    percent,
                    deadline,
                    lit,
                    milestones,
                    period,
                )
            )
        return entries

    def rows(self, entries: list[_Entry]) -> list[LedgerRow]:
        """LedgerRows for `entries`, in their order, with each finished row's finish."""
        wanted = [e[1] for e in entries if e[4] in (REPORTED, CLOSED)]
        reported: dict[int, dt.datetime] = {}
        extended: set[int] = set()
        if wanted:
            q = select(Assignment.id, Assignment.reported_at).where(
                Assignment.reported_at.is_not(None)
            )
            ext = select(Extension.assignment_id).where(Extension.status == "approved")
            if len(wanted) <= 500:  # a page: ask for its rows; the whole ledger: read all
                q = q.where(Assignment.id.in_(wanted))
                ext = ext.where(Extension.assignment_id.in_(wanted))
            reported = {a_id: at for a_id, at in self.conn.execute(q) if at is not None}
            extended = set(self.conn.execute(ext).scalars())
        out = []
        for _, a_id, task_id, unit_id, a_status, percent, deadline, lit, ms, period in entries:
            _, code, content, _, _, key_work, lead_name = self.tasks[task_id]
            kind = _KIND.get(a_status, "open")
            finish, lost = None, 0.0
            at = reported.get(a_id)
            if kind != "open" and at is not None:
                finish, lost = _finish(deadline, kind, at, a_id in extended, self.rules, self.cal)
            unit = self.units[unit_id]
            out.append(
                LedgerRow(
                    assignment_id=a_id,
                    task_code=code,
                    key_work=key_work,
                    content=content,
                    lead_unit=lead_name or "",
                    unit_code=unit[0],
                    unit_name=unit[1],
                    unit_kind=unit[2],
                    status=a_status,
                    status_label=STATUS_LABELS[a_status],
                    percent=percent,
                    deadline=deadline,
                    light=lit,
                    milestones=ms,
                    period=period,
                    finish=finish,
                    finish_lost=lost,
                )
            )
        return out


_KIND = {REPORTED: "reported", CLOSED: "closed"}


def _select(entries: list[_Entry], open_only: bool, light_filter: str | None) -> list[_Entry]:
    if open_only:
        entries = [e for e in entries if e[7].color != "done"]
    if light_filter:
        entries = [e for e in entries if e[7].color == light_filter]
    return entries


def ledger_rows(
    session: Session,
    *,
    today: dt.date,
    cal: WorkCalendar,
    rules: Rules,
    unit_code: str | None = None,
    open_only: bool = False,
    light_filter: str | None = None,
    task_code: int | None = None,
    status: str | None = None,
) -> list[LedgerRow]:
    """Ledger rows, worst light first, then by deadline and task code.

    A county's ledger runs to ten thousand assignments, so this reads plain columns (no ORM
    objects) and judges each distinct (deadline, plan, status, pending milestones) once:
    rows of one task share them. The result is what `row_for` gives for each assignment.
    A page of it is `ledger_page`, which builds only that page's rows.
    """
    ledger = _Ledger(
        session,
        today=today,
        cal=cal,
        rules=rules,
        unit_code=unit_code,
        task_code=task_code,
        status=status,
    )
    entries = _select(ledger.entries, open_only, light_filter)
    entries.sort(key=_sort_key)
    return ledger.rows(entries)


def ledger_page(
    session: Session,
    *,
    today: dt.date,
    cal: WorkCalendar,
    rules: Rules,
    number: int,
    size: int,
    unit_code: str | None = None,
    open_only: bool = False,
    light_filter: str | None = None,
    status: str | None = None,
) -> LedgerPage:
    """The `number`th page of `ledger_rows` (a page past the end is the last one), with the
    light counts and the number awaiting review of the unit/open selection, so each light's
    link can show its total. Only the page's rows are built: a page of a ten-thousand-row
    ledger costs the judging and sorting, not ten thousand LedgerRows."""
    ledger = _Ledger(
        session,
        today=today,
        cal=cal,
        rules=rules,
        unit_code=unit_code,
        task_code=None,
        status=None,
    )
    selection = _select(ledger.entries, open_only, None)
    lights: dict[str, int] = {}
    for e in selection:
        lights[e[7].color] = lights.get(e[7].color, 0) + 1
    awaiting = sum(1 for e in selection if e[4] == REPORTED)
    shown = _select(selection, False, light_filter)
    if status is not None:
        shown = [e for e in shown if e[4] == status]
    total = len(shown)
    number = min(number, _pages(total, size))
    start = (number - 1) * size
    # The page's rows are the smallest keys: no need to sort the whole ledger for page 1.
    # A heap of a fifth of the rows or more costs more than sorting them all.
    if (start + size) * 5 < total:
        page = heapq.nsmallest(start + size, shown, key=_sort_key)[start:]
    else:
        page = sorted(shown, key=_sort_key)[start : start + size]
    return LedgerPage(ledger.rows(page), number, size, total, lights, awaiting)


def _sort_key(entry: _Entry) -> tuple[tuple[int, dt.date, int, str], int]:
    # The assignment's id last: rows are read in no particular order (assignment_rows).
    return entry[0], entry[1]
