"""WeCom app callback over real HTTP on loopback, driven by an independent crypto peer."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from bot.config import Config, load_config
from bot.db import make_engine
from bot.runtime import Runtime, build_runtime
from models import AuditLog, InboundMessage, Progress
from tests.conftest import Clock, County, LiveServer, serve_app
from tests.wecom_peer import WecomPeer, event_xml, image_xml, text_xml

VECTORS = json.loads(
    # WeCom's published vectors, copied into the repository: the suite reads nothing outside it.
    (Path(__file__).resolve().parent / "data" / "wecom-test-vectors.json").read_text(
        encoding="utf-8"
    )
)
CORP = VECTORS["corp_id"]
ZERO = dt.timedelta(0)


@pytest.fixture
def config(db_url: str) -> Config:
    return load_config(
        environ={},
        overrides={
            "database": {"url": db_url},
            "wecom": {
                "corp_id": CORP,
                "token": VECTORS["token"],
                "encoding_aes_key": VECTORS["encoding_aes_key"],
            },
        },
    )


@pytest.fixture
def server(rt: Runtime) -> Iterator[LiveServer]:
    yield from serve_app(rt)


@pytest.fixture
def peer() -> WecomPeer:
    return WecomPeer(VECTORS["token"], VECTORS["encoding_aes_key"], CORP)


def now_ts(clock: Clock) -> int:
    return int(clock().timestamp())


def post(server: LiveServer, params: dict[str, str], body: str | bytes) -> requests.Response:
    data = body.encode() if isinstance(body, str) else body
    return requests.post(f"{server.url}/wecom/callback", params=params, data=data, timeout=10)


def count(rt: Runtime, model: object) -> int:
    with rt.sessions() as s:
        return s.scalar(select(func.count()).select_from(model))  # type: ignore[arg-type]


def test_published_vectors_url_check(server: LiveServer, clock: Clock) -> None:
    u = VECTORS["verify_url"]
    clock.set(clock().fromtimestamp(int(u["timestamp"]), clock().tzinfo))
    r = requests.get(
        f"{server.url}/wecom/callback",
        timeout=10,
        params={
            "msg_signature": u["msg_signature"],
            "timestamp": u["timestamp"],
            "nonce": u["nonce"],
            "echostr": u["echostr"],
        },
    )
    assert r.status_code == 200 and r.text == u["echo_plain"]


def test_published_vectors_message(server: LiveServer, clock: Clock, county: County) -> None:
    m = VECTORS["message"]
    clock.set(clock().fromtimestamp(int(m["timestamp"]), clock().tzinfo))
    params = {"msg_signature": m["msg_signature"], "timestamp": m["timestamp"], "nonce": m["nonce"]}
    r = post(server, params, m["body"])
    assert r.status_code == 200
    # The sender (ChenJiaShun) is not a member: a polite refusal, nothing recorded.
    assert count(server.rt, InboundMessage) == 0
    reply = WecomPeer(VECTORS["token"], VECTORS["encoding_aes_key"], CORP).read_reply(r.text)
    assert "尚未登记" in reply and "<ToUserName><![CDATA[ChenJiaShun]]>" in reply


def test_stale_vectors_are_refused_by_the_real_clock(server: LiveServer) -> None:
    m = VECTORS["message"]
    params = {"msg_signature": m["msg_signature"], "timestamp": m["timestamp"], "nonce": m["nonce"]}
    r = post(server, params, m["body"])
    assert r.status_code == 403 and "stale" in r.text


def test_text_message_round_trip(
    server: LiveServer, peer: WecomPeer, clock: Clock, county: County
) -> None:
    params, body = peer.callback(
        text_xml("cgz_liaison", "完成 #3 已清理", 9001, CORP), now_ts(clock)
    )
    r = post(server, params, body)
    assert r.status_code == 200
    reply = peer.read_reply(r.text)
    assert "已收到" in reply and "#3" in reply
    with server.rt.sessions() as s:
        inbound = s.scalars(select(InboundMessage)).one()
        assert inbound.msg_key == "wecom:9001" and inbound.channel == "wecom"
        entry = s.scalars(select(Progress)).one()
        assert entry.inbound_id == inbound.id
        sources = set(s.scalars(select(AuditLog.source)))
        assert sources == {f"inbound:{inbound.id}"}


def test_triple_retry_records_once_and_answers_the_same(
    server: LiveServer, peer: WecomPeer, clock: Clock, county: County
) -> None:
    params, body = peer.callback(text_xml("cgz_liaison", "完成 #3", 9002, CORP), now_ts(clock))
    replies = []
    for _ in range(4):  # the original and WeCom's three retries
        r = post(server, params, body)
        assert r.status_code == 200
        replies.append(peer.read_reply(r.text))
    assert len({x.split("<CreateTime>")[0] for x in replies}) == 1
    assert all("已收到" in x for x in replies)
    assert count(server.rt, InboundMessage) == 1 and count(server.rt, Progress) == 1


@pytest.mark.parametrize(
    "fault",
    ["signature", "corp_id", "stale", "future", "oversized", "xml", "base64", "missing", "nonce"],
)
def test_refusals_are_4xx_and_record_nothing(
    server: LiveServer, peer: WecomPeer, clock: Clock, county: County, fault: str
) -> None:
    xml = text_xml("cgz_liaison", "完成 #3", 9100, CORP)
    ts = now_ts(clock)
    params, body = peer.callback(xml, ts)
    data: str | bytes = body
    if fault == "signature":
        params["msg_signature"] = "0" * 40
    elif fault == "corp_id":
        params, data = peer.callback(xml, ts, receive_id="wwSOMEONEELSE")
    elif fault == "stale":
        params, data = peer.callback(xml, ts - 301)
    elif fault == "future":
        params, data = peer.callback(xml, ts + 301)
    elif fault == "oversized":
        data = body.replace("</xml>", "<Pad>" + "x" * 70_000 + "</Pad></xml>")
    elif fault == "xml":
        data = "<xml><Encrypt>unterminated"
    elif fault == "base64":
        bad = "@@not-base64@@"
        params = {**params, "msg_signature": peer.sign(params["timestamp"], params["nonce"], bad)}
        data = f"<xml><Encrypt><![CDATA[{bad}]]></Encrypt></xml>"
    elif fault == "missing":
        params.pop("msg_signature")
    elif fault == "nonce":
        params["nonce"] = "different"
    r = post(server, params, data)
    assert 400 <= r.status_code < 500, (r.status_code, r.text)
    assert count(server.rt, InboundMessage) == 0 and count(server.rt, Progress) == 0


def test_database_outage_yields_503_and_a_later_retry_succeeds(
    server: LiveServer, peer: WecomPeer, clock: Clock, county: County
) -> None:
    rt = server.rt
    params, body = peer.callback(text_xml("cgz_liaison", "完成 #3", 9200, CORP), now_ts(clock))
    working = rt.engine, rt.sessions
    dead = make_engine("postgresql://nobody@127.0.0.1:9/none")  # nothing listens on port 9
    rt.engine, rt.sessions = dead, sessionmaker(dead)
    try:
        r = post(server, params, body)
        assert r.status_code == 503
    finally:
        rt.engine, rt.sessions = working
    assert count(rt, InboundMessage) == 0
    r = post(server, params, body)
    assert r.status_code == 200 and "已收到" in peer.read_reply(r.text)
    assert count(rt, Progress) == 1


def test_image_after_report_attaches_as_evidence(
    server: LiveServer, peer: WecomPeer, clock: Clock, county: County
) -> None:
    ts = now_ts(clock)
    post(server, *peer.callback(text_xml("cgz_liaison", "完成 #3", 9300, CORP), ts))
    r = post(server, *peer.callback(image_xml("cgz_liaison", "MEDIA123", 9301, CORP), ts))
    assert "佐证材料" in peer.read_reply(r.text)
    with server.rt.sessions() as s:
        evidence = s.scalars(select(Progress).where(Progress.kind == "evidence")).one()
        assert evidence.attachments[0]["media_id"] == "MEDIA123"


def test_image_without_a_report_is_not_attached(
    server: LiveServer, peer: WecomPeer, clock: Clock, county: County
) -> None:
    r = post(server, *peer.callback(image_xml("cgz_liaison", "M1", 9400, CORP), now_ts(clock)))
    assert "没有您的报告" in peer.read_reply(r.text)
    assert count(server.rt, Progress) == 0


def test_events_enter_agent_ignored_menu_click_handled(
    server: LiveServer, peer: WecomPeer, clock: Clock, county: County
) -> None:
    ts = now_ts(clock)
    r = post(server, *peer.callback(event_xml("cgz_liaison", "enter_agent", CORP), ts))
    assert r.status_code == 200 and r.text == ""
    r = post(
        server,
        *peer.callback(event_xml("cgz_liaison", "click", CORP, key="tasks", create_time=ts), ts),
    )
    assert "待办事项" in peer.read_reply(r.text)
    # the same event again (a retry) is answered from the record, not re-run
    r = post(
        server,
        *peer.callback(event_xml("cgz_liaison", "click", CORP, key="tasks", create_time=ts), ts),
    )
    assert "待办事项" in peer.read_reply(r.text)
    assert count(server.rt, InboundMessage) == 1


def test_url_check_with_bad_signature_is_refused(
    server: LiveServer, peer: WecomPeer, clock: Clock
) -> None:
    ts = str(now_ts(clock))
    echo = peer.encrypt("12345")
    r = requests.get(
        f"{server.url}/wecom/callback",
        timeout=10,
        params={"msg_signature": "f" * 40, "timestamp": ts, "nonce": "1", "echostr": echo},
    )
    assert r.status_code == 403
    r = requests.get(
        f"{server.url}/wecom/callback",
        timeout=10,
        params={
            "msg_signature": peer.sign(ts, "1", echo),
            "timestamp": ts,
            "nonce": "1",
            "echostr": echo,
        },
    )
    assert r.status_code == 200 and r.text == "12345"


def test_unconfigured_callback_is_404(db_url: str, engine: object, clock: Clock) -> None:
    rt = build_runtime(
        load_config(environ={}, overrides={"database": {"url": db_url}}), clock=clock, engine=engine
    )  # type: ignore[arg-type]
    for live in serve_app(rt):
        assert requests.get(f"{live.url}/wecom/callback", timeout=10).status_code == 404


def test_busy_webhook_acknowledges_at_once_and_the_worker_answers_by_message(
    server: LiveServer, peer: WecomPeer, clock: Clock, county: County
) -> None:
    from bot.inbound.pipeline import process_pending
    from models import Outbox

    params, body = peer.callback(
        text_xml("cgz_liaison", "完成 #3 忙时上报", 9500, CORP), now_ts(clock)
    )
    # A burst: as many callbacks in flight as the inline limit allows.
    from bot.inbound.callbacks.common import InFlight

    flight = InFlight()
    flight.count = server.rt.config.web.inline_limit
    server.app.extensions["duban.inflight"] = flight  # type: ignore[attr-defined]
    r = post(server, params, body)
    assert r.status_code == 200 and r.text == ""  # acknowledged, nothing answered yet
    with server.rt.sessions() as s:
        inbound = s.scalars(select(InboundMessage)).one()
        assert inbound.status == "received"
    assert count(server.rt, Progress) == 0
    # While callbacks keep arriving the worker leaves the database to the webhook…
    assert process_pending(server.rt, older_than=ZERO) == 0
    clock.advance(seconds=1)  # …and handles the message once the burst is over.
    assert process_pending(server.rt, older_than=ZERO) == 1
    with server.rt.sessions() as s:
        reply = s.scalars(select(Outbox).where(Outbox.channel == "app")).one()
        assert reply.target == "cgz_liaison" and "已收到" in reply.payload["content"]
    assert count(server.rt, Progress) == 1
    # WeCom's retry now gets an empty answer: the reply went as a message, not twice.
    flight.count = 0
    r = post(server, params, body)
    assert r.status_code == 200 and r.text == ""
    assert process_pending(server.rt, older_than=ZERO) == 0
    assert count(server.rt, Progress) == 1


def test_a_burst_is_busy_even_when_few_are_in_flight_at_that_instant() -> None:
    from bot.inbound.callbacks.common import InFlight, Load

    now = [100.0]
    flight = InFlight(clock=lambda: now[0])
    # One after another, however fast: never a burst (a test client, a quiet office).
    for _ in range(3 * InFlight.BURST):
        with flight as load:
            assert load == Load(1, burst=False)
    # Callbacks that overlap another: the BURST-th within a second makes it a burst even
    # though only two are inside right then.
    with flight:
        for n in range(1, InFlight.BURST + 1):
            with flight as load:
                assert load == Load(2, burst=n == InFlight.BURST), n
            now[0] += 0.05
        with flight as load:
            assert load.burst  # still within the second
        now[0] += InFlight.BURST_SECONDS
        with flight as load:
            assert load == Load(2, burst=False)  # over: the last ten are a second old
    with flight as load:
        assert load == Load(1, burst=False) and flight.count == 1


def test_in_a_burst_nothing_is_handled_inline_whatever_the_limit(
    server: LiveServer,
    peer: WecomPeer,
    clock: Clock,
    county: County,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from dataclasses import replace

    from bot.inbound.callbacks.common import InFlight

    cfg = server.rt.config  # an office that wants answers inline even when busy
    monkeypatch.setattr(server.rt, "config", replace(cfg, web=replace(cfg.web, inline_limit=50)))
    flight = InFlight()
    flight.crowded.extend([time.monotonic()] * InFlight.BURST)  # ten just now, overlapping
    flight.count = 1  # and one more inside
    server.app.extensions["duban.inflight"] = flight  # type: ignore[attr-defined]
    params, body = peer.callback(
        text_xml("cgz_liaison", "进度 #3 50% 忙时上报", 9550, CORP), now_ts(clock)
    )
    r = post(server, params, body)
    assert r.status_code == 200 and r.text == ""  # acknowledged, left to the worker
    assert count(server.rt, Progress) == 0
    flight.crowded.clear()
    params, body = peer.callback(
        text_xml("cgz_liaison", "进度 #3 60% 平时上报", 9551, CORP), now_ts(clock)
    )
    r = post(server, params, body)
    assert r.status_code == 200 and "已记录进度" in peer.read_reply(r.text)  # answered inline
    assert count(server.rt, Progress) == 1


def test_a_database_failure_after_storing_is_finished_by_the_worker(
    server: LiveServer,
    peer: WecomPeer,
    clock: Clock,
    county: County,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import bot.inbound.callbacks.common as common
    from bot.db import DatabaseUnavailable
    from bot.inbound.pipeline import process_pending

    def down(*_: object, **__: object) -> None:
        raise DatabaseUnavailable("connection lost")

    monkeypatch.setattr(common, "process", down)
    params, body = peer.callback(text_xml("cgz_liaison", "完成 #3", 9600, CORP), now_ts(clock))
    r = post(server, params, body)
    assert r.status_code == 200 and r.text == ""  # stored before the failure: acknowledged
    monkeypatch.undo()
    clock.advance(seconds=1)
    assert process_pending(server.rt, older_than=ZERO) == 1
    assert count(server.rt, Progress) == 1


def test_the_worker_yields_to_a_burst_but_never_defers_a_message_for_long() -> None:
    from bot.inbound.pipeline import BURST_QUIET, MAX_DEFER, yield_to_burst

    now = dt.datetime(2026, 11, 25, 9, tzinfo=dt.UTC)
    ms = dt.timedelta(milliseconds=1)
    assert not yield_to_burst(None, None, now)  # nothing waiting
    assert yield_to_burst(now - 10 * ms, now - 3000 * ms, now)  # callbacks still arriving
    assert not yield_to_burst(now - BURST_QUIET, now - 3000 * ms, now)  # the burst is over
    assert not yield_to_burst(now - 10 * ms, now - MAX_DEFER, now)  # waited long enough


def test_sqlite_writers_of_one_process_queue_on_one_gate(engine: object, db_url: str) -> None:
    from contextlib import nullcontext

    from bot.db import make_engine, writer_gate

    gate = writer_gate(engine)  # type: ignore[arg-type]
    if db_url.startswith("sqlite"):
        assert gate is writer_gate(make_engine(db_url))  # one gate per database file
        assert not isinstance(gate, nullcontext)
    else:
        assert isinstance(gate, nullcontext)  # server databases lock rows, not the file


def test_file_after_report_attaches_as_evidence(
    server: LiveServer, peer: WecomPeer, clock: Clock, county: County
) -> None:
    """wechatpy 1.8 parses MsgType file as unknown; it must still attach as evidence."""
    ts = now_ts(clock)
    post(server, *peer.callback(text_xml("cgz_liaison", "完成 #3", 9500, CORP), ts))
    file_xml = (
        f"<xml><ToUserName><![CDATA[{CORP}]]></ToUserName>"
        "<FromUserName><![CDATA[cgz_liaison]]></FromUserName><CreateTime>1764036000</CreateTime>"
        "<MsgType><![CDATA[file]]></MsgType><MediaId><![CDATA[FILE77]]></MediaId>"
        "<Title><![CDATA[整改报告.pdf]]></Title><MsgId>9501</MsgId><AgentID>1000002</AgentID></xml>"
    )
    r = post(server, *peer.callback(file_xml, ts))
    assert "佐证材料" in peer.read_reply(r.text)
    with server.rt.sessions() as s:
        evidence = s.scalars(select(Progress).where(Progress.kind == "evidence")).one()
        assert evidence.attachments[0]["media_id"] == "FILE77"


def test_a_chunked_callback_is_stored_and_answered_with_the_security_headers(
    server: LiveServer, peer: WecomPeer, clock: Clock, county: County
) -> None:
    """Callbacks are answered ahead of Flask (bot/inbound/callbacks/router.py): a body sent
    without a length is still read, and the answer carries what every page's does."""
    params, body = peer.callback(
        text_xml("cgz_liaison", "进度 #3 40% 分块发送", 9600, CORP), now_ts(clock)
    )
    data = body.encode()
    r = requests.post(
        f"{server.url}/wecom/callback",
        params=params,
        data=iter([data[:50], data[50:]]),  # Transfer-Encoding: chunked
        timeout=10,
    )
    assert r.status_code == 200 and "已记录进度" in peer.read_reply(r.text)
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["Content-Type"] == "application/xml; charset=utf-8"
    assert count(server.rt, Progress) == 1
    assert requests.put(f"{server.url}/wecom/callback", timeout=10).status_code == 405
