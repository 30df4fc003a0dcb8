"""Ledger (台账) import and export with openpyxl.

Import is all-or-nothing: every row is read and checked first; one bad row and nothing is
written, with every row's error listed. A re-import matches tasks by key work and content,
so importing the office's updated sheet again changes what changed and adds what is new;
it never deletes a unit's ledger row (its reports stay), it says so instead.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from bot.config import Config
from bot.excel.cells import append_text_safe
from bot.excel.duties import duty_label, target_label, unit_kind
from bot.excel.sheet import (
    SCORING_LABELS,
    Directory,
    Reading,
    SheetResult,
    SheetTask,
    UnitRef,
    directory_from,
    parse_sheet,
    sorted_plan,
)
from bot.runtime import Runtime
from handlers.render import LIGHT_LABELS, date_label, day_label, period_label, phrase
from models import UNIT_KIND_LABELS, Assignment, KeyWork, Setting, Task, Unit
from models.audit import audit
from schedules.calendar import WorkCalendar
from schedules.duties import materialize, next_occurrence
from schedules.ledger import ledger_rows
from schedules.plan import milestone_dates
from schedules.recurrence import Recurrence
from schedules.rules import Rules

HEADER = ["序号", "重点工作", "任务内容", "牵头单位", "责任单位", "完成时限", "关键节点", "分值"]
EXTRA = ["完成情况", "灯", "目标", "重点工作权重", "计分方式"]
# Unit aliases the office keeps (`duban alias`): {"县应急局": "县应急管理局"}.
ALIASES_KEY = "unit_aliases"
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
    # Names the sheet gives that no unit answers to (with the kind they would get), the
    # units `--add-units` created, the names matched through an alias, and how each
    # recurring duty was read with its next occurrence.
    unknown_units: list[str] = field(default_factory=list)
    added_units: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    duties: list[str] = field(default_factory=list)

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
            "unknown_units": self.unknown_units,
            "added_units": self.added_units,
            "aliases": self.aliases,
            "duties": self.duties,
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
    add_units: bool = False,
) -> ImportReport:
    """Read, check and (unless a dry run, or any row is wrong) write the ledger. The caller
    commits: on a dry run or an error this leaves nothing to commit.

    Units the sheet names that the bot does not know are listed; with `add_units` they are
    created (乡/镇 townships, the rest departments)."""
    units = list(session.scalars(select(Unit)))
    aliases = load_aliases(session)
    reading = Reading.of(cfg.rules)

    def parse(directory: Directory, year: int) -> SheetResult:
        return parse_sheet(source, directory, cal, year, cfg.excel, reading)

    sheet, planned = read_sheet(parse, units, aliases, year, add_units=add_units)
    return apply_sheet(
        session, sheet, units, planned, cfg.rules, cal, actor=actor, now=now, dry_run=dry_run
    )


def read_sheet(
    parse: Parser,
    units: list[Unit],
    aliases: dict[str, str],
    year: int,
    *,
    add_units: bool,
) -> tuple[SheetResult, list[UnitRef]]:
    """The parsed sheet and the units it would add. With `add_units`, names no unit answers
    to get planned units (negative ids until they are stored) and the sheet is read again
    with them, so nothing is parsed inside the write transaction."""
    sheet = parse(directory_from(units, aliases), year)
    if not (sheet.missing and add_units):
        return sheet, []
    taken = {u.code for u in units}
    planned: list[UnitRef] = []
    n = 0
    for i, name in enumerate(sheet.missing, start=1):
        n += 1
        while f"U{n:03d}" in taken:
            n += 1
        taken.add(f"U{n:03d}")
        kind = sheet.unit_kinds.get(name) or unit_kind(name)
        planned.append(UnitRef(-i, f"U{n:03d}", name, kind))
    again = parse(directory_from([*units, *planned], aliases), year)
    again.missing = sheet.missing
    again.unit_kinds = sheet.unit_kinds
    return again, planned


def apply_sheet(
    session: Session,
    sheet: SheetResult,
    units: list[Unit],
    planned: list[UnitRef],
    rules: Rules,
    cal: WorkCalendar,
    *,
    actor: str,
    now: dt.datetime,
    dry_run: bool,
) -> ImportReport:
    """The report of a parsed sheet, its changes made in the session unless this is a dry
    run (which sends no write to the database: no flush, no audit row)."""
    report = ImportReport(dry_run)
    today = rules.local_day(now)
    if sheet.missing:
        report.unknown_units = [
            f"{n}（{UNIT_KIND_LABELS[sheet.unit_kinds.get(n) or unit_kind(n)]}）"
            for n in sheet.missing
        ]
        if not planned:
            report.notes.append("表中有系统未登记的单位：加 --add-units 导入时一并创建")
    report.aliases = [f"{a} → {name}（别名）" for a, name in sorted(sheet.matched.items())]
    report.sheet = sheet.sheet
    report.errors = [str(e) for e in sheet.errors]
    report.errors += [
        f"第 {t.row} 行【重点工作】超过 {KEY_WORK_MAX} 个字"
        for t in sheet.tasks
        if len(t.key_work) > KEY_WORK_MAX
    ]
    if report.errors:
        return report
    by_id: dict[int, Any] = {u.id: u for u in units}
    if planned:
        tasks = sheet.tasks
        if dry_run:
            by_id |= {p.id: p for p in planned}
        else:
            made = _add_units(session, planned, actor=actor, now=now)
            real = {p.id: u.id for p, u in zip(planned, made, strict=True)}
            by_id |= {u.id: u for u in made}
            tasks = [_with_real_ids(t, real) for t in tasks]
        sheet = replace(sheet, tasks=tasks)
        report.added_units = [
            f"{p.name}（{UNIT_KIND_LABELS[p.kind]}，代码 {p.code}）" for p in planned
        ]
    with session.no_autoflush:  # a dry run sends no write, not even a pending one
        _apply(session, sheet.tasks, by_id, report, actor=actor, now=now, dry_run=dry_run)
        if not report.errors:
            report.duties = _duty_lines(session, sheet.tasks, today, rules, cal)
    if not report.errors and not dry_run:
        materialize(session, today, rules, cal)  # recurring rows show their occurrence
    if dry_run or report.errors:
        session.rollback()
    return report


def load_aliases(session: Session) -> dict[str, str]:
    row = session.get(Setting, ALIASES_KEY)
    return dict(json.loads(row.value)) if row is not None else {}


def save_aliases(session: Session, aliases: dict[str, str]) -> None:
    row = session.get(Setting, ALIASES_KEY)
    value = json.dumps(dict(sorted(aliases.items())), ensure_ascii=False)
    if row is None:
        session.add(Setting(key=ALIASES_KEY, value=value))
    else:
        row.value = value


def _add_units(
    session: Session, planned: list[UnitRef], *, actor: str, now: dt.datetime
) -> list[Unit]:
    """The planned units stored, coded U001, U002 … (the office may recode them)."""
    made = [Unit(code=p.code, name=p.name, kind=p.kind, webhook_keys=[]) for p in planned]
    session.add_all(made)
    session.flush()
    for unit in made:
        audit(
            session,
            at=now,
            actor=actor,
            source="import",
            action="unit_create",
            entity="unit",
            entity_id=unit.id,
            name=unit.name,
            kind=unit.kind,
        )
    return made


def _with_real_ids(t: SheetTask, real: dict[int, int]) -> SheetTask:
    lead = real.get(t.lead_unit_id, t.lead_unit_id) if t.lead_unit_id is not None else None
    return replace(t, lead_unit_id=lead, unit_ids=tuple(real.get(i, i) for i in t.unit_ids))


def _duty_lines(
    session: Session, tasks: list[SheetTask], today: dt.date, rules: Rules, cal: WorkCalendar
) -> list[str]:
    """How each recurring row was read, and its next occurrence (a dry run too: the rule
    is the sheet's, the task code the stored one when there is one)."""
    out = []
    codes = {
        (t.key_work.name, t.content): t.code
        for t in session.scalars(select(Task).options(joinedload(Task.key_work))).unique()
    }
    for t in tasks:
        if t.recurrence is None:
            continue
        occ = next_occurrence(Task(recurrence=t.recurrence), today, rules, cal)
        nxt = (
            f"下次：{period_label(occ.key, today)}，{date_label(occ.deadline, today)}截止"
            if occ is not None
            else "一年内没有应办的周期"
        )
        code = codes.get((t.key_work, t.content))
        ref = f"#{code} " if code is not None else ""
        out.append(f"第 {t.row} 行 {ref}{_short(t.content)}：{t.read_as}；{nxt}")
    return out


def run_import(
    rt: Runtime,
    source: str | Path | IO[bytes],
    *,
    actor: str,
    year: int | None,
    dry_run: bool,
    add_units: bool = False,
    parser: Parser | None = None,
) -> ImportReport:
    """Import in a transaction of its own, committed only when every row is right and this
    is not a dry run. The sheet is read and checked outside any transaction (reading a big
    one takes seconds; SQLite callbacks must not wait on it); `parser` reads it (default:
    in this process, within the [excel] bounds). Raises LedgerFileError for a file that is
    no ledger at all."""
    with rt.sessions() as session:
        units = list(session.scalars(select(Unit)))
        aliases = load_aliases(session)
    the_year = year or rt.today().year
    if parser is None:
        reading = Reading.of(rt.config.rules)

        def parser(directory: Directory, year: int) -> SheetResult:
            return parse_sheet(source, directory, rt.calendar, year, rt.config.excel, reading)

    sheet, planned = read_sheet(parser, units, aliases, the_year, add_units=add_units)
    with rt.sessions() as session:
        units = list(session.scalars(select(Unit)))
        report = apply_sheet(
            session,
            sheet,
            units,
            planned,
            rt.config.rules,
            rt.calendar,
            actor=actor,
            now=rt.now(),
            dry_run=dry_run,
        )
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
    _key_work_weights(session, tasks, key_works, report, actor=actor, now=now, source=source)
    audits: list[tuple[Task, str, dict[str, Any]]] = []
    for t in tasks:
        task = existing.get((t.key_work, t.content))
        names = "、".join(units[i].name for i in t.unit_ids)
        if task is None:
            if t.key_work not in key_works:
                # A new key work takes its weight and scoring from whichever of its rows
                # gives them (one row is enough; the others may leave the cells blank).
                rows = [r for r in tasks if r.key_work == t.key_work]
                weight = next((r.work_weight for r in rows if r.work_weight is not None), None)
                scoring = next((r.work_scoring for r in rows if r.work_scoring is not None), None)
                key_works[t.key_work] = KeyWork(
                    name=t.key_work, weight=weight or 1.0, scoring=scoring
                )
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
                evidence_required=t.evidence,
                recurrence=t.recurrence,
                target_value=t.target_value,
                target_unit=t.target_unit,
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


def _key_work_weights(
    session: Session,
    tasks: list[SheetTask],
    key_works: dict[str, KeyWork],
    report: ImportReport,
    *,
    actor: str,
    now: dt.datetime,
    source: str,
) -> None:
    """A 重点工作权重 column moves the weights of key works already known (new ones are
    created with theirs), and a 计分方式 column their scoring modes; each change reported
    and audited once."""
    done: set[str] = set()
    modes: set[str] = set()
    for t in tasks:
        kw = key_works.get(t.key_work)
        if kw is None and t.work_scoring is not None and t.key_work not in modes:
            modes.add(t.key_work)  # created below with its mode; the dry run says so
            label = SCORING_LABELS[t.work_scoring]
            report.updated.append(f"重点工作 {t.key_work}（新建）：计分方式 {label}")
        if kw is not None and t.work_scoring is not None and t.key_work not in modes:
            modes.add(t.key_work)
            if kw.scoring != t.work_scoring:
                before = SCORING_LABELS.get(kw.scoring or "", "未设（按配置）")
                after = SCORING_LABELS[t.work_scoring]
                line = f"重点工作 {kw.name}：计分方式 {before} → {after}"
                _change(session, kw, "scoring", t.work_scoring, line, report, actor, now, source)
        if kw is None or t.work_weight is None or t.key_work in done:
            continue
        done.add(t.key_work)
        if kw.weight != t.work_weight:
            line = f"重点工作 {kw.name}：权重 {kw.weight:g} → {t.work_weight:g}"
            _change(session, kw, "weight", t.work_weight, line, report, actor, now, source)


def _change(
    session: Session,
    kw: KeyWork,
    field: str,
    new: object,
    line: str,
    report: ImportReport,
    actor: str,
    now: dt.datetime,
    source: str,
) -> None:
    """One setting of a key work changed by the sheet: reported, audited (before and
    after), then set."""
    report.updated.append(line)
    old = getattr(kw, field)
    audit(
        session,
        at=now,
        actor=actor,
        source=source,
        action="import_update",
        entity="key_work",
        entity_id=kw.id,
        **{field: [old, new]},
    )
    setattr(kw, field, new)


def _update(task: Task, t: SheetTask, units: dict[int, Unit]) -> list[str]:
    changes: list[str] = []
    if task.deadline != t.deadline:
        changes.append(f"完成时限 {task.deadline.isoformat()} → {t.deadline.isoformat()}")
        task.deadline = t.deadline
    if task.weight != t.weight:
        changes.append(f"分值 {task.weight:g} → {t.weight:g}")
        task.weight = t.weight
    if t.evidence is not None and task.evidence_required != t.evidence:
        changes.append("佐证材料 → " + ("需要" if t.evidence else "不需要"))
        task.evidence_required = t.evidence
    if task.lead_unit_id != t.lead_unit_id:
        changes.append("牵头单位 → " + (units[t.lead_unit_id].name if t.lead_unit_id else "无"))
        task.lead_unit_id = t.lead_unit_id
    if sorted_plan(task.plan or []) != list(t.plan):
        changes.append("关键节点")
        task.plan = list(t.plan)
    if (task.recurrence or None) != t.recurrence:
        changes.append(
            "周期 → " + (duty_label(Recurrence.from_json(t.recurrence)) if t.recurrence else "无")
        )
        task.recurrence = t.recurrence
    if (task.target_value, task.target_unit) != (t.target_value, t.target_unit):
        changes.append(
            "目标 → "
            + (target_label(t.target_value, t.target_unit) if t.target_value is not None else "无")
        )
        task.target_value, task.target_unit = t.target_value, t.target_unit
    have = {a.unit_id for a in task.assignments}  # (each occurrence of a duty is one row)
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


def _duty_deadline(rec: Recurrence, deadline: dt.date) -> str:
    """完成时限 of a recurring duty: 每月不少于2次 (to the year's end), or with its end date."""
    label = duty_label(rec)
    if (deadline.month, deadline.day) == (12, 31):
        return label
    return f"{label}，{deadline.year}年{deadline.month}月{deadline.day}日前"


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
        rec = Recurrence.from_json(task.recurrence) if task.recurrence else None
        append_text_safe(
            ws,
            [
                task.code,
                task.key_work.name,
                task.content,
                task.lead_unit.name if task.lead_unit else "",
                # One name per unit, however many occurrences of a duty it has rows for.
                "、".join(dict.fromkeys(a.unit.name for a in task.assignments)),
                # A duty reads back as the same rule; one running to a date keeps the date.
                task.deadline if rec is None else _duty_deadline(rec, task.deadline),
                plan_text(task, cal),
                task.weight,
                standing,
                EXPORT_LIGHTS[worst],
                target_label(task.target_value, task.target_unit)
                if task.target_value is not None
                else "",
                task.key_work.weight,
                SCORING_LABELS.get(task.key_work.scoring or "", ""),
            ],
        )
        if rec is None:
            ws.cell(ws.max_row, 6).number_format = 'yyyy"年"m"月"d"日"'
        n += 1
    widths = (6, 14, 40, 14, 28, 14, 36, 6, 40, 8, 10, 8, 8)
    for col, width in zip("ABCDEFGHIJKLM", widths, strict=True):
        ws.column_dimensions[col].width = width
    for row in ws.iter_rows(min_row=3):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    wb.save(path)
    return n
