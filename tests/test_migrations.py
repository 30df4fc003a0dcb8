"""Alembic migrations: they build exactly the models' schema and run down and up again."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

from models import Base
from models.migrate import alembic_config, current_revision, upgrade


def head(engine: Engine) -> str | None:
    """The newest migration: `duban init` brings every database to it."""
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def test_migrations_match_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    assert current_revision(engine) == head(engine)


def test_downgrade_and_upgrade_round_trip(engine: Engine) -> None:
    command.downgrade(alembic_config(engine), "base")
    assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    upgrade(engine)
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    upgrade(engine)  # idempotent
    assert current_revision(engine) == head(engine)


def test_upgrading_keeps_queued_messages_and_counts_each_as_one_send(engine: Engine) -> None:
    import datetime as dt

    from sqlalchemy import MetaData, Table, insert, select

    command.downgrade(alembic_config(engine), "0002")
    now = dt.datetime(2026, 11, 25, 9)  # stored as naive UTC
    with engine.connect() as conn:  # the table as 0002 left it
        table = Table("outbox", MetaData(), autoload_with=conn)
    row = {
        "dedupe_key": "before-0003",
        "channel": "webhook",
        "target": "key",
        "msg_type": "text",
        "payload": '{"content": "催办"}',
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "last_error": "",
        "created_at": now,
        "source": "",
    }
    with engine.begin() as conn:
        conn.execute(insert(table).values(**row))
    upgrade(engine)
    with engine.connect() as conn:
        after = Table("outbox", MetaData(), autoload_with=conn)
        assert conn.execute(select(after.c.dedupe_key, after.c.sends)).one() == ("before-0003", 1)
