"""Every sentence a user sees comes from a Jinja2 template (`handlers/templates`), and every
date through `day_label`: chat replies, nudges, notices, and — through the filters the web
and the sheets register from here — the dashboard's reasons and the Excel titles."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, pass_context
from jinja2.runtime import Context

from schedules.judge import Reason, lost_reason
from schedules.ledger import LedgerRow

LIGHT_LABELS = {"green": "绿灯", "yellow": "黄灯", "red": "红灯", "done": "完成"}
LIGHT_ICONS = {"green": "🟢", "yellow": "🟡", "red": "🔴", "done": "✅"}


def day_label(d: dt.date, *, year: bool = False) -> str:
    """12月5日, or 2027年1月21日 with `year`: how every date reads in chat, on pages, in
    pictures and sheets."""
    return f"{d.year}年{d.month}月{d.day}日" if year else f"{d.month}月{d.day}日"


def date_label(d: dt.date, today: dt.date | None) -> str:
    """12月5日; with the year when it is not `today`'s (2027年1月21日), so a date across New
    Year is never read as the wrong one."""
    return day_label(d, year=today is not None and d.year != today.year)


def range_label(start: dt.date, end: dt.date, today: dt.date) -> str:
    """11月16日—11月22日; both ends with years when the range is not all this year's."""
    year = start.year != end.year or end.year != today.year
    return f"{day_label(start, year=year)}—{day_label(end, year=year)}"


def moment_label(moment: dt.datetime, today: dt.date | None = None) -> str:
    """A local time as pages show it: 12月1日 09:30 (with the year when not this year's)."""
    return f"{date_label(moment.date(), today)} {moment:%H:%M}"


def movement_label(movement: int | None) -> str:
    """赶超进位 in a ranking: ↑2, ↓1, 持平, or 上期未参评 without a previous rank."""
    if movement is None:
        return "上期未参评"
    if movement > 0:
        return f"↑{movement}"
    if movement < 0:
        return f"↓{-movement}"
    return "持平"


@pass_context
def _md(ctx: Context, d: dt.date) -> str:
    today = ctx.get("today")
    return date_label(d, today if isinstance(today, dt.date) else None)


@pass_context
def _reason(ctx: Context, r: Reason | Mapping[str, Any]) -> str:
    today = ctx.get("today")
    return reason_text(r, today if isinstance(today, dt.date) else None)


QUARTER_WORDS = ("一", "二", "三", "四")


def period_label(key: str, today: dt.date | None = None) -> str:
    """A recurring duty's occurrence in words: 2026年11月, 2026年第四季度, 2026年下半年,
    2026年, 11月23日起的一周, 11月25日 (keys as `schedules.recurrence.period` makes them); a
    day of another year than `today`'s carries its year."""
    year, _, rest = key.partition("-")
    if rest == "Y":
        return f"{year}年"
    if rest in ("H1", "H2"):
        return f"{year}年{'上' if rest == 'H1' else '下'}半年"
    if rest.startswith("Q"):
        return f"{year}年第{QUARTER_WORDS[int(rest[1:]) - 1]}季度"
    if rest.startswith("W"):
        monday = dt.date.fromisocalendar(int(year), int(rest[1:]), 1)
        return f"{date_label(monday, today)}起的一周"
    if len(rest) == 2:
        return f"{year}年{int(rest)}月"
    return date_label(dt.date.fromisoformat(key), today)


def amount_label(amount: float) -> str:
    """3200, 98.5: a reported number as written, without a trailing .0."""
    return f"{amount:g}" if amount != int(amount) else str(int(amount))


def attainment_label(total: float, goal: float) -> str:
    """Progress against a target: 64%, 100.5% (one decimal only when it is needed)."""
    pct = 100 * total / goal if goal else 0.0
    return f"{amount_label(round(pct, 1))}%"


def install_filters(env: Environment) -> None:
    """The chat environment and the dashboard's share these filters and names."""
    env.filters["md"] = _md
    env.filters["ymd"] = lambda d: day_label(d, year=True)
    env.filters["span"] = range_label
    env.filters["reason"] = _reason
    env.filters["move"] = movement_label
    env.filters["period"] = period_label
    env.globals.update(amount=amount_label, attainment=attainment_label)
    env.globals.update(LIGHT_LABELS=LIGHT_LABELS, LIGHT_ICONS=LIGHT_ICONS, date_label=date_label)


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
    install_filters(env)
    return env


def render(
    template: str, data: dict[str, Any] | None = None, *, today: dt.date | None = None
) -> str:
    """`today` (local) lets dates of another year carry their year."""
    values = {"today": today, **(data or {})}
    return environment().get_template(f"{template}.j2").render(**values).strip()


def phrase(template: str, macro: str, *args: Any) -> str:
    """One macro of a template (a title, a sheet's line) as text."""
    module = environment().get_template(f"{template}.j2").module
    return str(getattr(module, macro)(*args)).strip()


def reason_text(r: Reason | Mapping[str, Any], today: dt.date | None = None) -> str:
    """A light's or a score's reason in words (`_reason.j2`); a published deduction (stored
    as a mapping) reads the same as a live one."""
    reason = lost_reason(r) if isinstance(r, Mapping) else r
    return phrase("_reason", "reason", reason, today)


def row_json(row: LedgerRow, today: dt.date | None = None) -> dict[str, Any]:
    """A ledger row for `/api/ledger` and `duban ledger --json`: the data, and its reason in
    words as the page shows it."""
    return {**row.as_dict(), "light_reason": reason_text(row.light.reason, today)}
