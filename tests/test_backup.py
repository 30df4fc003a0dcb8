"""`duban backup`: an online SQLite copy, whole or absent, never over an existing file."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import click
import pytest

from bot.cli.backup import backup_sqlite
from bot.runtime import Runtime
from models.outbox import enqueue
from tests.conftest import County


def test_backup_while_the_bot_writes(
    rt: Runtime, county: County, db_url: str, tmp_path: Path
) -> None:
    if not db_url.startswith("sqlite"):
        with pytest.raises(click.ClickException, match=r"pg_dump / mariadb-dump"):
            backup_sqlite(rt.engine, tmp_path / "copy.db")
        return
    stop = threading.Event()

    def writer() -> None:  # the relay and webhook keep writing during the copy
        i = 0
        while not stop.is_set():
            with rt.sessions() as s:
                enqueue(
                    s, dedupe_key=f"b{i}", channel="sandbox", target="x", content="x", now=rt.now()
                )
                s.commit()
            i += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        target = tmp_path / "copy.db"
        size = backup_sqlite(rt.engine, target)
    finally:
        stop.set()
        thread.join()
    assert size == target.stat().st_size > 0
    assert not (tmp_path / "copy.db.partial").exists()
    copy = sqlite3.connect(target)
    assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert copy.execute("SELECT count(*) FROM task").fetchone()[0] == 5
    copy.close()
    with pytest.raises(click.ClickException, match="already exists"):
        backup_sqlite(rt.engine, target)
