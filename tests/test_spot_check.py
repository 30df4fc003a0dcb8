"""Spot checks: a recorded, repeatable drawing; a failed check reopens the item and costs the
unit (虚报) and the lead unit that passed it (把关不严) in the ranking, with the reason."""

from __future__ import annotations

import datetime as dt
import json
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from bot.cli.rank import rank
from bot.cli.spot_check import spot_check
from bot.config import Config, load_config
from bot.runtime import Runtime
from models import CLOSED, Assignment, AuditLog, Member, Outbox, Task, Unit
from schedules.scoring import UnitScore
from schedules.spot_check import FALSE_REPORT, Penalty, apply_penalties, draw
from tests.conftest import County
from tests.test_handlers import say, status_of

UTC = dt.UTC


@pytest.fixture
def config(db_url: str) -> Config:
    return load_config(
        environ={},
        overrides={"database": {"url": db_url}, "rules": {"lead_review": ["安全生产"]}},
    )


def cli(rt: Runtime, command: Any, *args: str) -> str:
    out = CliRunner().invoke(command, list(args), obj=SimpleNamespace(runtime=rt))
    assert out.exit_code == 0, out.output
    return out.stdout


def scores(rt: Runtime) -> dict[str, tuple[float, list[str]]]:
    data = json.loads(cli(rt, rank, "--json"))
    return {
        r["name"]: (r["score"], [f"#{x['task']} {x['why']} -{x['lost']:g}" for x in r["lost"]])
        for g in data["groups"]
        for r in g["rows"]
    }


@pytest.fixture
def closed_claims(rt: Runtime, county: County) -> None:
    """城关镇 closed #1 on time (23 Nov) and #3 three workdays late (today, 25 Nov), the
    latter passed at 初审 by 县发改局's head."""
    with rt.sessions() as s:
        fgj = s.scalars(select(Unit).where(Unit.code == "FGJ")).one()
        fgj.webhook_keys = ["key-fgj"]
        s.add(Member(userid="fgj_head", name="吴局长", unit=fgj, roles=["head"]))
        t1 = s.scalars(select(Task).where(Task.code == 1)).one()
        t1.deadline = dt.date(2026, 11, 24)
        a1 = t1.assignments[0]
        a1.status, a1.percent = CLOSED, 100
        a1.reported_at = a1.closed_at = dt.datetime(2026, 11, 23, 2, tzinfo=UTC)
        s.commit()
    say(rt, county.liaison_many, "进度 #3 50%")
    say(rt, county.liaison_many, "完成 #3")
    say(rt, "fgj_head", "初审通过 #3")
    say(rt, county.supervisor, "销号 #3 城关镇")
    assert status_of(rt, 3, "CGZ") == CLOSED


def test_failed_spot_check_reopens_and_moves_both_units_scores(
    rt: Runtime, county: County, closed_claims: None
) -> None:
    before = scores(rt)
    assert before["城关镇"][0] == 85.0  # (100 + 70) / 2
    assert "县发改局" not in before  # nothing of its own due this week

    drawn = json.loads(cli(rt, spot_check, "draw", "--size", "5", "--seed", "s1", "--json"))
    # Closed in the last 30 days: 河西乡 #5 (9 Nov), 城关镇 #1 and #3.
    assert drawn["population"] == 3 and drawn["reproduced"] is True
    assert sorted((i["task"], i["unit_code"]) for i in drawn["items"]) == [
        (1, "CGZ"),
        (3, "CGZ"),
        (5, "HXX"),
    ]
    out = cli(
        rt,
        spot_check,
        "result",
        str(drawn["id"]),
        "3",
        "城关镇",
        "--fail",
        "--note",
        "现场仍有杂物堆放",
    )
    assert "城关镇 扣 10 分，县发改局 扣 5 分" in out
    cli(rt, spot_check, "result", str(drawn["id"]), "1", "CGZ", "--pass")

    assert status_of(rt, 3, "CGZ") == "in_progress"  # reopened
    after = scores(rt)
    # #3 is open and overdue again (0), then 10 off for the false report: (100 + 0) / 2 − 10.
    assert after["城关镇"][0] == 40.0
    assert "#3 抽查发现未完成（虚报完成） -10" in after["城关镇"][1]
    assert after["县发改局"] == (95.0, ["#3 抽查发现未完成，初审把关不严 -5"])
    with rt.sessions() as s:
        told = {
            o.target: o.payload["content"]
            for o in s.scalars(select(Outbox))
            if "抽查" in o.payload["content"]
        }
        assert (
            "虚报完成，扣 10 分" in told["key-cgz"] and "初审把关不严，扣 5 分" in told["key-fgj"]
        )
        log = s.scalars(select(AuditLog).where(AuditLog.action == "spot_check_fail")).one()
        assert log.detail["lead_unit"] == "FGJ" and log.detail["note"] == "现场仍有杂物堆放"
        a = s.scalars(select(Assignment).join(Assignment.task).where(Task.code == 3)).one()
        assert a.closed_at is None and a.percent == 50

    shown = cli(rt, spot_check, "show", str(drawn["id"]))
    assert "随机种子 s1" in shown and "按种子复算结果一致" in shown
    assert (
        "#3 城关镇 整改消防通道占用问题：未通过" in shown
        and "#1 城关镇 开展燃气安全隐患排查：通过" in shown
    )
    refused = CliRunner().invoke(
        spot_check,
        ["result", str(drawn["id"]), "3", "CGZ", "--pass"],
        obj=SimpleNamespace(runtime=rt),
    )
    assert refused.exit_code == 1 and "already failed" in refused.output


def test_unit_without_lead_review_is_deducted_alone(rt: Runtime, county: County) -> None:
    # 河西乡 #5 (河湖长制) was closed without any 初审: only the unit pays.
    drawn = json.loads(cli(rt, spot_check, "draw", "--size", "1", "--seed", "x", "--json"))
    assert [i["task"] for i in drawn["items"]] == [5]
    out = cli(
        rt, spot_check, "result", str(drawn["id"]), "5", "HXX", "--fail", "--note", "台账未更新"
    )
    assert "河西乡 扣 10 分。" in out


def test_drawing_is_repeatable_from_its_seed() -> None:
    ids = list(range(1, 200))
    assert draw(ids, 7, "2026-12") == draw(list(reversed(ids)), 7, "2026-12")
    assert draw(ids, 7, "2026-12") != draw(ids, 7, "2026-13")
    assert len(set(draw(ids, 7, "a"))) == 7 and draw(ids[:3], 7, "a") != []
    assert sorted(draw(ids[:3], 7, "a")) == [1, 2, 3]


def test_penalties_come_off_the_score_and_never_below_zero() -> None:
    base = {"1": UnitScore("1", 100.0, (), 0, None), "2": UnitScore("2", 4.0, (), 1, None)}
    pens = [Penalty(u, 3, FALSE_REPORT, 10.0, dt.date(2026, 11, 25)) for u in ("1", "2", "3")]
    out = apply_penalties(base, pens, 100.0)
    assert (out["1"].score, out["2"].score, out["3"].score) == (90.0, 0.0, 90.0)
    assert out["1"].penalties == (pens[0],)


def test_dashboard_draws_and_records_a_failed_check(
    rt: Runtime, county: County, closed_claims: None
) -> None:
    from tests.test_lead_review import web_login
    from tests.test_web import csrf, text

    head = web_login(rt, "fgj", "fgj_head")  # not a supervisor: sees, cannot act
    assert "<button>随机抽取</button>" not in head.get("/spot-checks").get_data(as_text=True)
    token = csrf(head, "/spot-checks")
    form = {"csrf_token": token, "from": "2026-10-26", "to": "2026-11-25", "size": "5"}
    assert head.post("/spot-checks", data=form).status_code == 403

    office = web_login(rt, "duchashi", county.supervisor)
    token = csrf(office, "/spot-checks")
    form["csrf_token"] = token
    assert office.post("/spot-checks", data=form).status_code == 302
    page = text(office.get("/spot-checks").get_data(as_text=True))
    assert "中抽取 3 项" in page and "按种子复算结果一致" in page and "待复查" in page
    with rt.sessions() as s:
        from models import SpotCheckItem

        item = next(
            i
            for i in s.scalars(select(SpotCheckItem))
            if i.assignment.task.code == 3 and i.assignment.unit.code == "CGZ"
        )
        item_id = item.id
    no_note = {"csrf_token": token, "result": "failed"}
    assert office.post(f"/spot-checks/item/{item_id}", data=no_note).status_code == 400
    failed = {**no_note, "note": "现场仍有杂物堆放"}
    assert office.post(f"/spot-checks/item/{item_id}", data=failed).status_code == 302
    page = text(office.get("/spot-checks").get_data(as_text=True))
    assert "未通过 现场仍有杂物堆放 （城关镇 扣 10 分，县发改局 扣 5 分）" in page
    assert status_of(rt, 3, "CGZ") == "in_progress"
    assert office.post(f"/spot-checks/item/{item_id}", data=failed).status_code == 409


def test_the_notice_carries_the_spot_check_deductions(
    rt: Runtime, county: County, closed_claims: None, tmp_path: Any
) -> None:
    from docx import Document

    from bot.cli.report import report

    drawn = json.loads(cli(rt, spot_check, "draw", "--size", "5", "--seed", "s1", "--json"))
    cli(rt, spot_check, "result", str(drawn["id"]), "3", "CGZ", "--fail", "--note", "未整改")
    path = f"{tmp_path}/n.docx"
    cli(rt, report, "--docx", path)
    doc = Document(path)
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "抽查发现虚报完成、把关不严等扣分2处，已计入得分。" in text
    cells = [c.text for t in doc.tables for row in t.rows for c in row.cells]
    assert "#3 抽查发现未完成，初审把关不严 扣5分" in cells
