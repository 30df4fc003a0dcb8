"""`#12 已出栏3200头`, `#21 本月已巡河2次`: a unit reports a value against a quantified target
(量化指标) or occurrences of a recurring duty (常态化工作)."""

from __future__ import annotations

from handlers.actions import report_quantity
from handlers.base import Context, Reply
from handlers.items import Found, find_item, forget_pick
from handlers.parse import Command
from handlers.quantities import Quantity, read_quantity
from handlers.report import act
from models import CLOSED, REPORTED, Assignment
from schedules.ledger import row_for
from schedules.review import first_reviewer


class QuantityHandler:
    name = "quantity"

    def check(self, ctx: Context) -> Command | None:
        cmd = ctx.command
        return cmd if cmd is not None and cmd.kind == "quantity" else None

    def handle(self, ctx: Context, match: Command) -> Reply:
        forget_pick(ctx)
        q = read_quantity(match.note)
        if q is None:  # parse found one in this very text: only a changed reader gets here
            return Reply("not_understood")
        found = find_item(ctx, match.ref, "progress", {"percent": None, "note": match.note})
        if not isinstance(found, Found):
            return found
        return record_quantity(ctx, found.assignment, q, match.note)


def record_quantity(ctx: Context, a: Assignment, q: Quantity, note: str) -> Reply:
    """A value or count on a resolved item: chat and the phone form (报送) both come here."""
    task = a.task
    times = int((task.recurrence or {}).get("times") or 1) if task.recurrence else None
    if q.is_count and times is not None:
        goal, unit = float(times), q.unit
    elif task.target_value is not None:  # a one-off task may count too: 督查不少于10次
        goal, unit = task.target_value, task.target_unit
        if task.target_unit and q.unit != task.target_unit:
            return Reply(
                "quantity_unit_mismatch",
                {
                    "row": row_for(a, ctx.today, ctx.calendar, ctx.rules),
                    "unit": q.unit,
                    "target_unit": task.target_unit,
                },
            )
    else:
        # A task with nothing to count against: the words are a progress note.
        return act(ctx, a, "progress", {"percent": None, "note": note})
    if a.status in (REPORTED, CLOSED):
        return act(ctx, a, "progress", {"percent": None, "note": note})
    _, total = report_quantity(
        ctx.session,
        a,
        ctx.member,
        amount=q.amount,
        is_count=q.is_count,
        cumulative=q.cumulative,
        goal=goal,
        note=note,
        now=ctx.now,
        today=ctx.today,
        source=ctx.source,
        inbound_id=ctx.inbound.id if ctx.inbound is not None else None,
        first_reviewer=first_reviewer(a, ctx.rules),
        cards=ctx.cards,
    )
    return Reply(
        "quantity_ok",
        {
            "row": row_for(a, ctx.today, ctx.calendar, ctx.rules),
            "total": total,
            "goal": goal,
            "unit": unit,
            "count": q.is_count,
            "reached": total >= goal,
        },
    )
