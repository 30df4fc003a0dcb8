"""Callback acknowledgement latency under concurrency (issue goal: p99 < 200 ms at 50).

Starts `duban serve --no-scheduler` as its own process (waitress, as in production) on
loopback, loads a small county, and fires encrypted WeCom callbacks from 50 concurrent
connections from a lean asyncio load generator (bench/loadgen.py), each callback a distinct
message that records progress. Reports p50/p95/p99, throughput and where the CPU went:
client and server share this machine's cores.

    .venv/bin/python -m bench.bench_callbacks [--db URL] [--concurrency 50] [--requests 2000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import requests

from bench import loadgen
from bench.loadgen import post_request
from bot.config import load_config
from bot.runtime import build_runtime
from models.migrate import upgrade
from tests.factories import build_county
from tests.wecom_peer import WecomPeer, text_xml

TOKEN = "benchTOKEN"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
CORP = "wwbench"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default=None, help="database URL (default: a fresh SQLite file)")
    ap.add_argument("--concurrency", type=int, default=50)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument(
        "--threads", type=int, default=8, help="waitress worker threads (serve's default)"
    )
    ap.add_argument("--inline", type=int, default=None, help="[web] inline_limit for the run")
    args = ap.parse_args()
    url = args.db or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
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
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        **os.environ,
        "DUBAN_DATABASE__URL": url,
        "DUBAN_WECOM__CORP_ID": CORP,
        "DUBAN_WECOM__TOKEN": TOKEN,
        "DUBAN_WECOM__ENCODING_AES_KEY": AES_KEY,
        "DUBAN_LOG__LEVEL": "WARNING",
        **({"DUBAN_WEB__INLINE_LIMIT": str(args.inline)} if args.inline is not None else {}),
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bot.cli",
            "serve",
            "--no-scheduler",
            "--port",
            str(port),
            "--threads",
            str(args.threads),
        ],
        env=env,
        stderr=subprocess.DEVNULL,
    )
    # The worker that handles messages acknowledged while the webhook was busy.
    worker = subprocess.Popen(
        ["nice", "-n", "19", sys.executable, "-m", "bot.cli", "scheduler"],
        env=env,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            requests.get(f"http://127.0.0.1:{port}/wecom/callback", timeout=1)
            break
        except requests.ConnectionError:
            time.sleep(0.1)

    peer = WecomPeer(TOKEN, AES_KEY, CORP)
    raw = []
    for i in range(args.requests):
        text = f"进度 #1 {i % 100}% 第{i}次推进"
        # The server under load runs on the real clock: its callbacks carry real timestamps.
        now = int(time.time())
        params, body = peer.callback(text_xml("cgz_liaison", text, 10_000 + i, CORP, now), now)
        raw.append(post_request("127.0.0.1", port, "/wecom/callback", params, body.encode()))
    loadgen.run("127.0.0.1", port, raw[:20], 1)  # warm-up: connections, caches
    before = cpu_seconds(server.pid), cpu_seconds(worker.pid), time.process_time()
    latencies, wall = loadgen.run("127.0.0.1", port, raw[20:], args.concurrency)
    after = cpu_seconds(server.pid), cpu_seconds(worker.pid), time.process_time()
    latencies.sort()
    from sqlalchemy import func, select

    from models import InboundMessage, Progress

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with rt.sessions() as s:
            waiting = s.scalar(select(func.count()).where(InboundMessage.status == "received"))
        if not waiting:
            break
        time.sleep(0.5)
    with rt.sessions() as s:
        via = dict(
            s.execute(
                select(InboundMessage.reply_via, func.count()).group_by(InboundMessage.reply_via)
            ).all()
        )
        reports = s.scalar(select(func.count()).select_from(Progress))
    server.terminate()
    worker.terminate()
    server.wait(10)
    worker.wait(10)

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    backend = rt.engine.dialect.name
    print(
        f"{dt.date.today()} callbacks: backend={backend} concurrency={args.concurrency} "
        f"requests={len(latencies)} waitress_threads={args.threads}"
    )
    print(
        f"p50 {pct(0.50):.1f} ms  p95 {pct(0.95):.1f} ms  p99 {pct(0.99):.1f} ms  "
        f"max {latencies[-1] * 1000:.1f} ms  mean {statistics.mean(latencies) * 1000:.1f} ms  "
        f"throughput {len(latencies) / wall:.0f} req/s"
    )
    print(
        f"answered inline (passive) {via.get('passive', 0)}, by the worker (message) "
        f"{via.get('outbox', 0)}; progress rows {reports} for {len(raw)} callbacks"
    )
    used = [b - a for a, b in zip(before, after, strict=True)]
    print(
        f"CPU during the run ({wall:.1f} s wall, 2 cores = {2 * wall:.1f} s): server "
        f"{used[0]:.1f} s ({used[0] / len(latencies) * 1000:.2f} ms a callback), "
        f"worker {used[1]:.1f} s, load generator {used[2]:.1f} s"
    )


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (and its reaped children) from /proc."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    main()
