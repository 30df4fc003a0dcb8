"""Spot checks (抽查) on the dashboard: draw a sample, see every drawing with its seed (and
whether redoing it gives the same items), record each re-inspection."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import abort, g, redirect, render_template, request, url_for
from sqlalchemy import select

from bot.web.auth import login_required
from bot.web.ledger_excel import may_import
from bot.web.views import bp, rt
from handlers.spot_check import draw_check, record_result
from models import SpotCheck, SpotCheckItem
from schedules.spot_check import draw, fingerprint

SHOWN = 20
DEFAULT_WINDOW_DAYS = 30


def _actor() -> str:
    return f"web:{(g.get('user') or {}).get('name', '')}"


@bp.get("/spot-checks")
@login_required
def spot_checks() -> Any:
    r = rt()
    with r.sessions() as db:
        checks = db.scalars(select(SpotCheck).order_by(SpotCheck.id.desc()).limit(SHOWN)).all()
        shown = [
            {
                "check": c,
                "fingerprint": fingerprint(c.population),
                "reproduced": draw(c.population, c.size, c.seed)
                == [i.assignment_id for i in c.items],
            }
            for c in checks
        ]
        today = r.today()
        return render_template(
            "spot_checks.html",
            checks=shown,
            may_act=may_import(),
            default_from=today - dt.timedelta(DEFAULT_WINDOW_DAYS),
            default_to=today,
        )


@bp.post("/spot-checks")
@login_required
def spot_check_draw() -> Any:
    if not may_import():
        abort(403)
    r = rt()
    try:
        first = dt.date.fromisoformat(request.form.get("from", ""))
        last = dt.date.fromisoformat(request.form.get("to", ""))
        size = int(request.form.get("size", "5"))
    except ValueError:
        abort(400)
    if first > last or not 1 <= size <= 100:
        abort(400)
    with r.sessions() as db:
        draw_check(
            db,
            actor=_actor(),
            source="web",
            start=first,
            end=last,
            size=size,
            now=r.now(),
            rules=r.config.rules,
        )
        db.commit()
    return redirect(url_for("views.spot_checks"))


@bp.post("/spot-checks/item/<int:item_id>")
@login_required
def spot_check_result(item_id: int) -> Any:
    if not may_import():
        abort(403)
    r = rt()
    result = request.form.get("result")
    note = request.form.get("note", "").strip()
    if result not in ("passed", "failed") or (result == "failed" and not note):
        abort(400)
    with r.sessions() as db:
        item = db.get(SpotCheckItem, item_id)
        if item is None:
            abort(404)
        try:
            record_result(
                db,
                item,
                passed=result == "passed",
                note=note,
                actor=_actor(),
                source="web",
                now=r.now(),
                today=r.today(),
                rules=r.config.rules,
            )
        except ValueError:
            abort(409)
        db.commit()
    return redirect(url_for("views.spot_checks"))
