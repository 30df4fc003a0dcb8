"""Thin jobs around the pure reminder rules: load the ledger, enqueue what is due."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from bot.outbox import enqueue, enqueue_to_unit
from bot.runtime import Runtime
from handlers.render import render
from models import OPEN_STATUSES, Assignment, KeyWork, Member, Setting, Task, Unit
from schedules.plan import Milestone, effective_plan, milestone_dates
from schedules.reminders import (
    ESCALATE,
    YELLOW,
    Item,
    Nudge,
    Rules,
    dropped_slots,
    passed_slots,
    reminders_due,
    rules_from_config,
)
from schedules.workdays import WorkCalendar

log = logging.getLogger(__name__)
LAST_TICK = "scheduler.last_tick"


@dataclass(frozen=True)
class Sent:
    nudge: Nudge
    enqueued: bool  # False: already sent for this slot (a repeated or concurrent run)

    def as_dict(self) -> dict[str, object]:
        return {
            "key": self.nudge.key,
            "rule": self.nudge.rule,
            "unit": self.nudge.unit_code,
            "slot": self.nudge.slot.isoformat(),
            "enqueued": self.enqueued,
            "items": [f"#{x.task_code}" for x in self.nudge.lines],
        }


def load_items(
    session: Session,
    cal: WorkCalendar,
    templates: Mapping[str, Sequence[dict[str, Any]]] | None = None,
) -> list[Item]:
    """Every open ledger row as plain data, in one query (no ORM objects: 100k rows load fast)."""
    rows = session.execute(
        select(
            Assignment.id,
            Assignment.percent,
            Assignment.deadline_override,
            Task.id,
            Task.code,
            Task.content,
            Task.deadline,
            Task.plan,
            KeyWork.name,
            Unit.code,
        )
        .join(Task, Assignment.task_id == Task.id)
        .join(KeyWork, Task.key_work_id == KeyWork.id)
        .join(Unit, Assignment.unit_id == Unit.id)
        .where(Assignment.status.in_(OPEN_STATUSES))
        .order_by(Assignment.id)
    )
    plans: dict[tuple[dt.date, int], tuple[Milestone, ...]] = {}
    items = []
    for a_id, percent, override, task_id, code, content, task_deadline, plan, work, unit in rows:
        deadline = override or task_deadline
        key = (deadline, task_id)
        if key not in plans:
            steps = effective_plan(plan, work, templates)
            plans[key] = tuple(milestone_dates(deadline, steps, cal))
        items.append(Item(a_id, code, content, unit, deadline, percent or 0, plans[key]))
    return items


def present(member: Member | None, day: dt.date) -> Member | None:
    """The member, or while they are on leave their stand-in (and theirs, if also away)."""
    seen: set[int] = set()
    while (
        member is not None
        and member.leave_until is not None
        and member.leave_until >= day
        and member.stand_in is not None
        and member.stand_in.active
        and id(member) not in seen
    ):
        seen.add(id(member))
        member = member.stand_in
    return member


def mentions_for(unit: Unit, rule: str, day: dt.date) -> list[str]:
    roles = ("liaison",) if rule == YELLOW else ("liaison", "head")
    people = [
        present(m, day) for m in unit.members if m.active and any(m.has_role(r) for r in roles)
    ]
    return sorted({p.userid for p in people if p is not None})


def enqueue_nudges(session: Session, nudges: list[Nudge], now: dt.datetime) -> list[Sent]:
    units = {
        u.code: u
        for u in session.scalars(
            select(Unit).options(joinedload(Unit.members), joinedload(Unit.leader))
        ).unique()
    }
    offices = [u for u in units.values() if u.kind == "office"]
    out = []
    for n in nudges:
        unit = units[n.unit_code]
        day = n.slot.date()
        data: dict[str, Any] = {"unit": unit, "nudge": n, "lines": n.lines}
        if n.rule == ESCALATE:
            # The leader privately (their stand-in while on leave), and every office group.
            leader = present(unit.leader, day)
            leader = leader if leader is not None and leader.active else None
            data["leader"] = leader
            created = False
            if leader is not None:
                created |= (
                    enqueue(
                        session,
                        dedupe_key=f"{n.key}:leader",
                        channel="app",
                        target=leader.userid,
                        now=now,
                        source=n.key,
                        content=render("escalate_leader", data, today=day),
                    )
                    is not None
                )
            for office in offices:
                created |= bool(
                    enqueue_to_unit(
                        session,
                        office,
                        dedupe_key=f"{n.key}:office:{office.code}",
                        now=now,
                        content=render("escalate_office", data, today=day),
                        source=n.key,
                    )
                )
        else:
            created = bool(
                enqueue_to_unit(
                    session,
                    unit,
                    dedupe_key=n.key,
                    now=now,
                    source=n.key,
                    content=render(f"nudge_{n.rule}", data, today=day),
                    mentions=mentions_for(unit, n.rule, day),
                )
            )
        out.append(Sent(n, created))
    return out


def run_due(rt: Runtime, at: dt.datetime | None = None, *, dry_run: bool = False) -> list[Sent]:
    """Every rule as of `at` (default now): enqueue what is due and not yet sent.

    A concurrent run (a second scheduler during a lease hand-over, or `duban tick` while the
    scheduler runs) may insert the same keys first: the unique key refuses ours, and the
    pass is redone once, finding them sent.
    """
    now = at or rt.now()
    local = now.astimezone(rt.tz)
    rules = rules_from_config(rt.config.rules)
    if not passed_slots(local, rules, rt.calendar):
        return []  # a non-workday, quiet hours, or before the first slot: nothing to load
    for attempt in (1, 2):
        try:
            return _run_once(rt, now, local, rules, dry_run)
        except IntegrityError:
            if attempt == 2:
                raise
            log.info("reminder pass at %s raced another run; redoing it", local.isoformat())
    raise AssertionError("unreachable")


def _run_once(
    rt: Runtime, now: dt.datetime, local: dt.datetime, rules: Rules, dry_run: bool
) -> list[Sent]:
    with rt.sessions() as session:
        items = load_items(session, rt.calendar, rt.config.plans)
        nudges = reminders_due(items, local, rules, rt.calendar)
        if dry_run:
            return [Sent(n, False) for n in nudges]
        sent = enqueue_nudges(session, nudges, now.astimezone(dt.UTC))
        _note_tick(session, local, rules, rt.calendar)
        session.commit()
    for s in sent:
        if s.enqueued:
            log.info("nudge %s: %s item(s)", s.nudge.key, len(s.nudge.lines))
    return sent


def _note_tick(session: Session, local: dt.datetime, rules: Rules, cal: WorkCalendar) -> None:
    """Remember the last pass; log the slots of earlier days missed while the bot was down."""
    row = session.get(Setting, LAST_TICK)
    if row is None:
        session.add(Setting(key=LAST_TICK, value=local.isoformat()))
        return
    last = dt.datetime.fromisoformat(row.value).astimezone(local.tzinfo)
    if last >= local:
        return  # `duban tick --at` an earlier moment: the record only moves forward
    dropped = dropped_slots(last, local, rules, cal)
    if dropped:
        log.warning(
            "scheduler did not run from %s to %s: %s slot(s) of earlier days dropped, not "
            "sent late (%s)",
            last.isoformat(timespec="minutes"),
            local.isoformat(timespec="minutes"),
            len(dropped),
            ", ".join(f"{d:%m-%d %H:%M}" for d in dropped),
        )
    row.value = local.isoformat()
