"""One path for every inbound chat message, in two steps.

`accept` makes the message durable (one INSERT, unique on the platform's message key) and
is all a webhook must do before acknowledging. `process` runs the handlers; the claim on
the stored row, the state changes, their audit entries and outbox rows commit in one
transaction, so a message takes effect exactly once whoever processes it: the webhook
inline (answering passively), or a worker later (answering through the outbox) when the
webhook is busy or died after the acknowledgement.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.exc import InterfaceError as SAInterfaceError
from sqlalchemy.orm import Session, joinedload

from bot.db import DatabaseUnavailable, writer_gate
from bot.inbound import binding
from bot.inbound.binding import redeem
from bot.inbound.groupcommit import AlreadyStored, committer
from bot.inbound.store import store_batch
from bot.runtime import Runtime
from handlers.base import Context
from handlers.render import render
from handlers.router import handle, route
from models import InboundMessage, Member
from models.audit import audit
from models.base import rows_changed
from models.outbox import enqueue
from models.splitting import split_message

log = logging.getLogger(__name__)
DB_ERRORS = (OperationalError, SAInterfaceError)
BURST_QUIET = dt.timedelta(milliseconds=500)
MAX_DEFER = dt.timedelta(seconds=15)


@dataclass(frozen=True)
class InboundResult:
    reply: str
    duplicate: bool = False
    handler: str = ""


@dataclass(frozen=True)
class Accepted:
    inbound_id: int | None  # None when nothing was stored (refusal, duplicate)
    reply: str | None = None  # an answer decided without processing
    duplicate: bool = False
    batch: int = 1  # callbacks committed together with this one


def _duplicate(done: InboundMessage) -> Accepted:
    # A reply already sent as a message is not repeated in a retry's passive answer.
    passive = done.status == "processed" and done.reply_via == "passive"
    return Accepted(None, done.reply if passive else "", duplicate=True)


def accept(
    rt: Runtime,
    *,
    channel: str,
    sender: str,
    text: str,
    msg_key: str,
    msg_type: str = "text",
    media_id: str | None = None,
    response_url: str | None = None,
) -> Accepted:
    """Store the message once; raises DatabaseUnavailable when it cannot be stored.

    This is the whole of a busy webhook's work: concurrent acceptances share one transaction
    (group commit, `store_batch`), and this returns only after the row is committed. The
    message key is unique, which detects a platform retry.
    """
    params: dict[str, Any] = {
        "msg_key": msg_key,
        "channel": channel,
        "sender": sender,
        "msg_type": msg_type,
        "content": text,
        "media_id": media_id,
        "received_at": rt.now(),
        "response_url": response_url,
    }
    try:
        # Committed with the other callbacks that arrived meanwhile (bot/inbound/groupcommit).
        inbound_id, batch = committer(rt.engine, store_batch).submit(params, msg_key)
        if inbound_id is not None:
            return Accepted(inbound_id, batch=batch)
        with rt.sessions() as session:
            return _not_a_member(
                rt, session, channel=channel, sender=sender, text=text, msg_key=msg_key
            )
    except (IntegrityError, AlreadyStored):
        # Stored before: WeCom's retry, or a concurrent delivery of the same message.
        with rt.sessions() as session:
            done = session.scalar(select(InboundMessage).where(InboundMessage.msg_key == msg_key))
            if done is None:
                raise
            log.info("inbound duplicate msg_key=%s", msg_key)
            return _duplicate(done)
    except DB_ERRORS as exc:
        log.error(
            "inbound not stored msg_key=%s: database unavailable (%s)",
            msg_key,
            exc.__class__.__name__,
        )
        raise DatabaseUnavailable(str(exc)) from exc


def _not_a_member(
    rt: Runtime, session: Session, *, channel: str, sender: str, text: str, msg_key: str
) -> Accepted:
    """A WeChat binding code, a retry of a message from a since-deactivated member, or a
    polite refusal with nothing recorded."""
    done = session.scalar(select(InboundMessage).where(InboundMessage.msg_key == msg_key))
    if done is not None:
        return _duplicate(done)
    if channel == "wechat":
        limits = rt.config.wechat
        bound = redeem(
            session,
            sender,
            text,
            rt.now(),
            per_user=limits.bind_max_failures_per_user,
            per_hour=limits.bind_max_failures_per_hour,
        )
        session.commit()  # the binding, or a wrong code counted against guessing
        if bound is not None:
            log.info("wechat openid bound to %s msg_key=%s", bound.userid, msg_key)
            return Accepted(None, render("bound_ok", {"member": bound}))
        until = binding.looks_like_code(text) and binding.locked_until(
            session,
            sender,
            rt.now(),
            per_user=limits.bind_max_failures_per_user,
            per_hour=limits.bind_max_failures_per_hour,
        )
        if until:
            # Locked out of guessing: say so and until when, not "you are not registered".
            log.warning("bind code refused: locked until %s sender=%s", until, sender)
            local = until.astimezone(rt.tz)
            return Accepted(None, render("bind_locked", {"until": local}, today=rt.today()))
    log.warning(
        "inbound refused: unknown sender=%s channel=%s msg_key=%s", sender, channel, msg_key
    )
    return Accepted(None, render("unknown_sender", {"channel": channel}))


# Smart-robot messages from a group chat carry this key prefix (see callbacks/aibot.py).
GROUP_KEY = "aibot:g:"


def _reply_target(inbound: InboundMessage) -> tuple[str, str] | None:
    if inbound.channel == "aibot" and inbound.response_url:
        return "aibot", inbound.response_url
    if inbound.channel == "wechat":
        return "wechat", inbound.sender
    if inbound.channel in ("wecom", "aibot"):
        return "app", inbound.sender
    return None


def process(rt: Runtime, inbound_id: int, *, reply_via: str = "passive") -> InboundResult | None:
    """Handle a stored message; None if another process already did."""
    try:
        with writer_gate(rt.engine), rt.sessions() as session:
            claimed = rows_changed(
                session.execute(
                    update(InboundMessage)
                    .where(InboundMessage.id == inbound_id, InboundMessage.status == "received")
                    .values(status="processed", reply_via=reply_via)
                )
            )
            if not claimed:
                session.rollback()
                return None
            inbound = session.get_one(InboundMessage, inbound_id)
            member = session.get_one(Member, inbound.member_id, options=[joinedload(Member.unit)])
            now = rt.now()
            app = rt.config.wecom
            ctx = Context(
                session=session,
                rules=rt.config.rules,
                calendar=rt.calendar,
                boards=rt.live_board,
                member=member,
                text=inbound.content,
                now=now,
                today=now.astimezone(rt.tz).date(),
                inbound=inbound,
                channel=inbound.channel,
                msg_type=inbound.msg_type,
                media_id=inbound.media_id,
                chat="group" if inbound.msg_key.startswith(GROUP_KEY) else "private",
                form_url=rt.config.web.phone_form_url,
                cards=bool(app.corp_id and app.secret and app.agent_id),
            )
            handler, match = route(ctx)
            try:
                answer = handle(ctx, handler, match)
                reply = render(answer.template, answer.data, today=ctx.today)
            except DB_ERRORS:
                raise
            except Exception:
                log.exception("handler %s failed on msg_key=%s", handler.name, inbound.msg_key)
                session.rollback()
                return _failed(rt, inbound_id, handler.name)
            target = _reply_target(inbound)
            parts = split_message(reply, "text")
            if reply_via == "passive" and target is not None and len(parts) > 1:
                # A passive answer is one message within WeCom's 2048 bytes: the first part
                # goes back in the HTTP answer, the rest through the outbox.
                reply = parts[0]
                enqueue(
                    session,
                    dedupe_key=f"reply:{inbound.id}:rest",
                    channel=target[0],
                    target=target[1],
                    content="\n".join(parts[1:]),
                    now=now,
                    source=ctx.source,
                )
            inbound.reply = reply
            # An acknowledgement in a group is answered by silence: no empty message is sent.
            if reply_via == "outbox" and target is not None and reply:
                enqueue(
                    session,
                    dedupe_key=f"reply:{inbound.id}",
                    channel=target[0],
                    target=target[1],
                    content=reply,
                    now=now,
                    source=ctx.source,
                )
            audit(
                session,
                at=now,
                actor=member.userid,
                source=ctx.source,
                action="message",
                entity="inbound_message",
                entity_id=inbound.id,
                handler=handler.name,
                channel=inbound.channel,
                reply_via=reply_via,
            )
            session.commit()
            log.info(
                "inbound processed msg_key=%s id=%s sender=%s handler=%s via=%s",
                inbound.msg_key,
                inbound.id,
                inbound.sender,
                handler.name,
                reply_via,
            )
            return InboundResult(reply, handler=handler.name)
    except DB_ERRORS as exc:
        log.error(
            "inbound id=%s not processed: database unavailable (%s)",
            inbound_id,
            exc.__class__.__name__,
        )
        raise DatabaseUnavailable(str(exc)) from exc


def _failed(rt: Runtime, inbound_id: int, handler: str) -> InboundResult:
    """A handler bug: record the message as failed (not retried forever) and say so."""
    reply = render("internal_error")
    with rt.sessions() as session:
        session.execute(
            update(InboundMessage)
            .where(InboundMessage.id == inbound_id)
            .values(status="failed", reply=reply)
        )
        inbound = session.get_one(InboundMessage, inbound_id)
        audit(
            session,
            at=rt.now(),
            actor=inbound.sender,
            source=f"inbound:{inbound_id}",
            action="failed",
            entity="inbound_message",
            entity_id=inbound_id,
            handler=handler,
        )
        session.commit()
    return InboundResult(reply, handler=handler)


def handle_message(
    rt: Runtime,
    *,
    channel: str,
    sender: str,
    text: str,
    msg_key: str,
    msg_type: str = "text",
    media_id: str | None = None,
) -> InboundResult:
    """Accept and process at once (`duban say`, and webhooks that are not busy)."""
    accepted = accept(
        rt,
        channel=channel,
        sender=sender,
        text=text,
        msg_key=msg_key,
        msg_type=msg_type,
        media_id=media_id,
    )
    if accepted.inbound_id is None:
        return InboundResult(accepted.reply or "", duplicate=accepted.duplicate)
    result = process(rt, accepted.inbound_id)
    return result if result is not None else InboundResult("", duplicate=True)


def process_pending(
    rt: Runtime, *, older_than: dt.timedelta = dt.timedelta(seconds=2), limit: int = 200
) -> int:
    """Handle messages acknowledged but not yet processed; replies go through the outbox."""
    with rt.sessions() as session:
        ids = list(
            session.scalars(
                select(InboundMessage.id)
                .where(
                    InboundMessage.status == "received",
                    InboundMessage.received_at <= rt.now() - older_than,
                )
                .order_by(InboundMessage.received_at, InboundMessage.id)
                .limit(limit)
            )
        )
    done = 0
    for n, inbound_id in enumerate(ids):
        if n % 10 == 0 and _webhook_bursting(rt):
            log.info("inbound worker yields to a callback burst; %d left", len(ids) - n)
            break
        if process(rt, inbound_id, reply_via="outbox") is not None:
            done += 1
    return done


def yield_to_burst(
    newest: dt.datetime | None, oldest: dt.datetime | None, now: dt.datetime
) -> bool:
    """Whether the worker should leave the database to the webhook for now: callbacks are
    still arriving (one in the last BURST_QUIET), unless a message has waited MAX_DEFER —
    replies are late by the length of a burst, acknowledgements never wait for them."""
    if newest is None or oldest is None:
        return False
    return now - newest < BURST_QUIET and now - oldest < MAX_DEFER


def _webhook_bursting(rt: Runtime) -> bool:
    with rt.sessions() as session:
        newest, oldest = session.execute(
            select(
                func.max(InboundMessage.received_at), func.min(InboundMessage.received_at)
            ).where(InboundMessage.status == "received")
        ).one()
    return yield_to_burst(newest, oldest, rt.now())
