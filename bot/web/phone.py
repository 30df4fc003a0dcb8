"""The phone form (报送) inside WeCom: a member's unit's open items, each with 报完成 (note and
photos or files as evidence), 报进度 (percent or a target's value) and 申请延期 (date and
reason). Plain HTML forms (the pages run no script). Every action goes through the same
handler functions as chat (`handlers.report.act`, `handlers.targets.record_quantity`), so
audit, outbox notices, required evidence and the lead unit's review are identical.

A form takes effect once: each rendered form carries a one-time nonce, signed for this
session, and the action stores it (a `setting` row `form:<nonce>`) in the action's own
transaction; a second submit of the same form finds it and shows the first result.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from pathlib import Path
from typing import Any

from flask import abort, current_app, g, render_template, request
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage

from bot.web.auth import login_required
from bot.web.hardening import EVIDENCE_TYPES
from bot.web.views import acting_member, bp, rows_where, rt
from handlers.base import Context, Reply
from handlers.quantities import Quantity
from handlers.render import render
from handlers.report import act
from handlers.required_evidence import needs_evidence
from handlers.targets import record_quantity
from models import OPEN_STATUSES, Assignment, Member, Progress, Setting
from models.audit import audit
from schedules.ledger import LedgerRow, row_for

NONCE_PREFIX = "form:"
NONCE_HOURS = 24  # a form left open on a phone overnight may still be sent the next morning
MAX_FILES = 9  # WeCom's own picker sends at most nine pictures at once
MAX_FILE_BYTES = 20 * 1024 * 1024  # WeCom's limit for a file message


# The whole submit: the files and a little for the fields.
MAX_BODY_BYTES = MAX_FILES * MAX_FILE_BYTES + (1 << 20)


@bp.before_app_request
def refuse_oversized_upload() -> None:
    """Before any form is read (the CSRF check reads it first): an upload beyond what the
    form allows is refused by its declared length, without spooling it to disk."""
    if request.endpoint == "views.phone_report" and (request.content_length or 0) > MAX_BODY_BYTES:
        abort(413, render("form_too_large", {"mb": MAX_BODY_BYTES >> 20}))


def _sign(token: str) -> str:
    sid = str((g.get("user") or {}).get("sid", ""))
    key = str(current_app.secret_key).encode()
    return hmac.new(key, f"{sid}:{token}".encode(), hashlib.sha256).hexdigest()[:20]


def new_nonce() -> str:
    """A one-time token for one rendered form, bound to this sign-in."""
    token = secrets.token_urlsafe(12)
    return f"{token}.{_sign(token)}"


def nonce_valid(nonce: str) -> bool:
    token, _, mac = nonce.partition(".")
    return bool(token) and len(nonce) < 100 and hmac.compare_digest(mac, _sign(token))


def _context(db: Session, member: Member) -> Context:
    r = rt()
    now = r.now()
    return Context(
        session=db,
        rules=r.config.rules,
        calendar=r.calendar,
        boards=r.live_board,
        member=member,
        text="",
        now=now,
        today=now.astimezone(r.tz).date(),
        channel="form",  # the audit's source: 手机报送, told apart from the dashboard's reviews
    )


def _member(db: Session) -> Member:
    member = acting_member(db)
    if member is None:
        abort(403, render("form_not_member", {}))
    return member


def open_rows(db: Session, member: Member) -> list[LedgerRow]:
    """The unit's open items; of a recurring duty only its current (newest) occurrence, the
    one chat reports on too."""
    rows = rows_where(db, unit_code=member.unit.code, open_only=True)
    newest: dict[int, str] = {}
    for row in rows:
        newest[row.task_code] = max(newest.get(row.task_code, ""), row.period)
    return [row for row in rows if row.period == newest[row.task_code]]


def _own_assignment(db: Session, member: Member, assignment_id: int) -> Assignment:
    a = db.get(Assignment, assignment_id)
    # Another unit's item is as unknown as a missing one: its id tells the reader nothing.
    if a is None or a.unit_id != member.unit_id:
        abort(404)
    return a


def quantity_goal(a: Assignment) -> dict[str, Any] | None:
    """What the item counts toward: a recurring duty's times this period, or a target."""
    task = a.task
    if task.recurrence:
        times = int((task.recurrence or {}).get("times") or 1)
        return {"so_far": a.count, "goal": times, "unit": "次", "count": True}
    if task.target_value is not None:
        return {
            "so_far": a.value or 0,
            "goal": task.target_value,
            "unit": task.target_unit or "",
            "count": False,
        }
    return None


@bp.get("/m")
@login_required
def phone() -> Any:
    with rt().sessions() as db:
        member = _member(db)
        rows = open_rows(db, member)
        items = []
        for row in rows:
            a = db.get_one(Assignment, row.assignment_id)
            items.append({"row": row, "goal": quantity_goal(a)})
        return render_template("phone.html", unit=member.unit, items=items)


@bp.get("/m/<int:assignment_id>")
@login_required
def phone_item(assignment_id: int) -> Any:
    r = rt()
    with r.sessions() as db:
        member = _member(db)
        a = _own_assignment(db, member, assignment_id)
        row = row_for(a, r.today(), r.calendar, r.config.rules)
        return render_template(
            "phone_item.html",
            row=row,
            a=a,
            open=a.status in OPEN_STATUSES,
            goal=quantity_goal(a),
            evidence_required=needs_evidence(a, r.config.rules),
            nonce=new_nonce,
            min_date=(r.today() + dt.timedelta(days=1)).isoformat(),
        )


def _result(
    text: str, assignment_id: int | None, *, repeat: bool = False, status: int = 200
) -> Any:
    return (
        render_template("phone_result.html", text=text, repeat=repeat, assignment_id=assignment_id),
        status,
    )


@bp.post("/m/<int:assignment_id>/<any(done, progress, extension):action>")
@login_required
def phone_report(assignment_id: int, action: str) -> Any:
    r = rt()
    nonce = request.form.get("nonce", "")
    if not nonce_valid(nonce):
        abort(400)
    key = NONCE_PREFIX + nonce
    with r.sessions() as db:
        member = _member(db)
        a = _own_assignment(db, member, assignment_id)
        earlier = db.get(Setting, key)
        if earlier is not None:
            return _result(earlier.value, assignment_id, repeat=True)
        ctx = _context(db, member)
        refusal = _refusal(ctx, a, action)
        if refusal is not None:
            # Nothing recorded: the same form may be corrected and sent again.
            return _result(
                render(refusal.template, refusal.data, today=ctx.today), a.id, status=400
            )
        # The nonce first: a simultaneous second submit waits on this row and then fails.
        db.add(Setting(key=key, value="", expires_at=ctx.now + dt.timedelta(hours=NONCE_HOURS)))
        try:
            db.flush()
        except IntegrityError:
            db.rollback()
            earlier = db.get(Setting, key)
            return _result(earlier.value if earlier else "", assignment_id, repeat=True)
        reply = _carry_out(ctx, a, action)
        text = render(reply.template, reply.data, today=ctx.today)
        db.get_one(Setting, key).value = text
        try:
            db.commit()
        except IntegrityError:
            db.rollback()
            earlier = db.get(Setting, key)
            return _result(earlier.value if earlier else "", assignment_id, repeat=True)
        _sweep_nonces(db, ctx.now)
    return _result(text, assignment_id)


def _uploads() -> list[FileStorage]:
    return [f for f in request.files.getlist("files") if f and f.filename]


def _suffix(name: str) -> str:
    return Path(name).suffix.lower()


def _refusal(ctx: Context, a: Assignment, action: str) -> Reply | None:
    """What the form refuses before anything is recorded (chat would ask instead)."""
    form = request.form
    if action == "done":
        files = _uploads()
        if len(files) > MAX_FILES:
            return Reply("form_too_many_files", {"n": MAX_FILES})
        for f in files:
            if _suffix(f.filename or "") not in EVIDENCE_TYPES:
                return Reply("form_bad_file", {"name": f.filename})
            f.stream.seek(0, 2)
            size = f.stream.tell()
            f.stream.seek(0)
            if size > MAX_FILE_BYTES:
                return Reply("form_file_too_big", {"name": f.filename, "mb": MAX_FILE_BYTES >> 20})
        if a.status in OPEN_STATUSES and needs_evidence(a, ctx.rules) and not files:
            return Reply("form_evidence_required", {"a": a})
        return None
    if action == "progress":
        goal = quantity_goal(a)
        value, percent = form.get("value", "").strip(), form.get("percent", "").strip()
        if goal is not None and value:
            try:
                amount = float(value)
            except ValueError:
                return Reply("form_bad_value", {"value": value[:20]})
            if not 0 <= amount < 1e12 or (goal["count"] and not amount.is_integer()):
                return Reply("form_bad_value", {"value": value[:20]})
            return None
        if not percent and not form.get("note", "").strip():
            return Reply("form_progress_empty", {"goal": goal})
        if percent:
            if not percent.isdigit() or not 0 <= int(percent) <= 100:
                return Reply("bad_percent", {"percent": percent[:10]})
            if int(percent) == 100:
                return Reply("progress_full")
        return None
    raw = form.get("date", "")
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError:
        return Reply("form_bad_date", {"raw": raw[:20]})
    if day < ctx.today:  # as chat reads it: a day gone, never taken as next year's
        return Reply("extension_past", {"date": day})
    if not form.get("reason", "").strip():
        return Reply("form_reason_needed", {})
    return None


def _carry_out(ctx: Context, a: Assignment, action: str) -> Reply:
    form = request.form
    note = form.get("note", "").strip()[:500]
    if action == "done":
        if a.status in OPEN_STATUSES:
            # The evidence first, so a claim that requires it goes to review with it.
            _attach(ctx, a)
        return act(ctx, a, "done", {"note": note})
    if action == "progress":
        goal = quantity_goal(a)
        value = form.get("value", "").strip()
        if goal is not None and value:
            unit = "次" if goal["count"] else str(goal["unit"])
            amount = float(value)
            q = Quantity(ref=a.task.code, amount=amount, unit=unit, cumulative=True)
            return record_quantity(ctx, a, q, note or f"累计{value}{unit}")
        percent = form.get("percent", "").strip()
        return act(ctx, a, "progress", {"percent": int(percent) if percent else None, "note": note})
    reason = form.get("reason", "").strip()[:500]
    day = dt.date.fromisoformat(form["date"])
    return act(ctx, a, "extension", {"date": day.isoformat(), "shift_days": None, "reason": reason})


def _attach(ctx: Context, a: Assignment) -> None:
    """Uploaded files as evidence entries, stored as the chat path stores fetched media
    (`storage.evidence_dir`, `{progress id}-…` names, size and sha256), so the task page and
    the reviewers see them the same way."""
    files = _uploads()
    if not files:
        return
    folder = Path(rt().config.storage.evidence_dir)
    folder.mkdir(parents=True, exist_ok=True)
    for index, f in enumerate(files):
        data = f.read()
        kind = "image" if (f.mimetype or "").startswith("image/") else "file"
        entry = Progress(
            assignment=a,
            member=ctx.member,
            created_at=ctx.now,
            kind="evidence",
            text=f"佐证材料（{kind}）",
            attachments=[],
        )
        ctx.session.add(entry)
        ctx.session.flush()
        name = f"{entry.id}-web{index}{_suffix(f.filename or '')}"
        (folder / name).write_bytes(data)
        entry.attachments = [
            {
                "type": kind,
                "status": "stored",
                "file": name,
                "size": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
                "original": (f.filename or "")[:100],
            }
        ]
        audit(
            ctx.session,
            at=ctx.now,
            actor=ctx.member.userid,
            source=ctx.source,
            action="attach_evidence",
            entity="assignment",
            entity_id=a.id,
            progress_id=entry.id,
            file=name,
        )


def _sweep_nonces(db: Session, now: dt.datetime) -> None:
    """Lapsed nonces go after a submit (submits are rare, page views are not)."""
    db.execute(
        delete(Setting).where(Setting.key.startswith(NONCE_PREFIX), Setting.expires_at < now)
    )
    db.commit()
