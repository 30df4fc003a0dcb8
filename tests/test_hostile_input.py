"""Validly signed but odd callbacks, and odd values in routes (issue 11, finding 8): a 4xx
with its reason or a 404, never a 500, never a shared dedupe key. On SQLite and PostgreSQL
(PostgreSQL is the strict one: int4 comparisons, varchar lengths)."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.app import create_app
from bot.config import Config, load_config
from bot.runtime import Runtime
from models import InboundMessage, Task
from tests.conftest import County
from tests.wecom_peer import CREATE_TIME, WecomPeer, text_xml

CORP = "wwTESTCORP0001"
TOKEN = "hostileTOKEN"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
pytestmark = pytest.mark.parametrize("backend", ["sqlite", "postgresql"])


@pytest.fixture
def config(db_url: str) -> Config:
    return load_config(
        environ={},
        overrides={
            "database": {"url": db_url},
            "wecom": {"corp_id": CORP, "token": TOKEN, "encoding_aes_key": AES_KEY},
            "aibot": {"token": TOKEN, "encoding_aes_key": AES_KEY},
        },
    )


def inbound(rt: Runtime) -> list[str]:
    with rt.sessions() as s:
        return list(s.scalars(select(InboundMessage.msg_key)))


def wecom_post(rt: Runtime, xml: str) -> Any:
    client = create_app(runtime=rt, TESTING=True).test_client()
    params, body = WecomPeer(TOKEN, AES_KEY, CORP).callback(xml, int(rt.now().timestamp()))
    return client.post("/wecom/callback", query_string=params, data=body)


def aibot_post(rt: Runtime, payload: Any) -> Any:
    client = create_app(runtime=rt, TESTING=True).test_client()
    peer = WecomPeer(TOKEN, AES_KEY, "")
    ts, nonce = str(int(rt.now().timestamp())), "778899"
    encrypt = peer.encrypt(json.dumps(payload, ensure_ascii=False))
    params = {"msg_signature": peer.sign(ts, nonce, encrypt), "timestamp": ts, "nonce": nonce}
    return client.post("/wecom/aibot", query_string=params, data=json.dumps({"encrypt": encrypt}))


def xml(sender: str = "cgz_liaison", msg_id: str | None = "1001", created: str = "") -> str:
    ct = created or str(CREATE_TIME)
    mid = "" if msg_id is None else f"<MsgId>{msg_id}</MsgId>"
    return (
        f"<xml><ToUserName><![CDATA[{CORP}]]></ToUserName>"
        f"<FromUserName><![CDATA[{sender}]]></FromUserName><CreateTime>{ct}</CreateTime>"
        f"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[帮助]]></Content>"
        f"{mid}<AgentID>1000002</AgentID></xml>"
    )


def event(created: str) -> str:
    return (
        f"<xml><ToUserName>{CORP}</ToUserName><FromUserName>cgz_liaison</FromUserName>"
        f"<CreateTime>{created}</CreateTime><MsgType>event</MsgType><Event>click</Event>"
        f"<EventKey>tasks</EventKey><AgentID>1000002</AgentID></xml>"
    )


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (xml(msg_id="abc"), "MsgId is not a number"),
        (xml(msg_id="<a>1</a>"), "MsgId is not a number"),
        (xml(msg_id="١٢"), "MsgId is not a number"),  # Arabic-Indic digits
        (xml(msg_id="1" * 25), "MsgId over 20 digits"),
        (xml(created="yesterday"), "CreateTime is not a number"),
        (event("99999999999999999999"), "CreateTime out of range"),
        (event("soon"), "CreateTime is not a number"),
        (xml(sender="u" * 65), "FromUserName over 64 characters"),
        (xml().replace("<![CDATA[cgz_liaison]]>", "<a>b</a>"), "FromUserName missing or not text"),
    ],
)
def test_odd_wecom_callbacks_are_refused_with_a_reason(
    rt: Runtime, county: County, body: str, reason: str
) -> None:
    r = wecom_post(rt, body)
    assert r.status_code == 400 and r.text == reason
    assert inbound(rt) == []


def test_texts_without_msgid_get_keys_of_their_own(rt: Runtime, county: County) -> None:
    one = xml(msg_id=None)
    other = one.replace("帮助", "任务")
    assert wecom_post(rt, one).status_code == 200
    assert wecom_post(rt, other).status_code == 200
    assert wecom_post(rt, one).status_code == 200  # the platform's retry: the same body
    keys = inbound(rt)
    assert len(keys) == 2 and len(set(keys)) == 2 and "wecom:0" not in keys
    assert all(re.fullmatch(r"wecom:body:[0-9a-f]{64}", k) for k in keys)


def test_a_normal_text_is_still_keyed_by_its_msgid(rt: Runtime, county: County) -> None:
    assert wecom_post(rt, text_xml("cgz_liaison", "帮助", 4242, CORP)).status_code == 200
    assert inbound(rt) == ["wecom:4242"]


def robot(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "msgid": "m1",
        "aibotid": "AIBOT",
        "chattype": "single",
        "from": {"userid": "cgz_liaison"},
        "msgtype": "text",
        "text": {"content": "帮助"},
    }
    return {**base, **fields}


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (robot(msgid="x" * 186), "msgid over 185 characters"),
        (robot(msgid={"a": 1}), "msgid is not text"),
        (robot(**{"from": "cgz_liaison"}), "from is not an object"),
        (robot(**{"from": {"userid": "u" * 65}}), "from.userid over 64 characters"),
        (robot(**{"from": {"userid": ["a"]}}), "from.userid missing or not text"),
        (robot(text=["帮助"]), "text is not an object"),
        (robot(msgtype="mixed", mixed={"msg_item": "x"}), "mixed.msg_item is not a list"),
        (robot(msgtype="mixed", mixed=[1]), "mixed is not an object"),
        (robot(response_url=5), "response_url is not text"),
    ],
)
def test_odd_smart_robot_callbacks_are_refused_with_a_reason(
    rt: Runtime, county: County, payload: dict[str, Any], reason: str
) -> None:
    r = aibot_post(rt, payload)
    assert r.status_code == 400 and r.text.startswith(reason)
    assert inbound(rt) == []


def test_a_smart_robot_msgid_at_the_limit_is_stored(rt: Runtime, county: County) -> None:
    r = aibot_post(rt, robot(msgid="x" * 185))
    assert r.status_code == 200 and inbound(rt) == ["aibot:" + "x" * 185]


def logged_in(rt: Runtime) -> Any:
    from bot.web.auth import create_account

    with rt.sessions() as s:
        create_account(s, "duchashi", "correct horse battery", member_userid="dcs_sup")
        s.commit()
    client = create_app(runtime=rt, TESTING=True).test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert token
    data = {"username": "duchashi", "password": "correct horse battery", "csrf_token": token[1]}
    assert client.post("/login", data=data).status_code == 302
    return client


@pytest.mark.parametrize(
    "path",
    [
        "/task/2147483648",
        "/task/99999999999999999999999",
        "/api/tasks/2147483648",
        "/evidence/2147483648/0",
        "/evidence/1/99999999999999999999",
    ],
)
def test_ids_beyond_the_integer_column_are_404(rt: Runtime, county: County, path: str) -> None:
    assert logged_in(rt).get(path).status_code == 404


def test_rankings_json_never_carries_nan(rt: Runtime, county: County) -> None:
    """A weight that is not finite (from before imports refused one) ranks nobody first
    with a NaN score: /api/rankings stays JSON that browsers parse."""
    with rt.sessions() as s:
        for task in s.scalars(select(Task)):
            task.weight = math.inf
        s.commit()
        assert s.scalar(select(func.count()).select_from(Task))
    r = logged_in(rt).get("/api/rankings")
    assert r.status_code == 200

    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} in JSON")

    json.loads(r.text, parse_constant=refuse)
