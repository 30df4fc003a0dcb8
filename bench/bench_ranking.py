"""Ranking time with 1M progress rows in the database (goal: under 1 s).

Builds an SQLite county of 45 units, 10,000 tasks, 30,000 ledger rows and 1,000,000
progress rows, then times a month's ranking from the database, and the pure scoring of
1,000,000 facts for comparison.

    .venv/bin/python -m bench.bench_ranking [--db URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import tempfile
import time

from sqlalchemy import insert

from bot.config import load_config
from bot.runtime import build_runtime
from models import Assignment, KeyWork, Progress, Task, Unit
from models.migrate import upgrade
from schedules.board import compute
from schedules.rules import Rules
from schedules.scoring import Fact, rank_all, unit_scores

UTC = dt.UTC


def build(rt: object, rng: random.Random) -> None:
    today = dt.date(2026, 11, 25)
    with rt.sessions() as s:  # type: ignore[attr-defined]
        s.execute(
            insert(Unit),
            [
                {
                    "id": i,
                    "code": f"U{i:02d}",
                    "name": f"单位{i}",
                    "kind": "township" if i <= 20 else "department",
                    "webhook_keys": [],
                }
                for i in range(1, 46)
            ],
        )
        s.execute(insert(KeyWork), [{"id": 1, "name": "安全生产", "weight": 1.0}])
        s.execute(
            insert(Task),
            [
                {
                    "id": i,
                    "code": i,
                    "key_work_id": 1,
                    "content": f"任务{i}",
                    "deadline": today - dt.timedelta(days=rng.randint(0, 60)),
                    "weight": float(rng.randint(1, 3)),
                    "plan": [],
                    "created_at": dt.datetime(2026, 9, 1, tzinfo=UTC),
                }
                for i in range(1, 10_001)
            ],
        )
        rows = []
        for i in range(30_000):
            done = rng.random() < 0.8
            rows.append(
                {
                    "id": i + 1,
                    "task_id": i // 3 + 1,
                    "unit_id": i % 45 + 1,
                    "status": "closed" if done else "in_progress",
                    "percent": 50,
                    "reported_at": dt.datetime(2026, 11, rng.randint(1, 24), 8, tzinfo=UTC)
                    if done
                    else None,
                    "updated_at": dt.datetime(2026, 11, 1, tzinfo=UTC),
                }
            )
        s.execute(insert(Assignment), rows)
        batch = []
        for i in range(1_000_000):
            batch.append(
                {
                    "assignment_id": i % 30_000 + 1,
                    "kind": "progress",
                    "text": "推进中",
                    "percent": 50,
                    "attachments": [],
                    "created_at": dt.datetime(2026, 11, 1, tzinfo=UTC),
                }
            )
            if len(batch) == 50_000:
                s.execute(insert(Progress), batch)
                batch = []
        s.commit()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default=None)
    args = ap.parse_args()
    url = args.db or f"sqlite:///{tempfile.mkdtemp()}/rank.db"
    rt = build_runtime(
        load_config(environ={}, overrides={"database": {"url": url}, "log": {"level": "WARNING"}})
    )
    upgrade(rt.engine)
    t0 = time.perf_counter()
    build(rt, random.Random(1))
    print(
        f"built 30,000 ledger rows and 1,000,000 progress rows in {time.perf_counter() - t0:.1f} s"
    )
    best = float("inf")
    for _ in range(3):
        with rt.sessions() as s:
            t0 = time.perf_counter()
            board = compute(
                s,
                rt.config.rules,
                rt.calendar,
                "month",
                dt.date(2026, 11, 1),
                dt.date(2026, 11, 30),
                dt.date(2026, 11, 27),
            )
            best = min(best, time.perf_counter() - t0)
    ranked = sum(len(r) for r in board.groups.values())
    print(
        f"month ranking from the database ({rt.engine.dialect.name}): {best:.3f} s, "
        f"{ranked} units ranked"
    )
    rng = random.Random(2)
    facts = [
        Fact(
            i,
            i,
            f"U{i % 45}",
            1.0,
            dt.date(2026, 11, rng.randint(1, 27)),
            dt.date(2026, 11, rng.randint(1, 27)) if rng.random() < 0.8 else None,
        )
        for i in range(1_000_000)
    ]
    t0 = time.perf_counter()
    scores = unit_scores(
        facts,
        dt.date(2026, 11, 1),
        dt.date(2026, 11, 30),
        dt.date(2026, 11, 28),
        Rules(),
        rt.calendar,
    )
    rank_all(scores, {f"U{i}": "township" for i in range(45)}, Rules())
    print(f"pure scoring and ranking of 1,000,000 facts: {time.perf_counter() - t0:.3f} s")


if __name__ == "__main__":
    main()
