"""Chinese working days: official holidays and 调休 make-up workdays, plus the config's lists.

The official calendar comes from `chinesecalendar`, which knows a fixed range of years
(1.11: 2004-2026) and raises for others. Outside that range a day is a working day when it
is Monday to Friday, or listed in extra_workdays, and not listed in extra_holidays; the
caller gets a warning naming the year, never a crash.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from complaintforms.errors import Notice
from complaintforms.i18n import N_


@dataclass
class WorkCalendar:
    extra_holidays: frozenset[dt.date] = frozenset()
    extra_workdays: frozenset[dt.date] = frozenset()
    warnings: list[str] = field(default_factory=list)
    _outside_years: set[int] = field(default_factory=set)
    # Reports and lists ask about the same days, and the same due dates, again and again.
    _memo: dict[dt.date, bool] = field(default_factory=dict)
    _due_memo: dict[tuple[dt.date, int], dt.date] = field(default_factory=dict)

    def is_workday(self, day: dt.date) -> bool:
        cached = self._memo.get(day)
        if cached is None:
            cached = self._memo[day] = self._is_workday(day)
        return cached

    def _is_workday(self, day: dt.date) -> bool:
        if day in self.extra_holidays:
            return False
        if day in self.extra_workdays:
            return True
        official = _official_is_workday(day)
        if official is not None:
            return official
        if day.year not in self._outside_years:
            self._outside_years.add(day.year)
            self.warnings.append(
                Notice(
                    N_(
                        "{year} is outside the official holiday calendar data; counting "
                        "Monday-Friday plus calendar.extra_holidays / extra_workdays "
                        "from the config"
                    ),
                    year=day.year,
                )
            )
        return day.weekday() < 5

    def add_workdays(self, start: dt.date, n: int) -> dt.date:
        """The n-th working day strictly after `start` (n >= 1)."""
        if n < 1:
            raise ValueError("n must be at least 1")
        cached = self._due_memo.get((start, n))
        if cached is not None:
            return cached
        day, counted = start, 0
        while counted < n:
            day += dt.timedelta(days=1)
            if self.is_workday(day):
                counted += 1
        self._due_memo[(start, n)] = day
        return day

    def workdays_between(self, start: dt.date, end: dt.date) -> int:
        """Working days after `start` up to and including `end` (0 when end <= start)."""
        count, day = 0, start
        while day < end:
            day += dt.timedelta(days=1)
            if self.is_workday(day):
                count += 1
        return count


def _official_is_workday(day: dt.date) -> bool | None:
    import chinese_calendar

    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return None


def calendar_from(
    extra_holidays: Iterable[dt.date], extra_workdays: Iterable[dt.date]
) -> WorkCalendar:
    return WorkCalendar(frozenset(extra_holidays), frozenset(extra_workdays))
