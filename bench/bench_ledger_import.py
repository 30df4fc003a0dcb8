"""Ledger import: a county-sized sheet read, checked and written (no goal set by an issue;
measured so an office knows what to expect).

Builds the demo county, writes an .xlsx of N tasks (merged key-work cells, Chinese dates,
two or three units a cell, milestones as dates), then times a dry run, the import, and a
re-import of the same sheet (all unchanged), and an export of the result.

    .venv/bin/python -m bench.bench_ledger_import [--tasks 2000] [--db URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import tempfile
import time
from pathlib import Path

from openpyxl import Workbook
from sqlalchemy import select

from bot.config import load_config
from bot.devtools.demo import load_demo
from bot.excel.ledger import export_ledger, run_import
from bot.runtime import build_runtime
from models import Unit
from models.migrate import upgrade

KEY_WORKS = ["安全生产", "河湖长制", "生态环境保护", "森林草原防灭火", "一网通办", "防汛抗旱"]


def write_sheet(path: Path, n: int, units: list[str], rng: random.Random) -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["2027年度重点工作任务台账"])
    ws.merge_cells("A1:H1")
    ws.append(
        ["序号", "重点工作", "任务内容", "牵头单位", "责任单位", "完成时限", "关键节点", "分值"]
    )
    per_kw = n // len(KEY_WORKS)
    row = 3
    for k, kw in enumerate(KEY_WORKS):
        top = row
        for i in range(per_kw):
            month = rng.randint(3, 12)
            who = "、".join(rng.sample(units, rng.randint(2, 3)))
            ws.append(
                [
                    k * per_kw + i + 1,
                    kw,
                    f"{kw}第{i + 1}项重点任务：按期完成并报送佐证材料",
                    rng.choice(units),
                    who,
                    f"2027年{month}月底前",
                    f"{month - 1}月15日前完成方案；前3个工作日自查验收",
                    rng.choice([1, 1.5, 2]),
                ]
            )
            row += 1
        ws.merge_cells(start_row=top, start_column=2, end_row=row - 1, end_column=2)
    wb.save(path)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", type=int, default=2000)
    ap.add_argument("--db", default=None)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    url = args.db or f"sqlite:///{tmp}/bench.db"
    cfg = load_config(environ={}, overrides={"database": {"url": url}, "log": {"level": "ERROR"}})
    rt = build_runtime(cfg)
    upgrade(rt.engine)
    with rt.sessions() as s:
        load_demo(s, dt.date(2026, 11, 25), rt.tz)
        s.commit()
        names = list(s.scalars(select(Unit.name).where(Unit.kind != "office")))
    sheet = tmp / "ledger.xlsx"
    write_sheet(sheet, args.tasks, names, random.Random(7))
    timings = {}
    for label, dry in (("dry run", True), ("import", False), ("re-import (unchanged)", False)):
        t0 = time.perf_counter()
        report = run_import(rt, sheet, actor="bench", year=2027, dry_run=dry)
        timings[label] = time.perf_counter() - t0
        assert report.ok, report.errors[:5]
        print(
            f"{label}: {timings[label]:.2f} s — created {len(report.created)}, "
            f"updated {len(report.updated)}, unchanged {report.unchanged}"
        )
    t0 = time.perf_counter()
    with rt.sessions() as s:
        n = export_ledger(s, rt.config, rt.calendar, tmp / "out.xlsx", today=rt.today())
    print(f"export of {n} tasks: {time.perf_counter() - t0:.2f} s")
    print(f"{dt.date.today()} backend={rt.engine.dialect.name} tasks={args.tasks}")


if __name__ == "__main__":
    main()
