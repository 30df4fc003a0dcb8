"""`duban say` and `duban chat`: talk to the bot as a member, through the callback path."""

from __future__ import annotations

import uuid

import click
from sqlalchemy import select

from bot.cli.base import State, cli, needs_db, quiet_conversation


def known_member(state: State, userid: str) -> None:
    """Beside the bot's polite refusal to a stranger, a hint for the operator (stderr):
    where the userids are listed."""
    from models import Member

    with state.runtime.sessions() as session:
        found = session.scalar(
            select(Member.id).where(Member.userid == userid, Member.active.is_(True))
        )
    if found is None:
        click.echo(
            f"提示 hint：没有 userid 为 {userid} 的在职人员，"
            "用 `duban members` 查看各单位人员的 userid",
            err=True,
        )


@cli.command()
@click.option("--as", "sender", required=True, help="Sender's WeCom userid.")
@click.option("--channel", default="cli", show_default=True, hidden=True)
@click.argument("text")
@click.pass_obj
@needs_db
def say(state: State, sender: str, channel: str, text: str) -> None:
    """Send one chat message through the same path as a WeCom callback; print the reply."""
    from bot.inbound.pipeline import handle_message

    quiet_conversation()
    known_member(state, sender)
    result = handle_message(
        state.runtime, channel=channel, sender=sender, text=text, msg_key=f"cli:{uuid.uuid4()}"
    )
    click.echo(result.reply)


@cli.command()
@click.option("--as", "sender", required=True, help="Sender's WeCom userid.")
@click.pass_obj
@needs_db
def chat(state: State, sender: str) -> None:
    """Interactive chat as a member; shows the bot's replies and new sandbox messages."""
    from bot.delivery.relay import deliver_once
    from bot.inbound.pipeline import handle_message
    from models import Outbox

    rt = state.runtime
    quiet_conversation()
    known_member(state, sender)
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
