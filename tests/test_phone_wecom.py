"""The phone form from the WeCom app menu: the menu's URL (`/m`) signs the member in through
WeCom's OAuth (the fake WeCom on loopback), with no password, and lands on the form."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from bot.runtime import Runtime
from tests.conftest import Fake
from tests.test_phone_form import assignment_id, audit_actions, form_fields
from tests.test_wecom_login import WXWORK_UA, browser, through_wecom, wecom_rt

__all__ = ["browser", "wecom_rt"]  # fixtures shared with test_wecom_login

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])


def test_the_menu_url_signs_a_member_in_and_reports(
    browser: FlaskClient, fake: Fake, wecom_rt: Runtime
) -> None:
    r = browser.get("/m", headers={"User-Agent": WXWORK_UA})
    assert r.status_code == 302 and r.location == "/login?next=/m"
    r = browser.get(r.location, headers={"User-Agent": WXWORK_UA})
    assert r.status_code == 302 and r.location.startswith("/login/wecom?next=/m")
    r = through_wecom(browser, fake, "cgz_liaison", next_="/m")
    assert r.status_code == 302 and r.location == "/m"  # type: ignore[attr-defined]
    page = browser.get("/m").get_data(as_text=True)
    assert "报送 · 城关镇" in page and "#3 整改消防通道占用问题" in page
    aid = assignment_id(wecom_rt, 3, "CGZ")
    fields = form_fields(browser, aid, "progress")
    done = browser.post(
        f"/m/{aid}/progress", data={**fields, "percent": "20", "note": "已清理一半"}
    )
    assert done.status_code == 200 and "已记录进度" in done.get_data(as_text=True)
    assert audit_actions(wecom_rt, aid) == ["report_progress"]
