"""Times in the office's zone. China keeps +08:00 all year, so a fixed offset is exact."""

from __future__ import annotations

import datetime as dt
import os

from complaintforms.errors import ValidationError

CST = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")
# A clock skew allowance for "not in the future" checks.
FUTURE_TOLERANCE = dt.timedelta(minutes=5)


def now() -> dt.datetime:
    """The current time in +08:00, second precision.

    COMPLAINTFORMS_NOW (ISO 8601) pins the clock, for reproducible demos and tests.
    """
    pinned = os.environ.get("COMPLAINTFORMS_NOW")
    if pinned:
        return parse_time(pinned, "COMPLAINTFORMS_NOW", allow_future=True)
    return dt.datetime.now(CST).replace(microsecond=0)


def parse_time(
    value: object, field: str, *, allow_future: bool = False, reference: dt.datetime | None = None
) -> dt.datetime:
    """Parse an ISO 8601 time (or 'YYYY-MM-DD HH:MM[:SS]', or a date) into +08:00.

    A naive time is taken as Beijing time; an offset is converted.
    """
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, dt.date):
        parsed = dt.datetime(value.year, value.month, value.day)
    else:
        text = str(value or "").strip()
        if not text:
            raise ValidationError(f"{field}: a time is required")
        try:
            parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValidationError(
                f"{field}: {text!r} is not a valid time (use YYYY-MM-DD HH:MM or ISO 8601)"
            ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=CST)
    parsed = parsed.astimezone(CST).replace(microsecond=0)
    if not allow_future:
        ref = reference or now()
        if parsed > ref + FUTURE_TOLERANCE:
            raise ValidationError(f"{field}: {iso(parsed)} is in the future")
    return parsed


def parse_date(value: object, field: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.astimezone(CST).date()
    if isinstance(value, dt.date):
        return value
    text = str(value or "").strip()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"{field}: {text!r} is not a valid date (use YYYY-MM-DD)") from None


def iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.astimezone(CST).isoformat()


def from_iso(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(CST)


def display(text: str | None) -> str:
    """'2026-11-16 09:30' for forms."""
    if not text:
        return ""
    return from_iso(text).strftime("%Y-%m-%d %H:%M")
