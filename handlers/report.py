"""`完成` / `done` and `进度` / `进展`: a unit reports on one of its items."""

from __future__ import annotations

import datetime as dt
from typing import Any

from handlers.actions import claim_done, report_progress, request_extension
from handlers.base import Context, Reply
from handlers.extension_words import read_extension
from handlers.items import Found, find_item, forget_pick, pending_pick
from handlers.parse import Command
from handlers.required_evidence import hold_claim, needs_evidence
from models import CLOSED, REPORTED, Assignment
from schedules.ledger import LedgerRow, row_for
from schedules.review import current_evidence, first_reviewer


def act(ctx: Context, a: Assignment, action: str, data: dict[str, Any]) -> Reply:
    """Carry out a done claim, progress report or extension request on a resolved item."""
    if a.status == REPORTED:
        # Asking for more time on work reported done is a different matter from a repeated
        # done claim, and is answered as such.
        template = "extension_on_reported" if action == "extension" else "already_reported"
        return Reply(template, {"row": _row(ctx, a)})
    if a.status == CLOSED:
        return Reply("already_closed", {"row": _row(ctx, a)})
    inbound_id = ctx.inbound.id if ctx.inbound is not None else None
    if action == "extension":
        return _extension(ctx, a, data, inbound_id)
    if action == "done":
        if needs_evidence(a, ctx.rules) and not current_evidence(ctx.session, a):
            return hold_claim(ctx, a, data.get("note", ""))
        lead = first_reviewer(a, ctx.rules)
        claim_done(
            ctx.session,
            a,
            ctx.member,
            note=data.get("note", ""),
            now=ctx.now,
            today=ctx.today,
            source=ctx.source,
            inbound_id=inbound_id,
            first_reviewer=lead,
            cards=ctx.cards,
        )
        return Reply("done_ok", {"row": _row(ctx, a), "note": data.get("note", ""), "lead": lead})
    before = a.percent
    report_progress(
        ctx.session,
        a,
        ctx.member,
        percent=data.get("percent"),
        note=data.get("note", ""),
        now=ctx.now,
        today=ctx.today,
        source=ctx.source,
        inbound_id=inbound_id,
    )
    return Reply(
        "progress_ok",
        {
            "row": _row(ctx, a),
            "percent": data.get("percent"),
            "before": before,
            "note": data.get("note", ""),
        },
    )


def _row(ctx: Context, a: Assignment) -> LedgerRow:
    return row_for(a, ctx.today, ctx.calendar, ctx.rules)


class DoneHandler:
    name = "done"

    def check(self, ctx: Context) -> Command | None:
        cmd = ctx.command
        return cmd if cmd is not None and cmd.kind == "done" else None

    def handle(self, ctx: Context, match: Command) -> Reply:
        forget_pick(ctx)
        data = {"note": match.note}
        found = find_item(ctx, match.ref, "done", data, match.subject)
        return act(ctx, found.assignment, "done", data) if isinstance(found, Found) else found


class ProgressHandler:
    name = "progress"

    def check(self, ctx: Context) -> Command | None:
        cmd = ctx.command
        return cmd if cmd is not None and cmd.kind == "progress" else None

    def handle(self, ctx: Context, match: Command) -> Reply:
        forget_pick(ctx)
        if match.percent is not None and not 0 <= match.percent <= 100:
            return Reply("bad_percent", {"percent": match.percent})
        if match.percent is None and not match.note:
            return Reply("progress_usage")
        if match.percent == 100:
            return Reply("progress_full")
        data = {"percent": match.percent, "note": match.note}
        found = find_item(ctx, match.ref, "progress", data, match.subject)
        return act(ctx, found.assignment, "progress", data) if isinstance(found, Found) else found


class PickHandler:
    """A bare number answers the bot's last numbered list."""

    name = "pick"

    def check(self, ctx: Context) -> tuple[Command, Any] | None:
        cmd = ctx.command
        if cmd is None or cmd.kind != "pick":
            return None
        state = pending_pick(ctx)
        return (cmd, state) if state is not None else None

    def handle(self, ctx: Context, match: tuple[Command, Any]) -> Reply:
        cmd, state = match
        options: list[int] = state.data["options"]
        n = cmd.ref or 0
        if state.kind.startswith("confirm:"):
            forget_pick(ctx)
            if n == 2:  # 改报进度
                return Reply("progress_usage")
            if n != 1:
                return Reply("pick_out_of_range", {"n": 2})
        if not 1 <= n <= len(options):
            return Reply("pick_out_of_range", {"n": len(options)})
        action = state.kind.split(":", 1)[1]
        data = {k: v for k, v in state.data.items() if k != "options"}
        forget_pick(ctx)
        a = ctx.session.get(Assignment, options[n - 1])
        if a is None or a.unit_id != ctx.member.unit_id:
            return Reply("pick_out_of_range", {"n": len(options)})
        return act(ctx, a, action, data)


def _extension(ctx: Context, a: Assignment, data: dict[str, Any], inbound_id: int | None) -> Reply:
    row = _row(ctx, a)
    if data.get("date"):
        new_deadline = dt.date.fromisoformat(data["date"])
    else:  # "延期一周": a span from the item's own deadline
        new_deadline = a.deadline + dt.timedelta(days=int(data["shift_days"]))
    if new_deadline <= a.deadline:
        return Reply("extension_not_later", {"row": row, "date": new_deadline})
    if any(e.status == "pending" for e in a.extensions):
        return Reply("extension_pending", {"row": row})
    request_extension(
        ctx.session,
        a,
        ctx.member,
        new_deadline=new_deadline,
        reason=data.get("reason", ""),
        now=ctx.now,
        today=ctx.today,
        source=ctx.source,
        inbound_id=inbound_id,
    )
    return Reply(
        "extension_requested", {"row": row, "date": new_deadline, "reason": data.get("reason", "")}
    )


class ExtensionHandler:
    """`延期 #12 至8月15日 原因…`, `因…，12号任务申请延后到12月底`, `#12 延期一周`: a unit
    asks for a later deadline. A date already past is refused with the reason."""

    name = "extension"

    def check(self, ctx: Context) -> Command | None:
        cmd = ctx.command
        return cmd if cmd is not None and cmd.kind == "extension" else None

    def handle(self, ctx: Context, match: Command) -> Reply:
        forget_pick(ctx)
        reading = read_extension(match.note, ctx.today)
        if reading is None:
            return Reply("extension_usage")
        if reading.bad_words:
            return Reply("extension_bad_date", {"words": reading.bad_words})
        if reading.past is not None:
            return Reply("extension_past", {"date": reading.past})
        data = {
            "date": reading.date.isoformat() if reading.date else None,
            "shift_days": reading.shift_days,
            "reason": reading.reason,
        }
        found = find_item(ctx, match.ref, "extension", data, match.subject)
        return act(ctx, found.assignment, "extension", data) if isinstance(found, Found) else found
