"""Outbox relay: claims due rows, paces each target under WeCom's limits, delivers, and
retries, waits or parks according to the answer.

Guarantee: once per dedupe key from our side (a row is sent by one relay at a time, and a
sent row is never sent again); at least once to WeCom. The one window for a duplicate is a
relay killed after WeCom accepted a message and before its commit: that row is re-sent after
its lease. App messages carry WeCom's own duplicate check, which closes that window for them.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import requests
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from bot.delivery.channels import (
    AppClientChannel,
    CardUpdateChannel,
    Channel,
    DeliveryError,
    ResponseUrlChannel,
    SandboxChannel,
    WebhookChannel,
    WechatCustomerChannel,
)
from bot.delivery.wecom_api import DatabaseTokenStorage, OfficialAccountClient, app_client
from bot.runtime import Runtime
from models import Outbox
from models.base import rows_changed
from models.splitting import split_message

log = logging.getLogger(__name__)
ROBOT_GONE = {93000, 93004, 93008}
ChannelFor = Callable[[Outbox], Channel]


@dataclass
class PassResult:
    sent: int = 0
    retried: int = 0
    parked: int = 0
    deferred: int = 0
    errors: list[str] = field(default_factory=list)


def channel_factory(rt: Runtime) -> ChannelFor:
    """The adapter for each row: the sandbox when no credentials are configured."""
    cfg = rt.config
    if cfg.sandbox:
        sandbox = SandboxChannel()
        return lambda _row: sandbox
    http = requests.Session()
    timeout = cfg.delivery.http_timeout_seconds
    client = app_client(
        rt.sessions,
        rt.clock,
        cfg.wecom.corp_id,
        cfg.wecom.secret,
        cfg.wecom.api_base_url,
        timeout,
    )
    channels: dict[str, Channel] = {
        "webhook": WebhookChannel(cfg.wecom.api_base_url, http, timeout),
        "app": AppClientChannel(client, cfg.wecom.agent_id, "message/send"),
        "appchat": AppClientChannel(client, cfg.wecom.agent_id, "appchat/send"),
        "card_update": CardUpdateChannel(client, cfg.wecom.agent_id),
        "aibot": ResponseUrlChannel(http, timeout),
        "sandbox": SandboxChannel(),
    }
    if cfg.wechat.app_id and cfg.wechat.secret:
        oa = OfficialAccountClient(
            cfg.wechat.app_id,
            cfg.wechat.secret,
            base_url=cfg.wechat.api_base_url,
            storage=DatabaseTokenStorage(rt.sessions, rt.clock),
            timeout=timeout,
        )
        channels["wechat"] = WechatCustomerChannel(cfg, http, lambda: oa.access_token)

    def pick(row: Outbox) -> Channel:
        try:
            return channels[row.channel]
        except KeyError:
            raise DeliveryError("permanent", f"channel {row.channel!r} not configured") from None

    return pick


class Relay:
    def __init__(
        self, rt: Runtime, channel_for: ChannelFor | None = None, rng: random.Random | None = None
    ) -> None:
        self.rt = rt
        self.cfg = rt.config.delivery
        self.channel_for = channel_for or channel_factory(rt)
        self.rng = rng or random.Random()
        self.gone: dict[tuple[str, str], str] = {}  # robots found removed during this pass

    # ---- pacing ------------------------------------------------------------------------
    def limit(self, channel: str) -> int | None:
        return {
            "webhook": self.cfg.webhook_per_window,
            "app": self.cfg.app_user_per_window,
            "appchat": self.cfg.appchat_per_window,
        }.get(channel)

    def window_use(
        self, session: Session, now: dt.datetime, targets: set[tuple[str, str]]
    ) -> dict[tuple[str, str], tuple[int, dt.datetime]]:
        """Per target: platform sends (split parts count one each) in the current window or
        in flight, and the oldest send."""
        since = now - dt.timedelta(seconds=self.cfg.window_seconds)
        q = (
            select(Outbox.channel, Outbox.target, func.sum(Outbox.sends), func.min(Outbox.sent_at))
            .where(
                Outbox.target.in_({t for _, t in targets}),
                or_(
                    Outbox.sent_at > since,
                    and_(Outbox.status == "sending", Outbox.lease_until > now),
                ),
            )
            .group_by(Outbox.channel, Outbox.target)
        )
        return {(c, t): (int(n or 0), oldest or now) for c, t, n, oldest in session.execute(q)}

    # ---- claiming ----------------------------------------------------------------------
    def claim(self) -> list[int]:
        """Lease due rows to this relay, no more per target than its window allows."""
        now = self.rt.now()
        lease = now + dt.timedelta(seconds=self.cfg.lease_seconds)
        is_due = (
            Outbox.status.in_(("pending", "sending")),
            Outbox.next_attempt_at <= now,
            or_(Outbox.lease_until.is_(None), Outbox.lease_until < now),
        )
        with self.rt.sessions() as session:
            q = select(Outbox.id, Outbox.channel, Outbox.target, Outbox.sends).where(*is_due)
            dialect = self.rt.engine.dialect.name
            if dialect != "sqlite":  # PostgreSQL and MariaDB skip rows another relay holds
                q = q.with_for_update(skip_locked=True)
            rows = session.execute(
                q.order_by(Outbox.next_attempt_at, Outbox.id).limit(self.cfg.batch_size * 4)
            ).all()
            if not rows:
                return []
            use = self.window_use(session, now, {(c, t) for _, c, t, _ in rows})
            taken: dict[tuple[str, str], int] = defaultdict(int)
            chosen: list[int] = []
            deferred: dict[tuple[str, str], list[int]] = defaultdict(list)
            for row_id, channel, target, sends in rows:
                limit = self.limit(channel)
                used = use.get((channel, target), (0, now))[0] + taken[(channel, target)]
                # A message longer than a whole window still goes, into an empty window.
                if limit is not None and used and used + sends > limit:
                    deferred[(channel, target)].append(row_id)
                elif len(chosen) < self.cfg.batch_size:
                    chosen.append(row_id)
                    taken[(channel, target)] += sends
            for key, ids in deferred.items():
                # Wake when the oldest send in the window ages out, not on every pass.
                reopen = use.get(key, (0, now))[1] + dt.timedelta(seconds=self.cfg.window_seconds)
                session.execute(
                    update(Outbox)
                    .where(Outbox.id.in_(ids), *is_due)
                    .values(next_attempt_at=max(reopen, now + dt.timedelta(seconds=1)))
                )
            if not chosen:
                session.commit()
                return []
            stmt = (
                update(Outbox)
                .where(Outbox.id.in_(chosen), *is_due)
                .values(status="sending", lease_until=lease)
            )
            if dialect in ("mysql", "mariadb"):  # no UPDATE … RETURNING; the row locks decide
                session.execute(stmt)
                claimed = chosen
            else:
                claimed = [r[0] for r in session.execute(stmt.returning(Outbox.id))]
            session.commit()
            return claimed

    # ---- delivering --------------------------------------------------------------------
    def run_once(self) -> PassResult:
        result = PassResult()
        self.gone = {}
        for row_id in self.claim():
            self.deliver(row_id, result)
        return result

    def deliver(self, row_id: int, result: PassResult) -> None:
        with self.rt.sessions() as session:
            row = session.get_one(Outbox, row_id)
            lease = row.lease_until
            gone = self.gone.get((row.channel, row.target))
            if gone is not None:  # its robot answered "removed" earlier in this pass
                self._update(
                    session, row_id, lease, status="parked", lease_until=None, last_error=gone
                )
                result.parked += 1
                return
            # The stored content stays as it was written; each part is sent from a copy, and
            # only the count of parts WeCom accepted is recorded, so a resumed message is cut
            # the same way and never gets its part headers twice.
            parts = split_message(str(row.payload.get("content", "")), row.msg_type)
            done = int(row.payload.get("parts_sent", 0))
            try:
                channel = self.channel_for(row)
                for i in range(done, len(parts)):
                    channel.send(part_of(row, parts[i]) if len(parts) > 1 else row)
                    if len(parts) > 1 and i + 1 < len(parts):
                        # Progress per part: a crash resumes after the last accepted part.
                        self._update(
                            session, row_id, lease, payload={**row.payload, "parts_sent": i + 1}
                        )
            except DeliveryError as exc:
                self._failed(session, row, lease, exc, result)
                return
            except Exception as exc:  # an adapter bug must not stop the relay
                self._failed(
                    session,
                    row,
                    lease,
                    DeliveryError("transient", f"{exc.__class__.__name__}: {exc}"),
                    result,
                )
                return
            values: dict[str, object] = {
                "status": "sent",
                "sent_at": self.rt.now(),
                "lease_until": None,
                "attempts": row.attempts + 1,
            }
            if len(parts) > 1:
                values["payload"] = {**row.payload, "parts_sent": len(parts)}
            if self._update(session, row_id, lease, **values):
                result.sent += 1
                log.info("outbox=%s sent %s:%s", row_id, row.channel, row.target)

    def _update(
        self, session: Session, row_id: int, lease: dt.datetime | None, **values: object
    ) -> bool:
        """Write only while still holding this row's lease; commit at once."""
        done = rows_changed(
            session.execute(
                update(Outbox)
                .where(Outbox.id == row_id, Outbox.lease_until == lease)
                .values(**values)
            )
        )
        session.commit()
        if not done:
            log.warning("outbox=%s lease lost before its result was written", row_id)
        return bool(done)

    def backoff(self, attempts: int) -> dt.timedelta:
        """Exponential, capped, with full jitter in its upper half."""
        ceiling = min(self.cfg.backoff_cap_seconds, self.cfg.backoff_base_seconds * 2**attempts)
        return dt.timedelta(seconds=ceiling * (0.5 + self.rng.random() / 2))

    def _failed(
        self,
        session: Session,
        row: Outbox,
        lease: dt.datetime | None,
        exc: DeliveryError,
        result: PassResult,
    ) -> None:
        now = self.rt.now()
        attempts = row.attempts + 1
        error = exc.reason[:500]
        result.errors.append(error)
        if exc.kind == "rate_limited":
            wait = dt.timedelta(seconds=self.cfg.window_seconds) * (0.5 + self.rng.random() / 2)
            self._update(
                session,
                row.id,
                lease,
                status="pending",
                lease_until=None,
                next_attempt_at=now + wait,
                last_error=error,
                attempts=attempts,
            )
            result.deferred += 1
            log.info(
                "outbox=%s rate limited by WeCom (%s); waiting %ss",
                row.id,
                exc.code,
                int(wait.total_seconds()),
            )
            return
        too_old = now - row.created_at > dt.timedelta(hours=self.cfg.give_up_after_hours)
        if exc.kind == "permanent" or too_old:
            reason = error if exc.kind == "permanent" else f"gave up after retries: {error}"
            self._update(
                session,
                row.id,
                lease,
                status="parked",
                lease_until=None,
                last_error=reason,
                attempts=attempts,
            )
            result.parked += 1
            log.error("outbox=%s parked: %s", row.id, reason)
            if exc.code in ROBOT_GONE:
                self.gone[(row.channel, row.target)] = f"{reason} (see outbox {row.id})"
                self._park_target(session, row, reason)
            return
        self._update(
            session,
            row.id,
            lease,
            status="pending",
            lease_until=None,
            next_attempt_at=now + self.backoff(attempts),
            last_error=error,
            attempts=attempts,
        )
        result.retried += 1
        log.warning("outbox=%s transient failure (%s); attempt %s", row.id, error, attempts)

    def _park_target(self, session: Session, row: Outbox, reason: str) -> None:
        """A removed robot takes every queued message for it: none are sent blindly."""
        n = rows_changed(
            session.execute(
                update(Outbox)
                .where(
                    Outbox.channel == row.channel,
                    Outbox.target == row.target,
                    Outbox.status == "pending",
                )
                .values(status="parked", last_error=f"{reason} (see outbox {row.id})")
            )
        )
        session.commit()
        if n:
            log.error("parked %s more messages for %s:%s", n, row.channel, row.target)


def part_of(row: Outbox, content: str) -> Outbox:
    """One part of a split message, as a detached copy: the stored row keeps its content."""
    return Outbox(
        id=row.id,
        channel=row.channel,
        target=row.target,
        msg_type=row.msg_type,
        payload={**row.payload, "content": content},
    )


def deliver_once(rt: Runtime, channel_for: ChannelFor | None = None) -> int:
    """Claim and deliver what is due now; returns the number delivered."""
    return Relay(rt, channel_for).run_once().sent


def claim(rt: Runtime) -> list[int]:
    return Relay(rt, lambda _row: SandboxChannel()).claim()


def requeue(rt: Runtime, *, ids: list[int] | None = None, target: str | None = None) -> int:
    """An admin's decision to try parked rows again (e.g. after re-adding a robot)."""
    with rt.sessions() as session:
        q = update(Outbox).where(Outbox.status == "parked")
        if ids:
            q = q.where(Outbox.id.in_(ids))
        if target:
            q = q.where(Outbox.target == target)
        n = rows_changed(
            session.execute(q.values(status="pending", next_attempt_at=rt.now(), lease_until=None))
        )
        session.commit()
        return int(n)


def relay_id() -> str:
    import os
    import socket

    return f"{socket.gethostname()}:{os.getpid()}"
