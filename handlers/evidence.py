"""Images and files sent right after a report attach to it as evidence (佐证材料)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from handlers.base import Context, Reply
from handlers.required_evidence import HELD, release_held
from models import Progress
from models.audit import audit

# A picture sent this long after the sender's last report still belongs to it.
EVIDENCE_WINDOW = dt.timedelta(minutes=30)
MEDIA_TYPES = ("image", "voice", "video", "file")


class EvidenceHandler:
    name = "evidence"

    def check(self, ctx: Context) -> bool | None:
        return True if ctx.msg_type in MEDIA_TYPES else None

    def handle(self, ctx: Context, match: bool) -> Reply:
        last = ctx.session.scalar(
            select(Progress)
            .where(
                Progress.member_id == ctx.member.id,
                Progress.kind.in_(("done", "progress", "extension", HELD)),
                Progress.created_at >= ctx.now - EVIDENCE_WINDOW,
            )
            .order_by(Progress.created_at.desc(), Progress.id.desc())
            .limit(1)
        )
        if last is None:
            return Reply("evidence_orphan")
        entry = Progress(
            assignment_id=last.assignment_id,
            member=ctx.member,
            created_at=ctx.now,
            kind="evidence",
            text=f"佐证材料（{ctx.msg_type}）",
            inbound_id=ctx.inbound.id if ctx.inbound is not None else None,
            # Fetched from the media API by the relay; media ids expire after three days.
            attachments=[{"media_id": ctx.media_id, "type": ctx.msg_type, "status": "pending"}],
        )
        ctx.session.add(entry)
        ctx.session.flush()
        audit(
            ctx.session,
            at=ctx.now,
            actor=ctx.member.userid,
            source=ctx.source,
            action="attach_evidence",
            entity="assignment",
            entity_id=last.assignment_id,
            progress_id=entry.id,
            media_id=ctx.media_id,
        )
        if last.kind == HELD:
            released = release_held(ctx, last)
            if released is not None:
                return released
        return Reply("evidence_ok", {"task_code": last.assignment.task.code})
