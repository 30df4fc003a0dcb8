"""The county's rules: one object, read from `[rules]` and `[plans]` by the config and handed
to everything that decides when something is due and how it scores (lights, nudges, scoring,
rankings, chat). Field names are the TOML keys."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

from schedules.recurrence import DEFAULT_SEASONS, MonthDay

# The nudge rules and the order they are applied in among slots at the same time (the
# per-item cap keeps the earliest): what is due today comes before what is merely close.
YELLOW, DUE_MORNING, OVERDUE, ESCALATE, DUE_EVENING = (
    "yellow",
    "due_morning",
    "overdue",
    "escalate",
    "due_evening",
)
RULE_ORDER = (DUE_MORNING, YELLOW, OVERDUE, ESCALATE, DUE_EVENING)

Plan = tuple[Mapping[str, Any], ...]

# How a key work's items score (`[key_works]`): on time (today's rule), by how much of the
# target was reached, or a weighted mix of the two.
TIMELINESS, ATTAINMENT, MIX = "timeliness", "attainment", "mix"
SCORING_MODES = (TIMELINESS, ATTAINMENT, MIX)


@dataclass(frozen=True)
class KeyWorkRule:
    """`[key_works]` "牦牛产业集群" = { weight = 2, scoring = "mix", timeliness_share = 0.4 }."""

    weight: float | None = None  # None: the key work's weight as stored (sheet or CLI)
    scoring: str = TIMELINESS
    timeliness_share: float = 0.5  # of a mix; the rest is attainment


@dataclass(frozen=True)
class Rules:
    timezone: str = "Asia/Shanghai"
    # Lights: yellow within this many workdays of an unmet milestone or the deadline.
    warning_workdays: int = 3
    # Nudges (on workdays, outside quiet hours).
    yellow_nudge_workdays: tuple[int, ...] = (3, 1)
    due_day_time: dt.time = dt.time(9, 0)
    evening_check_time: dt.time = dt.time(16, 30)
    overdue_time: dt.time = dt.time(9, 30)
    escalate_after_workdays: int = 3
    max_nudges_per_item_per_day: int = 2
    quiet_start: dt.time = dt.time(21, 0)
    quiet_end: dt.time = dt.time(8, 0)
    # Rankings.
    ranking_weekday: int = 5  # ISO weekday, 5 = Friday
    ranking_time: dt.time = dt.time(17, 0)
    red_list_size: int = 3
    black_list_size: int = 3
    # Scoring.
    score_on_time: float = 100.0
    score_late_penalty_per_workday: float = 10.0
    score_late_floor: float = 40.0
    score_extension_cap: float = 90.0
    # Two-level review: key works (by name, "*" for all) whose done claims go first to the
    # task's lead unit (牵头单位) for 初审, then to the office for 销号.
    lead_review: tuple[str, ...] = ()
    # Key works (by name, "*" for all) whose done claims need photos or files (佐证材料);
    # a task's own setting wins.
    evidence_required: tuple[str, ...] = ()
    # A claim waiting this many workdays at either review step nudges its reviewers.
    review_nudge_workdays: int = 2
    # Spot checks (抽查): a closed item found not done costs its unit (虚报) and the lead unit
    # that passed its claim (把关不严) these points, in the period the check failed.
    spot_check_false_report_points: float = 10.0
    spot_check_lax_review_points: float = 5.0
    # After a publication each black-listed unit must hand in its self-examination (检视)
    # within this many workdays, as a ledger item of its own (0 turns it off).
    self_review_workdays: int = 5
    # A period with fewer items due so far than this is said to be thin (a month on its 2nd
    # day): pages, `duban rank` and the sheet say so and point to the last published period.
    thin_period_items: int = 5
    # Chat: how long a numbered question waits for its answer.
    pick_ttl_seconds: int = 600
    # 倒排工期 templates per key work (`[plans]`): milestones for tasks without their own.
    plans: Mapping[str, Plan] = field(default_factory=lambda: MappingProxyType({}))
    # Season windows of recurring duties (`[seasons]`): name -> ((month, day), (month, day)).
    seasons: Mapping[str, tuple[MonthDay, MonthDay]] = field(
        default_factory=lambda: MappingProxyType(dict(DEFAULT_SEASONS))
    )

    # Per key work scoring and weight (`[key_works]`); a key work not named scores on time.
    key_works: Mapping[str, KeyWorkRule] = field(default_factory=lambda: MappingProxyType({}))

    def key_work_rule(self, name: str) -> KeyWorkRule:
        return self.key_works.get(name) or KeyWorkRule()

    def lead_review_on(self, key_work: str) -> bool:
        return "*" in self.lead_review or key_work in self.lead_review

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def local(self, moment: dt.datetime) -> dt.datetime:
        return moment.astimezone(self.tz)

    def local_day(self, moment: dt.datetime) -> dt.date:
        return moment.astimezone(self.tz).date()

    def slot_times(self) -> dict[str, dt.time]:
        return {
            YELLOW: self.due_day_time,
            DUE_MORNING: self.due_day_time,
            OVERDUE: self.overdue_time,
            ESCALATE: self.overdue_time,
            DUE_EVENING: self.evening_check_time,
        }

    def slots(self) -> list[tuple[dt.time, str]]:
        """Every nudge rule's slot of a day, in the order they are applied."""
        times = self.slot_times()
        return sorted(
            ((times[r], r) for r in RULE_ORDER), key=lambda s: (s[0], RULE_ORDER.index(s[1]))
        )

    def quiet(self, t: dt.time) -> bool:
        """Whether `t` falls in quiet hours [start, end), which may wrap past midnight."""
        start, end = self.quiet_start, self.quiet_end
        if start == end:
            return False  # no quiet hours
        if start < end:
            return start <= t < end
        return t >= start or t < end
