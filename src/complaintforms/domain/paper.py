"""How values read on paper (DESIGN.md section 14): 2026年11月16日, 2026年第四季度, 2026年11月.

Stored values keep ISO 8601 and the codes of section 3; only what is printed is spelled this
way. Pure functions, no I/O.
"""

from __future__ import annotations

import datetime as dt
import re

from complaintforms.domain.timeutil import from_iso

_QUARTERS = "一二三四"


def _as_date(value: str | dt.date) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if len(value) == 10:
        return dt.date.fromisoformat(value)
    return from_iso(value).date()


def cn_date(value: str | dt.date | None) -> str:
    """'2026-11-16' or an ISO time -> '2026年11月16日' ('' for nothing)."""
    if not value:
        return ""
    day = _as_date(value)
    return f"{day.year}年{day.month}月{day.day}日"


def cn_datetime(value: str | None) -> str:
    """An ISO time -> '2026年11月16日 09:30' in Beijing time."""
    if not value:
        return ""
    when = from_iso(value)
    return f"{when.year}年{when.month}月{when.day}日 {when:%H:%M}"


def cn_period(label: str) -> str:
    """'2026Q4' -> '2026年第四季度', '2026-11' -> '2026年11月', '2026-11-24' -> '2026年11月24日';
    anything else is printed as it is."""
    text = (label or "").strip()
    if m := re.fullmatch(r"(\d{4})[Qq]([1-4])", text):
        return f"{m.group(1)}年第{_QUARTERS[int(m.group(2)) - 1]}季度"
    if m := re.fullmatch(r"(\d{4})-(\d{2})", text):
        return f"{m.group(1)}年{int(m.group(2))}月"
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return cn_date(text)
    return text


def cn_month(month: str) -> str:
    """'2026-11' -> '11月', for the columns of a trend within one period."""
    return f"{int(month[5:7])}月"


def money(amount: object, unit: str | None = None) -> str:
    """A penalty or compensation as printed: a number gets its unit (元, or a penalty kind's
    own such as 分), a text stays as it is."""
    if isinstance(amount, bool) or amount is None or amount == "":
        return ""
    if isinstance(amount, int | float):
        return f"{amount:,.2f}".rstrip("0").rstrip(".") + f" {unit or '元'}"
    return str(amount)
