"""Delivery through the outbox to the fake WeCom on loopback: faults, 45009 storms, removed
robots, token refresh, every channel, long texts. The fake's window is shortened to keep the
suite quick; the relay is configured with the same window, so the pacing logic is the same."""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter

import pytest
import requests
from sqlalchemy import func, select

from bot.config import load_config
from bot.delivery.channels import DeliveryError
from bot.delivery.relay import Relay, channel_factory, requeue
from bot.runtime import Runtime, build_runtime
from models import Outbox, Setting
from models.outbox import enqueue
from models.splitting import split_message
from tests.conftest import WINDOW, Fake


@pytest.fixture
def live_rt(db_url: str, engine: object, fake: Fake) -> Runtime:
    cfg = load_config(
        environ={},
        overrides={
            "database": {"url": db_url},
            "wecom": {
                "corp_id": "wwfake",
                "secret": "fake-secret",
                "agent_id": 1000002,
                "api_base_url": fake.url,
            },
            "wechat": {"app_id": "wxfake", "secret": "s", "token": "t", "api_base_url": fake.url},
            "delivery": {
                "window_seconds": WINDOW,
                "backoff_base_seconds": 0.05,
                "backoff_cap_seconds": 0.4,
                "http_timeout_seconds": 2.0,
                "lease_seconds": 10,
            },
        },
    )
    return build_runtime(cfg, engine=engine)  # type: ignore[arg-type]


def queue(rt: Runtime, rows: list[tuple[str, str, str]], msg_type: str = "text") -> None:
    with rt.sessions() as s:
        for i, (channel, target, content) in enumerate(rows):
            enqueue(
                s,
                dedupe_key=f"t{i}",
                channel=channel,
                target=target,
                content=content,
                now=rt.now(),
                msg_type=msg_type,
            )
        s.commit()


def drain(rt: Runtime, relay: Relay, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        relay.run_once()
        with rt.sessions() as s:
            open_rows = s.scalar(
                select(func.count()).where(Outbox.status.in_(("pending", "sending")))
            )
        if not open_rows:
            return
        time.sleep(0.05)
    raise AssertionError("outbox did not drain")


def statuses(rt: Runtime) -> Counter[str]:
    with rt.sessions() as s:
        return Counter(s.scalars(select(Outbox.status)))


def test_thousand_messages_to_fifty_groups_under_30_percent_faults(
    live_rt: Runtime, fake: Fake
) -> None:
    fake.state.configure(error_rate=0.3, hang_rate=0.003, hang_seconds=3.0)
    rows = [("webhook", f"robot-{i % 50}", f"消息 {i}") for i in range(1000)]
    queue(live_rt, rows)
    drain(live_rt, Relay(live_rt), seconds=120)
    got = fake.contents()
    assert len(got) == 1000 and set(got.values()) == {1}  # all delivered, none twice
    assert statuses(live_rt) == Counter({"sent": 1000})
    calls = requests.get(f"{fake.url}/_fake/delivered", timeout=10).json()["calls"]
    assert calls["webhook/send"] > 1200  # the faults really happened and were retried


def test_45009_storm_is_paced_out_and_nothing_is_lost(live_rt: Runtime, fake: Fake) -> None:
    fake.state.configure(storm_seconds=3)
    queue(live_rt, [("webhook", f"robot-{i % 3}", f"风暴 {i}") for i in range(45)])
    relay = Relay(live_rt)
    relay.run_once()
    with live_rt.sessions() as s:
        errors = s.scalars(select(Outbox.last_error).where(Outbox.last_error != "")).all()
    assert errors and all(e.startswith("45009") for e in errors)
    drain(live_rt, relay)
    got = fake.contents()
    assert len(got) == 45 and set(got.values()) == {1}


def test_removed_robot_is_parked_reported_and_can_be_requeued(live_rt: Runtime, fake: Fake) -> None:
    fake.state.configure(remove_robot="robot-gone")
    queue(
        live_rt,
        [("webhook", "robot-gone", f"丢失 {i}") for i in range(5)]
        + [("webhook", "robot-ok", "正常")],
    )
    relay = Relay(live_rt)
    drain(live_rt, relay)
    assert statuses(live_rt) == Counter({"parked": 5, "sent": 1})
    with live_rt.sessions() as s:
        parked = s.scalars(select(Outbox).where(Outbox.status == "parked")).all()
        assert all("93000" in p.last_error for p in parked)
        assert sum(p.attempts for p in parked) == 1  # one try; the rest were not sent blindly
    fake.state.configure(restore_robot="robot-gone")
    assert requeue(live_rt, target="robot-gone") == 5
    drain(live_rt, relay)
    assert statuses(live_rt) == Counter({"sent": 6})


def test_app_messages_share_one_token_and_refresh_it_when_rejected(
    live_rt: Runtime, fake: Fake
) -> None:
    queue(
        live_rt,
        [("app", f"user{i}", f"提醒 {i}") for i in range(10)] + [("appchat", "chat-1", "群聊提醒")],
    )
    drain(live_rt, Relay(live_rt))
    second = Relay(live_rt)  # another process: takes the token from the database
    fake.state.configure(expire_tokens=True)  # WeCom now answers 40014 to the cached token
    with live_rt.sessions() as s:
        enqueue(
            s, dedupe_key="late", channel="app", target="user1", content="稍后", now=live_rt.now()
        )
        s.commit()
    drain(live_rt, second)
    calls = requests.get(f"{fake.url}/_fake/delivered", timeout=10).json()["calls"]
    assert calls["gettoken"] == 2  # once at first, once after the rejection
    assert statuses(live_rt) == Counter({"sent": 12})
    with live_rt.sessions() as s:
        assert (
            s.scalar(select(func.count()).select_from(Setting).where(Setting.key.like("token:%")))
            == 1
        )
    assert {d["endpoint"] for d in fake.delivered()} == {"message/send", "appchat/send"}


def test_aibot_response_url_and_official_account(live_rt: Runtime, fake: Fake) -> None:
    queue(
        live_rt,
        [
            ("aibot", f"{fake.url}/cgi-bin/aibot/response?response_code=R1", "机器人回复"),
            ("aibot", f"{fake.url}/cgi-bin/aibot/response?response_code=R1", "第二次"),
            ("wechat", "oOPENID", "公众号消息"),
        ],
    )
    drain(live_rt, Relay(live_rt))
    assert statuses(live_rt) == Counter({"sent": 2, "parked": 1})  # a response_url is one-shot
    assert {d["endpoint"] for d in fake.delivered()} == {"aibot/response", "message/custom/send"}


def test_long_text_is_split_into_numbered_parts_under_the_byte_limit(
    live_rt: Runtime, fake: Fake
) -> None:
    lines = [f"第{i}行：乡镇单位重点工作推进情况说明" for i in range(200)]
    queue(live_rt, [("webhook", "robot-long", "\n".join(lines))])
    drain(live_rt, Relay(live_rt))
    bodies = [d["body"]["text"]["content"] for d in fake.delivered()]  # type: ignore[index]
    assert len(bodies) > 1
    assert all(len(b.encode()) <= 2048 for b in bodies)
    assert [b.split("\n", 1)[0] for b in bodies] == [
        f"（{i}/{len(bodies)}）" for i in range(1, len(bodies) + 1)
    ]
    rejoined = "\n".join(b.split("\n", 1)[1] for b in bodies)
    assert rejoined == "\n".join(lines)


def test_a_split_message_resumes_after_a_failed_part_without_doubled_headers(
    live_rt: Runtime, fake: Fake
) -> None:
    """Part 2 of 3 fails once: the retry sends parts 2 and 3 as cut the first time, and the
    stored message is still the one written (no stray "（3/6）" lines)."""
    lines = [f"第{i}行：乡镇单位重点工作推进情况说明" for i in range(90)]
    original = "\n".join(lines)
    queue(live_rt, [("webhook", "robot-long", original)])
    real = channel_factory(live_rt)
    sends = 0

    class FailsPartTwoOnce:
        def send(self, row: Outbox) -> None:
            nonlocal sends
            sends += 1
            if sends == 2:
                raise DeliveryError("transient", "HTTP 502")
            real(row).send(row)

    drain(live_rt, Relay(live_rt, lambda _row: FailsPartTwoOnce()))
    bodies = [d["body"]["text"]["content"] for d in fake.delivered()]  # type: ignore[index]
    parts = split_message(original, "text")
    assert len(parts) == 3 and bodies == parts
    with live_rt.sessions() as s:
        row = s.scalars(select(Outbox)).one()
    assert row.status == "sent" and row.payload["content"] == original
    assert row.payload["parts_sent"] == 3 and row.attempts == 2


def test_a_units_robots_share_its_messages(live_rt: Runtime) -> None:
    """A unit group with two robots spreads its messages over both (20/min each), and a
    message keeps its robot."""
    from models import Unit
    from models.outbox import enqueue_to_unit, unit_targets

    with live_rt.sessions() as s:
        unit = Unit(code="T", name="城关镇", kind="township", webhook_keys=["k1", "k2"])
        s.add(unit)
        s.flush()
        rows = [
            enqueue_to_unit(s, unit, dedupe_key=f"n{i}", content="催办", now=live_rt.now())[0]
            for i in range(40)
        ]
        used = Counter(r.target for r in rows)
        assert set(used) == {"k1", "k2"} and min(used.values()) >= 10
        assert all(unit_targets(s, unit, r.dedupe_key) == [("webhook", r.target)] for r in rows)


def test_split_message_properties() -> None:
    assert split_message("短消息", "text") == ["短消息"]
    text = "\n".join("长" * 700 for _ in range(10))  # lines of 2100 bytes: longer than a part
    parts = split_message(text, "text")
    assert all(len(p.encode()) <= 2048 for p in parts)
    assert "".join(p.split("\n", 1)[1].replace("\n", "") for p in parts) == text.replace("\n", "")
    md = split_message("x" * 5000, "markdown")
    assert len(md) == 2 and all(len(p.encode()) <= 4096 for p in md)


def test_transient_failures_give_up_after_the_configured_age(live_rt: Runtime, fake: Fake) -> None:
    fake.state.configure(error_rate=1.0)
    queue(live_rt, [("webhook", "robot-x", "永远失败")])
    relay = Relay(live_rt)
    relay.run_once()
    with live_rt.sessions() as s:
        row = s.scalars(select(Outbox)).one()
        row.created_at = live_rt.now() - dt.timedelta(hours=25)
        row.next_attempt_at = live_rt.now()
        s.commit()
    relay.run_once()
    with live_rt.sessions() as s:
        row = s.scalars(select(Outbox)).one()
        assert row.status == "parked" and row.last_error.startswith("gave up")
