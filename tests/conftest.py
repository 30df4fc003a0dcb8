"""Layered fixtures: backend → engine (fresh database, migrated) → runtime → county.

PostgreSQL and MariaDB are real servers on their standard local ports (override with
DUBAN_TEST_PG_URL / DUBAN_TEST_MYSQL_URL). Locally a missing server skips its tests;
under CI=true it fails them, so a green CI never hides a missing service.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from hypothesis import settings
from sqlalchemy import Engine, create_engine, make_url, text

from bot.config import Config, load_config
from bot.db import make_engine, normalise_url
from bot.runtime import Runtime, build_runtime
from models import Base
from models.migrate import upgrade

# CI explores the same examples on every run (a red build is reproducible, never a fluke of
# the draw); locally each run draws new ones, so property tests keep finding cases.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") == "true" else "dev")

PG_ADMIN_URL = os.environ.get("DUBAN_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
MYSQL_ADMIN_URL = os.environ.get("DUBAN_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/mysql")
IN_CI = os.environ.get("CI", "").lower() == "true"
BACKENDS = ("sqlite", "postgresql", "mariadb")
# 10:00 in Shanghai on Wednesday 2026-11-25.
DEFAULT_NOW = dt.datetime(2026, 11, 25, 2, 0, tzinfo=dt.UTC)


def service_missing(what: str, exc: Exception) -> None:
    msg = f"{what} is not reachable ({exc.__class__.__name__}: {exc}); see README 'Tests'"
    if IN_CI:
        pytest.fail(msg, pytrace=False)
    pytest.skip(msg)


class Clock:
    """A frozen, movable clock for the runtime."""

    def __init__(self, now: dt.datetime = DEFAULT_NOW) -> None:
        self.current = now

    def __call__(self) -> dt.datetime:
        return self.current

    def set(self, now: dt.datetime) -> None:
        self.current = now

    def advance(self, **kwargs: float) -> None:
        self.current += dt.timedelta(**kwargs)


def _server_database(admin_url: str, what: str) -> Iterator[str]:
    """Create a throw-away database on a server, yield its URL, drop it afterwards."""
    name = f"duban_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = create_engine(
            normalise_url(admin_url),
            isolation_level="AUTOCOMMIT",
            connect_args={"connect_timeout": 5},
        )
        with admin.connect() as conn:
            if admin.dialect.name == "postgresql":
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            else:
                conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    except Exception as exc:
        service_missing(what, exc)
        return
    url = (
        make_url(normalise_url(admin_url)).set(database=name).render_as_string(hide_password=False)
    )
    try:
        yield url
    finally:
        with admin.connect() as conn:
            if admin.dialect.name == "postgresql":
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            else:
                conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        admin.dispose()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    yield from _server_database(PG_ADMIN_URL, "PostgreSQL")


@pytest.fixture(scope="session")
def mariadb_url() -> Iterator[str]:
    yield from _server_database(MYSQL_ADMIN_URL, "MariaDB")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db_url(backend: str, request: pytest.FixtureRequest, tmp_path: object) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path}/duban.db"
    return str(request.getfixturevalue("pg_url" if backend == "postgresql" else "mariadb_url"))


def _empty_all_tables(engine: Engine) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            return
        if engine.dialect.name in ("mysql", "mariadb"):
            conn.execute(text("SET FOREIGN_KEY_CHECKS=0"))
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
        if engine.dialect.name in ("mysql", "mariadb"):
            conn.execute(text("SET FOREIGN_KEY_CHECKS=1"))


_migrated: set[str] = set()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A migrated database, emptied after each test (server databases are reused)."""
    eng = make_engine(db_url)
    if db_url not in _migrated:
        upgrade(eng)
        if not db_url.startswith("sqlite"):
            _migrated.add(db_url)
    try:
        yield eng
    finally:
        if not db_url.startswith("sqlite"):
            _empty_all_tables(eng)
        eng.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def config(db_url: str) -> Config:
    return load_config(environ={}, overrides={"database": {"url": db_url}})


@pytest.fixture
def rt(config: Config, engine: Engine, clock: Clock) -> Runtime:
    return build_runtime(config, clock=clock, engine=engine)


@dataclass
class County:
    """Userids of the crafted test county (see `county` fixture)."""

    liaison_many: str = "cgz_liaison"  # 城关镇: three open items (#1, #2, #3)
    head_many: str = "cgz_head"
    liaison_one: str = "hxx_liaison"  # 河西乡: exactly one open item (#2)
    liaison_dept: str = "fgj_liaison"  # 县发改局: #4, already reported
    supervisor: str = "dcs_sup"


@pytest.fixture
def county(rt: Runtime) -> County:
    from tests.factories import build_county

    with rt.sessions() as session:
        build_county(session, today=rt.today())
        session.commit()
    return County()


@dataclass
class LiveServer:
    url: str
    rt: Runtime
    app: object = None


def serve_app(rt: Runtime) -> Iterator[LiveServer]:
    """The real Flask app on a real loopback socket, in a thread."""
    import threading

    from werkzeug.serving import make_server

    from bot.app import create_app

    app = create_app(runtime=rt, TESTING=True)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}", rt, app)
    finally:
        server.shutdown()
        thread.join(5)


# ---- the fake WeCom on loopback -------------------------------------------------------
# Its rate-limit window is shortened to keep the suite quick; relays under test are given
# the same window, so the pacing logic is exercised unchanged.
WINDOW = 2.0


@dataclass
class Fake:
    url: str
    state: object

    def delivered(self) -> list[dict[str, object]]:
        import requests

        return requests.get(f"{self.url}/_fake/delivered", timeout=10).json()["delivered"]  # type: ignore[no-any-return]

    def contents(self) -> dict[str, int]:
        from collections import Counter

        out: Counter[str] = Counter()
        for d in self.delivered():
            body = d["body"]
            kind = body.get("msgtype")  # type: ignore[attr-defined]
            part = body.get(kind, {}) if kind else body  # type: ignore[attr-defined]
            out[str(part.get("content", ""))] += 1
        return out


@pytest.fixture
def fake() -> Iterator[Fake]:
    import threading

    from werkzeug.serving import make_server

    from bot.devtools.fakewecom import FakeWecom, create_fake_app

    state = FakeWecom(window_seconds=WINDOW)
    state.configure(seed=7)
    server = make_server("127.0.0.1", 0, create_fake_app(state), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Fake(f"http://127.0.0.1:{server.server_port}", state)
    server.shutdown()
