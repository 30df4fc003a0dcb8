"""Waitress as the bot runs it: `duban serve`, and the benchmark's floor app beside it.

Three changes to stock waitress, all about its one I/O thread under load:

- A channel whose task thread is in the middle of sending (it holds the channel's output
  lock; with send_bytes=1 a task flushes its own writes) is not polled for writing. Stock
  waitress polls it: select() returns at once, the I/O thread finds the lock taken, and
  polls again — spinning while the task thread waits for the GIL to finish its send. Under
  50 connections that loop ran 20 times per request and took half the process's CPU.
  Output left over when the lock is released is flushed as before: the task pulls the
  server's trigger when it ends, and a task waiting to drain a full buffer waits on the
  lock's condition, which releases the lock.
- The app learns how many requests wait for a thread (`BACKLOG`), so a busy webhook
  acknowledges and leaves handling to the worker even while few requests are inside it.
- "Task queue depth is N" is not logged for every request of a burst: queueing at 50
  connections over 8 threads is the normal state, and logging it cost 4 % of the CPU.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable
from typing import Any

from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, MultiSocketServer, create_server

# Where a Flask app finds how many requests wait for a server thread.
BACKLOG = "duban.backlog"


class Channel(HTTPChannel):
    def writable(self) -> bool:
        if self.will_close or self.close_when_flushed:
            return True
        if not self.total_outbufs_len:
            return False
        if self.requests:  # a task is running: is it sending right now?
            if not self.outbuf_lock.acquire(False):
                return False
            self.outbuf_lock.release()
        return True


def build_server(
    app: Any, *, host: str, port: int, threads: int, ident: str = "duban"
) -> BaseWSGIServer | MultiSocketServer:
    """A bound waitress server for `app` (OSError if the port is taken); `.run()` serves."""
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    server = create_server(app, host=host, port=port, threads=threads, ident=ident)
    # A host name with several addresses (localhost: ::1 and 127.0.0.1) gives one listening
    # server per address, all in the multi-server's socket map.
    if isinstance(server, MultiSocketServer):
        listeners: list[object] = list((server.map or {}).values())
    else:
        listeners = [server]
    for each in listeners:
        if isinstance(each, BaseWSGIServer):
            each.channel_class = Channel
    # Requests read but waiting for a thread: the webhook is busy even when few are inside
    # the app yet (bot/inbound/callbacks/common.py answers those without handling them).
    queue = server.task_dispatcher.queue
    set_backlog(app, lambda: len(queue))
    return server


def set_backlog(app: Any, waiting: Callable[[], int]) -> None:
    extensions = getattr(app, "extensions", None)
    if isinstance(extensions, dict):
        extensions[BACKLOG] = waiting


def freeze_heap() -> None:
    """Hide what start-up built from the cyclic garbage collector before serving.

    The app, its templates, SQLAlchemy's metadata and wechatpy live as long as the process;
    without this every full collection walks them again. A ledger page of ten thousand rows
    keeps enough objects alive to set off a full collection on most requests: 100–200 ms
    of a 300 ms page went to walking the start-up heap (bench/bench_ledger.py).
    """
    gc.collect()
    gc.freeze()
