"""Rankings, audit trail, leases and small settings."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, utcnow
from models.org import Unit


class RankingSnapshot(Base):
    """A unit's score and rank for one period, frozen when the period is published."""

    __tablename__ = "ranking_snapshot"
    __table_args__ = (
        UniqueConstraint(
            "period_kind", "period_start", "period_end", "unit_id", name="uq_ranking_period_unit"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    period_kind: Mapped[str] = mapped_column(String(16))  # week|month|custom
    period_start: Mapped[dt.date]
    period_end: Mapped[dt.date]
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    group: Mapped[str] = mapped_column(String(16))  # township|department
    score: Mapped[float]
    rank: Mapped[int]
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    unit: Mapped[Unit] = relationship()


class AuditLog(Base):
    """Every state change, with who did it and what message or command caused it."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(191))
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[int | None] = mapped_column(default=None)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Lease(Base):
    """A named lease (the single active scheduler, a relay): holder and expiry."""

    __tablename__ = "lease"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[dt.datetime]


class Setting(Base):
    """Small key/value state: generated web secret, cached access tokens."""

    __tablename__ = "setting"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[dt.datetime | None] = mapped_column(default=None)
