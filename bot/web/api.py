"""JSON API over the same data as the pages (same login)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, abort, jsonify, request, url_for
from sqlalchemy import select

from bot.web.auth import login_required
from bot.web.targets import shown_target
from bot.web.views import ledger_page_for, rows_where, rt
from handlers.render import row_json
from models import Outbox, Task, Unit

bp = Blueprint("api", __name__, url_prefix="/api")


def local_iso(value: dt.datetime | None) -> str | None:
    """A timestamp as ISO 8601 in Beijing time (+08:00), like the pages show it."""
    return value.astimezone(rt().tz).isoformat() if value is not None else None


@bp.get("/ledger")
@login_required
def ledger() -> Any:
    with rt().sessions() as db:
        today = rt().today()
        page = ledger_page_for(db)
    # The body stays a list of rows (as before paging); where it sits in the whole is in
    # the headers, with GitHub-style links to the neighbouring pages.
    response = jsonify([row_json(r, today) for r in page.rows])
    response.headers["X-Total-Count"] = str(page.total)
    response.headers["X-Page"] = str(page.number)
    response.headers["X-Pages"] = str(page.pages)
    links = []
    for rel, n in (("prev", page.number - 1), ("next", page.number + 1)):
        if 1 <= n <= page.pages:
            args: dict[str, Any] = {**request.args.to_dict(), "page": n, "size": page.size}
            links.append(f'<{url_for("api.ledger", **args)}>; rel="{rel}"')
    if links:
        response.headers["Link"] = ", ".join(links)
    return response


@bp.get("/units")
@login_required
def units() -> Any:
    with rt().sessions() as db:
        return jsonify(
            [
                {
                    "code": u.code,
                    "name": u.name,
                    "kind": u.kind,
                    "webhook_keys": len(u.webhook_keys or []),
                    "leader": u.leader.userid if u.leader else None,
                }
                for u in db.scalars(select(Unit).order_by(Unit.code))
            ]
        )


@bp.get("/units/<code>/trend")
@login_required
def unit_trend(code: str) -> Any:
    from schedules.board import trend

    with rt().sessions() as db:
        unit = db.scalar(select(Unit).where(Unit.code == code))
        if unit is None:
            abort(404)
        return jsonify(
            {
                "unit": code,
                "weeks": trend(db, unit.id, "week"),
                "months": trend(db, unit.id, "month"),
            }
        )


@bp.get("/tasks/<int:code>")
@login_required
def task(code: int) -> Any:
    with rt().sessions() as db:
        t = db.scalar(select(Task).where(Task.code == code))
        if t is None:
            abort(404)
        rows = rows_where(db, task_code=code)
        return jsonify(
            {
                "code": t.code,
                "content": t.content,
                "key_work": t.key_work.name,
                "deadline": t.deadline.isoformat(),
                "weight": t.weight,
                "plan": t.plan,
                "recurrence": t.recurrence,
                "target": {"value": t.target_value, "unit": t.target_unit}
                if t.target_value is not None
                else None,
                "rows": [row_json(x, rt().today()) for x in rows],
            }
        )


@bp.get("/outbox")
@login_required
def outbox() -> Any:
    with rt().sessions() as db:
        return jsonify(
            [
                {
                    "id": o.id,
                    "channel": o.channel,
                    **shown_target(o.channel, o.target),
                    "status": o.status,
                    "attempts": o.attempts,
                    "last_error": o.last_error,
                    "source": o.source,
                    "created_at": local_iso(o.created_at),
                    "sent_at": local_iso(o.sent_at),
                    "content": o.payload.get("content", ""),
                    "mentioned_list": o.payload.get("mentioned_list", []),
                }
                for o in db.scalars(select(Outbox).order_by(Outbox.id.desc()).limit(500))
            ]
        )
