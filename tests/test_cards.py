"""Template cards over real HTTP: a nudge's items reach each liaison as 按钮交互型 cards
through the fake WeCom; a click arrives as `template_card_event` on /wecom/callback, takes
effect once (platform retries and double taps included) and the card is updated with the
click's response code."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from bot.config import Config, load_config
from bot.delivery.relay import Relay
from bot.runtime import Runtime
from models import Assignment, Outbox, Progress, Task
from tests.conftest import WINDOW, Clock, County, Fake, LiveServer, serve_app
from tests.wecom_peer import WecomPeer

VECTORS = json.loads(
    (Path(__file__).resolve().parent / "data" / "wecom-test-vectors.json").read_text(
        encoding="utf-8"
    )
)
CORP = VECTORS["corp_id"]


@pytest.fixture
def config(db_url: str, fake: Fake) -> Config:
    fake.state.corp_id = CORP  # type: ignore[attr-defined]  # one corp: callbacks and API
    return load_config(
        environ={},
        overrides={
            "database": {"url": db_url},
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


def click_xml(sender: str, key: str, task_id: str, code: str, create_time: int) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{CORP}]]></ToUserName>"
        f"<FromUserName><![CDATA[{sender}]]></FromUserName><CreateTime>{create_time}</CreateTime>"
        "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[template_card_event]]></Event>"
        f"<EventKey><![CDATA[{key}]]></EventKey><TaskId><![CDATA[{task_id}]]></TaskId>"
        "<CardType><![CDATA[button_interaction]]></CardType>"
        f"<ResponseCode><![CDATA[{code}]]></ResponseCode><AgentID>1000002</AgentID></xml>"
    )


def post(server: LiveServer, peer: WecomPeer, xml: str, ts: int) -> requests.Response:
    params, body = peer.callback(xml, ts)
    return requests.post(
        f"{server.url}/wecom/callback", params=params, data=body.encode(), timeout=10
    )


def drain(rt: Runtime) -> None:
    relay = Relay(rt)
    for _ in range(200):
        relay.run_once()
        with rt.sessions() as s:
            left = s.scalar(select(func.count()).where(Outbox.status.in_(("pending", "sending"))))
        if not left:
            return
    raise AssertionError("outbox did not drain")


def test_click_takes_effect_once_and_updates_the_card(
    server: LiveServer, peer: WecomPeer, clock: Clock, county: County, fake: Fake
) -> None:
    ts = int(clock().timestamp())
    first = click_xml("cgz_liaison", "done:3", "duban-card-1", "RC-1", ts)
    replies = [peer.read_reply(post(server, peer, first, ts).text)]
    replies.append(peer.read_reply(post(server, peer, first, ts).text))  # platform retry
    tap = click_xml("cgz_liaison", "done:3", "duban-card-1", "RC-2", ts + 1)  # second tap
    post(server, peer, tap, ts + 1)
    assert "已收到" in replies[0] and replies[1] == replies[0]
    with server.rt.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Progress)) == 1
        a = s.scalar(select(Assignment).join(Assignment.task).where(Task.code == 3))
        assert a is not None and a.status == "reported"
    drain(server.rt)
    updates = [d for d in fake.delivered() if d["endpoint"] == "message/update_template_card"]
    assert len(updates) == 1
    body = updates[0]["body"]
    assert body["response_code"] == "RC-1" and body["button"] == {"replace_name": "已报完成"}  # type: ignore[index]
    assert body["userids"] == ["cgz_liaison"]  # type: ignore[index]


def test_progress_button_asks_for_the_figure_and_records_nothing(
    server: LiveServer, peer: WecomPeer, clock: Clock, county: County
) -> None:
    ts = int(clock().timestamp())
    reply = peer.read_reply(
        post(server, peer, click_xml("cgz_liaison", "progress:3", "c2", "RC-9", ts), ts).text
    )
    assert "进度" in reply
    with server.rt.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Progress)) == 0


def test_nudged_liaisons_get_one_card_per_item(rt: Runtime, county: County, fake: Fake) -> None:
    from bot.scheduler import remind

    sent = remind(rt)
    assert any(s.enqueued for s in sent)
    drain(rt)
    cards = [
        d["body"]
        for d in fake.delivered()
        if d["endpoint"] == "message/send" and d["body"]["msgtype"] == "template_card"  # type: ignore[index]
    ]
    assert cards, "no card was delivered"
    to_cgz = [c for c in cards if c["touser"] == "cgz_liaison"]  # type: ignore[index]
    keys = {b["key"] for c in to_cgz for b in c["template_card"]["button_list"]}  # type: ignore[index]
    assert "done:3" in keys and "extension:3" in keys
    ids = [c["template_card"]["task_id"] for c in cards]  # type: ignore[index]
    assert len(ids) == len(set(ids))
    with rt.sessions() as s:
        queued = s.scalar(select(func.count()).where(Outbox.msg_type == "template_card"))
    assert not any(x.enqueued for x in remind(rt))  # a repeated run: no second card
    with rt.sessions() as s:
        assert s.scalar(select(func.count()).where(Outbox.msg_type == "template_card")) == queued
    group = [d for d in fake.delivered() if d["endpoint"] == "webhook/send"]
    assert group, "the group message is unchanged"


def test_overlong_card_fields_are_refused_or_keyed_never_a_500(
    server: LiveServer, peer: WecomPeer, clock: Clock, county: County
) -> None:
    """WeCom bounds neither a task id nor a response code; the columns hold 191 characters:
    a long response code is refused with its reason, a long task id is keyed by its hash."""
    ts = int(clock().timestamp())
    long_code = click_xml("cgz_liaison", "done:3", "c-long", "R" * 300, ts)
    assert post(server, peer, long_code, ts).status_code == 400
    long_task = click_xml("cgz_liaison", "done:3", "T" * 300, "RC-long", ts + 1)
    first = post(server, peer, long_task, ts + 1)
    again = post(server, peer, long_task, ts + 1)  # a retry: the same hashed key
    assert first.status_code == again.status_code == 200
    with server.rt.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Progress)) == 1
