"""Readable evaluation: a late completion says so and what it cost; a claim waiting for
review has its own mark on the pages."""

from __future__ import annotations

from bot.runtime import Runtime
from tests.conftest import County
from tests.test_handlers import say
from tests.test_lead_review import web_login
from tests.test_web import text


def test_late_completion_and_waiting_claim_read_differently(rt: Runtime, county: County) -> None:
    say(rt, county.liaison_many, "完成 #3")  # due 20 Nov, reported 25 Nov: 3 workdays late
    say(rt, county.supervisor, "销号 #3 城关镇")
    client = web_login(rt, "duchashi", county.supervisor)
    html = client.get("/task/3").get_data(as_text=True)
    assert "已完成：逾期3个工作日完成，扣 30 分" in text(html)
    assert 'class="reason late"' in html
    # 县发改局's #4 waits for review, reported before its deadline.
    html = client.get("/task/4").get_data(as_text=True)
    assert '<span class="light reported"' in html and ">待审核</span>" in html
    assert "已报完成，待督查室审核：按期完成" in text(html)
    assert "扣 " not in text(html).split("进展记录")[0].split("责任单位")[-1]


def test_rankings_say_why_equal_scores_share_a_rank_or_not(rt: Runtime) -> None:
    import datetime as dt

    from sqlalchemy import select

    from bot.web.auth import create_account
    from models import Assignment, KeyWork, Member, Task, Unit
    from schedules.board import period_bounds
    from tests.factories import freeze
    from tests.test_ranking import two_weeks
    from tests.test_web import PASSWORD, csrf

    two_weeks(rt)
    with rt.sessions() as s:
        # 河西乡 also leaves a second item of the week open: 0 like 城关镇, but more overdue.
        hxx = s.scalars(select(Unit).where(Unit.code == "HXX")).one()
        kw = s.scalars(select(KeyWork)).first()
        extra = Task(code=99, key_work=kw, content="任务99", deadline=dt.date(2026, 11, 18))
        s.add_all([extra, Assignment(task=extra, unit=hxx)])
        week = period_bounds("week", dt.date(2026, 11, 17))
        freeze(s, rt, "week", *week, dt.date(2026, 11, 20))
        dcs = s.scalars(select(Unit).where(Unit.code == "DCS")).one()
        s.add(Member(userid="sup", name="孙督查", unit=dcs, roles=["supervisor"]))
        s.flush()
        create_account(s, "duchashi", PASSWORD, member_userid="sup")
        s.commit()
    from bot.app import create_app

    client = create_app(runtime=rt, TESTING=True).test_client()
    client.post(
        "/login", data={"username": "duchashi", "password": PASSWORD, "csrf_token": csrf(client)}
    )
    page = text(
        client.get("/rankings?period=week&from=2026-11-16&to=2026-11-22").get_data(as_text=True)
    )
    # 东坝镇, 柳林乡, 南山乡 all 100 and tied at 1; 城关镇 and 河西乡 both 0, but 河西乡
    # has two items overdue: 5th and 6th, each saying why.
    assert page.count("1 并列") == 3 and "4 并列" not in page and "并列" in page
    assert "5 同分，按逾期数和完成早晚排序 城关镇" in page
    assert "6 同分，按逾期数和完成早晚排序 河西乡" in page
    assert "东坝镇 并列 100 分" in page and "100.0" not in page  # plain numbers
