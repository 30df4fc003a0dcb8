"""`duban` command line."""

from __future__ import annotations

import json
import logging
import signal
import sys
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import replace
from functools import wraps
from typing import Any

import click
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from bot.config import Config, ConfigError, load_config
from bot.db import DatabaseUnavailable
from bot.logs import setup_logging
from bot.runtime import Runtime, build_runtime

log = logging.getLogger("duban")


class State:
    def __init__(self, config_path: str | None) -> None:
        self.config_path = config_path
        self._rt: Runtime | None = None

    @property
    def config(self) -> Config:
        return self.runtime.config

    @property
    def runtime(self) -> Runtime:
        if self._rt is None:
            cfg = load_config(self.config_path)
            setup_logging(cfg.log)
            self._rt = build_runtime(cfg)
        return self._rt


def needs_db(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Commands that need a migrated database: clear errors instead of tracebacks."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from models.migrate import is_initialised

        state: State = click.get_current_context().obj
        try:
            if fn.__name__ not in ("init", "demo") and not is_initialised(state.runtime.engine):
                raise click.ClickException(
                    "数据库尚未初始化 database not initialised: run `duban init`"
                )
            return fn(*args, **kwargs)
        except (OperationalError, DatabaseUnavailable) as exc:
            raise click.ClickException(f"数据库不可用 database unavailable: {exc}") from exc

    return wrapper


def emit(data: Any, as_json: bool, lines: Callable[[], list[str]]) -> None:
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    else:
        for line in lines():
            click.echo(line)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    envvar="DUBAN_CONFIG",
    type=click.Path(dir_okay=False),
    help="TOML config file (default: none = SQLite ./duban.db + sandbox).",
)
@click.pass_context
def cli(ctx: click.Context, config_path: str | None) -> None:
    """督办机器人 duban: supervision-reminder bot for WeCom and WeChat."""
    ctx.obj = State(config_path)


@cli.command()
@click.pass_obj
@needs_db
def init(state: State) -> None:
    """Create or upgrade the database schema (Alembic)."""
    from models.migrate import current_revision, upgrade

    rt = state.runtime
    before = current_revision(rt.engine)
    upgrade(rt.engine)
    after = current_revision(rt.engine)
    click.echo(
        f"schema {before or '(empty)'} -> {after}"
        if before != after
        else f"schema up to date ({after})"
    )


@cli.command()
@click.pass_obj
@needs_db
def demo(state: State) -> None:
    """Load the demo county (idempotent). Runs `init` first if needed."""
    from bot.demo import load_demo
    from bot.ranking import backfill
    from models.migrate import upgrade

    rt = state.runtime
    upgrade(rt.engine)
    with rt.sessions() as session:
        summary = load_demo(session, rt.today())
        if summary.created:  # six published weeks, so rankings show movement and trends
            summary = replace(summary, published=backfill(session, rt, rt.today()))
        session.commit()
    verb = "loaded" if summary.created else "already present"
    click.echo(f"demo county {verb}: {summary}")


@cli.command()
@click.option("--host", default=None, help="Listen address (default from [web] host).")
@click.option("--port", type=int, default=None, help="Listen port (default from [web] port).")
@click.option("--no-scheduler", is_flag=True, help="Web only; run `duban scheduler` separately.")
@click.option("--threads", type=int, default=8, show_default=True)
@click.pass_obj
@needs_db
def serve(
    state: State, host: str | None, port: int | None, no_scheduler: bool, threads: int
) -> None:
    """Serve callbacks and the dashboard (and the scheduler, unless --no-scheduler)."""
    from waitress import serve as waitress_serve

    from bot.app import create_app
    from schedules.runner import SchedulerService

    rt = state.runtime
    app = create_app(runtime=rt)
    host = host or rt.config.web.host
    port = port or rt.config.web.port
    service = None
    if not no_scheduler:
        service = SchedulerService(rt)
        service.build(blocking=False).start()
    mode = "沙箱模式 sandbox" if rt.config.sandbox else "企业微信 WeCom"
    click.echo(f"duban serving on http://{host}:{port} ({mode}); Ctrl+C to stop", err=True)
    try:
        waitress_serve(app, host=host, port=port, threads=threads, ident="duban")
    finally:
        if service is not None:
            service.stop()


@cli.command()
@click.pass_obj
@needs_db
def scheduler(state: State) -> None:
    """Run the scheduler (one active per database; others stay idle until it dies)."""
    from schedules.runner import SchedulerService

    service = SchedulerService(state.runtime)
    sched = service.build(blocking=True)

    def stop(*_: Any) -> None:
        sched.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    click.echo(f"scheduler {service.holder} started", err=True)
    try:
        sched.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        service.stop()


@cli.command()
@click.option("--once", is_flag=True, help="Deliver what is due now and exit.")
@click.pass_obj
@needs_db
def deliver(state: State, once: bool) -> None:
    """Run the outbox relay (several may run at once; each row goes to one of them)."""
    import time

    from bot.relay import Relay

    relay = Relay(state.runtime)
    while True:
        result = relay.run_once()
        if once:
            click.echo(
                f"delivered {result.sent}, retrying {result.retried}, "
                f"waiting {result.deferred}, parked {result.parked}"
            )
            return
        if not (result.sent or result.retried):
            time.sleep(0.5)


@cli.command("outbox-retry")
@click.argument("ids", nargs=-1, type=int)
@click.option("--target", default=None, help="All parked rows for this target (robot key…).")
@click.pass_obj
@needs_db
def outbox_retry(state: State, ids: tuple[int, ...], target: str | None) -> None:
    """Queue parked messages again, e.g. after a removed robot was re-added."""
    from bot.relay import requeue

    if not ids and not target:
        raise click.UsageError("give outbox ids or --target")
    n = requeue(state.runtime, ids=list(ids), target=target)
    click.echo(f"requeued {n}")


@cli.command("fake-wecom")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=9100, show_default=True)
@click.option("--corp-id", default="wwfake", show_default=True)
@click.option("--secret", default="fake-secret", show_default=True)
def fake_wecom(host: str, port: int, corp_id: str, secret: str) -> None:
    """A fake WeCom API on loopback, for demos: point [wecom] api_base_url at it."""
    from waitress import serve as waitress_serve

    from bot.fakewecom import FakeWecom, create_fake_app

    app = create_fake_app(FakeWecom(corp_id=corp_id, secret=secret))
    click.echo(
        f"fake WeCom on http://{host}:{port} (corp_id={corp_id}); "
        f"GET /_fake/delivered shows what arrived",
        err=True,
    )
    waitress_serve(app, host=host, port=port, threads=8, ident="fake-wecom")


def pad(text: str, width: int) -> str:
    """Left-align in a terminal: Chinese characters take two columns."""
    used = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(width - used, 0)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--unit", "unit_code", default=None, help="Only this unit (code).")
@click.pass_obj
@needs_db
def members(state: State, as_json: bool, unit_code: str | None) -> None:
    """List members: userid, name, unit, roles."""
    from models import Member, Unit

    with state.runtime.sessions() as session:
        q = select(Member).join(Member.unit).order_by(Unit.code, Member.id)
        if unit_code:
            q = q.where(Unit.code == unit_code)
        rows = [
            {
                "userid": m.userid,
                "name": m.name,
                "unit_code": m.unit.code,
                "unit": m.unit.name,
                "roles": list(m.roles or []),
                "role_labels": m.role_labels,
            }
            for m in session.scalars(q)
        ]
    emit(
        rows,
        as_json,
        lambda: [
            f"{r['userid']:<16} {pad(r['name'], 8)} {r['unit_code']:<5} {pad(r['unit'], 16)} "
            f"{'、'.join(r['role_labels'])}"
            for r in rows
        ],
    )


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--unit", "unit_code", default=None, help="Only this unit (code).")
@click.option("--open", "open_only", is_flag=True, help="Only items not yet reported done.")
@click.option("--light", type=click.Choice(["red", "yellow", "green", "done"]), default=None)
@click.option(
    "--status",
    type=click.Choice(["not_started", "in_progress", "reported", "closed"]),
    default=None,
    help="Only this status; `reported` lists what awaits the office's review.",
)
@click.pass_obj
@needs_db
def ledger(
    state: State,
    as_json: bool,
    unit_code: str | None,
    open_only: bool,
    light: str | None,
    status: str | None,
) -> None:
    """The ledger (台账): assignments with status, light and deadline."""
    from bot.ledger import ledger_rows

    rt = state.runtime
    with rt.sessions() as session:
        rows = ledger_rows(
            session,
            today=rt.today(),
            cal=rt.calendar,
            rules=rt.config.rules,
            plans=rt.config.plans,
            unit_code=unit_code,
            open_only=open_only,
            light_filter=light,
            status=status,
        )
    emit(
        [r.as_dict() for r in rows],
        as_json,
        lambda: [
            f"{r.light.icon} {r.ref:<5} {pad(r.unit_name, 14)} {r.deadline} "
            f"{pad(r.status_label, 16)} {r.percent:>3}% {r.content}"
            for r in rows
        ],
    )


@cli.command()
@click.option("--as", "sender", required=True, help="Sender's WeCom userid.")
@click.option("--channel", default="cli", show_default=True, hidden=True)
@click.argument("text")
@click.pass_obj
@needs_db
def say(state: State, sender: str, channel: str, text: str) -> None:
    """Send one chat message through the same path as a WeCom callback; print the reply."""
    from bot.inbound import handle_message

    quiet_conversation()
    result = handle_message(
        state.runtime, channel=channel, sender=sender, text=text, msg_key=f"cli:{uuid.uuid4()}"
    )
    click.echo(result.reply)


def quiet_conversation() -> None:
    """The per-message INFO lines belong in the service log, not between a conversation's
    lines on the operator's terminal; warnings still show."""
    root = logging.getLogger()
    if root.level == logging.INFO:
        root.setLevel(logging.WARNING)


@cli.command()
@click.option("--as", "sender", required=True, help="Sender's WeCom userid.")
@click.pass_obj
@needs_db
def chat(state: State, sender: str) -> None:
    """Interactive chat as a member; shows the bot's replies and new sandbox messages."""
    from bot.inbound import handle_message
    from bot.relay import deliver_once
    from models import Outbox

    rt = state.runtime
    quiet_conversation()
    with rt.sessions() as session:
        seen = session.scalar(select(Outbox.id).order_by(Outbox.id.desc()).limit(1)) or 0
    click.echo(f"以 {sender} 身份对话，输入“帮助”查看用法，Ctrl+D 退出。")
    while True:
        try:
            text = input("你> ").strip()
        except (EOFError, KeyboardInterrupt):
            click.echo()
            return
        if not text:
            continue
        result = handle_message(
            rt, channel="cli", sender=sender, text=text, msg_key=f"cli:{uuid.uuid4()}"
        )
        click.echo(f"机器人> {result.reply}")
        if rt.config.sandbox:
            deliver_once(rt)
        with rt.sessions() as session:
            for row in session.scalars(select(Outbox).where(Outbox.id > seen).order_by(Outbox.id)):
                seen = row.id
                click.echo(f"[沙箱 → {row.channel}:{row.target}] {row.payload.get('content', '')}")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--status", default=None, help="Only rows with this status.")
@click.option("--limit", type=int, default=50, show_default=True)
@click.pass_obj
@needs_db
def outbox(state: State, as_json: bool, status: str | None, limit: int) -> None:
    """Outgoing messages and their delivery state."""
    from models import Outbox

    with state.runtime.sessions() as session:
        q = select(Outbox).order_by(Outbox.id.desc()).limit(limit)
        if status:
            q = q.where(Outbox.status == status)
        rows = [
            {
                "id": r.id,
                "dedupe_key": r.dedupe_key,
                "channel": r.channel,
                "target": r.target,
                "msg_type": r.msg_type,
                "status": r.status,
                "attempts": r.attempts,
                "created_at": r.created_at.isoformat(),
                "sent_at": r.sent_at.isoformat() if r.sent_at else None,
                "last_error": r.last_error,
                "content": r.payload.get("content", ""),
            }
            for r in session.scalars(q)
        ]
    emit(
        rows,
        as_json,
        lambda: [
            f"{r['id']:>5} {r['status']:<8} {r['channel']}:{r['target']} "
            f"{r['content'].splitlines()[0] if r['content'] else ''}"
            for r in rows
        ],
    )


@cli.command()
@click.argument("userid")
@click.pass_obj
@needs_db
def bind(state: State, userid: str) -> None:
    """Issue a one-time code that binds USERID's WeChat (official account) openid."""
    from bot.binding import issue_code
    from models import Member

    rt = state.runtime
    with rt.sessions() as session:
        member = session.scalar(select(Member).where(Member.userid == userid))
        if member is None:
            raise click.ClickException(f"no member {userid}")
        code = issue_code(session, member, rt.now())
        session.commit()
    click.echo(f"请 {member.name} 在公众号中发送：绑定 {code}（24 小时内有效）")


@cli.group()
def user() -> None:
    """Web dashboard accounts."""


@user.command("add")
@click.argument("username")
@click.option("--admin", is_flag=True, help="Administrator account.")
@click.option("--member", "member_userid", default=None, help="Link to a member's userid.")
@click.password_option(help="Prompted for when omitted (never stored in plain text).")
@click.pass_obj
@needs_db
def user_add(
    state: State, username: str, admin: bool, member_userid: str | None, password: str
) -> None:
    """Create a dashboard login."""
    from bot.web.auth import create_account

    change_accounts(
        state,
        lambda s: create_account(
            s, username, password, is_admin=admin, member_userid=member_userid
        ),
        f"account {username} created",
    )


def change_accounts(state: State, change: Callable[[Any], object], done: str) -> None:
    """One account change in one transaction; a refusal (ValueError) is the error shown."""
    with state.runtime.sessions() as session:
        try:
            change(session)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
        session.commit()
    click.echo(done)


@user.command("passwd")
@click.argument("username")
@click.password_option(help="Prompted for when omitted.")
@click.pass_obj
@needs_db
def user_passwd(state: State, username: str, password: str) -> None:
    """Set a new password; the account's open web sessions end."""
    from bot.web.auth import set_password

    change_accounts(
        state, lambda s: set_password(s, username, password), f"password of {username} changed"
    )


@user.command("remove")
@click.argument("username")
@click.pass_obj
@needs_db
def user_remove(state: State, username: str) -> None:
    """Delete a dashboard login; its open web sessions end."""
    from bot.web.auth import remove_account

    change_accounts(state, lambda s: remove_account(s, username), f"account {username} removed")


@user.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
@needs_db
def user_list(state: State, as_json: bool) -> None:
    """Dashboard logins (never their passwords)."""
    from models import Account

    with state.runtime.sessions() as session:
        rows = [
            {
                "username": a.username,
                "admin": a.is_admin,
                "member": a.member.userid if a.member else None,
                "created_at": a.created_at.isoformat(),
            }
            for a in session.scalars(select(Account).order_by(Account.username))
        ]
    emit(
        rows,
        as_json,
        lambda: [
            f"{r['username']:<16} {'管理员' if r['admin'] else '      '} {r['member'] or ''}"
            for r in rows
        ],
    )


# Commands defined next to the code they drive; one import line each.
# (commands: start)
from schedules.commands import tick  # noqa: E402

cli.add_command(tick)
from schedules.rank_commands import rank  # noqa: E402

cli.add_command(rank)
from bot.ledger_commands import ledger_export, ledger_import  # noqa: E402

cli.add_command(ledger_import)
cli.add_command(ledger_export)
from bot.backup import backup  # noqa: E402

cli.add_command(backup)
# (commands: end)


def main() -> None:
    try:
        # Without standalone mode click returns, not raises, a command's ctx.exit(code).
        rc = cli.main(standalone_mode=False)
        if isinstance(rc, int) and rc:
            sys.exit(rc)
    except ConfigError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    # Run the importable `bot.cli`, not this `__main__` copy: commands in other modules
    # check their state against `bot.cli.State`.
    from bot.cli import main as entry

    entry()
