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


def october_item(rt: Runtime) -> None:
    """城关镇 alone had an item due in October (done on time): first at the end of October."""
    from models import CLOSED, Assignment, KeyWork, Task

    with rt.sessions() as s:
        kw = s.scalars(select(KeyWork)).first()
        cgz = s.scalars(select(Unit).where(Unit.code == "CGZ")).one()
        t = Task(code=99, key_work=kw, content="十月任务", deadline=D(2026, 10, 20))
        a = Assignment(task=t, unit=cgz, status=CLOSED)
        a.reported_at = dt.datetime(2026, 10, 19, 8, tzinfo=UTC)
        s.add_all([t, a])
        s.commit()


def test_month_and_year_to_date_rank_every_unit_beside_the_week(rt: Runtime, clock: Clock) -> None:
    import json

    from bot.cli.rank import rank
    from tests.test_spot_check import cli

    two_weeks(rt)
    october_item(rt)
    clock.set(dt.datetime(2026, 11, 25, 9, tzinfo=UTC))
    out = cli(rt, rank, "--standing")
    assert out.startswith("11月20日—11月26日 重点工作周排名（实时，未定稿）\n")
    assert "   1. 城关镇              100  上期未参评  红榜" in out and "100.0" not in out
    assert "本月累计（11月1日—11月25日）\n" in out  # no published month: no movement column
    assert "本年累计（1月1日—11月25日），较上月末" in out
    year = out[out.index("本年累计") :]
    # 城关镇 was first (alone) at the end of October; one November item is open: 3rd now.
    assert "   3. 城关镇            66.67  ↓2" in year
    assert year.count("上期未参评") == 5  # the other five had nothing due before November
    data = json.loads(cli(rt, rank, "--standing", "--json"))
    assert len(data["standing"]["month"]["groups"][0]["rows"]) == 6
    assert data["standing"]["year"]["compared"] == "last_month_end"

    client = admin(rt)
    page = text(client.get("/rankings?period=week").get_data(as_text=True))
    assert "较长时段累计排名" in page and "本月累计（11月1日—11月25日）" in page
    assert "本年累计（1月1日—11月25日） 乡镇 名次 单位 得分 较上月末" in page
    assert "仅供参考" not in page  # twelve items due this month and year

    from openpyxl import load_workbook

    xlsx = client.get("/rankings/export.xlsx?period=week")
    wb = load_workbook(__import__("io").BytesIO(xlsx.data))
    assert "本月累计-乡镇" in wb.sheetnames and "本年累计-乡镇" in wb.sheetnames
    assert wb["本年累计-乡镇"]["A1"].value == "本年累计（1月1日—11月25日） 重点工作考核排名"
    assert len([r for r in wb["本月累计-乡镇"].iter_rows(min_row=3) if r[0].value]) == 6


def test_a_period_with_little_due_says_so_and_points_to_the_last_published(
    rt: Runtime, clock: Clock
) -> None:
    from openpyxl import load_workbook

    from bot.cli.rank import rank
    from tests.test_spot_check import cli

    two_weeks(rt)
    clock.set(dt.datetime(2026, 11, 27, 9, tzinfo=UTC))
    with rt.sessions() as s:
        freeze(s, rt, "week", *period_bounds("week", D(2026, 11, 24)), D(2026, 11, 27))
        s.commit()
    clock.set(dt.datetime(2026, 12, 2, 2, tzinfo=UTC))  # a month on its 2nd day
    client = admin(rt)
    week = text(client.get("/rankings?period=week").get_data(as_text=True))
    assert "本月累计（12月1日—12月2日） 仅 0 项到期，仅供参考" in week
    said = (
        "本期截至今天只有 0 项事项到期，排名还说明不了什么；"
        "请看最近一期已发布的排名：11月23日—11月29日周排名。"
    )
    assert said in cli(rt, rank, "--period", "month")
    assert "只有" not in cli(
        rt, rank, "--period", "month", "--from", "2026-11-01", "--to", "2026-11-30"
    )
    page = text(client.get("/rankings?period=month").get_data(as_text=True))
    assert said in page
    assert 'href="/rankings?period=week&amp;from=2026-11-23&amp;to=2026-11-29">查看' in (
        client.get("/rankings?period=month").get_data(as_text=True)
    )
    xlsx = client.get("/rankings/export.xlsx?period=month")
    ws = load_workbook(__import__("io").BytesIO(xlsx.data)).worksheets[0]
    assert ws["A1"].value == f"12月1日—12月31日 重点工作考核排名（{said}）"


def test_group_picture_says_whose_board_it_is_and_why_units_lost_points(
    rt: Runtime, clock: Clock
) -> None:
    from bot.delivery.picture import cjk_font, render_board
    from handlers.notices import board_data
    from tests.conftest import service_missing

    if cjk_font() is None:
        service_missing("a CJK font (fonts-noto-cjk)", FileNotFoundError("no CJK font"))
    two_weeks(rt)
    clock.set(dt.datetime(2026, 11, 20, 9, tzinfo=UTC))
    with rt.sessions() as s:
        board = freeze(s, rt, "week", *period_bounds("week", D(2026, 11, 17)), D(2026, 11, 20))
        s.commit()
    data = {**board_data(board), "today": D(2026, 11, 20), "county": "青山县", "office": "督查室"}
    drawn = render_board(data)
    assert drawn is not None
    assert drawn.texts[:2] == (
        "11月16日—11月22日 重点工作周排名（已发布）",
        "青山县 · 督查室 · 2026年11月20日发布",
    )
    assert "扣分原因" in drawn.texts
    reasons = [t for t in drawn.texts if t.startswith("#")]
    # 城关镇 and 河西乡 (open), 石门镇 (a day late): each with its costliest deduction.
    assert len(reasons) == 3 and any(t.startswith("#6 ") and t.endswith("−10") for t in reasons)


def test_unit_and_audit_pages_read_in_words_not_ids(rt: Runtime, county: object) -> None:
    from models import Assignment, Member, Task
    from models.audit import audit
    from tests.test_lead_review import web_login

    with rt.sessions() as s:
        task = s.scalars(select(Task).where(Task.code == 2)).one()
        a = s.scalars(select(Assignment).where(Assignment.task_id == task.id)).first()
        assert a is not None
        sup = s.scalars(select(Member).where(Member.userid == "dcs_sup")).one()
        audit(
            s,
            at=rt.now(),
            actor="dcs_sup",
            source="inbound:7",
            action="approve_extension",
            entity="assignment",
            entity_id=a.id,
            old_deadline="2026-11-20",
            new_deadline="2027-01-08",
        )
        s.commit()
        sup_name = sup.name
    reader = web_login(rt, "cgz", "cgz_liaison")  # not an admin
    html = reader.get("/task/2").get_data(as_text=True)
    page = text(html)
    assert f"{sup_name} 批准延期" in page and "dcs_sup" not in html
    assert "时限 11月20日 → 2027年1月8日" in page and "2026-11-20" not in html
    assert "聊天消息 #7" in page and "inbound:7" not in html
    unit = reader.get("/unit/CGZ").get_data(as_text=True)
    assert "cgz_liaison" not in unit and "<code>" not in unit
    members = reader.get("/members").get_data(as_text=True)
    assert "cgz_liaison" not in members and "userid" not in members


def test_downloads_are_named_with_chinese_dates(rt: Runtime, clock: Clock) -> None:
    from urllib.parse import unquote

    two_weeks(rt)
    clock.set(dt.datetime(2026, 11, 25, 9, tzinfo=UTC))
    client = admin(rt)
    query = "period=week&from=2026-11-16&to=2026-11-22"
    for path, name in (
        ("/rankings/export.xlsx", "考核排名-11月16日—11月22日.xlsx"),
        ("/rankings/notice.docx", "重点工作KPI评价结果通报-11月16日—11月22日.docx"),
    ):
        r = client.get(f"{path}?{query}")
        assert r.status_code == 200, path
        assert name in unquote(r.headers["Content-Disposition"]), path


def test_a_published_period_knows_the_day_it_went_out(rt: Runtime, clock: Clock) -> None:
    from schedules.standing import published_on

    two_weeks(rt)
    week = period_bounds("week", D(2026, 11, 17))
    clock.set(dt.datetime(2026, 11, 20, 17, tzinfo=UTC))  # Saturday 01:00 in Beijing
    with rt.sessions() as s:
        freeze(s, rt, "week", *week, D(2026, 11, 20))
        s.commit()
        assert published_on(s, "week", *week, rt.tz) == D(2026, 11, 21)
        assert published_on(s, "month", D(2026, 11, 1), D(2026, 11, 30), rt.tz) is None
    clock.set(dt.datetime(2026, 11, 25, 9, tzinfo=UTC))
    png = admin(rt).get("/rankings/board.png?period=week&from=2026-11-16&to=2026-11-22")
    assert png.status_code in (200, 404)  # 404 only without a CJK font
