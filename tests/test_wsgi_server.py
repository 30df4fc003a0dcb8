"""The waitress server `duban serve` runs (bot/wsgi_server.py): its I/O thread does not poll
a channel whose task is sending, and nothing it serves stalls for it."""

from __future__ import annotations

import hashlib
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from flask import Flask, Response

from bot.wsgi_server import BACKLOG, Channel, build_server

CHUNK = b"0123456789abcdef" * 4096  # 64 KiB


def streaming_app() -> Flask:
    app = Flask("t")

    @app.get("/big")
    def big() -> Response:
        # Far beyond a socket buffer: the task thread blocks sending while the I/O thread
        # must still flush what is left once the lock is free.
        return Response((CHUNK for _ in range(64)), mimetype="application/octet-stream")

    @app.get("/small")
    def small() -> str:
        return "ok"

    return app


@pytest.fixture
def served() -> Iterator[tuple[str, object]]:
    app = streaming_app()
    server = build_server(app, host="127.0.0.1", port=0, threads=4)
    port = server.effective_port  # type: ignore[union-attr]
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        server.task_dispatcher.shutdown()
        server.close()


def test_large_and_small_responses_arrive_whole_and_in_time(
    served: tuple[str, object],
) -> None:
    url, _ = served
    expected = hashlib.sha256(CHUNK * 64).hexdigest()

    def big() -> str:
        with requests.get(f"{url}/big", stream=True, timeout=10) as r:
            digest = hashlib.sha256()
            for part in r.iter_content(8192):
                digest.update(part)
            return digest.hexdigest()

    with ThreadPoolExecutor(12) as pool:
        bigs = [pool.submit(big) for _ in range(3)]
        smalls = [pool.submit(requests.get, f"{url}/small", timeout=10) for _ in range(40)]
        assert [f.result().text for f in smalls] == ["ok"] * 40
        assert [f.result() for f in bigs] == [expected] * 3


def test_the_app_learns_the_servers_backlog(served: tuple[str, object]) -> None:
    _, app = served
    waiting = app.extensions[BACKLOG]  # type: ignore[attr-defined]
    assert waiting() == 0


def test_a_channel_whose_task_is_sending_is_not_polled_for_writing() -> None:
    app = streaming_app()
    server = build_server(app, host="127.0.0.1", port=0, threads=1)
    ours, theirs = socket.socketpair()
    try:
        channel = Channel(server, ours, ("127.0.0.1", 1), server.adj, map={})  # type: ignore[arg-type]
        assert not channel.writable()  # nothing to send
        channel.total_outbufs_len = 10
        assert channel.writable()  # left over, no task: the I/O thread flushes it
        channel.requests = [object()]  # type: ignore[list-item]
        assert channel.writable()  # a task runs but is not sending: flush for it
        sending = threading.Event()
        done = threading.Event()

        def task_sends() -> None:
            with channel.outbuf_lock:
                sending.set()
                done.wait(10)

        t = threading.Thread(target=task_sends)
        t.start()
        sending.wait(10)
        assert not channel.writable()  # the task is sending: polling would only spin
        channel.will_close = True
        assert channel.writable()  # closing always goes ahead
        channel.will_close = False
        done.set()
        t.join(10)
        assert channel.writable()
    finally:
        theirs.close()
        ours.close()
        server.close()
