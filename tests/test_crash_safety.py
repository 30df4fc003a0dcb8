"""SIGKILL the relay process at random points, 20 times, while it delivers to the fake WeCom.

Nothing is lost. A group-robot message can be doubled only by a kill that lands between
WeCom's acceptance and our commit (at most one per kill; counted). App messages carry
WeCom's duplicate check, so even that re-send is absorbed: exactly once.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.runtime import Runtime
from models import Outbox
from models.outbox import enqueue
from tests.conftest import WINDOW, Fake

KILLS = 20
MESSAGES = 600


def config_file(tmp_path: Path, db_url: str, fake_url: str) -> Path:
    path = tmp_path / "duban.toml"
    path.write_text(
        f"""
[database]
url = "{db_url}"
[wecom]
corp_id = "wwfake"
secret = "fake-secret"
agent_id = 1000002
api_base_url = "{fake_url}"
[delivery]
window_seconds = {WINDOW}
backoff_base_seconds = 0.05
backoff_cap_seconds = 0.4
lease_seconds = 2
[log]
level = "WARNING"
""",
        encoding="utf-8",
    )
    return path


def start_relay(cfg: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")}
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "--config", str(cfg), "deliver"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def remaining(rt: Runtime) -> int:
    with rt.sessions() as s:
        return int(s.scalar(select(func.count()).where(Outbox.status != "sent")) or 0)


def kill_repeatedly(
    rt: Runtime, fake: Fake, db_url: str, tmp_path: Path, channel: str
) -> tuple[int, Counter[str]]:
    with rt.sessions() as s:
        for i in range(MESSAGES):
            target = f"robot-{i % 30}" if channel == "webhook" else f"user{i % 30}"
            enqueue(
                s,
                dedupe_key=f"c{i}",
                channel=channel,
                target=target,
                content=f"催办 {i}",
                now=rt.now(),
            )
        s.commit()
    cfg = config_file(tmp_path, db_url, fake.url)
    rng = random.Random(2026)
    kills_during_delivery = 0
    state = fake.state
    for _ in range(KILLS):
        before = len(state.delivered)  # type: ignore[attr-defined]
        proc = start_relay(cfg)
        # Past start-up and inside delivery: wait for this relay's first send, then a random
        # moment later (a send in flight, a commit, a claim…), whatever the machine's speed.
        started = time.monotonic() + 60
        while len(state.delivered) == before and time.monotonic() < started:  # type: ignore[attr-defined]
            time.sleep(0.005)
        time.sleep(rng.uniform(0, 0.06))
        if remaining(rt):
            kills_during_delivery += 1
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    proc = start_relay(cfg)
    deadline = time.monotonic() + 120
    while remaining(rt) and time.monotonic() < deadline:
        time.sleep(0.2)
    proc.terminate()
    proc.wait(10)
    assert remaining(rt) == 0
    got = Counter(d["body"]["text"]["content"] for d in fake.delivered())  # type: ignore[index]
    assert set(got) == {f"催办 {i}" for i in range(MESSAGES)}  # nothing lost
    assert kills_during_delivery >= KILLS // 2  # the kills really hit a relay at work
    return kills_during_delivery, got


def test_group_robot_twenty_sigkills_lose_nothing(
    rt: Runtime, fake: Fake, db_url: str, tmp_path: Path
) -> None:
    kills, got = kill_repeatedly(rt, fake, db_url, tmp_path, "webhook")
    duplicates = sum(n - 1 for n in got.values())
    print(
        f"\ncrash safety (group robot, {rt.engine.dialect.name}): {kills} kills during "
        f"delivery, {duplicates} duplicate(s) of {MESSAGES}"
    )
    assert duplicates <= kills  # at most one per kill: the one in the answer/commit gap


@pytest.mark.parametrize("backend", ["sqlite"])
def test_app_messages_twenty_sigkills_deliver_exactly_once(
    rt: Runtime, fake: Fake, db_url: str, tmp_path: Path
) -> None:
    kills, got = kill_repeatedly(rt, fake, db_url, tmp_path, "app")
    print(
        f"\ncrash safety (app messages): {kills} kills during delivery, "
        f"{sum(n - 1 for n in got.values())} duplicate(s) of {MESSAGES}"
    )
    assert set(got.values()) == {1}  # WeCom's duplicate check absorbs the re-send
