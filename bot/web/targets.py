"""Where an outgoing message goes, as a page may show it.

A group robot's webhook key is a credential: anyone holding it can post to that group. Only
admins see keys in full; everyone else sees the unit whose robot it is and a masked key
(enough to tell two robots of one unit apart).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import select

from models import Unit

SHOWN = 4  # leading characters of a key left visible to non-admins


def mask(key: str) -> str:
    return key[:SHOWN] + "…" if len(key) > SHOWN else "…"


def robot_units() -> dict[str, str]:
    """Webhook key → unit name, read once per request."""
    cached = g.get("robot_units")
    if cached is None:
        with current_app.extensions["duban"].sessions() as db:
            cached = {
                str(key): unit.name
                for unit in db.scalars(select(Unit))
                for key in unit.webhook_keys or []
            }
        g.robot_units = cached
    return dict(cached)


def is_admin() -> bool:
    return bool((g.get("user") or {}).get("admin"))


def shown_target(channel: str, target: str) -> dict[str, Any]:
    """{"unit": the robot's unit name or None, "target": the key, masked unless admin}."""
    if channel != "webhook":
        return {"unit": None, "target": target}
    return {
        "unit": robot_units().get(target),
        "target": target if is_admin() else mask(target),
    }


def install(app: Flask) -> None:
    app.jinja_env.globals["shown_target"] = shown_target
