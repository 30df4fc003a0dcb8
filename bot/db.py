"""Engine and session factory; SQLite gets WAL and a busy timeout."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker


class DatabaseUnavailable(Exception):
    """The database cannot be reached; callers answer 503 / exit non-zero, never pretend."""


def normalise_url(url: str) -> str:
    """Pick the maintained drivers when the URL names only the database kind."""
    u = make_url(url)
    if u.drivername == "postgresql":
        u = u.set(drivername="postgresql+psycopg")
    elif u.drivername in ("mysql", "mariadb"):
        u = u.set(drivername=f"{u.drivername}+pymysql")
    if u.get_backend_name() in ("mysql", "mariadb") and "charset" not in u.query:
        u = u.update_query_dict({"charset": "utf8mb4"})
    return u.render_as_string(hide_password=False)


# How long a SQLite writer waits for another's lock before "database is locked".
BUSY_TIMEOUT_MS = 10_000


def _sqlite_pragmas(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def make_engine(url: str, echo: bool = False) -> Engine:
    url = normalise_url(url)
    backend = make_url(url).get_backend_name()
    kwargs: dict[str, Any] = {"echo": echo, "future": True}
    # `?prepare_threshold=none` on a PostgreSQL URL: psycopg prepares no statements on the
    # server. Needed behind PgBouncer < 1.21 in transaction mode, where the next transaction
    # may run on another server connection that never saw the PREPARE.
    u = make_url(url)
    threshold = u.query.get("prepare_threshold")
    driver_args: dict[str, Any] = {}
    if isinstance(threshold, str) and backend == "postgresql":
        driver_args["prepare_threshold"] = None if threshold.lower() == "none" else int(threshold)
        url = u.difference_update_query(["prepare_threshold"]).render_as_string(False)
    if backend == "sqlite":
        kwargs["connect_args"] = {"timeout": 10}
    else:
        kwargs["pool_pre_ping"] = True
        kwargs["pool_recycle"] = 1800
        if backend in ("mysql", "mariadb"):
            kwargs["connect_args"] = {"connect_timeout": 5}
        else:
            kwargs["connect_args"] = {"connect_timeout": 5, **driver_args}
    engine = create_engine(url, **kwargs)
    if backend == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


_SQLITE_WRITERS: dict[str, threading.Lock] = {}
_SQLITE_WRITERS_LOCK = threading.Lock()


def writer_gate(engine: Engine) -> AbstractContextManager[object]:
    """Hold around a write transaction that must not wait long (the webhook's).

    SQLite has one writer. Threads that meet its lock poll it from SQLite's busy handler,
    sleeping up to 100 ms between tries, which made a burst of callbacks wait seconds;
    queued on a lock in this process they take turns as soon as the writer commits.
    Server databases lock rows, not the file: no gate.
    """
    if engine.dialect.name != "sqlite":
        return nullcontext()
    key = str(engine.url)
    with _SQLITE_WRITERS_LOCK:
        return _SQLITE_WRITERS.setdefault(key, threading.Lock())


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
