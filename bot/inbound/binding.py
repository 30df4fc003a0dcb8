"""One-time codes that bind a WeChat openid to a member (`duban bind USERID`)."""

from __future__ import annotations

import datetime as dt
import logging
import re
import secrets

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from models import Member, Setting
from models.audit import audit

log = logging.getLogger(__name__)
CODE_TTL = dt.timedelta(hours=24)
BIND = re.compile(r"^\s*(?:绑定|bind)\s*(\d{6})\s*$", re.IGNORECASE)
# Guessing a 6-digit code: one WeChat user gets this many wrong codes a day, and all users
# together this many an hour; then every code (even the right one) is refused until the
# window ends. 200 an hour for 24 hours against 10^6 codes: under 0.5 % per code issued.
FAILURES_PER_SENDER = (5, dt.timedelta(hours=24))
FAILURES_ALL = (200, dt.timedelta(hours=1))


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
    counters = [(f"bindfail:{openid}", *FAILURES_PER_SENDER), ("bindfail:*", *FAILURES_ALL)]
    if any(_count(session, key, now) >= limit for key, limit, _ in counters):
        log.warning("bind code refused: too many failed attempts (openid=%s)", openid)
        return None
    row = session.get(Setting, f"bind:{m.group(1)}")
    member = None
    if row is not None and row.expires_at is not None and row.expires_at >= now:
        member = session.scalar(select(Member).where(Member.userid == row.value))
    if member is None or not member.active:
        for key, _, window in counters:
            _add_failure(session, key, now, window)
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


def _count(session: Session, key: str, now: dt.datetime) -> int:
    row = session.get(Setting, key)
    if row is None or row.expires_at is None or row.expires_at <= now:
        return 0
    return int(row.value)


def _add_failure(session: Session, key: str, now: dt.datetime, window: dt.timedelta) -> None:
    """One more failure in the key's window (a fresh window once the last has ended); the
    caller commits."""
    row = session.get(Setting, key)
    if row is None:
        session.add(Setting(key=key, value="1", expires_at=now + window))
    elif row.expires_at is None or row.expires_at <= now:
        row.value, row.expires_at = "1", now + window
    else:
        row.value = str(int(row.value) + 1)
