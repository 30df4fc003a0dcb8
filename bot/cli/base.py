"""What every `duban` command shares: the group, its state (config and runtime, built on
first use) and small output helpers."""

from __future__ import annotations

import datetime as dt
import json
import logging
import unicodedata
from collections.abc import Callable
from datetime import tzinfo
from functools import wraps
from pathlib import Path
from typing import Any

import click
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from bot.config import Config, load_config
from bot.db import DatabaseUnavailable
from bot.logs import setup_logging
from bot.runtime import Runtime, build_runtime
from handlers.render import render
from schedules.board import PeriodError, choose_period

log = logging.getLogger("duban")


class State:
    def __init__(self, config_path: str | None) -> None:
        self.config_path = config_path
        self._rt: Runtime | None = None

    @property
    def config(self) -> Config:
        return self.runtime.config

    @property
    def runtime(self) -> Runtime:
        if self._rt is None:
            cfg = load_config(self.config_path)
            setup_logging(cfg.log)
            self._rt = build_runtime(cfg)
        return self._rt


def needs_db(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Commands that need a migrated database: clear errors instead of tracebacks."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from models.migrate import is_initialised

        state: State = click.get_current_context().obj
        creates = fn.__name__ in ("init", "demo")
        if not creates:
            missing_sqlite_file(state.runtime)
        try:
            if not creates and not is_initialised(state.runtime.engine):
                raise click.ClickException(
                    "数据库尚未初始化 database not initialised: run `duban init`"
                )
            return fn(*args, **kwargs)
        except (OperationalError, DatabaseUnavailable) as exc:
            raise click.ClickException(f"数据库不可用 database unavailable: {exc}") from exc

    return wrapper


def local_moment(text: str, tz: tzinfo, option: str) -> dt.datetime:
    """A command-line moment; without an offset it is the county's local time."""
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter("expected YYYY-MM-DDTHH:MM", param_hint=option) from None
    return when.replace(tzinfo=tz) if when.tzinfo is None else when


def missing_sqlite_file(rt: Runtime) -> None:
    """Refuse before connecting: SQLite would create an empty database file wherever the
    command happens to run (a newcomer's home directory), to be found and wondered at."""
    url = rt.engine.url
    path = url.database or ""
    if url.get_backend_name() != "sqlite" or path in ("", ":memory:") or path.startswith("file:"):
        return
    if not Path(path).exists():
        raise click.ClickException(
            f"这里没有数据库 no database here ({Path(path).resolve()})：在项目目录运行，"
            "或先运行 `duban init`，或用 --config 指定配置文件"
        )


def chosen_period(
    session: Session, rt: Runtime, period: str | None, start: str | None, end: str | None
) -> tuple[str, dt.date, dt.date]:
    """The period `--period`/`--from`/`--to` name; a usage error in the office's words."""
    try:
        return choose_period(session, rt.config.rules, rt.today(), period, start, end)
    except PeriodError as exc:
        problem = {"problem": exc.problem, "data": exc.data}
        raise click.UsageError(render("period_error", problem)) from None


def emit(data: Any, as_json: bool, lines: Callable[[], list[str]]) -> None:
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    else:
        for line in lines():
            click.echo(line)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    envvar="DUBAN_CONFIG",
    type=click.Path(dir_okay=False),
    help="TOML config file (default: none = SQLite ./duban.db + sandbox).",
)
@click.pass_context
def cli(ctx: click.Context, config_path: str | None) -> None:
    """督办机器人 duban: supervision-reminder bot for WeCom and WeChat."""
    ctx.obj = State(config_path)


def pad(text: str, width: int) -> str:
    """Left-align in a terminal: Chinese characters take two columns."""
    used = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(width - used, 0)


def quiet_conversation() -> None:
    """The per-message INFO lines belong in the service log, not between a conversation's
    lines on the operator's terminal; warnings still show."""
    root = logging.getLogger()
    if root.level == logging.INFO:
        root.setLevel(logging.WARNING)
