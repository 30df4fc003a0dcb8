"""`duban tick`: run every reminder rule as of a moment, once."""

from __future__ import annotations

import json

import click

from bot.cli.base import State, cli, local_moment, needs_db
from bot.scheduler import remind


@cli.command()
@click.option(
    "--at",
    "at",
    default=None,
    metavar="YYYY-MM-DDTHH:MM",
    help="Local (Asia/Shanghai) time to run the rules as of; default now.",
)
@click.option("--dry-run", is_flag=True, help="Show what is due; enqueue nothing.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
@needs_db
def tick(state: State, at: str | None, dry_run: bool, as_json: bool) -> None:
    """Run every reminder rule once as of --at; print the nudges (already sent ones marked)."""

    rt = state.runtime
    when = local_moment(at, rt.tz, "--at") if at else None
    sent = remind(rt, when, dry_run=dry_run)
    if as_json:
        click.echo(json.dumps([s.as_dict() for s in sent], ensure_ascii=False, indent=2))
        return
    for s in sent:
        mark = "dry-run" if dry_run else ("enqueued" if s.enqueued else "already sent")
        items = " ".join(f"#{x.task_code}" for x in s.nudge.lines)
        click.echo(
            f"{s.nudge.slot:%Y-%m-%d %H:%M} {s.nudge.rule:<12} {s.nudge.unit_code:<5} "
            f"{mark:<12} {items}"
        )
    if not sent:
        click.echo("nothing due (non-workday, quiet hours, or no slot has come yet)")
