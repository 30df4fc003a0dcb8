"""Review from the dashboard: the lead unit's 初审 and the office's 销号/退回 on the task page,
the same state changes (audit, notices) as in chat."""

from __future__ import annotations

from typing import Any

from flask import abort, redirect, request, url_for
from sqlalchemy import select

from bot.web.auth import login_required
from bot.web.views import acting_member, bp, rt
from handlers.actions import close_item, reject_item
from handlers.lead_review import pass_first_review, return_first_review, review_actions
from handlers.render import render
from models import Assignment, Task, Unit


@bp.post("/task/<int:code>/review")
@login_required
def review(code: int) -> Any:
    r = rt()
    action = request.form.get("action", "")
    note = request.form.get("note", "").strip()
    with r.sessions() as db:
        a = db.scalar(
            select(Assignment)
            .join(Assignment.task)
            .join(Assignment.unit)
            .where(Task.code == code, Unit.code == request.form.get("unit", ""))
        )
        if a is None:
            abort(404)
        member = acting_member(db)
        if action not in review_actions(member, a):
            abort(403, render("web_review_refused", {"a": a, "member": member}))
        assert member is not None  # review_actions() allows nothing without one
        if action in ("lead_reject", "reject") and not note:
            abort(400, render("web_review_needs_reason", {"a": a}))
        now, today = r.now(), r.today()
        if action == "lead_pass":
            w = r.config.wecom  # with the self-built app, the office's supervisors get cards
            cards = bool(w.corp_id and w.secret and w.agent_id)
            pass_first_review(
                db, a, member, note=note, now=now, today=today, source="web", cards=cards
            )
        elif action == "lead_reject":
            return_first_review(db, a, member, reason=note, now=now, today=today, source="web")
        elif action == "close":
            close_item(db, a, member, now=now, today=today, source="web", note=note)
        else:
            reject_item(db, a, member, reason=note, now=now, today=today, source="web")
        db.commit()
    return redirect(url_for("views.task", code=code))
