"""One active scheduler per database: a second one stays idle until the first's lease ends."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from bot.runtime import Runtime
from bot.scheduler import LEASE_TTL, SchedulerService
from tests.conftest import Clock

TZ = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_second_scheduler_waits_for_the_first_lease(rt: Runtime, clock: Clock) -> None:
    first = SchedulerService(rt, holder="host-a:1")
    second = SchedulerService(rt, holder="host-b:2")
    assert first.heartbeat() is True
    assert second.heartbeat() is False
    clock.advance(seconds=10)
    assert first.heartbeat() is True  # renewing keeps it
    assert second.heartbeat() is False
    clock.advance(seconds=LEASE_TTL.total_seconds() + 1)  # the first died silently
    assert second.heartbeat() is True
    assert first.heartbeat() is False
    second.stop()  # a clean stop hands over at once
    assert first.heartbeat() is True


@pytest.mark.parametrize("backend", ["postgresql"])
def test_jobs_of_an_idle_scheduler_do_nothing(rt: Runtime, clock: Clock) -> None:
    from sqlalchemy import func, select

    from models import Outbox
    from tests.factories import holiday_county

    holiday_county(rt)
    clock.set(dt.datetime(2026, 10, 13, 2, 0, tzinfo=dt.UTC))  # 10:00 in Shanghai
    active, idle = SchedulerService(rt, holder="a"), SchedulerService(rt, holder="b")
    active.heartbeat()
    idle.heartbeat()
    idle.remind()
    with rt.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Outbox)) == 0
    active.remind()
    active.remind()
    with rt.sessions() as s:
        keys = sorted(s.scalars(select(Outbox.dedupe_key)))
    assert keys == [
        "nudge:escalate:A:2026-10-13T0930:leader",
        "nudge:escalate:A:2026-10-13T0930:office:DCS",
        "nudge:overdue:A:2026-10-13T0930",
        "nudge:overdue:B:2026-10-13T0930",
    ]


@pytest.mark.parametrize("backend", ["postgresql"])
def test_two_scheduler_processes_one_active_nothing_doubled(
    rt: Runtime, db_url: str, tmp_path: object
) -> None:
    """Two real `duban scheduler` processes on one database: one takes the lease, the other
    stays idle; what was enqueued is exactly what the rules say for now, once."""
    import os
    import signal
    import subprocess
    import sys
    import threading
    import time

    from sqlalchemy import select

    from bot.scheduler import remind
    from models import Lease, Outbox
    from tests.factories import holiday_county

    holiday_county(rt)  # items long overdue by today's date: nudges are due on any workday slot
    now = rt.now()  # both processes run frozen at the test's clock reading (`--clock`)
    assert remind(rt, now, dry_run=True), "the test needs nudges due at its clock reading"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")}
    env.update(DUBAN_DATABASE__URL=db_url, DUBAN_LOG__LEVEL="INFO")
    env.update(DUBAN_SCHEDULER_CLOCK=now.isoformat())
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "scheduler"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    logs: list[list[str]] = [[], []]
    readers = [
        threading.Thread(target=lambda p=p, out=out: out.extend(p.stderr), daemon=True)
        for p, out in zip(procs, logs, strict=True)
    ]
    for r in readers:
        r.start()
    try:
        # Wait until the holder has made its first pass and the other has found it held.
        deadline = time.monotonic() + 60

        def seen(text: str) -> int:
            return sum(any(text in line for line in out) for out in logs)

        while not (seen("reminder pass 1:") and seen("idle: another process holds")):
            assert time.monotonic() < deadline, logs
            assert all(p.poll() is None for p in procs), logs
            time.sleep(0.2)
        with rt.sessions() as s:
            leases = s.scalars(select(Lease)).all()
            keys = s.scalars(select(Outbox.dedupe_key)).all()
            sources = sorted(set(s.scalars(select(Outbox.source))))
    finally:
        # The idle one first: stopped the other way round, it could take the lease the
        # holder releases on SIGTERM before its own SIGTERM arrives.
        holders = [any("lease taken" in line for line in out) for out in logs]
        for holder in (False, True):
            for p, held in zip(procs, holders, strict=True):
                if held == holder:
                    p.send_signal(signal.SIGTERM)
                    p.wait(timeout=20)
        for r in readers:
            r.join(timeout=5)
    assert len(leases) == 1
    assert seen("scheduler lease taken") == 1, logs  # exactly one process ever held it
    expected = sorted(sent.nudge.key for sent in remind(rt, now, dry_run=True))
    assert sources == expected  # what the rules say for now (nothing in quiet hours)
    assert len(keys) == len(set(keys))  # once


def test_a_racing_run_sends_nothing_twice(rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    """`duban tick` while the scheduler runs: the other pass commits the same slots between
    our reading the ledger and writing; ours finds them sent instead of failing or doubling.
    (On MariaDB's repeatable read our insert hits the unique key and the pass is redone.)"""
    from sqlalchemy import select

    from bot.scheduler import remind
    from models import Outbox
    from schedules import jobs
    from schedules.reminders import Sent
    from tests.factories import holiday_county

    holiday_county(rt)
    at = dt.datetime(2026, 10, 13, 10, 0, tzinfo=TZ)
    real = jobs.reminders_due
    raced: list[list[Sent]] = []

    def racing(*args: object, **kwargs: object) -> object:
        nudges = real(*args, **kwargs)  # type: ignore[arg-type]
        if not raced:
            raced.append([])
            raced[0] = remind(rt, at)  # the other run, on its own connection
        return nudges

    monkeypatch.setattr(jobs, "reminders_due", racing)
    ours = remind(rt, at)
    assert [s_.enqueued for s_ in raced[0]] == [True, True, True]
    assert [s_.nudge.key for s_ in ours] == [s_.nudge.key for s_ in raced[0]]
    assert not any(s_.enqueued for s_ in ours)
    with rt.sessions() as s:
        assert len(s.scalars(select(Outbox)).all()) == 4  # overdue A, B; escalation ×2


@pytest.mark.parametrize("backend", ["sqlite"])
def test_duban_tick_at_a_moment(db_url: str, rt: Runtime) -> None:
    """`duban tick --at`: every rule as of that local moment, once; --dry-run enqueues nothing."""
    import json
    import os
    import subprocess
    import sys

    from sqlalchemy import func, select

    from models import Outbox
    from tests.factories import holiday_county

    holiday_county(rt)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")}
    env["DUBAN_DATABASE__URL"] = db_url

    def tick(*args: str) -> str:
        proc = subprocess.run(
            [sys.executable, "-m", "bot.cli", "tick", *args],
            env=env,
            text=True,
            capture_output=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    def outbox() -> int:
        with rt.sessions() as s:
            return int(s.scalar(select(func.count()).select_from(Outbox)) or 0)

    dry = json.loads(tick("--at", "2026-10-09T17:00", "--dry-run", "--json"))
    assert [(x["rule"], x["unit"], x["items"]) for x in dry] == [
        ("due_morning", "A", ["#1"]),
        ("overdue", "A", ["#2"]),
        ("overdue", "B", ["#3"]),
        ("escalate", "A", ["#2"]),
        ("due_evening", "A", ["#1"]),
    ]
    assert outbox() == 0
    first = tick("--at", "2026-10-09T17:00")
    assert first.count("enqueued") == 5 and "2026-10-09 09:30 escalate" in first
    assert outbox() == 6  # the escalation goes to the leader and to the office
    again = tick("--at", "2026-10-09T17:00")
    assert again.count("already sent") == 5 and outbox() == 6
    assert "nothing due" in tick("--at", "2026-10-01T09:00")  # 国庆
    assert "nothing due" in tick("--at", "2026-10-09T22:00")  # quiet hours
    assert tick("--at", "2026-10-10T09:30").count("enqueued") == 3  # 调休 Saturday
    bad = subprocess.run(
        [sys.executable, "-m", "bot.cli", "tick", "--at", "tomorrow"],
        env=env,
        text=True,
        capture_output=True,
        timeout=120,
    )
    assert bad.returncode != 0 and "--at" in (bad.stderr + bad.stdout)


def test_stand_ins_on_leave_are_followed() -> None:
    from handlers.notices import present
    from models import Member

    day = dt.date(2026, 10, 9)
    head = Member(userid="head", name="负责人", roles=["head"], active=True)
    deputy = Member(userid="deputy", name="代办人", roles=[], active=True)
    third = Member(userid="third", name="第三人", roles=[], active=True)
    assert present(head, day) is head
    head.leave_until, head.stand_in = day, deputy
    assert present(head, day) is deputy  # leave_until is inclusive
    assert present(head, day + dt.timedelta(days=1)) is head  # back
    deputy.leave_until, deputy.stand_in = day, third
    assert present(head, day) is third  # the stand-in is away too
    third.leave_until, third.stand_in = day, head
    assert present(head, day) in (head, deputy, third)  # a cycle ends
    deputy.active = False
    assert present(head, day) is head  # nobody active to stand in


def test_simulated_clock_frozen_or_sped_up() -> None:
    from bot.scheduler import simulated_clock

    ticks = iter([100.0, 100.0, 110.0, 130.0])
    fast = simulated_clock("2026-10-13T09:00:00+08:00@60", ticks=lambda: next(ticks))
    assert fast() == dt.datetime(2026, 10, 13, 1, 0, tzinfo=dt.UTC)
    assert fast() == dt.datetime(2026, 10, 13, 1, 10, tzinfo=dt.UTC)  # 10 s × 60
    assert fast() == dt.datetime(2026, 10, 13, 1, 30, tzinfo=dt.UTC)
    frozen = simulated_clock("2026-10-13T09:00:00+08:00", ticks=lambda: 5.0)
    assert frozen() == frozen() == dt.datetime(2026, 10, 13, 1, 0, tzinfo=dt.UTC)
    with pytest.raises(ValueError, match="UTC offset"):
        simulated_clock("2026-10-13T09:00:00")


def test_schedulers_given_one_epoch_share_one_simulated_time() -> None:
    from bot.scheduler import clock_speed, simulated_clock

    spec = "2026-10-13T08:00:00+08:00@600@1000"
    # Made at different moments (different monotonic readings), read at one wall moment.
    first = simulated_clock(spec, ticks=lambda: 5.0, wall=lambda: 1060.0)
    second = simulated_clock(spec, ticks=lambda: 900.0, wall=lambda: 1060.0)
    assert first() == second() == dt.datetime(2026, 10, 13, 10, 0, tzinfo=dt.UTC)  # 60 s × 600
    assert clock_speed(spec) == 600 and clock_speed("2026-10-13T08:00:00+08:00") == 0


def test_a_sped_up_scheduler_walks_slots_and_keeps_a_real_time_lease(rt: Runtime) -> None:
    from bot.scheduler import LEASE_TTL, SchedulerService

    fast = SchedulerService(rt, holder="fast", speed=600)
    jobs = {j.id: j.trigger.interval.total_seconds() for j in fast.build(False).get_jobs()}
    # Ten simulated minutes per reminder pass, never faster than once a second.
    assert (jobs["remind"], jobs["duties"], jobs["heartbeat"]) == (1.0, 1.0, 10.0)
    plain = SchedulerService(rt, holder="plain")
    assert {j.id: j.trigger.interval.total_seconds() for j in plain.build(False).get_jobs()} == {
        **jobs,
        "remind": 60.0,
        "rank": 60.0,
        "duties": 300.0,
    }
    assert fast.heartbeat() and not plain.heartbeat()
    # 30 real seconds are 5 simulated hours at 600×: the holder's lease outlives them.
    rt.clock.advance(seconds=LEASE_TTL.total_seconds() * 599)  # type: ignore[attr-defined]
    assert not plain.heartbeat()
    rt.clock.advance(seconds=LEASE_TTL.total_seconds() * 2)  # type: ignore[attr-defined]
    assert plain.heartbeat()  # lapsed after 30 real seconds without a heartbeat


def test_a_sped_up_process_keeps_the_outbox_lease_and_rate_window_in_real_seconds(
    rt: Runtime,
) -> None:
    from bot.scheduler import real_time_delivery

    d = rt.config.delivery
    fast = real_time_delivery(rt.config, 900).delivery
    assert (fast.lease_seconds, fast.window_seconds) == (
        d.lease_seconds * 900,
        d.window_seconds * 900,
    )
    assert real_time_delivery(rt.config, 0) is rt.config  # frozen or real: unchanged
