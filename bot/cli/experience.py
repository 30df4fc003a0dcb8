"""`duban experience`: ask a red-listed unit of a published period for an 经验交流 note."""

from __future__ import annotations

import click
from sqlalchemy import select

from bot.cli.base import State, chosen_period, cli, needs_db
from handlers.self_review import ask_experience_note
from models import Unit
from schedules.board import board_for


@cli.command()
@click.argument("unit")
@click.option("--period", type=click.Choice(["week", "month"]), default=None)
@click.option("--from", "start", required=True, help="First day of the published period.")
@click.option("--to", "end", required=True, help="Last day of the published period.")
@click.pass_obj
@needs_db
def experience(state: State, unit: str, period: str | None, start: str, end: str) -> None:
    """Ask UNIT (code or name), on the red list of the published period, for an 经验交流
    note: a ledger item due like a 检视 item, announced in its group."""
    rt = state.runtime
    today = rt.today()
    with rt.sessions() as session:
        kind, first, last = chosen_period(session, rt, period, start, end)
        found = session.scalar(select(Unit).where((Unit.code == unit) | (Unit.name == unit)))
        if found is None:
            raise click.ClickException(f"no unit {unit}")
        board = board_for(session, rt.config.rules, rt.calendar, kind, first, last, today)
        try:
            a = ask_experience_note(
                session, board, found, rt.config.rules, rt.calendar, rt.now(), today, "cli"
            )
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        session.commit()
        if a is None:
            click.echo(f"{found.name} 已被请求过本期经验交流材料")
        else:
            click.echo(f"已请 {found.name} 报送经验交流材料：#{a.task.code}，{a.task.deadline}前")
