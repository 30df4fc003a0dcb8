"""A newcomer's first hour (issue 11): a taken port, a short password, an unknown sender,
a command run in the wrong directory: one clear line each, the right exit code, nothing
left behind."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from bot.cli import cli


def run(tmp_path: Path, *args: str, url: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")}
    if url:
        env["DUBAN_DATABASE__URL"] = url
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env=env,
        cwd=tmp_path,
        text=True,
        capture_output=True,
        timeout=120,
    )


def test_serve_on_a_taken_port_is_one_line_and_exit_2(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/d.db"
    assert run(tmp_path, "init", url=url).returncode == 0
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = run(tmp_path, "serve", "--no-scheduler", "--port", str(port), url=url)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "已被占用" in lines[0] and f"PORT={port + 1}" in lines[0]
    assert "serving on" not in proc.stderr and "Traceback" not in proc.stderr


def test_a_command_outside_a_project_leaves_no_database(tmp_path: Path) -> None:
    proc = run(tmp_path, "members")
    assert proc.returncode == 1 and "duban init" in proc.stderr
    assert not (tmp_path / "duban.db").exists()


def test_a_short_password_is_refused_before_the_confirmation(tmp_path: Path) -> None:
    env = {"DUBAN_DATABASE__URL": f"sqlite:///{tmp_path}/d.db"}
    runner = CliRunner()
    assert runner.invoke(cli, ["init"], env=env).exit_code == 0
    r = runner.invoke(
        cli, ["user", "add", "guanli"], env=env, input="short\n" + "correct horse battery\n" * 2
    )
    assert r.exit_code == 0, r.output
    first_error = r.output.index("密码至少 10 位")
    assert first_error < r.output.index("Repeat for confirmation")
    r = runner.invoke(cli, ["user", "add", "other", "--password", "short"], env=env)
    assert r.exit_code == 2 and "密码至少 10 位" in r.output


def test_say_as_an_unknown_sender_points_to_members(tmp_path: Path) -> None:
    env = {"DUBAN_DATABASE__URL": f"sqlite:///{tmp_path}/d.db"}
    runner = CliRunner()
    assert runner.invoke(cli, ["init"], env=env).exit_code == 0
    r = runner.invoke(cli, ["say", "--as", "nobody", "任务"], env=env)
    assert r.exit_code == 0 and "`duban members`" in r.stderr and "尚未登记" in r.stdout
