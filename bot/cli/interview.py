"""`duban interview`: record that a 约谈 was held with a unit (flagged after consecutive
black listings), in the audit trail."""

from __future__ import annotations

import datetime as dt

import click
from sqlalchemy import select

from bot.cli.base import State, cli, needs_db
from handlers.interviews import record_interview
from handlers.render import date_label
from models import Unit


@cli.command()
@click.argument("unit")
@click.option("--note", required=True, help="Who was interviewed and what was agreed.")
@click.option("--who", default="", help="Who took part (e.g. 分管副县长、乡长).")
@click.option("--on", "day", default=None, help="The day it was held (YYYY-MM-DD); default today.")
@click.pass_obj
@needs_db
def interview(state: State, unit: str, note: str, who: str, day: str | None) -> None:
    """Record a 约谈 held with UNIT (code or name)."""
    rt = state.runtime
    try:
        held = dt.date.fromisoformat(day) if day else rt.today()
    except ValueError:
        raise click.BadParameter("expected YYYY-MM-DD", param_hint="--on") from None
    with rt.sessions() as session:
        found = session.scalar(select(Unit).where((Unit.code == unit) | (Unit.name == unit)))
        if found is None:
            raise click.ClickException(f"no unit {unit}")
        record_interview(
            session,
            found,
            held_on=held,
            who=who,
            note=note,
            actor="cli",
            source="cli",
            now=rt.now(),
        )
        session.commit()
        click.echo(f"已记录：{date_label(held, rt.today())} 约谈 {found.name}")
