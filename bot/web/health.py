"""`/healthz` for load balancers and `/metrics` for Prometheus."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify
from prometheus_client import CollectorRegistry, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import func, select, text

from bot.web.views import rt
from models import Assignment, Outbox

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Any:
    try:
        with rt().sessions() as db:
            db.execute(text("SELECT 1"))
    except Exception as exc:
        return jsonify({"status": "db_unavailable", "error": exc.__class__.__name__}), 503
    return jsonify({"status": "ok", "sandbox": rt().config.sandbox})


@bp.get("/metrics")
def metrics() -> Response:
    """Computed at scrape time from the database, so every worker reports the same."""
    registry = CollectorRegistry()
    outbox = Gauge("duban_outbox_messages", "Outbox rows by status", ["status"], registry=registry)
    ledger = Gauge("duban_assignments", "Ledger rows by status", ["status"], registry=registry)
    oldest = Gauge(
        "duban_outbox_oldest_pending_seconds",
        "Age of the oldest pending message",
        registry=registry,
    )
    r = rt()
    with r.sessions() as db:
        for status, n in db.execute(select(Outbox.status, func.count()).group_by(Outbox.status)):
            outbox.labels(status).set(n)
        for status, n in db.execute(
            select(Assignment.status, func.count()).group_by(Assignment.status)
        ):
            ledger.labels(status).set(n)
        first = db.scalar(select(func.min(Outbox.created_at)).where(Outbox.status == "pending"))
        oldest.set((r.now() - first).total_seconds() if first else 0)
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
