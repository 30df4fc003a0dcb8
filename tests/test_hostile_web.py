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
from bot.runtime import Runtime, build_runtime
from bot.web.auth import create_account
from models import Assignment, Member, Progress
from models.outbox import enqueue
from tests.conftest import Clock, County
from tests.test_wecom_login import browser, through_wecom, wecom_rt  # noqa: F401 (fixtures)

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


# ---- sessions (finding 3) -------------------------------------------------------------


def test_logout_makes_a_copied_cookie_worthless(rt: Runtime, county: County) -> None:
    accounts(rt)
    app = create_app(runtime=rt, TESTING=True)
    client = app.test_client()
    assert login(client, "duchashi").status_code == 302
    cookie = client.get_cookie("session")
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie("session", cookie.value)
    assert thief.get("/api/ledger").status_code == 200
    client.post("/logout", data={"csrf_token": csrf(client, "/ledger")})
    assert thief.get("/api/ledger").status_code == 401


def test_a_session_lapses_on_the_server(rt: Runtime, county: County, clock: Clock) -> None:
    accounts(rt)
    client = client_for(rt)
    login(client, "duchashi")
    clock.advance(hours=11)
    assert client.get("/api/ledger").status_code == 200
    clock.advance(hours=2)  # past web.session_hours (12)
    assert client.get("/api/ledger").status_code == 401


def test_an_account_of_a_deactivated_member_is_signed_out(rt: Runtime, county: County) -> None:
    accounts(rt)
    client = client_for(rt)
    login(client, "duchashi")
    assert client.get("/api/ledger").status_code == 200
    with rt.sessions() as s:
        s.scalars(select(Member).where(Member.userid == "dcs_sup")).one().active = False
        s.commit()
    assert client.get("/api/ledger").status_code == 401


def test_the_cookie_is_samesite_lax_and_secure_behind_https(
    db_url: str, engine: Any, clock: Clock, county: County
) -> None:
    for base, secure in (("http://127.0.0.1:8000", False), ("https://duban.example.gov.cn", True)):
        cfg = load_config(
            environ={}, overrides={"database": {"url": db_url}, "web": {"base_url": base}}
        )
        rt = build_runtime(cfg, clock=clock, engine=engine)
        client = client_for(rt)
        header = client.get("/login").headers["Set-Cookie"]
        assert "SameSite=Lax" in header and ("Secure" in header) == secure, header


def test_a_wecom_session_follows_the_member_on_every_request(
    browser: FlaskClient,  # noqa: F811 (the fixture)
    fake: Any,
    wecom_rt: Runtime,  # noqa: F811
    backend: str,
) -> None:
    """Roles and deactivation take effect on the next request, not after 31 days."""

    def member() -> Any:
        return s.scalars(select(Member).where(Member.userid == "dcs_sup")).one()

    assert through_wecom(browser, fake, "dcs_sup").status_code == 302  # type: ignore[attr-defined]
    with wecom_rt.sessions() as s:
        enqueue(
            s,
            dedupe_key="k",
            channel="webhook",
            target="key-SECRET",
            now=wecom_rt.now(),
            content="x",
        )
        member().roles = ["supervisor", "admin"]
        s.commit()
    assert "key-SECRET" in browser.get("/api/outbox").text  # admin by role
    assert browser.get("/ledger/import").status_code == 200
    with wecom_rt.sessions() as s:
        member().roles = ["supervisor"]
        s.commit()
    assert "key-SECRET" not in browser.get("/api/outbox").text
    with wecom_rt.sessions() as s:
        member().roles = []
        s.commit()
    assert browser.get("/ledger/import").status_code == 403
    with wecom_rt.sessions() as s:
        member().active = False
        s.commit()
    assert browser.get("/api/ledger").status_code == 401


# ---- guessing (finding 5) -------------------------------------------------------------


def test_login_locks_an_account_after_five_failures(
    rt: Runtime, county: County, clock: Clock
) -> None:
    accounts(rt)
    app = create_app(runtime=rt, TESTING=True)
    client = app.test_client()
    for _ in range(5):
        assert login(client, "duchashi", "wrong-password").status_code == 401
    r = login(client, "duchashi")  # the right password, too late
    assert r.status_code == 429 and "登录失败次数过多，已暂时锁定，请 15 分钟后再试" in r.text
    other = app.test_client()  # another browser and address, same account: locked as well
    assert login(other, "duchashi", REMOTE_ADDR="10.0.0.9").status_code == 429
    assert login(app.test_client(), "admin").status_code == 302  # other accounts are not
    clock.advance(minutes=16)
    assert login(app.test_client(), "duchashi").status_code == 302


def test_login_locks_a_source_spraying_names(rt: Runtime, county: County) -> None:
    accounts(rt)
    app = create_app(runtime=rt, TESTING=True)
    client = app.test_client()
    for i in range(20):
        assert login(client, f"guess{i}", "wrong-password").status_code == 401
    assert login(client, "admin").status_code == 429
    assert login(app.test_client(), "admin", REMOTE_ADDR="10.0.0.7").status_code == 302


def test_unknown_users_cost_the_same_hashing(rt: Runtime, county: County, monkeypatch: Any) -> None:
    from bot.web import auth

    accounts(rt)
    checked: list[str] = []
    real = auth.check_password_hash

    def counting(pwhash: str, password: str) -> bool:
        checked.append(pwhash.split("$")[0])
        return real(pwhash, password)

    monkeypatch.setattr(auth, "check_password_hash", counting)
    login(client_for(rt), "nobody", "wrong-password")
    login(client_for(rt), "duchashi", "wrong-password")
    assert len(checked) == 2 and checked[0] == checked[1]  # one hash of the same kind each


def test_bind_codes_cannot_be_guessed(rt: Runtime, county: County, clock: Clock) -> None:
    from bot.inbound.binding import FAILURES_ALL, issue_code, redeem

    with rt.sessions() as s:
        member = s.scalars(select(Member).where(Member.userid == "hxx_liaison")).one()
        code = issue_code(s, member, rt.now())
        s.commit()
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"

    def attempt(openid: str, text: str) -> bool:
        with rt.sessions() as s:
            bound = redeem(s, openid, text, rt.now())
            s.commit()
            return bound is not None

    for _ in range(5):
        assert not attempt("o-guesser", f"绑定 {wrong}")
    assert not attempt("o-guesser", f"绑定 {code}")  # locked for this sender
    clock.advance(hours=1)
    for i in range(FAILURES_ALL[0]):
        attempt(f"o-{i}", f"绑定 {wrong}")
    assert not attempt("o-honest", f"绑定 {code}")  # everyone is locked for the hour
    clock.advance(hours=1, minutes=1)
    assert attempt("o-honest", f"绑定 {code}")
