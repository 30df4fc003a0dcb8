"""Record a 约谈 held with a unit: one function for `duban interview` and the dashboard, so
both leave the same audit entry that `schedules.interviews` reads back."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from models import Unit
from models.audit import audit
from schedules.interviews import HELD


def record_interview(
    session: Session,
    unit: Unit,
    *,
    held_on: dt.date,
    who: str,
    note: str,
    actor: str,
    source: str,
    now: dt.datetime,
) -> None:
    """Audit that a 约谈 with `unit` was held on `held_on`; ValueError without a note."""
    if not note.strip():
        raise ValueError("an interview needs a note")
    audit(
        session,
        at=now,
        actor=actor,
        source=source,
        action=HELD,
        entity="unit",
        entity_id=unit.id,
        held_on=held_on.isoformat(),
        who=who.strip(),
        note=note.strip(),
    )
