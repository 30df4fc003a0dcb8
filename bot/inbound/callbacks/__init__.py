"""Inbound webhooks: WeCom app, WeCom smart robot, WeChat official account."""

from __future__ import annotations

from flask import Flask


def register_callbacks(app: Flask) -> None:
    from bot.inbound.callbacks import aibot, wechat, wecom

    for module in (wecom, aibot, wechat):
        app.register_blueprint(module.bp)
