"""One-time codes that bind a WeChat openid to a member (`duban bind USERID`)."""

from __future__ import annotations

import datetime as dt
import re
import secrets

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from models import Member, Setting
from models.audit import audit

CODE_TTL = dt.timedelta(hours=24)
BIND = re.compile(r"^\s*(?:绑定|bind)\s*(\d{6})\s*$", re.IGNORECASE)


def issue_code(session: Session, member: Member, now: dt.datetime) -> str:
    session.execute(
        delete(Setting).where(Setting.key.like("bind:%"), Setting.value == member.userid)
    )
    while True:
        code = f"{secrets.randbelow(1_000_000):06d}"
        if session.get(Setting, f"bind:{code}") is None:
            break
    session.add(Setting(key=f"bind:{code}", value=member.userid, expires_at=now + CODE_TTL))
    return code


def redeem(session: Session, openid: str, text: str, now: dt.datetime) -> Member | None:
    """The member a valid `绑定 123456` binds `openid` to; None if the text is no valid code."""
    m = BIND.match(text)
    if not m:
        return None
    row = session.get(Setting, f"bind:{m.group(1)}")
    if row is None or row.expires_at is None or row.expires_at < now:
        return None
    member = session.scalar(select(Member).where(Member.userid == row.value))
    if member is None or not member.active:
        return None
    session.delete(row)
    member.openid = openid
    audit(
        session,
        at=now,
        actor=member.userid,
        source=f"wechat:{openid}",
        action="bind_openid",
        entity="member",
        entity_id=member.id,
    )
    return member
