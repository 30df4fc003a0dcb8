"""Required evidence (佐证材料): a done claim on a task that needs photos or files is held
until they come, and the bot asks for them; the first one that arrives releases the claim to
review, so the reviewer finds the material beside it.
"""

from __future__ import annotations

from handlers.actions import claim_done
from handlers.base import Context, Reply
from models import OPEN_STATUSES, Assignment, Progress
from models.audit import audit
from schedules.review import first_reviewer
from schedules.rules import Rules

HELD = "held"  # Progress.kind of a claim waiting for its evidence


def needs_evidence(a: Assignment, rules: Rules) -> bool:
    if a.task.evidence_required is not None:
        return a.task.evidence_required
    wanted = rules.evidence_required
    return "*" in wanted or a.task.key_work.name in wanted


def hold_claim(ctx: Context, a: Assignment, note: str) -> Reply:
    """Record the claim as held (no status change: the item stays open and keeps its light)."""
    entry = Progress(
        assignment=a,
        member=ctx.member,
        created_at=ctx.now,
        kind=HELD,
        text=note,
        inbound_id=ctx.inbound.id if ctx.inbound is not None else None,
    )
    ctx.session.add(entry)
    ctx.session.flush()
    audit(
        ctx.session,
        at=ctx.now,
        actor=ctx.member.userid,
        source=ctx.source,
        action="hold_claim",
        entity="assignment",
        entity_id=a.id,
        note=note,
    )
    return Reply("claim_held", {"a": a})


def release_held(ctx: Context, held: Progress) -> Reply | None:
    """Evidence arrived for a held claim: make the claim now, to the reviewer it is due to."""
    a = held.assignment
    if a.status not in OPEN_STATUSES:
        return None
    lead = first_reviewer(a, ctx.rules)
    claim_done(
        ctx.session,
        a,
        ctx.member,
        note=held.text,
        now=ctx.now,
        today=ctx.today,
        source=ctx.source,
        first_reviewer=lead,
        cards=ctx.cards,
    )
    return Reply("claim_released", {"a": a, "lead": lead})
