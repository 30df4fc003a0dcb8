"""The production layout of docs/deploy.md, as real processes on PostgreSQL: four
`duban serve --no-scheduler` web processes, two `duban scheduler`, one `duban deliver`
relay and the fake WeCom as the API. Concurrent encrypted callbacks, with WeCom's retries
and exact duplicates mixed in, are spread over the four ports while both schedulers walk
one simulated working day of reminder slots.

Afterwards: one effect per unique message, nothing acknowledged lost or left unhandled, no
nudge doubled, one scheduler ever held the lease, nothing delivered twice.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest
import requests
from sqlalchemy import func, select, update

from bot.runtime import Runtime
from models import InboundMessage, Lease, Outbox, Progress, Task
from tests.conftest import County
from tests.wecom_peer import WecomPeer, text_xml

TOKEN = "mpTOKEN"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
CORP = "wwmultiproc"
HOST = "127.0.0.1"
# The simulated day: 08:30 to 18:00 in Shanghai on Wednesday 2026-11-25 (the suite's
# DEFAULT_NOW date), at 900× real time: 38 seconds, a reminder pass every 15 minutes.
DAY_START, DAY_END_HOURS, SPEED = "2026-11-25T08:30:00+08:00", 9.5, 900
STARTUP = 12.0  # seconds given to the processes before the simulated day begins
UNIQUE, RETRIES, DUPLICATES = 150, 40, 40


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[str]
    log: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        assert self.popen.stderr is not None
        self.reader = threading.Thread(
            target=lambda: self.log.extend(self.popen.stderr or ()), daemon=True
        )
        self.reader.start()

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout=10)
        self.reader.join(timeout=5)


def start(name: str, args: list[str], env: dict[str, str]) -> Proc:
    popen = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    return Proc(name, popen)


def wait_ready(url: str, procs: list[Proc]) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            requests.get(url, timeout=1)
            return
        except requests.ConnectionError:
            for p in procs:
                assert p.popen.poll() is None, (p.name, p.log)
            assert time.monotonic() < deadline, f"{url} did not start"
            time.sleep(0.2)


@pytest.fixture
def layout_env(db_url: str) -> Iterator[dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")}
    env.update(
        DUBAN_DATABASE__URL=db_url,
        DUBAN_WECOM__CORP_ID=CORP,
        DUBAN_WECOM__TOKEN=TOKEN,
        DUBAN_WECOM__ENCODING_AES_KEY=AES_KEY,
        # The callbacks carry the suite's fixed timestamp, not the wall clock's: the
        # freshness window is opened wide so the web processes accept them.
        DUBAN_WECOM__TIMESTAMP_WINDOW_SECONDS=str(10**10),
        DUBAN_LOG__LEVEL="INFO",
    )
    yield env


def requests_for(peer: WecomPeer, ports: list[int]) -> list[tuple[str, int, dict[str, str], str]]:
    """(msg key, port, params, body): every unique report once, some re-sent as WeCom's
    retry (re-encrypted, new nonce, maybe another port), some as an exact duplicate."""
    rng = random.Random(12)
    out = []
    for i in range(UNIQUE):
        xml = text_xml("cgz_liaison", f"进度 #1 {i % 100}% 第{i}次推进", 70_000 + i, CORP)
        out.append((str(70_000 + i), rng.choice(ports), *peer.callback(xml, 1795572000)))
    for i in rng.sample(range(UNIQUE), RETRIES):
        xml = text_xml("cgz_liaison", f"进度 #1 {i % 100}% 第{i}次推进", 70_000 + i, CORP)
        nonce = str(rng.randrange(10**9))
        out.append(
            (str(70_000 + i), rng.choice(ports), *peer.callback(xml, 1795572000, None, nonce))
        )
    out += [out[i] for i in rng.sample(range(UNIQUE), DUPLICATES)]
    rng.shuffle(out)
    return out


@pytest.mark.parametrize("backend", ["postgresql"])
def test_the_documented_layout_walks_a_day_under_load(
    rt: Runtime, county: County, layout_env: dict[str, str]
) -> None:
    from bot.scheduler import remind

    with rt.sessions() as s:  # #2 due today: its morning and evening slots join #3's overdue
        s.execute(update(Task).where(Task.code == 2).values(deadline=rt.today()))
        s.commit()
    evening = rt.config.rules.local(rt.now()).replace(hour=17, minute=59)
    due = {sent.nudge.key.rsplit(":", 1)[-1] for sent in remind(rt, evening, dry_run=True)}
    assert len(due) >= 2, f"the test needs nudges at several slots of the day: {due}"
    fake_port, ports = free_port(), [free_port() for _ in range(4)]
    env = {
        **layout_env,
        "DUBAN_WECOM__API_BASE_URL": f"http://{HOST}:{fake_port}",
        "DUBAN_WECOM__SECRET": "fake-secret",  # credentials: deliveries go to the fake
        "DUBAN_WECOM__AGENT_ID": "1000002",
    }
    # Every process reads the same simulated time: START at one shared Unix moment (a web
    # process's receipt times and a scheduler's "now" must agree). The wall clock only
    # paces this rehearsal; no assertion depends on it.
    epoch = time.time() + STARTUP
    clock = f"{DAY_START}@{SPEED}@{epoch}"
    web_args = ["--threads", "8", "--clock", clock]
    procs = [start("fake", ["fake-wecom", "--port", str(fake_port), "--corp-id", CORP], env)]
    procs += [
        start(f"web{p}", ["serve", "--no-scheduler", "--port", str(p), *web_args], env)
        for p in ports
    ]
    schedulers = [start(f"scheduler{i}", ["scheduler", "--clock", clock], env) for i in (1, 2)]
    relay = start("relay", ["deliver", "--clock", clock], env)
    procs += [*schedulers, relay]
    try:
        for url in [f"http://{HOST}:{fake_port}/_fake/delivered"] + [
            f"http://{HOST}:{p}/healthz" for p in ports
        ]:
            wait_ready(url, procs)
        peer = WecomPeer(TOKEN, AES_KEY, CORP)
        sends = requests_for(peer, ports)

        def send(req: tuple[str, int, dict[str, str], str]) -> tuple[str, int]:
            key, port, params, body = req
            r = requests.post(
                f"http://{HOST}:{port}/wecom/callback",
                params=params,
                data=body.encode(),
                timeout=30,
            )
            return key, r.status_code

        # Spread over the simulated day: a burst as it begins, another around noon.
        time.sleep(max(0.0, epoch - time.time()))
        with ThreadPoolExecutor(16) as pool:
            half = len(sends) // 2
            answers = list(pool.map(send, sends[:half]))
            time.sleep(max(0.0, epoch + DAY_END_HOURS * 3600 / SPEED / 2 - time.time()))
            answers += list(pool.map(send, sends[half:]))
        # Let the day end (plus two reminder passes), then drain the handling worker.
        time.sleep(max(0.0, epoch + DAY_END_HOURS * 3600 / SPEED + 3 - time.time()))
        deadline = time.monotonic() + 45
        while True:
            with rt.sessions() as s:
                waiting = s.scalar(select(func.count()).where(InboundMessage.status == "received"))
            if not waiting:
                break
            assert time.monotonic() < deadline, f"{waiting} acknowledged, never handled"
            time.sleep(0.5)
        for p in procs:
            assert p.popen.poll() is None, (p.name, p.log[-20:])
    except BaseException:
        procs[0].stop()  # failed before the fake was read: stop it too
        raise
    finally:
        # The idle scheduler first: otherwise it could take the lease the holder releases.
        held = [any("lease taken" in line for line in s.log) for s in schedulers]
        order = [s for s, h in zip(schedulers, held, strict=True) if not h]
        order += [s for s, h in zip(schedulers, held, strict=True) if h]
        for p in [*procs[1:5], *order, relay]:
            p.stop()
    try:
        delivered = requests.get(f"http://{HOST}:{fake_port}/_fake/delivered", timeout=10).json()
    finally:
        procs[0].stop()

    acked = {key for key, status in answers if status == 200}
    assert acked == {str(70_000 + i) for i in range(UNIQUE)}, Counter(s for _, s in answers)
    with rt.sessions() as s:
        stored = s.scalars(select(InboundMessage.msg_key)).all()
        statuses = Counter(s.scalars(select(InboundMessage.status)))
        progress = s.scalars(select(Progress.inbound_id)).all()
        outbox = s.execute(
            select(Outbox.dedupe_key, Outbox.source, Outbox.target, Outbox.channel, Outbox.status)
        ).all()
        leases = s.scalars(select(Lease.name)).all()
    # Nothing lost, one effect each: every acknowledged message stored once and handled
    # once (one progress row per unique report, none for a retry or duplicate).
    assert sorted(k.rsplit(":", 1)[-1] for k in stored) == sorted(acked)
    assert statuses["received"] == 0, statuses
    assert len(progress) == len(set(progress)) == UNIQUE
    # No nudge doubled: every key once, and the day's slots were walked (several slots).
    keys = [row.dedupe_key for row in outbox]
    assert len(keys) == len(set(keys))
    nudges = [(row.source, row.target) for row in outbox if row.source.startswith("nudge:")]
    assert len(nudges) == len(set(nudges))  # each slot's nudge once to each recipient
    slots = {source.rsplit(":", 1)[-1] for source, _ in nudges}
    assert slots == due, nudges  # every slot of the day walked, none skipped
    # One scheduler held the lease, the whole day; the other stayed idle.
    taken = [sum("lease taken" in line for line in s.log) for s in schedulers]
    assert sorted(taken) == [0, 1], [s.log for s in schedulers]
    assert leases.count("scheduler") <= 1
    # The relays (the active scheduler's and `duban deliver`) sent each row once.
    assert delivered["delivered"] and all(row.channel != "sandbox" for row in outbox)
    sends = Counter(
        (d["endpoint"], d["target"], repr(sorted(d["body"].items())))
        for d in delivered["delivered"]
    )
    assert max(sends.values()) == 1, [k for k, n in sends.items() if n > 1]
    assert not [row for row in outbox if row.status == "parked"]
    # And nothing lost on the way out: each row marked sent reached the fake once (replies to
    # one liaison exceed WeCom's 30 a minute, so rate-limited resends are part of this).
    sent = sum(row.status == "sent" for row in outbox)
    assert len(delivered["delivered"]) == sent, Counter(row.status for row in outbox)


def test_the_fake_drops_a_repeat_only_of_what_it_let_through() -> None:
    """WeCom's duplicate check drops a resend of a message it delivered; a message refused
    for the rate limit was not delivered, and its resend must arrive."""
    from bot.devtools.fakewecom import FakeWecom, create_fake_app

    fake = FakeWecom(corp_id=CORP, user_limit=1)
    client = create_fake_app(fake).test_client()
    token = client.get(f"/cgi-bin/gettoken?corpid={CORP}&corpsecret=fake-secret").json
    assert token is not None

    def send(text: str, card: bool = False) -> int:
        body: dict[str, object] = {"touser": "u1", "msgtype": "text", "text": {"content": text}}
        if card:  # a card has no `content`: its whole body tells two cards apart
            button = [{"text": "已完成", "key": text}]
            body = {"touser": "u1", "msgtype": "template_card"}
            body["template_card"] = {  # a card WeCom would take (the fake checks)
                "card_type": "button_interaction",
                "task_id": text,
                "main_title": {"title": "督办事项"},
                "button_list": button,
            }
        body |= {"agentid": 1, "enable_duplicate_check": 1, "duplicate_check_interval": 14400}
        answer = client.post(
            f"/cgi-bin/message/send?access_token={token['access_token']}", json=body
        ).json
        assert answer is not None
        return int(answer["errcode"])

    assert send("一") == 0
    assert send("二") == 45009  # over the limit: refused, not delivered
    fake.windows.clear()  # the window passes
    assert send("二") == 0 and send("一") == 0  # the resend arrives; the repeat is dropped
    assert [d["body"]["text"]["content"] for d in fake.delivered] == ["一", "二"]
    fake.windows.clear()
    assert send("card1", card=True) == 0
    fake.windows.clear()
    assert send("card2", card=True) == 0 and len(fake.delivered) == 4  # not taken for a repeat
