"""Enqueueing outgoing messages. Rows are written in the caller's transaction."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import zlib
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.messages import Outbox
from models.org import Member, Unit
from models.splitting import split_message


def enqueue(
    session: Session,
    *,
    dedupe_key: str,
    channel: str,
    target: str,
    content: str,
    now: dt.datetime,
    msg_type: str = "text",
    mentions: list[str] | None = None,
    source: str = "",
    not_before: dt.datetime | None = None,
) -> Outbox | None:
    """Add one outgoing message unless its dedupe key is already queued; returns the new row."""
    exists = session.scalar(select(Outbox.id).where(Outbox.dedupe_key == dedupe_key))
    if exists is not None:
        return None
    payload: dict[str, Any] = {"content": content}
    if mentions:
        payload["mentioned_list"] = mentions
    row = Outbox(
        dedupe_key=dedupe_key,
        channel=channel,
        target=target,
        msg_type=msg_type,
        payload=payload,
        source=source,
        created_at=now,
        next_attempt_at=not_before or now,
        sends=len(split_message(content, msg_type)) if msg_type in ("text", "markdown") else 1,
    )
    session.add(row)
    return row


def unit_targets(session: Session, unit: Unit, dedupe_key: str) -> list[tuple[str, str]]:
    """Where a unit's group message goes: one of its group robots, else its app chat, else
    its people. A group with several robots spreads its messages over them (each robot may
    post 20 a minute); a message always picks the same robot, so a retry goes the same way."""
    if unit.webhook_keys:
        keys = [str(k) for k in unit.webhook_keys]
        return [("webhook", keys[zlib.crc32(dedupe_key.encode()) % len(keys)])]
    if unit.appchat_id:
        return [("appchat", unit.appchat_id)]
    userids = session.scalars(
        select(Member.userid).where(Member.unit_id == unit.id, Member.active.is_(True))
    ).all()
    return [("app", "|".join(userids))] if userids else []


def enqueue_to_unit(
    session: Session,
    unit: Unit,
    *,
    dedupe_key: str,
    content: str,
    now: dt.datetime,
    msg_type: str = "text",
    mentions: list[str] | None = None,
    source: str = "",
    not_before: dt.datetime | None = None,
) -> list[Outbox]:
    rows = []
    for i, (channel, target) in enumerate(unit_targets(session, unit, dedupe_key)):
        key = dedupe_key if i == 0 else f"{dedupe_key}:{i}"
        row = enqueue(
            session,
            dedupe_key=key,
            channel=channel,
            target=target,
            content=content,
            now=now,
            msg_type=msg_type,
            mentions=mentions,
            source=source or unit.code,
            not_before=not_before,
        )
        if row is not None:
            rows.append(row)
    return rows


def image_payload(png: bytes) -> dict[str, str]:
    """The group robot's image message fields (≤ 2 MB)."""
    if len(png) > 2 * 1024 * 1024:
        raise ValueError("image over 2 MB")
    return {"base64": base64.b64encode(png).decode(), "md5": hashlib.md5(png).hexdigest()}
