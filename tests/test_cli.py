"""The `duban` command line, run as a user would (subprocess) on a temporary database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture
def duban(tmp_path: Path):  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")}
    env["DUBAN_DATABASE__URL"] = f"sqlite:///{tmp_path}/cli.db"

    def run(
        *args: str, ok: bool = True, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [sys.executable, "-m", "bot.cli", *args],
            env=env,
            cwd=tmp_path,
            text=True,
            capture_output=True,
            input=stdin,
            timeout=120,
        )
        if ok:
            assert proc.returncode == 0, proc.stderr
        return proc

    return run


def test_init_is_idempotent(duban) -> None:  # type: ignore[no-untyped-def]
    from alembic.script import ScriptDirectory

    from models.migrate import alembic_config

    head = ScriptDirectory.from_config(alembic_config(None)).get_current_head()  # type: ignore[arg-type]
    assert f"(empty) -> {head}" in duban("init").stdout
    assert f"up to date ({head})" in duban("init").stdout


def test_commands_before_init_say_so(duban) -> None:  # type: ignore[no-untyped-def]
    proc = duban("ledger", ok=False)
    assert proc.returncode == 1 and "duban init" in proc.stderr


def test_invalid_config_exits_2_naming_the_key(duban, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.toml"
    bad.write_text("[rules]\nwarning_workdays = -1\n")
    proc = duban("--config", str(bad), "ledger", ok=False)
    assert proc.returncode == 2
    assert "rules.warning_workdays" in proc.stderr


def test_a_failed_import_exits_1(duban, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """`ctx.exit(1)` inside a command reaches the shell (click returns it, not raises)."""
    from openpyxl import Workbook

    duban("init")
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["序号", "重点工作", "任务内容", "牵头单位", "责任单位", "完成时限"])
    ws.append([1, "安全生产", "排查隐患", "无此单位", "无此单位", "下辈子"])
    wb.save(tmp_path / "bad.xlsx")
    proc = duban("ledger-import", "--dry-run", str(tmp_path / "bad.xlsx"), ok=False)
    assert proc.returncode == 1, proc.stdout
    assert "第 2 行" in proc.stdout


def test_demo_loop_say_list_done_and_refusal(duban) -> None:  # type: ignore[no-untyped-def]
    first = duban("demo").stdout
    assert "loaded" in first
    assert "already present" in duban("demo").stdout

    members = json.loads(duban("members", "--json").stdout)
    liaison = next(m for m in members if m["userid"] == "t01_liaison")
    assert liaison["roles"] == ["liaison"]
    other = next(m for m in members if m["roles"] == ["liaison"] and m["unit_code"] != "T01")

    ledger = json.loads(duban("ledger", "--unit", "T01", "--open", "--json").stdout)
    assert len(ledger) >= 2
    assert {r["light"] for r in ledger} <= {"red", "yellow", "green"}
    target = ledger[0]

    listing = duban("say", "--as", "t01_liaison", "任务").stdout
    assert target["task"] in listing and "待办事项" in listing

    # Another unit's member cannot claim it, and nothing changes.
    refused = duban("say", "--as", other["userid"], f"完成 {target['task']}").stdout
    assert "不是" in refused or "未找到" in refused
    after = json.loads(duban("ledger", "--unit", "T01", "--json").stdout)
    row = next(r for r in after if r["assignment_id"] == target["assignment_id"])
    assert row["status"] == target["status"]

    done = duban("say", "--as", "t01_liaison", f"完成 {target['task']} 已按要求完成").stdout
    assert "已收到" in done
    after = json.loads(duban("ledger", "--unit", "T01", "--json").stdout)
    row = next(r for r in after if r["assignment_id"] == target["assignment_id"])
    assert row["status"] == "reported" and row["status_label"] == "已报完成(待审核)"

    outbox = json.loads(duban("outbox", "--json").stdout)
    assert any(target["task"] in o["content"] and o["status"] == "pending" for o in outbox)
    assert "delivered" in duban("deliver", "--once").stdout
    outbox = json.loads(duban("outbox", "--json").stdout)
    assert all(o["status"] == "sent" for o in outbox)

    assert "尚未登记" in duban("say", "--as", "nobody", "任务").stdout


def test_chat_is_interactive_and_shows_sandbox_messages(duban) -> None:  # type: ignore[no-untyped-def]
    duban("demo")
    ledger = json.loads(duban("ledger", "--unit", "T01", "--open", "--json").stdout)
    out = duban("chat", "--as", "t01_liaison", stdin=f"帮助\n完成 {ledger[0]['task']}\n").stdout
    assert "督办机器人使用说明" in out
    assert "已收到" in out
    assert "[沙箱 → webhook:" in out and "【待审核】" in out


def test_dashboard_accounts(duban) -> None:  # type: ignore[no-untyped-def]
    duban("init")
    pw = "a long passphrase 1"
    assert "created" in duban("user", "add", "ducha", "--admin", "--password", pw).stdout
    again = duban("user", "add", "ducha", "--password", pw, ok=False)
    assert again.returncode == 1 and "已存在" in again.stderr
    short = duban("user", "passwd", "ducha", "--password", "short", ok=False)
    assert short.returncode == 1 and "至少 10 位" in short.stderr
    assert "changed" in duban("user", "passwd", "ducha", "--password", pw + "!").stdout
    listed = json.loads(duban("user", "list", "--json").stdout)
    assert [(a["username"], a["admin"]) for a in listed] == [("ducha", True)]
    assert "password" not in json.dumps(listed)
    assert "removed" in duban("user", "remove", "ducha").stdout
    gone = duban("user", "remove", "ducha", ok=False)
    assert gone.returncode == 1 and "没有账号" in gone.stderr
