"""Ledger at scale (issue 12: < 300 ms at 10,000 assignments): the ledger page and
/api/ledger, paged and filtered on the server, timed through the Flask app as a signed-in
user sees them.

Loads the demo county, then adds tasks (each assigned to four units) up to N assignments
with mixed deadlines, percentages and statuses, and times the first page, a later page, a
unit filter and a light filter, each the median of five requests.

    .venv/bin/python -m bench.bench_ledger [--assignments 10000] [--db URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import re
import statistics
import tempfile
import time

from sqlalchemy import insert, select

from bot.app import create_app
from bot.config import load_config
from bot.devtools.demo import load_demo
from bot.runtime import build_runtime
from bot.web.auth import create_account
from bot.wsgi_server import freeze_heap
from models import Assignment, KeyWork, Task, Unit
from models.migrate import upgrade

STATUSES = ["not_started", "in_progress", "in_progress", "reported", "closed"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--assignments", type=int, default=10_000)
    ap.add_argument("--db", default=None, help="database URL (default: a fresh SQLite file)")
    args = ap.parse_args()
    url = args.db or f"sqlite:///{tempfile.mkdtemp()}/ledger.db"
    rt = build_runtime(load_config(environ={}, overrides={"database": {"url": url}}))
    upgrade(rt.engine)
    rng = random.Random(12)
    today = rt.today()
    with rt.sessions() as s:
        load_demo(s, today, rt.tz)
        create_account(s, "bench", "bench password 12", is_admin=True)
        s.commit()
        units = list(s.scalars(select(Unit.id).where(Unit.kind != "office")))
        key_works = list(s.scalars(select(KeyWork.id)))
        have = len(list(s.scalars(select(Assignment.id))))
        first_code = max(s.scalars(select(Task.code)), default=0) + 1
    tasks = (args.assignments - have + 3) // 4
    with rt.engine.begin() as conn:
        conn.execute(
            insert(Task),
            [
                {
                    "code": first_code + i,
                    "key_work_id": rng.choice(key_works),
                    "content": f"第{i}项重点任务的推进落实",
                    "deadline": today + dt.timedelta(days=rng.randint(-20, 120)),
                    "plan": [],
                }
                for i in range(tasks)
            ],
        )
        ids = list(conn.execute(select(Task.id).where(Task.code >= first_code)).scalars())
        rows = [
            {
                "task_id": tid,
                "unit_id": uid,
                "status": rng.choice(STATUSES),
                "percent": rng.randint(0, 100),
            }
            for tid in ids
            for uid in rng.sample(units, 4)
        ]
        conn.execute(insert(Assignment), rows)
    with rt.sessions() as s:
        total = len(list(s.scalars(select(Assignment.id))))
        unit_code = s.scalars(select(Unit.code).where(Unit.kind != "office")).first()
    app = create_app(runtime=rt)
    freeze_heap()  # as `duban serve` does before serving
    client = app.test_client()
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert token is not None
    client.post(
        "/login",
        data={"username": "bench", "password": "bench password 12", "csrf_token": token[1]},
    )
    print(f"{dt.date.today()} ledger: backend={rt.engine.dialect.name} assignments={total}")
    for path in (
        "/ledger",
        "/ledger?page=20",
        f"/ledger?unit={unit_code}",
        "/ledger?light=red",
        "/api/ledger",
        "/api/ledger?page=20&size=100",
    ):
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            r = client.get(path)
            times.append(time.perf_counter() - t0)
            assert r.status_code == 200, (path, r.status_code)
        print(f"  {path:32} median {statistics.median(times) * 1000:6.0f} ms")


if __name__ == "__main__":
    main()
