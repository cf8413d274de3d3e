"""Times in the office's zone. China keeps +08:00 all year, so a fixed offset is exact."""

from __future__ import annotations

import datetime as dt
import os
import re
import unicodedata

from complaintforms.errors import ValidationError
from complaintforms.i18n import N_

CST = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")
# A clock skew allowance for "not in the future" checks.
FUTURE_TOLERANCE = dt.timedelta(minutes=5)
NOW_VAR = "COMPLAINTFORMS_NOW"


def now() -> dt.datetime:
    """The current time in +08:00, second precision.

    COMPLAINTFORMS_NOW (ISO 8601) pins the clock, for reproducible demos and tests.
    """
    pinned = os.environ.get(NOW_VAR)
    if pinned:
        try:
            return parse_time(pinned, NOW_VAR, allow_future=True)
        except ValidationError:
            # Named as the variable it is, not as a field of a form (it has no --flag).
            raise ValidationError(
                N_(
                    "{name}: {value} is not a valid time (e.g. 2026-11-16 09:30, "
                    "2026/11/16 9:30, 2026年11月16日 9:30, or ISO 8601)"
                ),
                name=NOW_VAR,
                value=repr(pinned.strip()),
            ) from None
    return dt.datetime.now(CST).replace(microsecond=0)


# The forms a clerk may type (DESIGN.md section 14), after NFKC normalisation (full-width
# digits, colon, slash and space become ASCII). ISO 8601 is tried first, by the standard library.
# The date: 2026-11-16, 2026/11/16, 2026-1-5, 2026年11月16日 (日 or 号).
_DATE = (
    r"(?P<y>\d{4})(?:(?P<sep>[-/])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})"
    r"|\s*年\s*(?P<cm>\d{1,2})\s*月\s*(?P<cd>\d{1,2})\s*[日号])"
)
# The time of day: 9:30, 09:30:15, 9时30分, 9点30分, 9时30分15秒, 9时, 9点30.
_CLOCK = (
    r"(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?"
    r"|(?P<cH>\d{1,2})\s*[时点]\s*(?:(?P<cM>\d{1,2})\s*(?:分\s*(?:(?P<cS>\d{1,2})\s*秒)?)?)?"
)
_DATE_RE = re.compile(_DATE)
# A space or 'T' between date and time; after '日' nothing is needed.
_TIME_RE = re.compile(rf"(?:{_DATE})(?:(?:\s+|(?<=[日号])|T)(?:{_CLOCK}))?")
# (Spelled out again in the messages below, so that each is one whole sentence to translate.)
TIME_FORMS = "e.g. 2026-11-16 09:30, 2026/11/16 9:30, 2026年11月16日 9:30, or ISO 8601"
DATE_FORMS = "e.g. 2026-11-16, 2026/11/16 or 2026年11月16日"


def _normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def _date_of(m: re.Match) -> dt.date:
    day = m.group("d") or m.group("cd")
    return dt.date(int(m.group("y")), int(m.group("m") or m.group("cm")), int(day))


def _parse_text_time(text: str) -> dt.datetime | None:
    """A clerk's time as a (naive or aware) datetime, or None when it is not one."""
    normalised = _normalise(text)
    try:
        return dt.datetime.fromisoformat(normalised.replace("Z", "+00:00"))
    except ValueError:
        pass
    m = _TIME_RE.fullmatch(normalised)
    if not m:
        return None
    try:
        day = _date_of(m)
        hour = m.group("H") or m.group("cH") or 0
        minute_ = m.group("M") or m.group("cM") or 0
        second = m.group("S") or m.group("cS") or 0
        return dt.datetime.combine(day, dt.time(int(hour), int(minute_), int(second)))
    except ValueError:  # 2026-02-30, 25:00
        return None


def minute(value: dt.datetime) -> dt.datetime:
    """`value` truncated to the minute: the precision at which times are shown and compared."""
    return value.replace(second=0, microsecond=0)


def same_or_later_minute(a: dt.datetime, b: dt.datetime) -> bool:
    """Whether `a` is not before `b` as shown on paper: 09:30 is not before 09:30:45."""
    return minute(a) >= minute(b)


def _not_a_time(field: str, text: str) -> ValidationError:
    return ValidationError(
        N_(
            "{field}: {value} is not a valid time (e.g. 2026-11-16 09:30, "
            "2026/11/16 9:30, 2026年11月16日 9:30, or ISO 8601)"
        ),
        field=field,
        value=repr(text),
    )


def parse_time(
    value: object, field: str, *, allow_future: bool = False, reference: dt.datetime | None = None
) -> dt.datetime:
    """Parse a time as a clerk types it into +08:00 (see TIME_FORMS; full-width digits too).

    A naive time is taken as Beijing time; an offset is converted. A date alone means 00:00;
    a time without seconds keeps seconds 0. "Not in the future" is judged at minute precision:
    a time in the current minute (plus FUTURE_TOLERANCE) is never in the future.
    """
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, dt.date):
        parsed = dt.datetime(value.year, value.month, value.day)
    else:
        text = str(value or "").strip()
        if not text:
            raise ValidationError(
                N_(
                    "{field}: a time is required (e.g. 2026-11-16 09:30, 2026/11/16 9:30, "
                    "2026年11月16日 9:30, or ISO 8601)"
                ),
                field=field,
            )
        parsed = _parse_text_time(text)
        if parsed is None:
            raise _not_a_time(field, text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=CST)
    try:
        parsed = parsed.astimezone(CST).replace(microsecond=0)
    except OverflowError:  # 0001-01-01T00:00+14:00: before the first day Python knows
        raise _not_a_time(field, str(value).strip()) from None
    if not allow_future:
        ref = reference or now()
        if minute(parsed) > minute(ref) + FUTURE_TOLERANCE:
            raise ValidationError(
                N_("{field}: {value} is in the future"), field=field, value=iso(parsed)
            )
    return parsed


def parse_date(value: object, field: str) -> dt.date:
    """A date as ISO 8601 or as a clerk types it: 2026/11/16, 2026年11月16日, 2026-1-5."""
    if isinstance(value, dt.datetime):
        return value.astimezone(CST).date()
    if isinstance(value, dt.date):
        return value
    text = str(value or "").strip()
    normalised = _normalise(text)
    try:
        return dt.date.fromisoformat(normalised)
    except ValueError:
        pass
    m = _DATE_RE.fullmatch(normalised)
    try:
        if m:
            return _date_of(m)
    except ValueError:
        pass
    raise ValidationError(
        N_("{field}: {value} is not a valid date (e.g. 2026-11-16, 2026/11/16 or 2026年11月16日)"),
        field=field,
        value=repr(text),
    )


def iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.astimezone(CST).isoformat()


def from_iso(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(CST)


def display(text: str | None) -> str:
    """'2026-11-16 09:30' for forms."""
    if not text:
        return ""
    return from_iso(text).strftime("%Y-%m-%d %H:%M")
