"""Rankings on the dashboard (排名): the current week or month as it stands, any published
period exactly as published, a range such as 1–4月; with each unit's trend, the evaluation as
Excel and the board as the picture the groups receive."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from flask import abort, jsonify, render_template, request, send_file
from sqlalchemy.orm import Session

from bot.web import api
from bot.web.auth import login_required
from bot.web.ledger_excel import may_import
from bot.web.views import bp, rt
from handlers.notices import board_data, board_json
from handlers.render import day_label, phrase, range_label, render
from schedules.board import (
    Board,
    PeriodError,
    board_for,
    choose_period,
    published_periods,
)
from schedules.standing import live_trends, published_on, standings, thin_period

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
KIND_LABELS = {"week": "周", "month": "月", "custom": "区间"}


def requested_period(db: Session) -> tuple[str, dt.date, dt.date]:
    """The period the query string asks for (`period`, `from`, `to`); 400 when it is wrong."""
    r = rt()
    args = request.args
    try:
        return choose_period(
            db,
            r.config.rules,
            r.today(),
            args.get("period") or None,
            args.get("from") or None,
            args.get("to") or None,
        )
    except PeriodError as exc:
        abort(400, description=render("period_error", {"problem": exc.problem, "data": exc.data}))


def requested_board() -> Board:
    """The board the query string asks for; 400 when it is wrong."""
    r = rt()
    with r.sessions() as db:
        kind, first, last = requested_period(db)
        return board_for(db, r.config.rules, r.calendar, kind, first, last, r.today())


def sparkline(points: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Polyline coordinates of a unit's scores (published, then the live period) in a 100×24
    box (inline SVG)."""
    if len(points) < 2:
        return None
    step = 100 / (len(points) - 1)
    coords = [
        (round(i * step, 1), round(22 - float(p["score"]) * 0.2, 1)) for i, p in enumerate(points)
    ]
    return {
        "points": " ".join(f"{x},{y}" for x, y in coords),
        "last": coords[-1],
        "title": "；".join(
            f"{day_label(dt.date.fromisoformat(str(p['start'])))}起"
            f"{'（实时）' if p.get('live') else ''} 第{p['rank']}名 {float(p['score']):g}分"
            for p in points
        ),
    }


@bp.get("/rankings")
@login_required
def rankings() -> Any:
    board = requested_board()
    r = rt()
    with r.sessions() as db:
        kind = "month" if board.kind == "month" else "week"
        history = live_trends(db, r.config.rules, r.calendar, r.today(), kind, limit=8)
        periods = published_periods(db, limit=16)
        today = r.today()
        thin = (
            None if board.frozen else thin_period(db, r.config.rules, board.start, board.end, today)
        )
        # Beside a week (few deadlines, most units 上期未参评): month and year to date.
        longer = standings(db, r.config.rules, r.calendar, today) if board.kind == "week" else []
        # Early in a month its standing rests on a few items: say so beside it.
        thin_longer = {
            s.kind: thin_period(db, r.config.rules, s.board.start, s.board.end, today)
            for s in longer
        }
    return render_template(
        "rankings.html",
        board=board,
        data=board_data(board),
        lines={u.code: sparkline(history.get(u.id, [])) for u in board.units.values()},
        periods=periods,
        kind_label=KIND_LABELS.get(board.kind, board.kind),
        query={"period": board.kind, "from": board.start, "to": board.end},
        rules=rt().config.rules,
        may_act=may_import(),
        thin=thin and phrase("standing", "thin", thin, today),
        thin_link=thin and thin.last,
        longer=[
            {
                "title": phrase(
                    "standing", "standing_title", s.kind, s.board.start, s.board.end, today
                ),
                "compared": phrase("standing", "compared", s.compared),
                "data": board_data(s.board),
                "thin": thin_longer[s.kind],
            }
            for s in longer
        ],
    )


@bp.get("/rankings/export.xlsx")
@login_required
def rankings_export() -> Any:
    from bot.excel.ranking import export_ranking

    board = requested_board()
    r = rt()
    today = r.today()
    with r.sessions() as db:
        thin = (
            None if board.frozen else thin_period(db, r.config.rules, board.start, board.end, today)
        )
        # A published week's workbook stays as published; the live week's carries the
        # month and year to date as of today.
        live_week = board.kind == "week" and not board.frozen
        longer = standings(db, r.config.rules, r.calendar, today) if live_week else []
    buf = io.BytesIO()
    export_ranking(board, buf, today, thin, longer)
    buf.seek(0)
    name = f"考核排名-{range_label(board.start, board.end, today)}.xlsx"
    return send_file(buf, mimetype=XLSX, as_attachment=True, download_name=name)


@bp.get("/rankings/board.png")
@login_required
def rankings_picture() -> Any:
    from bot.delivery.picture import render_board
    from bot.notice import office_name

    r = rt()
    board = requested_board()
    with r.sessions() as db:
        office = office_name(db)
        # A published board's picture carries the day it went out, not the day it is viewed.
        issued = board.frozen and published_on(db, board.kind, board.start, board.end, r.tz)
    drawn = render_board(
        {
            **board_data(board),
            "today": issued or r.today(),
            "county": r.config.delivery.county,
            "office": office,
        }
    )
    if drawn is None:
        abort(404, description="没有安装中文字体，无法生成排名图片")
    return send_file(io.BytesIO(drawn.png), mimetype="image/png")


@api.bp.get("/rankings")
@login_required
def rankings_json() -> Any:
    """The same as `duban rank --json`, with what cost each unit its points."""
    return jsonify(board_json(requested_board()))
