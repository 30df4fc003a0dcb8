"""Alembic environment: the engine comes from `models.migrate`, never from a file."""

from __future__ import annotations

from alembic import context

from models import Base

config = context.config
engine = config.attributes.get("engine")
if engine is None:  # pragma: no cover - only when someone runs the alembic CLI directly
    raise RuntimeError("run migrations through `duban init`")

with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # Batch mode rebuilds a table by copy, drop and rename; with foreign keys on, the
        # drop of `task` would cascade and delete every assignment. SQLite only takes this
        # pragma outside a transaction, so it is set before the migration's one begins.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
    try:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=sqlite,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
    finally:
        if sqlite:  # a pooled connection goes back as `bot.db` made it, even after a failure
            connection.rollback()
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
