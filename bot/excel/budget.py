"""Reading an uploaded sheet in a child process with a memory and time budget.

The dashboard's process also answers callbacks and runs the scheduler: whatever a hostile
or merely huge workbook costs (the bounds in `bot.excel.bounds` stop the known bombs, this
stops the unknown ones) is paid by a short-lived child that the kernel caps (RLIMIT_AS) and
the parent kills when its time is up. The child gets bytes and returns a parsed sheet; it
never touches the database.
"""

from __future__ import annotations

import io
import logging
import multiprocessing
from multiprocessing.connection import Connection
from typing import Any

from bot.config import ExcelConfig
from bot.excel.sheet import Directory, LedgerFileError, Reading, SheetResult, parse_sheet
from schedules.calendar import WorkCalendar

log = logging.getLogger(__name__)


def parse_in_child(
    data: bytes,
    directory: Directory,
    cal: WorkCalendar,
    year: int,
    limits: ExcelConfig,
    reading: Reading | None = None,
) -> SheetResult:
    """The parsed sheet, or LedgerFileError when the file is no ledger or reading it
    exceeds parse_timeout_seconds or parse_memory_mb."""
    # spawn, not fork: the parent has threads (scheduler, relay) and open connections.
    ctx = multiprocessing.get_context("spawn")
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(
        target=_child, args=(send, data, directory, cal, year, limits, reading), daemon=True
    )
    child.start()
    send.close()
    try:
        if not receive.poll(limits.parse_timeout_seconds):
            log.warning("ledger sheet parse timed out after %ss", limits.parse_timeout_seconds)
            raise LedgerFileError(
                f"读取超时（超过 {limits.parse_timeout_seconds:g} 秒，"
                "excel.parse_timeout_seconds）：表格过大或过于复杂，请精简后再导入"
            )
        try:
            kind, payload = receive.recv()
        except EOFError:
            kind, payload = "memory", None
    finally:
        receive.close()
        if child.is_alive():
            child.kill()
        child.join()
    if kind == "ok":
        assert isinstance(payload, SheetResult)
        return payload
    if kind == "file":
        raise LedgerFileError(str(payload))
    log.warning("ledger sheet parse exceeded its memory budget (exit code %s)", child.exitcode)
    raise LedgerFileError(
        f"读取时超出内存上限（{limits.parse_memory_mb} MB，excel.parse_memory_mb）："
        "表格过大或过于复杂，请精简后再导入"
    )


def _child(
    send: Connection,
    data: bytes,
    directory: Directory,
    cal: WorkCalendar,
    year: int,
    limits: ExcelConfig,
    reading: Reading | None,
) -> None:
    import resource

    cap = limits.parse_memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    result: tuple[str, Any]
    try:
        result = ("ok", parse_sheet(io.BytesIO(data), directory, cal, year, limits, reading))
    except LedgerFileError as exc:
        result = ("file", str(exc))
    except MemoryError:
        result = ("memory", None)
    send.send(result)
    send.close()
