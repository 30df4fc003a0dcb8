"""What the bot tells units on its own: nudges, escalations and the published board.

Each function renders its templates and writes outbox rows in the caller's transaction; the
scheduler's jobs receive them as collaborators.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from handlers.render import movement_label, reason_text, render
from models import Member, Unit
from models.outbox import enqueue, enqueue_to_unit, image_payload
from models.splitting import split_message
from schedules.board import Board
from schedules.reminders import Nudge, Sent
from schedules.rules import ESCALATE, YELLOW
from schedules.scoring import RankRow

GROUP_LABELS = {"township": "乡镇", "department": "部门"}
# A unit's own line names its costliest deductions and counts the rest; red and black
# lists name this many units and count the rest (ties can make a list long): together this
# keeps a unit's message in one markdown message (4096 bytes) whatever the county's size.
LOST_SHOWN = 8
LIST_SHOWN = 12


def present(member: Member | None, day: dt.date) -> Member | None:
    """The member, or while they are on leave their stand-in (and theirs, if also away)."""
    seen: set[int] = set()
    while (
        member is not None
        and member.leave_until is not None
        and member.leave_until >= day
        and member.stand_in is not None
        and member.stand_in.active
        and id(member) not in seen
    ):
        seen.add(id(member))
        member = member.stand_in
    return member


def mentions_for(unit: Unit, rule: str, day: dt.date) -> list[str]:
    roles = ("liaison",) if rule == YELLOW else ("liaison", "head")
    people = [
        present(m, day) for m in unit.members if m.active and any(m.has_role(r) for r in roles)
    ]
    return sorted({p.userid for p in people if p is not None})


def enqueue_nudges(
    session: Session, nudges: list[Nudge], now: dt.datetime, *, form_url: str = ""
) -> list[Sent]:
    """Each due nudge to its unit's group (escalations to the leader and the office); a unit's
    nudge names the phone form when `form_url` is given."""
    units = {
        u.code: u
        for u in session.scalars(
            select(Unit).options(joinedload(Unit.members), joinedload(Unit.leader))
        ).unique()
    }
    offices = [u for u in units.values() if u.kind == "office"]
    out = []
    for n in nudges:
        unit = units[n.unit_code]
        day = n.slot.date()
        data: dict[str, Any] = {"unit": unit, "nudge": n, "lines": n.lines, "form_url": form_url}
        if n.rule == ESCALATE:
            # The leader privately (their stand-in while on leave), and every office group.
            leader = present(unit.leader, day)
            leader = leader if leader is not None and leader.active else None
            data["leader"] = leader
            created = False
            if leader is not None:
                created |= (
                    enqueue(
                        session,
                        dedupe_key=f"{n.key}:leader",
                        channel="app",
                        target=leader.userid,
                        now=now,
                        source=n.key,
                        content=render("escalate_leader", data, today=day),
                    )
                    is not None
                )
            for office in offices:
                created |= bool(
                    enqueue_to_unit(
                        session,
                        office,
                        dedupe_key=f"{n.key}:office:{office.code}",
                        now=now,
                        content=render("escalate_office", data, today=day),
                        source=n.key,
                    )
                )
        else:
            created = bool(
                enqueue_to_unit(
                    session,
                    unit,
                    dedupe_key=n.key,
                    now=now,
                    source=n.key,
                    content=render(f"nudge_{n.rule}", data, today=day),
                    mentions=mentions_for(unit, n.rule, day),
                )
            )
        out.append(Sent(n, created))
    return out


def board_data(board: Board, unit: Unit | None = None) -> dict[str, Any]:
    """What the ranking templates render: pure data."""

    def line(r: RankRow) -> dict[str, Any]:
        u = board.units[r.unit_code]
        # Costliest first; the unit's own message shows the first LOST_SHOWN of them.
        costly = [
            {**x, "why": reason_text(x)}
            for x in sorted(r.lost, key=lambda x: (-x["lost"], x["task"]))
        ]
        return {
            "code": u.code,
            "name": u.name,
            "score": r.score,
            "rank": r.rank,
            # A custom range (1–4月) has no previous one to move from.
            "move": "" if board.kind == "custom" else movement_label(r.movement),
            "red": r.red,
            "black": r.black,
            "streak": r.black_streak,
            "lost": costly,
            # Each key work's score (the unit's score is their weighted mean).
            "by_work": dict(r.by_work),
        }

    groups = []
    for key in ("township", "department"):
        rows = board.groups.get(key, [])
        groups.append(
            {
                "label": GROUP_LABELS[key],
                "rows": [line(r) for r in rows],
                # The key works scored in this group: the ranking's per-key-work columns.
                "works": sorted({name for r in rows for name, _ in r.by_work}),
                "red": [line(r) for r in rows if r.red],
                "black": [line(r) for r in rows if r.black],
            }
        )
    own = None
    if unit is not None and (r := board.row_for(unit.id)) is not None:
        mine = line(r)
        costly: list[dict[str, Any]] = mine["lost"]
        own = {
            **mine,
            "group": GROUP_LABELS[r.group],
            "of": len(board.groups.get(r.group, [])),
            "lost": costly[:LOST_SHOWN],
            "more_lost": len(costly) - len(costly[:LOST_SHOWN]),
        }
    return {
        "shown": LIST_SHOWN,
        "kind": {"week": "周", "month": "月"}.get(board.kind, ""),
        "frozen": board.frozen,
        "start": board.start,
        "end": board.end,
        "groups": groups,
        "own": own,
        "unit": unit,
    }


def board_json(board: Board) -> dict[str, Any]:
    """`duban rank --json` and `/api/rankings`: the board with what cost each unit points."""
    data = board_data(board)
    return {
        "period": board.kind,
        "from": board.start.isoformat(),
        "to": board.end.isoformat(),
        "frozen": board.frozen,
        "groups": [{"group": g["label"], "rows": g["rows"]} for g in data["groups"]],
    }


def broadcast(
    session: Session, board: Board, now: dt.datetime, today: dt.date, picture: bytes | None
) -> int:
    """The board to every unit group (with its own line) and the supervision office, and the
    board as a picture (PNG) after it where one could be drawn."""
    n = 0
    key = f"rank:{board.kind}:{board.start.isoformat()}"
    for unit in sorted(board.units.values(), key=lambda u: u.code):
        data = board_data(board, unit)
        template = "rank_office" if unit.kind == "office" else "rank_unit"
        # The full table (office) of a large county takes several messages, cut at row ends.
        parts = split_message(render(template, data, today=today), "markdown")
        for i, part in enumerate(parts, 1):
            n += len(
                enqueue_to_unit(
                    session,
                    unit,
                    dedupe_key=f"{key}:{unit.code}" + (f":p{i}" if i > 1 else ""),
                    now=now,
                    content=part,
                    msg_type="markdown",
                    source=key,
                )
            )
        if picture is not None and unit.webhook_keys:  # only group robots take base64 images
            for row in enqueue_to_unit(
                session,
                unit,
                dedupe_key=f"{key}:{unit.code}:image",
                now=now,
                content="",
                msg_type="image",
                source=key,
            ):
                row.payload = {**row.payload, **image_payload(picture)}
    return n
