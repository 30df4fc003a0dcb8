"""Ledger (台账) import and export with openpyxl.

Import is all-or-nothing: every row is read and checked first; one bad row and nothing is
written, with every row's error listed. A re-import matches tasks by key work and content,
so importing the office's updated sheet again changes what changed and adds what is new;
it never deletes a unit's ledger row (its reports stay), it says so instead.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from bot.config import Config
from bot.excel.cells import append_text_safe
from bot.excel.sheet import (
    Directory,
    SheetResult,
    SheetTask,
    directory_from,
    parse_sheet,
    sorted_plan,
)
from bot.runtime import Runtime
from handlers.render import LIGHT_LABELS, day_label, phrase
from models import Assignment, KeyWork, Task, Unit
from models.audit import audit
from schedules.calendar import WorkCalendar
from schedules.ledger import ledger_rows
from schedules.plan import milestone_dates

HEADER = ["序号", "重点工作", "任务内容", "牵头单位", "责任单位", "完成时限", "关键节点", "分值"]
EXTRA = ["完成情况", "灯"]
# The sheet's 灯 column: "已完成" rather than the light's short "完成".
EXPORT_LIGHTS = {**LIGHT_LABELS, "done": "已完成"}
KEY_WORK_MAX = 64


@dataclass
class ImportReport:
    dry_run: bool
    sheet: str = ""
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "dry_run": self.dry_run,
            "sheet": self.sheet,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": self.errors,
            "notes": self.notes,
        }


Parser = Callable[[Directory, int], SheetResult]


def import_ledger(
    session: Session,
    cfg: Config,
    cal: WorkCalendar,
    source: str | Path | IO[bytes],
    *,
    actor: str,
    year: int,
    now: dt.datetime,
    dry_run: bool = False,
) -> ImportReport:
    """Read, check and (unless a dry run, or any row is wrong) write the ledger. The caller
    commits: on a dry run or an error this leaves nothing to commit."""
    units = list(session.scalars(select(Unit)))
    sheet = parse_sheet(source, directory_from(units), cal, year, cfg.excel)
    return apply_sheet(session, sheet, units, actor=actor, now=now, dry_run=dry_run)


def apply_sheet(
    session: Session,
    sheet: SheetResult,
    units: list[Unit],
    *,
    actor: str,
    now: dt.datetime,
    dry_run: bool,
) -> ImportReport:
    """The report of a parsed sheet, its changes made in the session unless this is a dry
    run (which sends no write to the database: no flush, no audit row)."""
    report = ImportReport(dry_run)
    report.sheet = sheet.sheet
    report.errors = [str(e) for e in sheet.errors]
    report.errors += [
        f"第 {t.row} 行【重点工作】超过 {KEY_WORK_MAX} 个字"
        for t in sheet.tasks
        if len(t.key_work) > KEY_WORK_MAX
    ]
    if report.errors:
        return report
    by_id = {u.id: u for u in units}
    with session.no_autoflush:
        _apply(session, sheet.tasks, by_id, report, actor=actor, now=now, dry_run=dry_run)
    if dry_run or report.errors:
        session.rollback()
    return report


def run_import(
    rt: Runtime,
    source: str | Path | IO[bytes],
    *,
    actor: str,
    year: int | None,
    dry_run: bool,
    parser: Parser | None = None,
) -> ImportReport:
    """Import in a transaction of its own, committed only when every row is right and this
    is not a dry run. The sheet is read and checked outside any transaction (reading a big
    one takes seconds; SQLite callbacks must not wait on it); `parser` reads it (default:
    in this process, within the [excel] bounds). Raises LedgerFileError for a file that is
    no ledger at all."""
    with rt.sessions() as session:
        directory = directory_from(session.scalars(select(Unit)))
    the_year = year or rt.today().year
    if parser is None:
        sheet = parse_sheet(source, directory, rt.calendar, the_year, rt.config.excel)
    else:
        sheet = parser(directory, the_year)
    with rt.sessions() as session:
        units = list(session.scalars(select(Unit)))
        report = apply_sheet(session, sheet, units, actor=actor, now=rt.now(), dry_run=dry_run)
        if report.ok and not dry_run:
            session.commit()
    return report


def _apply(
    session: Session,
    tasks: list[SheetTask],
    units: dict[int, Unit],
    report: ImportReport,
    *,
    actor: str,
    now: dt.datetime,
    dry_run: bool,
) -> None:
    key_works = {k.name: k for k in session.scalars(select(KeyWork))}
    existing = {
        (t.key_work.name, t.content): t
        for t in session.scalars(
            select(Task).options(joinedload(Task.key_work), joinedload(Task.assignments))
        ).unique()
    }
    taken = set(session.scalars(select(Task.code)))
    next_code = (session.scalar(select(func.max(Task.code))) or 0) + 1
    seqs = [t.seq for t in tasks]
    # 序号 become task codes only when they can: all present and distinct in the sheet (many
    # sheets restart numbering in each section).
    use_seq = None not in seqs and len(set(seqs)) == len(seqs)
    source = f"import:{report.sheet}"
    audits: list[tuple[Task, str, dict[str, Any]]] = []
    for t in tasks:
        task = existing.get((t.key_work, t.content))
        names = "、".join(units[i].name for i in t.unit_ids)
        if task is None:
            if t.key_work not in key_works:
                key_works[t.key_work] = KeyWork(name=t.key_work)
                session.add(key_works[t.key_work])
            if use_seq and t.seq is not None and t.seq not in taken:
                code = t.seq
            else:
                while next_code in taken:
                    next_code += 1
                code = next_code
            taken.add(code)
            task = Task(
                code=code,
                key_work=key_works[t.key_work],
                content=t.content,
                lead_unit_id=t.lead_unit_id,
                deadline=t.deadline,
                weight=t.weight,
                plan=list(t.plan),
                created_at=now,
            )
            task.assignments = [Assignment(unit_id=i) for i in t.unit_ids]
            report.created.append(f"#{code} {_short(t.content)}（{names}）")
            if dry_run:
                # Never added: the KeyWork backref may have cascaded it in; out it goes.
                if task in session:
                    session.expunge(task)
                continue
            session.add(task)
            audits.append(
                (
                    task,
                    "import_create",
                    {"row": t.row, "units": [units[i].code for i in t.unit_ids]},
                )
            )
            continue
        changes = _update(task, t, units)
        if not changes:
            report.unchanged += 1
            continue
        report.updated.append(f"#{task.code} {_short(t.content)}：" + "；".join(changes))
        _note_kept(task, t, units, report)
        if not dry_run:
            audits.append((task, "import_update", {"row": t.row, "changes": changes}))
    if audits:
        # One flush for every row (new ids), then the audit entries: the write lock is held
        # for a batched insert, not for a flush per row (SQLite callbacks wait meanwhile).
        session.flush()
        for task, action, detail in audits:
            audit(
                session,
                at=now,
                actor=actor,
                source=source,
                action=action,
                entity="task",
                entity_id=task.id,
                **detail,
            )


def _note_kept(task: Task, t: SheetTask, units: dict[int, Unit], report: ImportReport) -> None:
    kept = [a.unit_id for a in task.assignments if a.unit_id not in t.unit_ids]
    if kept:
        report.notes.append(
            f"#{task.code} 表中已无"
            + "、".join(units[i].name for i in kept)
            + "：台账行保留（需删除请在系统中处理）"
        )


def _update(task: Task, t: SheetTask, units: dict[int, Unit]) -> list[str]:
    changes: list[str] = []
    if task.deadline != t.deadline:
        changes.append(f"完成时限 {task.deadline.isoformat()} → {t.deadline.isoformat()}")
        task.deadline = t.deadline
    if task.weight != t.weight:
        changes.append(f"分值 {task.weight:g} → {t.weight:g}")
        task.weight = t.weight
    if task.lead_unit_id != t.lead_unit_id:
        changes.append("牵头单位 → " + (units[t.lead_unit_id].name if t.lead_unit_id else "无"))
        task.lead_unit_id = t.lead_unit_id
    if sorted_plan(task.plan or []) != list(t.plan):
        changes.append("关键节点")
        task.plan = list(t.plan)
    have = {a.unit_id for a in task.assignments}
    added = [i for i in t.unit_ids if i not in have]
    if added:
        changes.append("新增责任单位 " + "、".join(units[i].name for i in added))
        task.assignments.extend(Assignment(unit_id=i) for i in added)
    return changes


def _short(text: str, n: int = 24) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def plan_text(task: Task, cal: WorkCalendar) -> str:
    """关键节点 as the office writes them, readable and read back to the same offsets."""
    plan = sorted_plan(task.plan or [])  # milestone_dates' order
    return "；".join(
        f"{m.name}（前{int(p['offset'])}个工作日，{day_label(m.date)}）"
        for p, m in zip(plan, milestone_dates(task.deadline, plan, cal), strict=True)
    )


def export_ledger(
    session: Session,
    cfg: Config,
    cal: WorkCalendar,
    path: str | Path | IO[bytes],
    *,
    today: dt.date,
) -> int:
    """The ledger as the office's sheet, one row per task, with each unit's standing; it
    imports back unchanged. Returns the number of tasks written."""
    rows = ledger_rows(session, today=today, cal=cal, rules=cfg.rules)
    by_task: dict[int, list[Any]] = {}
    for r in rows:
        by_task.setdefault(r.task_code, []).append(r)
    tasks = session.scalars(
        select(Task)
        .options(
            joinedload(Task.key_work),
            joinedload(Task.lead_unit),
            joinedload(Task.assignments).joinedload(Assignment.unit),
        )
        .order_by(Task.code)
    ).unique()
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "台账"
    ws.append([phrase("titles", "ledger_sheet", today)])
    ws["A1"].font = Font(bold=True, size=14)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADER + EXTRA))
    ws.append(HEADER + EXTRA)
    for cell in ws[2]:
        cell.font = Font(bold=True)
    n = 0
    order = {"red": 0, "yellow": 1, "green": 2, "done": 3}
    for task in tasks:
        ledger = sorted(by_task.get(task.code, []), key=lambda r: r.unit_code)
        standing = "；".join(
            phrase("titles", "unit_standing", r, task.deadline, today) for r in ledger
        )
        worst = min((r.light.color for r in ledger), key=order.__getitem__, default="done")
        append_text_safe(
            ws,
            [
                task.code,
                task.key_work.name,
                task.content,
                task.lead_unit.name if task.lead_unit else "",
                "、".join(a.unit.name for a in task.assignments),
                task.deadline,
                plan_text(task, cal),
                task.weight,
                standing,
                EXPORT_LIGHTS[worst],
            ],
        )
        ws.cell(ws.max_row, 6).number_format = 'yyyy"年"m"月"d"日"'
        n += 1
    for col, width in zip("ABCDEFGHIJ", (6, 14, 40, 14, 28, 14, 36, 6, 40, 8), strict=True):
        ws.column_dimensions[col].width = width
    for row in ws.iter_rows(min_row=3):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    wb.save(path)
    return n
