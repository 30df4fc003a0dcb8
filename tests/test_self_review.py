"""After publication: a 检视 item for every black-listed unit; 约谈 flagged and recorded."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from click.testing import CliRunner
from sqlalchemy import select

from bot.cli.interview import interview
from bot.runtime import Runtime
from bot.scheduler import board_broadcast
from models import AuditLog, Outbox, Task, Unit
from schedules.board import period_bounds
from schedules.jobs import load_items
from tests.conftest import Clock
from tests.factories import freeze
from tests.test_ranking import two_weeks

D = dt.date
UTC = dt.UTC


def self_reviews(rt: Runtime) -> list[tuple[str, str, dt.date]]:
    with rt.sessions() as s:
        tasks = s.scalars(
            select(Task).where(Task.key_work.has(name="黑榜检视整改")).order_by(Task.code)
        ).all()
        return [(t.assignments[0].unit.code, t.content, t.deadline) for t in tasks]


def test_black_listed_units_get_a_self_review_item_and_repeat_offenders_are_flagged(
    rt: Runtime, clock: Clock
) -> None:
    two_weeks(rt)
    clock.set(dt.datetime(2026, 11, 20, 9, tzinfo=UTC))  # Friday 20 Nov, 17:00 local
    with rt.sessions() as s:
        first = freeze(s, rt, "week", *period_bounds("week", D(2026, 11, 17)), D(2026, 11, 20))
        board_broadcast(rt)(s, first, rt.now())
        s.commit()
    # Black list of the week: 石门镇 (late), 城关镇 and 河西乡 (open). Due in 5 workdays.
    got = self_reviews(rt)
    assert sorted(u for u, _, _ in got) == ["CGZ", "HXX", "SMZ"]
    assert all(d == D(2026, 11, 27) for _, _, d in got)
    assert got[0][1] == (
        "报送11月16日—11月22日周考核黑榜检视整改材料（对照扣分事项查找原因、提出整改措施）"
    )
    with rt.sessions() as s:
        told = [
            o.payload["content"]
            for o in s.scalars(select(Outbox))
            if "【黑榜检视】" in o.payload["content"]
        ]
        assert len(told) == 3 and any(
            "河西乡在11月16日—11月22日" in t and "11月27日前" in t for t in told
        )
        # An item on the ledger like any other: it is loaded for nudges.
        items = load_items(s, rt.config.rules, rt.calendar)
        assert sum(1 for i in items if "检视整改" in i.content) == 3
        assert not any("【约谈提示】" in o.payload["content"] for o in s.scalars(select(Outbox)))

    clock.set(dt.datetime(2026, 11, 27, 9, tzinfo=UTC))
    with rt.sessions() as s:
        second = freeze(s, rt, "week", *period_bounds("week", D(2026, 11, 24)), D(2026, 11, 27))
        board_broadcast(rt)(s, second, rt.now())
        board_broadcast(rt)(s, second, rt.now())  # a second broadcast adds nothing
        s.commit()
    got = self_reviews(rt)
    assert len(got) == 6  # 东坝镇, 河西乡, 石门镇 for the second week
    with rt.sessions() as s:
        flags = [o for o in s.scalars(select(Outbox)) if "【约谈提示】" in o.payload["content"]]
        assert [o.target for o in flags] == ["key-dcs"]
        text = flags[0].payload["content"]
        assert "河西乡：连续2期" in text and "石门镇：连续2期" in text and "东坝镇" not in text

    out = CliRunner().invoke(
        interview, ["河西乡", "--note", "分管领导约谈乡长"], obj=SimpleNamespace(runtime=rt)
    )
    assert out.exit_code == 0, out.output
    with rt.sessions() as s:
        log = s.scalars(select(AuditLog).where(AuditLog.action == "interview_held")).one()
        hxx = s.scalars(select(Unit).where(Unit.code == "HXX")).one()
        assert log.entity_id == hxx.id and log.detail["note"] == "分管领导约谈乡长"


def test_red_listed_unit_can_be_asked_for_an_experience_note(rt: Runtime, clock: Clock) -> None:
    from bot.cli.experience import experience

    two_weeks(rt)
    clock.set(dt.datetime(2026, 11, 20, 9, tzinfo=UTC))
    with rt.sessions() as s:
        freeze(s, rt, "week", *period_bounds("week", D(2026, 11, 17)), D(2026, 11, 20))
        s.commit()
    args = ["--period", "week", "--from", "2026-11-16", "--to", "2026-11-22"]
    state = SimpleNamespace(runtime=rt)
    refused = CliRunner().invoke(experience, ["河西乡", *args], obj=state)  # black, not red
    assert refused.exit_code == 1 and "not on a published red list" in refused.output
    ok = CliRunner().invoke(experience, ["东坝镇", *args], obj=state)
    assert ok.exit_code == 0 and "已请 东坝镇 报送经验交流材料" in ok.output
    again = CliRunner().invoke(experience, ["DBZ", *args], obj=state)
    assert "已被请求过" in again.output
    with rt.sessions() as s:
        (task,) = s.scalars(select(Task).where(Task.key_work.has(name="红榜经验交流"))).all()
        assert task.assignments[0].unit.code == "DBZ" and task.deadline == D(2026, 11, 27)
        told = [o for o in s.scalars(select(Outbox)) if "【红榜经验交流】" in o.payload["content"]]
        assert [o.target for o in told] == ["key-DBZ"]


def test_dashboard_asks_a_red_listed_unit_for_its_experience(rt: Runtime, clock: Clock) -> None:
    from bot.app import create_app
    from bot.web.auth import create_account
    from tests.test_web import PASSWORD, csrf

    two_weeks(rt)
    clock.set(dt.datetime(2026, 11, 20, 9, tzinfo=UTC))
    with rt.sessions() as s:
        freeze(s, rt, "week", *period_bounds("week", D(2026, 11, 17)), D(2026, 11, 20))
        create_account(s, "admin", PASSWORD, is_admin=True)
        s.commit()
    client = create_app(runtime=rt, TESTING=True).test_client()
    client.post(
        "/login", data={"username": "admin", "password": PASSWORD, "csrf_token": csrf(client)}
    )
    page = client.get("/rankings?period=week&from=2026-11-16&to=2026-11-22").get_data(as_text=True)
    assert page.count("请其交流经验") == 3  # the three red-listed townships
    live = client.get("/rankings?period=week").get_data(as_text=True)
    assert "请其交流经验" not in live  # only for a published period
    form = {
        "csrf_token": csrf(client, "/rankings"),
        "unit": "DBZ",
        "period": "week",
        "from": "2026-11-16",
        "to": "2026-11-22",
    }
    assert client.post("/rankings/experience", data=form).status_code == 302
    assert client.post("/rankings/experience", data={**form, "unit": "HXX"}).status_code == 409
    with rt.sessions() as s:
        tasks = s.scalars(select(Task).where(Task.key_work.has(name="红榜经验交流"))).all()
        assert [t.assignments[0].unit.code for t in tasks] == ["DBZ"]


def test_dashboard_lists_units_due_an_interview_and_records_one(rt: Runtime, clock: Clock) -> None:
    from bot.app import create_app
    from bot.web.auth import create_account
    from tests.test_web import PASSWORD, csrf, text

    two_weeks(rt)
    for day, monday in ((20, 17), (27, 24)):  # two published weeks: 河西乡, 石门镇 twice black
        clock.set(dt.datetime(2026, 11, day, 9, tzinfo=UTC))
        with rt.sessions() as s:
            freeze(s, rt, "week", *period_bounds("week", D(2026, 11, monday)), D(2026, 11, day))
            s.commit()
    with rt.sessions() as s:
        create_account(s, "admin", PASSWORD, is_admin=True)
        create_account(s, "reader", PASSWORD)
        hxx = s.scalars(select(Unit).where(Unit.code == "HXX")).one().id
        s.commit()
    client = create_app(runtime=rt, TESTING=True).test_client()
    client.post(
        "/login", data={"username": "admin", "password": PASSWORD, "csrf_token": csrf(client)}
    )
    page = text(client.get("/interviews").get_data(as_text=True))
    assert "河西乡 待约谈" in page and "石门镇 待约谈" in page and "东坝镇" not in page
    assert "连续 2 期列入黑榜（最近一期：11月23日—11月29日周考核，11月27日发布）" in page
    form = {
        "csrf_token": csrf(client, "/interviews"),
        "unit": str(hxx),
        "held_on": "2026-11-27",
        "who": "分管副县长、乡长",
        "note": "限期一周整改台账",
    }
    assert client.post("/interviews", data={**form, "note": " "}).status_code == 400
    assert client.post("/interviews", data={**form, "held_on": "2026-11-28"}).status_code == 400
    assert client.post("/interviews", data=form).status_code == 302
    page = text(client.get("/interviews").get_data(as_text=True))
    assert "河西乡 已约谈" in page and "石门镇 待约谈" in page
    assert "11月27日约谈 · 参加：分管副县长、乡长 · 限期一周整改台账 · 登记人 admin" in page
    assert page.index("石门镇 待约谈") < page.index("河西乡 已约谈")  # open flags first
    with rt.sessions() as s:
        log = s.scalars(select(AuditLog).where(AuditLog.action == "interview_held")).one()
        assert (log.entity_id, log.source, log.detail["who"]) == (hxx, "web", "分管副县长、乡长")

    reader = create_app(runtime=rt, TESTING=True).test_client()
    reader.post(
        "/login", data={"username": "reader", "password": PASSWORD, "csrf_token": csrf(reader)}
    )
    assert "登记已约谈" not in reader.get("/interviews").get_data(as_text=True)
    form["csrf_token"] = csrf(reader, "/interviews")
    assert reader.post("/interviews", data=form).status_code == 403
