"""The single scheduler process: APScheduler jobs that run only while holding the lease."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy.orm import Session

from bot.config import Config
from bot.delivery.media import fetch_pending
from bot.delivery.picture import render_board
from bot.delivery.relay import Relay, relay_id
from bot.inbound.pipeline import process_pending
from bot.jobguard import JobGuard
from bot.notice import office_name
from bot.runtime import Runtime
from handlers.cards import enqueue_cards
from handlers.lead_review import enqueue_review_nudges
from handlers.notices import board_data, broadcast, enqueue_nudges
from handlers.self_review import assign_self_reviews
from schedules.board import Board
from schedules.jobs import Broadcast, materialize_due, publish_due, run_due
from schedules.lease import acquire, release
from schedules.reminders import Nudge, Sent
from schedules.review import review_nudges_due

log = logging.getLogger(__name__)
LEASE_NAME = "scheduler"
LEASE_TTL = dt.timedelta(seconds=30)


def _parse_clock(spec: str) -> tuple[dt.datetime, float, float | None]:
    start_text, _, rest = spec.partition("@")
    speed_text, _, epoch_text = rest.partition("@")
    start = dt.datetime.fromisoformat(start_text)
    if start.tzinfo is None:
        raise ValueError(f"clock start {start_text!r} needs a UTC offset, e.g. +08:00")
    speed = float(speed_text) if speed_text else 0.0
    if speed < 0:
        raise ValueError("clock speed must not be negative")
    return start, speed, float(epoch_text) if epoch_text else None


def clock_speed(spec: str) -> float:
    """How many times faster than real time a `--clock` spec runs (0: frozen)."""
    return _parse_clock(spec)[1]


def simulated_clock(
    spec: str,
    ticks: Callable[[], float] = time.monotonic,
    wall: Callable[[], float] = time.time,
) -> Callable[[], dt.datetime]:
    """A clock for rehearsals and tests: `START` (ISO 8601 with its UTC offset) frozen, or
    `START@SPEED`, starting at START when made and running SPEED times faster than real
    time (60: a working day in eight minutes). Elapsed time comes from `ticks` (monotonic).

    `START@SPEED@EPOCH` reads START at the Unix time EPOCH (from `wall`) instead of when
    made: processes started at different moments with the same spec share one simulated
    time, as two schedulers walking the same day must (the lease hand-over, slot keys).
    """
    start, speed, epoch = _parse_clock(spec)
    if epoch is not None:
        return lambda: (start + dt.timedelta(seconds=(wall() - epoch) * speed)).astimezone(dt.UTC)
    began = ticks()

    def now() -> dt.datetime:
        return (start + dt.timedelta(seconds=(ticks() - began) * speed)).astimezone(dt.UTC)

    return now


def real_time_delivery(config: Config, speed: float) -> Config:
    """The config for a process on a clock SPEED times real time: the outbox's row lease
    and WeCom's rate window stay real seconds. Shrunk to simulated seconds, a row's lease
    would lapse while its relay is still sending (another relay sends it again), and the
    relay would pace for a window that WeCom does not have."""
    if speed <= 1:
        return config
    d = config.delivery
    scaled = replace(
        d, lease_seconds=int(d.lease_seconds * speed), window_seconds=d.window_seconds * speed
    )
    return replace(config, delivery=scaled)


def remind(rt: Runtime, at: dt.datetime | None = None, *, dry_run: bool = False) -> list[Sent]:
    """Every reminder rule as of `at` (default now), the nudges rendered and enqueued."""
    w = rt.config.wecom
    app = bool(w.corp_id and w.secret and w.agent_id)

    def nudges_and_cards(session: Session, nudges: list[Nudge], now: dt.datetime) -> list[Sent]:
        sent = enqueue_nudges(session, nudges, now, form_url=rt.config.web.phone_form_url)
        if app:  # with the self-built app, each liaison named also gets the items as cards
            enqueue_cards(session, [s.nudge for s in sent if s.enqueued], now)
        return sent

    return run_due(
        rt.sessions,
        rt.config.rules,
        rt.calendar,
        at or rt.now(),
        nudges_and_cards,
        dry_run=dry_run,
    )


def remind_reviews(rt: Runtime, at: dt.datetime | None = None) -> int:
    """Nudge the reviewers of claims waiting too long for 初审 or 销号; once a day each."""
    now = at or rt.now()
    with rt.sessions() as session:
        waiting = review_nudges_due(session, now, rt.config.rules, rt.calendar)
        queued = enqueue_review_nudges(
            session, waiting, now.astimezone(dt.UTC), rt.config.rules.local_day(now)
        )
        session.commit()
    return queued


def board_broadcast(rt: Runtime) -> Broadcast:
    """A published board to every group, with its picture when a CJK font is installed."""

    def send(session: Session, board: Board, now: dt.datetime) -> int:
        today = rt.config.rules.local_day(now)
        drawn = render_board(
            {
                **board_data(board),
                "today": today,
                "county": rt.config.delivery.county,
                "office": office_name(session),
            }
        )
        sent = broadcast(session, board, now, today, drawn.png if drawn is not None else None)
        assign_self_reviews(session, board, rt.config.rules, rt.calendar, now, today)
        return sent

    return send


def publish(rt: Runtime, now: dt.datetime | None = None) -> int:
    """The weekly and monthly publications that are due now, each once."""
    return publish_due(
        rt.sessions, rt.config.rules, rt.calendar, now or rt.now(), board_broadcast(rt)
    )


class SchedulerService:
    """Holds the scheduler lease; jobs do nothing on a process that is not the holder."""

    def __init__(self, rt: Runtime, holder: str | None = None, speed: float = 1.0) -> None:
        self.rt = rt
        # Under a sped-up clock (`--clock START@SPEED`) the rule jobs run SPEED times as
        # often (at most once a second) so a rehearsal walks every slot; the lease keeps its
        # real-time lifetime, or it would lapse between two heartbeats and change hands.
        self.speed = max(speed, 1.0)
        self.holder = holder or relay_id()
        self.active = False
        self.relay: Relay | None = None
        self.passes = 0
        self.beats = 0

    def heartbeat(self) -> bool:
        was = self.active
        self.active = acquire(
            self.rt.sessions, LEASE_NAME, self.holder, self.rt.now(), LEASE_TTL * self.speed
        )
        if self.active != was:
            log.info("scheduler lease %s by %s", "taken" if self.active else "lost", self.holder)
        elif not self.active and not self.beats:
            log.info("scheduler %s idle: another process holds the lease", self.holder)
        self.beats += 1
        return self.active

    def deliver(self) -> None:
        if self.active:
            self.relay = self.relay or Relay(self.rt)
            self.relay.run_once()

    def remind(self) -> None:
        """Every reminder rule as of now; slots already sent are skipped by their keys."""
        if self.active:
            sent = remind(self.rt)
            remind_reviews(self.rt)
            self.passes += 1
            # The first pass is logged so an operator (and a test) sees the holder at work.
            level = logging.INFO if self.passes == 1 else logging.DEBUG
            log.log(
                level,
                "reminder pass %s: %s nudge(s) due, %s new",
                self.passes,
                len(sent),
                sum(s.enqueued for s in sent),
            )

    def rank(self) -> None:
        """The weekly ranking at its configured hour; published once per week."""
        if self.active:
            publish(self.rt)

    def duties(self) -> None:
        """Today's occurrence rows of recurring duties (also made by each reminder pass)."""
        if self.active:
            materialize_due(self.rt.sessions, self.rt.config.rules, self.rt.calendar, self.rt.now())

    def evidence(self) -> None:
        """Fetch evidence media before WeCom forgets it (three days)."""
        if self.active:
            fetch_pending(self.rt)

    def inbound(self) -> None:
        """Messages acknowledged while the webhook was busy (or died): handle them now."""
        if self.active:
            process_pending(self.rt)

    def guard(self, name: str, job: Callable[[], object]) -> JobGuard:
        """The job, logging an outage once and backing off while it lasts."""
        return JobGuard(name, job, self.rt.now)

    def every(self, seconds: float) -> float:
        """A rule job's real interval: `seconds` of simulated time, at least one second."""
        return max(1.0, seconds / self.speed)

    def build(self, blocking: bool) -> BaseScheduler:
        kind: Any = BlockingScheduler if blocking else BackgroundScheduler
        sched = kind(timezone=self.rt.tz, job_defaults={"coalesce": True, "max_instances": 1})
        sched.add_job(
            self.guard("heartbeat", self.heartbeat),
            "interval",
            seconds=10,
            id="heartbeat",
            next_run_time=dt.datetime.now(self.rt.tz),
        )
        sched.add_job(self.guard("deliver", self.deliver), "interval", seconds=3, id="deliver")
        sched.add_job(self.guard("inbound", self.inbound), "interval", seconds=1, id="inbound")
        sched.add_job(self.guard("rank", self.rank), "interval", seconds=self.every(60), id="rank")
        sched.add_job(self.guard("evidence", self.evidence), "interval", seconds=30, id="evidence")
        sched.add_job(
            self.guard("duties", self.duties), "interval", seconds=self.every(300), id="duties"
        )
        sched.add_job(
            self.guard("remind", self.remind),
            "interval",
            seconds=self.every(60),
            id="remind",
            next_run_time=dt.datetime.now(self.rt.tz) + dt.timedelta(seconds=5),
        )
        return sched

    def stop(self) -> None:
        if self.active:
            release(self.rt.sessions, LEASE_NAME, self.holder)
            self.active = False
