"""Group commit of callback acceptances: a batch is acknowledged after, and only after, its
one commit; a failed commit acknowledges none of it; a message twice in a batch counts once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from typing import Any

import pytest
from sqlalchemy import event, func, select

from bot.config import Config, load_config
from bot.db import DatabaseUnavailable
from bot.inbound.groupcommit import GroupCommitter, committer
from bot.inbound.pipeline import Accepted, accept, process
from bot.inbound.store import store_batch
from bot.runtime import Runtime
from models import InboundMessage, Progress
from tests.conftest import Clock, County, LiveServer, serve_app
from tests.test_wecom_callback import CORP, VECTORS, now_ts, post
from tests.wecom_peer import WecomPeer, text_xml


def count(rt: Runtime, model: object) -> int:
    with rt.sessions() as s:
        return s.scalar(select(func.count()).select_from(model))  # type: ignore[arg-type]


def wait_queued(gc: GroupCommitter, n: int) -> None:
    deadline = time.monotonic() + 20
    while gc.queued() < n:
        assert time.monotonic() < deadline, f"only {gc.queued()} of {n} queued"
        time.sleep(0.01)


def in_one_batch(rt: Runtime, calls: list[Callable[[], Any]]) -> list[Future[Any]]:
    """Start every call on its own thread while the committer is held, then let it commit
    them together."""
    gc = committer(rt.engine, store_batch)
    pool = ThreadPoolExecutor(len(calls))
    with gc.paused():
        futures = [pool.submit(c) for c in calls]
        wait_queued(gc, len(calls))
    for f in futures:
        f.exception(timeout=30)
    pool.shutdown()
    return futures


def report(rt: Runtime, key: str, text: str = "进度 #1 40% 已开工") -> Callable[[], Accepted]:
    return lambda: accept(rt, channel="wecom", sender="cgz_liaison", text=text, msg_key=key)


@pytest.fixture
def failing_commit(rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """While set, the batch's write fails as a lost server would: the driver raises its
    OperationalError. The batch is one statement on an autocommit connection: its end is
    its commit, so the failure is injected there, before the statement runs."""
    from bot.inbound import store

    failing = threading.Event()
    driver_run = store.run
    lost = rt.engine.dialect.loaded_dbapi.OperationalError

    def run(cursor: object, sql: str, params: tuple[object, ...]) -> list[object]:
        if failing.is_set() and sql.startswith("INSERT INTO inbound_message"):
            raise lost("server closed the connection")
        return driver_run(cursor, sql, params)

    monkeypatch.setattr(store, "run", run)
    yield failing


def test_one_commit_acknowledges_the_whole_batch(rt: Runtime, county: County) -> None:
    gc = committer(rt.engine, store_batch)
    before = gc.committed
    futures = in_one_batch(rt, [report(rt, f"wecom:b{i}") for i in range(6)])
    results = [f.result() for f in futures]
    assert all(r.inbound_id is not None and not r.duplicate for r in results)
    assert (gc.committed - before, gc.batches[-1]) == (1, 6)  # one transaction for all six
    assert count(rt, InboundMessage) == 6
    assert len({r.inbound_id for r in results}) == 6


def test_failed_commit_acknowledges_none_and_stores_nothing(
    rt: Runtime, county: County, failing_commit: threading.Event
) -> None:
    failing_commit.set()
    calls = [report(rt, f"wecom:f{i}") for i in range(5)] + [report(rt, "wecom:f0")]
    futures = in_one_batch(rt, calls)  # a repeat of f0 rides along: refused with it
    assert all(isinstance(f.exception(), DatabaseUnavailable) for f in futures)
    assert count(rt, InboundMessage) == 0
    failing_commit.clear()
    # The platform's retries are then stored, each once.
    again = in_one_batch(rt, [report(rt, f"wecom:f{i}") for i in range(5)])
    assert all(f.result().inbound_id is not None for f in again)
    assert count(rt, InboundMessage) == 5


def test_duplicates_inside_one_batch_take_effect_once(rt: Runtime, county: County) -> None:
    calls = [report(rt, "wecom:dup") for _ in range(3)] + [report(rt, "wecom:other")]
    results = [f.result() for f in in_one_batch(rt, calls)]
    firsts = [r for r in results[:3] if r.inbound_id is not None]
    assert len(firsts) == 1 and sum(r.duplicate for r in results[:3]) == 2
    assert results[3].inbound_id is not None and not results[3].duplicate
    for r in (firsts[0], results[3]):
        assert r.inbound_id is not None
        process(rt, r.inbound_id)
    assert count(rt, InboundMessage) == 2
    assert count(rt, Progress) == 2  # one effect each, not four


def test_key_stored_by_an_earlier_batch_does_not_fail_its_neighbours(
    rt: Runtime, county: County
) -> None:
    first = report(rt, "wecom:early")()
    assert first.inbound_id is not None
    calls = [report(rt, "wecom:early"), report(rt, "wecom:n1"), report(rt, "wecom:n2")]
    results = [f.result() for f in in_one_batch(rt, calls)]
    assert results[0].duplicate and results[0].inbound_id is None
    assert all(r.inbound_id is not None for r in results[1:])
    assert count(rt, InboundMessage) == 3


def test_batch_from_an_unknown_sender_twice_is_refused_twice(rt: Runtime, county: County) -> None:
    def stranger() -> Accepted:
        return accept(rt, channel="wecom", sender="nobody", text="进度", msg_key="wecom:s")

    results = [f.result() for f in in_one_batch(rt, [stranger, stranger])]
    assert all(r.inbound_id is None and r.reply for r in results)
    assert count(rt, InboundMessage) == 0


@pytest.fixture
def config(db_url: str) -> Config:
    wecom = {
        "corp_id": CORP,
        "token": VECTORS["token"],
        "encoding_aes_key": VECTORS["encoding_aes_key"],
    }
    return load_config(environ={}, overrides={"database": {"url": db_url}, "wecom": wecom})


@pytest.fixture
def server(rt: Runtime) -> Iterator[LiveServer]:
    yield from serve_app(rt)


def test_http_batch_with_a_failed_commit_answers_503_to_every_callback(
    server: LiveServer, county: County, failing_commit: threading.Event, clock: Clock
) -> None:
    rt = server.rt
    peer = WecomPeer(VECTORS["token"], VECTORS["encoding_aes_key"], CORP)
    calls = [
        peer.callback(text_xml("cgz_liaison", f"进度 #1 {10 + i}%", 9700 + i, CORP), now_ts(clock))
        for i in range(4)
    ]
    sends = [partial(lambda c: post(server, *c).status_code, c) for c in calls]
    failing_commit.set()
    assert [f.result() for f in in_one_batch(rt, sends)] == [503] * 4
    assert count(rt, InboundMessage) == 0
    failing_commit.clear()
    # WeCom retries the same callbacks: now acknowledged, each stored once.
    assert [f.result() for f in in_one_batch(rt, sends)] == [200] * 4
    assert count(rt, InboundMessage) == 4


def test_callbacks_committed_together_beyond_the_inline_limit_are_left_to_the_worker(
    server: LiveServer, county: County, clock: Clock
) -> None:
    rt = server.rt
    peer = WecomPeer(VECTORS["token"], VECTORS["encoding_aes_key"], CORP)
    n = rt.config.web.inline_limit + 1
    calls = [
        peer.callback(text_xml("cgz_liaison", f"进度 #1 {20 + i}%", 9800 + i, CORP), now_ts(clock))
        for i in range(n)
    ]
    sends = [partial(lambda c: post(server, *c).text, c) for c in calls]
    # Acknowledged with no passive answer: the webhook is busy, the worker handles them.
    assert [f.result() for f in in_one_batch(rt, sends)] == [""] * n
    with rt.sessions() as s:
        statuses = s.scalars(select(InboundMessage.status)).all()
    assert statuses == ["received"] * n
    assert count(rt, Progress) == 0


def test_callback_waiting_for_a_server_thread_makes_the_webhook_busy(
    server: LiveServer, county: County, clock: Clock
) -> None:
    """Requests queued for a thread (waitress's backlog) count as busy: one callback alone
    inside the app is acknowledged and left to the worker while others wait outside."""
    from bot.wsgi_server import BACKLOG, set_backlog

    rt = server.rt
    peer = WecomPeer(VECTORS["token"], VECTORS["encoding_aes_key"], CORP)
    waiting = [rt.config.web.inline_limit]
    set_backlog(server.app, lambda: waiting[0])
    try:
        first = peer.callback(text_xml("cgz_liaison", "进度 #1 30%", 9900, CORP), now_ts(clock))
        assert post(server, *first).text == ""
        waiting[0] = 0  # the queue drained: the next one is answered at once
        second = peer.callback(text_xml("cgz_liaison", "进度 #1 35%", 9901, CORP), now_ts(clock))
        assert post(server, *second).text != ""
    finally:
        server.app.extensions.pop(BACKLOG)  # type: ignore[attr-defined]
    with rt.sessions() as s:
        statuses = s.scalars(select(InboundMessage.status).order_by(InboundMessage.id)).all()
    assert statuses == ["received", "processed"]
    assert count(rt, Progress) == 1


def test_store_batch_keeps_members_and_refuses_the_rest(rt: Runtime, county: County) -> None:
    """One statement stores the batch: ids in the batch's order, None for a sender who is
    not an active member (unknown, deactivated, an unbound WeChat follower)."""
    from models import Member

    with rt.sessions() as s:
        liaison = s.scalar(select(Member).where(Member.userid == "cgz_liaison"))
        gone = s.scalar(select(Member).where(Member.userid != "cgz_liaison"))
        assert liaison is not None and gone is not None
        liaison.openid = "o-bound"
        gone.active = False
        gone_userid = gone.userid
        s.commit()
    now = rt.now()
    rows = [
        {"msg_key": k, "channel": ch, "sender": who, "msg_type": "text", "content": "进度 #1 10%"}
        | {"media_id": None, "received_at": now, "response_url": None}
        for k, ch, who in [
            ("k-app", "wecom", "cgz_liaison"),
            ("k-nobody", "wecom", "nobody"),
            ("k-gone", "wecom", gone_userid),
            ("k-wechat", "wechat", "o-bound"),
            ("k-stranger", "wechat", "o-unbound"),
            ("k-openid-as-userid", "wecom", "o-bound"),
        ]
    ]
    with rt.engine.connect() as conn, conn.begin():
        ids = store_batch(conn, rows)
    assert [i is not None for i in ids] == [True, False, False, True, False, False]
    with rt.sessions() as s:
        stored = s.execute(
            select(InboundMessage.id, InboundMessage.msg_key, InboundMessage.member_id)
        ).all()
        assert {(i, k) for i, k, _ in stored} == {(ids[0], "k-app"), (ids[3], "k-wechat")}
        assert {m for _, _, m in stored} == {liaison.id}
        row = s.get_one(InboundMessage, ids[0])
        assert (row.status, row.reply, row.reply_via) == ("received", "", "passive")
        assert row.received_at == now


def test_sqlite_batch_waits_out_another_process_holding_the_write_lock(
    rt: Runtime, county: County, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker is another process with its own connection: while it holds SQLite's write
    lock the batch is neither stored nor acknowledged; once it lets go, the batch commits
    (tried every millisecond, not after SQLite's sleeps of up to 100 ms). The committer's
    connection then goes back to the pool with the usual busy timeout."""
    if rt.engine.dialect.name != "sqlite":
        pytest.skip("server databases lock rows, not the file")
    import sqlite3

    import bot.inbound.groupcommit as groupcommit
    from bot.db import BUSY_TIMEOUT_MS

    monkeypatch.setattr(groupcommit, "IDLE_SECONDS", 0.2)
    returned: list[int] = []  # the busy timeout of each connection back in the pool

    def checkin(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        returned.append(dbapi_conn.execute("PRAGMA busy_timeout").fetchone()[0])

    event.listen(rt.engine.pool, "checkin", checkin)
    tries = [0]

    def on_execute(*args: object) -> None:
        if str(args[2]).startswith("INSERT INTO inbound_message"):
            tries[0] += 1

    event.listen(rt.engine, "before_cursor_execute", on_execute)
    other = sqlite3.connect(str(rt.engine.url.database), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # the write lock, as a worker's transaction takes it
    pool = ThreadPoolExecutor(1)
    try:
        held = time.monotonic()
        pending = pool.submit(report(rt, "wecom:locked"))
        time.sleep(0.6)
        assert not pending.done(), pending.exception()  # not stored: not acknowledged
        other.execute("COMMIT")
        held = time.monotonic() - held
        assert pending.result(timeout=30).inbound_id is not None
        event.remove(rt.engine, "before_cursor_execute", on_execute)
        # Every millisecond for the first LOCK_POLL_FAST, then every ten: each pause is at
        # least that long, so this bounds the tries however slow the machine (without the
        # slower polling 0.6 s held would take some 500).
        fast = groupcommit.LOCK_POLL_FAST / groupcommit.LOCK_POLL_SECONDS
        assert tries[0] <= 3 + fast + held / (10 * groupcommit.LOCK_POLL_SECONDS), tries
    finally:
        other.close()
        pool.shutdown()
    assert count(rt, InboundMessage) == 1
    gc = committer(rt.engine, store_batch)
    deadline = time.monotonic() + 20
    while gc._thread is not None:  # idle: the connection goes back to the pool
        assert time.monotonic() < deadline
        time.sleep(0.05)
    event.remove(rt.engine.pool, "checkin", checkin)
    assert returned and set(returned) == {BUSY_TIMEOUT_MS}, returned
