"""Server-side paging of the ledger: a page of rows and the links around it, so a county's
ten thousand assignments never reach one page (or one API answer) at once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from flask import abort

T = TypeVar("T")
DEFAULT_SIZE = 100
MAX_SIZE = 500


@dataclass(frozen=True)
class Page(Generic[T]):
    rows: Sequence[T]
    number: int  # 1-based
    size: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def first_index(self) -> int:
        """1-based position of the page's first row (0 when there are none)."""
        return (self.number - 1) * self.size + 1 if self.rows else 0


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
