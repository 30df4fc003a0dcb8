"""The dashboard against a hostile reader (issue 11, findings 3, 4, 5, 7): headers on
every answer, evidence served as a download, robot keys for admins only, sessions checked
on every request, login and bind-code guessing limited."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from bot.app import create_app
from bot.config import Config, load_config
from bot.runtime import Runtime
from bot.web.auth import create_account
from models import Assignment, Progress
from models.outbox import enqueue
from tests.conftest import County

PASSWORD = "correct horse battery"
pytestmark = pytest.mark.parametrize("backend", ["sqlite"])


@pytest.fixture
def config(db_url: str, tmp_path: Path) -> Config:
    return load_config(
        environ={},
        overrides={
            "database": {"url": db_url},
            "storage": {"evidence_dir": str(tmp_path / "evidence")},
        },
    )


def client_for(rt: Runtime) -> FlaskClient:
    return create_app(runtime=rt, TESTING=True).test_client()


def csrf(client: FlaskClient, path: str = "/login") -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert m
    return m.group(1)


def login(client: FlaskClient, name: str, password: str = PASSWORD, **environ: str) -> Any:
    data = {"username": name, "password": password, "csrf_token": csrf(client)}
    return client.post("/login", data=data, environ_base=environ)


def accounts(rt: Runtime) -> None:
    with rt.sessions() as s:
        create_account(s, "admin", PASSWORD, is_admin=True)
        create_account(s, "duchashi", PASSWORD, member_userid="dcs_sup")
        enqueue(
            s,
            dedupe_key="x1",
            channel="webhook",
            target="key-cgz-SECRET",
            now=rt.now(),
            content="【催办】#3",
        )
        s.commit()


@pytest.fixture
def users(rt: Runtime, county: County) -> tuple[FlaskClient, FlaskClient]:
    accounts(rt)
    admin, user = client_for(rt), client_for(rt)
    assert login(admin, "admin").status_code == 302
    assert login(user, "duchashi").status_code == 302
    return admin, user


def test_every_answer_has_the_security_headers(
    users: tuple[FlaskClient, FlaskClient], rt: Runtime
) -> None:
    admin, _ = users
    for path in ("/login", "/ledger", "/sandbox", "/api/ledger", "/healthz", "/nope"):
        r = admin.get(path)
        assert r.headers["X-Content-Type-Options"] == "nosniff", path
        assert r.headers["X-Frame-Options"] == "DENY", path
        csp = r.headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp, path
        assert "script-src" not in csp  # no script may run: the pages have none
    for template in (Path(__file__).parents[1] / "bot" / "web" / "templates").glob("*.html"):
        assert "<script" not in template.read_text(encoding="utf-8"), template.name


def test_evidence_is_a_download_of_a_safe_type(
    users: tuple[FlaskClient, FlaskClient], rt: Runtime
) -> None:
    folder = Path(rt.config.storage.evidence_dir)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "x.html").write_text("<script>alert(document.cookie)</script>")
    (folder / "p.png").write_bytes(b"\x89PNG\r\n")
    with rt.sessions() as s:
        assignment = s.scalars(select(Assignment)).first()
        assert assignment is not None
        entry = Progress(
            assignment_id=assignment.id,
            kind="evidence",
            attachments=[
                {"type": "file", "status": "stored", "file": "x.html"},
                {"type": "image", "status": "stored", "file": "p.png"},
            ],
        )
        s.add(entry)
        s.commit()
        pid = entry.id
    _, user = users
    r = user.get(f"/evidence/{pid}/0")
    assert r.status_code == 200 and r.mimetype == "application/octet-stream"
    assert r.headers["Content-Disposition"].startswith("attachment")
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    png = user.get(f"/evidence/{pid}/1")
    assert png.mimetype == "image/png"
    assert png.headers["Content-Disposition"].startswith("attachment")


def test_robot_keys_are_for_admins_only(users: tuple[FlaskClient, FlaskClient]) -> None:
    admin, user = users
    for path in ("/sandbox", "/api/outbox"):
        assert "key-cgz-SECRET" not in user.get(path).text, path
        assert "key-cgz-SECRET" in admin.get(path).text, path
    row = user.get("/api/outbox").get_json()[0]
    assert row["target"] == "key-…"
    assert "key-…" in user.get("/sandbox").text


def test_robot_unit_names_are_shown(rt: Runtime, county: County) -> None:
    accounts(rt)
    with rt.sessions() as s:
        enqueue(s, dedupe_key="x2", channel="webhook", target="key-cgz", now=rt.now(), content="x")
        s.commit()
    user = client_for(rt)
    login(user, "duchashi")
    assert "城关镇的群机器人" in user.get("/sandbox").text
    rows = user.get("/api/outbox").get_json()
    assert {r["unit"] for r in rows} == {"城关镇", None}
