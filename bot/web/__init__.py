"""Dashboard, JSON API, health and metrics: server-rendered, offline, phone-friendly."""

from __future__ import annotations

import datetime as dt
import secrets

from flask import Flask, Request, Response
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin

from bot.runtime import Runtime
from models import Setting


def secret_key(rt: Runtime) -> str:
    """From the config, else generated once and kept in the database (shared by workers)."""
    if rt.config.web.secret_key:
        return rt.config.web.secret_key
    with rt.sessions() as s:
        row = s.get(Setting, "web.secret_key")
        if row is None:
            row = Setting(key="web.secret_key", value=secrets.token_hex(32))
            s.add(row)
            try:
                s.commit()
            except Exception:  # another worker created it first
                s.rollback()
                row = s.get_one(Setting, "web.secret_key")
        return row.value


class CookieFirstSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, but a request without the cookie (a health check, a
    first visit; callbacks never reach Flask: bot/inbound/callbacks/router.py) gets an empty
    session without building a signing serializer. With the cookie, Flask's own code reads
    it."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if app.secret_key and self.get_cookie_name(app) not in request.cookies:
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        # An empty session nobody wrote to sets no cookie; Flask would work out the cookie's
        # name, domain, path and flags first.
        if not session and not session.modified:
            if session.accessed:
                response.vary.add("Cookie")
            return
        super().save_session(app, session, response)


def register(app: Flask) -> None:
    from bot.web import (
        api,
        auth,
        hardening,
        health,
        interviews,
        ledger_excel,
        notice,
        phone,
        rankings,
        review,
        spot_checks,
        targets,
        views,
        wecom_login,
    )

    # Their routes are on the other blueprints.
    del interviews, ledger_excel, notice, phone, rankings, review, spot_checks, wecom_login

    hardening.install(app)
    rt: Runtime = app.extensions["duban"]
    app.secret_key = secret_key(rt)
    app.session_interface = CookieFirstSessions()
    # Flask defines these keys (None, False): setdefault would leave them unset.
    web = rt.config.web
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_SECURE"] = web.secure_cookie or web.base_url.startswith("https:")
    app.config["PERMANENT_SESSION_LIFETIME"] = dt.timedelta(hours=web.session_hours)
    for module in (auth, views, api, health):
        app.register_blueprint(module.bp)
    auth.install(app)
    targets.install(app)
    views.install(app)
