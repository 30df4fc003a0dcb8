"""Local accounts (hashed passwords), login sessions and CSRF tokens on every form."""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from collections.abc import Callable
from functools import cache, wraps
from typing import Any

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from bot.web.sessions import close_session, open_session, session_alive
from bot.web.throttle import Throttle
from models import Account, Member

bp = Blueprint("auth", __name__)
MIN_PASSWORD = 10


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ValueError(
            f"密码至少 {MIN_PASSWORD} 位 password must have at least {MIN_PASSWORD} characters"
        )


def account_named(db: Session, username: str) -> Account:
    account = db.scalar(select(Account).where(Account.username == username))
    if account is None:
        raise ValueError(f"没有账号 {username} no such account")
    return account


def set_password(db: Session, username: str, password: str) -> None:
    """A new password; the account's open sessions end (their stamp no longer matches)."""
    check_password(password)
    account_named(db, username).password_hash = generate_password_hash(password)


def remove_account(db: Session, username: str) -> None:
    db.delete(account_named(db, username))


def stamp(account: Account) -> str:
    """Ties a login session to the password it was opened with."""
    return hashlib.sha256(account.password_hash.encode()).hexdigest()[:16]


def create_account(
    db: Session,
    username: str,
    password: str,
    *,
    is_admin: bool = False,
    member_userid: str | None = None,
) -> Account:
    check_password(password)
    if db.scalar(select(Account).where(Account.username == username)) is not None:
        raise ValueError(f"账号 {username} 已存在 account exists")
    member_id = None
    if member_userid:
        member = db.scalar(select(Member).where(Member.userid == member_userid))
        if member is None:
            raise ValueError(f"没有 userid 为 {member_userid} 的人员 no such member")
        member_id = member.id
    account = Account(
        username=username,
        password_hash=generate_password_hash(password),
        is_admin=is_admin,
        member_id=member_id,
    )
    db.add(account)
    return account


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return str(session["csrf"])


def install(app: Flask) -> None:
    app.jinja_env.globals["csrf_token"] = csrf_token

    @app.before_request
    def check_csrf() -> None:
        if request.method == "POST" and request.blueprint in ("auth", "views"):
            sent = request.form.get("csrf_token", "")
            expected = session.get("csrf", "")
            if not expected or not hmac.compare_digest(str(sent), str(expected)):
                abort(400, "表单已过期或无效（CSRF），请刷新页面后重试")

    @app.before_request
    def load_user() -> None:
        g.user = session.get("user")
        if not g.user or request.blueprint not in ("views", "api", "auth"):
            return
        rt = current_app.extensions["duban"]
        # A session from before sessions said how they began or had a server-side record,
        # or one logged out, lapsed or no longer backed by an active person: signed out.
        if "via" not in g.user or not session_alive(rt, g.user.get("sid")):
            session.clear()
            g.user = None
            return
        with rt.sessions() as db:
            if g.user["via"] == "account":
                # A removed account or a changed password ends the sessions opened with it,
                # and admin rights are as they are now, not as they were at login.
                account = db.get(Account, g.user.get("account"))
                alive = account is not None and stamp(account) == g.user.get("stamp")
                member = account.member if account is not None else None
                if alive and member is not None and not member.active:
                    alive = False  # the person behind the account was deactivated
                admin = bool(account and account.is_admin)
            else:
                member = db.scalar(select(Member).where(Member.userid == g.user.get("userid")))
                alive = member is not None and member.active
                admin = bool(member and "admin" in (member.roles or []))
        if not alive:
            close_session(rt, g.user.get("sid"))
            session.clear()
            g.user = None
            return
        g.user["admin"] = admin


def sign_in(name: str, *, userid: str | None, admin: bool, account: Account | None = None) -> None:
    """A fresh session (no fixation) for a user; `userid` links a member's roles, `account`
    a local login (checked on every request, so removing it signs its sessions out)."""
    session.clear()
    rt = current_app.extensions["duban"]
    sid = open_session(rt, f"account:{account.username}" if account else f"wecom:{userid}")
    session.permanent = True  # the cookie lapses with the server's record
    session["user"] = {"name": name, "userid": userid, "admin": admin, "via": "wecom", "sid": sid}
    if account is not None:
        session["user"].update(via="account", account=account.id, stamp=stamp(account))
    csrf_token()


def in_wecom_browser() -> bool:
    return "wxwork" in request.headers.get("User-Agent", "").lower()


def local_path(target: str) -> bool:
    """Only a path on this site may follow login: no `//host`, no `/\\host`, no scheme."""
    return (
        target.startswith("/")
        and not target.startswith("//")
        and not any(c in target for c in "\\\r\n\t")
    )


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not session.get("user"):
            if request.path.startswith("/api/"):
                abort(401)
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapped


@cache
def dummy_hash() -> str:
    """Checked against when no account has the name: an unknown user costs the same hashing
    as a known one, so timing does not tell names apart. Made on first use (hashing is
    slow on purpose; CLI commands importing this module need none)."""
    return generate_password_hash(secrets.token_hex(16))


def throttle() -> Throttle:
    found = current_app.extensions.get("duban.login_throttle")
    if found is None:
        rt = current_app.extensions["duban"]
        found = Throttle(rt, rt.config.web)
        current_app.extensions["duban.login_throttle"] = found
    return found


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    error = None
    status = 200
    if request.method == "POST":
        rt = current_app.extensions["duban"]
        username = request.form.get("username", "").strip()[:128]
        keys = [f"account:{username.lower()}", f"source:{request.remote_addr}"]
        until = throttle().locked_until(keys, rt.now())
        if until is not None:
            minutes = max(1, math.ceil((until - rt.now()).total_seconds() / 60))
            current_app.logger.warning(
                "web login locked for %r from %s", username, request.remote_addr
            )
            wecom = rt.config.wecom.configured
            return render_template("login.html", locked_minutes=minutes, wecom=wecom), 429
        with rt.sessions() as db:
            account = db.scalar(select(Account).where(Account.username == username))
            password = request.form.get("password", "")
            ok = check_password_hash(
                account.password_hash if account is not None else dummy_hash(), password
            )
            if ok and account is not None:
                throttle().succeed(keys[0], rt.now())
                member = account.member
                sign_in(
                    account.username,
                    userid=member.userid if member else None,
                    admin=account.is_admin,
                    account=account,
                )
                target = request.args.get("next", "")
                return redirect(target if local_path(target) else url_for("views.ledger"))
        throttle().fail(keys, rt.now())
        error, status = "用户名或密码不正确", 401
        current_app.logger.warning("web login failed for %r from %s", username, request.remote_addr)
    wecom = current_app.extensions["duban"].config.wecom.configured
    if wecom and request.method == "GET" and in_wecom_browser():
        # Inside WeCom's browser a member is known already: no password form.
        return redirect(url_for("auth.wecom_login", next=request.args.get("next", "")))
    return render_template("login.html", error=error, wecom=wecom), status


@bp.post("/logout")
def logout() -> Any:
    # The record goes: a copy of this cookie is worth nothing from now on.
    close_session(current_app.extensions["duban"], (session.get("user") or {}).get("sid"))
    session.clear()
    return redirect(url_for("auth.login"))
