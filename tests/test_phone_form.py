"""The phone form (报送, `/m`): each action through the chat path's functions, evidence
uploads, refusals that record nothing, a double submit that records once, another unit's
item refused, and one submit over real HTTP."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from flask.testing import FlaskClient
from sqlalchemy import func, select

from bot.config import Config, load_config
from bot.runtime import Runtime
from bot.web.auth import create_account
from models import AuditLog, Extension, Outbox, Progress, Setting, Task, Unit
from tests.conftest import County, LiveServer, serve_app
from tests.test_browser import browser
from tests.test_handlers import status_of
from tests.test_web import PASSWORD, csrf, text

__all__ = ["browser"]  # the Chromium fixture, shared with test_browser

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


@pytest.fixture
def config(db_url: str, tmp_path: Path) -> Config:
    # 河湖长制 (#2) requires evidence; 安全生产 (#1, #3) does not.
    return load_config(
        environ={},
        overrides={
            "database": {"url": db_url},
            "rules": {"evidence_required": ["河湖长制"]},
            "storage": {"evidence_dir": str(tmp_path / "evidence")},
            "web": {"base_url": "http://duban.example.cn/"},
        },
    )


def login(rt: Runtime, username: str, userid: str) -> FlaskClient:
    from bot.app import create_app

    with rt.sessions() as s:
        create_account(s, username, PASSWORD, member_userid=userid)
        s.commit()
    client = create_app(runtime=rt, TESTING=True).test_client()
    r = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": csrf(client)}
    )
    assert r.status_code == 302
    return client


def assignment_id(rt: Runtime, code: int, unit: str) -> int:
    from tests.test_lead_review import row

    return row(rt, code, unit).id


def form_fields(client: FlaskClient, aid: int, form: str) -> dict[str, str]:
    """The hidden fields of one of the item page's forms (CSRF token and one-time nonce)."""
    html = client.get(f"/m/{aid}").get_data(as_text=True)
    m = re.search(rf'<form[^>]*id="{form}">(.*?)</form>', html, re.S)
    assert m, html
    return dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]+)"', m.group(1)))


def audit_actions(rt: Runtime, aid: int) -> list[str]:
    with rt.sessions() as s:
        return list(
            s.scalars(
                select(AuditLog.action)
                .where(AuditLog.entity == "assignment", AuditLog.entity_id == aid)
                .order_by(AuditLog.id)
            )
        )


@pytest.fixture
def liaison(rt: Runtime, county: County) -> FlaskClient:
    return login(rt, "zhang", county.liaison_many)


def test_the_list_shows_the_units_open_items_only(rt: Runtime, liaison: FlaskClient) -> None:
    page = text(liaison.get("/m").get_data(as_text=True))
    assert "报送 · 城关镇" in page
    for item in ("#1 开展燃气安全隐患排查", "#2 更新河道巡查台账", "#3 整改消防通道占用问题"):
        assert item in page
    assert "报送重点项目清单" not in page  # 县发改局's item
    assert "报送</a>" in liaison.get("/ledger").get_data(as_text=True)  # in the members' nav


def test_done_with_a_photo_is_a_claim_with_its_evidence(
    rt: Runtime, county: County, liaison: FlaskClient
) -> None:
    aid = assignment_id(rt, 2, "CGZ")
    html = liaison.get(f"/m/{aid}").get_data(as_text=True)
    assert "本事项须上传佐证材料" in html
    fields = form_fields(liaison, aid, "done")
    r = liaison.post(
        f"/m/{aid}/done",
        data={**fields, "note": "台账已更新", "files": (io.BytesIO(PNG), "现场.png")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 200, r.get_data(as_text=True)
    assert "已收到：城关镇 #2 更新河道巡查台账 报完成（台账已更新）" in text(
        r.get_data(as_text=True)
    )
    assert status_of(rt, 2, "CGZ") == "reported"
    assert audit_actions(rt, aid) == ["attach_evidence", "claim_done"]
    with rt.sessions() as s:
        evidence = s.scalars(select(Progress).where(Progress.kind == "evidence")).one()
        stored = evidence.attachments[0]
        assert stored["status"] == "stored" and stored["size"] == len(PNG)
        assert (Path(rt.config.storage.evidence_dir) / stored["file"]).read_bytes() == PNG
        # The office is told, with the evidence counted, as after a chat claim.
        notice = s.scalars(select(Outbox).where(Outbox.dedupe_key.startswith("done-claim:"))).one()
        assert "佐证材料：1 件" in str(notice.payload)
    # The stored file is served from the task page's evidence link.
    assert liaison.get(f"/evidence/{evidence.id}/0").data == PNG


def test_done_without_the_required_evidence_is_refused_and_records_nothing(
    rt: Runtime, county: County, liaison: FlaskClient
) -> None:
    aid = assignment_id(rt, 2, "CGZ")
    fields = form_fields(liaison, aid, "done")
    r = liaison.post(f"/m/{aid}/done", data={**fields, "note": "已完成"})
    assert r.status_code == 400
    assert "要求提供佐证材料，请选择现场照片或文件后再提交" in r.get_data(as_text=True)
    assert status_of(rt, 2, "CGZ") == "not_started" and audit_actions(rt, aid) == []
    # A page's file of a type that could run as a page is refused too.
    r = liaison.post(
        f"/m/{aid}/done",
        data={**fields, "files": (io.BytesIO(b"<script>"), "x.html")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 400 and "不是可接收的类型" in r.get_data(as_text=True)
    assert audit_actions(rt, aid) == []


def test_progress_is_recorded_as_chat_records_it(
    rt: Runtime, county: County, liaison: FlaskClient
) -> None:
    aid = assignment_id(rt, 1, "CGZ")
    fields = form_fields(liaison, aid, "progress")
    r = liaison.post(f"/m/{aid}/progress", data={**fields, "percent": "60", "note": "摸底完成"})
    assert r.status_code == 200
    assert "已记录进度：#1 开展燃气安全隐患排查 60%，摸底完成" in r.get_data(as_text=True)
    assert audit_actions(rt, aid) == ["report_progress"]
    with rt.sessions() as s:
        assert s.scalars(select(AuditLog.source).where(AuditLog.entity_id == aid)).one() == "form"
    assert "手机报送" in text(liaison.get("/task/1").get_data(as_text=True))  # the change log
    bad = liaison.post(
        f"/m/{aid}/progress", data={**form_fields(liaison, aid, "progress"), "percent": "120"}
    )
    assert bad.status_code == 400 and "0–100%" in bad.get_data(as_text=True)
    assert audit_actions(rt, aid) == ["report_progress"]


def test_a_targets_value_counts_toward_it(
    rt: Runtime, county: County, liaison: FlaskClient
) -> None:
    from models import Assignment

    with rt.sessions() as s:
        t1 = s.scalars(select(Task).where(Task.code == 1)).one()
        cgz = s.scalars(select(Unit).where(Unit.code == "CGZ")).one()
        t = Task(
            code=9,
            key_work=t1.key_work,
            content="完成农户改厕",
            lead_unit=t1.lead_unit,
            deadline=t1.deadline,
            target_value=200,
            target_unit="户",
        )
        s.add(t)
        s.add(Assignment(task=t, unit=cgz))
        s.commit()
    aid = assignment_id(rt, 9, "CGZ")
    assert "已报 0户 / 目标 200户" in text(liaison.get("/m").get_data(as_text=True))
    fields = form_fields(liaison, aid, "progress")
    r = liaison.post(f"/m/{aid}/progress", data={**fields, "value": "150"})
    assert r.status_code == 200
    assert audit_actions(rt, aid) == ["report_quantity"]
    from tests.test_lead_review import row

    a = row(rt, 9, "CGZ")
    assert a.value == 150 and a.percent == 75
    assert "已报 150户 / 目标 200户" in text(liaison.get("/m").get_data(as_text=True))


def test_extension_and_a_past_date_refused(
    rt: Runtime, county: County, liaison: FlaskClient
) -> None:
    aid = assignment_id(rt, 1, "CGZ")
    past = liaison.post(
        f"/m/{aid}/extension",
        data={**form_fields(liaison, aid, "extension"), "date": "2026-11-20", "reason": "下雨"},
    )
    assert past.status_code == 400
    assert "11月20日已经过去，不能延期到这一天" in past.get_data(as_text=True)
    fields = form_fields(liaison, aid, "extension")
    r = liaison.post(
        f"/m/{aid}/extension", data={**fields, "date": "2026-12-31", "reason": "设备未到货"}
    )
    assert r.status_code == 200
    with rt.sessions() as s:
        ext = s.scalars(select(Extension)).one()
        assert (ext.new_deadline.isoformat(), ext.reason) == ("2026-12-31", "设备未到货")
        assert s.scalar(
            select(func.count())
            .select_from(Outbox)
            .where(Outbox.dedupe_key.startswith("ext-request:"))
        )
    assert audit_actions(rt, aid) == ["request_extension"]


def test_a_double_submit_records_once(rt: Runtime, county: County, liaison: FlaskClient) -> None:
    aid = assignment_id(rt, 1, "CGZ")
    fields = form_fields(liaison, aid, "progress")
    first = liaison.post(f"/m/{aid}/progress", data={**fields, "percent": "50"})
    second = liaison.post(f"/m/{aid}/progress", data={**fields, "percent": "50"})
    assert first.status_code == second.status_code == 200
    assert "这张表单已经提交过，没有重复记录" in second.get_data(as_text=True)
    assert "已记录进度" in second.get_data(as_text=True)  # the first result, shown again
    assert audit_actions(rt, aid) == ["report_progress"]
    with rt.sessions() as s:
        assert (
            s.scalar(
                select(func.count()).select_from(Setting).where(Setting.key.startswith("form:"))
            )
            == 1
        )
    # A nonce not issued to this session is refused outright.
    forged = liaison.post(
        f"/m/{aid}/progress", data={**fields, "nonce": "abc.def", "percent": "50"}
    )
    assert forged.status_code == 400


def test_another_units_item_is_not_found(rt: Runtime, county: County, liaison: FlaskClient) -> None:
    theirs = assignment_id(rt, 2, "HXX")
    assert liaison.get(f"/m/{theirs}").status_code == 404
    fields = form_fields(liaison, assignment_id(rt, 1, "CGZ"), "progress")
    r = liaison.post(f"/m/{theirs}/progress", data={**fields, "percent": "50"})
    assert r.status_code == 404 and audit_actions(rt, theirs) == []
    # Without a CSRF token nothing is done either.
    no_csrf = liaison.post(f"/m/{theirs}/progress", data={"nonce": fields["nonce"], "percent": "5"})
    assert no_csrf.status_code == 400


def test_an_account_without_a_member_cannot_report(rt: Runtime, county: County) -> None:
    from bot.app import create_app

    with rt.sessions() as s:
        create_account(s, "office", PASSWORD)
        s.commit()
    client = create_app(runtime=rt, TESTING=True).test_client()
    client.post(
        "/login", data={"username": "office", "password": PASSWORD, "csrf_token": csrf(client)}
    )
    r = client.get("/m")
    assert r.status_code == 403 and "没有关联本县督办人员" in r.get_data(as_text=True)


@pytest.fixture
def site(rt: Runtime, county: County) -> Iterator[LiveServer]:
    with rt.sessions() as s:
        create_account(s, "zhang", PASSWORD, member_userid=county.liaison_many)
        s.commit()
    yield from serve_app(rt)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql", "mariadb"])
def test_over_real_http_a_report_takes_effect_once(rt: Runtime, site: LiveServer) -> None:
    web = requests.Session()
    page = web.get(f"{site.url}/login", timeout=10).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    r = web.post(
        f"{site.url}/login",
        data={"username": "zhang", "password": PASSWORD, "csrf_token": token.group(1)},
        timeout=10,
    )
    assert r.url.endswith("/ledger")
    aid = assignment_id(rt, 3, "CGZ")
    html = web.get(f"{site.url}/m/{aid}", timeout=10).text
    form = re.search(r'<form[^>]*id="done">(.*?)</form>', html, re.S)
    assert form
    fields = dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]+)"', form.group(1)))
    files = {"files": ("通道.jpg", PNG, "image/jpeg")}
    answers = [
        web.post(
            f"{site.url}/m/{aid}/done", data={**fields, "note": "已清理"}, files=files, timeout=10
        )
        for _ in range(2)
    ]
    assert [a.status_code for a in answers] == [200, 200]
    assert "已收到：城关镇 #3" in answers[0].text and "没有重复记录" in answers[1].text
    assert audit_actions(rt, aid) == ["attach_evidence", "claim_done"]
    assert status_of(rt, 3, "CGZ") == "reported"

    # Two taps at once on one form (two connections, the same nonce): one record.
    from concurrent.futures import ThreadPoolExecutor

    one = assignment_id(rt, 1, "CGZ")
    html = web.get(f"{site.url}/m/{one}", timeout=10).text
    form = re.search(r'<form[^>]*id="progress">(.*?)</form>', html, re.S)
    assert form
    fields = dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]+)"', form.group(1)))

    def tap(_: int) -> int:
        other = requests.Session()
        other.cookies.update(web.cookies)
        data = {**fields, "percent": "40"}
        return other.post(f"{site.url}/m/{one}/progress", data=data, timeout=30).status_code

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(tap, range(4))) == [200] * 4
    assert audit_actions(rt, one) == ["report_progress"]


def test_help_and_nudges_name_the_form_when_the_site_is_reachable(
    rt: Runtime, county: County
) -> None:
    from bot.config import WebConfig
    from bot.scheduler import remind
    from tests.test_handlers import say

    link = "手机报送（可传照片）：http://duban.example.cn/m"
    assert link in say(rt, county.liaison_many, "帮助")
    assert any(s.enqueued for s in remind(rt))
    with rt.sessions() as s:
        nudges = [
            str(o.payload)
            for o in s.scalars(select(Outbox).where(Outbox.dedupe_key.startswith("nudge")))
        ]
    # The units' own nudges name it; escalations to leaders and the office do not.
    to_units = [n for n in nudges if "【逾期催办】" in n or "提醒】" in n or "今日到期" in n]
    assert to_units and all(link in n for n in to_units)
    assert all(link not in n for n in nudges if "【逾期升级】" in n)
    # The default address is this machine's loopback: no phone could open it, so no link.
    assert WebConfig().phone_form_url == ""
    assert WebConfig(base_url="https://duban.gov.cn").phone_form_url == "https://duban.gov.cn/m"


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_phone_in_chromium_reports_progress(browser: object, site: LiveServer) -> None:
    from tests.test_browser import signed_in

    page = signed_in(browser, site, "/m", user="zhang", width=390)
    assert page.evaluate("document.body.scrollWidth") <= 390  # no sideways scrolling
    page.click("text=#1 开展燃气安全隐患排查")
    page.wait_for_url("**/m/*")
    assert page.locator("input[type=date]").count() == 1
    assert page.locator("input[type=file]").get_attribute("accept").startswith("image/")
    assert page.evaluate("document.body.scrollWidth") <= 390
    page.fill("#progress input[name=percent]", "70")
    page.fill("#progress textarea[name=note]", "已排查 7 个村")
    page.click("#progress button")
    page.wait_for_url("**/progress")
    assert "已记录进度：#1 开展燃气安全隐患排查 70%，已排查 7 个村" in page.inner_text("pre.result")
    aid = assignment_id(site.rt, 1, "CGZ")
    assert audit_actions(site.rt, aid) == ["report_progress"]
    page.reload()  # the result page reloaded sends the same form again
    assert "没有重复记录" in page.inner_text("main")
    assert audit_actions(site.rt, aid) == ["report_progress"]


def test_a_recurring_duty_shows_and_counts_its_current_occurrence(
    rt: Runtime, county: County, liaison: FlaskClient
) -> None:
    import datetime as dt

    from models import Assignment, KeyWork

    with rt.sessions() as s:
        kw = s.scalars(select(KeyWork).where(KeyWork.name == "安全生产")).one()
        cgz = s.scalars(select(Unit).where(Unit.code == "CGZ")).one()
        t = Task(
            code=21,
            key_work=kw,
            content="每月安全巡查不少于2次",
            deadline=dt.date(2026, 12, 31),
            recurrence={"every": "month", "times": 2},
        )
        s.add_all(
            [
                Assignment(
                    task=t, unit=cgz, period="2026-10", period_deadline=dt.date(2026, 10, 30)
                ),
                Assignment(
                    task=t, unit=cgz, period="2026-11", period_deadline=dt.date(2026, 11, 30)
                ),
            ]
        )
        s.commit()
        current = s.scalars(select(Assignment).where(Assignment.period == "2026-11")).one().id
    html = liaison.get("/m").get_data(as_text=True)
    assert f"/m/{current}" in html and html.count("每月安全巡查不少于2次") == 1
    assert "已报 0次 / 目标 2次" in text(html)
    fields = form_fields(liaison, current, "progress")
    half = liaison.post(f"/m/{current}/progress", data={**fields, "value": "1.5"})
    assert half.status_code == 400 and audit_actions(rt, current) == []  # no half patrols
    r = liaison.post(f"/m/{current}/progress", data={**fields, "value": "2"})
    assert r.status_code == 200 and "已达到本期要求" in r.get_data(as_text=True)
    # Reaching the count is a done claim for the office to review, as in chat.
    assert audit_actions(rt, current) == ["claim_done"]


def test_an_upload_beyond_the_limit_is_refused_before_it_is_read(
    rt: Runtime, county: County, liaison: FlaskClient
) -> None:
    from bot.web.phone import MAX_BODY_BYTES

    aid = assignment_id(rt, 1, "CGZ")
    fields = form_fields(liaison, aid, "done")
    r = liaison.post(
        f"/m/{aid}/done",
        data={**fields, "note": "x"},
        # As a phone announces a 200 MB upload; the body itself is never read.
        environ_overrides={"CONTENT_LENGTH": str(MAX_BODY_BYTES + 1)},
    )
    assert r.status_code == 413 and "合计超过" in r.get_data(as_text=True)
    assert audit_actions(rt, aid) == []
