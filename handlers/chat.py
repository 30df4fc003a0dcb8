"""Loose chat: acknowledgements, questions answered, a done claim confirmed before it is
recorded, and two reports in one message."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from handlers.base import Context, Reply
from handlers.command import Command
from handlers.items import (
    ASSIGNMENT_LOADS,
    Found,
    find_item,
    forget_pick,
    open_rows,
    other_unit_named,
    remember_pick,
    title_match,
)
from handlers.render import render
from handlers.report import act
from models import Assignment, Task


class AckHandler:
    """收到 / 好的 / 👌: the whole group would read an answer, so a group gets none; a
    private chat gets a one-line hint."""

    name = "ack"

    def check(self, ctx: Context) -> Command | None:
        cmd = ctx.command
        return cmd if cmd is not None and cmd.kind == "ack" else None

    def handle(self, ctx: Context, match: Command) -> Reply:
        return Reply("silent") if ctx.chat == "group" else Reply("ack_hint")


class QuestionHandler:
    """截止时间？ / #12 完成了吗？: the unit's items (or the one asked about) with their
    deadlines and states. Nothing is recorded."""

    name = "question"

    def check(self, ctx: Context) -> Command | None:
        cmd = ctx.command
        return cmd if cmd is not None and cmd.kind in ("deadline", "status") else None

    def handle(self, ctx: Context, match: Command) -> Reply:
        rows = open_rows(ctx)
        if match.ref is not None:
            rows = [r for r in rows if r.task_code == match.ref]
            if not rows:
                a = ctx.session.scalar(
                    select(Assignment)
                    .join(Assignment.task)
                    .where(Task.code == match.ref, Assignment.unit_id == ctx.member.unit_id)
                )
                if a is None:
                    return Reply("not_your_task", {"ref": match.ref, "unit": ctx.member.unit.name})
        else:
            one = title_match(match.subject, [(r.assignment_id, r.content) for r in rows])
            if one is not None:
                rows = [r for r in rows if r.assignment_id == one]
        return Reply(
            "deadline_answer",
            {"rows": rows, "unit": ctx.member.unit, "kind": match.kind, "ref": match.ref},
        )


class ConfirmDoneHandler:
    """基本完成 / #12 ok / #12 100%: likely a done claim, but only the sender can say so."""

    name = "confirm_done"

    def check(self, ctx: Context) -> Command | None:
        cmd = ctx.command
        if cmd is None:
            return None
        if cmd.kind == "confirm_done" or (cmd.kind == "progress" and cmd.percent == 100):
            return cmd
        return None

    def handle(self, ctx: Context, match: Command) -> Reply:
        forget_pick(ctx)
        found = find_item(ctx, match.ref, "done", {"note": ""}, match.subject)
        if not isinstance(found, Found):
            return found
        a = found.assignment
        remember_pick(ctx, "done", [a.id], {"note": match.note}, prefix="confirm")
        return Reply("confirm", {"a": a, "ref": a.task.code, "content": a.task.content})


class SeveralHandler:
    """Two reports in one message: recorded together when each is certain and the sender's
    own; otherwise nothing is recorded and the sender is asked to send them one by one."""

    name = "several"

    def check(self, ctx: Context) -> Command | None:
        cmd = ctx.command
        return cmd if cmd is not None and cmd.kind == "several" and cmd.items else None

    def handle(self, ctx: Context, match: Command) -> Reply:
        forget_pick(ctx)
        if other_unit_named(ctx) is not None:
            return Reply("unclear_several", {"ref": None})
        rows: list[tuple[Assignment, Command]] = []
        for item in match.items:
            a = ctx.session.scalar(
                select(Assignment)
                .join(Assignment.task)
                .where(Task.code == item.ref, Assignment.unit_id == ctx.member.unit_id)
                .options(*ASSIGNMENT_LOADS)
            )
            if a is None or not a.is_open or (item.kind == "progress" and item.percent == 100):
                return Reply("unclear_several", {"ref": item.ref})
            rows.append((a, item))
        parts = []
        for a, item in rows:
            data: dict[str, Any] = {"note": item.note}
            if item.kind == "progress":
                data["percent"] = item.percent
            answer = act(ctx, a, item.kind, data)
            parts.append(render(answer.template, answer.data, today=ctx.today))
        return Reply("several_ok", {"parts": parts})
