"""Failed-attempt counters shared by every process: login guesses and WeChat bind codes.

A counter is one row per key (an account, a client address, a WeChat sender): failures in
the current window and when that window (or, once the limit is reached, the lockout) ends.
Kept in the database, not in process memory, so a restart does not forget a guesser and
the several web processes of a deployment count together. Each failure is one atomic
upsert, so two wrong codes sent at the same instant by one user both count and neither
fails on the primary key.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from sqlalchemy import Index, String, Table, case, delete, literal, select
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Base, UTCDateTime


class AttemptCounter(Base):
    __tablename__ = "attempt_counter"
    __table_args__ = (Index("ix_attempt_counter_ends_at", "ends_at"),)

    name: Mapped[str] = mapped_column(String(191), primary_key=True)
    failures: Mapped[int]
    ends_at: Mapped[dt.datetime]


def failures(db: Session, name: str, now: dt.datetime) -> int:
    """Failures counted against `name` in its current window (0 once it has ended)."""
    row = db.get(AttemptCounter, name, populate_existing=True)
    if row is None or row.ends_at <= now:
        return 0
    return row.failures


def blocked_until(db: Session, name: str, limit: int, now: dt.datetime) -> dt.datetime | None:
    """When the block on `name` ends, if it has reached `limit` failures; else None."""
    row = db.get(AttemptCounter, name, populate_existing=True)
    if row is None or row.ends_at <= now or row.failures < limit:
        return None
    return row.ends_at


def fail(
    db: Session,
    name: str,
    now: dt.datetime,
    *,
    window: dt.timedelta,
    limit: int,
    lockout: dt.timedelta | None = None,
) -> int:
    """One more failure against `name` (a fresh window once the last has ended); returns the
    count. The failure that reaches `limit` extends the window to `now + lockout` when one is
    given. The caller commits."""
    table = cast("Table", AttemptCounter.__table__)  # a mapped class's table is a Table
    when = UTCDateTime()
    ended = table.c.ends_at <= literal(now, when)
    end = literal(now + window, when)
    updates: list[tuple[str, Any]] = [
        # The count is assigned before the window: MySQL evaluates the assignments in order
        # and the count must still see the old window end.
        ("failures", case((ended, 1), else_=table.c.failures + 1)),
        ("ends_at", case((ended, end), else_=table.c.ends_at)),
    ]
    values = {"name": name, "failures": 1, "ends_at": now + window}
    dialect = db.get_bind().dialect.name
    stmt: Any
    if dialect in ("mysql", "mariadb"):
        stmt = mysql.insert(table).values(values).on_duplicate_key_update(updates)
    else:
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        stmt = insert(table).values(values)
        stmt = stmt.on_conflict_do_update(index_elements=[table.c.name], set_=dict(updates))
    db.execute(stmt)
    count = db.scalar(select(AttemptCounter.failures).where(AttemptCounter.name == name))
    count = int(count or 0)
    if lockout is not None and count == limit:
        db.execute(table.update().where(table.c.name == name).values(ends_at=now + lockout))
    return count


def clear(db: Session, name: str) -> None:
    db.execute(delete(AttemptCounter).where(AttemptCounter.name == name))


def sweep(db: Session, now: dt.datetime) -> None:
    """Forget ended windows (a spray of names leaves many); called on rare paths."""
    db.execute(delete(AttemptCounter).where(AttemptCounter.ends_at <= now))
