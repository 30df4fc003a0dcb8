"""The ledger page and /api/ledger paged on the server: worst first, filters kept across
pages, links in Chinese, totals in the API's headers."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from bot.runtime import Runtime
from models import LEAD_STAGE, Assignment
from schedules import ledger
from schedules.ledger import (
    _COLUMNS,
    LedgerPage,
    assignment_rows,
    ledger_page,
    ledger_rows,
    row_for,
)
from tests import test_web
from tests.conftest import County
from tests.test_web import text

# The signed-in dashboard client of tests/test_web.py, with its county and account.
app, client, user = test_web.app, test_web.client, test_web.user


def row_refs(html: str) -> list[str]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return re.findall(r"<tr[^>]*>", body)


def test_page_numbers_and_first_index() -> None:
    page = LedgerPage([object()], 3, 3, 7, {}, 0)  # type: ignore[list-item]
    assert (page.pages, page.first_index) == (3, 7)
    empty = LedgerPage([], 1, 3, 0, {}, 0)
    assert (empty.pages, empty.first_index) == (1, 0)


def test_ledger_page_is_a_slice_of_the_whole_ledger(rt: Runtime, county: County) -> None:
    """ledger_page builds only the shown rows; they must be exactly that slice of
    ledger_rows, with the counts of the whole selection, and a page past the end clamps."""
    args = {"today": rt.today(), "cal": rt.calendar, "rules": rt.config.rules}
    with rt.sessions() as s:
        whole = ledger_rows(s, **args)
        lights = Counter(r.light.color for r in whole)
        assert len(whole) > 5 and len(lights) > 1, "the county needs several lights"
        for size in (1, 2, 5, len(whole)):
            for number in range(1, len(whole) // size + 2):
                page = ledger_page(s, number=number, size=size, **args)
                last = max(1, -(-len(whole) // size))
                assert page.number == min(number, last)
                start = (page.number - 1) * size
                assert page.rows == whole[start : start + size], (size, number)
                assert (page.total, page.lights) == (len(whole), dict(lights))
                assert page.awaiting == sum(1 for r in whole if r.status == "reported")
        color = whole[-1].light.color
        only = ledger_page(s, number=1, size=500, light_filter=color, **args)
        assert only.rows == [r for r in whole if r.light.color == color]
        assert only.lights == dict(lights)  # the counts ignore the light filter
        shown = ledger_page(s, number=1, size=500, open_only=True, status="in_progress", **args)
        opened = [r for r in whole if r.light.color != "done"]
        assert shown.rows == [r for r in opened if r.status == "in_progress"]
        assert shown.lights == dict(Counter(r.light.color for r in opened))


def test_rows_read_packed_are_the_rows_read_plainly(
    rt: Runtime, county: County, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PyMySQL the ledger reads each assignment as one joined string (its per-value
    decoding was most of a big ledger's time); the rows must be exactly the plain ones,
    absent dates, an empty period and a review stage included."""
    if rt.engine.dialect.driver != "pymysql":
        pytest.skip("the packed read is MariaDB's (GROUP_CONCAT), for PyMySQL")
    with rt.sessions() as s:
        first, second, third = s.scalars(select(Assignment).order_by(Assignment.id)).all()[:3]
        first.deadline_override = dt.date(2026, 12, 31)
        second.period, second.period_deadline = "2026-11", dt.date(2026, 11, 30)
        third.status, third.review_stage, third.percent = "reported", LEAD_STAGE, 100
        s.commit()
        conn = s.connection()
        for q in (
            select(*_COLUMNS),
            select(*_COLUMNS).where(Assignment.unit_id == first.unit_id),
            select(*_COLUMNS).where(Assignment.status == "no such status"),
        ):
            plain = sorted(assignment_rows(conn, q, packed=False))
            assert sorted(assignment_rows(conn, q, packed=True)) == plain
        packed = {r[0]: r for r in assignment_rows(conn, select(*_COLUMNS), packed=True)}
        assert packed[first.id][5:7] == (dt.date(2026, 12, 31), "")
        assert packed[second.id][5:8] == (None, "2026-11", dt.date(2026, 11, 30))
        assert packed[third.id][3:5] + packed[third.id][8:] == ("reported", 100, LEAD_STAGE)
        whole = sorted(assignment_rows(conn, select(*_COLUMNS), packed=False))
        # GROUP_CONCAT cut short (its limit below these rows' length, as MySQL's 1 KB default
        # is below a big task's): told by the length, read plainly, nothing half-read.
        monkeypatch.setattr(ledger, "_PACKED_MAX", 16)
        assert ledger._packed_rows(conn, select(*_COLUMNS)) is None
        assert sorted(assignment_rows(conn, select(*_COLUMNS), packed=True)) == whole
        # Cut inside the last value, every separator still there: only the length tells.
        only_third = select(*_COLUMNS).where(Assignment.id == third.id)
        (row,) = assignment_rows(conn, only_third, packed=False)
        text = "|".join("" if v is None else str(v) for v in row)
        monkeypatch.setattr(ledger, "_PACKED_MAX", len(text) - 2)  # inside the stage
        assert ledger._packed_rows(conn, only_third) is None
        assert assignment_rows(conn, only_third, packed=True) == [tuple(row)]
        monkeypatch.undo()
        # A separator inside a value: told by the count, read plainly instead.
        second.period = "2026|11,x"
        s.commit()
        conn = s.connection()
        assert ledger._packed_rows(conn, select(*_COLUMNS)) is None
        whole = sorted(assignment_rows(conn, select(*_COLUMNS), packed=False))
        assert sorted(assignment_rows(conn, select(*_COLUMNS), packed=True)) == whole


def test_ledger_page_shows_one_page_worst_first_with_links(user: FlaskClient) -> None:
    everything = user.get("/api/ledger").get_json()
    assert len(everything) > 2
    first = user.get("/ledger?size=2").get_data(as_text=True)
    assert len(row_refs(first)) == 2
    assert 'class="light red"' in first  # the red item leads the first page
    shown = text(first)
    assert f"共 {len(everything)} 项" in shown and "本页第 1–2 项" in shown
    pages = -(-len(everything) // 2)
    assert f"第 1 / {pages} 页" in shown and "下一页" in shown and "上一页" not in shown
    assert 'href="/ledger?size=2&amp;page=2"' in first
    last = user.get(f"/ledger?size=2&page={pages}").get_data(as_text=True)
    assert "上一页" in last and "下一页" not in last
    assert len(row_refs(last)) == len(everything) - 2 * (pages - 1)


def test_filters_apply_before_paging_and_survive_page_links(user: FlaskClient) -> None:
    cgz = user.get("/api/ledger?unit=CGZ").get_json()
    assert len(cgz) == 3
    page = user.get("/ledger?unit=CGZ&size=2").get_data(as_text=True)
    assert "共 3 项" in text(page) and 'href="/ledger?unit=CGZ&amp;size=2&amp;page=2"' in page
    second = user.get("/ledger?unit=CGZ&size=2&page=2").get_data(as_text=True)
    assert len(row_refs(second)) == 1 and "河西乡" not in text(second).split("筛选")[-1]
    red = user.get("/ledger?light=red&size=1").get_data(as_text=True)
    assert "共 1 项" in text(red) and "下一页" not in red


def test_api_pages_with_totals_and_links(user: FlaskClient) -> None:
    everything = user.get("/api/ledger").get_json()
    r = user.get("/api/ledger?size=2&page=2")
    assert r.status_code == 200
    assert r.get_json() == everything[2:4]
    assert r.headers["X-Total-Count"] == str(len(everything))
    assert r.headers["X-Page"] == "2"
    assert "page=1" in r.headers["Link"] and 'rel="prev"' in r.headers["Link"]
    unit = user.get("/api/ledger?unit=CGZ&size=2")
    assert unit.headers["X-Total-Count"] == "3" and len(unit.get_json()) == 2
    assert "unit=CGZ" in unit.headers["Link"] and 'rel="next"' in unit.headers["Link"]


def test_bad_page_arguments_are_a_400_in_chinese(user: FlaskClient) -> None:
    for query in ("page=0", "size=0", "size=10000", "page=abc"):
        r = user.get(f"/api/ledger?{query}")
        assert r.status_code == 400 and "页" in r.get_json()["message"], query
    assert user.get("/ledger?page=x").status_code == 400


def test_lean_ledger_rows_judge_every_row_as_row_for_does(rt: Runtime, county: County) -> None:
    """ledger_rows shares one judgement between rows with the same pending milestones; every
    row must still read exactly as row_for judges its assignment, whatever the percentage."""
    with rt.sessions() as s:
        assignments = s.scalars(select(Assignment)).all()
        by_task = Counter(a.task_id for a in assignments)
        task_id = by_task.most_common(1)[0][0]
        assert by_task[task_id] >= 2, "the county needs a task with several units"
        plan = [
            {"name": "摸底", "offset": 8, "percent": 30},
            {"name": "整改", "offset": 3, "percent": 70},
        ]
        same_task = [a for a in assignments if a.task_id == task_id]
        same_task[0].task.plan = plan
        for n, a in enumerate(same_task):
            a.status = "in_progress"
            a.percent = (20, 50, 80)[n % 3]  # below, between and above the milestones
        # Rows off their task's deadline or held for the lead unit's review take another
        # path through the lean judging: they must judge the same.
        others = [a for a in assignments if a.task_id != task_id and not a.period]
        others[0].deadline_override = others[0].task.deadline + dt.timedelta(days=9)
        others[1].status, others[1].review_stage = "reported", LEAD_STAGE
        reported = dt.datetime.combine(rt.today() - dt.timedelta(days=3), dt.time(2))
        others[1].reported_at = reported.replace(tzinfo=dt.UTC)
        s.commit()
        first = row_for(same_task[0], rt.today(), rt.calendar, rt.config.rules)
        days = [m.date + dt.timedelta(days=1) for m in first.milestones]
        days += [first.deadline - dt.timedelta(days=1), rt.today()]
        for today in days:
            lean = ledger_rows(s, today=today, cal=rt.calendar, rules=rt.config.rules)
            slow = {
                a.id: row_for(a, today, rt.calendar, rt.config.rules)
                for a in s.scalars(select(Assignment))
            }
            assert len(lean) == len(slow)
            for row in lean:
                assert row == slow[row.assignment_id], (today, row.assignment_id)
