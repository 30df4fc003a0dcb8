"""Fuzzing the hostile edges (issue 11, finding 10): the callback path (envelopes, XML,
JSON, Unicode, field types and lengths) and the Excel importer. Nothing may answer 500 or
raise anything but a refusal; nothing invalid is recorded.

A bounded budget by default (CI runs it every time); a longer run by command:
DUBAN_FUZZ_EXAMPLES=2000 pytest tests/test_fuzz.py
"""

from __future__ import annotations

import io
import json
import os
from typing import Any
from xml.sax.saxutils import escape

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.app import create_app
from bot.config import Config, load_config
from bot.excel.sheet import Directory, LedgerFileError, UnitRef, parse_sheet
from bot.runtime import Runtime
from models import InboundMessage
from schedules.calendar import WorkCalendar
from tests.conftest import County
from tests.factories import workbook
from tests.wecom_peer import WecomPeer

EXAMPLES = int(os.environ.get("DUBAN_FUZZ_EXAMPLES", "40"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
CORP = "wwFUZZCORP"
TOKEN = "fuzzTOKEN"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
SQLITE = pytest.mark.parametrize("backend", ["sqlite"])

# XML 1.0 text: no surrogates, no control characters but tab and newlines.
xml_text = st.text(
    st.characters(
        blacklist_categories=("Cs",), blacklist_characters="\x00\x0b\x0c\ufffe\uffff"
    ).filter(lambda c: c >= " " or c in "\t\n\r"),
    max_size=80,
)
odd = st.one_of(
    xml_text,
    st.integers(-(2**70), 2**70).map(str),
    st.sampled_from(["", "nan", "1e999", "-1", "١٢٣", "<a>1</a>", "0x10", "9" * 30]),
)


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


def field(name: str, value: str) -> str:
    # Values starting with "<" go in raw (nested elements); others escaped, sometimes CDATA.
    return f"<{name}>{value if value.startswith('<') else escape(value)}</{name}>"


@SQLITE
@FUZZ
@given(
    msg_id=st.one_of(st.none(), odd),
    created=odd,
    sender=st.one_of(odd, st.text(min_size=60, max_size=70)),
    kind=st.sampled_from(["text", "image", "event", "voice", "location", "", "文本"]),
    content=xml_text,
    event=st.one_of(st.sampled_from(["click", "enter_agent"]), xml_text),
)
def test_wecom_callbacks_never_crash(
    rt: Runtime,
    county: County,
    msg_id: str | None,
    created: str,
    sender: str,
    kind: str,
    content: str,
    event: str,
) -> None:
    parts = [field("ToUserName", CORP), field("FromUserName", sender), field("CreateTime", created)]
    parts += [field("MsgType", kind), field("Content", content), field("Event", event)]
    parts += [field("MediaId", content)] + ([field("MsgId", msg_id)] if msg_id is not None else [])
    xml = "<xml>" + "".join(parts) + "</xml>"
    client = create_app(runtime=rt, TESTING=True).test_client()
    params, body = WecomPeer(TOKEN, AES_KEY, CORP).callback(xml, int(rt.now().timestamp()))
    before = stored(rt)
    r = client.post("/wecom/callback", query_string=params, data=body)
    assert r.status_code in (200, 400), (r.status_code, r.text)
    if r.status_code == 400:
        assert stored(rt) == before


json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@SQLITE
@FUZZ
@given(
    payload=st.fixed_dictionaries(
        {},
        optional={
            "msgid": json_value | st.text(min_size=180, max_size=200),
            "from": json_value | st.fixed_dictionaries({"userid": json_value}),
            "msgtype": st.sampled_from(["text", "mixed", "image", "stream", "event"]) | json_value,
            "text": json_value | st.fixed_dictionaries({"content": json_value}),
            "mixed": json_value,
            "response_url": json_value,
        },
    )
)
def test_smart_robot_callbacks_never_crash(
    rt: Runtime, county: County, payload: dict[str, Any]
) -> None:
    client = create_app(runtime=rt, TESTING=True).test_client()
    peer = WecomPeer(TOKEN, AES_KEY, "")
    ts, nonce = str(int(rt.now().timestamp())), "5150"
    encrypt = peer.encrypt(json.dumps(payload, ensure_ascii=False, allow_nan=True))
    params = {"msg_signature": peer.sign(ts, nonce, encrypt), "timestamp": ts, "nonce": nonce}
    before = stored(rt)
    r = client.post("/wecom/aibot", query_string=params, data=json.dumps({"encrypt": encrypt}))
    assert r.status_code in (200, 400), (r.status_code, r.text)
    if r.status_code == 400:
        assert stored(rt) == before


@SQLITE
@FUZZ
@given(
    body=st.binary(max_size=300) | xml_text.map(str.encode),
    params=st.dictionaries(
        st.sampled_from(["msg_signature", "timestamp", "nonce", "echostr"]), odd, max_size=4
    ),
    path=st.sampled_from(["/wecom/callback", "/wecom/aibot"]),
)
def test_unsigned_envelopes_are_refused_not_crashed(
    rt: Runtime, body: bytes, params: dict[str, str], path: str
) -> None:
    client = create_app(runtime=rt, TESTING=True).test_client()
    assert client.post(path, query_string=params, data=body).status_code in (400, 403, 413)
    assert client.get(path, query_string=params).status_code in (400, 403)
    assert stored(rt) == 0


def stored(rt: Runtime) -> int:
    with rt.sessions() as s:
        return len(s.scalars(select(InboundMessage.id)).all())


# ---- the Excel importer ----------------------------------------------------------------

UNITS = Directory((UnitRef(1, "CGZ", "城关镇", "township"),))
cell = st.one_of(
    st.none(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.dates(),
    xml_text,
    st.sampled_from(["城关镇", "各乡镇", "9月底", "2026年13月40日", "前0个工作日", "nan", "inf"]),
)


@settings(FUZZ)
@given(rows=st.lists(st.lists(cell, max_size=9), max_size=6))
def test_the_importer_reads_any_sheet_or_refuses_it(rows: list[list[Any]]) -> None:
    result = parse_sheet(workbook(rows), UNITS, WorkCalendar(), 2026)
    for task in result.tasks:
        assert task.weight == task.weight and 0 < task.weight <= 1000
        assert task.seq is None or 0 < task.seq < 2**31


@settings(FUZZ)
@given(cut=st.integers(0, 4000), flip=st.integers(0, 255), where=st.integers(0, 4000))
def test_a_damaged_file_is_refused_cleanly(cut: int, flip: int, where: int) -> None:
    data = bytearray(workbook([[1, "安全生产", "任务", "", "城关镇", "9月底"]]).getvalue())
    data[where % len(data)] ^= flip
    data = data[: max(1, len(data) - cut)]
    try:
        parse_sheet(io.BytesIO(bytes(data)), UNITS, WorkCalendar(), 2026)
    except LedgerFileError:
        pass
