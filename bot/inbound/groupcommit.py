"""Group commit for the webhook's acceptances: one transaction stores a batch of callbacks.

A callback is acknowledged only once its row is committed. Committing each callback on its
own made every request pay a transaction (and, on SQLite, queue behind the one writer); here
the request threads hand their INSERT to one committer thread per database and wait. The
committer takes whatever has queued meanwhile, runs the inserts in one transaction, commits
and then wakes each waiter with its row id. If the commit fails, every waiter of the batch
gets the error (the webhook answers 503 and the platform retries): nobody is acknowledged
before, or without, the commit. No lock is held while waiting for the database except by
the committer itself.

Two deliveries of one message in the same batch: the first is inserted, the others are told
`AlreadyStored` and answer as a retry does. A key stored by an earlier batch (or by another
process) makes the batch's transaction fail on the unique index; the batch is then retried
one insert per transaction, so only that callback meets the IntegrityError.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from bot.db import BUSY_TIMEOUT_MS, writer_gate

log = logging.getLogger(__name__)

MAX_BATCH = 256
# An idle committer thread ends after this long, so engines that are dropped (tests, CLI
# commands) do not leave threads behind; the next acceptance starts a new one.
IDLE_SECONDS = 2.0
# How often a batch tries SQLite's write lock again while another process holds it, and
# for how long that often before it tries ten times less often.
LOCK_POLL_SECONDS = 0.001
LOCK_POLL_FAST = 0.1


# Stores a batch in the open transaction: one row id (or None: nothing stored) per params.
BatchStore = Callable[[Connection, Sequence[Mapping[str, Any]]], list[int | None]]


class AlreadyStored(Exception):
    """The same message key was accepted earlier in the same batch."""


@dataclass(eq=False)
class _Pending:
    params: Mapping[str, Any]
    key: str
    done: threading.Event = field(default_factory=threading.Event)
    result: int | None = None
    error: BaseException | None = None
    batch: int = 0  # how many callbacks were committed together


class GroupCommitter:
    """Commits queued inserts in batches on one thread; `submit` blocks until committed."""

    def __init__(self, engine: Engine, store: BatchStore, max_batch: int = MAX_BATCH) -> None:
        self._engine = weakref.ref(engine)
        self._store = store
        self._max_batch = max_batch
        self._queue: list[_Pending] = []
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._paused = False
        # Sizes of the latest committed batches, and how many there were (tests, logs).
        self.batches: deque[int] = deque(maxlen=64)
        self.committed = 0

    def submit(self, params: Mapping[str, Any], key: str) -> tuple[int | None, int]:
        """Store `params` in the next batch; the returned id (None: nothing was stored) is
        committed when this returns, with the size of its batch (how busy the webhook is).
        Raises what the batch raised."""
        pending = _Pending(params, key)
        with self._cond:
            self._queue.append(pending)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="duban-group-commit", daemon=True
                )
                self._thread.start()
            self._cond.notify()
        pending.done.wait()
        if pending.error is not None:
            raise pending.error
        return pending.result, pending.batch

    def queued(self) -> int:
        with self._cond:
            return len(self._queue)

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Hold batches back (tests: gather concurrent acceptances into one batch)."""
        with self._cond:
            self._paused = True
        try:
            yield
        finally:
            with self._cond:
                self._paused = False
                self._cond.notify()

    def _take(self) -> list[_Pending] | None:
        with self._cond:
            while not self._queue or self._paused:
                if not self._cond.wait(IDLE_SECONDS) and not self._queue:
                    self._thread = None
                    return None
            batch = self._queue[: self._max_batch]
            del self._queue[: self._max_batch]
            return batch

    def _run(self) -> None:
        # One connection kept while callbacks keep coming (until IDLE_SECONDS without
        # one): no pool checkout, and no liveness ping, per batch. Any failure drops it;
        # the next batch connects afresh.
        conn: Connection | None = None
        while (batch := self._take()) is not None:
            engine = self._engine()
            try:
                if engine is None:
                    raise RuntimeError("database engine was discarded")
                if conn is None:
                    # The batch is one statement (store.py), so it commits by itself:
                    # autocommit spares the BEGIN and COMMIT round trips.
                    conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
                    _busy_timeout(conn, 0)  # we poll for the lock: _locked()
                self._commit(engine, conn, batch)
            except BaseException as exc:  # every waiter must wake, whatever happened
                for p in batch:
                    p.error = exc  # in-batch duplicates too: their first was not stored
                if conn is not None:
                    conn.invalidate()
                    conn.close()
                    conn = None
            finally:
                for p in batch:
                    p.batch = len(batch)
                    p.done.set()
            del engine
        if conn is not None:  # idle for IDLE_SECONDS: back to the pool as it came
            try:
                _busy_timeout(conn, BUSY_TIMEOUT_MS)
            except Exception:
                conn.invalidate()  # never pooled with a zero busy timeout
            conn.close()

    def _commit(self, engine: Engine, conn: Connection, batch: list[_Pending]) -> None:
        first: dict[str, _Pending] = {}
        unique: list[_Pending] = []
        for p in batch:
            if p.key in first:
                p.error = AlreadyStored(p.key)
            else:
                first[p.key] = p
                unique.append(p)
        try:
            with writer_gate(engine):
                results = self._locked(conn, [p.params for p in unique])
        except IntegrityError:
            log.info("group commit: a key in a batch of %d was stored before", len(unique))
            self._one_by_one(engine, unique)
        else:
            for p, result in zip(unique, results, strict=True):
                p.result = result
            self.batches.append(len(unique))
            self.committed += 1
        for p in batch:  # a repeat answers as its first delivery did
            if isinstance(p.error, AlreadyStored):
                head = first[p.key]
                if head.error is not None and not isinstance(head.error, IntegrityError):
                    p.error = head.error  # not stored: not acknowledged either
                elif head.error is None and head.result is None:
                    p.error = None  # nothing stored (not a member): refused the same way

    def _locked(self, conn: Connection, rows: list[Mapping[str, Any]]) -> list[int | None]:
        """Store the batch; on SQLite, while another process (the worker) holds the write
        lock, try again every LOCK_POLL_SECONDS until the busy timeout has passed.

        SQLite's own busy handler sleeps up to 100 ms between tries; a worker handling
        messages one transaction after another takes the lock again within milliseconds of
        releasing it, so a webhook that slept that long missed it again and again (one
        benchmark round: p99 3.9 s). Polling finds the gap between two of them. A lock
        held longer than LOCK_POLL_FAST (an import's transaction) is tried ten times less
        often: the wait is long anyway, and each try costs CPU and the GIL.
        """
        start = time.monotonic()
        deadline = start + BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                with conn.begin():
                    return self._store(conn, rows)
            except OperationalError as exc:
                code = getattr(exc.orig, "sqlite_errorcode", 0)  # maybe an extended code
                now = time.monotonic()
                if code & 0xFF != sqlite3.SQLITE_BUSY or now > deadline:
                    raise
            slow = now - start > LOCK_POLL_FAST
            time.sleep(LOCK_POLL_SECONDS * (10 if slow else 1))

    def _one_by_one(self, engine: Engine, batch: list[_Pending]) -> None:
        for p in batch:
            try:
                with writer_gate(engine), engine.begin() as conn:
                    p.result = self._store(conn, [p.params])[0]
            except Exception as exc:  # this callback only: the others' commits stand
                p.error = exc


def _busy_timeout(conn: Connection, ms: int) -> None:
    """How long SQLite waits in its own busy handler on this connection (not SQLite: no-op)."""
    if conn.dialect.name == "sqlite":
        with conn.begin():
            conn.exec_driver_sql(f"PRAGMA busy_timeout={int(ms)}")


_COMMITTERS: weakref.WeakKeyDictionary[Engine, GroupCommitter] = weakref.WeakKeyDictionary()
_COMMITTERS_LOCK = threading.Lock()


def committer(engine: Engine, store: BatchStore) -> GroupCommitter:
    """The one committer of this process for `engine` (created with `store`)."""
    with _COMMITTERS_LOCK:
        found = _COMMITTERS.get(engine)
        if found is None:
            found = _COMMITTERS[engine] = GroupCommitter(engine, store)
        return found
