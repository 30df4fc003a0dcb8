"""Broadcast delivery time against the rate-limit minimum (issue goal: within 1.1×).

N group robots each get K messages through the outbox, delivered by R relays to the fake
WeCom on loopback, which enforces 20 messages per window per robot. The minimum possible
time is (ceil(K / 20) - 1) windows: every window full, nothing wasted.

    .venv/bin/python -m bench.bench_delivery [--groups 50] [--per-group 60] [--window 60]
"""

from __future__ import annotations

import argparse
import logging
import math
import tempfile
import threading
import time

from sqlalchemy import func, select
from werkzeug.serving import make_server

from bot.config import load_config
from bot.delivery.relay import Relay
from bot.devtools.fakewecom import FakeWecom, create_fake_app
from bot.runtime import build_runtime
from models import Outbox
from models.migrate import upgrade
from models.outbox import enqueue


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--groups", type=int, default=50)
    ap.add_argument("--per-group", type=int, default=60)
    ap.add_argument("--window", type=float, default=60.0)
    ap.add_argument("--relays", type=int, default=2)
    ap.add_argument("--db", default=None)
    args = ap.parse_args()

    state = FakeWecom(window_seconds=args.window)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = make_server("127.0.0.1", 0, create_fake_app(state), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = args.db or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    cfg = load_config(
        environ={},
        overrides={
            "database": {"url": url},
            "wecom": {
                "corp_id": "wwfake",
                "secret": "fake-secret",
                "agent_id": 1,
                "api_base_url": f"http://127.0.0.1:{server.server_port}",
            },
            "delivery": {"window_seconds": args.window},
            "log": {"level": "WARNING"},
        },
    )
    rt = build_runtime(cfg)
    upgrade(rt.engine)
    total = args.groups * args.per_group
    with rt.sessions() as s:
        for i in range(total):
            enqueue(
                s,
                dedupe_key=f"b{i}",
                channel="webhook",
                target=f"robot-{i % args.groups}",
                content=f"周排名播报 {i}",
                now=rt.now(),
            )
        s.commit()

    def pending() -> int:
        with rt.sessions() as s:
            return int(s.scalar(select(func.count()).where(Outbox.status != "sent")) or 0)

    done = threading.Event()

    def relay_loop() -> None:
        relay = Relay(rt)
        while not done.is_set():
            if not relay.run_once().sent:
                time.sleep(0.05)

    start = time.monotonic()
    threads = [threading.Thread(target=relay_loop, daemon=True) for _ in range(args.relays)]
    for t in threads:
        t.start()
    while pending():
        time.sleep(0.1)
    elapsed = time.monotonic() - start
    done.set()
    minimum = (math.ceil(args.per_group / state.robot_limit) - 1) * args.window
    calls = dict(state.calls)
    rejected = calls.get("webhook/send", 0) - len(state.delivered)
    print(
        f"broadcast: {args.groups} groups x {args.per_group} messages = {total}, "
        f"window {args.window:g} s, {args.relays} relay(s), {rt.engine.dialect.name}"
    )
    print(
        f"elapsed {elapsed:.1f} s, rate-limit minimum {minimum:.1f} s, "
        f"ratio {elapsed / minimum if minimum else float('nan'):.3f}x, "
        f"throughput {total / elapsed:.0f} msg/s, rejected by WeCom {rejected}"
    )
    server.shutdown()


if __name__ == "__main__":
    main()
