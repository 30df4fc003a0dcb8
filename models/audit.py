"""Audit trail entries for every state change."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from models.ops import AuditLog


def audit(
    session: Session,
    *,
    at: dt.datetime,
    actor: str,
    source: str,
    action: str,
    entity: str,
    entity_id: int | None,
    **detail: Any,
) -> None:
    session.add(
        AuditLog(
            at=at,
            actor=actor,
            source=source,
            action=action,
            entity=entity,
            entity_id=entity_id,
            detail=detail,
        )
    )
