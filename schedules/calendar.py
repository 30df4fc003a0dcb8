"""China's working calendar: statutory holidays and make-up workdays (调休).

Sources, in order: `[calendar]` overrides from the config, the `chinese-calendar`
package, and for a year neither covers, Monday–Friday less the fixed-date holidays, with a
loud warning (dashboard and log) so an operator adds the year's notice.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache

import chinese_calendar

log = logging.getLogger(__name__)

ONE_DAY = dt.timedelta(days=1)
# Workday counts are kept as running totals from this day on (see `_cumulative`).
INDEX_BASE = dt.date(2020, 1, 1)
# Fixed-date statutory holidays (全国年节及纪念日放假办法, 2025 revision): known for any
# year even before the State Council publishes that year's 调休 notice.
FIXED_HOLIDAYS = ((1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3))


@cache
def package_years() -> range:
    """Years the installed chinese-calendar package knows."""
    years = sorted(
        {d.year for d in chinese_calendar.holidays} | {d.year for d in chinese_calendar.workdays}
    )
    return range(years[0], years[-1] + 1)


WARNED_YEARS: set[int] = set()


@dataclass
class WorkCalendar:
    holidays: frozenset[dt.date] = frozenset()
    workdays: frozenset[dt.date] = frozenset()
    # Years for which the config's overrides are authoritative even without the package.
    known_years: range = field(default_factory=package_years)
    # Shared by every calendar of the process: the warning is logged once per process, not
    # once per runtime (`duban chat` and the tests build several).
    warned_years: set[int] = field(default_factory=lambda: WARNED_YEARS)
    # Every rule asks about the same few hundred days; answers never change for a calendar.
    _cache: dict[dt.date, bool] = field(default_factory=dict, repr=False, compare=False)
    _index: list[int] = field(default_factory=lambda: [0], repr=False, compare=False)

    @classmethod
    def from_config(
        cls, holidays: Iterable[dt.date] = (), workdays: Iterable[dt.date] = ()
    ) -> WorkCalendar:
        return cls(holidays=frozenset(holidays), workdays=frozenset(workdays))

    def covers(self, year: int) -> bool:
        """Whether holidays for `year` come from real data (package or config)."""
        if year in self.known_years:
            return True
        return any(d.year == year for d in self.holidays)

    def is_workday(self, day: dt.date) -> bool:
        known = self._cache.get(day)
        if known is None:
            known = self._cache[day] = self._is_workday(day)
        return known

    def _is_workday(self, day: dt.date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        if day.year in self.known_years:
            return bool(chinese_calendar.is_workday(day))
        if not self.covers(day.year) and day.year not in self.warned_years:
            self.warned_years.add(day.year)
            log.warning(
                "calendar: no holiday data for %s; falling back to Monday-Friday. "
                "Add the State Council notice to [calendar] holidays/workdays in the config.",
                day.year,
            )
        return day.weekday() < 5 and (day.month, day.day) not in FIXED_HOLIDAYS

    def uncovered_years(self, around: dt.date) -> list[int]:
        """Years near `around` (this one and the next) that fall back to Monday–Friday."""
        return [y for y in (around.year, around.year + 1) if not self.covers(y)]

    def add_workdays(self, day: dt.date, n: int) -> dt.date:
        """The date `n` workdays after `day` (before it when negative); n=0 gives `day` itself."""
        step = ONE_DAY if n >= 0 else -ONE_DAY
        remaining = abs(n)
        while remaining:
            day += step
            if self.is_workday(day):
                remaining -= 1
        return day

    def workdays_between(self, start: dt.date, end: dt.date) -> int:
        """Workdays in (start, end]; when end is before start, minus those in [end, start).

        So `workdays_between(d, add_workdays(d, n)) == n` for every n.
        """
        if end >= start:
            return self._cumulative(end) - self._cumulative(start)
        return -(self._cumulative(start - ONE_DAY) - self._cumulative(end - ONE_DAY))

    def _cumulative(self, day: dt.date) -> int:
        """Workdays in (INDEX_BASE, day]: differences of this answer any range in O(1)."""
        offset = (day - INDEX_BASE).days
        if offset < 0:
            return -sum(1 for i in range(-offset) if self.is_workday(day + (i + 1) * ONE_DAY))
        cum = self._index
        while len(cum) <= offset:
            nxt = INDEX_BASE + len(cum) * ONE_DAY
            cum.append(cum[-1] + (1 if self.is_workday(nxt) else 0))
        return cum[offset]

    def previous_workday_or_same(self, day: dt.date) -> dt.date:
        while not self.is_workday(day):
            day -= ONE_DAY
        return day
