"""`duban ledger`: the ledger (台账) as a table or JSON."""

from __future__ import annotations

import click

from bot.cli.base import State, cli, emit, needs_db, pad
from handlers.render import LIGHT_ICONS, row_json


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--unit", "unit_code", default=None, help="Only this unit (code).")
@click.option("--open", "open_only", is_flag=True, help="Only items not yet reported done.")
@click.option("--light", type=click.Choice(["red", "yellow", "green", "done"]), default=None)
@click.option(
    "--status",
    type=click.Choice(["not_started", "in_progress", "reported", "closed"]),
    default=None,
    help="Only this status; `reported` lists what awaits the office's review.",
)
@click.pass_obj
@needs_db
def ledger(
    state: State,
    as_json: bool,
    unit_code: str | None,
    open_only: bool,
    light: str | None,
    status: str | None,
) -> None:
    """The ledger (台账): assignments with status, light and deadline."""
    from schedules.ledger import ledger_rows

    rt = state.runtime
    with rt.sessions() as session:
        rows = ledger_rows(
            session,
            today=rt.today(),
            cal=rt.calendar,
            rules=rt.config.rules,
            unit_code=unit_code,
            open_only=open_only,
            light_filter=light,
            status=status,
        )
    emit(
        [row_json(r, rt.today()) for r in rows],
        as_json,
        lambda: [
            f"{LIGHT_ICONS[r.light.color]} {r.ref:<5} {pad(r.unit_name, 14)} {r.deadline} "
            f"{pad(r.status_label, 16)} {r.percent:>3}% {r.content}"
            for r in rows
        ],
    )
