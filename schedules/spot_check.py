"""Spot checks (抽查): a fair, repeatable drawing of closed items, and the deductions a
failed check brings into the rankings.

The drawing is `random.Random(seed).sample(population, size)` over the ids of the items
closed in a window, in id order: with the seed and the population recorded, anyone can redo
it and get the same sample. Deductions are additive to the scoring of `schedules.scoring`:
a failed check's points come off the unit's score in the period the check failed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import CLOSED, Assignment, SpotCheckItem, Task
from schedules.scoring import UnitScore

FALSE_REPORT = "false_report"  # 虚报: the unit claimed done what was not
LAX_REVIEW = "lax_review"  # 把关不严: the lead unit passed that claim


def population(session: Session, start: dt.date, end: dt.date, tz: dt.tzinfo) -> list[int]:
    """Ids of items closed on local days [start, end], in id order."""
    rows = session.execute(
        select(Assignment.id, Assignment.closed_at)
        .where(Assignment.status == CLOSED, Assignment.closed_at.is_not(None))
        .order_by(Assignment.id)
    )
    return [aid for aid, closed in rows if closed and start <= closed.astimezone(tz).date() <= end]


def draw(ids: Sequence[int], size: int, seed: str) -> list[int]:
    """The sample: the same ids, size and seed always give the same items."""
    ordered = sorted(ids)
    return random.Random(seed).sample(ordered, min(size, len(ordered)))


def fingerprint(ids: Iterable[int]) -> str:
    """A short digest of the population, to print beside the seed."""
    return hashlib.sha256(",".join(map(str, sorted(ids))).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Penalty:
    unit_code: str  # unit id as text, as the scorer keys units
    task_code: int
    kind: str  # FALSE_REPORT | LAX_REVIEW
    points: float
    on: dt.date  # local day the check failed


def load_penalties(
    session: Session, tz: dt.tzinfo, start: dt.date, end: dt.date, as_of: dt.date
) -> list[Penalty]:
    """Deductions of checks that failed on local days [start, min(end, as_of)]."""
    rows = session.execute(
        select(SpotCheckItem, Task.code)
        .join(Assignment, SpotCheckItem.assignment_id == Assignment.id)
        .join(Task, Assignment.task_id == Task.id)
        .where(SpotCheckItem.result == "failed", SpotCheckItem.decided_at.is_not(None))
        .order_by(SpotCheckItem.id)
    )
    out = []
    last = min(end, as_of)
    for item, code in rows:
        assert item.decided_at is not None
        day = item.decided_at.astimezone(tz).date()
        if not start <= day <= last:
            continue
        if item.unit_id is not None and item.unit_points:
            out.append(Penalty(str(item.unit_id), code, FALSE_REPORT, item.unit_points, day))
        if item.lead_unit_id is not None and item.lead_points:
            out.append(Penalty(str(item.lead_unit_id), code, LAX_REVIEW, item.lead_points, day))
    return out


def apply_penalties(
    scores: Mapping[str, UnitScore], penalties: Iterable[Penalty], on_time: float
) -> dict[str, UnitScore]:
    """Scores less the period's deductions (never below 0). A unit with nothing due in the
    period but a deduction is scored from full marks, so the deduction is seen."""
    out = dict(scores)
    by_unit: dict[str, list[Penalty]] = {}
    for p in penalties:
        by_unit.setdefault(p.unit_code, []).append(p)
    for unit, own in by_unit.items():
        base = out.get(unit) or UnitScore(unit, on_time, (), 0, None)
        total = sum(p.points for p in own)
        out[unit] = replace(
            base,
            score=round(max(base.score - total, 0.0), 2),
            penalties=(*base.penalties, *own),
        )
    return out
