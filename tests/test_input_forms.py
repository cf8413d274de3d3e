"""What a clerk may type (DESIGN.md section 14): times, months and quarters as written on paper,
compared at the minute they are shown, and --json after the subcommand as well as before it."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from complaintforms.domain import figures
from complaintforms.domain.periods import Period, parse_month, parse_quarter, quarter_months
from complaintforms.domain.timeutil import (
    CST,
    minute,
    parse_date,
    parse_time,
    same_or_later_minute,
)
from complaintforms.errors import ValidationError

from .test_procedure import accept, register
from .test_register import FULL_CASE

REFERENCE = dt.datetime(2026, 11, 24, 10, 30, 10, tzinfo=CST)


# -- times ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("2026-11-16T09:30:00+08:00", "2026-11-16T09:30:00+08:00"),
        ("2026-11-16T01:30:00Z", "2026-11-16T09:30:00+08:00"),
        ("2026-11-16T02:30:00+01:00", "2026-11-16T09:30:00+08:00"),
        ("2026-11-16 09:30", "2026-11-16T09:30:00+08:00"),
        ("2026-11-16 09:30:15", "2026-11-16T09:30:15+08:00"),
        ("2026-11-16T9:30", "2026-11-16T09:30:00+08:00"),
        ("2026/11/16 9:30", "2026-11-16T09:30:00+08:00"),
        ("2026/11/16 09:30:15", "2026-11-16T09:30:15+08:00"),
        ("2026/11/16", "2026-11-16T00:00:00+08:00"),
        ("2026-11-16", "2026-11-16T00:00:00+08:00"),
        ("2026年11月16日 9:30", "2026-11-16T09:30:00+08:00"),
        ("2026年11月16日9:30", "2026-11-16T09:30:00+08:00"),
        ("2026年11月16日9时30分", "2026-11-16T09:30:00+08:00"),
        ("2026年11月16日 9时30分15秒", "2026-11-16T09:30:15+08:00"),
        ("2026年11月16日 9点30分", "2026-11-16T09:30:00+08:00"),
        ("2026年11月16日 9时", "2026-11-16T09:00:00+08:00"),
        ("2026年11月16日", "2026-11-16T00:00:00+08:00"),
        ("2026年1月5日", "2026-01-05T00:00:00+08:00"),
        ("2026-1-5 9:05", "2026-01-05T09:05:00+08:00"),
        ("2026/1/5 9:05", "2026-01-05T09:05:00+08:00"),
        ("２０２６年１１月１６日　９：３０", "2026-11-16T09:30:00+08:00"),
        ("２０２６／１１／１６ ９：３０", "2026-11-16T09:30:00+08:00"),
        ("２０２６－１１－１６", "2026-11-16T00:00:00+08:00"),
        ("  2026/11/16 9:30  ", "2026-11-16T09:30:00+08:00"),
    ],
)
def test_every_accepted_time_form(typed, expected):
    parsed = parse_time(typed, "--at", reference=REFERENCE)
    assert parsed.isoformat() == expected
    assert parsed.utcoffset() == dt.timedelta(hours=8)


@pytest.mark.parametrize(
    "typed",
    [
        "someday",
        "2026-02-30 10:00",
        "2026/13/01",
        "2026/11-16 9:30",  # mixed separators
        "2026-11-169:30",  # no space between date and time
        "2026/11/16 9:3",
        "2026/11/16 25:00",
        "2026年11月16日 9时70分",
        "2026年11月16",  # no 日
        "11/16/2026",
        "16.11.2026",
    ],
)
def test_bad_times_are_refused_naming_the_field_and_the_forms(typed):
    with pytest.raises(ValidationError) as err:
        parse_time(typed, "--at", reference=REFERENCE)
    message = str(err.value)
    assert message.startswith(f"--at: {typed!r} is not a valid time")
    assert "2026/11/16 9:30" in message and "2026年11月16日 9:30" in message


def test_an_empty_time_is_refused_naming_the_field():
    with pytest.raises(ValidationError, match="^received_at: a time is required"):
        parse_time("  ", "received_at", reference=REFERENCE)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("2026-11-16", dt.date(2026, 11, 16)),
        ("2026/11/16", dt.date(2026, 11, 16)),
        ("2026年11月16日", dt.date(2026, 11, 16)),
        ("2026年1月5日", dt.date(2026, 1, 5)),
        ("2026-1-5", dt.date(2026, 1, 5)),
        ("２０２６年１１月１６日", dt.date(2026, 11, 16)),
    ],
)
def test_every_accepted_date_form(typed, expected):
    assert parse_date(typed, "--as-of") == expected


@pytest.mark.parametrize("typed", ["someday", "2026/02/30", "2026-11-16 09:30", "2026年11月"])
def test_bad_dates_are_refused_naming_the_field(typed):
    with pytest.raises(ValidationError) as err:
        parse_date(typed, "--as-of")
    assert str(err.value).startswith(f"--as-of: {typed!r} is not a valid date")
    assert "2026年11月16日" in str(err.value)


def test_typed_times_reach_the_record(cf):
    case_no = register(cf, received_at="２０２６年１１月１６日 ９：３０")
    assert cf.json("case", "show", case_no)["received_at"] == "2026-11-16T09:30:00+08:00"
    result = accept(cf, case_no, at="2026年11月16日10时05分")
    assert result["case"]["decision"]["at"] == "2026-11-16T10:05:00+08:00"
    other = register(cf, received_at="2026/11/16 9:30")
    result = accept(cf, other, at="2026/11/16 10:00")
    assert result["case"]["decision"]["at"] == "2026-11-16T10:00:00+08:00"


def test_a_bad_typed_time_is_refused_on_the_command_line_with_the_field(cf):
    case_no = register(cf)
    result = cf(
        "case", "accept", case_no, "--department", "SVC", "--by", "吴芳", "--at", "16/11/2026"
    )
    assert result.exit_code == 1
    assert "--at: '16/11/2026' is not a valid time" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


# -- minute precision ----------------------------------------------------------------------------
def test_minute_truncates_seconds_only():
    t = dt.datetime(2026, 11, 16, 9, 30, 45, 123, tzinfo=CST)
    assert minute(t) == dt.datetime(2026, 11, 16, 9, 30, tzinfo=CST)
    assert minute(t).tzinfo is CST


def test_same_or_later_minute():
    stored = dt.datetime(2026, 11, 16, 9, 30, 45, tzinfo=CST)
    typed = dt.datetime(2026, 11, 16, 9, 30, tzinfo=CST)
    assert typed < stored  # what a plain comparison says
    assert same_or_later_minute(typed, stored)
    assert same_or_later_minute(stored, typed)
    assert not same_or_later_minute(dt.datetime(2026, 11, 16, 9, 29, 59, tzinfo=CST), stored)
    # The same instant in another offset is the same minute.
    utc = dt.datetime(2026, 11, 16, 1, 30, tzinfo=dt.UTC)
    assert same_or_later_minute(utc, stored)


def test_a_time_typed_without_seconds_keeps_seconds_zero():
    assert parse_time("2026-11-16 09:30", "--at", reference=REFERENCE).second == 0
    assert parse_time("2026年11月16日9时30分", "--at", reference=REFERENCE).second == 0


def test_not_in_the_future_is_judged_at_the_minute():
    # FUTURE_TOLERANCE is 5 minutes: 10:35 is the last minute allowed at 10:30:10.
    assert parse_time("2026-11-24 10:35:59", "--at", reference=REFERENCE).minute == 35
    assert parse_time("2026/11/24 10:35", "--at", reference=REFERENCE).minute == 35
    with pytest.raises(ValidationError, match="^--at: 2026-11-24T10:36:00.* is in the future"):
        parse_time("2026/11/24 10:36", "--at", reference=REFERENCE)
    assert parse_time("2999/1/1", "--at", allow_future=True).year == 2999
    # The current minute typed while the clock's seconds have run on is never in the future.
    late = dt.datetime(2026, 11, 24, 10, 30, 59, tzinfo=CST)
    assert parse_time("2026/11/24 10:30", "--at", reference=late) <= late


def test_a_step_typed_in_the_minute_of_the_previous_one_is_not_before_it(cf, ws):
    case_no = register(cf, received_at="2026-11-16T09:30:45+08:00")
    result = accept(cf, case_no, at="2026/11/16 9:30")
    assert result["case"]["decision"]["at"] == "2026-11-16T09:30:00+08:00"


def test_a_step_typed_a_minute_before_the_previous_one_is_refused(cf):
    case_no = register(cf, received_at="2026-11-16T09:30:45+08:00")
    result = cf(
        "case", "accept", case_no, "--department", "SVC", "--by", "吴芳", "--at", "2026/11/16 9:29"
    )
    assert result.exit_code == 1 and "before the previous step" in result.stderr


# -- months and quarters -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "typed", ["2026-11", "2026/11", "2026年11月", "２０２６年１１月", "２０２６－１１", " 2026-11 "]
)
def test_every_month_form(typed):
    assert parse_month(typed, "--month") == "2026-11"
    assert Period.parse(typed) == Period("2026-11", ("2026-11",))


def test_a_month_as_printed_on_paper_has_no_leading_zero():
    assert parse_month("2026年1月", "--month") == "2026-01"
    assert parse_month("2026-01", "--month") == "2026-01"


@pytest.mark.parametrize(
    "typed", ["2026-13", "2026-00", "2026-1", "202611", "2026年13月", "11/2026", ""]
)
def test_bad_months_are_refused_naming_the_field(typed):
    with pytest.raises(ValidationError) as err:
        parse_month(typed, "--month")
    assert str(err.value) == f"--month: {typed!r} is not a month like 2026-11 (or 2026年11月)"


@pytest.mark.parametrize(
    "typed",
    [
        "2026Q4",
        "2026q4",
        "2026-Q4",
        "2026-q4",
        "2026 Q4",
        "2026年第四季度",
        "2026年第4季度",
        "2026年四季度",
        "2026年第四季",
        "２０２６Ｑ４",
        "２０２６年第４季度",
    ],
)
def test_every_quarter_form(typed):
    assert parse_quarter(typed, "--quarter") == "2026Q4"
    assert quarter_months(typed, "--quarter") == ["2026-10", "2026-11", "2026-12"]
    period = Period.parse(typed)
    assert period.label == "2026Q4" and period.is_quarter
    assert period.months == ("2026-10", "2026-11", "2026-12")


@pytest.mark.parametrize(
    ("typed", "months"),
    [
        ("2026年第一季度", ["2026-01", "2026-02", "2026-03"]),
        ("2026年二季度", ["2026-04", "2026-05", "2026-06"]),
        ("2026q3", ["2026-07", "2026-08", "2026-09"]),
    ],
)
def test_each_quarter_has_its_months(typed, months):
    assert quarter_months(typed, "--quarter") == months


@pytest.mark.parametrize("typed", ["2026Q5", "2026Q0", "2026年第五季度", "Q4 2026", "2026-11", ""])
def test_bad_quarters_are_refused_naming_the_field(typed):
    with pytest.raises(ValidationError) as err:
        parse_quarter(typed, "quarter")
    assert str(err.value).startswith(f"quarter: {typed!r} is not a quarter like 2026Q4")


def test_the_brief_s_quarter_message():
    with pytest.raises(ValidationError, match=r"^quarter: '2026Q5' is not a quarter like 2026Q4"):
        quarter_months("2026Q5", "quarter")


@pytest.mark.parametrize("typed", ["2026-13", "2026Q5", "someday", "2026"])
def test_a_bad_period_is_refused_naming_the_field(typed):
    with pytest.raises(ValidationError) as err:
        Period.parse(typed, field="report")
    assert str(err.value).startswith(f"report: {typed!r} is not a month (2026-11")
    assert "or a quarter (2026Q4" in str(err.value)


def test_period_keeps_its_api_and_figures_still_exports_it():
    assert figures.Period is Period
    q = Period.parse("2026年第一季度")
    assert q.previous() == Period.parse("2025Q4")
    assert q.last_year() == Period.parse("2025Q1")
    assert q.shifted(3).label == "2025Q4"
    m = Period.parse("2026年1月")
    assert m.label == "2026-01" and not m.is_quarter
    assert m.previous() == Period("2025-12", ("2025-12",))
    assert m.last_year().label == "2025-01"
    assert figures.months_needed(Period.parse("2026q1")) == [
        "2025-01",
        "2025-02",
        "2025-03",
        "2025-10",
        "2025-11",
        "2025-12",
        "2026-01",
        "2026-02",
        "2026-03",
    ]


def test_case_list_takes_a_quarter_as_printed_on_paper(cf):
    register(cf)
    assert len(cf.json("case", "list", "--quarter", "2026年第四季度")) == 1


# -- --json after the subcommand -----------------------------------------------------------------
def test_json_after_the_subcommand(cf):
    new = cf(
        "case", "new", "--from", "-", "--json", input=json.dumps(FULL_CASE, ensure_ascii=False)
    )
    assert new.exit_code == 0, new.stderr
    case_no = json.loads(new.stdout)["case_no"]
    before = cf.json("case", "show", case_no)

    after = cf("case", "show", case_no, "--json")
    assert after.exit_code == 0, after.stderr
    assert json.loads(after.stdout) == before

    middle = cf("case", "--json", "show", case_no)
    assert middle.exit_code == 0, middle.stderr
    assert json.loads(middle.stdout) == before

    listed = cf("case", "list", "--json")
    assert listed.exit_code == 0, listed.stderr
    assert [c["case_no"] for c in json.loads(listed.stdout)] == [case_no]

    both = cf("case", "list", "--json", json_out=True)
    assert json.loads(both.stdout) == json.loads(listed.stdout)


def test_json_after_the_subcommand_of_a_step_with_options(cf):
    case_no = register(cf)
    result = cf(
        "case",
        "accept",
        case_no,
        "--json",
        "--department",
        "SVC",
        "--by",
        "吴芳",
        "--at",
        "2026-11-16 10:00",
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["case"]["status"] == "assigned"


def test_without_json_the_output_is_text(cf):
    case_no = register(cf)
    result = cf("case", "show", case_no)
    assert result.exit_code == 0
    with pytest.raises(json.JSONDecodeError):
        json.loads(result.stdout)


def test_json_as_the_value_of_an_option_or_after_a_separator_is_not_the_flag(cf):
    case_no = register(cf)
    result = cf(
        "case", "reject", case_no, "--reason", "--json", "--by", "吴芳", "--at", "2026-11-16 10:00"
    )
    assert result.exit_code == 0, result.stderr
    with pytest.raises(json.JSONDecodeError):
        json.loads(result.stdout)
    assert cf.json("case", "show", case_no)["decision"]["reason"] == "--json"
    # After `--` it is an argument: here an extra one, a usage error.
    assert cf("case", "list", "--", "--json").exit_code == 2


def test_help_lists_the_global_json_and_subcommands_still_have_help(cf):
    root = cf("--help")
    assert root.exit_code == 0 and "--json" in root.stdout
    for args in (("case", "show", "--help"), ("case", "--help"), ("report", "quarterly", "--help")):
        result = cf(*args)
        assert result.exit_code == 0, (args, result.stderr)
        assert "Usage:" in result.stdout
