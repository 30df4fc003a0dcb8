"""初审 by card button over real HTTP: a claim waiting for the lead unit reaches each of its
reviewers as a 按钮交互型 card (通过 / 退回) through the fake WeCom; a click arrives as
`template_card_event` on /wecom/callback, acts once through the same handler and audit as
chat, and the card is updated to say who decided — also when someone else decided first."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.config import Config, load_config
from bot.runtime import Runtime
from models import (
    IN_PROGRESS,
    LEAD_STAGE,
    OFFICE_STAGE,
    REPORTED,
    AuditLog,
    Member,
    Outbox,
    Progress,
    Unit,
)
from tests.conftest import WINDOW, Clock, County, Fake, LiveServer, serve_app
from tests.test_cards import CORP, VECTORS, click_xml, drain, post
from tests.test_handlers import say
from tests.test_lead_review import row
from tests.wecom_peer import WecomPeer


@pytest.fixture
def config(db_url: str, fake: Fake) -> Config:
    fake.state.corp_id = CORP  # type: ignore[attr-defined]  # one corp: callbacks and API
    return load_config(
        environ={},
        overrides={
            "database": {"url": db_url},
            "rules": {"lead_review": ["安全生产"]},
            "wecom": {
                "corp_id": CORP,
                "token": VECTORS["token"],
                "encoding_aes_key": VECTORS["encoding_aes_key"],
                "secret": "fake-secret",
                "agent_id": 1000002,
                "api_base_url": fake.url,
            },
            "delivery": {
                "window_seconds": WINDOW,
                "backoff_base_seconds": 0.05,
                "backoff_cap_seconds": 0.4,
                "http_timeout_seconds": 2.0,
            },
        },
    )


@pytest.fixture
def server(rt: Runtime) -> Iterator[LiveServer]:
    yield from serve_app(rt)


@pytest.fixture
def peer() -> WecomPeer:
    return WecomPeer(VECTORS["token"], VECTORS["encoding_aes_key"], CORP)


@pytest.fixture
def lead(rt: Runtime, county: County) -> None:
    """县发改局 leads 安全生产 (#1, #3, #4): its head and a designated reviewer may 初审; its
    liaison may not."""
    with rt.sessions() as s:
        fgj = s.scalars(select(Unit).where(Unit.code == "FGJ")).one()
        fgj.webhook_keys = ["key-fgj"]
        s.add(Member(userid="fgj_head", name="吴局长", unit=fgj, roles=["head"]))
        s.add(Member(userid="fgj_rev", name="钱科长", unit=fgj, roles=["reviewer"]))
        s.commit()


def cards(fake: Fake, stage: str = "lead") -> dict[str, dict[str, Any]]:
    """The review cards of `stage` delivered, by recipient."""
    out: dict[str, dict[str, Any]] = {}
    for d in fake.delivered():
        body: Any = d["body"]
        if d["endpoint"] == "message/send" and body["msgtype"] == "template_card":
            if body["template_card"]["task_id"].startswith(f"duban-{stage}-"):
                out[body["touser"]] = body["template_card"]
    return out


def updates(fake: Fake) -> dict[str, str]:
    """Card updates delivered: response code → the text that replaced the buttons."""
    return {
        d["body"]["response_code"]: d["body"]["button"]["replace_name"]  # type: ignore[index]
        for d in fake.delivered()
        if d["endpoint"] == "message/update_template_card"
    }


def decisions(rt: Runtime) -> list[tuple[str, str]]:
    with rt.sessions() as s:
        rows = s.scalars(
            select(AuditLog)
            .where(AuditLog.action.in_(("lead_pass", "lead_reject")))
            .order_by(AuditLog.id)
        )
        return [(a.action, a.actor) for a in rows]


def claim(rt: Runtime, server: LiveServer, fake: Fake, county: County) -> dict[str, Any]:
    assert "先由牵头单位县发改局初审" in say(rt, county.liaison_many, "完成 #3 通道已清理")
    drain(rt)
    got = cards(fake)
    assert set(got) == {"fgj_head", "fgj_rev"}  # reviewers only: not the lead's liaison
    return got


def click(
    server: LiveServer, peer: WecomPeer, who: str, key: str, task: str, code: str, ts: int
) -> str:
    """The text answered to the click (the reply's Content)."""
    xml = peer.read_reply(post(server, peer, click_xml(who, key, task, code, ts), ts).text)
    found = re.search(r"<Content><!\[CDATA\[(.*?)\]\]></Content>", xml, re.S)
    assert found, xml
    return found.group(1)


def test_pass_button_acts_once_and_the_other_reviewer_sees_who_decided(
    server: LiveServer, peer: WecomPeer, clock: Clock, county: County, fake: Fake, lead: None
) -> None:
    rt = server.rt
    got = claim(rt, server, fake, county)
    card = got["fgj_head"]
    assert card["main_title"]["title"].startswith("初审 #3")
    assert "城关镇报已完成" in card["main_title"]["desc"]
    keys = [b["key"] for b in card["button_list"]]
    assert [b["text"] for b in card["button_list"]] == ["通过", "退回"]
    assert keys[0].startswith("lead_pass:") and keys[1].startswith("lead_reject:")
    ts = int(clock().timestamp())
    task = card["task_id"]
    first = click(server, peer, "fgj_head", keys[0], task, "RC-1", ts)
    again = click(server, peer, "fgj_head", keys[0], task, "RC-1", ts)  # platform retry
    click(server, peer, "fgj_head", keys[0], task, "RC-2", ts + 1)  # a second tap
    assert "初审通过：#3 城关镇" in first and again == first
    assert row(rt, 3, "CGZ").review_stage == OFFICE_STAGE
    assert decisions(rt) == [("lead_pass", "fgj_head")]  # the same audit as typed 初审通过
    with rt.sessions() as s:
        assert s.scalar(select(func.count()).where(Progress.kind == "lead_review")) == 1

    # The other reviewer taps 退回 on the card the same claim gave him: nothing changes, and
    # his card says who decided.
    other = got["fgj_rev"]
    late = click(
        server, peer, "fgj_rev", other["button_list"][1]["key"], other["task_id"], "RC-3", ts
    )
    assert "不在待初审状态" in late
    assert decisions(rt) == [("lead_pass", "fgj_head")]
    drain(rt)
    shown = updates(fake)
    assert shown["RC-1"] == "吴局长已通过" and shown["RC-3"] == "吴局长已通过"


def test_return_button_asks_for_the_reason_and_keeps_the_buttons(
    server: LiveServer, peer: WecomPeer, clock: Clock, county: County, fake: Fake, lead: None
) -> None:
    rt = server.rt
    card = claim(rt, server, fake, county)["fgj_rev"]
    ts = int(clock().timestamp())
    keys = [b["key"] for b in card["button_list"]]
    asked = click(server, peer, "fgj_rev", keys[1], card["task_id"], "RC-1", ts)
    assert "初审退回需要写明原因" in asked and "初审退回 #3 城关镇" in asked
    a = row(rt, 3, "CGZ")
    assert a.status == REPORTED and a.review_stage == LEAD_STAGE and decisions(rt) == []
    drain(rt)
    assert updates(fake) == {}  # undecided: the card keeps its buttons

    # 退回 needs the reason in chat; once given, a later tap on the card shows the outcome.
    assert "初审退回" in say(rt, "fgj_rev", "初审退回 #3 城关镇 缺少现场照片")
    assert row(rt, 3, "CGZ").status == IN_PROGRESS
    click(
        server,
        peer,
        "fgj_head",
        got_key(fake, "fgj_head", 0),
        got_task(fake, "fgj_head"),
        "RC-2",
        ts,
    )
    assert decisions(rt) == [("lead_reject", "fgj_rev")]
    drain(rt)
    assert updates(fake) == {"RC-2": "钱科长已退回"}


def test_another_button_on_the_same_card_is_still_heard(
    server: LiveServer, peer: WecomPeer, clock: Clock, county: County, fake: Fake, lead: None
) -> None:
    """退回 first (no reason, nothing recorded), then 通过 on the same card: the second
    button is a message of its own, not a retry of the first."""
    rt = server.rt
    card = claim(rt, server, fake, county)["fgj_head"]
    ts = int(clock().timestamp())
    keys = [b["key"] for b in card["button_list"]]
    click(server, peer, "fgj_head", keys[1], card["task_id"], "RC-1", ts)
    assert "初审通过" in click(server, peer, "fgj_head", keys[0], card["task_id"], "RC-2", ts + 1)
    assert decisions(rt) == [("lead_pass", "fgj_head")]


def test_a_card_of_an_earlier_claim_never_judges_the_next_one(
    server: LiveServer, peer: WecomPeer, clock: Clock, county: County, fake: Fake, lead: None
) -> None:
    rt = server.rt
    old = claim(rt, server, fake, county)["fgj_head"]
    say(rt, "fgj_rev", "初审退回 #3 城关镇 缺少现场照片")
    say(rt, county.liaison_many, "完成 #3 照片已补")  # a new claim, waiting for 初审 again
    ts = int(clock().timestamp())
    said = click(server, peer, "fgj_head", old["button_list"][0]["key"], old["task_id"], "RC-9", ts)
    assert "上一次报告（钱科长已退回）" in said and "未作处理" in said
    a = row(rt, 3, "CGZ")
    assert a.status == REPORTED and a.review_stage == LEAD_STAGE  # the new claim still waits
    assert decisions(rt) == [("lead_reject", "fgj_rev")]
    drain(rt)
    assert updates(fake)["RC-9"] == "钱科长已退回"


def got_key(fake: Fake, who: str, i: int) -> str:
    return str(cards(fake)[who]["button_list"][i]["key"])


def got_task(fake: Fake, who: str) -> str:
    return str(cards(fake)[who]["task_id"])


def test_the_office_gets_close_cards_once_a_claim_reaches_it(
    server: LiveServer, peer: WecomPeer, clock: Clock, county: County, fake: Fake, lead: None
) -> None:
    """Without a lead unit the claim goes straight to the office; with one, after 初审通过.
    销号 by button acts once and the card says who closed it."""
    rt = server.rt
    assert "已收到" in say(rt, county.liaison_many, "完成 #2 已办结")  # #2: no lead review
    drain(rt)
    got = cards(fake, "office")
    assert set(got) == {county.supervisor}
    card = got[county.supervisor]
    assert [b["text"] for b in card["button_list"]] == ["销号", "退回"]
    assert "牵头单位" not in card["main_title"]["desc"]
    ts = int(clock().timestamp())
    key, task = card["button_list"][0]["key"], card["task_id"]
    closed = click(server, peer, county.supervisor, key, task, "RC-1", ts)
    assert click(server, peer, county.supervisor, key, task, "RC-1", ts) == closed  # retry
    assert "销号" in closed and row(rt, 2, "CGZ").status == "closed"
    with rt.sessions() as s:
        assert len(s.scalars(select(AuditLog).where(AuditLog.action == "close")).all()) == 1
        name = s.scalars(select(Member.name).where(Member.userid == county.supervisor)).one()
    drain(rt)
    assert updates(fake)["RC-1"] == f"{name}已销号"

    # #3 is under two-level review: the office's card comes only after 初审通过.
    say(rt, county.liaison_many, "完成 #3 通道已清理")
    drain(rt)
    before = len(cards(fake, "office"))
    lead_card = cards(fake)["fgj_head"]
    click(
        server,
        peer,
        "fgj_head",
        lead_card["button_list"][0]["key"],
        lead_card["task_id"],
        "RC-2",
        ts,
    )
    drain(rt)
    office = [
        d["body"]["template_card"]  # type: ignore[index]
        for d in fake.delivered()
        if d["endpoint"] == "message/send"
        and d["body"]["msgtype"] == "template_card"  # type: ignore[index]
        and d["body"]["template_card"]["task_id"].startswith("duban-office-")  # type: ignore[index]
    ]
    assert before == 1 and len(office) == 2
    assert office[1]["main_title"]["title"].startswith("销号 #3")
    assert "牵头单位已初审通过" in office[1]["main_title"]["desc"]


def test_a_pass_on_the_dashboard_also_sends_the_office_its_card(
    rt: Runtime, county: County, lead: None
) -> None:
    from tests.test_lead_review import web_login
    from tests.test_web import csrf

    say(rt, county.liaison_many, "完成 #3 通道已清理")
    head = web_login(rt, "fgj", "fgj_head")
    ok = head.post(
        "/task/3/review",
        data={"csrf_token": csrf(head, "/task/3"), "unit": "CGZ", "action": "lead_pass"},
    )
    assert ok.status_code == 302
    with rt.sessions() as s:
        rows = s.scalars(select(Outbox).where(Outbox.dedupe_key.like("office-card:%"))).all()
        assert [r.target for r in rows] == [county.supervisor]
        card = rows[0].payload["template_card"]
    assert "牵头单位已初审通过" in card["main_title"]["desc"]


def reason_click(who: str, key: str, task: str, code: str, ts: int, option: str) -> str:
    """A click on a review card with an option chosen in its 退回原因 drop-down."""
    selected = (
        "<SelectedItems><SelectedItem><QuestionKey><![CDATA[reason]]></QuestionKey>"
        f"<OptionIds><OptionId><![CDATA[{option}]]></OptionId></OptionIds>"
        "</SelectedItem></SelectedItems>"
    )
    return click_xml(who, key, task, code, ts).replace("<AgentID>", selected + "<AgentID>")


def test_return_with_a_reason_from_the_drop_down_acts_once(
    server: LiveServer, peer: WecomPeer, clock: Clock, county: County, fake: Fake, lead: None
) -> None:
    rt = server.rt
    card = claim(rt, server, fake, county)["fgj_head"]
    selection = card["button_selection"]
    assert selection["question_key"] == "reason" and selection["selected_id"] == "chat"
    texts = {o["id"]: o["text"] for o in selection["option_list"]}
    assert texts["chat"] == "在对话中写明" and texts["r1"] == "佐证材料不全"
    ts = int(clock().timestamp())
    reject, task = card["button_list"][1]["key"], card["task_id"]

    # 在对话中写明 (the default) asks in chat, as before; a chosen reason returns the claim.
    xml = reason_click("fgj_head", reject, task, "RC-1", ts, "chat")
    assert "写明原因" in peer.read_reply(post(server, peer, xml, ts).text)
    xml = reason_click("fgj_head", reject, task, "RC-2", ts, "r1")
    first = peer.read_reply(post(server, peer, xml, ts).text)
    peer.read_reply(post(server, peer, xml, ts).text)  # WeCom's retry
    assert "佐证材料不全" in first
    assert row(rt, 3, "CGZ").status == IN_PROGRESS
    assert decisions(rt) == [("lead_reject", "fgj_head")]
    with rt.sessions() as s:
        entry = s.scalars(select(AuditLog).where(AuditLog.action == "lead_reject")).one()
        assert entry.detail["reason"] == "佐证材料不全"
    drain(rt)
    assert updates(fake) == {"RC-2": "吴局长已退回"}


def test_pass_ignores_the_reason_drop_down_and_the_office_returns_with_one(
    server: LiveServer, peer: WecomPeer, clock: Clock, county: County, fake: Fake, lead: None
) -> None:
    rt = server.rt
    card = claim(rt, server, fake, county)["fgj_head"]
    ts = int(clock().timestamp())
    xml = reason_click("fgj_head", card["button_list"][0]["key"], card["task_id"], "RC-1", ts, "r2")
    assert "初审通过" in peer.read_reply(post(server, peer, xml, ts).text)
    assert row(rt, 3, "CGZ").review_stage == OFFICE_STAGE
    drain(rt)
    office = cards(fake, "office")[county.supervisor]
    xml = reason_click(
        county.supervisor, office["button_list"][1]["key"], office["task_id"], "RC-3", ts, "r4"
    )
    assert "已退回" in peer.read_reply(post(server, peer, xml, ts).text)
    assert row(rt, 3, "CGZ").status == IN_PROGRESS
    with rt.sessions() as s:
        entry = s.scalars(select(AuditLog).where(AuditLog.action == "reject")).one()
        assert entry.detail["reason"] == "完成情况不实"
