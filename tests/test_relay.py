"""Outbox: dedupe on enqueue, claims that never hand one row to two relays, lease expiry."""

from __future__ import annotations

import threading
from collections import Counter

from sqlalchemy import func, select

from bot.delivery.relay import claim, deliver_once
from bot.runtime import Runtime
from models import Outbox
from models.outbox import enqueue
from tests.conftest import Clock


def fill(rt: Runtime, n: int) -> None:
    with rt.sessions() as s:
        for i in range(n):
            enqueue(
                s,
                dedupe_key=f"k{i}",
                channel="webhook",
                target=f"g{i % 5}",
                content=f"m{i}",
                now=rt.now(),
            )
        assert (
            enqueue(
                s, dedupe_key="k0", channel="webhook", target="g0", content="again", now=rt.now()
            )
            is None
        )
        s.commit()


class Recorder:
    def __init__(self) -> None:
        self.sent: list[str] = []
        self.lock = threading.Lock()

    def send(self, row: Outbox) -> None:
        with self.lock:
            self.sent.append(row.dedupe_key)


def test_concurrent_relays_deliver_each_row_once_within_the_pace(rt: Runtime, clock: Clock) -> None:
    fill(rt, 120)  # 24 messages for each of 5 group robots; 20 per window each
    rec = Recorder()

    def relay() -> None:
        while deliver_once(rt, lambda _row: rec):
            pass

    def run_relays() -> None:
        threads = [threading.Thread(target=relay) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    windows = 0
    while len(rec.sent) < 120 and windows < 6:
        before = len(rec.sent)
        run_relays()
        this_window = Counter(int(k[1:]) % 5 for k in rec.sent[before:])
        assert max(this_window.values(), default=0) <= 20  # never over a robot's pace
        clock.advance(seconds=61)
        windows += 1
    counts = Counter(rec.sent)
    assert len(counts) == 120 and max(counts.values()) == 1
    assert windows >= 2  # 24 per robot cannot fit in one window
    with rt.sessions() as s:
        assert s.scalar(select(func.count()).where(Outbox.status != "sent")) == 0


def test_failed_send_is_retried_later(rt: Runtime, clock: Clock) -> None:
    fill(rt, 1)

    class Broken:
        def send(self, row: Outbox) -> None:
            raise ConnectionError("refused")

    assert deliver_once(rt, lambda _row: Broken()) == 0
    with rt.sessions() as s:
        row = s.scalars(select(Outbox)).one()
        assert row.status == "pending" and row.attempts == 1 and "refused" in row.last_error
    assert deliver_once(rt) == 0  # not due yet
    clock.advance(seconds=11)  # first backoff: 5–10 s (base 5 s × 2, jittered)
    assert deliver_once(rt) == 1


def test_a_dead_relays_lease_runs_out(rt: Runtime, clock: Clock) -> None:
    fill(rt, 3)
    assert len(claim(rt)) == 3  # claimed, then the relay "dies" without sending
    assert claim(rt) == []
    clock.advance(seconds=61)
    assert len(claim(rt)) == 3


def test_a_split_message_uses_one_send_per_part_of_the_window(rt: Runtime) -> None:
    """A robot takes 20 sends a minute: a text split into 3 parts uses 3 of them."""
    long_text = "\n".join(f"第{i}行：" + "催办事项" * 20 for i in range(30))  # > 2048 bytes
    with rt.sessions() as s:
        enqueue(
            s, dedupe_key="long", channel="webhook", target="g", content=long_text, now=rt.now()
        )
        for i in range(20):
            enqueue(
                s, dedupe_key=f"s{i}", channel="webhook", target="g", content=f"m{i}", now=rt.now()
            )
        s.commit()
        sends = s.scalar(select(Outbox.sends).where(Outbox.dedupe_key == "long"))
    assert sends is not None and sends >= 3
    claimed = claim(rt)
    with rt.sessions() as s:
        keys = set(s.scalars(select(Outbox.dedupe_key).where(Outbox.id.in_(claimed))))
    assert "long" in keys and len(keys) == 1 + 20 - sends  # the window is 20 sends, not rows
