"""Hostile input, measured (issue 11): what a workbook bomb costs now, what the dashboard's
capped child costs an honest sheet, and how long a callback waits on SQLite while a big
import runs (dry run and real).

    .venv/bin/python -m bench.bench_hostile [--tasks 2000]
"""

from __future__ import annotations

import argparse
import io
import random
import resource
import statistics
import tempfile
import threading
import time
import uuid
import zipfile
from pathlib import Path

from openpyxl import Workbook
from sqlalchemy import select

from bench.bench_ledger_import import write_sheet
from bot.config import ExcelConfig, load_config
from bot.devtools.demo import load_demo
from bot.excel.bounds import SheetTooLarge, read_values
from bot.excel.budget import parse_in_child
from bot.excel.ledger import run_import
from bot.excel.sheet import directory_from
from bot.inbound.pipeline import accept
from bot.runtime import build_runtime
from models import Member, Unit
from models.migrate import upgrade


def bomb(far: bool = True) -> bytes:
    """The review's file: one cell at row 2000, column 2000 (openpyxl writes the dimension)."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["序号", "重点工作", "任务内容", "责任单位", "完成时限"])
    if far:
        ws.cell(2000, 2000, "x")
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def merge_bomb() -> bytes:
    src = zipfile.ZipFile(io.BytesIO(bomb(far=False)))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                text = data.decode().replace(
                    "</sheetData>",
                    '</sheetData><mergeCells count="1">'
                    '<mergeCell ref="A3:XFD1048576"/></mergeCells>',
                )
                data = text.encode()
            dst.writestr(info.filename, data)
    return out.getvalue()


def refuse(name: str, data: bytes) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    try:
        read_values(io.BytesIO(data), ExcelConfig())
        outcome = "read (!)"
    except SheetTooLarge as exc:
        outcome = f"refused: {exc}"
    ms = (time.perf_counter() - t) * 1000
    grew = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    print(f"{name} ({len(data) / 1024:.1f} KB): {ms:.0f} ms, peak RSS +{grew:.0f} MB, {outcome}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", type=int, default=2000)
    args = ap.parse_args()
    refuse("bomb: cell at BXX2000", bomb())
    refuse("bomb: merged A3:XFD1048576", merge_bomb())
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        cfg = load_config(environ={}, overrides={"database": {"url": url}})
        rt = build_runtime(cfg)
        upgrade(rt.engine)
        with rt.sessions() as s:
            load_demo(s, rt.today(), rt.tz)
            s.commit()
            units = [u.name for u in s.scalars(select(Unit)) if u.kind != "office"]
            sender = s.scalars(select(Member.userid).where(Member.active.is_(True))).first()
        sheet = Path(tmp) / "big.xlsx"
        write_sheet(sheet, args.tasks, units, random.Random(7))
        data = sheet.read_bytes()
        with rt.sessions() as s:
            directory = directory_from(s.scalars(select(Unit)))
        t = time.perf_counter()
        inline = run_import(rt, sheet, actor="b", year=2027, dry_run=True)
        t_inline = time.perf_counter() - t
        t = time.perf_counter()
        parse_in_child(data, directory, rt.calendar, 2027, cfg.excel)
        t_child = time.perf_counter() - t
        print(
            f"{args.tasks} tasks: dry run in process {t_inline:.2f} s "
            f"({len(inline.created)} new); parse in capped child {t_child:.2f} s"
        )
        for dry in (True, False):
            waits: list[float] = []
            done = threading.Event()

            def work(dry: bool = dry, done: threading.Event = done) -> None:
                run_import(rt, sheet, actor="b", year=2027, dry_run=dry)
                done.set()

            th = threading.Thread(target=work)
            th.start()
            while not done.is_set():
                t = time.perf_counter()
                accept(
                    rt,
                    channel="wecom",
                    sender=sender or "x",
                    text="帮助",
                    msg_key=f"bench:{uuid.uuid4()}",
                )
                waits.append(time.perf_counter() - t)
                time.sleep(0.05)
            th.join()
            label = "dry run" if dry else "import"
            print(
                f"callback accept during {label}: {len(waits)} callbacks, "
                f"median {statistics.median(waits) * 1000:.0f} ms, "
                f"max {max(waits) * 1000:.0f} ms"
            )


if __name__ == "__main__":
    main()
