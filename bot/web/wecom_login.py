"""Members log in with WeCom (网页授权): no password for officials who open the dashboard
from the app's menu inside WeCom; local accounts remain for the office and admins."""

from __future__ import annotations

import hmac
import logging
import secrets
from typing import Any
from urllib.parse import quote, urlencode

import requests
from flask import abort, redirect, render_template, request, session, url_for
from sqlalchemy import select
from wechatpy.exceptions import WeChatClientException

from bot.delivery.wecom_api import app_client
from bot.runtime import Runtime
from bot.web.auth import bp, local_path, sign_in
from models import Member

log = logging.getLogger(__name__)
INVALID_CODE = {40029, 40163, 42003}  # invalid, used or expired code


def _runtime() -> Runtime:
    from flask import current_app

    return current_app.extensions["duban"]


def authorize_url(rt: Runtime, state: str) -> str:
    """WeCom's authorize page, sending the member back to our callback with a code."""
    cfg = rt.config
    callback = cfg.web.base_url.rstrip("/") + url_for("auth.wecom_callback")
    query = urlencode(
        {
            "appid": cfg.wecom.corp_id,
            "redirect_uri": callback,
            "response_type": "code",
            "scope": "snsapi_base",
            "state": state,
            "agentid": cfg.wecom.agent_id,
        },
        quote_via=quote,
    )
    return f"{cfg.wecom.oauth_authorize_url}?{query}#wechat_redirect"


@bp.get("/login/wecom")
def wecom_login() -> Any:
    rt = _runtime()
    if not rt.config.wecom.configured:
        abort(404)
    state = secrets.token_urlsafe(16)
    target = request.args.get("next", "")
    session["wecom_oauth"] = {"state": state, "next": target if local_path(target) else ""}
    return redirect(authorize_url(rt, state))


def _refuse(message: str, status: int) -> Any:
    return render_template("login.html", error=message, wecom=True), status


@bp.get("/login/wecom/callback")
def wecom_callback() -> Any:
    rt = _runtime()
    if not rt.config.wecom.configured:
        abort(404)
    pending = session.pop("wecom_oauth", None) or {}
    state, code = request.args.get("state", ""), request.args.get("code", "")
    if not pending or not hmac.compare_digest(state, str(pending.get("state", ""))):
        log.warning("wecom login refused: state mismatch from %s", request.remote_addr)
        return _refuse("登录已过期或来源不明，请重新进入。", 400)
    if not code:
        return _refuse("企业微信未授权登录。", 400)
    cfg = rt.config
    client = app_client(
        rt.sessions,
        rt.clock,
        cfg.wecom.corp_id,
        cfg.wecom.secret,
        cfg.wecom.api_base_url,
        cfg.delivery.http_timeout_seconds,
    )
    try:
        info = client.oauth.get_user_info(code)
    except WeChatClientException as exc:
        log.warning("wecom login refused: getuserinfo errcode=%s", exc.errcode)
        if exc.errcode in INVALID_CODE:
            return _refuse("登录链接已失效，请重新进入。", 400)
        return _refuse("企业微信暂时无法确认身份，请稍后再试。", 502)
    except requests.RequestException as exc:
        log.error("wecom login: WeCom unreachable (%s)", exc.__class__.__name__)
        return _refuse("企业微信暂时无法确认身份，请稍后再试。", 502)
    userid = info.get("UserId") or info.get("userid") or ""
    with rt.sessions() as db:
        member = (
            db.scalar(select(Member).where(Member.userid == userid, Member.active.is_(True)))
            if userid
            else None
        )
        if member is None:
            log.warning("wecom login refused: %r is not an active member", userid or "(non-member)")
            return _refuse("您不在本系统的人员名单中，请联系督查室添加。", 403)
        sign_in(member.name, userid=member.userid, admin="admin" in (member.roles or []))
    log.info("wecom login userid=%s", userid)
    return redirect(pending.get("next") or url_for("views.ledger"))
