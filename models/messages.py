"""Inbound messages, the outbox and short-lived conversation state."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class InboundMessage(Base):
    """Every accepted callback, unique on its platform message key (dedupe and audit)."""

    __tablename__ = "inbound_message"
    __table_args__ = (Index("ix_inbound_status", "status", "received_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # MsgId; for events FromUserName+CreateTime; `cli:<uuid>` for `duban say`.
    msg_key: Mapped[str] = mapped_column(String(191), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    sender: Mapped[str] = mapped_column(String(64))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"), default=None)
    msg_type: Mapped[str] = mapped_column(String(32), default="text")
    content: Mapped[str] = mapped_column(Text, default="")
    media_id: Mapped[str | None] = mapped_column(String(255), default=None)
    # The answer given, so a platform retry of the same message gets the same answer.
    reply: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # received: stored and acknowledged, not yet handled; processed: handled, reply decided.
    status: Mapped[str] = mapped_column(String(16), default="processed", server_default="processed")
    # passive: the reply went back in the HTTP answer; outbox: it was sent as a message.
    reply_via: Mapped[str] = mapped_column(String(16), default="passive", server_default="passive")
    # Smart robot: the one-shot URL for an answer that could not be given passively.
    response_url: Mapped[str | None] = mapped_column(Text, default=None)


class Outbox(Base):
    """Every outgoing message, written in the transaction of the change that caused it."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(191), unique=True)
    # sandbox | webhook | appchat | app | aibot | wechat
    channel: Mapped[str] = mapped_column(String(16))
    # webhook key, chatid, userid(s) or openid, depending on the channel
    target: Mapped[str] = mapped_column(String(191))
    msg_type: Mapped[str] = mapped_column(String(16), default="text")  # text|markdown|image
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    # Platform sends this message costs: a text split into 3 parts uses 3 of a robot's 20.
    sends: Mapped[int] = mapped_column(default=1, server_default="1")
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[dt.datetime | None] = mapped_column(default=None)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    # What caused it (unit code, rule, inbound id): for the dashboard and audit.
    source: Mapped[str] = mapped_column(String(191), default="")


class ConversationState(Base):
    """A member's pending question, e.g. which numbered item a bare `完成` meant."""

    __tablename__ = "conversation_state"

    member_id: Mapped[int] = mapped_column(
        ForeignKey("member.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    expires_at: Mapped[dt.datetime]
