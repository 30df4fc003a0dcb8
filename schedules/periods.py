"""Evaluation periods: which deadlines a publication judges. Pure functions of dates.

A ledger row is judged once its deadline has passed. A period is therefore published only
after its last day: the weekly ranking on the ranking weekday covers the deadlines since
the previous weekly publication up to the day before (normally the seven days Friday to
Thursday, two weeks after a holiday skipped a publication), and the monthly evaluation is
published on the first workday of the next month. Consecutive windows neither overlap nor
leave gaps, so no item escapes judgement by falling due on the publication day, a weekend
or the month's end (``9月底`` is the most common deadline there is).
"""

from __future__ import annotations

import datetime as dt

from schedules.calendar import WorkCalendar

ONE_DAY = dt.timedelta(days=1)


# After a longer outage the weekly window restarts at seven days rather than judging months
# of deadlines in one "week"; the monthly evaluation covers those months anyway.
MAX_CATCH_UP = dt.timedelta(days=28)


def calendar_week(day: dt.date) -> tuple[dt.date, dt.date]:
    """Monday to Sunday around `day`."""
    start = day - dt.timedelta(days=day.weekday())
    return start, start + dt.timedelta(days=6)


def calendar_month(day: dt.date) -> tuple[dt.date, dt.date]:
    start = day.replace(day=1)
    nxt = (start + dt.timedelta(days=32)).replace(day=1)
    return start, nxt - ONE_DAY


def previous_month(day: dt.date) -> tuple[dt.date, dt.date]:
    return calendar_month(day.replace(day=1) - ONE_DAY)


def publication_day(day: dt.date, weekday: int) -> dt.date:
    """The first day on or after `day` that falls on ISO `weekday` (1 = Monday)."""
    return day + dt.timedelta(days=(weekday - day.isoweekday()) % 7)


def week_window(publish_day: dt.date, last_end: dt.date | None) -> tuple[dt.date, dt.date]:
    """Deadlines a weekly publication on `publish_day` judges: from the day after the
    previous weekly window (`last_end`) to the day before publication."""
    end = publish_day - ONE_DAY
    if last_end is not None and end - MAX_CATCH_UP <= last_end < end:
        return last_end + ONE_DAY, end
    return end - dt.timedelta(days=6), end


def due_week(publish_day: dt.date, last_end: dt.date | None) -> tuple[dt.date, dt.date] | None:
    """The window to publish on `publish_day`, or None when it is already published."""
    if last_end is not None and last_end >= publish_day - ONE_DAY:
        return None
    return week_window(publish_day, last_end)


def open_week(
    today: dt.date, weekday: int, last_end: dt.date | None
) -> tuple[dt.date, dt.date, dt.date]:
    """The weekly window not yet published, for live standings: (start, end, publication)."""
    publish = publication_day(today, weekday)
    if last_end is not None and last_end >= publish - ONE_DAY:
        publish = publication_day(last_end + 2 * ONE_DAY, weekday)
    start, end = week_window(publish, last_end)
    return start, end, publish


# A month's evaluation missed on the first workday (the bot down) is still published on one of
# the next few workdays; later than that it is old news, left to `duban rank --publish`.
MONTH_CATCH_UP = 5


def workday_of_month(day: dt.date, cal: WorkCalendar) -> int:
    """1 on a month's first workday, 2 on its second …; 0 on a non-workday."""
    if not cal.is_workday(day):
        return 0
    return cal.workdays_between(day.replace(day=1) - ONE_DAY, day)


def due_month(
    day: dt.date, cal: WorkCalendar, last_end: dt.date | None = None
) -> tuple[dt.date, dt.date] | None:
    """The month whose evaluation is published on `day`: the previous calendar month, on the
    first workday of the next one — or, if the bot was down that day, on the first workday
    it runs within MONTH_CATCH_UP workdays; `last_end` is the last published month's end."""
    start, end = previous_month(day)
    if last_end is not None and last_end >= end:
        return None
    n = workday_of_month(day, cal)
    return (start, end) if 1 <= n <= MONTH_CATCH_UP else None
