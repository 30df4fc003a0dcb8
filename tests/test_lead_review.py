"""Two-level review: the lead unit's 初审 before the office's 销号, on for 安全生产 only."""

from __future__ import annotations

import datetime as dt

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from bot.config import Config, load_config
from bot.runtime import Runtime
from models import (
    IN_PROGRESS,
    LEAD_STAGE,
    OFFICE_STAGE,
    REPORTED,
    Assignment,
    AuditLog,
    Member,
    Outbox,
    Progress,
    Task,
    Unit,
)
from schedules.calendar import WorkCalendar
from schedules.review import reviews_waiting
from schedules.rules import Rules
from tests.conftest import Clock, County
from tests.test_handlers import say, status_of


@pytest.fixture
def config(db_url: str) -> Config:
    return load_config(
        environ={},
        overrides={"database": {"url": db_url}, "rules": {"lead_review": ["安全生产"]}},
    )


@pytest.fixture
def lead(rt: Runtime, county: County) -> str:
    """县发改局 leads 安全生产 (#1, #3, #4); its head reviews, with a group of its own."""
    with rt.sessions() as s:
        fgj = s.scalars(select(Unit).where(Unit.code == "FGJ")).one()
        fgj.webhook_keys = ["key-fgj"]
        s.add(Member(userid="fgj_head", name="吴局长", unit=fgj, roles=["head"]))
        s.commit()
    return "fgj_head"


def sent(rt: Runtime) -> list[tuple[str, str]]:
    with rt.sessions() as s:
        rows = s.scalars(select(Outbox).order_by(Outbox.id)).all()
        return [(o.target, o.payload["content"]) for o in rows]


def row(rt: Runtime, code: int, unit: str) -> Assignment:
    with rt.sessions() as s:
        a = s.scalars(
            select(Assignment)
            .join(Assignment.task)
            .join(Assignment.unit)
            .where(Task.code == code, Unit.code == unit)
        ).one()
        s.expunge(a)
        return a


def actions(rt: Runtime) -> list[str]:
    with rt.sessions() as s:
        return [
            a
            for a in s.scalars(select(AuditLog.action).order_by(AuditLog.id)).all()
            if a != "message"
        ]


def test_claim_goes_to_the_lead_unit_first_and_the_office_waits(
    rt: Runtime, county: County, lead: str
) -> None:
    reply = say(rt, county.liaison_many, "完成 #3 通道已清理")
    assert "先由牵头单位县发改局初审" in reply
    a = row(rt, 3, "CGZ")
    assert a.status == REPORTED and a.review_stage == LEAD_STAGE
    out = sent(rt)
    assert [t for t, _ in out] == ["key-fgj"]  # not the office yet
    assert "【待初审】城关镇 报告 #3" in out[0][1] and "初审通过 #3 城关镇" in out[0][1]

    refused = say(rt, county.supervisor, "销号 #3 城关镇")
    assert "还在等牵头单位县发改局初审" in refused
    assert status_of(rt, 3, "CGZ") == REPORTED

    # A liaison of the lead unit cannot vouch for a claim; its head can.
    assert "负责人、分管领导或初审人" in say(rt, county.liaison_dept, "初审通过 #3")
    assert "初审通过：#3 城关镇" in say(rt, lead, "初审通过 #3 现场照片齐全")
    a = row(rt, 3, "CGZ")
    assert a.status == REPORTED and a.review_stage == OFFICE_STAGE
    office = [c for t, c in sent(rt) if t == "key-dcs"]
    assert len(office) == 1 and "牵头单位县发改局已初审通过" in office[0]
    assert "初审意见：现场照片齐全" in office[0]

    assert "已销号" in say(rt, county.supervisor, "销号 #3 城关镇")
    assert status_of(rt, 3, "CGZ") == "closed"
    assert actions(rt) == ["claim_done", "lead_pass", "close"]
    with rt.sessions() as s:
        log = s.scalars(select(AuditLog).where(AuditLog.action == "lead_pass")).one()
        assert log.actor == "fgj_head" and log.detail["note"] == "现场照片齐全"


def test_lead_unit_returns_a_claim_with_a_reason_and_the_office_never_sees_it(
    rt: Runtime, county: County, lead: str
) -> None:
    say(rt, county.liaison_many, "进度 #3 40%")
    say(rt, county.liaison_many, "完成 #3")
    assert "需要写明原因" in say(rt, lead, "初审退回 #3")
    assert status_of(rt, 3, "CGZ") == REPORTED
    reply = say(rt, lead, "初审退回 #3 城关镇 缺少整改后现场照片")
    assert "初审退回：#3 城关镇，原因：缺少整改后现场照片" in reply
    a = row(rt, 3, "CGZ")
    assert a.status == IN_PROGRESS and a.review_stage is None and a.percent == 40
    assert a.reported_at is None
    out = sent(rt)
    assert [t for t, _ in out] == ["key-fgj", "key-cgz"]
    assert "未通过牵头单位县发改局初审" in out[1][1] and "缺少整改后现场照片" in out[1][1]
    with rt.sessions() as s:
        entry = s.scalars(select(Progress).where(Progress.kind == "lead_review")).one()
        assert entry.text == "初审退回：缺少整改后现场照片" and entry.member.userid == lead
        log = s.scalars(select(AuditLog).where(AuditLog.action == "lead_reject")).one()
        assert log.detail["new_status"] == IN_PROGRESS
        assert log.detail["reason"] == "缺少整改后现场照片"
    # Once returned there is nothing left to review.
    assert "没有待初审" in say(rt, lead, "初审通过 #3")
    # Reported again, it goes back to the lead unit.
    say(rt, county.liaison_many, "完成 #3 已补充照片")
    assert row(rt, 3, "CGZ").review_stage == LEAD_STAGE


def test_queue_lists_what_waits_for_the_readers_unit(
    rt: Runtime, county: County, lead: str
) -> None:
    assert "目前没有待初审" in say(rt, lead, "待初审")
    say(rt, county.liaison_many, "完成 #3")
    queue = say(rt, lead, "待初审")
    assert "待初审 1 项" in queue and "#3 城关镇" in queue


def test_key_work_without_two_level_review_goes_straight_to_the_office(
    rt: Runtime, county: County, lead: str
) -> None:
    # #2 belongs to 河湖长制, which the config leaves out.
    reply = say(rt, county.liaison_one, "完成 #2")
    assert "督查室审核后销号" in reply
    a = row(rt, 2, "HXX")
    assert a.review_stage == OFFICE_STAGE
    assert [t for t, _ in sent(rt)] == ["key-dcs"]
    assert "已销号" in say(rt, county.supervisor, "销号 #2 河西乡")


def test_lead_unit_never_reviews_its_own_claim(rt: Runtime, county: County, lead: str) -> None:
    with rt.sessions() as s:
        fgj = s.scalars(select(Unit).where(Unit.code == "FGJ")).one()
        t1 = s.scalars(select(Task).where(Task.code == 1)).one()
        s.add(Assignment(task=t1, unit=fgj, status=IN_PROGRESS))
        s.commit()
    say(rt, county.liaison_dept, "完成 #1")
    assert row(rt, 1, "FGJ").review_stage == OFFICE_STAGE
    assert [t for t, _ in sent(rt)] == ["key-dcs"]


def test_reviews_waiting_too_long_counts_workdays_at_the_current_step() -> None:
    from models import KeyWork

    rules = Rules(review_nudge_workdays=2)
    cal = WorkCalendar()
    kw = KeyWork(name="安全生产")
    unit = Unit(id=1, code="A", name="城关镇", kind="township")
    task = Task(code=7, key_work=kw, content="x", deadline=dt.date(2026, 12, 31))

    def claim(stage: str | None, at: dt.datetime) -> Assignment:
        return Assignment(
            task=task,
            unit=unit,
            unit_id=1,
            status=REPORTED,
            reported_at=dt.datetime(2026, 11, 16, 2, tzinfo=dt.UTC),
            review_stage=stage,
            review_stage_at=None if stage is None else at,
        )

    mon = dt.datetime(2026, 11, 23, 2, tzinfo=dt.UTC)  # Monday 23 Nov, 10:00 local
    fresh = claim(LEAD_STAGE, mon)
    passed_thu = claim(OFFICE_STAGE, mon - dt.timedelta(days=4))  # Thursday before
    legacy = claim(None, mon)  # no stage: with the office since reported_at (16 Nov)
    closed = claim(None, mon)
    closed.status = "closed"
    found = reviews_waiting([fresh, passed_thu, legacy, closed], dt.date(2026, 11, 24), rules, cal)
    assert [(w.assignment is legacy, w.stage, w.workdays) for w in found] == [
        (True, OFFICE_STAGE, 6),
        (False, OFFICE_STAGE, 3),
    ]
    # Waiting since Monday, it is due for a nudge on Wednesday.
    later = reviews_waiting([fresh], dt.date(2026, 11, 25), rules, cal)
    assert [(w.stage, w.workdays) for w in later] == [(LEAD_STAGE, 2)]


def web_login(rt: Runtime, username: str, userid: str) -> FlaskClient:
    from bot.app import create_app
    from bot.web.auth import create_account
    from tests.test_web import PASSWORD, csrf

    with rt.sessions() as s:
        create_account(s, username, PASSWORD, member_userid=userid)
        s.commit()
    client = create_app(runtime=rt, TESTING=True).test_client()
    r = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": csrf(client)}
    )
    assert r.status_code == 302
    return client


def test_dashboard_review_chain_on_the_task_page(rt: Runtime, county: County, lead: str) -> None:
    from tests.test_web import csrf, text

    say(rt, county.liaison_many, "完成 #3 通道已清理")
    office = web_login(rt, "duchashi", county.supervisor)
    html = office.get("/task/3").get_data(as_text=True)
    assert "待初审 牵头单位县发改局初审后报督查室销号" in text(html)
    assert 'name="action"' not in html  # the office has no button while the lead unit holds it
    assert "已报完成，待牵头单位初审：逾期3个工作日完成" in text(html)
    token = csrf(office, "/task/3")
    refused = office.post(
        "/task/3/review", data={"csrf_token": token, "unit": "CGZ", "action": "close"}
    )
    assert refused.status_code == 403 and "待牵头单位初审" in refused.get_data(as_text=True)

    head = web_login(rt, "fgj", lead)
    token = csrf(head, "/task/3")
    assert 'value="lead_pass"' in head.get("/task/3").get_data(as_text=True)
    no_reason = head.post(
        "/task/3/review", data={"csrf_token": token, "unit": "CGZ", "action": "lead_reject"}
    )
    assert no_reason.status_code == 400
    ok = head.post(
        "/task/3/review",
        data={"csrf_token": token, "unit": "CGZ", "action": "lead_pass", "note": "照片齐全"},
    )
    assert ok.status_code == 302
    a = row(rt, 3, "CGZ")
    assert a.review_stage == OFFICE_STAGE

    page = text(office.get("/task/3").get_data(as_text=True))
    assert "待销号 督查室审核" in page
    assert "初审通过：照片齐全" in page  # the step in the history, by whom and how
    assert "初审通过 吴局长" not in page and "管理后台" in page
    token = csrf(office, "/task/3")
    done = office.post(
        "/task/3/review", data={"csrf_token": token, "unit": "CGZ", "action": "close"}
    )
    assert done.status_code == 302 and status_of(rt, 3, "CGZ") == "closed"
    assert actions(rt) == ["claim_done", "lead_pass", "close"]
    page = text(office.get("/task/3").get_data(as_text=True))
    assert "吴局长 初审通过" in page and "孙督查 销号" in page


def test_reviewers_are_nudged_once_a_day_when_a_claim_waits_too_long(
    rt: Runtime, county: County, lead: str, clock: Clock
) -> None:
    from bot.scheduler import remind_reviews

    say(rt, county.liaison_many, "完成 #3")  # Wednesday 25 Nov, 10:00
    clock.set(dt.datetime(2026, 11, 26, 2, tzinfo=dt.UTC))  # Thursday: one workday for #3
    # Only 县发改局's claim on #4, at the office since Tuesday (a factory row, no stage).
    assert remind_reviews(rt) == 1
    office = sent(rt)[-1]
    assert office[0] == "key-dcs" and "【审核提醒】" in office[1] and "#4 县发改局" in office[1]
    clock.set(dt.datetime(2026, 11, 27, 2, tzinfo=dt.UTC))  # Friday: two for #3
    assert remind_reviews(rt) == 2  # the lead unit's list and the office's
    assert remind_reviews(rt) == 0  # once a day
    with rt.sessions() as s:
        nudge = s.scalars(select(Outbox).where(Outbox.target == "key-fgj")).all()[-1]
        assert nudge.payload["mentioned_list"] == ["fgj_head"]
        assert "【初审提醒】" in nudge.payload["content"]
        assert (
            "#3 城关镇 整改消防通道占用问题（11月25日起，已等 2 个工作日）"
            in (nudge.payload["content"])
        )
    say(rt, lead, "初审通过 #3")
    clock.set(dt.datetime(2026, 11, 30, 2, tzinfo=dt.UTC))  # Monday: one workday at the office
    remind_reviews(rt)
    office = [c for t, c in sent(rt) if t == "key-dcs"][-1]
    assert "#3" not in office and "#4 县发改局" in office
    clock.set(dt.datetime(2026, 12, 1, 2, tzinfo=dt.UTC))  # Tuesday: two
    remind_reviews(rt)
    office = [c for t, c in sent(rt) if t == "key-dcs"][-1]
    assert "#3 城关镇" in office and "（11月27日起，已等 2 个工作日）" in office


def test_office_review_list_leaves_out_what_the_lead_unit_holds(
    rt: Runtime, county: County, lead: str
) -> None:
    say(rt, county.liaison_many, "完成 #3")
    listing = say(rt, county.supervisor, "待审核")
    # 县发改局's own #4 is the office's; 城关镇's #3 waits for 县发改局's 初审.
    assert "待审核 1 项" in listing and "#4 县发改局" in listing and "#3" not in listing
    assert "另有 1 项正待牵头单位初审" in listing
    say(rt, lead, "初审通过 #3")
    listing = say(rt, county.supervisor, "待审核")
    assert "待审核 2 项" in listing and "#3 城关镇" in listing and "另有" not in listing


def test_help_names_the_first_review_commands(rt: Runtime, county: County, lead: str) -> None:
    assert "初审退回 #12 城关镇 原因" in say(rt, lead, "帮助")


def test_a_target_reached_by_a_reported_value_goes_to_the_lead_unit_too(
    rt: Runtime, county: County, lead: str
) -> None:
    """Reaching a quantified target is a done claim: under two-level review it waits for
    the lead unit's 初审 like a typed 完成, never straight to the office."""
    with rt.sessions() as s:
        task = s.scalars(select(Task).where(Task.code == 3)).one()
        task.target_value, task.target_unit = 20.0, "处"
        s.commit()
    say(rt, county.liaison_many, "#3 已整改20处")
    a = row(rt, 3, "CGZ")
    assert a.status == REPORTED and a.review_stage == LEAD_STAGE
    assert [t for t, _ in sent(rt)] == ["key-fgj"]  # the lead unit's group, not the office
