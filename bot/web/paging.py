"""Server-side paging of the ledger: the page a request asks for, so a county's ten thousand
assignments never reach one page (or one API answer) at once (the page itself:
schedules.ledger.LedgerPage)."""

from __future__ import annotations

from collections.abc import Mapping

from flask import abort

DEFAULT_SIZE = 100
MAX_SIZE = 500


def page_args(args: Mapping[str, str]) -> tuple[int, int]:
    """`?page=` (from 1) and `?size=` (1…MAX_SIZE); anything else is a 400 that says so."""
    try:
        number = int(args.get("page") or 1)
        size = int(args.get("size") or DEFAULT_SIZE)
    except ValueError:
        abort(400, description="页码和每页条数须为整数")
    if number < 1 or not 1 <= size <= MAX_SIZE:
        abort(400, description=f"页码从 1 开始，每页条数须在 1 到 {MAX_SIZE} 之间")
    return number, size
