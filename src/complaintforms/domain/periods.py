"""Months (2026-11) and quarters (2026Q4): the one parser every command uses.

A clerk may type a period the way it is printed on paper (DESIGN.md section 14):
'2026年11月', '2026年第四季度'. Full-width digits and letters are normalised first (NFKC),
letters are case-insensitive. The canonical forms are '2026-11' and '2026Q4'; that is what is
stored, compared and printed in JSON.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from complaintforms.errors import ValidationError
from complaintforms.i18n import N_

_CN_QUARTERS = {"一": 1, "二": 2, "三": 3, "四": 4}

# '2026-11', '2026/11' (two-digit month), '2026年11月' / '2026年1月' (as printed on paper).
_MONTH = re.compile(r"(\d{4})\s*(?:[-/]\s*(\d{2})|年\s*(\d{1,2})\s*月(?:份)?)")
# '2026Q4', '2026q4', '2026-Q4', '2026 Q4'.
_QUARTER = re.compile(r"(\d{4})\s*-?\s*Q\s*([1-4])")
# '2026年第四季度', '2026年第4季度', '2026年四季度', '2026年第四季'.
_CN_QUARTER = re.compile(r"(\d{4})\s*年\s*第?\s*([1-4一二三四])\s*季度?")


def _normalise(text: object) -> str:
    return unicodedata.normalize("NFKC", str(text or "")).strip().upper()


def _month_or_none(text: str) -> str | None:
    m = _MONTH.fullmatch(text)
    if not m:
        return None
    month = int(m.group(2) or m.group(3))
    if not 1 <= month <= 12:
        return None
    return f"{m.group(1)}-{month:02d}"


def _quarter_or_none(text: str) -> str | None:
    m = _QUARTER.fullmatch(text) or _CN_QUARTER.fullmatch(text)
    if not m:
        return None
    q = m.group(2)
    return f"{m.group(1)}Q{_CN_QUARTERS.get(q) or int(q)}"


def parse_month(text: object, field: str = "month") -> str:
    """'2026-11', '2026/11', '2026年11月' (full-width too) -> '2026-11'."""
    month = _month_or_none(_normalise(text))
    if month is None:
        raise ValidationError(
            N_("{field}: {value} is not a month like 2026-11 (or 2026年11月)"),
            field=field,
            value=repr(text),
        )
    return month


def parse_quarter(text: object, field: str = "quarter") -> str:
    """'2026Q4', '2026q4', '2026-Q4', '2026年第四季度', '2026年第4季度', '2026年四季度'
    -> '2026Q4'."""
    quarter = _quarter_or_none(_normalise(text))
    if quarter is None:
        raise ValidationError(
            N_("{field}: {value} is not a quarter like 2026Q4 (or 2026年第四季度)"),
            field=field,
            value=repr(text),
        )
    return quarter


def months_of_quarter(quarter: str) -> list[str]:
    """The three months of a canonical quarter label: '2026Q4' -> ['2026-10', ..., '2026-12']."""
    year, q = int(quarter[:4]), int(quarter[-1])
    return [f"{year}-{month:02d}" for month in range(3 * q - 2, 3 * q + 1)]


def quarter_months(text: object, field: str = "quarter") -> list[str]:
    """The three months of a quarter typed in any accepted form."""
    return months_of_quarter(parse_quarter(text, field))


@dataclass(frozen=True)
class Period:
    """A month (2026-11) or a quarter (2026Q4)."""

    label: str
    months: tuple[str, ...]

    @classmethod
    def parse(cls, text: object, field: str = "period") -> Period:
        """A month or a quarter in any accepted form; the label is the canonical one."""
        normalised = _normalise(text)
        if quarter := _quarter_or_none(normalised):
            return cls.from_quarter(quarter)
        if month := _month_or_none(normalised):
            return cls(month, (month,))
        raise ValidationError(
            N_(
                "{field}: {value} is not a month (2026-11, 2026年11月) "
                "or a quarter (2026Q4, 2026年第四季度)"
            ),
            field=field,
            value=repr(text),
        )

    @classmethod
    def from_quarter(cls, label: str) -> Period:
        """From a canonical quarter label ('2026Q4')."""
        return cls(label, tuple(months_of_quarter(label)))

    @property
    def is_quarter(self) -> bool:
        return len(self.months) == 3

    def shifted(self, months: int) -> Period:
        """The period `months` earlier (positive) of the same length."""
        year, month = int(self.months[0][:4]), int(self.months[0][5:7])
        index = year * 12 + (month - 1) - months
        if self.is_quarter:
            return Period.from_quarter(f"{index // 12}Q{(index % 12) // 3 + 1}")
        first = f"{index // 12}-{index % 12 + 1:02d}"
        return Period(first, (first,))

    def previous(self) -> Period:
        return self.shifted(3 if self.is_quarter else 1)

    def last_year(self) -> Period:
        return self.shifted(12)


def months_between(first: str, last: str) -> list[str]:
    """Every month from `first` to `last` (YYYY-MM), both included; empty when last < first."""
    year, month = int(first[:4]), int(first[5:7])
    out = []
    while f"{year:04d}-{month:02d}" <= last:
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out
