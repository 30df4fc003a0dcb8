"""Hostile workbooks (issue 11): bombs refused before any cell is built, bad values as row
errors, formulas exported as text, and the dashboard's parse in a capped child process.

Every bomb is made here, from a small honest workbook whose XML is then edited: no binary
sheet is kept in the repository.
"""

from __future__ import annotations

import io
import math
import random
import re
import zipfile
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import event, func, select

from bot.config import ExcelConfig, load_config
from bot.excel import ledger as ledger_import
from bot.excel.bounds import read_values
from bot.excel.sheet import Directory, LedgerFileError, UnitRef, parse_rows, parse_sheet
from bot.runtime import Runtime, build_runtime
from models import AuditLog, Task
from schedules.calendar import WorkCalendar
from tests.conftest import County
from tests.factories import HEADER, workbook

CAL = WorkCalendar()
UNITS = Directory((UnitRef(1, "CGZ", "城关镇", "township"),))
GOOD_ROW = [1, "安全生产", "任务甲", "", "城关镇", "2026年9月30日"]


def edited(xml_edit: Any, extra: dict[str, bytes] | None = None) -> io.BytesIO:
    """A one-task ledger whose sheet XML is passed through xml_edit (and extra members
    added): how a hostile file is made without keeping one."""
    src = zipfile.ZipFile(workbook([GOOD_ROW]))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = xml_edit(data.decode()).encode()
            dst.writestr(info.filename, data)
        for name, data in (extra or {}).items():
            dst.writestr(name, data)
    out.seek(0)
    return out


def with_merge(ref: str) -> io.BytesIO:
    return edited(
        lambda x: re.sub(r"<mergeCells[^>]*>", f'<mergeCells count="2"><mergeCell ref="{ref}"/>', x)
    )


def with_far_cell(ref: str, row: int, declared: str | None = None) -> io.BytesIO:
    def edit(x: str) -> str:
        x = x.replace(
            "</sheetData>",
            f'<row r="{row}"><c r="{ref}" t="inlineStr"><is><t>x</t></is></c></row></sheetData>',
        )
        if declared:
            x = re.sub(r'<dimension ref="[^"]*"', f'<dimension ref="{declared}"', x)
        return x

    return edited(edit)


def count(rt: Runtime, model: type) -> int:
    with rt.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_an_honest_sheet_still_reads_with_its_merges() -> None:
    title, rows = read_values(workbook([GOOD_ROW], merges=("B3:B4",)), ExcelConfig())
    assert title == "Sheet"
    assert rows[0][:2] == ["2026年度重点工作任务推进台账"] * 2  # the title merged over A1:H1
    assert rows[2][1] == "安全生产" and len(rows) == 3 and len(rows[1]) == len(HEADER)


@pytest.mark.parametrize(
    ("sheet", "words"),
    [
        # The review's 5 KB file: one cell at row 2000, column 2000 (declared honestly).
        (lambda: with_far_cell("BXX2000", 2000, declared="A1:BXX2000"), "表格声明的范围"),
        # The same cell behind a lying dimension: caught while streaming.
        (lambda: with_far_cell("BXX2000", 2000, declared="A1:H3"), "第 2000 行第 2000 列"),
        (lambda: with_far_cell("A6001", 6001), "第 6001 行第 1 列"),
        # One merged range over the sheet; and a smaller one the old load still built.
        (lambda: with_merge("A3:XFD1048576"), "合并单元格 A3:XFD1048576"),
        (lambda: with_merge("A3:CV6000"), "合并单元格 A3:CV6000"),
        (lambda: with_merge("C:C"), "合并单元格 C:C"),
        # 60 MB of zeros zip to ~60 KB.
        (lambda: edited(lambda x: x, {"xl/media/pad.bin": bytes(60 * 1024 * 1024)}), "解压后"),
    ],
)
def test_workbook_bombs_are_refused_before_cells_are_built(
    rt: Runtime, county: County, sheet: Any, words: str
) -> None:
    before = count(rt, Task)
    with pytest.raises(LedgerFileError, match=re.escape(words)):
        ledger_import.run_import(rt, sheet(), actor="test", year=2026, dry_run=False)
    assert count(rt, Task) == before and count(rt, AuditLog) == 0


def test_limits_are_config_keys(engine: Any, clock: Any, db_url: str, county: County) -> None:
    cfg = load_config(
        environ={"DUBAN_EXCEL__MAX_ROWS": "3", "DUBAN_EXCEL__MAX_UPLOAD_BYTES": "100000"},
        overrides={"database": {"url": db_url}},
    )
    rt = build_runtime(cfg, clock=clock, engine=engine)
    sheet = workbook([GOOD_ROW, [2, "安全生产", "任务乙", "", "城关镇", "2026年9月30日"]])
    with pytest.raises(LedgerFileError, match="最多 3 行"):
        ledger_import.run_import(rt, sheet, actor="t", year=2026, dry_run=True)
    big = edited(lambda x: x, {"xl/media/noise.bin": random.Random(0).randbytes(200_000)})
    with pytest.raises(LedgerFileError, match=r"excel\.max_upload_bytes"):
        ledger_import.run_import(rt, big, actor="t", year=2026, dry_run=True)


def test_a_dtd_in_the_sheet_is_refused_not_expanded() -> None:
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
    )
    sheet = edited(lambda x: laughs + x)
    with pytest.raises(LedgerFileError, match="无法读取"):
        parse_sheet(sheet, UNITS, CAL, 2026)


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        ({7: "nan"}, "第 2 行【分值】不是有效的数：nan"),
        ({7: "inf"}, "第 2 行【分值】不是有效的数：inf"),
        ({7: float("nan")}, "第 2 行【分值】不是有效的数：nan"),
        ({7: "1e999"}, "第 2 行【分值】不是有效的数：1e999"),
        ({7: 5000}, "第 2 行【分值】过大：5000（最大 1000）"),
        ({0: "12345678901234567890"}, "第 2 行【序号】过大：12345678901234567890"),
        ({0: 1e19}, "第 2 行【序号】过大：10000000000000000000"),
        ({2: "长" * 32768}, "第 2 行【任务内容】超过 Excel 单元格上限 32767 个字符"),
    ],
)
def test_bad_values_are_row_errors(cells: dict[int, Any], message: str) -> None:
    row = [*GOOD_ROW, "", 1]
    for j, value in cells.items():
        row[j] = value
    result = parse_rows("台账", [HEADER, row], UNITS, CAL, 2026)
    assert result.errors and str(result.errors[0]).startswith(message) and not result.tasks


def test_a_bad_weight_never_reaches_the_database(rt: Runtime, county: County) -> None:
    before = count(rt, Task)
    report = ledger_import.run_import(
        rt,
        workbook([[9, "安全生产", "任务", "", "城关镇", "9月底", "", "inf"]]),
        actor="t",
        year=2026,
        dry_run=False,
    )
    assert report.errors == ["第 3 行【分值】不是有效的数：inf"] and count(rt, Task) == before
    with rt.sessions() as s:
        assert all(math.isfinite(w) for w in s.scalars(select(Task.weight)))


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_dry_run_sends_no_write_to_the_database(rt: Runtime, county: County) -> None:
    """Structural form of 'an import never keeps callbacks waiting': a dry run takes no
    write lock at all (SQLite would otherwise hold it while every row is applied)."""
    from tests.factories import office_sheet

    ledger_import.run_import(rt, office_sheet(), actor="t", year=2026, dry_run=False)
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement.split()[0].upper())

    event.listen(rt.engine, "before_cursor_execute", seen)
    try:
        changed = workbook([[9, "安全生产", "新任务", "", "城关镇", "9月底"]])
        report = ledger_import.run_import(rt, changed, actor="t", year=2026, dry_run=True)
    finally:
        event.remove(rt.engine, "before_cursor_execute", seen)
    assert report.ok and len(report.created) == 1
    assert statements and set(statements) == {"SELECT"}, statements


def supervisor_client(rt: Runtime) -> tuple[Any, str]:
    from bot.app import create_app
    from bot.web.auth import create_account

    with rt.sessions() as s:
        create_account(s, "duchashi", "correct horse battery", member_userid="dcs_sup")
        s.commit()
    client = create_app(runtime=rt, TESTING=True).test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert token
    data = {"username": "duchashi", "password": "correct horse battery", "csrf_token": token[1]}
    assert client.post("/login", data=data).status_code == 302
    page = client.get("/ledger/import").text
    return client, re.search(r'name="csrf_token" value="([^"]+)"', page)[1]  # type: ignore[index]


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize(
    ("budget", "words"),
    [
        ({"parse_timeout_seconds": 0.001}, "读取超时"),
        # 16 MB of text in 60 MB of address space: the child fails, the server does not.
        ({"parse_memory_mb": 60}, "超出内存上限（60 MB"),
    ],
)
def test_the_dashboard_parses_in_a_capped_child(
    engine: Any, clock: Any, db_url: str, budget: dict[str, Any], words: str
) -> None:
    from tests.factories import build_county

    cfg = load_config(environ={}, overrides={"database": {"url": db_url}, "excel": budget})
    rt = build_runtime(cfg, clock=clock, engine=engine)
    with rt.sessions() as s:
        build_county(s, today=rt.today())
        s.commit()
    client, token = supervisor_client(rt)
    before = count(rt, Task)
    text = "长" * 2000
    rows = [[i, "安全生产", f"任务{i}{text}", "", "城关镇", "9月底"] for i in range(1, 4001)]
    r = client.post(
        "/ledger/import",
        data={"csrf_token": token, "year": "2026", "file": (workbook(rows), "台账.xlsx")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 400 and words in r.text, r.text
    assert count(rt, Task) == before


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_bomb_on_the_dashboard_is_a_clear_400(rt: Runtime, county: County) -> None:
    client, token = supervisor_client(rt)
    r = client.post(
        "/ledger/import",
        data={
            "csrf_token": token,
            "dry_run": "1",
            "year": "2026",
            "file": (with_merge("A3:XFD1048576"), "台账.xlsx"),
        },
        content_type="multipart/form-data",
    )
    assert r.status_code == 400 and "合并单元格 A3:XFD1048576 超出上限" in r.text


FORMULAS = ['=HYPERLINK("http://evil.example/","点此查看")', "=cmd|' /C calc'!A0", "=1+1"]


def text_sheet(rows: list[list[Any]]) -> io.BytesIO:
    """A ledger whose "=…" cells are text cells, as Excel stores what an official typed
    after an apostrophe (the factory would make them formulas)."""
    wb = load_workbook(workbook(rows))
    ws = wb.active
    assert ws is not None
    for row in ws.iter_rows():
        for cell in row:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    return buf


def test_exported_text_never_becomes_a_formula_and_imports_back(
    rt: Runtime, county: County, tmp_path: Any
) -> None:
    rows = [[20 + i, "安全生产", f, "", "城关镇", "9月底"] for i, f in enumerate(FORMULAS)]
    report = ledger_import.run_import(rt, text_sheet(rows), actor="t", year=2026, dry_run=False)
    assert report.ok and len(report.created) == 3, report.errors
    path = tmp_path / "out.xlsx"
    with rt.sessions() as s:
        ledger_import.export_ledger(s, rt.config, rt.calendar, path, today=rt.today())
    ws = load_workbook(path).active  # formulas as written, not cached values
    assert ws is not None
    contents = {c.value: c.data_type for c in ws["C"] if c.value in FORMULAS}
    assert contents == dict.fromkeys(FORMULAS, "s")
    again = ledger_import.run_import(rt, path, actor="t", year=2026, dry_run=False)
    assert again.ok and (again.created, again.updated) == ([], []), again.errors


def test_the_ranking_sheet_writes_unit_names_as_text(tmp_path: Any) -> None:
    from openpyxl import Workbook

    from bot.excel.cells import append_text_safe

    ws = Workbook().active
    assert ws is not None
    append_text_safe(ws, ["=SUM(1)", 3, "a\x07b", "@x"])
    assert [c.data_type for c in ws[1]] == ["s", "n", "s", "s"]
    assert ws["C1"].value == "ab"  # a control character XML cannot carry: dropped
