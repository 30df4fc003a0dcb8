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
