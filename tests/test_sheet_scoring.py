"""The office's sheet (issue 13): a 计分方式 column (按时 / 按目标 / 综合) sets each key work's
scoring mode, reported in the dry run, audited, exported and read back; a units cell such as
县直有关部门 is refused as a row error, never created as a unit."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from bot.excel.ledger import export_ledger, run_import
from bot.excel.sheet import VAGUE_UNITS
from bot.runtime import Runtime
from models import AuditLog, KeyWork, Unit
from schedules.board import load_facts
from schedules.calendar import WorkCalendar
from schedules.rules import ATTAINMENT, MIX, TIMELINESS, Rules
from schedules.scoring import Fact, score_item
from tests.conftest import County

SQLITE = pytest.mark.parametrize("backend", ["sqlite"])
HEADER = ["序号", "重点工作", "工作任务", "牵头单位", "责任单位", "完成时限", "目标值", "计分方式"]


def sheet(rows: list[list[Any]]) -> io.BytesIO:
    """An office's sheet as they come: a merged title row, then the header."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["XX县2026年度重点工作推进台账"])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADER))
    ws.append(HEADER)
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    return buf


ROWS: list[list[Any]] = [
    [1, "牦牛产业集群", "全年牦牛出栏", "县发改局", "河西乡", "2026年12月31日", "5000头", "按目标"],
    [2, "牦牛产业集群", "新建标准化养殖场", "县发改局", "城关镇", "12月底前", "3个", "按目标"],
    [3, "安全生产", "开展安全生产大检查", "县发改局", "城关镇", "2026年12月20日", "", "综合计分"],
    [4, "河湖长制", "清理河道垃圾", "县发改局", "河西乡", "2026年12月25日", "", ""],
]


@SQLITE
def test_the_scoring_column_sets_modes_reported_audited_and_read_back(
    rt: Runtime, county: County, tmp_path: Path
) -> None:
    dry = run_import(rt, sheet(ROWS), actor="office", year=2026, dry_run=True)
    assert dry.ok, dry.errors
    assert "重点工作 安全生产：计分方式 未设（按配置） → 综合" in dry.updated
    assert "重点工作 牦牛产业集群（新建）：计分方式 按目标" in dry.updated
    with rt.sessions() as s:  # a dry run writes nothing
        assert s.scalar(select(KeyWork.scoring).where(KeyWork.name == "安全生产")) is None
    report = run_import(rt, sheet(ROWS), actor="office", year=2026, dry_run=False)
    assert report.ok, report.errors
    with rt.sessions() as s:
        modes = {n: m for n, m in s.execute(select(KeyWork.name, KeyWork.scoring))}
        assert modes == {"牦牛产业集群": ATTAINMENT, "安全生产": MIX, "河湖长制": None}
        trail = s.scalars(
            select(AuditLog).where(AuditLog.entity == "key_work", AuditLog.actor == "office")
        ).all()
        assert [a.detail.get("scoring") for a in trail] == [[None, MIX]]
        facts = {f.key_work: f.work_scoring for f in load_facts(s, rt.tz)}
        assert facts["牦牛产业集群"] == ATTAINMENT and facts["河湖长制"] is None
        path = tmp_path / "ledger.xlsx"
        export_ledger(s, rt.config, rt.calendar, path, today=rt.today())
    ws = load_workbook(path).active
    assert ws is not None
    header = [c.value for c in ws[2]]
    column = header.index("计分方式") + 1
    written = {ws.cell(r, 3).value: ws.cell(r, column).value for r in range(3, ws.max_row + 1)}
    assert written["全年牦牛出栏"] == "按目标" and written["开展安全生产大检查"] == "综合"
    again = run_import(rt, path, actor="office", year=2026, dry_run=False)
    assert again.ok and again.updated == [], again.updated


@SQLITE
def test_a_changed_mode_is_reported_with_both_words(rt: Runtime, county: County) -> None:
    assert run_import(rt, sheet(ROWS), actor="office", year=2026, dry_run=False).ok
    rows = [[*r[:7], "按时" if r[1] == "牦牛产业集群" else r[7]] for r in ROWS]
    dry = run_import(rt, sheet(rows), actor="office", year=2026, dry_run=True)
    assert "重点工作 牦牛产业集群：计分方式 按目标 → 按时" in dry.updated


@SQLITE
@pytest.mark.parametrize(
    ("second", "message"),
    [
        ("综合", "第 4 行【计分方式】与第 3 行（同一重点工作）不同"),
        ("看情况", "第 4 行【计分方式】无法识别：看情况（请填“按时”“按目标”或“综合”）"),
    ],
)
def test_a_conflicting_or_unknown_mode_is_a_row_error(
    rt: Runtime, county: County, second: str, message: str
) -> None:
    rows = [ROWS[0], [*ROWS[1][:7], second]]
    report = run_import(rt, sheet(rows), actor="office", year=2026, dry_run=True)
    assert message in report.errors


def test_the_sheets_mode_decides_how_an_item_scores() -> None:
    rules, cal = Rules(), WorkCalendar()
    due = dt.date(2026, 11, 20)
    fact = Fact(1, 1, "HXX", 1.0, due, due, key_work="牦牛产业集群", attained=0.5)
    on_time = score_item(fact, due, rules, cal)
    by_target = score_item(Fact(**{**fact.__dict__, "work_scoring": ATTAINMENT}), due, rules, cal)
    same = score_item(Fact(**{**fact.__dict__, "work_scoring": TIMELINESS}), due, rules, cal)
    assert on_time is not None and by_target is not None and same is not None
    assert (on_time.mode, by_target.mode) == (TIMELINESS, ATTAINMENT)
    assert by_target.score == round(rules.score_on_time * 0.5, 2) < on_time.score == same.score


@SQLITE
@pytest.mark.parametrize(
    "cell",
    ["县直有关部门", "各相关单位", "有关部门", "县相关部门、城关镇", "各成员单位", "县直各单位"],
)
def test_a_vague_units_cell_is_refused_never_created(
    rt: Runtime, county: County, cell: str
) -> None:
    rows = [[1, "安全生产", "开展隐患排查", "县发改局", cell, "2026年12月20日", "", ""]]
    report = run_import(rt, sheet(rows), actor="office", year=2026, dry_run=False, add_units=True)
    vague = cell.split("、")[0]
    assert f"第 3 行【责任单位】“{vague}”不是具体单位，请督查室在表中逐一列出责任单位的名称" in (
        report.errors
    )
    assert not report.ok and report.unknown_units == [] and report.added_units == []
    with rt.sessions() as s:
        assert s.scalar(select(Unit).where(Unit.name == vague)) is None


@SQLITE
def test_a_vague_lead_unit_is_refused(rt: Runtime, county: County) -> None:
    rows = [[1, "安全生产", "开展隐患排查", "有关部门", "城关镇", "2026年12月20日", "", ""]]
    report = run_import(rt, sheet(rows), actor="office", year=2026, dry_run=True, add_units=True)
    assert "第 3 行【牵头单位】“有关部门”不是具体单位，请督查室填写牵头单位的名称" in report.errors


@pytest.mark.parametrize(
    "name", ["各乡镇", "各部门", "县应急管理局", "相关村民小组", "成员单位办公室"]
)
def test_groups_and_real_names_are_not_vague(name: str) -> None:
    assert VAGUE_UNITS.match(name) is None


@SQLITE
def test_a_new_key_works_mode_may_stand_on_any_of_its_rows(rt: Runtime, county: County) -> None:
    """The mode written only on a later row of a new key work is the one it gets."""
    rows = [
        [1, "新重点", "任务甲", "县发改局", "河西乡", "2026年12月31日", "", ""],
        [2, "新重点", "任务乙", "县发改局", "城关镇", "2026年12月31日", "", "按目标"],
    ]
    report = run_import(rt, sheet(rows), actor="office", year=2026, dry_run=False)
    assert report.ok, report.errors
    with rt.sessions() as s:
        assert s.scalar(select(KeyWork.scoring).where(KeyWork.name == "新重点")) == ATTAINMENT
