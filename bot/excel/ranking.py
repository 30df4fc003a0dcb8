"""The evaluation (考核排名) as an Excel workbook, in the layout offices circulate."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import IO

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill

from bot.excel.cells import append_text_safe
from handlers.notices import board_data
from handlers.render import phrase
from schedules.board import Board
from schedules.standing import Standing, Thin

HEADER = ["名次", "单位", "得分", "较上期", "红黑榜", "扣分事项"]
RED = PatternFill("solid", fgColor="FDE2E1")
BLACK = PatternFill("solid", fgColor="E0E0E0")


def export_ranking(
    board: Board,
    path: str | Path | IO[bytes],
    today: dt.date,
    thin: Thin | None = None,
    longer: list[Standing] | tuple[Standing, ...] = (),
) -> str | Path | IO[bytes]:
    """One sheet per group; with `thin`, the title row says the period has little due yet
    and names the last published one; `longer` adds month/year-to-date sheets per group."""
    wb = Workbook(write_only=False)
    for sheet in wb.worksheets:  # the default empty sheet: the groups' sheets replace it
        wb.remove(sheet)
    title = phrase("titles", "ranking_sheet", board.start, board.end, today)
    if thin is not None:
        title = f"{title}（{phrase('standing', 'thin', thin, today)}）"
    _sheets(wb, board, title, "")
    for s in longer:
        name = phrase("standing", "standing_title", s.kind, s.board.start, s.board.end, today)
        _sheets(wb, s.board, f"{name} 重点工作考核排名", name.partition("（")[0] + "-")
    wb.save(path)
    return path


def _sheets(wb: Workbook, board: Board, title: str, prefix: str) -> None:
    data = board_data(board)
    for group in data["groups"]:
        ws = wb.create_sheet(f"{prefix}{group['label']}")
        ws.append([title])
        ws["A1"].font = Font(bold=True, size=14)
        ws.merge_cells(
            start_row=1, start_column=1, end_row=1, end_column=len(HEADER) + len(group["works"])
        )
        works: list[str] = group["works"]
        ws.append([*HEADER, *works])
        for cell in ws[2]:
            cell.font = Font(bold=True)
        for line in group["rows"]:
            lost = phrase("titles", "deductions", line)
            flag = phrase("titles", "ranking_flag", line)
            by_work = [line["by_work"].get(w) for w in works]  # blank: no item in that work
            row = [line["rank"], line["name"], line["score"], line["move"], flag, lost, *by_work]
            append_text_safe(ws, row)
            if line["red"] or line["black"]:
                for cell in ws[ws.max_row]:
                    cell.fill = RED if line["red"] else BLACK
        for col, width in zip("ABCDEF", (6, 16, 8, 8, 16, 60), strict=True):
            ws.column_dimensions[col].width = width
        for r in ws.iter_rows(min_row=3):
            r[5].alignment = Alignment(wrap_text=True)
