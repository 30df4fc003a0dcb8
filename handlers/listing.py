"""`任务` / `待办`, `帮助`, and the answer to anything else."""

from __future__ import annotations

from handlers.base import Context, Reply
from handlers.items import open_rows
from handlers.notices import board_data
from handlers.parse import Command


class ListHandler:
    name = "list"

    def check(self, ctx: Context) -> Command | None:
        cmd = ctx.command
        return cmd if cmd is not None and cmd.kind == "list" else None

    def handle(self, ctx: Context, match: Command) -> Reply:
        rows = open_rows(ctx)
        return Reply("task_list", {"unit": ctx.member.unit, "rows": rows})


class HelpHandler:
    name = "help"

    def check(self, ctx: Context) -> Command | None:
        cmd = ctx.command
        return cmd if cmd is not None and cmd.kind == "help" else None

    def handle(self, ctx: Context, match: Command) -> Reply:
        return Reply("help", {"supervisor": ctx.member.is_supervisor, "form_url": ctx.form_url})


class RankHandler:
    """`排名` / `红黑榜`: this week's standings so far, and the sender's unit's line."""

    name = "rank"

    def check(self, ctx: Context) -> Command | None:
        cmd = ctx.command
        return cmd if cmd is not None and cmd.kind == "rank" else None

    def handle(self, ctx: Context, match: Command) -> Reply:
        board = ctx.boards(ctx.session, ctx.today)
        return Reply("rank_chat", board_data(board, ctx.member.unit))


class UnclearHandler:
    """A report the bot will not guess at: 完成了一半, or two tasks in one message."""

    name = "unclear"

    def check(self, ctx: Context) -> Command | None:
        cmd = ctx.command
        return cmd if cmd is not None and cmd.kind in ("partial", "several") else None

    def handle(self, ctx: Context, match: Command) -> Reply:
        return Reply(f"unclear_{match.kind}", {"ref": match.ref})


class FallbackHandler:
    """Anything not understood: a short hint rather than silence."""

    name = "fallback"

    def check(self, ctx: Context) -> bool:
        return True

    def handle(self, ctx: Context, match: bool) -> Reply:
        return Reply("not_understood", {"text": ctx.text[:40]})
