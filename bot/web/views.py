"""Dashboard pages: ledger, unit, task history, sandbox, delivery health."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import joinedload
from werkzeug.exceptions import HTTPException

from bot.db import DatabaseUnavailable
from bot.runtime import Runtime
from bot.web.auth import login_required
from bot.web.paging import page_args
from handlers.lead_review import review_actions
from handlers.render import install_filters, moment_label
from models import REPORTED, STATUS_LABELS, AuditLog, Member, Outbox, Progress, Task, Unit
from schedules.ledger import LedgerPage, LedgerRow, ledger_page, ledger_rows
from schedules.plan import effective_plan, milestone_dates
from schedules.review import current_evidence, lead_unit_of
from schedules.standing import live_trends

bp = Blueprint("views", __name__)

LIGHTS = (("red", "红灯"), ("yellow", "黄灯"), ("green", "绿灯"), ("done", "已完成"))
CHANNEL_LABELS = {
    "webhook": "群机器人",
    "app": "应用消息",
    "appchat": "应用群聊",
    "aibot": "智能机器人",
    "wechat": "公众号",
    "sandbox": "沙箱",
}
OUTBOX_STATUS_LABELS = {"pending": "待发", "sending": "发送中", "sent": "已发", "parked": "搁置"}
ACTION_LABELS = {
    "claim_done": "报完成",
    "report_progress": "报进展",
    "close": "销号",
    "reject": "退回",
    "request_extension": "申请延期",
    "approve_extension": "批准延期",
    "refuse_extension": "不批准延期",
    "urge": "催办",
    "attach_evidence": "上传佐证",
    "lead_pass": "初审通过",
    "lead_reject": "初审退回",
    "hold_claim": "报完成（待补佐证）",
}
SOURCE_LABELS = {
    "inbound": "聊天消息",
    "web": "管理后台",
    "form": "手机报送",
    "import": "Excel 导入",
    "wechat": "公众号",
    "cli": "命令行",
}
ERROR_MESSAGES = {
    400: "请求无效（表单可能已过期，请刷新页面后重试）",
    401: "请先登录",
    403: "没有权限",
    404: "没有找到这个页面或事项",
    405: "不支持这种请求方式",
    503: "数据库暂时无法连接，请稍后刷新；如持续出现，请联系系统管理员",
}


def rt() -> Runtime:
    return current_app.extensions["duban"]


def acting_member(db: Any) -> Member | None:
    """The member the signed-in user acts as (a review is recorded in a person's name)."""
    userid = (g.get("user") or {}).get("userid")
    if not userid:
        return None
    return db.scalar(select(Member).where(Member.userid == userid, Member.active.is_(True)))


def install(app: Flask) -> None:
    @app.context_processor
    def common() -> dict[str, Any]:
        r = rt()
        return {
            "sandbox": r.config.sandbox,
            "uncovered_years": r.calendar.uncovered_years(r.today()),
            "today": r.today(),
        }

    @app.template_filter("local")
    def local(value: dt.datetime | None) -> str:
        r = rt()
        return moment_label(value.astimezone(r.tz), r.today()) if value else ""

    install_filters(app.jinja_env)  # md, span, reason, move: as in chat

    @app.template_filter("fromiso")
    def fromiso(value: str) -> dt.date:
        return dt.date.fromisoformat(value)

    @app.template_filter("source")
    def source_label(value: str) -> str:
        """Where a change came from, in words: 聊天消息 #19, Excel 导入 台账.xlsx."""
        kind, _, rest = value.partition(":")
        label = SOURCE_LABELS.get(kind)
        if label is None:
            return value
        return f"{label} #{rest}" if kind == "inbound" else f"{label} {rest}".strip()

    @app.template_filter("ago")
    def ago(value: dt.timedelta) -> str:
        """A waiting time in words: 不到 1 分钟, 12 分钟, 3 小时 5 分钟, 2 天 4 小时."""
        seconds = max(int(value.total_seconds()), 0)
        days, rest = divmod(seconds, 86400)
        hours, rest = divmod(rest, 3600)
        minutes = rest // 60
        if days:
            return f"{days} 天 {hours} 小时"
        if hours:
            return f"{hours} 小时 {minutes} 分钟"
        return f"{minutes} 分钟" if minutes else "不到 1 分钟"

    app.jinja_env.globals.update(
        LIGHTS=LIGHTS,
        CHANNEL_LABELS=CHANNEL_LABELS,
        OUTBOX_STATUS_LABELS=OUTBOX_STATUS_LABELS,
        ACTION_LABELS=ACTION_LABELS,
        STATUS_LABELS=STATUS_LABELS,
    )

    @app.errorhandler(OperationalError)
    @app.errorhandler(DatabaseUnavailable)
    def database_down(exc: Exception) -> Any:
        """The database is away: say so (503, so proxies and scripts retry), not a bare 500."""
        current_app.logger.warning("database unavailable for %s: %s", request.path, exc)
        message = ERROR_MESSAGES[503]
        if request.path.startswith("/api/"):
            return jsonify({"error": "Service Unavailable", "message": message}), 503
        if request.blueprint not in (None, "views", "auth"):
            return "database unavailable", 503, {"Content-Type": "text/plain"}
        return render_template("error.html", code=503, message=message), 503

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        """Chinese error pages; JSON under /api/ so scripts get a parseable answer."""
        if request.blueprint not in (None, "views", "auth", "api"):
            return exc  # callbacks and other blueprints keep Flask's plain answers
        code = exc.code or 500
        # A view's own abort(…, description=…) says what is wrong; werkzeug's stock English
        # descriptions give way to ours.
        own = exc.description and exc.description != type(exc).description
        message = exc.description if own else ERROR_MESSAGES.get(code, exc.description or "")
        if request.path.startswith("/api/"):
            return jsonify({"error": exc.name, "message": message}), code
        return render_template("error.html", code=code, message=message), code


def rows_where(db: Any, **filters: Any) -> list[LedgerRow]:
    """Ledger rows as of today, with this deployment's calendar, rules and plans."""
    r = rt()
    return ledger_rows(db, today=r.today(), cal=r.calendar, rules=r.config.rules, **filters)


def status_arg() -> str | None:
    """`?status=reported` (待审核) and the like; an unknown one is a 400 that says so."""
    status = request.args.get("status") or None
    if status is not None and status not in STATUS_LABELS:
        abort(400, description=f"未知的状态 {status!r}：可选 {'、'.join(STATUS_LABELS)}")
    return status


def ledger_page_for(db: Any) -> LedgerPage:
    """The page of the ledger the request's query string asks for (unit, open, light,
    status, page, size)."""
    r = rt()
    number, size = page_args(request.args)
    return ledger_page(
        db,
        today=r.today(),
        cal=r.calendar,
        rules=r.config.rules,
        number=number,
        size=size,
        unit_code=request.args.get("unit") or None,
        open_only=bool(request.args.get("open")),
        light_filter=request.args.get("light") or None,
        status=status_arg(),
    )


@bp.get("/")
def index() -> Any:
    return redirect(url_for("views.ledger"))


@bp.get("/ledger")
@login_required
def ledger() -> Any:
    with rt().sessions() as db:
        page = ledger_page_for(db)
        units = db.scalars(select(Unit).where(Unit.kind != "office").order_by(Unit.code)).all()
    # The counts stay those of the unit/open selection, so each colour's link shows its total.
    return render_template(
        "ledger.html",
        rows=page.rows,
        page=page,
        lights=Counter(page.lights),
        awaiting=page.awaiting,
        units=units,
        args=request.args,
    )


@bp.get("/units")
@login_required
def units() -> Any:
    """Every unit with its lights, so a supervisor sees at a glance who is behind."""
    with rt().sessions() as db:
        all_units = (
            db.scalars(
                select(Unit)
                .options(joinedload(Unit.members), joinedload(Unit.leader))
                .order_by(Unit.code)
            )
            .unique()
            .all()
        )
        per_unit: dict[str, Counter[str]] = {u.code: Counter() for u in all_units}
        for row in rows_where(db):
            per_unit[row.unit_code][row.light.color] += 1
        # Most red first, then most yellow: the units a supervisor should call today.
        worst = sorted(
            all_units,
            key=lambda u: (-per_unit[u.code]["red"], -per_unit[u.code]["yellow"], u.code),
        )
        groups = [
            (label, [u for u in worst if u.kind == kind])
            for kind, label in (("township", "乡镇"), ("department", "部门"), ("office", "督查室"))
        ]
        return render_template("units.html", groups=[g for g in groups if g[1]], lights=per_unit)


@bp.get("/unit/<code>")
@login_required
def unit(code: str) -> Any:
    r = rt()
    with r.sessions() as db:
        u = db.scalar(select(Unit).where(Unit.code == code).options(joinedload(Unit.members)))
        if u is None:
            abort(404)
        rows = rows_where(db, unit_code=code)
        return render_template(
            "unit.html",
            unit=u,
            members=list(u.members),
            rows=rows,
            lights=Counter(x.light.color for x in rows),
            trend=live_trends(db, r.config.rules, r.calendar, r.today(), "week", 12, u.id).get(
                u.id, []
            ),
        )


@bp.get("/task/<int:code>")
@login_required
def task(code: int) -> Any:
    r = rt()
    with r.sessions() as db:
        t = db.scalar(select(Task).where(Task.code == code))
        if t is None:
            abort(404)
        rows = rows_where(db, task_code=code)
        ids = [a.id for a in t.assignments]
        history = db.scalars(
            select(Progress)
            .where(Progress.assignment_id.in_(ids))
            .options(joinedload(Progress.member), joinedload(Progress.assignment))
            .order_by(Progress.created_at.desc(), Progress.id.desc())
        ).all()
        audit = db.scalars(
            select(AuditLog)
            .where(AuditLog.entity == "assignment", AuditLog.entity_id.in_(ids))
            .order_by(AuditLog.at.desc(), AuditLog.id.desc())
        ).all()
        units = {a.id: a.unit.name for a in t.assignments}
        me = acting_member(db)
        reviews = [
            (a, lead_unit_of(a), review_actions(me, a), current_evidence(db, a))
            for a in t.assignments
            if a.status == REPORTED
        ]
        actors = {e.actor for e in audit}
        names = dict(
            db.execute(select(Member.userid, Member.name).where(Member.userid.in_(actors))).all()
        )
        return render_template(
            "task.html",
            task=t,
            rows=rows,
            history=history,
            audit=audit,
            units=units,
            names=names,
            reviews=reviews,
            # The plan as set for the task's own deadline; each unit's row follows its
            # own deadline once an extension is approved.
            milestones=[]
            if t.recurrence  # a duty's occurrences are too short for a backward plan
            else milestone_dates(
                t.deadline,
                effective_plan(t.plan, t.key_work.name, r.config.rules.plans),
                r.calendar,
            ),
            # A recurring duty's occurrences, newest first; a target's rows per unit.
            occurrences=sorted(t.assignments, key=lambda a: (a.period, a.unit.code), reverse=True),
        )


@bp.get("/evidence/<int:progress_id>/<int:index>")
@login_required
def evidence(progress_id: int, index: int) -> Any:
    """A stored attachment (佐证材料), by its progress entry and position."""
    from pathlib import Path

    from flask import send_file

    r = rt()
    with r.sessions() as db:
        entry = db.get(Progress, progress_id)
        attachments = entry.attachments if entry is not None else []
        if not 0 <= index < len(attachments) or attachments[index].get("status") != "stored":
            abort(404)
        name = attachments[index]["file"]
    folder = Path(r.config.storage.evidence_dir).resolve()
    path = (folder / name).resolve()
    if folder not in path.parents or not path.is_file():
        abort(404)
    from bot.web.hardening import evidence_type

    # An attachment of a checked type: never rendered as a page of this site.
    return send_file(path, mimetype=evidence_type(name), as_attachment=True, download_name=name)


@bp.get("/sandbox")
@login_required
def sandbox() -> Any:
    with rt().sessions() as db:
        messages = db.scalars(select(Outbox).order_by(Outbox.id.desc()).limit(200)).all()
        return render_template("sandbox.html", messages=messages)


@bp.get("/outbox")
@login_required
def outbox() -> Any:
    r = rt()
    with r.sessions() as db:
        by_status = dict(
            db.execute(select(Outbox.status, func.count()).group_by(Outbox.status)).all()
        )
        oldest = db.scalar(select(func.min(Outbox.created_at)).where(Outbox.status == "pending"))
        parked = db.scalars(
            select(Outbox).where(Outbox.status == "parked").order_by(Outbox.id.desc()).limit(100)
        ).all()
        age = (r.now() - oldest) if oldest is not None else None
        return render_template("outbox.html", by_status=by_status, parked=parked, age=age)


@bp.get("/members")
@login_required
def members() -> Any:
    with rt().sessions() as db:
        people = db.scalars(
            select(Member)
            .options(joinedload(Member.unit))
            .join(Member.unit)
            .order_by(Unit.code, Member.id)
        ).all()
        return render_template("members.html", people=people)
