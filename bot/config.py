"""Configuration: TOML file, then `DUBAN_SECTION__KEY` environment overrides.

No file at all is a valid configuration: SQLite `./duban.db` and the sandbox channel.
Every problem is reported as a ConfigError naming the offending key.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
import os
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any, get_type_hints
from urllib.parse import urlsplit

from schedules.recurrence import DEFAULT_SEASONS
from schedules.rules import SCORING_MODES, TIMELINESS, KeyWorkRule, Rules

ENV_PREFIX = "DUBAN_"


class ConfigError(Exception):
    """A configuration value is missing, of the wrong type or out of range."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"配置错误 config error: [{key}] {problem}")
        self.key = key
        self.problem = problem


def _time(value: str, key: str) -> dt.time:
    try:
        hour, minute = value.split(":")
        return dt.time(int(hour), int(minute))
    except (ValueError, AttributeError):
        raise ConfigError(key, f"expected a time of day like '09:00', got {value!r}") from None


def _date(value: Any, key: str) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(key, f"expected a date like '2027-01-01', got {value!r}") from None


@dataclass(frozen=True)
class DatabaseConfig:
    url: str = "sqlite:///duban.db"
    echo: bool = False


@dataclass(frozen=True)
class WecomConfig:
    corp_id: str = ""
    agent_id: int = 0
    secret: str = ""
    token: str = ""
    encoding_aes_key: str = ""
    api_base_url: str = "https://qyapi.weixin.qq.com"
    # Callbacks whose timestamp is further than this from now are refused.
    timestamp_window_seconds: int = 300
    # Members' dashboard login (网页授权): WeCom's page that asks for the code.
    oauth_authorize_url: str = "https://open.weixin.qq.com/connect/oauth2/authorize"

    @property
    def configured(self) -> bool:
        return bool(self.corp_id and self.secret)


@dataclass(frozen=True)
class WechatConfig:
    app_id: str = ""
    secret: str = ""
    token: str = ""
    encoding_aes_key: str = ""
    api_base_url: str = "https://api.weixin.qq.com"
    # Guessing bind codes (绑定 123456): wrong codes allowed per WeChat user a day, and for
    # everyone together an hour; beyond them every code is refused until the window ends.
    bind_max_failures_per_user: int = 5
    bind_max_failures_per_hour: int = 200

    @property
    def configured(self) -> bool:
        return bool(self.app_id and self.token)


@dataclass(frozen=True)
class AibotConfig:
    token: str = ""
    encoding_aes_key: str = ""

    @property
    def configured(self) -> bool:
        return bool(self.token and self.encoding_aes_key)


@dataclass(frozen=True)
class DeliveryConfig:
    # WeCom's limits per rate-limit window: group robot, app message per member, app chat.
    window_seconds: float = 60.0
    webhook_per_window: int = 20
    app_user_per_window: int = 30
    appchat_per_window: int = 20
    # Transient failures retry with exponential backoff and jitter for this long, then park.
    give_up_after_hours: float = 24.0
    backoff_base_seconds: float = 5.0
    backoff_cap_seconds: float = 1800.0
    # A relay that dies holding rows releases them after this lease.
    lease_seconds: int = 60
    batch_size: int = 50
    http_timeout_seconds: float = 10.0
    # The county's name on the group board picture (某某县), so a forwarded picture says whose.
    county: str = ""


@dataclass(frozen=True)
class CalendarConfig:
    holidays: tuple[dt.date, ...] = ()
    workdays: tuple[dt.date, ...] = ()


@dataclass(frozen=True)
class WebConfig:
    host: str = "127.0.0.1"
    port: int = 8000
    secret_key: str = ""
    base_url: str = "http://127.0.0.1:8000"
    max_body_bytes: int = 65536
    # A callback is handled inside its request (answered passively) only while no more than
    # this many callbacks are in flight; in a burst the webhook just stores and acknowledges,
    # and the worker handles the stored messages, replying by message.
    inline_limit: int = 2
    # A dashboard session lapses this long after sign-in (checked on the server too).
    session_hours: float = 12.0
    # Session cookie only over https; on by itself when base_url is https.
    secure_cookie: bool = False
    # Password guessing: this many failures in login_window_minutes lock the account (and,
    # at login_max_failures_per_source, the client address) for login_lockout_minutes.
    login_max_failures: int = 5
    login_max_failures_per_source: int = 20
    login_window_minutes: float = 15.0
    login_lockout_minutes: float = 15.0
    # Reverse proxies (addresses or CIDRs) whose X-Forwarded-For is believed; none by default,
    # so a client cannot choose its own address for the login limits and the logs.
    trusted_proxies: tuple[str, ...] = ()

    @property
    def phone_form_url(self) -> str:
        """The phone form (报送) as officials' phones reach it; "" while base_url is this
        machine's loopback (the default), which no phone in WeCom could open."""
        host = urlsplit(self.base_url).hostname or ""
        if host in ("", "localhost", "::1") or host.startswith("127."):
            return ""
        return self.base_url.rstrip("/") + "/m"


@dataclass(frozen=True)
class ExcelConfig:
    """Bounds on an imported ledger sheet, checked before any cell is built (a county's
    ledger is a few hundred rows and KiB)."""

    max_upload_bytes: int = 10 * 1024 * 1024
    # The sum of the zip members' declared sizes: a small file may inflate a hundredfold.
    max_unzipped_bytes: int = 50 * 1024 * 1024
    max_rows: int = 5000
    max_columns: int = 100
    max_merged_ranges: int = 2000
    # The dashboard parses an upload in a child process with these budgets.
    parse_timeout_seconds: float = 60.0
    parse_memory_mb: int = 1024


@dataclass(frozen=True)
class StorageConfig:
    # Evidence (佐证材料) fetched from WeCom is kept here, one file per image or file.
    evidence_dir: str = "evidence"
    # WeCom keeps uploaded media for three days; an attachment not fetched by then is lost.
    media_ttl_hours: int = 72


@dataclass(frozen=True)
class LogConfig:
    level: str = "INFO"
    format: str = "text"


@dataclass(frozen=True)
class Config:
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    wecom: WecomConfig = field(default_factory=WecomConfig)
    wechat: WechatConfig = field(default_factory=WechatConfig)
    aibot: AibotConfig = field(default_factory=AibotConfig)
    rules: Rules = field(default_factory=Rules)
    calendar: CalendarConfig = field(default_factory=CalendarConfig)
    delivery: DeliveryConfig = field(default_factory=DeliveryConfig)
    web: WebConfig = field(default_factory=WebConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    excel: ExcelConfig = field(default_factory=ExcelConfig)
    log: LogConfig = field(default_factory=LogConfig)

    @property
    def sandbox(self) -> bool:
        """True when no outgoing channel has credentials: messages land in the sandbox."""
        return not self.wecom.configured


def _coerce(value: Any, typ: Any, key: str) -> Any:
    """Turn a TOML or environment value into the dataclass field's type."""
    from_env = isinstance(value, str)
    if typ is bool:
        if isinstance(value, bool):
            return value
        if from_env and value.lower() in ("1", "true", "yes", "on"):
            return True
        if from_env and value.lower() in ("0", "false", "no", "off", ""):
            return False
        raise ConfigError(key, f"expected true or false, got {value!r}")
    if typ is int:
        if isinstance(value, bool):
            raise ConfigError(key, f"expected an integer, got {value!r}")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ConfigError(key, f"expected an integer, got {value!r}") from None
    if typ is float:
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(key, f"expected a number, got {value!r}") from None
    if typ is str:
        if not isinstance(value, str):
            raise ConfigError(key, f"expected a string, got {value!r}")
        return value
    if typ is dt.time:
        return _time(value, key)
    if typ == tuple[int, ...]:
        items = value.split(",") if from_env else value
        if not isinstance(items, list | tuple):
            raise ConfigError(key, f"expected a list of integers, got {value!r}")
        return tuple(_coerce(v.strip() if isinstance(v, str) else v, int, key) for v in items)
    if typ == tuple[str, ...]:
        items = [v for v in value.split(",") if v.strip()] if from_env else value
        if not isinstance(items, list | tuple) or not all(isinstance(v, str) for v in items):
            raise ConfigError(key, f"expected a list of strings, got {value!r}")
        return tuple(v.strip() for v in items)
    if typ == tuple[dt.date, ...]:
        items = [v for v in value.split(",") if v.strip()] if from_env else value
        if not isinstance(items, list | tuple):
            raise ConfigError(key, f"expected a list of dates, got {value!r}")
        return tuple(_date(v.strip() if isinstance(v, str) else v, key) for v in items)
    raise TypeError(f"unsupported config type {typ!r}")  # a programming error, not user input


def _build_section(cls: type, name: str, raw: dict[str, Any]) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(name, "expected a table")
    hints = get_type_hints(cls)
    # [plans] and [seasons] are sections of their own.
    known = {f.name for f in fields(cls)} - {"plans", "seasons", "key_works"}
    for key in raw:
        if key not in known:
            raise ConfigError(f"{name}.{key}", "unknown key")
    values = {k: _coerce(v, hints[k], f"{name}.{k}") for k, v in raw.items()}
    return cls(**values)


def _check_database_url(url: str) -> None:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    from bot.db import normalise_url

    try:
        # The URL as the engine will get it: plain mysql:// and postgresql:// name our drivers.
        u = make_url(normalise_url(url))
    except (ArgumentError, ValueError):
        # Never echo the value: it may carry a password.
        raise ConfigError(
            "database.url",
            "not a valid database URL (e.g. sqlite:///duban.db, "
            "postgresql://user@host:5432/db, mysql://user@host:3306/db)",
        ) from None
    backend = u.get_backend_name()
    if backend not in ("sqlite", "postgresql", "mysql", "mariadb"):
        hint = " (write postgresql://)" if backend == "postgres" else ""
        raise ConfigError(
            "database.url",
            f"unsupported database {backend!r}{hint}: use sqlite, postgresql or mysql/mariadb",
        )
    try:
        dialect = u.get_dialect()
        if getattr(dialect, "is_async", False):
            raise ConfigError(
                "database.url", f"{u.drivername!r} is an asyncio driver: not supported"
            )
        dialect.import_dbapi()
    except (NoSuchModuleError, ImportError):
        raise ConfigError("database.url", f"no driver installed for {u.drivername!r}") from None


def _validate(cfg: Config) -> None:
    _check_database_url(cfg.database.url)
    r = cfg.rules
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(r.timezone)
    except Exception:
        raise ConfigError("rules.timezone", f"unknown time zone {r.timezone!r}") from None
    for key in ("warning_workdays", "escalate_after_workdays", "red_list_size", "black_list_size"):
        if getattr(r, key) < 0:
            raise ConfigError(f"rules.{key}", "must not be negative")
    if not 1 <= r.ranking_weekday <= 7:
        raise ConfigError("rules.ranking_weekday", "must be 1 (Monday) to 7 (Sunday)")
    if not 0 <= r.score_late_floor <= r.score_on_time <= 100:
        raise ConfigError(
            "rules.score_late_floor", "need 0 <= score_late_floor <= score_on_time <= 100"
        )
    d = cfg.delivery
    for key in (
        "window_seconds",
        "webhook_per_window",
        "app_user_per_window",
        "appchat_per_window",
        "lease_seconds",
        "batch_size",
        "http_timeout_seconds",
    ):
        if getattr(d, key) <= 0:
            raise ConfigError(f"delivery.{key}", "must be positive")
    for key in (
        "max_upload_bytes",
        "max_unzipped_bytes",
        "max_rows",
        "max_columns",
        "max_merged_ranges",
        "parse_timeout_seconds",
        "parse_memory_mb",
    ):
        if getattr(cfg.excel, key) <= 0:
            raise ConfigError(f"excel.{key}", "must be positive")
    if cfg.log.format not in ("text", "json"):
        raise ConfigError("log.format", "must be 'text' or 'json'")
    if cfg.log.level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError("log.level", "must be DEBUG, INFO, WARNING or ERROR")
    for key in ("bind_max_failures_per_user", "bind_max_failures_per_hour"):
        if getattr(cfg.wechat, key) <= 0:
            raise ConfigError(f"wechat.{key}", "must be positive")
    for key in (
        "session_hours",
        "login_max_failures",
        "login_max_failures_per_source",
        "login_window_minutes",
        "login_lockout_minutes",
    ):
        if getattr(cfg.web, key) <= 0:
            raise ConfigError(f"web.{key}", "must be positive")
    for entry in cfg.web.trusted_proxies:
        try:
            ipaddress.ip_network(entry.strip(), strict=False)
        except ValueError:
            raise ConfigError(
                "web.trusted_proxies", f"{entry!r} is not an address or CIDR (e.g. 127.0.0.1)"
            ) from None
    if cfg.web.inline_limit < 0:
        raise ConfigError("web.inline_limit", "must not be negative (0 = always acknowledge first)")
    if not (1 <= cfg.web.port <= 65535):
        raise ConfigError("web.port", "must be 1-65535")
    if cfg.wecom.encoding_aes_key and len(cfg.wecom.encoding_aes_key) != 43:
        raise ConfigError("wecom.encoding_aes_key", "must be 43 characters long")
    if cfg.aibot.encoding_aes_key and len(cfg.aibot.encoding_aes_key) != 43:
        raise ConfigError("aibot.encoding_aes_key", "must be 43 characters long")
    if cfg.wecom.configured and not cfg.wecom.agent_id:
        raise ConfigError("wecom.agent_id", "required when wecom.corp_id and wecom.secret are set")
    overlap = set(cfg.calendar.holidays) & set(cfg.calendar.workdays)
    if overlap:
        raise ConfigError(
            "calendar.holidays", f"dates listed as both holiday and workday: {sorted(overlap)}"
        )


def _plans(raw: Any) -> dict[str, tuple[dict[str, Any], ...]]:
    """`[plans]`: key work name = [{ name = "…", offset = N }, …], offsets in workdays."""
    if not isinstance(raw, dict):
        raise ConfigError("plans", "expected a table of key work = list of milestones")
    out = {}
    for work, steps in raw.items():
        key = f"plans.{work}"
        if not isinstance(steps, list) or not steps:
            raise ConfigError(key, "expected a non-empty list of { name, offset } tables")
        offsets = set()
        for step in steps:
            if (
                not isinstance(step, dict)
                or not isinstance(step.get("name"), str)
                or not isinstance(step.get("offset"), int)
                or step["offset"] <= 0
            ):
                raise ConfigError(
                    key, f"each milestone needs a name and a positive offset: {step!r}"
                )
            if step["offset"] in offsets:
                raise ConfigError(key, f"offset {step['offset']} given twice")
            offsets.add(step["offset"])
        out[str(work)] = tuple(
            {
                "name": s["name"],
                "offset": s["offset"],
                **({"percent": s["percent"]} if "percent" in s else {}),
            }
            for s in steps
        )
    return out


SEASON_RE = re.compile(
    r"^\s*(\d{1,2})\s*[-月]\s*(\d{1,2})\s*日?\s*(?:\.\.|[-–—~～至到])\s*(?:次年)?"
    r"(\d{1,2})\s*[-月]\s*(\d{1,2})\s*日?\s*$"
)


def _seasons(raw: Any) -> dict[str, tuple[tuple[int, int], tuple[int, int]]]:
    """`[seasons]`: name = "06-01..09-30" (or "6月1日-9月30日"); a window may run across the
    new year ("10-01..05-31"). Defaults (汛期, 森林防火期) stay unless redefined."""
    if not isinstance(raw, dict):
        raise ConfigError("seasons", 'expected a table of season = "MM-DD..MM-DD"')
    out = dict(DEFAULT_SEASONS)
    for name, value in raw.items():
        m = SEASON_RE.match(value) if isinstance(value, str) else None
        if m is None:
            raise ConfigError(f"seasons.{name}", f'expected "MM-DD..MM-DD", got {value!r}')
        a, b, c, d = (int(g) for g in m.groups())
        try:
            dt.date(2024, a, b), dt.date(2024, c, d)  # a leap year: 02-29 is a valid edge
        except ValueError:
            raise ConfigError(f"seasons.{name}", f"not a date range: {value!r}") from None
        out[str(name)] = ((a, b), (c, d))
    return out


def _key_works(raw: Any) -> dict[str, KeyWorkRule]:
    """`[key_works]`: name = { weight = 2.0, scoring = "timeliness|attainment|mix",
    timeliness_share = 0.5 }, each key optional."""
    if not isinstance(raw, dict):
        raise ConfigError("key_works", "expected a table of key work = { weight, scoring }")
    out = {}
    for name, spec in raw.items():
        key = f"key_works.{name}"
        if not isinstance(spec, dict) or set(spec) - {"weight", "scoring", "timeliness_share"}:
            raise ConfigError(key, f"expected {{ weight, scoring, timeliness_share }}: {spec!r}")
        weight = spec.get("weight")
        if weight is not None and (
            not isinstance(weight, int | float) or isinstance(weight, bool) or weight <= 0
        ):
            raise ConfigError(key, f"weight must be a positive number, got {weight!r}")
        scoring = spec.get("scoring", TIMELINESS)
        if scoring not in SCORING_MODES:
            raise ConfigError(key, f"scoring must be one of {', '.join(SCORING_MODES)}")
        share = spec.get("timeliness_share", 0.5)
        if not isinstance(share, int | float) or isinstance(share, bool) or not 0 <= share <= 1:
            raise ConfigError(key, f"timeliness_share must be between 0 and 1, got {share!r}")
        out[str(name)] = KeyWorkRule(
            float(weight) if weight is not None else None, scoring, float(share)
        )
    return out


def _env_overrides(data: dict[str, Any], environ: dict[str, str]) -> None:
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        section, _, key = name[len(ENV_PREFIX) :].lower().partition("__")
        if section in ("plans", "seasons", "key_works"):
            raise ConfigError(name, f"[{section}] is set in the config file, not the environment")
        if section not in {f.name for f in fields(Config)}:
            # A misspelt section would otherwise be ignored and its secret silently unused.
            raise ConfigError(name, f"unknown section {section!r} in environment variable")
        data.setdefault(section, {})[key] = value


def load_config(
    path: str | os.PathLike[str] | None = None,
    environ: dict[str, str] | None = None,
    overrides: dict[str, dict[str, Any]] | None = None,
) -> Config:
    """Read the TOML file (if any), apply environment and explicit overrides, validate."""
    environ = dict(os.environ if environ is None else environ)
    if path is None:
        path = environ.get("DUBAN_CONFIG") or None
    data: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise ConfigError("file", f"config file not found: {p}")
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError("file", f"{p} is not valid TOML: {exc}") from None
    for section in list(data):
        if section not in {f.name for f in fields(Config)} | {"plans", "seasons", "key_works"}:
            raise ConfigError(section, "unknown section")
    _env_overrides(data, environ)
    for section, values in (overrides or {}).items():
        data.setdefault(section, {}).update(values)
    plans = _plans(data.pop("plans", {}))
    seasons = _seasons(data.pop("seasons", {}))
    key_works = _key_works(data.pop("key_works", {}))
    hints = get_type_hints(Config)
    sections = {name: _build_section(hints[name], name, raw) for name, raw in data.items()}
    sections["rules"] = dataclasses.replace(
        sections.get("rules", Rules()),
        plans=MappingProxyType(plans),
        seasons=MappingProxyType(seasons),
        key_works=MappingProxyType(key_works),
    )
    cfg = Config(**sections)
    _validate(cfg)
    return cfg
