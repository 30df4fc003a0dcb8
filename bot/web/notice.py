"""The 通报 from the dashboard: the rankings page's period as a Word document."""

from __future__ import annotations

import io
from typing import Any

from flask import abort, redirect, request, send_file, url_for
from sqlalchemy import select

from bot.notice import write_notice
from bot.web.auth import login_required
from bot.web.ledger_excel import may_import
from bot.web.rankings import requested_period
from bot.web.views import bp, rt
from handlers.render import range_label
from handlers.self_review import ask_experience_note
from models import Unit
from schedules.board import PeriodError, board_for, choose_period

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@bp.get("/rankings/notice.docx")
@login_required
def rankings_notice() -> Any:
    r = rt()
    buf = io.BytesIO()
    with r.sessions() as db:
        kind, first, last = requested_period(db)
        write_notice(db, r.config.rules, r.calendar, kind, first, last, r.today(), buf)
    buf.seek(0)
    name = f"重点工作KPI评价结果通报-{range_label(first, last, r.today())}.docx"
    return send_file(buf, mimetype=DOCX, as_attachment=True, download_name=name)


@bp.post("/rankings/experience")
@login_required
def rankings_experience() -> Any:
    """Ask a red-listed unit of the published period shown for an 经验交流 note."""
    if not may_import():
        abort(403)
    r = rt()
    form = request.form
    with r.sessions() as db:
        try:
            kind, first, last = choose_period(
                db, r.config.rules, r.today(), form.get("period"), form.get("from"), form.get("to")
            )
        except PeriodError:
            abort(400)
        unit = db.scalar(select(Unit).where(Unit.code == form.get("unit", "")))
        if unit is None:
            abort(404)
        board = board_for(db, r.config.rules, r.calendar, kind, first, last, r.today())
        try:
            ask_experience_note(
                db, board, unit, r.config.rules, r.calendar, r.now(), r.today(), "web"
            )
        except ValueError:
            abort(409)
        db.commit()
    args: dict[str, Any] = {"period": kind, "from": first.isoformat(), "to": last.isoformat()}
    return redirect(url_for("views.rankings", **args))
