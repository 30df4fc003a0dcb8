"""`duban backup FILE`: an online copy of the SQLite database while the bot runs."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import click
from sqlalchemy import Engine

from bot.cli.base import State, cli


def backup_sqlite(engine: Engine, target: Path) -> int:
    """Copy the live database page by page (SQLite's backup API: consistent even while the
    webhook and scheduler write). Returns the copy's size in bytes."""
    if engine.dialect.name != "sqlite":
        raise click.ClickException(
            f"duban backup copies SQLite files; for {engine.dialect.name} use the server's own "
            "tool (pg_dump / mariadb-dump)"
        )
    if target.exists():
        raise click.ClickException(f"{target} already exists; not overwritten")
    partial = target.with_name(target.name + ".partial")
    raw = engine.raw_connection()
    try:
        source = raw.driver_connection
        assert isinstance(source, sqlite3.Connection)
        with sqlite3.connect(partial) as copy:
            source.backup(copy, pages=1024)
            if copy.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise click.ClickException("the copy failed its integrity check")
        copy.close()
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        raw.close()
    partial.rename(target)  # a file named FILE is always a whole copy
    return target.stat().st_size


@cli.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_obj
def backup(state: State, path: Path) -> None:
    """Back up the SQLite database online to PATH (the bot may keep running)."""
    size = backup_sqlite(state.runtime.engine, path)
    click.echo(f"backed up to {path} ({size} bytes)")
