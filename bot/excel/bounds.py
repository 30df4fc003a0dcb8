"""An uploaded workbook is sized up before a single cell is built.

A 5 KB .xlsx can declare a cell at XFD1048576 or one merged range over the whole sheet;
openpyxl's normal load then builds millions of cell objects (gigabytes) in the process that
also answers callbacks. So the zip's declared sizes, the sheet's declared dimension, its
merged ranges and the rows and columns that really hold values are checked first, by
streaming the sheet's XML (no DTDs, no entities); only then are values read, in openpyxl's
read-only mode and only inside the checked area.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from defusedxml.ElementTree import iterparse
from openpyxl import load_workbook
from openpyxl.utils.cell import column_index_from_string as col_index
from openpyxl.utils.cell import coordinate_from_string, range_boundaries

from bot.config import ExcelConfig

NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
EXCEL_ROWS, EXCEL_COLUMNS = 1_048_576, 16_384
UNREADABLE = (
    "无法读取这个文件：请上传 Excel 的 .xlsx 文件（.xls 或 .et 请先用 Excel/WPS 另存为 .xlsx）"
)


class SheetTooLarge(ValueError):
    """The workbook is beyond a configured bound; the message says which, in Chinese."""


@dataclass(frozen=True)
class Extent:
    rows: int
    columns: int
    merges: tuple[tuple[int, int, int, int], ...]  # (min_col, min_row, max_col, max_row)


def read_bytes(source: str | Path | IO[bytes], limit: int) -> bytes:
    """At most limit + 1 bytes of the file: one more says it is too large."""
    if isinstance(source, str | Path):
        with open(source, "rb") as f:
            return f.read(limit + 1)
    if source.seekable():  # the same upload is read again (a 单位 sheet, --add-units)
        source.seek(0)
    return source.read(limit + 1)


def check_zip(data: bytes, limits: ExcelConfig) -> zipfile.ZipFile:
    """The archive, if its members' declared sizes stay within the bound. zipfile never
    inflates a member past its declared size (a lying header fails its CRC instead)."""
    if len(data) > limits.max_upload_bytes:
        raise SheetTooLarge(f"文件超过 {_mb(limits.max_upload_bytes)}（excel.max_upload_bytes）")
    zf = zipfile.ZipFile(io.BytesIO(data))
    total = sum(info.file_size for info in zf.infolist())
    if total > limits.max_unzipped_bytes or len(zf.infolist()) > 1000:
        raise SheetTooLarge(
            f"文件解压后超过 {_mb(limits.max_unzipped_bytes)}（excel.max_unzipped_bytes），"
            "请删除多余的工作表、图片后再导入"
        )
    return zf


def measure(xml: IO[bytes], limits: ExcelConfig) -> Extent:
    """The sheet's real extent (cells with a value) and its merged ranges, refusing any
    declared dimension, cell or merged range outside max_rows x max_columns."""
    rows = columns = 0
    merges: list[tuple[int, int, int, int]] = []
    row_no = 0
    for event, el in _events(xml):
        tag = el.tag
        if event == "start":
            if tag == NS + "dimension":
                _within(el.get("ref", ""), limits, "表格声明的范围")
            elif tag == NS + "row":
                row_no = int(el.get("r") or row_no + 1)
            elif tag == NS + "mergeCell":
                merges.append(_within(el.get("ref", ""), limits, "合并单元格"))
                if len(merges) > limits.max_merged_ranges:
                    raise SheetTooLarge(
                        f"合并单元格超过 {limits.max_merged_ranges} 处（excel.max_merged_ranges）"
                    )
            continue
        if tag == NS + "c":
            ref = el.get("r")
            col = col_index(coordinate_from_string(ref)[0]) if ref else columns + 1
            # Styled empty cells far out are common and harmless: only values count.
            if any(child.tag in (NS + "v", NS + "is") for child in el):
                _check_point(row_no, col, limits)
                rows, columns = max(rows, row_no), max(columns, col)
            el.clear()
        elif tag == NS + "row":
            el.clear()
    return Extent(rows, columns, tuple(merges))


def read_values(
    source: str | Path | IO[bytes], limits: ExcelConfig, names: tuple[str, ...] = ()
) -> tuple[str, list[list[Any]]]:
    """The first sheet's (or the first sheet named in `names`: ("", []) when there is
    none) title and values, each merged range's cells carrying its top-left value. Raises
    SheetTooLarge for a workbook beyond the bounds, ValueError-family errors
    (zipfile.BadZipFile, KeyError, XML errors) for one that is no workbook."""
    data = read_bytes(source, limits.max_upload_bytes)
    zf = check_zip(data, limits)
    wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    ws: Any
    try:
        if names:
            found = next((n for n in names if n in wb.sheetnames), None)
            if found is None:
                return "", []
            ws = wb[found]
        else:
            ws = wb.worksheets[0]
        with zf.open(ws._worksheet_path) as xml:  # openpyxl's read-only sheet knows its part
            extent = measure(xml, limits)
        rows: list[list[Any]] = []
        if extent.rows and extent.columns:
            rows = [
                list(r)
                for r in ws.iter_rows(
                    min_row=1, max_row=extent.rows, max_col=extent.columns, values_only=True
                )
            ]
        for min_col, min_row, max_col, max_row in extent.merges:
            if min_row > len(rows) or min_col > extent.columns:
                continue
            value = rows[min_row - 1][min_col - 1]
            for r in range(min_row, min(max_row, len(rows)) + 1):
                for c in range(min_col, min(max_col, extent.columns) + 1):
                    rows[r - 1][c - 1] = value
        return ws.title, rows
    finally:
        wb.close()


def _events(xml: IO[bytes]) -> Iterator[tuple[str, Any]]:
    # forbid_dtd: a sheet never needs one, and entity expansion is how XML bombs work.
    yield from iterparse(xml, events=("start", "end"), forbid_dtd=True)


def _within(ref: str, limits: ExcelConfig, what: str) -> tuple[int, int, int, int]:
    min_col, min_row, max_col, max_row = range_boundaries(ref)
    # "A:A" or "3:3" leave a side open: the whole sheet that way.
    max_row = max_row or EXCEL_ROWS
    max_col = max_col or EXCEL_COLUMNS
    if max_row > limits.max_rows or max_col > limits.max_columns:
        raise SheetTooLarge(
            f"{what} {ref} 超出上限：最多 {limits.max_rows} 行、{limits.max_columns} 列"
            "（excel.max_rows、excel.max_columns）"
        )
    return (min_col or 1, min_row or 1, max_col, max_row)


def _check_point(row: int, col: int, limits: ExcelConfig) -> None:
    if row > limits.max_rows or col > limits.max_columns:
        raise SheetTooLarge(
            f"表格超出上限：最多 {limits.max_rows} 行、{limits.max_columns} 列"
            f"（第 {row} 行第 {col} 列有内容；excel.max_rows、excel.max_columns）"
        )


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):g} MB"
