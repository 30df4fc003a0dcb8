"""`duban interview`: record that a 约谈 was held with a unit (flagged after consecutive
black listings), in the audit trail."""

from __future__ import annotations

import datetime as dt

import click
from sqlalchemy import select

from bot.cli.base import State, cli, needs_db
from models import Unit
from models.audit import audit


@cli.command()
@click.argument("unit")
@click.option("--note", required=True, help="Who was interviewed and what was agreed.")
@click.option("--on", "day", default=None, help="The day it was held (YYYY-MM-DD); default today.")
@click.pass_obj
@needs_db
def interview(state: State, unit: str, note: str, day: str | None) -> None:
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
        audit(
            session,
            at=rt.now(),
            actor="cli",
            source="cli",
            action="interview_held",
            entity="unit",
            entity_id=found.id,
            held_on=held.isoformat(),
            note=note,
        )
        session.commit()
        click.echo(f"已记录：{held.isoformat()} 约谈 {found.name}")
