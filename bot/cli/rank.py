"""`duban rank`: scores and rankings for a week, a month or any range."""

from __future__ import annotations

import json

import click

from bot.cli.base import State, chosen_period, cli, needs_db, pad
from bot.scheduler import board_broadcast
from handlers.notices import board_data, board_json
from handlers.render import phrase
from schedules.board import board_for
from schedules.board import publish as freeze
from schedules.standing import standings, thin_period


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
    "--publish", is_flag=True, help="Freeze a period that is over as a snapshot and broadcast it."
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option(
    "--xlsx",
    "xlsx",
    default=None,
    type=click.Path(dir_okay=False),
    help="Also write the evaluation to this Excel file.",
)
@click.option(
    "--standing",
    is_flag=True,
    help="Also the standing over month to date and year to date (every unit with something "
    "due ranked; movement against last month), in the output and the Excel file.",
)
@click.pass_obj
@needs_db
def rank(
    state: State,
    period: str | None,
    start: str | None,
    end: str | None,
    publish: bool,
    as_json: bool,
    xlsx: str | None,
    standing: bool,
) -> None:
    """Unit scores and ranks, townships and departments separately, red and black lists.

    A published period is shown exactly as published; any other is computed as of today.
    """
    rt = state.runtime
    today = rt.today()
    with rt.sessions() as session:
        kind, first, last = chosen_period(session, rt, period, start, end)
        if publish:
            if today <= last:
                raise click.UsageError(
                    f"{first} … {last} is not over yet: items due on its last day cannot be "
                    "judged before the next day"
                )
            now = rt.now()
            board = freeze(session, rt.config.rules, rt.calendar, kind, first, last, today, now)
            sent = board_broadcast(rt)(session, board, now)
            session.commit()
            click.echo(f"published; {sent} group message(s) queued", err=True)
        else:
            board = board_for(session, rt.config.rules, rt.calendar, kind, first, last, today)
        data = board_data(board)
        rules = rt.config.rules
        thin = None if board.frozen else thin_period(session, rules, first, last, today)
        longer = standings(session, rules, rt.calendar, today) if standing else []
        if xlsx:
            from bot.excel.ranking import export_ranking

            click.echo(f"已写入 {export_ranking(board, xlsx, today, thin, longer)}", err=True)
    if as_json:
        out = board_json(board)
        if thin is not None:
            out["thin"] = {"due": thin.due, "text": phrase("standing", "thin", thin, today)}
        if standing:
            out["standing"] = {
                s.kind: {**board_json(s.board), "compared": s.compared} for s in longer
            }
        click.echo(json.dumps(out, ensure_ascii=False, indent=2, default=str))
        return
    click.echo(phrase("titles", "board", first, last, data["kind"], board.frozen, today))
    if thin is not None:
        click.echo(phrase("standing", "thin", thin, today))
    for g in data["groups"]:
        click.echo(f"【{g['label']}】")
        for r in g["rows"]:
            flag = "红榜" if r["red"] else ("黑榜" if r["black"] else "")
            click.echo(
                f"  {r['rank']:>2}. {pad(r['name'], 16)} {r['score']:>6g}  "
                f"{pad(str(r['move']), 11)} {flag}"
            )
    for s in longer:
        title = phrase("standing", "standing_title", s.kind, s.board.start, s.board.end, today)
        compared = phrase("standing", "compared", s.compared)
        click.echo(f"\n{title}{'，' + compared if compared else ''}")
        for g in board_data(s.board)["groups"]:
            if not g["rows"]:
                continue
            click.echo(f"【{g['label']}】")
            for r in g["rows"]:
                move = f"  {r['move']}" if compared else ""
                click.echo(f"  {r['rank']:>2}. {pad(r['name'], 16)} {r['score']:>6g}{move}")
