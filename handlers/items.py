"""Finding which ledger row a message is about, and the numbered pick when it is unclear."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import joinedload

from handlers.base import Context, Reply
from models import OPEN_STATUSES, Assignment, ConversationState, Task, Unit
from schedules.ledger import LedgerRow, ledger_rows

# Everything a reply about an item shows, in one query (the identity map holds only weak
# references, so related rows loaded earlier and dropped would be fetched again).
ASSIGNMENT_LOADS = (
    joinedload(Assignment.task).joinedload(Task.key_work),
    joinedload(Assignment.task).joinedload(Task.lead_unit),
    joinedload(Assignment.unit),
)


@dataclass(frozen=True)
class Found:
    assignment: Assignment


def rows_for(ctx: Context, **filters: Any) -> list[LedgerRow]:
    """Ledger rows as of the message's day, with this deployment's calendar, rules and plans."""
    return ledger_rows(
        ctx.session,
        today=ctx.today,
        cal=ctx.calendar,
        rules=ctx.rules,
        **filters,
    )


def open_rows(ctx: Context) -> list[LedgerRow]:
    return rows_for(ctx, unit_code=ctx.member.unit.code, open_only=True)


def find_item(
    ctx: Context, ref: int | None, action: str, data: dict[str, Any], subject: str = ""
) -> Found | Reply:
    """The sender's unit's item for `ref`; without a ref, the one open item whose title the
    `subject` names, its only open item, or a numbered pick. A message that names another
    unit is refused: "城关镇#12已完成" from 河西乡 speaks of someone else's work."""
    unit = ctx.member.unit
    other = other_unit_named(ctx)
    if other is not None:
        return Reply("other_unit", {"unit": other})
    if ref is not None:
        a = ctx.session.scalar(
            select(Assignment)
            .join(Assignment.task)
            .where(Task.code == ref, Assignment.unit_id == unit.id)
            .options(*ASSIGNMENT_LOADS)
            # A recurring duty has a row per occurrence: the newest is the current one.
            .order_by(Assignment.period.desc())
            .limit(1)
        )
        if a is not None:
            return Found(a)
        if ctx.session.scalar(select(Task.id).where(Task.code == ref)) is None:
            return Reply("no_such_task", {"ref": ref})
        return Reply("not_your_task", {"ref": ref, "unit": unit.name})
    rows = [r for r in open_rows(ctx) if r.status in OPEN_STATUSES]
    if not rows:
        return Reply("nothing_open", {"unit": unit.name})
    titled = title_match(subject, [(r.assignment_id, r.content) for r in rows])
    if titled is not None:
        return Found(ctx.session.get_one(Assignment, titled, options=ASSIGNMENT_LOADS))
    if len(rows) == 1:
        return Found(
            ctx.session.get_one(Assignment, rows[0].assignment_id, options=ASSIGNMENT_LOADS)
        )
    remember_pick(ctx, action, [r.assignment_id for r in rows], data)
    return Reply("pick", {"rows": rows, "action": action})


# Words too common in titles and messages to name an item by.
GENERIC = {
    "工作",
    "任务",
    "事项",
    "问题",
    "情况",
    "完成",
    "整改",
    "已经",
    "申请",
    "延期",
    "进度",
    "我们",
    "领导",
    "报告",
    "全部",
    "建设",
    "开展",
    "更新",
    "推进",
    "落实",
    "相关",
    "全面",
    "目前",
    "已完",
    "成了",
    "关于",
    "特此",
    "按要求",
}


def _common(title: str, text: str) -> int:
    """The length of the longest piece of `title` (two characters or more, not a common
    word) that `text` contains."""
    best = 0
    for i in range(len(title)):
        for j in range(i + 2, len(title) + 1):
            piece = title[i:j]
            if piece not in text:
                break
            if piece not in GENERIC and j - i > best:
                best = j - i
    return best


def title_match(subject: str, items: list[tuple[int, str]]) -> int | None:
    """The one item whose title shares the longest piece with `subject`; None when no
    piece is shared or two items share pieces as long (guessing would risk a wrong record)."""
    if not subject:
        return None
    scored = sorted(
        ((_common(title, subject), len(title), key) for key, title in items), reverse=True
    )
    if not scored or scored[0][0] < 2:
        return None
    if len(scored) > 1 and scored[1][0] >= 2:
        return None
    shared, length, key = scored[0]
    # Two characters of a long title (燃气, 台账) may be chance: ask rather than guess.
    if shared < 3 and shared * 2 < length:
        return None
    return key


def other_unit_named(ctx: Context) -> str | None:
    """Another unit's name (or its short form: 城关, 水利局) in the message, if any."""
    own = ctx.member.unit
    for unit in ctx.session.scalars(select(Unit).where(Unit.id != own.id)):
        if any(form in ctx.text for form in unit_forms(unit.name)):
            if not any(form in ctx.text for form in unit_forms(own.name)) or unit.name in ctx.text:
                return unit.name
    return None


def unit_forms(name: str) -> list[str]:
    """A unit's name and the short forms officials write: 城关镇 → 城关, 县水利局 → 水利局."""
    forms = [name]
    short = name.removeprefix("县")
    if short != name and len(short) >= 3:
        forms.append(short)
    for suffix in ("镇", "乡", "街道"):
        if short.endswith(suffix) and len(short) - len(suffix) >= 2:
            forms.append(short[: -len(suffix)])
    return forms


def remember_pick(
    ctx: Context,
    action: str,
    options: list[int],
    data: dict[str, Any],
    prefix: str = "pick",
) -> None:
    ctx.session.execute(
        delete(ConversationState).where(ConversationState.member_id == ctx.member.id)
    )
    ctx.session.add(
        ConversationState(
            member_id=ctx.member.id,
            kind=f"{prefix}:{action}",
            data={"options": options, **data},
            expires_at=ctx.now + dt.timedelta(seconds=ctx.rules.pick_ttl_seconds),
        )
    )


def pending_pick(ctx: Context) -> ConversationState | None:
    state = ctx.session.get(ConversationState, ctx.member.id)
    if state is None or not state.kind.startswith(("pick:", "confirm:")):
        return None
    if state.expires_at <= ctx.now:
        return None
    return state


def forget_pick(ctx: Context) -> None:
    ctx.session.execute(
        delete(ConversationState).where(ConversationState.member_id == ctx.member.id)
    )
