"""Chat text lives in Jinja2 templates; handlers return (template, data)."""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined


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
    env.filters["md"] = lambda d: f"{d.month}月{d.day}日"
    return env


def render(template: str, data: dict[str, Any] | None = None) -> str:
    return environment().get_template(f"{template}.j2").render(**(data or {})).strip()
