"""KPI scoring and ranking (赶超进位): pure functions of ledger facts, a period and the rules.

Per assignment due in the period (and already due by the evaluation date): on time 100;
late 100 − 10 per late workday, never below 40; still open past its deadline 0. With an
approved extension it is judged against the new deadline but scores at most 90. A key work
may instead score by attainment (how much of a quantified target, or of a recurring duty's
count, was reached: 100 × min(1, reached)) or by a mix of both (`[key_works]`). A unit's
score is the weighted mean over the key works it has items in (each key work's score the
task-weighted mean of its items); townships and departments are ranked separately; ties go
to fewer overdue items, then the earlier last completion.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, NotRequired, TypedDict

from schedules.calendar import WorkCalendar
from schedules.judge import ATTAINED, MIXED, Facts, score
from schedules.rules import ATTAINMENT, MIX, TIMELINESS, Rules


@dataclass(frozen=True)
class Fact:
    """One assignment, as the scorer needs it."""

    assignment_id: int
    task_code: int
    unit_code: str
    weight: float
    deadline: dt.date  # effective: an approved extension's new deadline
    done_on: dt.date | None  # the local date it was reported done
    extended: bool = False
    key_work: str = ""
    work_weight: float = 1.0  # the key work's weight in the unit's score
    # Reached / target (value / target value, or count / times of an occurrence); None when
    # the task has nothing to reach.
    attained: float | None = None
    # The key work's scoring mode as the office's sheet set it; None: the config's.
    work_scoring: str | None = None


@dataclass(frozen=True)
class ItemScore:
    fact: Fact
    score: float
    late_workdays: int
    overdue: bool
    mode: str = TIMELINESS  # how it was scored: timeliness | attainment | mix


def score_item(f: Fact, as_of: dt.date, rules: Rules, cal: WorkCalendar) -> ItemScore | None:
    """None when the item is not yet due (nothing to judge); see `schedules.judge.score`.
    A completion reported after `as_of` is not known on that day, nor in the tie-break."""
    if f.done_on is not None and f.done_on > as_of:
        f = replace(f, done_on=None)
    judged = score(Facts(f.deadline, done_on=f.done_on, extended=f.extended), as_of, rules, cal)
    if judged is None:
        return None
    rule = rules.key_work_rule(f.key_work)
    # The sheet's 计分方式 is the office's latest word on the key work; the config's share
    # of a mix still applies.
    mode = f.work_scoring or rule.scoring
    if mode == TIMELINESS or f.attained is None:
        return ItemScore(f, judged.value, judged.late_workdays, judged.overdue)
    reached = rules.score_on_time * min(1.0, max(0.0, f.attained))
    value = reached
    if mode == MIX:
        value = rule.timeliness_share * judged.value + (1 - rule.timeliness_share) * reached
    return ItemScore(f, round(value, 2), judged.late_workdays, judged.overdue, mode)


@dataclass(frozen=True)
class UnitScore:
    unit_code: str
    score: float
    items: tuple[ItemScore, ...]
    overdue: int
    last_completion: dt.date | None
    # Each key work's score, for the ranking's columns: ((name, score), …) by name.
    by_work: tuple[tuple[str, float], ...] = ()
    # Deductions beyond the items' own (schedules.spot_check.Penalty: unit_code, task_code,
    # kind, points), already taken off `score`.
    penalties: tuple[Any, ...] = ()

    def sort_key(self) -> tuple[float, int, dt.date]:
        return (-self.score, self.overdue, self.last_completion or dt.date.max)


def unit_scores(
    facts: Iterable[Fact],
    start: dt.date,
    end: dt.date,
    as_of: dt.date,
    rules: Rules,
    cal: WorkCalendar,
) -> dict[str, UnitScore]:
    """Scores of units with at least one item due in [start, end] by `as_of`."""
    by_unit: dict[str, list[ItemScore]] = defaultdict(list)
    for f in facts:
        if not start <= f.deadline <= end:
            continue
        s = score_item(
            f, min(as_of, end + dt.timedelta(days=1)) if f.done_on is None else as_of, rules, cal
        )
        if s is not None:
            by_unit[f.unit_code].append(s)
    out = {}
    for unit, scored in by_unit.items():
        works: dict[str, list[ItemScore]] = defaultdict(list)
        for s in scored:
            works[s.fact.key_work].append(s)
        by_work = {name: _mean(items) for name, items in works.items()}
        weights = {
            name: rules.key_work_rule(name).weight or items[0].fact.work_weight
            for name, items in works.items()
        }
        total = sum(weights.values())
        value = sum(by_work[n] * weights[n] for n in works) / total if total else 0.0
        done = [s.fact.done_on for s in scored if s.fact.done_on is not None]
        out[unit] = UnitScore(
            unit,
            round(value, 2),
            tuple(scored),
            sum(1 for s in scored if s.overdue),
            max(done) if done else None,
            tuple(sorted((n, round(v, 2)) for n, v in by_work.items())),
        )
    return out


def _mean(items: list[ItemScore]) -> float:
    """The task-weighted mean of a key work's items."""
    total = sum(s.fact.weight for s in items)
    return sum(s.score * s.fact.weight for s in items) / total if total else 0.0


class Lost(TypedDict):
    """One item that cost a unit points."""

    task: int
    lost: float
    late: int
    overdue: bool
    extended: bool
    mode: NotRequired[str]  # attainment | mix; absent when scored on time
    attained: NotRequired[float]
    penalty: NotRequired[str]  # a deduction's kind (抽查 虚报, 把关不严), not lateness


@dataclass(frozen=True)
class RankRow:
    unit_code: str
    group: str
    score: float
    rank: int
    movement: int | None  # places gained since the previous period; None = new on the board
    red: bool
    black: bool
    black_streak: int  # consecutive periods on the black list, this one included
    # What cost points, as published snapshots keep it.
    lost: tuple[Lost, ...] = field(default=(), compare=False)
    by_work: tuple[tuple[str, float], ...] = field(default=(), compare=False)


def rank_group(
    scores: list[UnitScore],
    group: str,
    rules: Rules,
    previous: Mapping[str, tuple[int, int]],
    names: Mapping[str, str] | None = None,
) -> list[RankRow]:
    """Competition ranking ("1224"); `previous` maps unit → (rank, black streak).

    Tied units share their fate at a list's edge: the red list is every unit ranked within
    the top N, the black list every unit with fewer than N units strictly behind it, and a
    unit that would be on both (everyone tied) is on the red list only. A unit that lost
    no points is never on the black list, however many units share its score.
    """
    # Tied units are listed by their code (`names`), never by a database id's text.
    names = names or {}
    ordered = sorted(
        scores, key=lambda u: (*u.sort_key(), names.get(u.unit_code, u.unit_code), u.unit_code)
    )
    keys = [u.sort_key() for u in ordered]
    rows: list[RankRow] = []
    n = len(ordered)
    red_n, black_n = rules.red_list_size, rules.black_list_size
    if n < red_n + black_n:  # too few units for both lists: halve, never overlap
        red_n, black_n = min(red_n, n // 2), min(black_n, n // 2)
    for i, u in enumerate(ordered):
        rank = i + 1
        if i and ordered[i - 1].sort_key() == u.sort_key():
            rank = rows[-1].rank
        before = previous.get(u.unit_code)
        behind = sum(1 for k in keys if k > keys[i])
        red = rank <= red_n
        black = not red and behind < black_n and u.score < rules.score_on_time
        streak = (before[1] + 1 if before and before[1] > 0 else 1) if black else 0
        lost = tuple(_lost(s, rules) for s in u.items if s.score < rules.score_on_time) + tuple(
            Lost(
                task=p.task_code,
                lost=p.points,
                late=0,
                overdue=False,
                extended=False,
                penalty=p.kind,
            )
            for p in u.penalties
        )
        rows.append(
            RankRow(
                u.unit_code,
                group,
                u.score,
                rank,
                None if before is None else before[0] - rank,
                red,
                black,
                streak,
                lost,
                u.by_work,
            )
        )
    return rows


def _lost(s: ItemScore, rules: Rules) -> Lost:
    out = Lost(
        task=s.fact.task_code,
        lost=rules.score_on_time - s.score,
        late=s.late_workdays,
        overdue=s.overdue,
        extended=s.fact.extended,
    )
    if s.mode in (ATTAINMENT, MIX) and s.fact.attained is not None:
        out["mode"] = ATTAINED if s.mode == ATTAINMENT else MIXED
        out["attained"] = round(s.fact.attained, 4)
    return out


def rank_all(
    scores: Mapping[str, UnitScore],
    groups: Mapping[str, str],
    rules: Rules,
    previous: Mapping[str, tuple[int, int]] | None = None,
    names: Mapping[str, str] | None = None,
) -> dict[str, list[RankRow]]:
    """Townships and departments ranked separately; `groups` maps unit → group and `names`
    unit → the code that orders tied units."""
    previous = previous or {}
    by_group: dict[str, list[UnitScore]] = defaultdict(list)
    for code, s in scores.items():
        group = groups.get(code)
        if group in ("township", "department"):
            by_group[group].append(s)
    return {
        g: rank_group(by_group[g], g, rules, previous, names) for g in ("township", "department")
    }
