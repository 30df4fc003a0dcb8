"""Supervisors' commands: 销号 / 退回 a completion, 批准延期 / 驳回延期, 催办."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from bot.actions import close_item, decide_extension, reject_item, urge
from handlers.base import Context, Reply
from handlers.parse import Command
from models import REPORTED, Assignment, Extension, Task, Unit

WORDS = {
    "close": "销号",
    "reject": "退回",
    "approve_ext": "批准延期",
    "refuse_ext": "驳回延期",
    "urge": "催办",
}


def pending_extension(a: Assignment) -> Extension | None:
    return next((e for e in reversed(a.extensions) if e.status == "pending"), None)


def _resolve(
    ctx: Context, cmd: Command, waiting: Callable[[Assignment], bool]
) -> tuple[list[Assignment], str] | Reply:
    """The rows a command is about: task ref plus an optional unit name or code.

    Without a unit, the task's only row that `waiting` selects (all of them for 催办).
    """
    word = WORDS[cmd.kind]
    if cmd.ref is None:
        return Reply("review_usage", {"word": word})
    task = ctx.session.scalar(select(Task).where(Task.code == cmd.ref))
    if task is None:
        return Reply("no_such_task", {"ref": cmd.ref})
    first, _, rest = cmd.note.partition(" ")
    unit = None
    if first:
        unit = ctx.session.scalar(select(Unit).where((Unit.name == first) | (Unit.code == first)))
    if unit is not None:
        a = next((x for x in task.assignments if x.unit_id == unit.id), None)
        if a is None:
            return Reply("not_assigned", {"ref": cmd.ref, "unit": unit.name})
        return [a], rest.strip()
    rows = [x for x in task.assignments if waiting(x)]
    if cmd.kind == "urge":
        return (rows, cmd.note) if rows else Reply("nothing_to_urge", {"ref": cmd.ref})
    if len(rows) == 1:
        return rows, cmd.note
    return Reply(
        "review_which_unit", {"ref": cmd.ref, "word": word, "waiting": [x.unit.name for x in rows]}
    )


class ReviewHandler:
    name = "review"

    def check(self, ctx: Context) -> Command | None:
        cmd = ctx.command
        return cmd if cmd is not None and cmd.kind in ("close", "reject") else None

    def handle(self, ctx: Context, match: Command) -> Reply:
        if not ctx.member.is_supervisor:
            return Reply("supervisors_only", {"word": WORDS[match.kind]})
        found = _resolve(ctx, match, lambda a: a.status == REPORTED)
        if isinstance(found, Reply):
            return found
        (a,), note = found
        if a.status != REPORTED:
            return Reply("not_awaiting_review", {"a": a})
        if match.kind == "close":
            close_item(ctx.session, a, ctx.member, now=ctx.now, source=ctx.source, note=note)
            return Reply("closed_ok", {"a": a})
        if not note:
            return Reply("reject_needs_reason", {"a": a})
        reject_item(ctx.session, a, ctx.member, reason=note, now=ctx.now, source=ctx.source)
        return Reply("rejected_ok", {"a": a, "reason": note})


class ExtensionDecisionHandler:
    name = "extension_decision"

    def check(self, ctx: Context) -> Command | None:
        cmd = ctx.command
        return cmd if cmd is not None and cmd.kind in ("approve_ext", "refuse_ext") else None

    def handle(self, ctx: Context, match: Command) -> Reply:
        if not ctx.member.is_supervisor:
            return Reply("supervisors_only", {"word": WORDS[match.kind]})
        found = _resolve(ctx, match, lambda a: pending_extension(a) is not None)
        if isinstance(found, Reply):
            return found
        (a,), note = found
        ext = pending_extension(a)
        if ext is None:
            return Reply("no_pending_extension", {"a": a})
        approve = match.kind == "approve_ext"
        if not approve and not note:
            return Reply("refusal_needs_reason", {"a": a})
        decide_extension(
            ctx.session, ext, ctx.member, approve=approve, note=note, now=ctx.now, source=ctx.source
        )
        return Reply("extension_decided", {"a": a, "ext": ext, "approve": approve})


class UrgeHandler:
    name = "urge"

    def check(self, ctx: Context) -> Command | None:
        cmd = ctx.command
        return cmd if cmd is not None and cmd.kind == "urge" else None

    def handle(self, ctx: Context, match: Command) -> Reply:
        if not ctx.member.is_supervisor:
            return Reply("supervisors_only", {"word": WORDS[match.kind]})
        found = _resolve(ctx, match, lambda a: a.is_open)
        if isinstance(found, Reply):
            return found
        rows, _ = found
        rows = [a for a in rows if a.is_open]
        if not rows:
            return Reply("nothing_to_urge", {"ref": match.ref})
        key = ctx.inbound.msg_key if ctx.inbound is not None else ctx.now.isoformat()
        for a in rows:
            urge(ctx.session, a, ctx.member, now=ctx.now, source=ctx.source, key=key)
        return Reply("urged", {"ref": match.ref, "units": [a.unit.name for a in rows]})
