"""The ledger as Excel on the dashboard: download it, upload the office's sheet (checked
row by row, all or nothing, with a dry run)."""

from __future__ import annotations

import io
from typing import Any

from flask import abort, g, render_template, request, send_file
from sqlalchemy import select

from bot.excel.budget import parse_in_child
from bot.excel.ledger import ImportReport, export_ledger, run_import
from bot.excel.sheet import Directory, LedgerFileError, Reading, SheetResult
from bot.web.auth import login_required
from bot.web.views import bp, rt
from models import Member

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def may_import() -> bool:
    """Admins and supervisors (督查员) change the ledger; other users only read it."""
    user = g.get("user") or {}
    if user.get("admin"):
        return True
    if not user.get("userid"):
        return False
    with rt().sessions() as db:
        member = db.scalar(select(Member).where(Member.userid == user["userid"]))
        return bool(member and member.active and {"supervisor", "admin"} & set(member.roles or []))


@bp.get("/ledger/export.xlsx")
@login_required
def ledger_export() -> Any:
    runtime = rt()
    buf = io.BytesIO()
    with runtime.sessions() as db:
        export_ledger(db, runtime.config, runtime.calendar, buf, today=runtime.today())
    buf.seek(0)
    name = f"督办台账-{runtime.today().isoformat()}.xlsx"
    return send_file(buf, mimetype=XLSX, as_attachment=True, download_name=name)


@bp.route("/ledger/import", methods=["GET", "POST"])
@login_required
def ledger_import() -> Any:
    if not may_import():
        abort(403)
    runtime = rt()
    report: ImportReport | None = None
    problem = None
    status = 200
    if request.method == "POST":
        limits = runtime.config.excel
        upload = request.files.get("file")
        data = upload.read(limits.max_upload_bytes + 1) if upload else b""
        year = request.form.get("year", type=int) or runtime.today().year
        if not 2000 <= year <= 2100:
            year = runtime.today().year
        if not data:
            problem, status = "请选择要导入的 .xlsx 文件", 400
        elif len(data) > limits.max_upload_bytes:
            mb = limits.max_upload_bytes / (1024 * 1024)
            problem, status = f"文件超过 {mb:g} MB（excel.max_upload_bytes）", 413
        else:
            reading = Reading.of(runtime.config.rules)

            def parse(directory: Directory, year: int) -> SheetResult:
                # Bytes in, parsed rows out, in a capped child: never this process's memory.
                return parse_in_child(data, directory, runtime.calendar, year, limits, reading)

            try:
                report = run_import(
                    runtime,
                    io.BytesIO(data),
                    actor=f"web:{g.user['name']}",
                    year=year,
                    dry_run=bool(request.form.get("dry_run")),
                    parser=parse,
                    add_units=bool(request.form.get("add_units")),
                )
            except LedgerFileError as exc:
                problem, status = str(exc), 400
            else:
                status = 200 if report.ok else 422
    return render_template(
        "ledger_import.html",
        report=report,
        problem=problem,
        year=runtime.today().year,
    ), status
