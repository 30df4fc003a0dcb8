"""The 通报: a period's KPI evaluation as a Word document in the layout of an official notice
(GB/T 9704: A4, 37/35/28/26 mm margins, 方正小标宋 title, 仿宋_GB2312 body in 三号, 黑体
headings), for the meeting where results are read out. Every sentence is in
`handlers/templates/notice.j2`; the figures are the ranking's (`board_data`), so the document
and `duban rank --json` agree.

Chinese fonts are named as offices have them installed; a machine without them substitutes
the fonts named as alternatives in the document's font table (仿宋, 宋体, 黑体, 楷体).
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.opc.oxml import serialize_part_xml
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.oxml.parser import parse_xml
from docx.shared import Cm, Pt, RGBColor
from docx.table import Table
from docx.text.run import Run
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.delivery.picture import cjk_font
from handlers.notices import board_data
from handlers.render import day_label, phrase
from models import Unit
from schedules.board import Board, board_for
from schedules.calendar import WorkCalendar
from schedules.evaluation import key_work_completion, overdue_items
from schedules.rules import Rules

TITLE_FONT = "方正小标宋简体"
BODY_FONT = "仿宋_GB2312"
HEADING_FONT = "黑体"
SUBHEADING_FONT = "楷体_GB2312"
LATIN_FONT = "Times New Roman"
# Substitutes written into the font table (w:altName) for machines without the above.
FALLBACKS = {TITLE_FONT: "宋体", BODY_FONT: "仿宋", HEADING_FONT: "SimHei", SUBHEADING_FONT: "楷体"}
RED = RGBColor(0xC0, 0x00, 0x00)
SIZE_TITLE = Pt(22)  # 二号
SIZE_BODY = Pt(16)  # 三号
SIZE_TABLE = Pt(10.5)  # 五号
UNITS_HEADER = ("名次", "单位", "得分", "较上期", "红黑榜", "扣分事项")
KEY_WORK_HEADER = ("重点工作", "到期事项", "按期完成", "逾期完成", "逾期未完成", "完成率")
OVERDUE_HEADER = ("任务", "任务内容", "重点工作", "责任单位", "完成时限", "逾期工作日")


def _fonts(run: Run, name: str, size: Pt, *, bold: bool = False) -> None:
    """Latin text in Times New Roman, Chinese in `name` (w:eastAsia), as official documents."""
    run.font.name = LATIN_FONT
    run.font.size = size
    run.font.bold = bold
    rpr = run._element.get_or_add_rPr()
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = OxmlElement("w:rFonts")
        rpr.insert(0, rfonts)
    rfonts.set(qn("w:eastAsia"), name)


def _paragraph(
    doc: DocumentObject | Any,
    text: str,
    *,
    font: str = BODY_FONT,
    size: Pt = SIZE_BODY,
    bold: bool = False,
    align: int | None = None,
    indent: bool = True,
    color: RGBColor | None = None,
) -> Any:
    p = doc.add_paragraph()
    fmt = p.paragraph_format
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    fmt.line_spacing = Pt(28) if size <= SIZE_BODY else Pt(36)
    fmt.space_before = fmt.space_after = Pt(0)
    if indent:
        fmt.first_line_indent = Pt(size.pt * 2)  # 首行缩进两字
    if align is not None:
        p.alignment = align
    run = p.add_run(text)
    _fonts(run, font, size, bold=bold)
    if color is not None:
        run.font.color.rgb = color
    return p


def _red_rule(paragraph: Any) -> None:
    """The red line under the issuing office's name (版头分隔线)."""
    ppr = paragraph._p.get_or_add_pPr()
    border = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("val", "single"), ("sz", "18"), ("space", "4"), ("color", "C00000")):
        bottom.set(qn(f"w:{key}"), value)
    border.append(bottom)
    ppr.append(border)


def _table(
    doc: DocumentObject,
    header: Sequence[str],
    rows: Sequence[Sequence[Any]],
    widths: Sequence[float] = (),
) -> Table:
    """A grid table; `widths` in cm (the text block is 15.6 cm wide)."""
    table = doc.add_table(rows=1, cols=len(header))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = not widths
    for cell, text in zip(table.rows[0].cells, header, strict=True):
        cell.text = ""
        _fonts(cell.paragraphs[0].add_run(text), HEADING_FONT, SIZE_TABLE)
        cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    for values in rows:
        cells = table.add_row().cells
        for cell, value in zip(cells, values, strict=True):
            _fonts(cell.paragraphs[0].add_run(str(value)), BODY_FONT, SIZE_TABLE)
    for i, width in enumerate(widths):
        table.columns[i].width = Cm(width)
        for cell in table.columns[i].cells:  # Word reads cell widths, LibreOffice the grid
            cell.width = Cm(width)
    return table


def _font_table_fallbacks(doc: DocumentObject) -> None:
    """Name a substitute for each Chinese font in word/fontTable.xml (w:altName)."""
    for part in doc.part.package.iter_parts():
        if str(part.partname) != "/word/fontTable.xml":
            continue
        root = parse_xml(part.blob)
        for name, alt in FALLBACKS.items():
            font = OxmlElement("w:font", {qn("w:name"): name})
            font.append(OxmlElement("w:altName", {qn("w:val"): alt}))
            font.append(OxmlElement("w:charset", {qn("w:val"): "86"}))  # GB2312
            root.append(font)
        part._blob = serialize_part_xml(root)


def _whole_months(start: dt.date, end: dt.date) -> bool:
    return start.day == 1 and (end + dt.timedelta(days=1)).day == 1


def chart_png(groups: list[dict[str, Any]]) -> bytes | None:
    """Horizontal bars of every unit's score per group; None without a CJK font."""
    path = cjk_font()
    if path is None:
        return None
    from PIL import Image, ImageDraw, ImageFont

    rows = [(g["label"], r) for g in groups for r in g["rows"]]
    heading = sum(1 for g in groups if g["rows"])
    height = 40 + 34 * len(rows) + 44 * heading
    img = Image.new("RGB", (1200, height), "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(path, 22)
    y = 20
    for g in groups:
        if not g["rows"]:
            continue
        draw.text((20, y), str(g["label"]), font=font, fill="#222222")
        y += 44
        for r in g["rows"]:
            colour = "#c00000" if r["red"] else ("#444444" if r["black"] else "#4472c4")
            draw.text((20, y + 2), str(r["name"]), font=font, fill="#222222")
            width = int(800 * max(min(r["score"], 100), 0) / 100)
            draw.rectangle((300, y + 4, 300 + width, y + 26), fill=colour)
            draw.text((310 + width, y + 2), f"{r['score']:g}", font=font, fill="#222222")
            y += 34
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def office_name(session: Session) -> str:
    office = session.scalar(select(Unit).where(Unit.kind == "office").order_by(Unit.id))
    return office.name if office is not None else "督查室"


def summary(board: Board, data: dict[str, Any], lines: Sequence[Any]) -> dict[str, Any]:
    groups = []
    for g in data["groups"]:
        scores = [r["score"] for r in g["rows"]]
        groups.append(
            {
                "label": g["label"],
                "n": len(scores),
                "mean": f"{sum(scores) / len(scores):.1f}" if scores else "",
            }
        )
    due = sum(x.due for x in lines)
    on_time = sum(x.on_time for x in lines)
    return {
        "units": sum(g["n"] for g in groups),
        "townships": groups[0]["n"],
        "departments": groups[1]["n"],
        "due": due,
        "on_time": on_time,
        "late": sum(x.late for x in lines),
        "open_overdue": sum(x.open_overdue for x in lines),
        "on_time_rate": f"{100 * on_time / due:.1f}" if due else "0",
        "groups": groups,
        "deducted": sum(
            1 for g in data["groups"] for r in g["rows"] for x in r["lost"] if x.get("penalty")
        ),
    }


def write_notice(
    session: Session,
    rules: Rules,
    cal: WorkCalendar,
    kind: str,
    start: dt.date,
    end: dt.date,
    today: dt.date,
    target: str | Path | IO[bytes],
) -> Board:
    """Write the 通报 of [start, end] as evaluated on `today` (a published period as
    published) to `target`; returns the board it reports."""
    board = board_for(session, rules, cal, kind, start, end, today)
    data = board_data(board)
    lines = key_work_completion(session, rules, cal, start, end, today)
    overdue = overdue_items(session, cal, today)
    office = office_name(session)
    label = phrase("notice", "period", start, end, _whole_months(start, end))

    def say(macro: str, *args: Any) -> str:
        return phrase("notice", macro, *args)

    doc = Document()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.top_margin, section.bottom_margin = Cm(3.7), Cm(3.5)
    section.left_margin, section.right_margin = Cm(2.8), Cm(2.6)
    normal = doc.styles["Normal"]
    normal.font.name = LATIN_FONT
    normal.font.size = SIZE_BODY
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), BODY_FONT)
    _font_table_fallbacks(doc)

    head = _paragraph(
        doc,
        office,
        font=TITLE_FONT,
        size=Pt(26),
        align=WD_ALIGN_PARAGRAPH.CENTER,
        indent=False,
        color=RED,
    )
    _red_rule(head)
    _paragraph(doc, "", indent=False)
    _paragraph(
        doc,
        say("title", label),
        font=TITLE_FONT,
        size=SIZE_TITLE,
        align=WD_ALIGN_PARAGRAPH.CENTER,
        indent=False,
    )
    _paragraph(doc, "", indent=False)
    _paragraph(doc, say("addressee"), indent=False)
    _paragraph(doc, phrase_today("intro", today, label, office, board.frozen))

    _paragraph(doc, say("heading", 0), font=HEADING_FONT)
    _paragraph(doc, say("summary", summary(board, data, lines)))

    _paragraph(doc, say("heading", 1), font=HEADING_FONT)
    for g in data["groups"]:
        if g["rows"]:
            _paragraph(doc, say("lists", g))
    _paragraph(doc, say("lists_close", office))

    _paragraph(doc, say("heading", 2), font=HEADING_FONT)
    for i, g in enumerate(data["groups"]):
        if not g["rows"]:
            continue
        _paragraph(doc, say("group_heading", i, g["label"]), font=SUBHEADING_FONT)
        _table(
            doc,
            UNITS_HEADER,
            [
                (
                    r["rank"],
                    r["name"],
                    f"{r['score']:g}",
                    r["move"],
                    say("flag", r),
                    say("deductions", r),
                )
                for r in g["rows"]
            ],
            (1.2, 2.8, 1.5, 2.3, 1.8, 6.0),
        )

    _paragraph(doc, say("heading", 3), font=HEADING_FONT)
    if lines:
        _table(
            doc,
            KEY_WORK_HEADER,
            [(x.name, x.due, x.on_time, x.late, x.open_overdue, f"{x.rate:g}%") for x in lines],
            (4.0, 2.2, 2.2, 2.2, 2.6, 2.4),
        )
    else:
        _paragraph(doc, say("no_key_work"))

    _paragraph(doc, say("heading", 4), font=HEADING_FONT)
    png = chart_png(data["groups"])
    _paragraph(
        doc,
        say("chart_note", png is not None),
        indent=False,
        align=WD_ALIGN_PARAGRAPH.CENTER,
        size=SIZE_TABLE,
    )
    if png is not None:
        doc.add_picture(io.BytesIO(png), width=Cm(15.6))
    else:
        for g in data["groups"]:
            if g["rows"]:
                _table(
                    doc,
                    (str(g["label"]), "得分", ""),
                    [
                        (r["name"], f"{r['score']:g}", "█" * round(r["score"] / 5))
                        for r in g["rows"]
                    ],
                    (3.0, 1.6, 11.0),
                )

    _paragraph(doc, say("heading", 5), font=HEADING_FONT)
    if overdue:
        _paragraph(doc, phrase_today("overdue_intro", today, len(overdue)))
        _table(
            doc,
            OVERDUE_HEADER,
            [
                (
                    f"#{x.task_code}",
                    x.content,
                    x.key_work,
                    x.unit_name,
                    day_label(x.deadline, year=True),
                    x.workdays,
                )
                for x in overdue
            ],
            (1.2, 5.4, 2.4, 2.4, 2.6, 1.6),
        )
    else:
        _paragraph(doc, phrase_today("no_overdue", today))

    _paragraph(doc, "", indent=False)
    for text in (office, phrase_today("signature_date", today)):
        p = _paragraph(doc, text, indent=False, align=WD_ALIGN_PARAGRAPH.RIGHT)
        p.paragraph_format.right_indent = Pt(64)
    doc.core_properties.title = say("title", label)
    doc.core_properties.author = office
    doc.save(str(target) if isinstance(target, Path) else target)
    return board


def phrase_today(macro: str, today: dt.date, *args: Any) -> str:
    """A macro that says a date: `today` as the templates see it."""
    from handlers.render import environment

    module = environment().get_template("notice.j2").make_module({"today": today})
    return str(getattr(module, macro)(*args)).strip()
