"""Supervisors' commands: 销号 / 退回 a completion, 批准延期 / 驳回延期, 催办."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers.actions import close_item, decide_extension, reject_item, urge
from handlers.base import Context, Reply
from handlers.items import rows_for, unit_forms
from handlers.parse import Command
from models import LEAD_STAGE, REPORTED, Assignment, Extension, Task, Unit
from schedules.ledger import AWAITING_LEAD_REVIEW
from schedules.review import lead_unit_of

WORDS = {
    "close": "销号",
    "reject": "退回",
    "approve_ext": "批准延期",
    "refuse_ext": "驳回延期",
    "urge": "催办",
}


def pending_extension(a: Assignment) -> Extension | None:
    return next((e for e in reversed(a.extensions) if e.status == "pending"), None)


UNIT_SUFFIX = ("镇", "乡", "局", "办", "委", "中心", "街道", "所", "队", "院", "站", "室")
TOKEN_SPLIT = re.compile(r"[\s,，:：、;；。]+")


def units_named(session: Session, text: str) -> tuple[list[Unit], str] | Reply:
    """The units a supervisor names at the start of `text` — full name, code, or a short
    form such as 城关 or 农业农村局 — and the rest of the text. A word that looks like a unit
    but is none (城官镇), or fits several, is an error: guessing would act on the wrong one."""
    units = list(session.scalars(select(Unit)))
    found: list[Unit] = []
    rest = text.strip()
    while rest:
        token, after = _split(rest)
        fits = [u for u in units if token in (u.name, u.code)]
        if not fits and len(token) >= 2:
            fits = [u for u in units if token in u.name]
        if len(fits) > 1:
            return Reply("unit_ambiguous", {"name": token, "units": [u.name for u in fits]})
        if not fits:
            if not found and token.endswith(UNIT_SUFFIX):
                return Reply("no_such_unit", {"name": token})
            break
        found.append(fits[0])
        rest = after
    return found, rest


def units_anywhere(session: Session, text: str) -> tuple[list[Unit], str]:
    """Units named anywhere in `text` (full or short form, at most one match per unit) and
    the text without them; a short form that fits two units names neither."""
    found: list[Unit] = []
    rest = text
    forms = [(form, u) for u in session.scalars(select(Unit)) for form in unit_forms(u.name)]
    for form, unit in sorted(forms, key=lambda fu: -len(fu[0])):
        if form in rest and unit not in found:
            if sum(1 for f, u in forms if f == form) > 1:
                continue
            found.append(unit)
            rest = rest.replace(form, " ")
    rest = re.sub(r"^[\s,，:：、;；。]+|[\s,，:：、;；。]+$", "", rest)
    return found, re.sub(r"\s+", " ", rest)


def _split(text: str) -> tuple[str, str]:
    """The first word and the rest, at a space or Chinese punctuation."""
    parts = TOKEN_SPLIT.split(text, maxsplit=1)
    return parts[0], parts[1] if len(parts) > 1 else ""


def _resolve(
    ctx: Context, cmd: Command, waiting: Callable[[Assignment], bool]
) -> tuple[list[Assignment], str] | Reply:
    """The rows a command is about: task ref plus optional unit names (催办 takes several).

    Without a unit, the task's only row that `waiting` selects (all of them for 催办).
    """
    word = WORDS[cmd.kind]
    if cmd.ref is None:
        return Reply("review_usage", {"word": word})
    task = ctx.session.scalar(select(Task).where(Task.code == cmd.ref))
    if task is None:
        return Reply("no_such_task", {"ref": cmd.ref})
    named = units_named(ctx.session, cmd.note)
    if isinstance(named, Reply):
        return named
    units, note = named
    if not units:  # "经核实，城关镇#8已完成，同意销号": the unit need not come first
        units, note = units_anywhere(ctx.session, note)
    if units:
        if cmd.kind != "urge":
            units = units[:1]
        rows = []
        for unit in units:
            a = next((x for x in task.assignments if x.unit_id == unit.id), None)
            if a is None:
                return Reply("not_assigned", {"ref": cmd.ref, "unit": unit.name})
            rows.append(a)
        return rows, note
    rows = [x for x in task.assignments if waiting(x)]
    if cmd.kind == "urge":
        return (rows, cmd.note) if rows else Reply("nothing_to_urge", {"ref": cmd.ref})
    if len(rows) == 1:
        return rows, cmd.note
    if not rows:
        return Reply("nothing_waiting", {"ref": cmd.ref, "word": word})
    return Reply(
        "review_which_unit", {"ref": cmd.ref, "word": word, "waiting": [x.unit.name for x in rows]}
    )


class ReviewHandler:
    name = "review"

    def check(self, ctx: Context) -> Command | None:
        cmd = ctx.command
        return cmd if cmd is not None and cmd.kind in ("close", "reject") else None

    def handle(self, ctx: Context, match: Command) -> Reply:
        if not ctx.member.is_supervisor:
            return Reply("supervisors_only", {"word": WORDS[match.kind]})
        found = _resolve(ctx, match, lambda a: a.status == REPORTED)
        if isinstance(found, Reply):
            return found
        (a,), note = found
        if a.status != REPORTED:
            return Reply("not_awaiting_review", {"a": a})
        if a.review_stage == LEAD_STAGE:
            # Two-level review: the office decides only what the lead unit has vouched for.
            return Reply(
                "awaiting_first_review",
                {"a": a, "lead": lead_unit_of(a), "word": WORDS[match.kind]},
            )
        if match.kind == "close":
            close_item(
                ctx.session,
                a,
                ctx.member,
                now=ctx.now,
                today=ctx.today,
                source=ctx.source,
                note=note,
            )
            return Reply("closed_ok", {"a": a})
        if not note:
            return Reply("reject_needs_reason", {"a": a})
        reject_item(
            ctx.session, a, ctx.member, reason=note, now=ctx.now, today=ctx.today, source=ctx.source
        )
        return Reply("rejected_ok", {"a": a, "reason": note})


class ExtensionDecisionHandler:
    name = "extension_decision"

    def check(self, ctx: Context) -> Command | None:
        cmd = ctx.command
        return cmd if cmd is not None and cmd.kind in ("approve_ext", "refuse_ext") else None

    def handle(self, ctx: Context, match: Command) -> Reply:
        if not ctx.member.is_supervisor:
            return Reply("supervisors_only", {"word": WORDS[match.kind]})
        found = _resolve(ctx, match, lambda a: pending_extension(a) is not None)
        if isinstance(found, Reply):
            return found
        (a,), note = found
        ext = pending_extension(a)
        if ext is None:
            return Reply("no_pending_extension", {"a": a})
        approve = match.kind == "approve_ext"
        if not approve and not note:
            return Reply("refusal_needs_reason", {"a": a})
        decide_extension(
            ctx.session,
            ext,
            ctx.member,
            approve=approve,
            note=note,
            now=ctx.now,
            today=ctx.today,
            source=ctx.source,
        )
        return Reply("extension_decided", {"a": a, "ext": ext, "approve": approve})


AWAITING_SHOWN = 20


class AwaitingHandler:
    """`待审核`: completions waiting for the office — all of them for a supervisor, the
    sender's unit's for anyone else."""

    name = "awaiting"

    def check(self, ctx: Context) -> Command | None:
        cmd = ctx.command
        return cmd if cmd is not None and cmd.kind == "awaiting" else None

    def handle(self, ctx: Context, match: Command) -> Reply:
        rows = rows_for(
            ctx,
            unit_code=None if ctx.member.is_supervisor else ctx.member.unit.code,
            status=REPORTED,
        )
        rows.sort(key=lambda r: (r.deadline, r.task_code, r.unit_code))
        # Claims the lead unit still holds are not the office's to decide yet: counted apart.
        at_lead = [r for r in rows if r.light.reason.kind == AWAITING_LEAD_REVIEW]
        rows = [r for r in rows if r.light.reason.kind != AWAITING_LEAD_REVIEW]
        return Reply(
            "awaiting_list",
            {
                "rows": rows[:AWAITING_SHOWN],
                "more": max(len(rows) - AWAITING_SHOWN, 0),
                "at_lead": len(at_lead),
                "supervisor": ctx.member.is_supervisor,
                "unit": ctx.member.unit,
            },
        )


class UrgeHandler:
    name = "urge"

    def check(self, ctx: Context) -> Command | None:
        cmd = ctx.command
        return cmd if cmd is not None and cmd.kind == "urge" else None

    def handle(self, ctx: Context, match: Command) -> Reply:
        if not ctx.member.is_supervisor:
            return Reply("supervisors_only", {"word": WORDS[match.kind]})
        found = _resolve(ctx, match, lambda a: a.is_open)
        if isinstance(found, Reply):
            return found
        rows, note = found
        rows = [a for a in rows if a.is_open]
        if not rows:
            return Reply("nothing_to_urge", {"ref": match.ref})
        key = ctx.inbound.msg_key if ctx.inbound is not None else ctx.now.isoformat()
        held = quiet_until(ctx) if "紧急" not in ctx.text else None
        for a in rows:
            urge(
                ctx.session,
                a,
                ctx.member,
                now=ctx.now,
                today=ctx.today,
                source=ctx.source,
                key=key,
                note=note,
                not_before=held,
            )
        data: dict[str, Any] = {"ref": match.ref, "units": [a.unit.name for a in rows]}
        if held is not None:
            local = held.astimezone(ZoneInfo(ctx.rules.timezone))
            data.update(held_day=local.date(), held_time=f"{local:%H:%M}")
        return Reply("urged", data)


def quiet_until(ctx: Context) -> dt.datetime | None:
    """In quiet hours, the (UTC) moment they end; None outside them. A 催办 written at 02:25
    would wake a whole group: it waits for the morning unless it says 紧急."""
    tz = ZoneInfo(ctx.rules.timezone)
    local = ctx.now.astimezone(tz)
    if not ctx.rules.quiet(local.time()):
        return None
    end = dt.datetime.combine(local.date(), ctx.rules.quiet_end, tzinfo=tz)
    if end <= local:
        end += dt.timedelta(days=1)
    return end.astimezone(dt.UTC)
