"""Evidence (佐证材料): media that officials send after a report, fetched from WeCom's
`media/get` and kept on disk, so it outlives WeCom's three-day media retention."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import mimetypes
import re
from pathlib import Path

from sqlalchemy import select
from wechatpy.exceptions import WeChatClientException

from bot.delivery.wecom_api import WecomClient, app_client
from bot.runtime import Runtime
from models import Progress

log = logging.getLogger(__name__)
GONE = {40007}  # invalid or expired media id


def client_for(rt: Runtime) -> WecomClient | None:
    cfg = rt.config.wecom
    if not cfg.configured:
        return None  # the sandbox has nothing to fetch from
    return app_client(
        rt.sessions,
        rt.clock,
        cfg.corp_id,
        cfg.secret,
        cfg.api_base_url,
        rt.config.delivery.http_timeout_seconds,
    )


def _filename(progress_id: int, media_id: str, response: object) -> str:
    disposition = getattr(response, "headers", {}).get("Content-Disposition", "")
    m = re.search(r'filename="?([^";]+)"?', disposition)
    ext = Path(m.group(1)).suffix if m else ""
    if not ext:
        ext = (
            mimetypes.guess_extension(
                getattr(response, "headers", {}).get("Content-Type", "").split(";")[0]
            )
            or ".bin"
        )
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", media_id)[:64]
    return f"{progress_id}-{safe}{ext}"


def fetch_pending(rt: Runtime, client: WecomClient | None = None) -> int:
    """Fetch every attachment still pending; returns how many were stored."""
    client = client or client_for(rt)
    if client is None:
        return 0
    folder = Path(rt.config.storage.evidence_dir)
    folder.mkdir(parents=True, exist_ok=True)
    ttl = dt.timedelta(hours=rt.config.storage.media_ttl_hours)
    stored = 0
    with rt.sessions() as session:
        rows = session.scalars(
            select(Progress)
            .where(Progress.kind == "evidence")
            .where(Progress.created_at >= rt.now() - 2 * ttl)
        ).all()
        for row in rows:
            changed = False
            attachments = [dict(a) for a in row.attachments or []]
            for a in attachments:
                if a.get("status") != "pending" or not a.get("media_id"):
                    continue
                if rt.now() - row.created_at > ttl:
                    a.update(status="expired")
                    changed = True
                    continue
                try:
                    res = client.get_media(a["media_id"])
                except WeChatClientException as exc:
                    if exc.errcode in GONE:
                        a.update(status="failed", error=f"{exc.errcode} {exc.errmsg}")
                        changed = True
                    else:
                        log.warning("evidence progress=%s media fetch failed: %s", row.id, exc)
                    continue
                except Exception as exc:  # network trouble: try again on the next pass
                    log.warning(
                        "evidence progress=%s media fetch failed: %s",
                        row.id,
                        exc.__class__.__name__,
                    )
                    continue
                data = res.content
                name = _filename(row.id, a["media_id"], res)
                (folder / name).write_bytes(data)
                a.update(
                    status="stored",
                    file=name,
                    size=len(data),
                    sha256=hashlib.sha256(data).hexdigest(),
                )
                changed = True
                stored += 1
                log.info("evidence progress=%s stored %s (%s bytes)", row.id, name, len(data))
            if changed:
                row.attachments = attachments
        session.commit()
    return stored
