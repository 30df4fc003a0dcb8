"""Key work, tasks, the ledger rows (assignments), progress and extensions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, utcnow
from models.org import Member, Unit

# Assignment status values (stored) and their ledger labels (shown).
NOT_STARTED = "not_started"
IN_PROGRESS = "in_progress"
REPORTED = "reported"
CLOSED = "closed"
STATUS_LABELS = {
    NOT_STARTED: "未启动",
    IN_PROGRESS: "推进中",
    REPORTED: "已报完成(待审核)",
    CLOSED: "已销号",
}
OPEN_STATUSES = (NOT_STARTED, IN_PROGRESS)
# Where a reported claim waits (two-level review): the lead unit's 初审, then the office.
LEAD_STAGE = "lead"
OFFICE_STAGE = "office"


class KeyWork(Base):
    """重点工作: a line of the county's key work (疫情防控, 安全生产 …)."""

    __tablename__ = "key_work"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    lead_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), default=None)
    weight: Mapped[float] = mapped_column(default=1.0)
    # How its items score when the office's sheet says (计分方式: timeliness | attainment |
    # mix); None: as `[key_works]` in the config says (on time by default).
    scoring: Mapped[str | None] = mapped_column(String(16), default=None)

    lead_unit: Mapped[Unit | None] = relationship()
    tasks: Mapped[list[Task]] = relationship(back_populates="key_work", order_by="Task.code")


class Task(Base):
    """任务: one line of the ledger, referred to in chat by its code (`#12`)."""

    __tablename__ = "task"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[int] = mapped_column(unique=True)
    key_work_id: Mapped[int] = mapped_column(ForeignKey("key_work.id"))
    content: Mapped[str] = mapped_column(Text)
    lead_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), default=None)
    deadline: Mapped[dt.date]
    weight: Mapped[float] = mapped_column(default=1.0)
    # 关键节点: [{"name": "完成选址", "offset": 10}] — workdays before the deadline.
    plan: Mapped[list[Any]] = mapped_column(default=list)
    # 量化指标: the value to reach (5000 头, 98 %); units report values against it.
    target_value: Mapped[float | None] = mapped_column(default=None)
    target_unit: Mapped[str] = mapped_column(String(16), default="", server_default="")
    # 常态化工作: {"every": "day|week|month|quarter|halfyear|year", "times": N,
    # "season": "汛期" | None}.
    recurrence: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    # 佐证材料: a done claim without photos or files is held until they come. None follows
    # the key work's setting (`Rules.evidence_required`).
    evidence_required: Mapped[bool | None] = mapped_column(default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    key_work: Mapped[KeyWork] = relationship(back_populates="tasks")
    lead_unit: Mapped[Unit | None] = relationship()
    assignments: Mapped[list[Assignment]] = relationship(
        back_populates="task", order_by="Assignment.id", cascade="all, delete-orphan"
    )

    @property
    def ref(self) -> str:
        return f"#{self.code}"


class Assignment(Base):
    """台账行: a task for one responsible unit; the unit of tracking and scoring."""

    __tablename__ = "assignment"
    __table_args__ = (
        # One row per unit, and per occurrence for a recurring duty ("" for a one-off task).
        UniqueConstraint("task_id", "unit_id", "period", name="uq_assignment_task_unit_period"),
        Index("ix_assignment_unit_status", "unit_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    status: Mapped[str] = mapped_column(String(16), default=NOT_STARTED)
    # Set only when an approved extension moved this unit's deadline.
    deadline_override: Mapped[dt.date | None] = mapped_column(default=None)
    # 常态化工作: the occurrence this row tracks ("2026-06", "2026-Q3", "2026-W23",
    # "2026-06-15") and its own deadline; "" and None for a one-off task.
    period: Mapped[str] = mapped_column(String(16), default="", server_default="")
    period_deadline: Mapped[dt.date | None] = mapped_column(default=None)
    percent: Mapped[int] = mapped_column(default=0)
    # The last value reported against the task's target, and the occurrences done.
    value: Mapped[float | None] = mapped_column(default=None)
    count: Mapped[int] = mapped_column(default=0, server_default="0")
    reported_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    closed_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    # While reported: which review step holds the claim and since when (None on rows
    # reported before two-level review existed: with the office since `reported_at`).
    review_stage: Mapped[str | None] = mapped_column(String(16), default=None)
    review_stage_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    task: Mapped[Task] = relationship(back_populates="assignments")
    unit: Mapped[Unit] = relationship()
    progress: Mapped[list[Progress]] = relationship(
        back_populates="assignment", order_by="Progress.id", cascade="all, delete-orphan"
    )
    extensions: Mapped[list[Extension]] = relationship(
        back_populates="assignment", order_by="Extension.id", cascade="all, delete-orphan"
    )

    @property
    def deadline(self) -> dt.date:
        return self.deadline_override or self.period_deadline or self.task.deadline

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


class Progress(Base):
    """进展: one report against an assignment, with the message it came from."""

    __tablename__ = "progress"

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignment.id", ondelete="CASCADE"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"), default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(16), default="progress")
    text: Mapped[str] = mapped_column(Text, default="")
    percent: Mapped[int | None] = mapped_column(default=None)
    value: Mapped[float | None] = mapped_column(default=None)  # against the task's target
    count: Mapped[int | None] = mapped_column(default=None)  # occurrences of a recurring duty
    inbound_id: Mapped[int | None] = mapped_column(
        ForeignKey("inbound_message.id", ondelete="SET NULL"), default=None
    )
    # 佐证材料: [{"media_id": ..., "filename": ..., "path": ...}]
    attachments: Mapped[list[Any]] = mapped_column(default=list)

    assignment: Mapped[Assignment] = relationship(back_populates="progress")
    member: Mapped[Member | None] = relationship()


class Extension(Base):
    """延期申请: requested by a unit, approved or refused by a supervisor."""

    __tablename__ = "extension"

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignment.id", ondelete="CASCADE"))
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"), default=None)
    requested_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    old_deadline: Mapped[dt.date]
    new_deadline: Mapped[dt.date]
    reason: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|approved|refused
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"), default=None)
    decided_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    decision_note: Mapped[str] = mapped_column(Text, default="")

    assignment: Mapped[Assignment] = relationship(back_populates="extensions")
    requested_by: Mapped[Member | None] = relationship(foreign_keys=[requested_by_id])
    decided_by: Mapped[Member | None] = relationship(foreign_keys=[decided_by_id])
