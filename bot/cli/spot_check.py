"""`duban spot-check`: draw closed items for re-inspection, show a drawing (redone from its
seed), record what the re-inspection found."""

from __future__ import annotations

import datetime as dt
import json

import click
from sqlalchemy import select

from bot.cli.base import State, cli, needs_db
from handlers.render import render
from handlers.spot_check import draw_check, record_result
from models import Assignment, SpotCheck, SpotCheckItem, Task, Unit
from schedules.spot_check import draw, fingerprint

DEFAULT_WINDOW_DAYS = 30


def check_data(check: SpotCheck) -> dict[str, object]:
    """A drawing as shown and as JSON: whether redoing it from its seed gives its sample."""
    sample = [i.assignment_id for i in check.items]
    return {
        "id": check.id,
        "seed": check.seed,
        "from": check.window_start.isoformat(),
        "to": check.window_end.isoformat(),
        "population": len(check.population),
        "fingerprint": fingerprint(check.population),
        "size": check.size,
        "reproduced": draw(check.population, check.size, check.seed) == sample,
        "items": [
            {
                "task": i.assignment.task.code,
                "unit": i.assignment.unit.name,
                "unit_code": i.assignment.unit.code,
                "content": i.assignment.task.content,
                "result": i.result,
                "note": i.note,
                "unit_points": i.unit_points,
                "lead_unit": i.lead_unit.name if i.lead_unit else None,
                "lead_points": i.lead_points,
            }
            for i in check.items
        ],
    }


def _show(check: SpotCheck, as_json: bool) -> None:
    data = check_data(check)
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        click.echo(render("spot_check_text", {"c": data}))


@cli.group("spot-check")
def spot_check() -> None:
    """Spot checks (抽查) of closed items: draw, show, record results."""


@spot_check.command("draw")
@click.option("--size", type=click.IntRange(min=1), default=5, show_default=True)
@click.option("--from", "start", default=None, help="First day items were closed (YYYY-MM-DD).")
@click.option("--to", "end", default=None, help="Last day items were closed (YYYY-MM-DD).")
@click.option("--seed", default=None, help="Redo a drawing with this seed (default: fresh).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
@needs_db
def draw_command(
    state: State, size: int, start: str | None, end: str | None, seed: str | None, as_json: bool
) -> None:
    """Draw a random sample of the items closed in a window (default: the last 30 days)."""
    rt = state.runtime
    today = rt.today()
    try:
        last = dt.date.fromisoformat(end) if end else today
        first = dt.date.fromisoformat(start) if start else last - dt.timedelta(DEFAULT_WINDOW_DAYS)
    except ValueError:
        raise click.BadParameter("expected YYYY-MM-DD", param_hint="--from/--to") from None
    if first > last:
        raise click.BadParameter("--from is after --to")
    with rt.sessions() as session:
        check = draw_check(
            session,
            actor="cli",
            source="cli",
            start=first,
            end=last,
            size=size,
            now=rt.now(),
            rules=rt.config.rules,
            seed=seed,
        )
        session.commit()
        _show(check, as_json)


@spot_check.command("show")
@click.argument("check_id", type=int)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
@needs_db
def show(state: State, check_id: int, as_json: bool) -> None:
    """A drawing, redone from its seed and population to show it is what was drawn."""
    with state.runtime.sessions() as session:
        check = session.get(SpotCheck, check_id)
        if check is None:
            raise click.ClickException(f"no spot check {check_id}")
        _show(check, as_json)


@spot_check.command("result")
@click.argument("check_id", type=int)
@click.argument("task", type=int)
@click.argument("unit")
@click.option("--pass", "passed", flag_value=True, default=None, help="Found done.")
@click.option("--fail", "passed", flag_value=False, help="Found not done: reopen and deduct.")
@click.option("--note", default="", help="What the re-inspection found (required to fail).")
@click.pass_obj
@needs_db
def result(
    state: State, check_id: int, task: int, unit: str, passed: bool | None, note: str
) -> None:
    """Record the re-inspection of one drawn item (UNIT: code or name)."""
    if passed is None:
        raise click.UsageError("say --pass or --fail")
    if not passed and not note:
        raise click.UsageError("--fail needs --note saying what was found")
    rt = state.runtime
    with rt.sessions() as session:
        item = session.scalar(
            select(SpotCheckItem)
            .join(Assignment, SpotCheckItem.assignment_id == Assignment.id)
            .join(Task, Assignment.task_id == Task.id)
            .join(Unit, Assignment.unit_id == Unit.id)
            .where(
                SpotCheckItem.check_id == check_id,
                Task.code == task,
                (Unit.code == unit) | (Unit.name == unit),
            )
        )
        if item is None:
            raise click.ClickException(f"#{task} {unit} is not in spot check {check_id}")
        try:
            record_result(
                session,
                item,
                passed=passed,
                note=note,
                actor="cli",
                source="cli",
                now=rt.now(),
                today=rt.today(),
                rules=rt.config.rules,
            )
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        session.commit()
        click.echo(render("spot_check_recorded", {"item": item}))
