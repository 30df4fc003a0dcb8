"""Finding which ledger row a message is about, and the numbered pick when it is unclear."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import joinedload

from handlers.base import Context, Reply
from models import OPEN_STATUSES, Assignment, ConversationState, Task
from schedules.ledger import LedgerRow, ledger_rows

# Everything a reply about an item shows, in one query (the identity map holds only weak
# references, so related rows loaded earlier and dropped would be fetched again).
ASSIGNMENT_LOADS = (
    joinedload(Assignment.task).joinedload(Task.key_work),
    joinedload(Assignment.task).joinedload(Task.lead_unit),
    joinedload(Assignment.unit),
)


@dataclass(frozen=True)
class Found:
    assignment: Assignment


def rows_for(ctx: Context, **filters: Any) -> list[LedgerRow]:
    """Ledger rows as of the message's day, with this deployment's calendar, rules and plans."""
    return ledger_rows(
        ctx.session,
        today=ctx.today,
        cal=ctx.calendar,
        rules=ctx.rules,
        **filters,
    )


def open_rows(ctx: Context) -> list[LedgerRow]:
    return rows_for(ctx, unit_code=ctx.member.unit.code, open_only=True)


def find_item(ctx: Context, ref: int | None, action: str, data: dict[str, Any]) -> Found | Reply:
    """The sender's unit's item for `ref`; without a ref, its only open item or a numbered pick."""
    unit = ctx.member.unit
    if ref is not None:
        a = ctx.session.scalar(
            select(Assignment)
            .join(Assignment.task)
            .where(Task.code == ref, Assignment.unit_id == unit.id)
            .options(*ASSIGNMENT_LOADS)
            # A recurring duty has a row per occurrence: the newest is the current one.
            .order_by(Assignment.period.desc())
            .limit(1)
        )
        if a is not None:
            return Found(a)
        if ctx.session.scalar(select(Task.id).where(Task.code == ref)) is None:
            return Reply("no_such_task", {"ref": ref})
        return Reply("not_your_task", {"ref": ref, "unit": unit.name})
    rows = [r for r in open_rows(ctx) if r.status in OPEN_STATUSES]
    if not rows:
        return Reply("nothing_open", {"unit": unit.name})
    if len(rows) == 1:
        return Found(
            ctx.session.get_one(Assignment, rows[0].assignment_id, options=ASSIGNMENT_LOADS)
        )
    remember_pick(ctx, action, [r.assignment_id for r in rows], data)
    return Reply("pick", {"rows": rows, "action": action})


def remember_pick(ctx: Context, action: str, options: list[int], data: dict[str, Any]) -> None:
    ctx.session.execute(
        delete(ConversationState).where(ConversationState.member_id == ctx.member.id)
    )
    ctx.session.add(
        ConversationState(
            member_id=ctx.member.id,
            kind=f"pick:{action}",
            data={"options": options, **data},
            expires_at=ctx.now + dt.timedelta(seconds=ctx.rules.pick_ttl_seconds),
        )
    )


def pending_pick(ctx: Context) -> ConversationState | None:
    state = ctx.session.get(ConversationState, ctx.member.id)
    if state is None or not state.kind.startswith("pick:"):
        return None
    if state.expires_at <= ctx.now:
        return None
    return state


def forget_pick(ctx: Context) -> None:
    ctx.session.execute(
        delete(ConversationState).where(ConversationState.member_id == ctx.member.id)
    )
