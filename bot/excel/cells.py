"""Writing rows whose text stays text.

openpyxl turns any string starting with "=" into a live formula: a task content such as
`=HYPERLINK("http://…","点此")` typed by an official (or an attacker) would become a link or
a `cmd|…` DDE call in every exported sheet, and would no longer import back. Every text cell
written here is a string cell; characters XML cannot carry are dropped instead of failing
the whole export.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.worksheet.worksheet import Worksheet


def append_text_safe(ws: Worksheet, values: Iterable[Any]) -> None:
    """ws.append(values), every str value written as text, never as a formula."""
    ws.append([ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in values])
    for cell in ws[ws.max_row]:
        if isinstance(cell.value, str) and cell.data_type == "f":
            cell.data_type = "s"
