"""Inbound webhooks: WeCom app, WeCom smart robot, WeChat official account."""

from __future__ import annotations

from flask import Flask


def register_callbacks(app: Flask) -> None:
    """Answer the callback URLs ahead of the app's own routes (router.py)."""
    from bot.inbound.callbacks.router import CallbackRouter

    app.wsgi_app = CallbackRouter(app, app.wsgi_app)  # type: ignore[method-assign]
