"""`完成` / `done` and `进度` / `进展`: a unit reports on one of its items."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from handlers.actions import claim_done, report_progress, request_extension
from handlers.base import Context, Reply
from handlers.dates import date_mention
from handlers.items import Found, find_item, forget_pick, pending_pick
from handlers.parse import Command
from handlers.required_evidence import hold_claim, needs_evidence
from models import CLOSED, REPORTED, Assignment
from schedules.ledger import LedgerRow, row_for
from schedules.review import current_evidence, first_reviewer


def act(ctx: Context, a: Assignment, action: str, data: dict[str, Any]) -> Reply:
    """Carry out a done claim, progress report or extension request on a resolved item."""
    if a.status == REPORTED:
        return Reply("already_reported", {"row": _row(ctx, a)})
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
        found = find_item(ctx, match.ref, "done", data)
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
        found = find_item(ctx, match.ref, "progress", data)
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
    new_deadline = dt.date.fromisoformat(data["date"])
    row = _row(ctx, a)
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


REASON_PREFIX = re.compile(r"^[\s,，:：;；。]*(?:原因|理由|因为|由于|因)?[\s,，:：]*")


class ExtensionHandler:
    """`延期 #12 至8月15日 原因…`: a unit asks for a later deadline."""

    name = "extension"

    def check(self, ctx: Context) -> Command | None:
        cmd = ctx.command
        return cmd if cmd is not None and cmd.kind == "extension" else None

    def handle(self, ctx: Context, match: Command) -> Reply:
        forget_pick(ctx)
        mention = date_mention(match.note, ctx.today)
        if mention is None:
            return Reply("extension_usage")
        date, words, (start, end) = mention
        if date is None:
            return Reply("extension_bad_date", {"words": words})
        # The words around the date are not the reason: "到明年1月底", "至3月15日前完成".
        before = re.sub(r"(至|到|延至|延期至|推迟到)?\s*(明年|今年)?\s*$", "", match.note[:start])
        after = re.sub(r"^\s*(?:之前|以前|前)?(?:完成|办结)?", "", match.note[end:])
        reason = REASON_PREFIX.sub("", (before.strip() + " " + after).strip()).strip()
        data = {"date": date.isoformat(), "reason": reason}
        found = find_item(ctx, match.ref, "extension", data)
        return act(ctx, found.assignment, "extension", data) if isinstance(found, Found) else found
