"""One-time codes that bind a WeChat openid to a member (`duban bind USERID`)."""

from __future__ import annotations

import datetime as dt
import logging
import re
import secrets

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from models import Member, Setting, attempts
from models.audit import audit

log = logging.getLogger(__name__)
CODE_TTL = dt.timedelta(hours=24)
BIND = re.compile(r"^\s*(?:绑定|bind)\s*(\d{6})\s*$", re.IGNORECASE)
# Guessing a 6-digit code: one WeChat user gets `per_user` wrong codes a day, and all users
# together `per_hour` an hour ([wechat] bind_max_failures_*); then every code (even the
# right one) is refused until the window ends. 200 an hour for the 24 hours a code lives,
# against 10^6 codes: under 0.5 % per code issued.
USER_WINDOW = dt.timedelta(hours=24)
ALL_WINDOW = dt.timedelta(hours=1)


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


def redeem(
    session: Session,
    openid: str,
    text: str,
    now: dt.datetime,
    *,
    per_user: int = 5,
    per_hour: int = 200,
) -> Member | None:
    """The member a valid `绑定 123456` binds `openid` to; None if the text is no valid code."""
    m = BIND.match(text)
    if not m:
        return None
    counters = _counters(openid, per_user, per_hour)
    if locked_until(session, openid, now, per_user=per_user, per_hour=per_hour) is not None:
        log.warning("bind code refused: too many failed attempts (openid=%s)", openid)
        return None
    row = session.get(Setting, f"bind:{m.group(1)}")
    member = None
    if row is not None and row.expires_at is not None and row.expires_at >= now:
        member = session.scalar(select(Member).where(Member.userid == row.value))
    if member is None or not member.active:
        for key, limit, window in counters:
            attempts.fail(session, key, now, window=window, limit=limit)
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


def _counters(openid: str, per_user: int, per_hour: int) -> list[tuple[str, int, dt.timedelta]]:
    # Openids are at most 64 characters (the callback refuses longer senders).
    return [(f"bindfail:{openid}", per_user, USER_WINDOW), ("bindfail:*", per_hour, ALL_WINDOW)]


def looks_like_code(text: str) -> bool:
    return BIND.match(text) is not None


def locked_until(
    session: Session, openid: str, now: dt.datetime, *, per_user: int = 5, per_hour: int = 200
) -> dt.datetime | None:
    """When `openid` may try a code again, if it (or everyone) is over the limit; else None."""
    ends = [
        attempts.blocked_until(session, key, limit, now)
        for key, limit, _ in _counters(openid, per_user, per_hour)
    ]
    found = [e for e in ends if e is not None]
    return max(found) if found else None
