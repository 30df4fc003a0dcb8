"""Smart robot (JSON) and official account (plain and AES) callbacks over real HTTP."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator

import pytest
import requests
from sqlalchemy import func, select

from bot.config import Config, load_config
from bot.inbound.binding import issue_code
from bot.runtime import Runtime
from models import InboundMessage, Member, Progress
from tests.conftest import Clock, County, LiveServer, serve_app
from tests.wecom_peer import WecomPeer

TOKEN = "aibotTOKENforTests"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
OA_TOKEN = "oaTOKEN"
OA_APPID = "wx1234567890abcdef"


@pytest.fixture
def config(db_url: str) -> Config:
    return load_config(
        environ={},
        overrides={
            "database": {"url": db_url},
            "aibot": {"token": TOKEN, "encoding_aes_key": AES_KEY},
            "wechat": {"app_id": OA_APPID, "token": OA_TOKEN, "encoding_aes_key": AES_KEY},
        },
    )


@pytest.fixture
def server(rt: Runtime) -> Iterator[LiveServer]:
    yield from serve_app(rt)


def count(rt: Runtime, model: object) -> int:
    with rt.sessions() as s:
        return s.scalar(select(func.count()).select_from(model))  # type: ignore[arg-type]


# ---- smart robot ---------------------------------------------------------------------

aibot_peer = WecomPeer(TOKEN, AES_KEY, "")


def aibot_post(
    server: LiveServer, clock: Clock, payload: dict[str, object], ts_offset: int = 0
) -> requests.Response:
    ts, nonce = str(int(clock().timestamp()) + ts_offset), "778899"
    encrypt = aibot_peer.encrypt(json.dumps(payload, ensure_ascii=False))
    params = {"msg_signature": aibot_peer.sign(ts, nonce, encrypt), "timestamp": ts, "nonce": nonce}
    return requests.post(
        f"{server.url}/wecom/aibot",
        params=params,
        timeout=10,
        data=json.dumps({"encrypt": encrypt}),
    )


def aibot_reply(r: requests.Response) -> dict[str, object]:
    body = r.json()
    assert body["msgsignature"] == aibot_peer.sign(
        str(body["timestamp"]), body["nonce"], body["encrypt"]
    )
    message, rid = aibot_peer.decrypt(body["encrypt"])
    assert rid == ""
    return json.loads(message)  # type: ignore[no-any-return]


def group_text(msgid: str, userid: str, content: str) -> dict[str, object]:
    return {
        "msgid": msgid,
        "aibotid": "AIBOT",
        "chatid": "CHAT1",
        "chattype": "group",
        "from": {"userid": userid},
        "response_url": "http://127.0.0.1:9/resp",
        "msgtype": "text",
        "text": {"content": content},
    }


def test_aibot_group_mention_is_handled_for_the_senders_unit(
    server: LiveServer, clock: Clock, county: County
) -> None:
    r = aibot_post(server, clock, group_text("m1", "cgz_liaison", "@督办助手 完成 #3 已整改"))
    assert r.status_code == 200
    reply = aibot_reply(r)
    assert reply["msgtype"] == "stream"
    stream = reply["stream"]
    assert stream["finish"] is True and "已收到" in stream["content"]  # type: ignore[index]
    with server.rt.sessions() as s:
        entry = s.scalars(select(Progress)).one()
        assert entry.text == "已整改"


def test_aibot_retry_counts_once(server: LiveServer, clock: Clock, county: County) -> None:
    for _ in range(3):
        assert (
            aibot_post(server, clock, group_text("m2", "cgz_liaison", "@bot 完成 #3")).status_code
            == 200
        )
    assert count(server.rt, InboundMessage) == 1 and count(server.rt, Progress) == 1


def test_aibot_refusals(server: LiveServer, clock: Clock, county: County) -> None:
    assert (
        aibot_post(
            server, clock, group_text("m3", "cgz_liaison", "完成"), ts_offset=-400
        ).status_code
        == 403
    )
    r = requests.post(
        f"{server.url}/wecom/aibot",
        params={"msg_signature": "x", "timestamp": "1", "nonce": "1"},
        data="not json",
        timeout=10,
    )
    assert r.status_code == 400
    assert count(server.rt, InboundMessage) == 0


def test_aibot_stream_refresh_gets_empty_answer(
    server: LiveServer, clock: Clock, county: County
) -> None:
    r = aibot_post(server, clock, {"msgid": "m4", "msgtype": "stream", "stream": {"id": "x"}})
    assert r.status_code == 200 and r.text == ""


def test_aibot_url_verification(server: LiveServer, clock: Clock) -> None:
    ts = str(int(clock().timestamp()))
    echo = aibot_peer.encrypt("echo-42")
    r = requests.get(
        f"{server.url}/wecom/aibot",
        timeout=10,
        params={
            "msg_signature": aibot_peer.sign(ts, "5", echo),
            "timestamp": ts,
            "nonce": "5",
            "echostr": echo,
        },
    )
    assert r.status_code == 200 and r.text == "echo-42"


# ---- official account ----------------------------------------------------------------

oa_peer = WecomPeer(OA_TOKEN, AES_KEY, OA_APPID)


def oa_params(clock: Clock, nonce: str = "4242") -> dict[str, str]:
    ts = str(int(clock().timestamp()))
    sig = hashlib.sha1("".join(sorted([OA_TOKEN, ts, nonce])).encode()).hexdigest()
    return {"signature": sig, "timestamp": ts, "nonce": nonce}


def oa_text(openid: str, content: str, msg_id: int) -> str:
    return (
        f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName><FromUserName><![CDATA[{openid}]]>"
        f"</FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )


def oa_plain(server: LiveServer, clock: Clock, xml: str) -> requests.Response:
    return requests.post(
        f"{server.url}/wechat/callback", params=oa_params(clock), data=xml.encode(), timeout=10
    )


def oa_safe(server: LiveServer, clock: Clock, xml: str) -> requests.Response:
    params = oa_params(clock)
    encrypt = oa_peer.encrypt(xml)
    params.update(
        encrypt_type="aes",
        msg_signature=oa_peer.sign(params["timestamp"], params["nonce"], encrypt),
    )
    body = (
        "<xml><ToUserName><![CDATA[gh_test]]></ToUserName>"
        f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    )
    return requests.post(
        f"{server.url}/wechat/callback", params=params, data=body.encode(), timeout=10
    )


def content_of(xml: str) -> str:
    m = re.search(r"<Content><!\[CDATA\[(.*?)\]\]></Content>", xml, re.S)
    assert m, xml
    return m.group(1)


def test_official_account_binding_then_report_plain_and_safe(
    server: LiveServer, clock: Clock, county: County
) -> None:
    r = oa_plain(server, clock, oa_text("oOPENID1", "完成 #3", 1))
    assert "尚未登记" in content_of(r.text) and "绑定" in content_of(r.text)
    with server.rt.sessions() as s:
        member = s.scalars(select(Member).where(Member.userid == "cgz_liaison")).one()
        code = issue_code(s, member, server.rt.now())
        s.commit()
    r = oa_plain(server, clock, oa_text("oOPENID1", f"绑定 {code}", 2))
    assert "绑定成功" in content_of(r.text)
    r = oa_safe(server, clock, oa_text("oOPENID1", "完成 #3", 3))
    assert r.status_code == 200
    reply = oa_peer.read_reply(r.text)
    assert "已收到" in content_of(reply)
    assert count(server.rt, Progress) == 1
    # a used code cannot bind someone else
    r = oa_plain(server, clock, oa_text("oOTHER", f"绑定 {code}", 4))
    assert "尚未登记" in content_of(r.text)


def test_official_account_refuses_bad_signature(
    server: LiveServer, clock: Clock, county: County
) -> None:
    params = oa_params(clock)
    params["signature"] = "0" * 40
    r = requests.post(
        f"{server.url}/wechat/callback",
        params=params,
        data=oa_text("o1", "任务", 5).encode(),
        timeout=10,
    )
    assert r.status_code == 403
    r = requests.get(
        f"{server.url}/wechat/callback", params={**oa_params(clock), "echostr": "e1"}, timeout=10
    )
    assert r.status_code == 200 and r.text == "e1"


def test_aibot_acknowledgement_is_silent_in_a_group_hinted_in_private(
    server: LiveServer, clock: Clock, county: County
) -> None:
    r = aibot_post(server, clock, group_text("m7", "cgz_liaison", "@督办助手 收到👌"))
    assert r.status_code == 200 and r.text == ""
    single = {**group_text("m8", "cgz_liaison", "收到"), "chattype": "single"}
    reply = aibot_reply(aibot_post(server, clock, single))
    assert "任务" in reply["stream"]["content"]  # type: ignore[index]
    assert count(server.rt, Progress) == 0
