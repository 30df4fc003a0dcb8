"""Cost of one scheduling pass (the pure rules) at 1k, 10k and 100k open ledger rows.

    .venv/bin/python -m bench.bench_schedule
Goal: under 1 s at 100k, growing linearly. Best of five runs; the CPU column is the
figure to compare across machines (wall time also counts other processes on a busy host).
"""

from __future__ import annotations

import datetime as dt
import random
import time
from zoneinfo import ZoneInfo

from schedules.calendar import WorkCalendar
from schedules.plan import milestone_dates
from schedules.reminders import Item, reminders_due
from schedules.rules import Rules

TZ = ZoneInfo("Asia/Shanghai")


def items(n: int, today: dt.date, cal: WorkCalendar) -> list[Item]:
    rng = random.Random(n)
    out = []
    plans = [
        [],
        [{"name": "节点", "offset": 5}],
        [{"name": "甲", "offset": 10}, {"name": "乙", "offset": 3}],
    ]
    for i in range(n):
        deadline = today + dt.timedelta(days=rng.randint(-40, 90))
        plan = plans[i % 3]
        out.append(
            Item(
                i,
                i % 5000,
                "任务",
                f"U{i % 500:03d}",
                deadline,
                rng.randrange(0, 90, 10),
                tuple(milestone_dates(deadline, plan, cal)),
            )
        )
    return out


def main() -> None:
    cal = WorkCalendar()
    rules = Rules()
    now = dt.datetime(2026, 11, 25, 17, 0, tzinfo=TZ)  # every slot of the day has passed
    print("    rows   wall s    cpu s   nudges   µs/row (cpu)")
    for n in (1_000, 10_000, 100_000):
        data = items(n, now.date(), cal)
        reminders_due(data[:100], now, rules, cal)  # warm the calendar cache
        wall = cpu = float("inf")
        for _ in range(5):
            w0, c0 = time.perf_counter(), time.process_time()
            nudges = reminders_due(data, now, rules, cal)
            wall = min(wall, time.perf_counter() - w0)
            cpu = min(cpu, time.process_time() - c0)
        print(f"{n:>8}   {wall:6.3f}   {cpu:6.3f}   {len(nudges):6d}   {cpu / n * 1e6:8.2f}")


if __name__ == "__main__":
    main()
