"""Units, their members and web accounts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, utcnow

UNIT_KINDS = ("township", "department", "office")
UNIT_KIND_LABELS = {"township": "乡镇", "department": "部门", "office": "督查室"}
ROLES = ("liaison", "head", "leader", "reviewer", "supervisor", "admin")
ROLE_LABELS = {
    "liaison": "联络员",
    "head": "负责人",
    "leader": "分管领导",
    "reviewer": "初审人",
    "supervisor": "督查员",
    "admin": "管理员",
}


class Unit(Base):
    """单位: a township, a department or the supervision office."""

    __tablename__ = "unit"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    # Group-robot webhook keys (a unit group may have several robots to spread the 20/min limit).
    webhook_keys: Mapped[list[Any]] = mapped_column(default=list)
    appchat_id: Mapped[str | None] = mapped_column(String(64), default=None)
    leader_id: Mapped[int | None] = mapped_column(
        ForeignKey("member.id", use_alter=True, ondelete="SET NULL"), default=None
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    members: Mapped[list[Member]] = relationship(
        back_populates="unit", foreign_keys="Member.unit_id", order_by="Member.id"
    )
    leader: Mapped[Member | None] = relationship(foreign_keys=[leader_id], post_update=True)

    @property
    def kind_label(self) -> str:
        return UNIT_KIND_LABELS.get(self.kind, self.kind)


class Member(Base):
    """人员: a WeCom user acting for a unit."""

    __tablename__ = "member"

    id: Mapped[int] = mapped_column(primary_key=True)
    userid: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    mobile: Mapped[str | None] = mapped_column(String(32), default=None)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    roles: Mapped[list[Any]] = mapped_column(default=list)
    # WeChat official-account binding.
    openid: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    active: Mapped[bool] = mapped_column(default=True)
    leave_until: Mapped[dt.date | None] = mapped_column(default=None)
    stand_in_id: Mapped[int | None] = mapped_column(
        ForeignKey("member.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    unit: Mapped[Unit] = relationship(back_populates="members", foreign_keys=[unit_id])
    stand_in: Mapped[Member | None] = relationship(remote_side=[id])

    def has_role(self, role: str) -> bool:
        return role in (self.roles or [])

    @property
    def is_supervisor(self) -> bool:
        return self.has_role("supervisor") or self.has_role("admin")

    @property
    def role_labels(self) -> list[str]:
        return [ROLE_LABELS.get(r, r) for r in self.roles or []]


class Account(Base):
    """A local web login. Passwords are only ever stored hashed."""

    __tablename__ = "account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    is_admin: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    member: Mapped[Member | None] = relationship()
