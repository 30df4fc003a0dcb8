"""Running the bot: schema, demo, web, scheduler, relay, outbox, fake WeCom."""

from __future__ import annotations

import signal
from dataclasses import replace
from typing import Any

import click
from sqlalchemy import select

from bot.cli.base import State, cli, emit, needs_db


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
    from bot.devtools.demo import load_demo
    from models.migrate import upgrade
    from schedules.board import backfill

    rt = state.runtime
    upgrade(rt.engine)
    with rt.sessions() as session:
        summary = load_demo(session, rt.today(), rt.tz)
        if summary.created:  # six published weeks, so rankings show movement and trends
            published = backfill(session, rt.config.rules, rt.calendar, rt.now())
            summary = replace(summary, published=published)
        session.commit()
    verb = "loaded" if summary.created else "already present"
    click.echo(f"demo county {verb}: {summary}")


CLOCK_HELP = (
    "Simulated time (rehearsals, tests): ISO 8601 start with offset, frozen or SPEED× real;"
    " EPOCH (Unix time at which it reads START) lets several processes share one clock."
)


def use_clock(state: State, clock: str | None) -> float:
    """Run the runtime on a `--clock` spec, if given; its speed (1.0 for the real clock)."""
    from bot.scheduler import clock_speed, real_time_delivery, simulated_clock

    if not clock:
        return 1.0
    try:
        state.runtime.clock = simulated_clock(clock)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--clock") from None
    speed = clock_speed(clock)
    state.runtime.config = real_time_delivery(state.runtime.config, speed)
    return speed


@cli.command()
@click.option("--host", default=None, help="Listen address (default from [web] host).")
@click.option("--port", type=int, default=None, help="Listen port (default from [web] port).")
@click.option("--no-scheduler", is_flag=True, help="Web only; run `duban scheduler` separately.")
@click.option("--threads", type=int, default=8, show_default=True)
@click.option("--clock", default=None, metavar="START[@SPEED[@EPOCH]]", help=CLOCK_HELP)
@click.pass_obj
@needs_db
def serve(
    state: State,
    host: str | None,
    port: int | None,
    no_scheduler: bool,
    threads: int,
    clock: str | None,
) -> None:
    """Serve callbacks and the dashboard (and the scheduler, unless --no-scheduler)."""
    import errno

    from bot.app import create_app
    from bot.scheduler import SchedulerService
    from bot.wsgi_server import build_server, freeze_heap

    # The clock before the app: a rehearsal's messages are received in its simulated
    # time, or a scheduler on the same clock would find them not yet due for handling.
    speed = use_clock(state, clock)
    rt = state.runtime
    app = create_app(runtime=rt)
    host = host or rt.config.web.host
    port = port or rt.config.web.port
    try:
        # Bound before anything is announced or started: a taken port is one clear line.
        server = build_server(app, host=host, port=port, threads=threads)
    except OSError as exc:
        if exc.errno not in (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL):
            raise
        what = "已被占用 in use" if exc.errno == errno.EADDRINUSE else "无法监听 unavailable"
        click.echo(
            f"端口 {host}:{port} {what}：换一个端口，如 `duban serve --port {port + 1}`"
            f" 或 `make run PORT={port + 1}`",
            err=True,
        )
        raise click.exceptions.Exit(2) from None
    service = None
    if not no_scheduler:
        service = SchedulerService(rt, speed=speed)
        service.build(blocking=False).start()
    mode = "沙箱模式 sandbox" if rt.config.sandbox else "企业微信 WeCom"
    click.echo(f"duban serving on http://{host}:{port} ({mode}); Ctrl+C to stop", err=True)
    freeze_heap()
    try:
        server.run()
    finally:
        if service is not None:
            service.stop()


@cli.command()
@click.option(
    "--clock",
    envvar="DUBAN_SCHEDULER_CLOCK",
    default=None,
    metavar="START[@SPEED[@EPOCH]]",
    help=CLOCK_HELP,
)
@click.pass_obj
@needs_db
def scheduler(state: State, clock: str | None) -> None:
    """Run the scheduler (one active per database; others stay idle until it dies)."""
    from bot.scheduler import SchedulerService

    speed = use_clock(state, clock)
    service = SchedulerService(state.runtime, speed=speed)
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
@click.option("--clock", default=None, metavar="START[@SPEED[@EPOCH]]", help=CLOCK_HELP)
@click.pass_obj
@needs_db
def deliver(state: State, once: bool, clock: str | None) -> None:
    """Run the outbox relay (several may run at once; each row goes to one of them)."""
    import time

    from bot.delivery.relay import Relay

    use_clock(state, clock)  # a rehearsal's relay paces and retries in its simulated time
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
    from bot.delivery.relay import requeue

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

    from bot.devtools.fakewecom import FakeWecom, create_fake_app

    app = create_fake_app(FakeWecom(corp_id=corp_id, secret=secret))
    click.echo(
        f"fake WeCom on http://{host}:{port} (corp_id={corp_id}); "
        f"GET /_fake/delivered shows what arrived",
        err=True,
    )
    waitress_serve(app, host=host, port=port, threads=8, ident="fake-wecom")


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
