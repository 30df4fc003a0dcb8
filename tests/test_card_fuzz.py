"""Fuzzing card clicks on both callbacks: any template_card_event — odd keys, task ids,
selected items, option ids — is answered (200) or refused (400), never a 500."""

from __future__ import annotations

import json
from typing import Any
from xml.sax.saxutils import escape

from hypothesis import given
from hypothesis import strategies as st

from bot.app import create_app
from bot.runtime import Runtime
from tests.conftest import County
from tests.test_fuzz import AES_KEY, CORP, FUZZ, SQLITE, TOKEN, config, odd, xml_text
from tests.wecom_peer import WecomPeer

__all__ = ["config"]  # the fuzz module's config fixture: app and smart robot configured

keys = st.one_of(
    odd,
    st.sampled_from(["done:3", "lead_pass:1", "office_reject:1", "lead_reject:x", "done:"]),
)
json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)


@SQLITE
@FUZZ
@given(
    key=keys,
    task=odd,
    question=st.sampled_from(["reason", "item", ""]),
    options=st.lists(odd, max_size=3),
)
def test_app_card_clicks_never_crash(
    rt: Runtime, county: County, key: str, task: str, question: str, options: list[str]
) -> None:
    ids = "".join(f"<OptionId>{escape(o)}</OptionId>" for o in options)
    xml = (
        f"<xml><ToUserName>{CORP}</ToUserName><FromUserName>cgz_liaison</FromUserName>"
        "<CreateTime>1</CreateTime><MsgType>event</MsgType>"
        "<Event>template_card_event</Event>"
        f"<EventKey>{escape(key)}</EventKey><TaskId>{escape(task)}</TaskId>"
        "<ResponseCode>RC</ResponseCode><SelectedItems><SelectedItem>"
        f"<QuestionKey>{question}</QuestionKey><OptionIds>{ids}</OptionIds>"
        "</SelectedItem></SelectedItems></xml>"
    )
    client = create_app(runtime=rt, TESTING=True).test_client()
    params, body = WecomPeer(TOKEN, AES_KEY, CORP).callback(xml, int(rt.now().timestamp()))
    r = client.post("/wecom/callback", query_string=params, data=body)
    assert r.status_code in (200, 400), (r.status_code, r.text)


@SQLITE
@FUZZ
@given(
    key=st.one_of(keys, json_value),
    task=st.one_of(odd, json_value),
    selected=st.one_of(
        json_value,
        st.builds(
            lambda q, o: {"selected_item": [{"question_key": q, "option_ids": {"option_id": o}}]},
            st.sampled_from(["item", "x"]),
            st.one_of(json_value, st.lists(odd, max_size=2)),
        ),
    ),
    userid=st.one_of(st.just("cgz_liaison"), xml_text),
)
def test_smart_robot_card_clicks_never_crash(
    rt: Runtime, county: County, key: Any, task: Any, selected: Any, userid: str
) -> None:
    payload = {
        "msgid": "fz",
        "chattype": "group",
        "from": {"userid": userid},
        "msgtype": "event",
        "event": {
            "eventtype": "template_card_event",
            "template_card_event": {"event_key": key, "task_id": task, "selected_items": selected},
        },
    }
    client = create_app(runtime=rt, TESTING=True).test_client()
    peer = WecomPeer(TOKEN, AES_KEY, "")
    ts, nonce = str(int(rt.now().timestamp())), "5150"
    encrypt = peer.encrypt(json.dumps(payload, ensure_ascii=False))
    params = {"msg_signature": peer.sign(ts, nonce, encrypt), "timestamp": ts, "nonce": nonce}
    r = client.post("/wecom/aibot", query_string=params, data=json.dumps({"encrypt": encrypt}))
    assert r.status_code in (200, 400), (r.status_code, r.text)
