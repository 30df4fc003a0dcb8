"""`duban report`: the 通报 of a period as a Word document."""

from __future__ import annotations

import click

from bot.cli.base import State, chosen_period, cli, needs_db
from bot.notice import write_notice


@cli.command()
@click.option(
    "--period",
    type=click.Choice(["week", "month"]),
    default=None,
    help="week (default): the weekly window the next publication judges; month: this "
    "calendar month. With --from/--to: the kind of the given range.",
)
@click.option("--from", "start", default=None, help="First day of a range (YYYY-MM-DD).")
@click.option("--to", "end", default=None, help="Last day of a range (YYYY-MM-DD).")
@click.option(
    "--docx",
    "path",
    required=True,
    type=click.Path(dir_okay=False),
    help="Write the 通报 to this .docx file.",
)
@click.pass_obj
@needs_db
def report(state: State, period: str | None, start: str | None, end: str | None, path: str) -> None:
    """The 通报 (official notice) of a period's KPI evaluation: red and black lists, every
    unit's score, rank, movement and deductions, completion by key work, a chart of scores
    and the items still overdue. A published period is reported as published."""
    rt = state.runtime
    today = rt.today()
    with rt.sessions() as session:
        kind, first, last = chosen_period(session, rt, period, start, end)
        write_notice(session, rt.config.rules, rt.calendar, kind, first, last, today, path)
    click.echo(f"已写入 {path}", err=True)
