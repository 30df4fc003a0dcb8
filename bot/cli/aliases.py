"""`duban alias add/list/remove`: other names a unit goes by in the office's sheets
(县应急局 for 县应急管理局), so one unit written two ways imports as one."""

from __future__ import annotations

import click
from sqlalchemy import or_, select

from bot.cli.base import State, cli, needs_db
from bot.excel.ledger import load_aliases, save_aliases
from bot.excel.sheet import normalise
from models import Unit


@cli.group("alias")
def alias() -> None:
    """Unit aliases used by `duban ledger-import`."""


@alias.command("add")
@click.argument("name")
@click.argument("unit")
@click.pass_obj
@needs_db
def alias_add(state: State, name: str, unit: str) -> None:
    """NAME (as a sheet writes it) means UNIT (its registered name or code)."""
    rt = state.runtime
    name = normalise(name)
    with rt.sessions() as session:
        found = session.scalar(select(Unit).where(or_(Unit.name == unit, Unit.code == unit)))
        if found is None:
            raise click.ClickException(f"未登记的单位：{unit}")
        if session.scalar(select(Unit).where(Unit.name == name)) is not None:
            raise click.ClickException(f"“{name}”已是登记的单位名，不能作为别名")
        aliases = load_aliases(session)
        aliases[name] = found.name
        save_aliases(session, aliases)
        session.commit()
    click.echo(f"别名已保存：{name} → {found.name}")


@alias.command("list")
@click.pass_obj
@needs_db
def alias_list(state: State) -> None:
    """Every alias and the unit it names."""
    with state.runtime.sessions() as session:
        aliases = load_aliases(session)
    if not aliases:
        click.echo("还没有单位别名。")
    for name, unit in sorted(aliases.items()):
        click.echo(f"{name} → {unit}")


@alias.command("remove")
@click.argument("name")
@click.pass_obj
@needs_db
def alias_remove(state: State, name: str) -> None:
    """Forget an alias."""
    name = normalise(name)
    with state.runtime.sessions() as session:
        aliases = load_aliases(session)
        if aliases.pop(name, None) is None:
            raise click.ClickException(f"没有这个别名：{name}")
        save_aliases(session, aliases)
        session.commit()
    click.echo(f"别名已删除：{name}")
