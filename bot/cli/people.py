"""Members, WeChat binding and dashboard accounts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click
from sqlalchemy import select

from bot.cli.base import State, cli, emit, needs_db, pad


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
        rows: list[dict[str, Any]] = [
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
@click.argument("userid")
@click.pass_obj
@needs_db
def bind(state: State, userid: str) -> None:
    """Issue a one-time code that binds USERID's WeChat (official account) openid."""
    from bot.inbound.binding import issue_code
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
@click.password_option(
    help="Prompted for when omitted (never stored in plain text).",
    callback=lambda ctx, param, value: long_enough(value),
)
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


def long_enough(password: str) -> str:
    """Checked as soon as it is typed (before the confirmation prompt, which then asks
    again), and a usage error (exit 2) when given with --password."""
    from bot.web.auth import check_password

    try:
        check_password(password)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    return password


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
