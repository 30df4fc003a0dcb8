"""Server-side record of every dashboard session.

Flask's session is a signed cookie: without a record on the server a copied cookie stays
valid after logout, and a member deactivated in WeCom keeps the dashboard until it expires.
Each sign-in stores a random id (a `setting` row `session:<id>` with its expiry); every
request looks it up, logout deletes it, and it lapses after `web.session_hours`.
"""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import delete

from bot.runtime import Runtime
from models import Setting

PREFIX = "session:"


def open_session(rt: Runtime, who: str) -> str:
    """A new session id, recorded until it lapses; lapsed records are swept here (sign-ins
    are rare, requests are not)."""
    sid = secrets.token_urlsafe(24)
    now = rt.now()
    with rt.sessions() as db:
        db.execute(delete(Setting).where(Setting.key.startswith(PREFIX), Setting.expires_at < now))
        lifetime = dt.timedelta(hours=rt.config.web.session_hours)
        db.add(Setting(key=PREFIX + sid, value=who, expires_at=now + lifetime))
        db.commit()
    return sid


def session_alive(rt: Runtime, sid: object) -> bool:
    if not isinstance(sid, str) or not sid:
        return False
    with rt.sessions() as db:
        row = db.get(Setting, PREFIX + sid)
        return row is not None and row.expires_at is not None and row.expires_at > rt.now()


def close_session(rt: Runtime, sid: object) -> None:
    if isinstance(sid, str) and sid:
        with rt.sessions() as db:
            db.execute(delete(Setting).where(Setting.key == PREFIX + sid))
            db.commit()
