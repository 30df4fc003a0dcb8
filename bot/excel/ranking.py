"""The evaluation (考核排名) as an Excel workbook, in the layout offices circulate."""

from __future__ import annotations

from pathlib import Path
from typing import IO

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill

from handlers.notices import board_data
from schedules.board import Board

HEADER = ["名次", "单位", "得分", "较上期", "红黑榜", "扣分事项"]
RED = PatternFill("solid", fgColor="FDE2E1")
BLACK = PatternFill("solid", fgColor="E0E0E0")


def export_ranking(board: Board, path: str | Path | IO[bytes]) -> str | Path | IO[bytes]:
    data = board_data(board)
    wb = Workbook()
    wb.remove(wb.active)  # type: ignore[arg-type]
    title = f"{board.start.isoformat()}至{board.end.isoformat()}重点工作考核排名"
    for group in data["groups"]:  # type: ignore[attr-defined]
        ws = wb.create_sheet(str(group["label"]))
        ws.append([title])
        ws["A1"].font = Font(bold=True, size=14)
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADER))
        ws.append(HEADER)
        for cell in ws[2]:
            cell.font = Font(bold=True)
        for line in group["rows"]:
            lost = "；".join(f"#{x['task']} {x['why']} -{x['lost']:g}" for x in line["lost"])
            streak = line["streak"]
            flag = "红榜" if line["red"] else ""
            if line["black"]:
                flag = f"黑榜（连续{streak}期）" if streak > 1 else "黑榜"
            ws.append([line["rank"], line["name"], line["score"], line["move"], flag, lost])
            if line["red"] or line["black"]:
                for cell in ws[ws.max_row]:
                    cell.fill = RED if line["red"] else BLACK
        for col, width in zip("ABCDEF", (6, 16, 8, 8, 16, 60), strict=True):
            ws.column_dimensions[col].width = width
        for r in ws.iter_rows(min_row=3):
            r[5].alignment = Alignment(wrap_text=True)
    wb.save(path)
    return path
