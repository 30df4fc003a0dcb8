"""Dashboard and JSON API: login, CSRF, pages, filters, health and metrics."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from bot.app import create_app
from bot.config import load_config
from bot.runtime import Runtime, build_runtime
from bot.web.auth import create_account
from models import Account, Setting
from models.migrate import upgrade
from models.outbox import enqueue
from tests.conftest import DEFAULT_NOW, Clock, County

PASSWORD = "correct horse battery"


@pytest.fixture
def app(rt: Runtime, county: County) -> Flask:
    with rt.sessions() as s:
        create_account(s, "duchashi", PASSWORD, is_admin=True)
        enqueue(
            s,
            dedupe_key="x1",
            channel="webhook",
            target="key-cgz",
            now=rt.now(),
            content="【催办】#3 整改消防通道占用问题\n请抓紧办理",
            mentions=["cgz_liaison"],
        )
        s.commit()
    return create_app(runtime=rt, TESTING=True)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def text(html: str) -> str:
    """What a reader sees: tags dropped, whitespace runs collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def csrf(client: FlaskClient, path: str = "/login") -> str:
    html = client.get(path).get_data(as_text=True)
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, html
    return m.group(1)


@pytest.fixture
def user(client: FlaskClient) -> Iterator[FlaskClient]:
    token = csrf(client)
    r = client.post(
        "/login", data={"username": "duchashi", "password": PASSWORD, "csrf_token": token}
    )
    assert r.status_code == 302
    yield client


def test_pages_need_login(client: FlaskClient) -> None:
    r = client.get("/ledger?unit=CGZ")
    assert r.status_code == 302
    assert r.location.startswith("/login?next=") and "ledger" in r.location
    assert client.get("/api/ledger").status_code == 401


def test_wrong_password_is_refused(client: FlaskClient) -> None:
    r = client.post(
        "/login",
        data={"username": "duchashi", "password": "nope-nope-nope", "csrf_token": csrf(client)},
    )
    assert r.status_code == 401 and "用户名或密码不正确" in r.get_data(as_text=True)
    assert client.get("/ledger").status_code == 302


def test_post_without_csrf_token_is_rejected(client: FlaskClient) -> None:
    r = client.post("/login", data={"username": "duchashi", "password": PASSWORD})
    assert r.status_code == 400


def test_ledger_lists_rows_with_lights_and_filters(user: FlaskClient) -> None:
    html = user.get("/ledger").get_data(as_text=True)
    assert "重点工作台账" in html and "整改消防通道占用问题" in html
    assert 'class="light red"' in html and "红灯 1" in html
    only = user.get("/ledger?unit=HXX").get_data(as_text=True)
    assert "河西乡" in only and "开展燃气安全隐患排查" not in only
    red = user.get("/ledger?light=red").get_data(as_text=True)
    assert "整改消防通道占用问题" in red and "更新河道巡查台账" not in red


def test_what_awaits_review_is_one_click_away(user: FlaskClient) -> None:
    assert "1 项已报完成，待督查室审核" in text(user.get("/ledger").get_data(as_text=True))
    review = user.get("/ledger?status=reported").get_data(as_text=True)
    assert "报送重点项目清单" in review and "整改消防通道占用问题" not in review
    rows = user.get("/api/ledger?status=reported").get_json()
    assert [(r["task"], r["unit_code"], r["status"]) for r in rows] == [("#4", "FGJ", "reported")]
    bad = user.get("/ledger?status=done")
    assert bad.status_code == 400 and "未知的状态" in bad.get_data(as_text=True)


def test_unit_task_members_sandbox_outbox_pages(user: FlaskClient) -> None:
    assert "张联络" in user.get("/unit/CGZ").get_data(as_text=True)
    task = user.get("/task/1").get_data(as_text=True)
    assert "关键节点" in task and "完成摸底" in task
    assert user.get("/task/999").status_code == 404
    assert "cgz_liaison" in user.get("/members").get_data(as_text=True)
    sandbox = user.get("/sandbox").get_data(as_text=True)
    assert "沙箱模式" in sandbox and "【催办】#3" in sandbox and "@ cgz_liaison" in sandbox
    assert "待发 1" in text(user.get("/outbox").get_data(as_text=True))


def test_json_api(user: FlaskClient) -> None:
    rows = user.get("/api/ledger?unit=CGZ").get_json()
    assert {r["task"] for r in rows} == {"#1", "#2", "#3"}
    assert user.get("/api/tasks/3").get_json()["rows"][0]["light"] == "red"
    assert any(u["code"] == "DCS" for u in user.get("/api/units").get_json())
    assert user.get("/api/outbox").get_json()[0]["target"] == "key-cgz"


def test_logout_needs_csrf_and_ends_the_session(user: FlaskClient) -> None:
    assert user.post("/logout").status_code == 400
    r = user.post("/logout", data={"csrf_token": csrf(user, "/ledger")})
    assert r.status_code == 302
    assert user.get("/ledger").status_code == 302


def test_healthz_and_metrics(client: FlaskClient) -> None:
    assert client.get("/healthz").get_json()["status"] == "ok"
    text = client.get("/metrics").get_data(as_text=True)
    assert 'duban_outbox_messages{status="pending"} 1.0' in text
    assert 'duban_assignments{status="not_started"}' in text


def test_healthz_reports_an_unreachable_database(rt: Runtime, county: County) -> None:
    from bot.db import make_engine, make_session_factory

    app = create_app(runtime=rt, TESTING=True)
    rt.sessions = make_session_factory(make_engine("postgresql://nobody@127.0.0.1:9/none"))
    r = app.test_client().get("/healthz")
    assert r.status_code == 503 and r.get_json()["status"] == "db_unavailable"


def test_pages_say_when_the_database_is_down(user: FlaskClient, rt: Runtime) -> None:
    from bot.db import make_engine, make_session_factory

    rt.sessions = make_session_factory(make_engine("postgresql://nobody@127.0.0.1:9/none"))
    page = user.get("/ledger")
    assert page.status_code == 503 and "数据库暂时无法连接" in page.get_data(as_text=True)
    api = user.get("/api/ledger")
    assert api.status_code == 503 and "数据库暂时无法连接" in api.get_json()["message"]


def test_short_passwords_and_duplicate_accounts_are_refused(rt: Runtime, county: County) -> None:
    with rt.sessions() as s:
        with pytest.raises(ValueError, match="至少"):
            create_account(s, "x", "short")
        create_account(s, "ok", PASSWORD, member_userid="dcs_sup")
        s.commit()
        with pytest.raises(ValueError, match="已存在"):
            create_account(s, "ok", PASSWORD)
        assert s.scalar(select(Account).where(Account.username == "ok")).password_hash != PASSWORD


def test_a_changed_password_or_removed_account_ends_its_sessions(
    user: FlaskClient, rt: Runtime
) -> None:
    from bot.web.auth import remove_account, set_password

    assert user.get("/ledger").status_code == 200
    with rt.sessions() as s:
        with pytest.raises(ValueError, match="至少"):
            set_password(s, "duchashi", "short")
        set_password(s, "duchashi", "another long passphrase")
        s.commit()
    r = user.get("/ledger")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    token = csrf(user)
    login = {"username": "duchashi", "password": "another long passphrase", "csrf_token": token}
    assert user.post("/login", data=login).status_code == 302
    assert user.get("/api/ledger").status_code == 200
    with rt.sessions() as s:
        remove_account(s, "duchashi")
        s.commit()
    assert user.get("/api/ledger").status_code == 401
    with rt.sessions() as s, pytest.raises(ValueError, match="没有账号"):
        remove_account(s, "duchashi")


def test_admin_rights_are_read_at_each_request_and_old_sessions_end(
    user: FlaskClient, rt: Runtime
) -> None:
    assert user.get("/ledger/import").status_code == 200  # duchashi is an admin
    with rt.sessions() as s:
        s.scalars(select(Account).where(Account.username == "duchashi")).one().is_admin = False
        s.commit()
    assert user.get("/ledger/import").status_code == 403
    with user.session_transaction() as sess:  # a cookie from before sessions said "via"
        sess["user"] = {"name": "duchashi", "userid": None, "admin": True}
    assert user.get("/api/ledger").status_code == 401


def test_rankings_page_api_excel_and_picture(user: FlaskClient, rt: Runtime) -> None:
    """The county's standings: a published week exactly as published, with its movement,
    lists, deductions and each unit's trend; the live week; a custom range; bad ranges."""
    import io

    from openpyxl import load_workbook

    from tests.factories import two_published_weeks

    two_published_weeks(rt)
    html = user.get("/rankings").get_data(as_text=True)
    assert "重点工作周排名" in text(html) and "实时，截至今天，未定稿" in text(html)
    assert "11月16日—11月22日（周）" in text(html) and "aria-current=page>排名" in html
    week = user.get("/rankings?period=week&from=2026-11-16&to=2026-11-22").get_data(as_text=True)
    assert "已发布，定稿" in text(week)
    data = user.get("/api/rankings?period=week&from=2026-11-16&to=2026-11-22").get_json()
    assert data["frozen"] is True and [g["group"] for g in data["groups"]] == ["乡镇", "部门"]
    rows = {r["name"]: r for g in data["groups"] for r in g["rows"]}
    for name, r in rows.items():  # every ranked unit is on the page, linked to its unit page
        assert f'/unit/{r["code"]}">{name}</a>' in week
        for x in r["lost"]:
            assert f'/task/{x["task"]}">#{x["task"]}</a>' in week
    assert (rows["河西乡"]["red"], rows["城关镇"]["black"]) == (True, True)
    assert rows["城关镇"]["lost"][0]["why"] == "逾期未完成"
    assert rows["河西乡"]["move"] == "持平" and rows["城关镇"]["move"] == "上期未参评"
    assert week.count("<polyline") == 1  # 河西乡's two weeks
    # the same dates asked as a custom range are the published week, not a recomputation
    same = user.get("/api/rankings?period=custom&from=2026-11-16&to=2026-11-22").get_json()
    assert same["frozen"] is True and same["groups"] == data["groups"]
    custom = user.get("/rankings?period=custom&from=2025-12-01&to=2026-11-30")
    assert "2025年12月1日—2026年11月30日" in text(custom.get_data(as_text=True))
    assert "较上期" not in custom.get_data(as_text=True)  # a custom range has no previous
    assert user.get("/rankings?period=custom&from=2026-11-01&to=2026-11-30").status_code == 200
    for bad, says in (
        ("period=custom", "须给出起止日期"),
        ("period=custom&from=2026-11-30&to=2026-11-01", "开始日期晚于结束日期"),
        ("period=year", "未知的周期"),
        ("period=custom&from=2026-01-01&to=9999-12-31", "日期超出范围"),
    ):
        r = user.get(f"/rankings?{bad}")
        assert r.status_code == 400 and says in r.get_data(as_text=True), bad
    assert user.get("/api/rankings?period=custom&from=x&to=y").status_code == 400
    xlsx = user.get("/rankings/export.xlsx?period=week&from=2026-11-16&to=2026-11-22")
    assert xlsx.status_code == 200
    wb = load_workbook(io.BytesIO(xlsx.data))
    assert wb.sheetnames == ["乡镇", "部门"]
    from bot.delivery.picture import cjk_font

    png = user.get("/rankings/board.png?period=week&from=2026-11-16&to=2026-11-22")
    if cjk_font() is None:
        assert png.status_code == 404
    else:
        assert png.status_code == 200 and png.data[:8] == b"\x89PNG\r\n\x1a\n"


def test_generated_secret_key_is_kept_and_shared(rt: Runtime, county: County) -> None:
    first = create_app(runtime=rt).secret_key
    second = create_app(runtime=rt).secret_key
    assert first == second and len(str(first)) == 64
    with rt.sessions() as s:
        assert s.get(Setting, "web.secret_key") is not None


def test_calendar_warning_banner(db_url: str, engine: object, county: County) -> None:
    import datetime as dt

    cfg = load_config(environ={}, overrides={"database": {"url": db_url}})
    late = build_runtime(
        cfg, clock=lambda: dt.datetime(2026, 12, 30, 2, tzinfo=dt.UTC), engine=engine
    )  # type: ignore[arg-type]
    app = create_app(runtime=late, TESTING=True)
    client = app.test_client()
    # Only admins can act on it: officials are not told about the config (issue 11).
    assert "节假日数据缺少" not in client.get("/login").get_data(as_text=True)
    with late.sessions() as s:
        create_account(s, "guanli", PASSWORD, is_admin=True)
        create_account(s, "cgz", PASSWORD, member_userid="cgz_liaison")
        s.commit()
    for name, shown in (("cgz", False), ("guanli", True)):
        client = app.test_client()
        data = {"username": name, "password": PASSWORD, "csrf_token": csrf(client)}
        assert client.post("/login", data=data).status_code == 302
        html = client.get("/ledger").get_data(as_text=True)
        assert ("节假日数据缺少 2027 年" in html) == shown, name


def test_unit_trend_api_and_chart(user: FlaskClient, rt: Runtime) -> None:
    import datetime as dt

    from schedules.board import period_bounds
    from tests.factories import freeze

    with rt.sessions() as s:
        freeze(s, rt, "week", *period_bounds("week", dt.date(2026, 11, 17)), dt.date(2026, 11, 22))
        s.commit()
    data = user.get("/api/units/CGZ/trend").get_json()
    assert data["weeks"] == [
        {
            "start": "2026-11-16",
            "end": "2026-11-22",
            "score": 0.0,
            "rank": 1,
            "red": False,
            "black": False,
        }
    ]
    html = user.get("/unit/CGZ").get_data(as_text=True)
    assert "周得分走势" in html and "<polyline" in html
    assert user.get("/api/units/NOPE/trend").status_code == 404


def test_light_counts_keep_their_totals_and_the_unit_filter(user: FlaskClient) -> None:
    html = user.get("/ledger?unit=CGZ&light=green").get_data(as_text=True)
    assert "红灯 1" in text(html) and "绿灯 1" in text(html)  # counts of the whole unit
    assert "开展燃气安全隐患排查" in html and "整改消防通道占用问题" not in html
    assert 'href="/ledger?light=red&amp;unit=CGZ"' in html


def test_units_page_lists_the_worst_first(user: FlaskClient) -> None:
    html = user.get("/units").get_data(as_text=True)
    assert html.index("城关镇") < html.index("河西乡")  # one red against none
    assert "王领导" in html and "县委县政府督查室" in html
    assert 'href="/ledger?light=red&amp;unit=CGZ"' in html


def test_task_page_shows_history_and_audit_in_beijing_time(user: FlaskClient, rt: Runtime) -> None:
    import datetime as dt

    from handlers.actions import claim_done
    from models import Assignment, Member, Task, Unit

    with rt.sessions() as s:
        a = s.scalar(
            select(Assignment)
            .join(Assignment.task)
            .join(Assignment.unit)
            .where(Task.code == 1, Unit.code == "CGZ")
        )
        who = s.scalar(select(Member).where(Member.userid == "cgz_liaison"))
        at = dt.datetime(2026, 11, 25, 1, 30, tzinfo=dt.UTC)
        claim_done(s, a, who, note="已全部排查完毕", now=at, today=at.date(), source="inbound:19")
        s.commit()
    page = text(user.get("/task/1").get_data(as_text=True))
    assert "11月25日 09:30 城关镇 张联络 报完成 已全部排查完毕" in page
    # the change log names the person and the message, not a userid and a key
    assert "城关镇 张联络 报完成 推进中 → 已报完成(待审核) 聊天消息 #19" in page


def test_outbox_page_shows_the_oldest_pending_age(user: FlaskClient, clock: Clock) -> None:
    clock.advance(minutes=75)
    page = text(user.get("/outbox").get_data(as_text=True))
    assert "待发 1" in page and "已等待 1 小时 15 分钟" in page


def test_login_goes_back_only_to_a_local_path(client: FlaskClient) -> None:
    for target, expected in [
        ("/task/1", "/task/1"),
        ("//evil.example/x", "/ledger"),
        ("/\\evil.example/x", "/ledger"),
        ("https://evil.example/", "/ledger"),
    ]:
        r = client.post(
            "/login",
            query_string={"next": target},
            data={"username": "duchashi", "password": PASSWORD, "csrf_token": csrf(client)},
        )
        assert r.status_code == 302 and r.location == expected, target


def test_errors_are_chinese_pages_and_json_under_api(
    client: FlaskClient, user: FlaskClient
) -> None:
    r = user.get("/task/999")
    assert r.status_code == 404 and "没有找到" in r.get_data(as_text=True)
    r = user.get("/api/tasks/999")
    assert r.status_code == 404 and r.get_json()["error"] == "Not Found"
    user.post("/logout", data={"csrf_token": csrf(user, "/ledger")})
    r = user.get("/api/ledger")
    assert r.status_code == 401 and r.is_json


def test_api_outbox_times_are_beijing_time(user: FlaskClient) -> None:
    row = user.get("/api/outbox").get_json()[0]
    assert row["created_at"] == "2026-11-25T10:00:00+08:00"
    assert row["mentioned_list"] == ["cgz_liaison"]


def test_healthz_when_the_sqlite_file_cannot_be_opened(tmp_path: Path) -> None:
    def runtime(url: str) -> Runtime:
        cfg = load_config(environ={}, overrides={"database": {"url": url}})
        return build_runtime(cfg, clock=lambda: DEFAULT_NOW)

    rt = runtime(f"sqlite:///{tmp_path}/t.db")
    upgrade(rt.engine)
    app = create_app(runtime=rt, TESTING=True)
    assert app.test_client().get("/healthz").status_code == 200
    # the same app, its database now in a directory that does not exist
    app.extensions["duban"] = runtime(f"sqlite:///{tmp_path}/no/such/dir/t.db")
    r = app.test_client().get("/healthz")
    assert r.status_code == 503 and r.get_json()["status"] == "db_unavailable"


@pytest.mark.parametrize("backend", ["sqlite"])
def test_every_page_renders_on_the_demo_county(rt: Runtime) -> None:
    from bot.devtools.demo import load_demo
    from models import Task, Unit

    with rt.sessions() as s:
        load_demo(s, rt.today(), rt.tz)
        create_account(s, "duchashi", PASSWORD)
        s.commit()
        units = list(s.scalars(select(Unit.code)))
        tasks = list(s.scalars(select(Task.code)))
    c = create_app(runtime=rt, TESTING=True).test_client()
    c.post("/login", data={"username": "duchashi", "password": PASSWORD, "csrf_token": csrf(c)})
    paths = ["/ledger", "/ledger?open=1", "/units", "/members", "/sandbox", "/outbox"]
    paths += ["/rankings", "/rankings?period=month", "/api/rankings"]
    paths += [f"/unit/{u}" for u in units] + [f"/task/{t}" for t in tasks]
    paths += ["/api/ledger", "/api/units", "/api/outbox"] + [f"/api/tasks/{t}" for t in tasks]
    for path in paths:
        assert c.get(path).status_code == 200, path
    lights = {r["light"] for r in c.get("/api/ledger?size=500").get_json()}
    assert lights == {"red", "yellow", "green", "done"}
