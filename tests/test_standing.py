"""Readable evaluation: trends that end with the live week, standings over a longer window,
a period with little due yet, and pages in words rather than ids."""

from __future__ import annotations

import datetime as dt

from flask.testing import FlaskClient
from sqlalchemy import select

from bot.runtime import Runtime
from models import Unit
from schedules.board import period_bounds
from schedules.standing import live_trends
from tests.conftest import Clock
from tests.factories import freeze
from tests.test_ranking import two_weeks
from tests.test_web import text

D = dt.date
UTC = dt.UTC


def admin(rt: Runtime) -> FlaskClient:
    from bot.app import create_app
    from bot.web.auth import create_account
    from tests.test_web import PASSWORD, csrf

    with rt.sessions() as s:
        create_account(s, "admin", PASSWORD, is_admin=True)
        s.commit()
    client = create_app(runtime=rt, TESTING=True).test_client()
    r = client.post(
        "/login", data={"username": "admin", "password": PASSWORD, "csrf_token": csrf(client)}
    )
    assert r.status_code == 302
    return client


def test_trend_ends_with_the_live_week_labelled_as_such(rt: Runtime, clock: Clock) -> None:
    two_weeks(rt)
    clock.set(dt.datetime(2026, 11, 20, 9, tzinfo=UTC))
    with rt.sessions() as s:
        freeze(s, rt, "week", *period_bounds("week", D(2026, 11, 17)), D(2026, 11, 20))
        s.commit()
    clock.set(dt.datetime(2026, 11, 25, 9, tzinfo=UTC))  # 城关镇 done on time this week
    with rt.sessions() as s:
        cgz = s.scalars(select(Unit).where(Unit.code == "CGZ")).one().id
        got = live_trends(s, rt.config.rules, rt.calendar, D(2026, 11, 25), unit_id=cgz)[cgz]
    assert [(p["start"], p["score"], p["live"]) for p in got] == [
        ("2026-11-16", 0.0, False),
        ("2026-11-23", 100.0, True),
    ]
    client = admin(rt)
    page = text(client.get("/unit/CGZ").get_data(as_text=True))
    assert "11月16日起 第" in page and "11月23日起（实时，未发布） 第1名 100 分" in page
    assert "实时" in page and "2026-11" not in page
    rankings = client.get("/rankings?period=week").get_data(as_text=True)
    assert "11月23日起（实时） 第1名 100分" in rankings  # the sparkline has two points now
