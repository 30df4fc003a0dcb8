"""Callback throughput against its floor (issue 12: ratio ≥ 0.5, p99 < 100 ms at 50).

For each database, in one run: starts the floor app (bench/floor_app.py: wechatpy verify +
decrypt + parse, empty 200) and the bot (`duban serve --no-scheduler`, with a niced
`duban scheduler` as the worker that handles what the busy webhook only acknowledged), both
on the same waitress server (bot/wsgi_server.py) with the same thread count, and loads them
in turn, three rounds each, with distinct encrypted progress reports from 50 keep-alive
connections (bench/loadgen.py, one asyncio loop); the worker catches up before each
floor round (up to five minutes) and is held still during it. Prints every round, the
medians of req/s, p50 and p99, and the ratio of the median rates; on PostgreSQL also the
bot's throughput with 1, 2 and 4 web processes (connections spread round-robin over their
ports, as a front proxy would). Client and servers share this machine's cores; other load
on the machine moves both figures, which is why they are measured in alternation.

    .venv/bin/python -m bench.bench_callbacks [--db sqlite] [--db postgresql] [--db mariadb]
        [--concurrency 50] [--requests 3000] [--rounds 3] [--processes 1,2,4]
    .venv/bin/python -m bench.bench_callbacks --db sqlite --burst 16000
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import requests
from sqlalchemy import create_engine, func, make_url, select, text

from bench import loadgen
from bench.loadgen import post_request
from bot.config import load_config
from bot.db import normalise_url
from bot.runtime import Runtime, build_runtime
from models import InboundMessage, Progress
from models.migrate import upgrade
from tests.factories import build_county
from tests.wecom_peer import WecomPeer, text_xml

TOKEN = "benchTOKEN"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
CORP = "wwbench"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
MARIADB_ADMIN = "mysql://root@127.0.0.1:3306/mysql"
HOST = "127.0.0.1"
# Handling a progress report costs ~11 ms of CPU on SQLite and ~22 ms on PostgreSQL: a round
# of 3,000 takes the worker a minute or two.
DRAIN_SECONDS = 300


@dataclass(frozen=True)
class Figures:
    rate: float
    p50: float
    p99: float
    n: int

    def __str__(self) -> str:
        return f"{self.rate:6.0f} req/s  p50 {self.p50:5.1f} ms  p99 {self.p99:5.1f} ms"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def wait_ready(port: int) -> None:
    for _ in range(200):
        try:
            requests.get(f"http://{HOST}:{port}/wecom/callback", timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise RuntimeError(f"server on port {port} did not start")


def stop(procs: Sequence[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()  # a worker deep in a backlog: its transactions roll back
            p.wait(10)


def callbacks(ports: Sequence[int], first_id: int, n: int) -> list[bytes]:
    """n distinct encrypted progress reports from a demo liaison (real timestamps: the
    servers check freshness on the real clock)."""
    peer = WecomPeer(TOKEN, AES_KEY, CORP)
    out = []
    for i in range(n):
        now = int(time.time())
        xml = text_xml("cgz_liaison", f"进度 #1 {i % 100}% 第{i}次推进", first_id + i, CORP, now)
        params, body = peer.callback(xml, now)
        out.append(post_request(HOST, ports[0], "/wecom/callback", params, body.encode()))
    return out


def measure(ports: Sequence[int], raw: list[bytes], concurrency: int) -> Figures:
    loadgen.run(HOST, ports, raw[:40], 2)  # warm-up: connections, imports, caches
    latencies, wall = loadgen.run(HOST, ports, raw[40:], concurrency)
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    return Figures(len(latencies) / wall, pct(0.50), pct(0.99), len(latencies))


@contextlib.contextmanager
def database(kind: str) -> Iterator[str]:
    """A fresh database: a SQLite file, or a throw-away PostgreSQL database."""
    if kind == "sqlite":
        yield f"sqlite:///{tempfile.mkdtemp()}/bench.db"
        return
    admin_url = {"postgresql": PG_ADMIN, "mariadb": MARIADB_ADMIN}.get(kind, kind)
    admin = create_engine(normalise_url(admin_url), isolation_level="AUTOCOMMIT")
    name = f"duban_bench_{uuid.uuid4().hex[:8]}"
    pg = admin.dialect.name == "postgresql"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"' if pg else f"CREATE DATABASE `{name}`"))
    try:
        yield make_url(normalise_url(admin_url)).set(database=name).render_as_string(False)
    finally:
        with admin.connect() as conn:
            drop = f'"{name}" WITH (FORCE)' if pg else f"`{name}`"
            conn.execute(text(f"DROP DATABASE IF EXISTS {drop}"))
        admin.dispose()


def prepare(url: str) -> Runtime:
    cfg = load_config(
        environ={},
        overrides={
            "database": {"url": url},
            "wecom": {"corp_id": CORP, "token": TOKEN, "encoding_aes_key": AES_KEY},
            "log": {"level": "WARNING"},
        },
    )
    rt = build_runtime(cfg)
    upgrade(rt.engine)
    with rt.sessions() as s:
        build_county(s, today=rt.today())
        s.commit()
    return rt


def bot_env(url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DUBAN_DATABASE__URL": url,
        "DUBAN_WECOM__CORP_ID": CORP,
        "DUBAN_WECOM__TOKEN": TOKEN,
        "DUBAN_WECOM__ENCODING_AES_KEY": AES_KEY,
        "DUBAN_LOG__LEVEL": "WARNING",
    }


def start_floor(port: int, args: argparse.Namespace) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "bench.floor_app", "--port", str(port)),
            *("--threads", str(args.threads), "--token", TOKEN, "--aes-key", AES_KEY),
            *("--corp", CORP),
        ],
        stderr=subprocess.DEVNULL,
    )


def start_bot(
    rt: Runtime, ports: Sequence[int], args: argparse.Namespace
) -> tuple[list[subprocess.Popen[bytes]], subprocess.Popen[bytes]]:
    """Web processes (`duban serve --no-scheduler`) on `ports`, and a niced worker."""
    url = rt.engine.url.render_as_string(hide_password=False)
    inline = {} if args.inline is None else {"DUBAN_WEB__INLINE_LIMIT": str(args.inline)}
    env = {**bot_env(url), **inline}
    web = [
        subprocess.Popen(
            [
                *(sys.executable, "-m", "bot.cli", "serve", "--no-scheduler"),
                *("--port", str(port), "--threads", str(args.threads)),
            ],
            env=env,
            stderr=subprocess.DEVNULL,
        )
        for port in ports
    ]
    worker = subprocess.Popen(
        ["nice", "-n", "19", sys.executable, "-m", "bot.cli", "scheduler"],
        env=env,
        stderr=subprocess.DEVNULL,
    )
    for port in ports:
        wait_ready(port)
    return web, worker


def median(figures: Sequence[Figures]) -> Figures:
    return Figures(
        statistics.median(f.rate for f in figures),
        statistics.median(f.p50 for f in figures),
        statistics.median(f.p99 for f in figures),
        sum(f.n for f in figures),
    )


def side_by_side(
    rt: Runtime, first_id: int, args: argparse.Namespace
) -> tuple[list[Figures], list[Figures], str]:
    """Floor and bot (one web process each) loaded in alternation, `args.rounds` times,
    so a slower moment of a shared machine falls on both. Each bot round is a burst that
    finds the worker idle: it first handles what the bot acknowledged before (up to
    DRAIN_SECONDS), and it is stopped (SIGSTOP) during each floor round, so it takes none
    of the floor's CPU; during the bot's rounds it runs, as in production."""
    floor_port, bot_port = free_port(), free_port()
    floor = start_floor(floor_port, args)
    web, worker = start_bot(rt, [bot_port], args)
    floors: list[Figures] = []
    bots: list[Figures] = []
    sent = 0
    try:
        wait_ready(floor_port)
        for n in range(args.rounds):
            if n:  # every bot round a burst that finds the worker idle, on every database
                t0 = time.monotonic()
                left = drained(rt, sent, DRAIN_SECONDS)
                print(f"  (worker caught up in {time.monotonic() - t0:.0f} s: {left})")
            raw = callbacks([floor_port], first_id + sent, args.requests)
            # Held still in case it has not caught up: it takes none of the floor's CPU.
            worker.send_signal(signal.SIGSTOP)
            try:
                floors.append(measure([floor_port], raw, args.concurrency))
            finally:
                worker.send_signal(signal.SIGCONT)
            raw = callbacks([bot_port], first_id + sent, args.requests)
            bots.append(measure([bot_port], raw, args.concurrency))
            sent += args.requests
        stop([floor])
        return floors, bots, drained(rt, sent)
    finally:
        stop([floor, *web, worker])


def run_bot(
    rt: Runtime, processes: int, first_id: int, args: argparse.Namespace, requests: int = 0
) -> tuple[Figures, str]:
    """The bot's figures with `processes` web processes, and what was stored once its
    worker has handled the backlog."""
    ports = [free_port() for _ in range(processes)]
    web, worker = start_bot(rt, ports, args)
    n = requests or args.requests
    try:
        figures = measure(ports, callbacks(ports, first_id, n), args.concurrency)
        return figures, drained(rt, first_id - 10_000 + n)
    finally:
        stop([*web, worker])


def drained(rt: Runtime, expected: int, seconds: float = 60) -> str:
    """Wait (up to `seconds`) for the worker to handle every acknowledged message; the
    stored counts."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with rt.sessions() as s:
            waiting = s.scalar(select(func.count()).where(InboundMessage.status == "received"))
        if not waiting:
            break
        time.sleep(0.5)
    with rt.sessions() as s:
        stored = s.scalar(select(func.count()).select_from(InboundMessage))
        reports = s.scalar(select(func.count()).select_from(Progress))
    return f"stored {stored}, progress rows {reports} of {expected} callbacks"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--db",
        action="append",
        help="sqlite, postgresql, mariadb, or a server admin URL (default: sqlite and postgresql)",
    )
    ap.add_argument("--concurrency", type=int, default=50)
    ap.add_argument("--requests", type=int, default=3000)
    ap.add_argument("--threads", type=int, default=8, help="waitress threads (serve's default)")
    ap.add_argument("--processes", default="1,2,4", help="web processes to try on PostgreSQL")
    ap.add_argument("--inline", type=int, default=None, help="[web] inline_limit for the bot")
    ap.add_argument("--rounds", type=int, default=3, help="alternating floor/bot loads")
    ap.add_argument(
        "--burst",
        type=int,
        default=0,
        metavar="N",
        help="instead: one burst of N callbacks at one web process (N = 16000 lasts longer"
        " than the worker defers to a burst, so it handles messages during it)",
    )
    args = ap.parse_args()
    print(
        f"{dt.date.today()} callbacks: concurrency={args.concurrency} "
        f"requests={args.requests} waitress_threads={args.threads}, cores={os.cpu_count()}"
    )
    for kind in args.db or ["sqlite", "postgresql"]:
        with database(kind) as url:
            rt = prepare(url)
            backend = rt.engine.dialect.name
            if args.burst:
                figures, stored = run_bot(rt, 1, 10_000, args, args.burst)
                print(f"{backend:10} one burst of {args.burst}: {figures}; {stored}")
                rt.engine.dispose()
                continue
            floors, bots, stored = side_by_side(rt, 10_000, args)
            for n, (floor, bot) in enumerate(zip(floors, bots, strict=True), 1):
                print(f"{backend:10} round {n}: floor {floor.rate:5.0f} req/s, bot {bot}")
            floor, bot = median(floors), median(bots)
            print(f"{backend:10} floor {floor}   (median of {args.rounds})")
            print(f"{backend:10} bot   {bot}   ratio {bot.rate / floor.rate:.2f}")
            print(f"{backend:10}       {stored}")
            if backend == "postgresql":
                sent = args.rounds * args.requests
                for n in (int(x) for x in args.processes.split(",") if x):
                    figures, stored = run_bot(rt, n, 10_000 + sent, args)
                    sent += args.requests
                    print(f"{backend:10} bot with {n} web process(es): {figures}; {stored}")
            rt.engine.dispose()


if __name__ == "__main__":
    main()
