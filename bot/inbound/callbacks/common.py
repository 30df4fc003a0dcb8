"""Shared pieces of every callback endpoint: the request as endpoints read it, the answer,
body limits, refusals, and acknowledging before handling when busy."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import IO, Any

from bot.db import DatabaseUnavailable
from bot.inbound.callbacks.verify import CallbackRejected, Crypto, Verifier
from bot.inbound.pipeline import accept, process
from bot.runtime import Runtime
from bot.wsgi_server import BACKLOG

log = logging.getLogger("bot.inbound.callbacks")


@dataclass(frozen=True)
class Reply:
    """A callback's HTTP answer."""

    body: str | bytes = ""
    status: int = 200
    mimetype: str = "text/plain"


@dataclass(frozen=True)
class Call:
    """One callback request as the endpoints read it, with the state the app shares between
    requests (`extensions`: the runtime, verifiers, the in-flight count, the server's
    backlog). Built by the router (router.py), not by Flask: a callback needs none of
    Flask's sessions, CSRF checks or templates."""

    extensions: dict[str, Any]
    args: Mapping[str, str]
    remote_addr: str
    stream: IO[bytes]
    content_length: int | None

    @property
    def runtime(self) -> Runtime:
        rt: Runtime = self.extensions["duban"]
        return rt

    def body(self, limit: int) -> bytes:
        """The request body, refusing anything over `limit` bytes without reading it all."""
        if self.content_length is not None and self.content_length > limit:
            raise CallbackRejected(413, f"body over {limit} bytes")
        body = self.stream.read(limit + 1)
        if len(body) > limit:
            raise CallbackRejected(413, f"body over {limit} bytes")
        return body

    def refuse(self, channel: str, exc: CallbackRejected) -> Reply:
        log.warning(
            "callback refused channel=%s status=%s reason=%s remote=%s",
            channel,
            exc.status,
            exc.reason,
            self.remote_addr,
        )
        return Reply(exc.reason, exc.status)


# Not stored, so not acknowledged: the platform retries later.
UNAVAILABLE = Reply("database unavailable", 503)


def unavailable(channel: str, msg_key: str) -> Reply:
    log.error("callback not stored channel=%s msg_key=%s: database unavailable", channel, msg_key)
    return UNAVAILABLE


@dataclass(frozen=True)
class Load:
    """How busy the webhook is as a callback arrives."""

    count: int  # callbacks in flight in this process, this one included
    burst: bool


class InFlight:
    """Callbacks being handled right now in this process, and whether a burst is on.

    A burst: BURST callbacks within BURST_SECONDS that each found another in flight. Inline
    handling costs a web thread ~10 ms of CPU that every other acknowledgement waits for,
    so during a burst none is handled inline, whatever `[web] inline_limit` allows, not only
    while many are inside at the same instant (under load that count dips to one or two
    between requests). A sequence of callbacks one after another is no burst, however fast
    it comes.
    """

    BURST = 10
    BURST_SECONDS = 1.0

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.count = 0
        self.lock = threading.Lock()
        self.clock = clock
        self.crowded: deque[float] = deque(maxlen=self.BURST)

    def __enter__(self) -> Load:
        with self.lock:
            self.count += 1
            now = self.clock()
            if self.count > 1:
                self.crowded.append(now)
            crowded = self.crowded
            burst = len(crowded) == self.BURST and now - crowded[0] < self.BURST_SECONDS
            return Load(self.count, burst)

    def __exit__(self, *_: object) -> None:
        with self.lock:
            self.count -= 1


def in_flight(extensions: dict[str, Any]) -> InFlight:
    counter = extensions.get("duban.inflight")
    if counter is None:
        counter = extensions.setdefault("duban.inflight", InFlight())
    return counter


def answer(
    call: Call,
    channel: str,
    *,
    sender: str,
    text: str,
    msg_key: str,
    msg_type: str = "text",
    media_id: str | None = None,
    response_url: str | None = None,
) -> str:
    """Store the message (or raise DatabaseUnavailable); then, if the webhook is quiet,
    handle it inline and return the passive answer; "" acknowledges without one."""
    rt = call.runtime
    with in_flight(call.extensions) as load:
        accepted = accept(
            rt,
            channel=channel,
            sender=sender,
            text=text,
            msg_key=msg_key,
            msg_type=msg_type,
            media_id=media_id,
            response_url=response_url,
        )
        if accepted.inbound_id is None:
            return accepted.reply or ""
        # Busy: more callbacks in flight, waiting for a server thread, or committed
        # together, than may be handled inline.
        waiting = call.extensions.get(BACKLOG)
        busy = load.count + (waiting() if waiting is not None else 0)
        if load.burst or max(busy, accepted.batch) > rt.config.web.inline_limit:
            log.info(
                "callback busy (%s in flight or waiting%s): msg_key=%s acknowledged, handled"
                " by the worker",
                busy,
                ", in a burst" if load.burst else "",
                msg_key,
            )
            return ""
        try:
            result = process(rt, accepted.inbound_id, reply_via="passive")
        except DatabaseUnavailable:
            return ""  # stored already: the worker handles it once the database is back
    return result.reply if result is not None else ""


def cached_verifier(
    call: Call,
    token: str,
    settings: tuple[object, ...],
    make_crypto: Callable[[], Crypto | None],
) -> Verifier:
    """One verifier per app, channel settings and clock, not one per callback: wechatpy's
    crypto object decodes the key when built."""
    rt = call.runtime
    made: dict[tuple[object, ...], Verifier] = call.extensions.setdefault("duban.verifiers", {})
    window = rt.config.wecom.timestamp_window_seconds
    key = (token, window, *settings)
    found = made.get(key)
    if found is None or found.clock is not rt.clock:  # tests swap the clock
        found = made[key] = Verifier(token, make_crypto(), window, rt.clock)
    return found


def wecom_verifier(call: Call, token: str, aes_key: str, receive_id: str, what: str) -> Verifier:
    """A verifier for WeCom's crypto (app: receive id = corp id; smart robot: "")."""
    from wechatpy.enterprise.crypto import WeChatCrypto

    if not (token and aes_key):
        raise CallbackRejected(404, f"{what} callback not configured")
    return cached_verifier(
        call,
        token,
        ("wecom", aes_key, receive_id),
        lambda: WeChatCrypto(token, aes_key, receive_id),
    )
