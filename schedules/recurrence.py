"""Recurring duties (常态化工作): which occurrence of a duty is due on a day, and by when.

A duty recurs every day, week (ISO, Monday–Sunday), month, quarter, half-year (1–6月,
7–12月) or year, `times` times per period, optionally only inside a season window (汛期
6月1日–9月30日, 森林防火期 as the county sets it in `[seasons]`). Each occurrence is one
period clipped to the season; its deadline is the last workday of that clipped period (so
9月 of a monthly duty is due on 9月30日, and a month ending inside 国庆 is due on the last
workday before the holiday). A daily duty recurs on workdays only (调休 Saturdays included),
and a period without any workday (a week wholly inside 春节) has no occurrence, unless the
duty says otherwise: flood reports are filed by the office on workdays, weekend and holiday
duty is the duty roster's business, not a nudge's.

Pure functions of dates, the rule and the calendar; the key of an occurrence (``2026-06``,
``2026-Q3``, ``2026-H2``, ``2026-Y``, ``2026-W23``, ``2026-06-15``) is what makes
materializing it idempotent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from schedules.calendar import WorkCalendar

ONE_DAY = dt.timedelta(days=1)
DAY, WEEK, MONTH, QUARTER = "day", "week", "month", "quarter"
HALF_YEAR, YEAR = "halfyear", "year"
EVERY = (DAY, WEEK, MONTH, QUARTER, HALF_YEAR, YEAR)

MonthDay = tuple[int, int]
# Default windows; `[seasons]` in the config replaces or adds to them per county.
DEFAULT_SEASONS: Mapping[str, tuple[MonthDay, MonthDay]] = {
    "汛期": ((6, 1), (9, 30)),
    "森林防火期": ((1, 1), (5, 31)),
}


class RecurrenceError(ValueError):
    """A stored or imported recurrence that cannot be read (an unknown period or season)."""


@dataclass(frozen=True)
class Season:
    name: str
    start: MonthDay
    end: MonthDay  # inclusive; before `start` for a window across the new year (10-01..05-31)

    def contains(self, day: dt.date) -> bool:
        md = (day.month, day.day)
        if self.start <= self.end:
            return self.start <= md <= self.end
        return md >= self.start or md <= self.end


@dataclass(frozen=True)
class Recurrence:
    every: str
    times: int = 1
    season: str | None = None
    # Reported on workdays: a daily duty skips non-workdays, and a period without a
    # workday (a week inside 春节 or 国庆) has no occurrence — it could only ever be nudged
    # once it was already late.
    workdays_only: bool = True

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Recurrence:
        every = str(raw.get("every", ""))
        if every not in EVERY:
            raise RecurrenceError(f"unknown period {every!r}")
        times = int(raw.get("times") or 1)
        if times < 1:
            raise RecurrenceError(f"times must be at least 1, got {times}")
        season = raw.get("season") or None
        return cls(every, times, str(season) if season else None, bool(raw.get("workdays", True)))

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"every": self.every, "times": self.times, "season": self.season}
        if not self.workdays_only:
            out["workdays"] = False
        return out


@dataclass(frozen=True)
class Occurrence:
    key: str
    start: dt.date  # first day of the period inside the season
    end: dt.date  # last day of the period inside the season
    deadline: dt.date  # last workday in [start, end], or `end` when there is none
    times: int


def season_of(rec: Recurrence, seasons: Mapping[str, tuple[MonthDay, MonthDay]]) -> Season | None:
    if rec.season is None:
        return None
    window = seasons.get(rec.season)
    if window is None:
        raise RecurrenceError(f"unknown season {rec.season!r}")
    return Season(rec.season, window[0], window[1])


def period(every: str, day: dt.date) -> tuple[dt.date, dt.date, str]:
    """The calendar period of `every` containing `day`: (first day, last day, key)."""
    if every == DAY:
        return day, day, day.isoformat()
    if every == WEEK:
        start = day - dt.timedelta(days=day.weekday())
        year, week, _ = day.isocalendar()
        return start, start + 6 * ONE_DAY, f"{year}-W{week:02d}"
    if every == MONTH:
        start = day.replace(day=1)
        end = (start + dt.timedelta(days=32)).replace(day=1) - ONE_DAY
        return start, end, f"{day.year}-{day.month:02d}"
    if every == QUARTER:
        q = (day.month - 1) // 3
        start = dt.date(day.year, 3 * q + 1, 1)
        end = (dt.date(day.year + 1, 1, 1) if q == 3 else dt.date(day.year, 3 * q + 4, 1)) - ONE_DAY
        return start, end, f"{day.year}-Q{q + 1}"
    if every == HALF_YEAR:
        if day.month <= 6:
            return dt.date(day.year, 1, 1), dt.date(day.year, 6, 30), f"{day.year}-H1"
        return dt.date(day.year, 7, 1), dt.date(day.year, 12, 31), f"{day.year}-H2"
    if every == YEAR:
        return dt.date(day.year, 1, 1), dt.date(day.year, 12, 31), f"{day.year}-Y"
    raise RecurrenceError(f"unknown period {every!r}")


def _occurrence(
    rec: Recurrence, day: dt.date, season: Season | None, cal: WorkCalendar
) -> Occurrence | None:
    """The occurrence of the period containing `day`, or None when that period has none."""
    start, end, key = period(rec.every, day)
    days = [start + i * ONE_DAY for i in range((end - start).days + 1)]
    if season is not None:
        days = [d for d in days if season.contains(d)]
    if rec.every == DAY and rec.workdays_only:
        days = [d for d in days if cal.is_workday(d)]
    work = [d for d in days if cal.is_workday(d)]
    if not days or (rec.workdays_only and not work):
        return None
    return Occurrence(key, days[0], days[-1], work[-1] if work else days[-1], rec.times)


def occurrence_on(
    rec: Recurrence,
    day: dt.date,
    cal: WorkCalendar,
    seasons: Mapping[str, tuple[MonthDay, MonthDay]] = DEFAULT_SEASONS,
) -> Occurrence | None:
    """The occurrence running on `day`: its clipped period contains `day`; None outside the
    season (or on a non-workday for a workday duty)."""
    season = season_of(rec, seasons)
    if season is not None and not season.contains(day):
        # A year clipped by a season across the new year (森林防火期 10月–5月) keeps both of
        # its parts in one occurrence; the summer between them is still out of season.
        return None
    occ = _occurrence(rec, day, season, cal)
    return occ if occ is not None and occ.start <= day <= occ.end else None


def occurrences(
    rec: Recurrence,
    start: dt.date,
    end: dt.date,
    cal: WorkCalendar,
    seasons: Mapping[str, tuple[MonthDay, MonthDay]] = DEFAULT_SEASONS,
) -> Iterator[Occurrence]:
    """Every occurrence whose clipped period meets [start, end], in date order."""
    season = season_of(rec, seasons)
    day = start
    while day <= end:
        _, p_end, _ = period(rec.every, day)
        occ = _occurrence(rec, day, season, cal)
        if occ is not None and occ.end >= start and occ.start <= end:
            yield occ
        day = p_end + ONE_DAY


def current_or_next(
    rec: Recurrence,
    day: dt.date,
    cal: WorkCalendar,
    seasons: Mapping[str, tuple[MonthDay, MonthDay]] = DEFAULT_SEASONS,
    horizon_days: int = 400,
) -> Occurrence | None:
    """The occurrence running on `day`, else the next one to start (a season's first) within
    `horizon_days`; None when the rule never occurs in that horizon."""
    for occ in occurrences(rec, day, day + dt.timedelta(days=horizon_days), cal, seasons):
        if occ.end >= day:
            return occ
    return None
