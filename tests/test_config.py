"""Configuration: defaults, file, environment overrides and clear errors."""

from __future__ import annotations

import dataclasses
import datetime as dt
import tomllib
from pathlib import Path
from typing import get_type_hints

import pytest

from bot.config import Config, ConfigError, load_config

ROOT = Path(__file__).resolve().parent.parent


def test_no_config_is_sqlite_and_sandbox() -> None:
    cfg = load_config(environ={})
    assert cfg.database.url == "sqlite:///duban.db"
    assert cfg.sandbox


def test_example_config_loads_and_documents_every_key() -> None:
    example = tomllib.loads((ROOT / "config.example.toml").read_text(encoding="utf-8"))
    assert load_config(ROOT / "config.example.toml", environ={}) == Config()
    assert "plans" in example  # a free-form table, read into the rules
    assert "seasons" in example and "key_works" in example  # likewise
    for name, section in get_type_hints(Config).items():
        keys = {f.name for f in dataclasses.fields(section)} - {"plans", "seasons", "key_works"}
        assert set(example[name]) == keys, name


def test_environment_overrides_file(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[database]\nurl = "sqlite:///a.db"\n[rules]\nred_list_size = 5\n')
    cfg = load_config(
        path,
        environ={
            "DUBAN_DATABASE__URL": "postgresql://x@h/db",
            "DUBAN_RULES__YELLOW_NUDGE_WORKDAYS": "5, 2",
            "DUBAN_RULES__QUIET_START": "22:30",
            "DUBAN_CALENDAR__HOLIDAYS": "2027-01-01,2027-02-08",
            "DUBAN_WECOM__CORP_ID": "ww1",
            "DUBAN_WECOM__SECRET": "s3cret",
            "DUBAN_WECOM__AGENT_ID": "1000002",
            "DUBAN_UNRELATED": "x",
        },
    )
    assert cfg.database.url == "postgresql://x@h/db"
    assert cfg.rules.red_list_size == 5
    assert cfg.rules.yellow_nudge_workdays == (5, 2)
    assert cfg.rules.quiet_start == dt.time(22, 30)
    assert cfg.calendar.holidays == (dt.date(2027, 1, 1), dt.date(2027, 2, 8))
    assert cfg.wecom.agent_id == 1000002 and not cfg.sandbox


def test_config_path_from_environment(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[web]\nport = 9001\n")
    assert load_config(environ={"DUBAN_CONFIG": str(path)}).web.port == 9001


@pytest.mark.parametrize(
    ("toml", "env", "key"),
    [
        ("[rules]\nwarning_workdays = 'three'\n", {}, "rules.warning_workdays"),
        ("[rules]\nquiet_start = '25:99'\n", {}, "rules.quiet_start"),
        ("[rules]\ntimezone = 'Mars/Base'\n", {}, "rules.timezone"),
        ("[rules]\nranking_weekday = 9\n", {}, "rules.ranking_weekday"),
        ("[web]\nport = 0\n", {}, "web.port"),
        ("[web]\nprot = 80\n", {}, "web.prot"),
        ("[wbe]\nport = 80\n", {}, "wbe"),
        ("[wecom]\nencoding_aes_key = 'short'\n", {}, "wecom.encoding_aes_key"),
        ("[calendar]\nholidays = ['2027-13-01']\n", {}, "calendar.holidays"),
        ("[log]\nformat = 'xml'\n", {}, "log.format"),
        ("", {"DUBAN_RULES__RED_LIST_SIZE": "many"}, "rules.red_list_size"),
        ("", {"DUBAN_WECOM__CORP_ID": "ww", "DUBAN_WECOM__SECRET": "s"}, "wecom.agent_id"),
        ("[database\n", {}, "file"),
        ("[database]\nurl = 'nonsense'\n", {}, "database.url"),
        ("", {"DUBAN_DATABASE__URL": "postgres://u@h/db"}, "database.url"),
        ("", {"DUBAN_DATABASE__URL": "oracle://u@h/db"}, "database.url"),
        ("", {"DUBAN_DATABASE__URL": "postgresql+asyncpg://u@h/db"}, "database.url"),
        ("", {"DUBAN_DATABSE__URL": "sqlite://"}, "DUBAN_DATABSE__URL"),
        ("", {"DUBAN_DATABASE__URL": "postgresql://u:pw@db:notaport/x"}, "database.url"),
        ("", {"DUBAN_PLANS__X": "1"}, "DUBAN_PLANS__X"),
    ],
)
def test_invalid_config_names_the_key(
    tmp_path: Path, toml: str, env: dict[str, str], key: str
) -> None:
    path = tmp_path / "c.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError) as err:
        load_config(path, environ=env)
    assert err.value.key == key
    assert key in str(err.value)


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///duban.db",
        "postgresql://duban@127.0.0.1:5432/duban",
        "mysql://duban@127.0.0.1:3306/duban",
        "mariadb://duban@127.0.0.1:3306/duban",
        "mysql+pymysql://duban@127.0.0.1/duban",
    ],
)
def test_documented_database_urls_are_accepted(url: str) -> None:
    assert load_config(environ={"DUBAN_DATABASE__URL": url}).database.url == url


def test_a_bad_database_url_is_not_echoed() -> None:
    with pytest.raises(ConfigError) as err:
        load_config(environ={"DUBAN_DATABASE__URL": "postgresql//duban:S3cret@db/duban"})
    assert "S3cret" not in str(err.value)


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml", environ={})


def test_plan_templates(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        '[plans]\n"安全生产" = [{ name = "摸底", offset = 10 }, { name = "整改", offset = 3 }]\n',
        encoding="utf-8",
    )
    cfg = load_config(path, environ={})
    assert [m["offset"] for m in cfg.rules.plans["安全生产"]] == [10, 3]
    path.write_text('[plans]\n"安全生产" = [{ name = "摸底", offset = 0 }]\n', encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(path, environ={})
    assert err.value.key == "plans.安全生产"
