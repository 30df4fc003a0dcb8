"""The 通报 from the dashboard: the rankings page's period as a Word document."""

from __future__ import annotations

import io
from typing import Any

from flask import abort, request, send_file

from bot.notice import write_notice
from bot.web.auth import login_required
from bot.web.views import bp, rt
from handlers.render import render
from schedules.board import PeriodError, choose_period

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@bp.get("/rankings/notice.docx")
@login_required
def rankings_notice() -> Any:
    r = rt()
    args = request.args
    buf = io.BytesIO()
    with r.sessions() as db:
        try:
            kind, first, last = choose_period(
                db,
                r.config.rules,
                r.today(),
                args.get("period") or None,
                args.get("from") or None,
                args.get("to") or None,
            )
        except PeriodError as exc:
            abort(
                400, description=render("period_error", {"problem": exc.problem, "data": exc.data})
            )
        write_notice(db, r.config.rules, r.calendar, kind, first, last, r.today(), buf)
    buf.seek(0)
    name = f"重点工作KPI评价结果通报-{first.isoformat()}至{last.isoformat()}.docx"
    return send_file(buf, mimetype=DOCX, as_attachment=True, download_name=name)
