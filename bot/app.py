"""Flask application factory: dashboard, JSON API, health and metrics."""

from __future__ import annotations

from typing import Any

from flask import Flask

from bot.config import Config, load_config
from bot.runtime import Runtime, build_runtime


def create_app(
    config: Config | None = None, runtime: Runtime | None = None, **flask_config: Any
) -> Flask:
    """Build the web app around a Runtime (config, database, calendar, clock)."""
    rt = runtime or build_runtime(config or load_config())
    app = Flask(__name__, template_folder="web/templates", static_folder="web/static")
    app.config.update(flask_config)
    app.extensions["duban"] = rt

    from bot.inbound.callbacks import register_callbacks
    from bot.web import register

    register_callbacks(app)
    register(app)
    if rt.config.web.trusted_proxies:
        from bot.web.proxy import TrustedProxies, networks

        app.wsgi_app = TrustedProxies(  # type: ignore[method-assign]
            app.wsgi_app, networks(rt.config.web.trusted_proxies)
        )
    return app
