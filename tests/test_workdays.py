"""Due dates in Chinese working days (DESIGN.md section 8)."""

from __future__ import annotations

import datetime as dt

from complaintforms.domain.workdays import WorkCalendar

D = dt.date


def test_design_examples():
    cal = WorkCalendar()
    assert cal.add_workdays(D(2026, 11, 16), 3) == D(2026, 11, 19)  # Monday complaint
    assert cal.add_workdays(D(2026, 9, 30), 3) == D(
        2026, 10, 10
    )  # the make-up Saturday after National Day
    assert cal.add_workdays(D(2026, 11, 20), 1) == D(2026, 11, 23)  # Friday inquiry
    assert cal.warnings == []


def test_years_past_the_calendar_data_fall_back_with_a_warning():
    cal = WorkCalendar(extra_holidays=frozenset({D(2027, 1, 1)}))
    assert cal.add_workdays(D(2026, 12, 30), 7) == D(2027, 1, 11)
    assert len(cal.warnings) == 1 and "2027" in cal.warnings[0]


def test_config_lists_override_the_official_calendar():
    off = frozenset({D(2026, 11, 17), D(2026, 11, 18)})
    assert WorkCalendar(extra_holidays=off).add_workdays(D(2026, 11, 16), 3) == D(2026, 11, 23)
    cal = WorkCalendar(extra_holidays=off, extra_workdays=frozenset({D(2026, 11, 21)}))
    assert cal.add_workdays(D(2026, 11, 16), 3) == D(2026, 11, 21)  # a Saturday made a workday


def test_january_first_never_crashes():
    cal = WorkCalendar()
    assert (
        cal.is_workday(D(2027, 1, 1)) is True
    )  # no data, no config: Friday counts, with a warning
    assert cal.warnings


def test_handling_days_across_national_day():
    cal = WorkCalendar()
    assert cal.workdays_between(D(2026, 9, 30), D(2026, 10, 10)) == 3
    assert cal.workdays_between(D(2026, 11, 16), D(2026, 11, 16)) == 0
