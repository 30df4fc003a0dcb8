"""The office's own sheet: recurring duties, targets, undated 关键节点, units the bot does not
know yet and units written two ways. Every sheet here is made by the test code, as offices
make them: a merged title row, section rows, merged key-work cells, mixed separators and
Chinese dates."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from click.testing import CliRunner
from openpyxl import Workbook
from sqlalchemy import func, select

from bot.excel.duties import read_duty, read_target, spread_plan, unit_kind
from bot.excel.ledger import export_ledger, load_aliases, run_import, save_aliases
from bot.runtime import Runtime
from models import Assignment, Task, Unit
from schedules.recurrence import DEFAULT_SEASONS, Recurrence
from tests.conftest import County

HEADER = [
    "序 号",
    "重点工作",
    "工作任务",
    "牵头单位",
    "责任单位",
    "完成时限",
    "关键节点",
    "权重",
    "目标值",
    "重点工作权重",
]
PLANS = {"生态环境保护": ({"name": "排查", "offset": 20}, {"name": "整改", "offset": 5})}


def office_workbook(
    extra: list[list[Any]] = (),  # type: ignore[assignment]
    unit_sheet: list[list[Any]] | None = None,
) -> io.BytesIO:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "2026年重点工作"
    ws.append(["XX县2026年度九项重点工作任务推进台账"])
    ws.merge_cells("A1:J1")
    ws.append(["填报单位：县委县政府督查室", None, None, None, None, "填报时间：2026年11月20日"])
    ws.append(HEADER)
    rows: list[list[Any]] = [
        ["一、河湖长制"],
        [
            1,
            "河湖长制",
            "各乡镇河长每月巡河不少于2次",
            "县发改局",
            "城关镇、河西乡",
            "长期",
            "",
            None,
            None,
            2,
        ],
        ["二、防汛抗旱"],
        [1, "防汛抗旱", "汛期每日报送雨水情", "县水利局", "县水利局", "汛期每日"],
        ["三、森林草原防灭火"],
        [1, "森林草原防灭火", "开展野外火源巡查", "县林草局", "县林草局，南坝镇", "森林防火期每周"],
        ["四、牦牛产业集群"],
        [
            1,
            "牦牛产业集群",
            "全年牦牛出栏",
            "县发改局",
            "河西乡",
            "2026年12月31日",
            "完成春季出栏；完成秋季出栏",
            2,
            "5000头",
            "2.5",
        ],
        ["五、一网通办"],
        [
            1,
            "一网通办",
            "政务服务办件满意度",
            "县应急局",
            "县应急局 / 城关镇",
            "12月底前",
            "",
            1.5,
            "≥98%",
        ],
        ["六、安全生产"],
        [1, "安全生产", "开展安全生产大检查", "", "县应急管理局；城关镇", "每季度"],
        [2, None, "整治燃气隐患", "", "城关镇", "2026年12月15日"],
        ["七、生态环境保护"],
        [1, None, "开展大气污染防治", "县发改局", "河西乡", "12月底", "完成排查；完成整改"],
        *extra,
        # What offices put under the table: a remark and the signatures.
        ["备注：本表由县委县政府督查室汇总，每月25日前更新"],
        ["填表人：王五", None, None, "审核人：李四"],
    ]
    for row in rows:
        ws.append(row)
    for r in range(4, 4 + len(rows)):  # section rows span the sheet, as offices merge them
        if ws.cell(r, 2).value is None and ws.cell(r, 3).value is None:
            ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=10)
    # 重点工作 merged down over the 安全生产 rows, as sheets group tasks under their key work.
    ws.merge_cells("B15:B16")
    if unit_sheet is not None:  # a second sheet listing units and their kinds
        units = wb.create_sheet("单位")
        units.append(["单位名称", "类型"])
        for row in unit_sheet:
            units.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    return buf


@pytest.fixture
def office(rt: Runtime, county: County) -> Runtime:
    """The test county plus 县应急管理局, which the sheet also calls 县应急局; and a
    `[plans]` template for 生态环境保护."""
    with rt.sessions() as s:
        s.add(Unit(code="YJJ", name="县应急管理局", kind="department", webhook_keys=[]))
        save_aliases(s, {"县应急局": "县应急管理局"})
        s.commit()
    rules = dataclasses.replace(rt.config.rules, plans=MappingProxyType(PLANS))
    rt.config = dataclasses.replace(rt.config, rules=rules)
    return rt


def count(rt: Runtime, model: type) -> int:
    with rt.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def imported(rt: Runtime, **kw: Any) -> Any:
    kw.setdefault("dry_run", False)
    return run_import(rt, office_workbook(kw.pop("extra", [])), actor="test", year=2026, **kw)


def test_dry_run_lists_unknown_units_aliases_and_how_duties_were_read(office: Runtime) -> None:
    units, tasks = count(office, Unit), count(office, Task)
    dry = imported(office, dry_run=True)
    assert not dry.ok
    assert dry.unknown_units == ["县水利局（部门）", "县林草局（部门）", "南坝镇（乡镇）"]
    assert "县应急局 → 县应急管理局（别名）" in dry.aliases
    assert any("--add-units" in n for n in dry.notes)
    dry = imported(office, dry_run=True, add_units=True)
    assert dry.ok, dry.errors
    assert len(dry.added_units) == 3 and len(dry.created) == 8
    duties = "\n".join(dry.duties)
    assert "“长期”、内容“每月…2次” → 每月不少于2次；下次：2026年11月，11月30日截止" in duties
    assert "“汛期每日” → 汛期每日；下次：2027年6月1日，2027年6月1日截止" in duties
    assert "“森林防火期每周” → 森林防火期每周" in duties
    assert (
        "“每季度” → 每季度（未写频次" not in duties
        and "“每季度” → 每季度；下次：2026年第四季度" in duties
    )
    # A dry run writes nothing, not even the units it would add.
    assert (count(office, Unit), count(office, Task)) == (units, tasks)


def test_import_with_add_units_then_export_and_reimport_unchanged(
    office: Runtime, tmp_path: Path
) -> None:
    report = imported(office, add_units=True)
    assert report.ok, report.errors
    with office.sessions() as s:
        new = {u.name: u.kind for u in s.scalars(select(Unit).where(Unit.code.like("U%")))}
        assert new == {"县水利局": "department", "县林草局": "department", "南坝镇": "township"}
        tasks = {t.content: t for t in s.scalars(select(Task))}
        patrol = tasks["各乡镇河长每月巡河不少于2次"]
        assert patrol.recurrence == {"every": "month", "times": 2, "season": None}
        # 重点工作权重: 河湖长制 moved from 1.5 to 2, 牦牛产业集群 created with 2.5.
        assert (patrol.key_work.weight, tasks["全年牦牛出栏"].key_work.weight) == (2, 2.5)
        assert "重点工作 河湖长制：权重 1.5 → 2" in report.updated
        rows = sorted((a.unit.code, a.period, a.period_deadline) for a in patrol.assignments)
        assert rows == [
            ("CGZ", "2026-11", dt.date(2026, 11, 30)),
            ("HXX", "2026-11", dt.date(2026, 11, 30)),
        ]
        flood = tasks["汛期每日报送雨水情"]
        assert flood.recurrence == {"every": "day", "times": 1, "season": "汛期"}
        assert [a.period for a in flood.assignments] == ["2027-06-01"]
        yak = tasks["全年牦牛出栏"]
        assert (yak.target_value, yak.target_unit, yak.weight) == (5000, "头", 2)
        # Undated 关键节点 without a template: five workdays apart, back from the deadline.
        assert yak.plan == [
            {"name": "完成春季出栏", "offset": 10},
            {"name": "完成秋季出栏", "offset": 5},
        ]
        air = tasks["开展大气污染防治"]  # with the [plans] template of 生态环境保护
        assert air.plan == [{"name": "完成排查", "offset": 20}, {"name": "完成整改", "offset": 5}]
        ywtb = tasks["政务服务办件满意度"]
        assert (ywtb.target_value, ywtb.target_unit) == (98, "%")
        assert {a.unit.name for a in ywtb.assignments} == {"县应急管理局", "城关镇"}
        n_tasks = len(tasks)
    path = tmp_path / "ledger.xlsx"
    with office.sessions() as s:
        assert (
            export_ledger(s, office.config, office.calendar, path, today=office.today()) == n_tasks
        )
    rows_before = count(office, Assignment)
    again = run_import(office, path, actor="test", year=2026, dry_run=False)
    assert again.ok, again.errors
    assert (again.created, again.updated, again.unknown_units) == ([], [], [])
    assert again.unchanged == n_tasks
    assert count(office, Assignment) == rows_before  # no occurrence made twice
    # The office's own sheet once more: nothing new either.
    assert imported(office).unchanged == 8


def test_a_duplicate_number_in_one_key_work_is_refused_naming_both_rows(office: Runtime) -> None:
    extra = [[1, None, "整治黑臭水体", "", "河西乡", "10月31日"]]  # under section 七
    report = imported(office, add_units=True, extra=extra)
    assert not report.ok
    assert "第 19 行【序号】1 与第 18 行重复（同一重点工作下）" in report.errors


@pytest.mark.parametrize(
    ("deadline", "content", "label", "times"),
    [
        ("长期", "每月巡河不少于2次", "每月不少于2次", 2),
        ("每月", "报送进展", "每月", 1),
        ("每季度", "开展检查", "每季度", 1),
        ("汛期每日", "报送雨情", "汛期每日", 1),
        ("常态化", "疫情防控", "每月", 1),
        ("2026年12月31日前", "每周巡查不少于三次", "每周不少于3次", 3),
        ("每月不少于2次", "巡河", "每月不少于2次", 2),
    ],
)
def test_recurring_deadlines_are_read(deadline: str, content: str, label: str, times: int) -> None:
    duty = read_duty(deadline, content, DEFAULT_SEASONS)
    assert duty is not None and duty.recurrence.times == times
    from bot.excel.duties import duty_label

    assert duty_label(duty.recurrence) == label
    # What the export writes reads back as the same rule.
    again = read_duty(label, content, DEFAULT_SEASONS)
    assert again is not None and again.recurrence == duty.recurrence


@pytest.mark.parametrize("deadline", ["2026年9月30日", "9月底", "长期坚持，12月底前见效", ""])
def test_dated_tasks_are_not_duties(deadline: str) -> None:
    assert read_duty(deadline, "开展整治", DEFAULT_SEASONS) is None


def test_targets_kinds_and_spreading() -> None:
    assert read_target("5000头") == (5000, "头")
    assert read_target("≥98%") == (98, "%")
    assert read_target("不低于 98.5%") == (98.5, "%")
    assert read_target("") is None
    with pytest.raises(ValueError):
        read_target("尽量多")
    assert unit_kind("南坝镇") == "township" and unit_kind("河西乡人民政府") == "township"
    assert unit_kind("县林草局") == "department"
    template = [{"name": "x", "offset": 10}, {"name": "y", "offset": 3}]
    assert [m["offset"] for m in spread_plan(["a", "b", "c"], template)] == [15, 10, 3]
    assert Recurrence.from_json({"every": "month"}).times == 1


def test_aliases_through_the_cli(office: Runtime, db_url: str, tmp_path: Path) -> None:
    from bot.cli import cli

    env = {"DUBAN_DATABASE__URL": db_url}
    runner = CliRunner()
    r = runner.invoke(cli, ["alias", "add", "县林草局", "县应急管理局"], env=env)
    assert r.exit_code == 0 and "县林草局 → 县应急管理局" in r.output
    r = runner.invoke(cli, ["alias", "list"], env=env)
    assert "县应急局 → 县应急管理局" in r.output and "县林草局 → 县应急管理局" in r.output
    r = runner.invoke(cli, ["alias", "remove", "县林草局"], env=env)
    assert r.exit_code == 0
    r = runner.invoke(cli, ["alias", "add", "县水务局", "火星局"], env=env)
    assert r.exit_code == 1 and "未登记的单位：火星局" in r.output
    with office.sessions() as s:
        assert load_aliases(s) == {"县应急局": "县应急管理局"}
    sheet = tmp_path / "office.xlsx"
    sheet.write_bytes(office_workbook().getvalue())
    r = runner.invoke(cli, ["ledger-import", "--dry-run", "--add-units", str(sheet)], env=env)
    assert r.exit_code == 0, r.output
    assert (
        "新建单位 南坝镇（乡镇" in r.output and "单位名 县应急局 → 县应急管理局（别名）" in r.output
    )
    assert "↻ 第 5 行" in r.output


@pytest.mark.parametrize(
    ("text", "deadline"),
    [
        ("全年", dt.date(2026, 12, 31)),
        ("2026年12月", dt.date(2026, 12, 31)),
        ("三季度末", dt.date(2026, 9, 30)),
        ("上半年", dt.date(2026, 6, 30)),
        ("10月中旬", dt.date(2026, 10, 20)),
        ("6-9月", dt.date(2026, 9, 30)),
        ("2月", dt.date(2026, 2, 28)),
        ("12.31", dt.date(2026, 12, 31)),
        ("即时办理", None),
    ],
)
def test_deadlines_without_a_day_read_as_the_last_day_they_allow(
    text: str, deadline: dt.date | None
) -> None:
    from bot.excel.duties import loose_deadline

    assert loose_deadline(text, 2026) == deadline
    assert read_duty(text, "开展整治", DEFAULT_SEASONS) is None  # dated, not recurring


def test_role_notes_beside_unit_names_are_not_part_of_them(office: Runtime) -> None:
    extra = [
        [
            2,
            None,
            "整治黑臭水体",
            "县发改局（牵头），县财政局",
            "河西乡（牵头）、城关镇等",
            "2026年6月—9月",
        ]
    ]
    report = imported(office, add_units=True, extra=extra)
    assert report.ok, report.errors
    assert "县财政局（部门）" not in report.unknown_units  # only the lead's first unit counts
    with office.sessions() as s:
        task = s.scalar(select(Task).where(Task.content == "整治黑臭水体"))
        assert task is not None and task.deadline == dt.date(2026, 9, 30)
        assert task.lead_unit is not None and task.lead_unit.name == "县发改局"
        assert {a.unit.name for a in task.assignments} == {"河西乡", "城关镇"}


def test_the_dashboard_dry_run_shows_units_aliases_and_duties(office: Runtime) -> None:
    import re

    from bot.app import create_app
    from bot.web.auth import create_account

    with office.sessions() as s:
        create_account(s, "duchashi", "correct horse battery", member_userid="dcs_sup")
        s.commit()
    client = create_app(runtime=office, TESTING=True).test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert token
    data = {"username": "duchashi", "password": "correct horse battery", "csrf_token": token[1]}
    assert client.post("/login", data=data).status_code == 302
    page = client.get("/ledger/import").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    form = {"csrf_token": token[1], "dry_run": "1", "year": "2026"}
    r = client.post("/ledger/import", data={**form, "file": (office_workbook(), "台账.xlsx")})
    assert r.status_code == 422 and "未登记的单位" in r.text and "南坝镇（乡镇）" in r.text
    form["add_units"] = "1"
    r = client.post("/ledger/import", data={**form, "file": (office_workbook(), "台账.xlsx")})
    assert r.status_code == 200, r.text
    assert "新建单位" in r.text and "县应急局 → 县应急管理局（别名）" in r.text
    assert "常态化工作" in r.text and "每月不少于2次" in r.text
    assert count(office, Task) == 5  # a dry run: the county's own five tasks only


def test_a_units_sheet_gives_the_kind_of_new_units(office: Runtime) -> None:
    extra = [[2, None, "开展湿地保护巡查", "", "黄河源管委会", "12月底"]]
    sheet = office_workbook(extra, unit_sheet=[["黄河源管委会", "乡镇"], ["县林草局", "部门"]])
    dry = run_import(office, sheet, actor="test", year=2026, dry_run=True)
    assert "黄河源管委会（乡镇）" in dry.unknown_units  # by its name alone: a department
    sheet.seek(0)
    report = run_import(office, sheet, actor="test", year=2026, dry_run=False, add_units=True)
    assert report.ok, report.errors
    with office.sessions() as s:
        assert s.scalar(select(Unit.kind).where(Unit.name == "黄河源管委会")) == "township"
