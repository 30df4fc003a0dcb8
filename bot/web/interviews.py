"""约谈 on the dashboard: the units black-listed in consecutive published periods, whether a
约谈 has been held since, and a form to record one (the same record as `duban interview`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import abort, g, redirect, render_template, request, url_for

from bot.web.auth import login_required
from bot.web.ledger_excel import may_import
from bot.web.views import bp, rt
from handlers.interviews import record_interview
from models import Unit
from schedules.interviews import INTERVIEW_STREAK, interview_flags, interviews_held

SHOWN_HELD = 30


@bp.get("/interviews")
@login_required
def interviews() -> Any:
    r = rt()
    with r.sessions() as db:
        return render_template(
            "interviews.html",
            flags=interview_flags(db, r.tz),
            held=interviews_held(db, limit=SHOWN_HELD),
            streak=INTERVIEW_STREAK,
            may_act=may_import(),
        )


@bp.post("/interviews")
@login_required
def interview_record() -> Any:
    if not may_import():
        abort(403)
    r = rt()
    form = request.form
    note = form.get("note", "").strip()
    try:
        unit_id = int(form.get("unit", ""))
        held_on = dt.date.fromisoformat(form.get("held_on", ""))
    except ValueError:
        abort(400)
    if not note or held_on > r.today():
        abort(400)
    with r.sessions() as db:
        unit = db.get(Unit, unit_id)
        if unit is None:
            abort(404)
        record_interview(
            db,
            unit,
            held_on=held_on,
            who=form.get("who", ""),
            note=note,
            actor=f"web:{(g.get('user') or {}).get('name', '')}",
            source="web",
            now=r.now(),
        )
        db.commit()
    return redirect(url_for("views.interviews"))
