"""Database URL options of bot/db.py."""

from __future__ import annotations

from bot.db import make_engine


def test_prepare_threshold_none_turns_off_server_side_prepares(pg_url: str) -> None:
    # Behind PgBouncer (< 1.21) in transaction mode a prepared statement can vanish between
    # transactions; the URL option makes psycopg prepare nothing.
    engine = make_engine(f"{pg_url}?prepare_threshold=none")
    try:
        assert "prepare_threshold" not in str(engine.url)
        with engine.connect() as conn:
            assert conn.connection.driver_connection.prepare_threshold is None  # type: ignore[union-attr]
    finally:
        engine.dispose()
    default = make_engine(pg_url)
    try:
        with default.connect() as conn:
            assert conn.connection.driver_connection.prepare_threshold == 5  # type: ignore[union-attr]
    finally:
        default.dispose()
