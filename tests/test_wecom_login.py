"""Members log in to the dashboard with WeCom (网页授权) against the fake WeCom on loopback:
the authorize redirect, state checking, single-use codes, non-members and outages."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask.testing import FlaskClient

from bot.app import create_app
from bot.config import load_config
from bot.runtime import Runtime, build_runtime
from tests.conftest import Clock, County, Fake

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])
WXWORK_UA = "Mozilla/5.0 (iPhone) AppleWebKit/605.1.15 wxwork/4.1.22 MicroMessenger/7.0.1"


@pytest.fixture
def wecom_rt(db_url: str, engine: object, clock: Clock, fake: Fake, county: County) -> Runtime:
    cfg = load_config(
        environ={},
        overrides={
            "database": {"url": db_url},
            "wecom": {
                "corp_id": "wwfake",
                "secret": "fake-secret",
                "agent_id": 1000002,
                "api_base_url": fake.url,
                "oauth_authorize_url": f"{fake.url}/connect/oauth2/authorize",
            },
            "web": {"base_url": "https://duban.example.gov.cn"},
        },
    )
    return build_runtime(cfg, clock=clock, engine=engine)  # type: ignore[arg-type]


@pytest.fixture
def browser(wecom_rt: Runtime) -> Iterator[FlaskClient]:
    yield create_app(runtime=wecom_rt, TESTING=True).test_client()


def through_wecom(browser: FlaskClient, fake: Fake, userid: str, next_: str = "") -> object:
    """Open /login/wecom, let (the fake) WeCom authorize, follow it back to our callback."""
    fake.state.configure(oauth_user=userid)  # type: ignore[attr-defined]
    r = browser.get("/login/wecom", query_string={"next": next_} if next_ else None)
    assert r.status_code == 302
    authorize = r.location
    assert authorize.startswith(f"{fake.url}/connect/oauth2/authorize?")
    assert authorize.endswith("#wechat_redirect")
    query = parse_qs(urlsplit(authorize).query)
    assert query["appid"] == ["wwfake"] and query["scope"] == ["snsapi_base"]
    assert query["redirect_uri"] == ["https://duban.example.gov.cn/login/wecom/callback"]
    back = requests.get(authorize.split("#")[0], allow_redirects=False, timeout=10)
    assert back.status_code == 302
    back_to = urlsplit(back.headers["Location"])
    return browser.get(back_to.path, query_string=back_to.query)


def test_a_member_logs_in_without_a_password(browser: FlaskClient, fake: Fake) -> None:
    r = through_wecom(browser, fake, "cgz_liaison", next_="/unit/CGZ")
    assert r.status_code == 302 and r.location == "/unit/CGZ"  # type: ignore[attr-defined]
    page = browser.get("/ledger")
    assert page.status_code == 200 and "张联络" in page.text
    assert browser.get("/ledger/import").status_code == 403  # a liaison reads only


def test_a_supervisor_may_import_the_ledger(browser: FlaskClient, fake: Fake) -> None:
    assert through_wecom(browser, fake, "dcs_sup").status_code == 302  # type: ignore[attr-defined]
    assert browser.get("/ledger/import").status_code == 200


def test_strangers_and_former_members_are_refused(browser: FlaskClient, fake: Fake) -> None:
    for who in ("openid:o_outsider", "nobody_here", "gone"):  # gone: deactivated
        r = through_wecom(browser, fake, who)
        assert r.status_code == 403 and "不在本系统的人员名单" in r.text  # type: ignore[attr-defined]
        assert browser.get("/ledger").status_code == 302  # still not logged in


def test_a_forged_or_replayed_callback_is_refused(browser: FlaskClient, fake: Fake) -> None:
    fake.state.configure(oauth_user="cgz_liaison")  # type: ignore[attr-defined]
    # No login was started in this browser: a code and state from elsewhere are refused.
    r = browser.get("/login/wecom/callback", query_string={"code": "x", "state": "y"})
    assert r.status_code == 400 and "重新进入" in r.text
    browser.get("/login/wecom")
    r = browser.get("/login/wecom/callback", query_string={"code": "x", "state": "wrong"})
    assert r.status_code == 400
    # A code WeCom never issued (or one already used): WeCom says 40029.
    r = browser.get("/login/wecom")
    state = parse_qs(urlsplit(r.location).query)["state"][0]
    r = browser.get("/login/wecom/callback", query_string={"code": "stale", "state": state})
    assert r.status_code == 400 and "失效" in r.text
    assert browser.get("/ledger").status_code == 302


def test_wecom_down_is_a_clear_error(browser: FlaskClient, fake: Fake) -> None:
    fake.state.configure(error_rate=1.0)  # type: ignore[attr-defined]
    r = through_wecom(browser, fake, "cgz_liaison")
    assert r.status_code == 502 and "稍后再试" in r.text  # type: ignore[attr-defined]


def test_inside_wecom_the_login_page_goes_straight_to_wecom(browser: FlaskClient) -> None:
    r = browser.get("/login?next=/ledger", headers={"User-Agent": WXWORK_UA})
    assert r.status_code == 302 and r.location.startswith("/login/wecom")
    r = browser.get("/login")
    assert r.status_code == 200 and "企业微信登录" in r.text


def test_without_wecom_there_is_no_wecom_login(rt: Runtime, county: County) -> None:
    browser = create_app(runtime=rt, TESTING=True).test_client()
    assert browser.get("/login/wecom").status_code == 404
    r = browser.get("/login", headers={"User-Agent": WXWORK_UA})
    assert r.status_code == 200 and "企业微信登录" not in r.text
