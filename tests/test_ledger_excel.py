"""Ledger (台账) Excel import and export: real sheets' quirks, row errors, all or nothing,
re-import, the round trip, and the same through the CLI and the dashboard."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from bot.excel import ledger as ledger_import
from bot.excel.ledger import export_ledger
from bot.excel.sheet import Directory, LedgerFileError, UnitRef, parse_rows
from bot.runtime import Runtime
from handlers.dates import ledger_dates
from models import AuditLog, Task, Unit
from schedules.calendar import WorkCalendar
from tests.conftest import County
from tests.factories import HEADER, OFFICE_SHEET, office_sheet, workbook

D = dt.date
CAL = WorkCalendar()


def tasks_by_content(rt: Runtime) -> dict[str, Task]:
    with rt.sessions() as s:
        tasks = s.scalars(select(Task)).unique().all()
        for t in tasks:
            _ = t.key_work.name, [a.unit.code for a in t.assignments]
        return {t.content: t for t in tasks}


def count(rt: Runtime, model: type) -> int:
    with rt.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def run_import(rt: Runtime, source: Any, *, dry_run: bool = False, year: int = 2026) -> Any:
    return ledger_import.run_import(rt, source, actor="test", year=year, dry_run=dry_run)


def test_an_office_sheet_imports_with_its_quirks(rt: Runtime, county: County) -> None:
    before = count(rt, Task)
    report = run_import(rt, office_sheet())
    assert report.ok, report.errors
    assert len(report.created) == 4 and count(rt, Task) == before + 4
    tasks = tasks_by_content(rt)
    river = tasks["建立河长巡河制度"]  # stray spaces gone
    assert river.key_work.name == "河湖长制"  # from the section row "一、河湖长制"
    assert river.deadline == D(2026, 9, 30) and river.weight == 2.0  # "9月底"
    assert sorted(a.unit.code for a in river.assignments) == ["CGZ", "HXX"]
    clean = tasks["清理河道四乱"]
    assert sorted(a.unit.code for a in clean.assignments) == ["CGZ", "HXX"]  # 各乡镇
    assert clean.deadline == D(2026, 12, 31)
    # The earlier date in the deadline cell becomes a milestone.
    assert clean.plan == [
        {"name": "完成排查", "offset": CAL.workdays_between(D(2026, 6, 30), D(2026, 12, 31))}
    ]
    gas = tasks["开展燃气安全专项整治"]
    assert gas.key_work.name == "安全生产" and gas.weight == 1.5 and gas.lead_unit_id is None
    # 9月30日 → 12 Oct 2026: National Day off 1–7 Oct; 8, 9, 10 (a 调休 Saturday) and 12 Oct
    # are workdays, so the milestone is 4 workdays before the deadline.
    assert gas.plan == [{"name": "完成方案", "offset": 4}, {"name": "验收", "offset": 1}]
    house = tasks["排查自建房安全隐患"]
    assert house.key_work.name == "安全生产"  # the merged cell carries down
    assert [a.unit.code for a in house.assignments] == ["CGZ"]  # 城关镇人民政府
    with rt.sessions() as s:
        assert s.scalar(select(func.count()).where(AuditLog.action == "import_create")) == 4


def test_one_bad_row_and_nothing_is_written(rt: Runtime, county: County) -> None:
    rows = [
        *OFFICE_SHEET,
        [5, "安全生产", "", "县发改局", "城关镇", "10月1日"],
        [6, "安全生产", "整治违规用电", "火星局", "城关镇、月亮乡", "尽快", "", "x"],
        [7, "安全生产", "开展燃气安全专项整治", "", "县发改局", "2026-10-12"],
    ]
    before = count(rt, Task)
    report = run_import(rt, workbook(rows))
    assert not report.ok and count(rt, Task) == before
    assert "第 8 行【任务内容】为空" in report.errors
    assert "第 9 行【责任单位】未知单位：月亮乡" in report.errors
    assert "第 9 行【牵头单位】未知单位：火星局" in report.errors
    # (长期坚持 is a recurring duty now: tests/test_sheet_duties.py)
    assert any(e.startswith("第 9 行【完成时限】无法识别日期：尽快") for e in report.errors)
    assert "第 9 行【分值】不是数字：x" in report.errors
    assert any(e.startswith("第 10 行【任务内容】与第 6 行重复") for e in report.errors)


def test_dry_run_then_import_then_reimport(rt: Runtime, county: County) -> None:
    before = count(rt, Task)
    dry = run_import(rt, office_sheet(), dry_run=True)
    assert dry.ok and len(dry.created) == 4 and count(rt, Task) == before
    assert len(run_import(rt, office_sheet()).created) == 4
    again = run_import(rt, office_sheet())
    assert (again.created, again.updated, again.unchanged) == ([], [], 4)  # idempotent
    # The office moves a deadline, adds a unit and drops one.
    rows = [list(r) for r in OFFICE_SHEET]
    rows[1][5] = "10月15日"
    rows[1][4] = "城关镇、县发改局"
    changed = run_import(rt, workbook(rows, merges=("A3:H3", "B6:B7")))
    assert changed.ok and changed.unchanged == 3
    (line,) = changed.updated
    assert "完成时限 2026-09-30 → 2026-10-15" in line and "新增责任单位 县发改局" in line
    assert any("河西乡" in n and "保留" in n for n in changed.notes)
    river = tasks_by_content(rt)["建立河长巡河制度"]
    assert river.deadline == D(2026, 10, 15)
    assert sorted(a.unit.code for a in river.assignments) == ["CGZ", "FGJ", "HXX"]


def test_export_imports_back_unchanged(rt: Runtime, county: County, tmp_path: Path) -> None:
    run_import(rt, office_sheet())
    path = tmp_path / "ledger.xlsx"
    with rt.sessions() as s:
        n = export_ledger(s, rt.config, rt.calendar, path, today=rt.today())
    assert n == count(rt, Task)
    ws = load_workbook(path).active
    assert ws is not None
    assert [c.value for c in ws[2]][:8] == [
        "序号",
        "重点工作",
        "任务内容",
        "牵头单位",
        "责任单位",
        "完成时限",
        "关键节点",
        "分值",
    ]
    gas = next(
        r for r in ws.iter_rows(min_row=3, values_only=True) if r[2] == "开展燃气安全专项整治"
    )
    # One workday before Monday 12 Oct is the 调休 Saturday, 10 Oct.
    assert gas[6] == "完成方案（前4个工作日，9月30日）；验收（前1个工作日，10月10日）"
    report = run_import(rt, path)
    assert report.ok and (report.created, report.updated) == ([], [])
    assert report.unchanged == n


def test_files_that_are_not_a_ledger_are_refused(rt: Runtime, county: County) -> None:
    with pytest.raises(LedgerFileError, match="无法读取"):
        run_import(rt, io.BytesIO(b"not a workbook"))
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["姓名", "电话"])
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    with pytest.raises(LedgerFileError, match="表头"):
        run_import(rt, buf)


def test_parse_is_pure_and_checks_milestones_against_the_deadline() -> None:
    units = Directory((UnitRef(1, "CGZ", "城关镇", "township"),))
    rows = [
        HEADER,
        [1, "安全生产", "任务甲", "", "CGZ", "2026年9月30日", "10月15日前验收"],
        [2, "安全生产", "任务乙", "", "城关镇", "2026年9月30日", "前0个工作日验收"],
        [3, "安全生产", "任务丙", "", "城关镇", "2026年9月30日", "尽快"],
    ]
    result = parse_rows("台账", rows, units, CAL, 2026)
    assert [str(e) for e in result.errors] == [
        "第 2 行【关键节点】节点 2026-10-15 不早于完成时限 2026-09-30",
        "第 3 行【关键节点】“前0个工作日验收”：工作日数须大于 0",
        "第 4 行【关键节点】“尽快”：没有日期，也没有“前N个工作日”",
    ]


@given(st.dates(D(2024, 1, 1), D(2026, 12, 31)))
def test_ledger_dates_read_what_offices_write(day: dt.date) -> None:
    assert ledger_dates(f"{day.year}年{day.month}月{day.day}日", 2000) == [
        (day, (0, len(f"{day.year}年{day.month}月{day.day}日")))
    ]
    assert ledger_dates(f"{day.month}月{day.day}日前完成", day.year)[0][0] == day
    end = ledger_dates(f"{day.month}月底", day.year)[0][0]
    assert end.month == day.month and (end + dt.timedelta(days=1)).day == 1


@given(
    st.dates(D(2025, 1, 1), D(2026, 12, 31)),
    st.integers(min_value=1, max_value=60),
)
def test_a_milestone_date_reads_back_as_its_offset(deadline: dt.date, offset: int) -> None:
    """What the export writes beside an offset (its date) means the same offset on import,
    across holidays and 调休 weekends."""
    anchor = CAL.previous_workday_or_same(deadline)
    when = CAL.add_workdays(anchor, -offset)
    units = Directory((UnitRef(1, "CGZ", "城关镇", "township"),))
    rows = [
        HEADER,
        [
            1,
            "安全生产",
            "任务",
            "",
            "城关镇",
            deadline,
            f"{when.year}年{when.month}月{when.day}日前验收",
        ],
    ]
    result = parse_rows("台账", rows, units, CAL, deadline.year)
    assert not result.errors and result.tasks[0].plan == ({"name": "验收", "offset": offset},)


def test_cli_import_is_all_or_nothing_with_exit_codes(
    rt: Runtime, county: County, db_url: str, tmp_path: Path
) -> None:
    from bot.cli import cli

    good, bad = tmp_path / "good.xlsx", tmp_path / "bad.xlsx"
    good.write_bytes(office_sheet().getvalue())
    bad.write_bytes(workbook([[1, "安全生产", "任务", "", "月亮乡", "9月底"]]).getvalue())
    env = {"DUBAN_DATABASE__URL": db_url}
    runner = CliRunner()
    r = runner.invoke(cli, ["ledger-import", "--dry-run", str(good)], env=env)
    assert r.exit_code == 0 and "试导入（未写入）：新增 4 项" in r.output
    r = runner.invoke(cli, ["ledger-import", str(bad)], env=env)
    assert r.exit_code == 1 and "第 3 行【责任单位】未知单位：月亮乡" in r.output
    before = count(rt, Task)
    r = runner.invoke(cli, ["ledger-import", "--json", str(good)], env=env)
    assert r.exit_code == 0 and '"created"' in r.output and count(rt, Task) == before + 4
    out = tmp_path / "out.xlsx"
    r = runner.invoke(cli, ["ledger-export", str(out)], env=env)
    assert r.exit_code == 0 and f"已导出 {before + 4} 项任务" in r.output


def test_dashboard_export_and_import(rt: Runtime, county: County) -> None:
    from bot.app import create_app
    from bot.web.auth import create_account

    with rt.sessions() as s:
        create_account(s, "duchashi", "correct horse battery", member_userid="dcs_sup")
        create_account(s, "cgz", "correct horse battery", member_userid="cgz_liaison")
        s.commit()
    app = create_app(runtime=rt, TESTING=True)

    def login(name: str) -> Any:
        client = app.test_client()
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
        assert token
        data = {"username": name, "password": "correct horse battery", "csrf_token": token[1]}
        assert client.post("/login", data=data).status_code == 302
        return client

    liaison = login("cgz")
    r = liaison.get("/ledger/export.xlsx")
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    assert load_workbook(io.BytesIO(r.data)).active is not None
    assert liaison.get("/ledger/import").status_code == 403  # a liaison reads, never imports
    supervisor = login("duchashi")
    page = supervisor.get("/ledger/import").text  # the session's token, renewed at login
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]  # type: ignore[index]
    before = count(rt, Task)
    form = {"csrf_token": token, "dry_run": "1", "year": "2026"}
    r = supervisor.post(
        "/ledger/import",
        data={**form, "file": (office_sheet(), "台账.xlsx")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 200 and "试导入结果（未写入）：新增 4 项" in r.text
    assert count(rt, Task) == before
    del form["dry_run"]
    r = supervisor.post(
        "/ledger/import",
        data={**form, "file": (office_sheet(), "台账.xlsx")},
        content_type="multipart/form-data",
    )
    assert (
        r.status_code == 200 and "导入完成：新增 4 项" in r.text and count(rt, Task) == before + 4
    )
    r = supervisor.post(
        "/ledger/import",
        data={
            **form,
            "file": (workbook([[9, "安全生产", "任务", "", "月亮乡", "9月底"]]), "x.xlsx"),
        },
        content_type="multipart/form-data",
    )
    assert r.status_code == 422 and "第 3 行【责任单位】未知单位：月亮乡" in r.text
    r = supervisor.post(
        "/ledger/import",
        data={"year": "2026", "file": (office_sheet(), "台账.xlsx")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 400  # no CSRF token
    with rt.sessions() as s:
        assert s.scalar(select(func.count()).where(Unit.code == "CGZ")) == 1
