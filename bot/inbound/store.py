"""The webhook's one write: a batch of callbacks stored by one statement.

The acceptance path is the bot's hottest code: every callback waits for it before it is
acknowledged. Through the ORM or even Core's insertmanyvalues it cost 0.8 ms (SQLite) to
1.6 ms (PostgreSQL) of Python per batch, two to eight times the database's own work, and
its lookup of the senders was a second round trip. Here the SQL text is built once per
dialect and batch size, values go through the columns' own bind processors (UTC
datetimes), and one INSERT … SELECT joins the batch to the active members: a sender who
is not one stores nothing. RETURNING gives the new ids by message key.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Dialect
from sqlalchemy.exc import DBAPIError

from models import InboundMessage

log = logging.getLogger(__name__)

# Given by the webhook for each callback, in this order.
GIVEN = (
    "msg_key",
    "channel",
    "sender",
    "msg_type",
    "content",
    "media_id",
    "received_at",
    "response_url",
)
# Set for every accepted callback: not yet handled, no reply yet.
FIXED = {"reply": "''", "status": "'received'", "reply_via": "'passive'"}


@lru_cache(maxsize=8)
def _binders(dialect: Dialect) -> tuple[Callable[[Any], Any] | None, ...]:
    table = InboundMessage.__table__
    return tuple(table.c[name].type.bind_processor(dialect) for name in GIVEN)


@lru_cache(maxsize=512)
def _statement(dialect: Dialect, rows: int) -> str:
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    first = ", ".join(f"{mark} AS {name}" for name in GIVEN)
    rest = ", ".join(mark for _ in GIVEN)
    values = " UNION ALL ".join([f"SELECT {first}"] + [f"SELECT {rest}"] * (rows - 1))
    columns = ", ".join((*GIVEN, *FIXED, "member_id"))
    picked = ", ".join((*(f"v.{name}" for name in GIVEN), *FIXED.values(), "m.id"))
    # A WeChat follower is known by the openid bound to a member, everyone else by userid.
    return (
        f"INSERT INTO inbound_message ({columns}) SELECT {picked} FROM ({values}) AS v"
        " JOIN member AS m ON m.active = TRUE AND ("
        "(v.channel = 'wechat' AND m.openid = v.sender)"
        " OR (v.channel <> 'wechat' AND m.userid = v.sender))"
        " RETURNING id, msg_key"
    )


def store_batch(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> list[int | None]:
    """Store a batch of callbacks with one statement on `conn` (the committer's is in
    autocommit: the statement commits the batch whole or not at all); one id per row, None
    where the sender is not an active member (nothing stored). Keys must be distinct within
    a batch; a key stored before raises IntegrityError (the committer then goes one by one).

    The statement goes through the driver's own cursor: SQLAlchemy's execution context and
    result set-up cost as much CPU per batch as the driver itself (PostgreSQL). Its errors
    come back as SQLAlchemy's (IntegrityError, OperationalError …, a lost connection said
    so) all the same; SQLAlchemy's execute events and echo do not see this statement."""
    if not rows:
        return []
    binders = _binders(conn.dialect)
    params: list[Any] = []
    for row in rows:
        for name, bind in zip(GIVEN, binders, strict=True):
            value = row[name]
            params.append(bind(value) if bind is not None and value is not None else value)
    sql = _statement(conn.dialect, len(rows))
    dialect = conn.dialect
    dbapi = dialect.loaded_dbapi
    driver_conn = conn.connection
    cursor = driver_conn.cursor()
    try:
        stored = {key: ident for ident, key in run(cursor, sql, tuple(params))}
    except dbapi.Error as exc:
        lost = dialect.is_disconnect(exc, driver_conn, cursor)
        raise DBAPIError.instance(
            sql, None, exc, dbapi.Error, connection_invalidated=lost, dialect=dialect
        ) from exc
    finally:
        try:
            cursor.close()
        except dbapi.Error:
            log.warning("group commit: closing the cursor failed", exc_info=True)
    return [stored.get(row["msg_key"]) for row in rows]


def run(cursor: Any, sql: str, params: tuple[Any, ...]) -> list[Any]:
    """The statement's rows (id, msg_key), by the driver."""
    cursor.execute(sql, params)
    return list(cursor.fetchall())
