"""The 通报: a Word document whose tables say what `duban rank --json` says."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner
from docx import Document
from docx.oxml.ns import qn
from sqlalchemy import select

from bot.cli.rank import rank
from bot.cli.report import report
from bot.runtime import Runtime
from models import Assignment, Task
from tests.conftest import County
from tests.factories import two_published_weeks


def run(rt: Runtime, command: Any, *args: str) -> str:
    out = CliRunner().invoke(command, list(args), obj=SimpleNamespace(runtime=rt))
    assert out.exit_code == 0, out.output
    return out.stdout


def unit_tables(doc: Any) -> list[list[tuple[str, ...]]]:
    return [
        [tuple(c.text for c in row.cells) for row in t.rows[1:]]
        for t in doc.tables
        if t.rows[0].cells[0].text == "名次"
    ]


@pytest.mark.parametrize(
    "period",
    [
        ("--from", "2026-11-16", "--to", "2026-11-22"),  # published: as published
        ("--from", "2026-11-01", "--to", "2026-11-30"),  # computed as of today
        ("--period", "week"),  # the open week: nothing due yet
    ],
)
def test_notice_tables_match_the_ranking(
    rt: Runtime, county: County, tmp_path: Path, period: tuple[str, ...]
) -> None:
    two_published_weeks(rt)
    path = tmp_path / "通报.docx"
    run(rt, report, *period, "--docx", str(path))
    ranking = json.loads(run(rt, rank, *period, "--json"))
    doc = Document(str(path))
    text = "\n".join(p.text for p in doc.paragraphs)

    tables = unit_tables(doc)
    groups = [g for g in ranking["groups"] if g["rows"]]
    assert len(tables) == len(groups)
    if not groups:
        assert "本期暂无到期事项，各单位均未参评。" in text
    for table, group in zip(tables, groups, strict=True):
        assert [(int(r[0]), r[1], float(r[2]), r[3]) for r in table] == [
            (r["rank"], r["name"], r["score"], r["move"]) for r in group["rows"]
        ]
        for cells, row in zip(table, group["rows"], strict=True):
            streak = f"（连续{row['streak']}期）" if row["streak"] > 1 else ""
            flag = "红榜" if row["red"] else f"黑榜{streak}" if row["black"] else ""
            assert cells[4] == flag
            assert cells[5] == "；".join(
                f"#{x['task']} {x['why']} 扣{x['lost']:g}分" for x in row["lost"]
            )
        red = "、".join(r["name"] for r in group["rows"] if r["red"]) or "无"
        black = "、".join(r["name"] for r in group["rows"] if r["black"]) or "无"
        assert f"{group['group']}：红榜 {red}；黑榜 {black}" in text


def test_notice_layout_and_contents(rt: Runtime, county: County, tmp_path: Path) -> None:
    two_published_weeks(rt)
    with rt.sessions() as s:  # 河西乡 reported #5 the day it was closed
        a = s.scalars(select(Assignment).join(Assignment.task).where(Task.code == 5)).one()
        a.reported_at = a.closed_at
        s.commit()
    path = tmp_path / "n.docx"
    run(rt, report, "--from", "2026-11-01", "--to", "2026-11-30", "--docx", str(path))
    doc = Document(str(path))
    paragraphs = [p.text for p in doc.paragraphs]
    assert paragraphs[0] == "县委县政府督查室"  # the issuing office, in red over a red rule
    assert doc.paragraphs[0].runs[0].font.color.rgb is not None
    assert "关于2026年11月重点工作KPI评价结果的通报" in paragraphs
    assert "（数据截至2026年11月25日，本期尚未定稿）" in "".join(paragraphs)
    assert paragraphs[-1] == "2026年11月25日" and paragraphs[-2] == "县委县政府督查室"
    section = doc.sections[0]
    size = (section.page_width, section.page_height, section.top_margin, section.left_margin)
    assert [round(x.mm) for x in size if x is not None] == [210, 297, 37, 28]  # A4, GB/T 9704
    title = next(p for p in doc.paragraphs if p.text.startswith("关于"))
    fonts = title.runs[0]._element.rPr.rFonts
    assert fonts.get(qn("w:eastAsia")) == "方正小标宋简体"
    body = next(p for p in doc.paragraphs if p.text.startswith("本期参评单位"))
    assert body.runs[0]._element.rPr.rFonts.get(qn("w:eastAsia")) == "仿宋_GB2312"
    # Completion by key work: the items due in November by today (25th).
    works = next(t for t in doc.tables if t.rows[0].cells[0].text == "重点工作")
    rows = {r.cells[0].text: [c.text for c in r.cells[1:]] for r in works.rows[1:]}
    # 安全生产: #3 (城关镇 open, 河西乡 on time), #4 (县发改局, done early, due the 30th);
    # 河湖长制: #5 (河西乡 on time).
    assert rows["安全生产"] == ["3", "2", "0", "1", "66.7%"]
    assert rows["河湖长制"] == ["1", "1", "0", "0", "100%"]
    summary = next(p for p in paragraphs if p.startswith("本期参评单位"))
    assert "到期事项4项，其中按期完成3项、逾期完成0项、逾期未完成1项" in summary
    # Items still overdue today.
    overdue = next(t for t in doc.tables if t.rows[0].cells[0].text == "任务")
    assert [[c.text for c in r.cells] for r in overdue.rows[1:]] == [
        ["#3", "整改消防通道占用问题", "安全生产", "城关镇", "2026年11月20日", "3"]
    ]
    # The chart: a picture with a CJK font, else a table of bars.
    bars = [t for t in doc.tables if t.rows[0].cells[1].text == "得分"]
    assert bars or doc.inline_shapes
    # Fallback fonts named in the font table.
    font_table = next(
        p for p in doc.part.package.iter_parts() if str(p.partname) == "/word/fontTable.xml"
    )
    assert "仿宋_GB2312" in font_table.blob.decode() and 'w:altName w:val="仿宋"' in (
        font_table.blob.decode()
    )


def test_dashboard_offers_the_notice_of_the_period_shown(
    rt: Runtime, county: County, tmp_path: Path
) -> None:
    from tests.test_lead_review import web_login

    two_published_weeks(rt)
    client = web_login(rt, "duchashi", county.supervisor)
    page = client.get("/rankings?period=week&from=2026-11-16&to=2026-11-22").get_data(as_text=True)
    assert "下载通报（Word）" in page
    link = page.split("下载通报")[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    got = client.get(link)
    assert got.status_code == 200 and got.mimetype.endswith("wordprocessingml.document")
    (tmp_path / "web.docx").write_bytes(got.data)
    doc = Document(str(tmp_path / "web.docx"))
    assert "关于2026年11月16日至11月22日重点工作KPI评价结果的通报" in [
        p.text for p in doc.paragraphs
    ]
    ranking = json.loads(run(rt, rank, "--from", "2026-11-16", "--to", "2026-11-22", "--json"))
    names = [r["name"] for g in ranking["groups"] for r in g["rows"]]
    assert [row[1] for table in unit_tables(doc) for row in table] == names
    assert client.get("/rankings/notice.docx?period=custom").status_code == 400
