"""The smart robot's own template cards over real HTTP: `任务` and `待初审` are answered with
a 按钮交互型 card (a drop-down of items or claims and the buttons); a click arrives as
`template_card_event` on /wecom/aibot, acts once (WeCom's retry and a second tap included)
and is answered with `update_template_card`, the card as it now stands, for the clicker."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.config import Config, load_config
from bot.devtools.fakewecom.cards import card_problems
from bot.runtime import Runtime
from models import OFFICE_STAGE, AuditLog, Member, Progress, Unit
from tests.conftest import Clock, County, LiveServer, serve_app
from tests.test_handlers import say
from tests.test_lead_review import row
from tests.test_other_callbacks import AES_KEY, TOKEN, aibot_post, aibot_reply, group_text


@pytest.fixture
def config(db_url: str) -> Config:
    return load_config(
        environ={},
        overrides={
            "database": {"url": db_url},
            "aibot": {"token": TOKEN, "encoding_aes_key": AES_KEY},
            "rules": {"lead_review": ["安全生产"]},
        },
    )


@pytest.fixture
def server(rt: Runtime) -> Iterator[LiveServer]:
    yield from serve_app(rt)


def click(msgid: str, userid: str, key: str, task_id: str, option: str) -> dict[str, Any]:
    return {
        "msgid": msgid,
        "create_time": 1700000000,
        "aibotid": "AIBOT",
        "chatid": "CHAT1",
        "chattype": "group",
        "from": {"userid": userid},
        "response_url": "http://127.0.0.1:9/resp",
        "msgtype": "event",
        "event": {
            "eventtype": "template_card_event",
            "template_card_event": {
                "card_type": "button_interaction",
                "event_key": key,
                "task_id": task_id,
                "selected_items": {
                    "selected_item": [
                        {"question_key": "item", "option_ids": {"option_id": [option]}}
                    ]
                },
            },
        },
    }


def ask(server: LiveServer, clock: Clock, msgid: str, who: str, text: str) -> dict[str, Any]:
    reply = aibot_reply(aibot_post(server, clock, group_text(msgid, who, f"@督办助手 {text}")))
    assert reply["msgtype"] == "stream_with_template_card", reply
    assert card_problems(reply["template_card"]) == []  # what WeCom would accept
    return reply


def press(server: LiveServer, clock: Clock, payload: dict[str, Any]) -> dict[str, Any]:
    reply = aibot_reply(aibot_post(server, clock, payload))
    assert reply["response_type"] == "update_template_card"
    assert card_problems(reply["template_card"]) == []
    return reply


def options(card: dict[str, Any]) -> list[str]:
    return [o["id"] for o in card["button_selection"]["option_list"]]


def codes(card: dict[str, Any]) -> set[str]:
    """The task codes of an items card's options (`code-unit id`)."""
    return {i.partition("-")[0] for i in options(card)}


def option_for(card: dict[str, Any], code: int) -> str:
    return next(i for i in options(card) if i.startswith(f"{code}-"))


def count(rt: Runtime, *where: Any) -> int:
    with rt.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(Progress).where(*where)) or 0)


def test_task_list_comes_with_a_card_and_a_click_reports_once(
    server: LiveServer, clock: Clock, county: County
) -> None:
    rt = server.rt
    reply = ask(server, clock, "m1", county.liaison_many, "任务")
    assert "城关镇" in reply["stream"]["content"] and reply["stream"]["finish"] is True
    card = reply["template_card"]
    assert card["card_type"] == "button_interaction"
    assert codes(card) == {"1", "2", "3"}
    assert [b["key"] for b in card["button_list"]] == ["done", "progress", "extension"]
    assert [b["text"] for b in card["button_list"]] == ["已完成", "报进度", "申请延期"]
    task = card["task_id"]
    assert task.startswith("duban-ai-") and len(task) <= 128

    tap = click("e1", county.liaison_many, "done", task, option_for(card, 3))
    first = press(server, clock, tap)
    assert press(server, clock, tap) == first  # WeCom's retry of the same event
    press(server, clock, click("e2", county.liaison_many, "done", task, option_for(card, 3)))
    assert count(rt, Progress.kind == "done") == 1
    assert row(rt, 3, "CGZ").status == "reported"
    updated = first["template_card"]
    assert first["userids"] == [county.liaison_many] and updated["task_id"] == task
    assert "已收到" in updated["sub_title_text"] and len(updated["sub_title_text"]) <= 112
    assert codes(updated) == {"1", "2"}  # the reported item left the drop-down

    # Another choice on the same card is a message of its own: 报进度 asks for the figure.
    asked = press(
        server, clock, click("e3", county.liaison_many, "progress", task, option_for(card, 2))
    )
    assert "进度" in asked["template_card"]["sub_title_text"]
    assert count(rt, Progress.kind == "progress") == 0


def test_a_message_that_is_not_a_list_gets_no_card(
    server: LiveServer, clock: Clock, county: County
) -> None:
    reply = aibot_reply(aibot_post(server, clock, group_text("m9", county.liaison_many, "@b 帮助")))
    assert reply["msgtype"] == "stream" and "template_card" not in reply


def test_first_review_by_the_smart_robots_card(
    server: LiveServer, clock: Clock, county: County
) -> None:
    rt = server.rt
    with rt.sessions() as s:
        fgj = s.scalars(select(Unit).where(Unit.code == "FGJ")).one()
        s.add(Member(userid="fgj_head", name="吴局长", unit=fgj, roles=["head"]))
        s.commit()
    assert "先由牵头单位县发改局初审" in say(rt, county.liaison_many, "完成 #3 通道已清理")
    card = ask(server, clock, "m2", "fgj_head", "待初审")["template_card"]
    assert [b["key"] for b in card["button_list"]] == ["lead_pass", "lead_reject"]
    (claim,) = options(card)
    asked = press(server, clock, click("e4", "fgj_head", "lead_reject", card["task_id"], claim))
    assert "写明原因" in asked["template_card"]["sub_title_text"]
    assert options(asked["template_card"]) == [claim]  # still waiting: still offered

    done = press(server, clock, click("e5", "fgj_head", "lead_pass", card["task_id"], claim))
    press(server, clock, click("e6", "fgj_head", "lead_pass", card["task_id"], claim))
    assert row(rt, 3, "CGZ").review_stage == OFFICE_STAGE
    with rt.sessions() as s:
        passes = s.scalars(select(AuditLog).where(AuditLog.action == "lead_pass")).all()
        assert [p.actor for p in passes] == ["fgj_head"]
    shown = done["template_card"]
    assert shown["card_type"] == "text_notice"  # nothing left to decide: no buttons
    assert "初审通过" in shown["sub_title_text"]


@pytest.mark.parametrize(
    "event",
    [
        {"card_type": "button_interaction", "event_key": "done", "task_id": "t"},  # no option
        {"event_key": "done", "task_id": "t", "selected_items": {"selected_item": "x"}},
        {
            "event_key": "done",
            "task_id": "t",
            "selected_items": {
                "selected_item": [{"question_key": "item", "option_ids": {"option_id": [{"a": 1}]}}]
            },
        },
        {"event_key": "unknown", "task_id": "t", "selected_items": {}},
        {
            "event_key": "lead_pass",
            "task_id": "t",
            "selected_items": {
                "selected_item": [{"question_key": "item", "option_ids": {"option_id": ["999999"]}}]
            },
        },
    ],
)
def test_odd_clicks_act_on_nothing(
    server: LiveServer, clock: Clock, county: County, event: dict[str, Any]
) -> None:
    payload = click("odd", county.liaison_many, "done", "t", "3")
    payload["event"]["template_card_event"] = event
    reply = press(server, clock, payload)
    assert reply["template_card"]["task_id"] == "t"
    assert count(server.rt) == 0


def test_malformed_events_are_refused(server: LiveServer, clock: Clock, county: County) -> None:
    payload = click("bad", county.liaison_many, "done", "t", "3")
    payload["event"]["template_card_event"]["selected_items"] = ["x"]
    r = aibot_post(server, clock, payload)
    assert r.status_code == 400 and r.text.startswith("selected_items is not an object")
    payload["event"] = "template_card_event"
    assert aibot_post(server, clock, payload).status_code == 400


def test_the_fake_refuses_cards_wecom_would_refuse() -> None:
    good = {
        "card_type": "button_interaction",
        "main_title": {"title": "t"},
        "task_id": "duban-1",
        "button_list": [{"text": "通过", "key": "a"}],
    }
    assert card_problems(good) == []
    assert card_problems({**good, "task_id": "带中文"}) == ["task_id: 1-128 of A-Z a-z 0-9 _ - @"]
    seven = [{"text": str(i), "key": str(i)} for i in range(7)]
    assert card_problems({**good, "button_list": seven}) == ["button_list: 1-6 buttons"]
    options = [{"id": str(i), "text": "x"} for i in range(11)]
    selection = {"question_key": "q", "option_list": options}
    assert card_problems({**good, "button_selection": selection}) == [
        "button_selection.option_list: 1-10 options"
    ]


def test_a_tap_by_another_units_member_records_nothing(
    server: LiveServer, clock: Clock, county: County
) -> None:
    """In a group anyone may tap the card: 城关镇's #1 tapped by a member of a unit that also
    has a #1 must not report that unit's #1."""
    rt = server.rt
    card = ask(server, clock, "m1", county.liaison_many, "任务")["template_card"]
    with rt.sessions() as s:
        other = s.scalars(
            select(Member)
            .where(Member.userid != county.liaison_many, Member.active)
            .join(Member.unit)
            .where(Unit.code != "CGZ")
        ).first()
        assert other is not None
        userid = other.userid
    reply = press(server, clock, click("x1", userid, "done", card["task_id"], option_for(card, 1)))
    assert "城关镇的事项，没有记录" in reply["template_card"]["sub_title_text"]
    assert count(rt) == 0
