"""Spot checks (抽查): a recorded random drawing of closed items and each one's result."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, utcnow
from models.org import Unit
from models.work import Assignment


class SpotCheck(Base):
    """One drawing. The population (ids in order) and the seed are kept, so anyone can redo
    the drawing and see it was not picked by hand."""

    __tablename__ = "spot_check"

    id: Mapped[int] = mapped_column(primary_key=True)
    drawn_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    drawn_by: Mapped[str] = mapped_column(String(64), default="")
    seed: Mapped[str] = mapped_column(String(64))
    # Items closed in [window_start, window_end] (local dates) formed the population.
    window_start: Mapped[dt.date]
    window_end: Mapped[dt.date]
    population: Mapped[list[Any]] = mapped_column(default=list)
    size: Mapped[int]

    items: Mapped[list[SpotCheckItem]] = relationship(
        back_populates="check", order_by="SpotCheckItem.id", cascade="all, delete-orphan"
    )


class SpotCheckItem(Base):
    """A drawn item and what its re-inspection found: pending, passed or failed. A failure
    costs the unit (虚报) and the lead unit that passed its claim (把关不严) these points."""

    __tablename__ = "spot_check_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    check_id: Mapped[int] = mapped_column(ForeignKey("spot_check.id", ondelete="CASCADE"))
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignment.id", ondelete="CASCADE"))
    result: Mapped[str] = mapped_column(String(16), default="pending")  # pending|passed|failed
    note: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    decided_by: Mapped[str] = mapped_column(String(64), default="")
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), default=None)
    unit_points: Mapped[float] = mapped_column(default=0.0)
    lead_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), default=None)
    lead_points: Mapped[float] = mapped_column(default=0.0)

    check: Mapped[SpotCheck] = relationship(back_populates="items")
    assignment: Mapped[Assignment] = relationship()
    unit: Mapped[Unit | None] = relationship(foreign_keys=[unit_id])
    lead_unit: Mapped[Unit | None] = relationship(foreign_keys=[lead_unit_id])
