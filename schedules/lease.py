"""A named lease row: one holder at a time; a dead holder's lease simply runs out."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from models import Lease
from models.base import rows_changed


def acquire(
    sessions: sessionmaker[Session], name: str, holder: str, now: dt.datetime, ttl: dt.timedelta
) -> bool:
    """Take or renew the lease; False while another live holder has it."""
    with sessions() as session:
        renewed = rows_changed(
            session.execute(
                update(Lease)
                .where(Lease.name == name, (Lease.holder == holder) | (Lease.expires_at < now))
                .values(holder=holder, expires_at=now + ttl)
            )
        )
        if renewed:
            session.commit()
            return True
        if session.scalar(select(Lease.name).where(Lease.name == name)) is not None:
            return False
        session.add(Lease(name=name, holder=holder, expires_at=now + ttl))
        try:
            session.commit()
        except IntegrityError:  # another process created it first
            session.rollback()
            return False
        return True


def release(sessions: sessionmaker[Session], name: str, holder: str) -> None:
    with sessions() as session:
        session.execute(
            update(Lease)
            .where(Lease.name == name, Lease.holder == holder)
            .values(expires_at=dt.datetime(1970, 1, 1, tzinfo=dt.UTC))
        )
        session.commit()
