"""Chat text lives in Jinja2 templates; handlers return (template, data)."""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, pass_context
from jinja2.runtime import Context

from schedules.periods import day_label


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("handlers", "templates"),
        autoescape=False,  # chat text, not HTML
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        undefined=StrictUndefined,
    )
    env.filters["md"] = month_day
    return env


@pass_context
def month_day(ctx: Context, d: dt.date) -> str:
    """12月5日; with the year when it is not this year's (2027年1月21日), so a date across
    New Year is never read as the wrong one."""
    today = ctx.get("today")
    return day_label(d, year=isinstance(today, dt.date) and d.year != today.year)


def render(
    template: str, data: dict[str, Any] | None = None, *, today: dt.date | None = None
) -> str:
    """`today` (local) lets dates of another year carry their year."""
    values = {"today": today, **(data or {})}
    return environment().get_template(f"{template}.j2").render(**values).strip()
