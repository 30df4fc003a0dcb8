"""Key works: weights in a unit's score, and scoring by timeliness, attainment or a mix."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from types import MappingProxyType

import pytest
from sqlalchemy import select

from bot.config import ConfigError, load_config
from bot.runtime import Runtime
from handlers.render import reason_text
from models import Assignment, KeyWork, Task, Unit
from schedules.board import stored
from schedules.calendar import WorkCalendar
from schedules.rules import KeyWorkRule, Rules
from schedules.scoring import Fact, rank_all, unit_scores
from tests.conftest import County
from tests.factories import freeze

CAL = WorkCalendar()
D = dt.date
START, END = D(2026, 11, 1), D(2026, 11, 30)
AS_OF = D(2026, 12, 1)
RULES = dataclasses.replace(
    Rules(),
    key_works=MappingProxyType(
        {
            "牦牛产业集群": KeyWorkRule(2.0, "attainment"),
            "一网通办": KeyWorkRule(None, "mix", 0.4),
        }
    ),
)


def fact(i: int, work: str, done: dt.date | None, attained: float | None = None) -> Fact:
    # Due Friday 20 November; done on the 24th is two workdays late (80 on time's scale).
    return Fact(i, i, "A", 1.0, D(2026, 11, 20), done, False, work, 1.0, attained)


def test_attainment_scores_what_was_reached_and_weights_mix_key_works() -> None:
    facts = [fact(1, "安全生产", D(2026, 11, 20)), fact(2, "牦牛产业集群", None, 0.64)]
    unit = unit_scores(facts, START, END, AS_OF, RULES, CAL)["A"]
    # 安全生产 on time: 100 (weight 1); 牦牛 open but 64% of the target: 64 (weight 2).
    assert unit.by_work == (("安全生产", 100.0), ("牦牛产业集群", 64.0))
    assert unit.score == pytest.approx((100 * 1 + 64 * 2) / 3, abs=0.01)
    # The same facts scored on time alone (no [key_works]): the open item is 0.
    plain = unit_scores(facts, START, END, AS_OF, Rules(), CAL)["A"]
    assert plain.score == 50.0


def test_mix_weighs_timeliness_and_attainment_and_says_so() -> None:
    facts = [fact(1, "一网通办", D(2026, 11, 24), 0.5)]
    unit = unit_scores(facts, START, END, AS_OF, RULES, CAL)["A"]
    assert unit.score == pytest.approx(0.4 * 80 + 0.6 * 50)
    row = rank_all({"A": unit}, {"A": "township"}, RULES)["township"][0]
    (lost,) = row.lost
    assert lost["mode"] == "mix" and lost["late"] == 2
    assert reason_text(lost) == "按时效和目标完成度综合计分，完成50%，逾期2个工作日"
    yak = unit_scores([fact(2, "牦牛产业集群", None, 0.64)], START, END, AS_OF, RULES, CAL)
    (lost,) = rank_all(yak, {"A": "township"}, RULES)["township"][0].lost
    assert reason_text(lost) == "按目标完成度计分，完成64%"


def test_a_key_work_without_a_target_scores_on_time_whatever_its_mode() -> None:
    facts = [fact(1, "牦牛产业集群", D(2026, 11, 24))]
    assert unit_scores(facts, START, END, AS_OF, RULES, CAL)["A"].score == 80.0


def test_key_works_are_configured(tmp_path: Path) -> None:
    path = tmp_path / "duban.toml"
    path.write_text(
        '[key_works]\n"一网通办" = { scoring = "mix", timeliness_share = 0.4 }\n', encoding="utf-8"
    )
    rules = load_config(path, environ={}).rules
    assert rules.key_work_rule("一网通办") == KeyWorkRule(None, "mix", 0.4)
    assert rules.key_work_rule("安全生产") == KeyWorkRule()
    path.write_text('[key_works]\n"一网通办" = { scoring = "speed" }\n', encoding="utf-8")
    with pytest.raises(ConfigError):
        load_config(path, environ={})


def test_the_ranking_shows_each_key_works_score(
    rt: Runtime, county: County, tmp_path: Path
) -> None:
    from openpyxl import load_workbook

    from bot.excel.ranking import export_ranking

    with rt.sessions() as s:
        kw = KeyWork(name="牦牛产业集群", weight=2.0)
        hxx = s.scalar(select(Unit).where(Unit.code == "HXX"))
        task = Task(
            code=12,
            key_work=kw,
            content="牦牛出栏",
            deadline=D(2026, 11, 20),
            target_value=5000,
            target_unit="头",
        )
        s.add(Assignment(task=task, unit=hxx, value=3200.0, percent=64))
        s.flush()
        rt.config = dataclasses.replace(rt.config, rules=RULES)
        freeze(s, rt, "month", START, END, AS_OF)
        s.commit()
        board = stored(s, "month", START, END)
        assert board is not None
        row = board.row_for(hxx.id)
        assert row is not None and dict(row.by_work)["牦牛产业集群"] == 64.0
        path = export_ranking(board, str(tmp_path / "rank.xlsx"), AS_OF)
    rows = list(load_workbook(path)["乡镇"].iter_rows(min_row=2, values_only=True))
    header = rows[0]
    assert "牦牛产业集群" in header and "河湖长制" in header
    hxx_row = next(r for r in rows[1:] if r[1] == "河西乡")
    assert hxx_row[header.index("牦牛产业集群")] == 64
    assert "按目标完成度计分，完成64%" in hxx_row[5]
