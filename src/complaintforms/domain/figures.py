"""The figures of the monthly and quarterly statistics reports (DESIGN.md section 8).

One pure function over the cases: no I/O, so an auditor can recompute every figure from the
exported cases and a test can check each one against a count of its own. All dates are
taken in Asia/Shanghai; a case belongs to the period it was received in.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable

from complaintforms.domain.periods import Period
from complaintforms.domain.timeutil import from_iso
from complaintforms.domain.workdays import WorkCalendar
from complaintforms.domain.workflow import callback_due, effective_due, is_overdue

UNCLASSIFIED = "unclassified"  # the key for a case not (yet) given a category or validity
CLOSED_STATES = ("closed", "signed_off", "archived")


def received_month(case: dict) -> str:
    return case["received_at"][:7]  # stored in +08:00, so the text is the Beijing month


def compute(
    cases: Iterable[dict],
    period: Period,
    *,
    as_of: dt.date,
    deadlines: dict[str, int],
    cal: WorkCalendar,
    group_threshold: int = 5,
) -> dict:
    """Every figure of one period. `cases` may hold other periods' cases too: they count only
    towards the previous period's and the same period last year's totals."""
    current, previous_total, last_year_total, voided = _split(cases, period)
    return {
        "period": period.label,
        "as_of": as_of.isoformat(),
        "total": len(current),
        "voided": voided,
        **_counts(current, period),
        **_timeliness(current, as_of, deadlines, cal),
        "closed": sum(1 for c in current if c["status"] in CLOSED_STATES),
        **_satisfaction(current),
        **_callbacks(current, as_of, deadlines, cal),
        **_compensation(current),
        **_supervision(current, group_threshold),
        "departments": _departments(current, as_of, deadlines, cal),
        "previous_period": period.previous().label,
        "previous_period_total": previous_total,
        "same_period_last_year": period.last_year().label,
        "same_period_last_year_total": last_year_total,
        **_lists(current),
    }


def _split(cases: Iterable[dict], period: Period) -> tuple[list[dict], int, int, int]:
    """The period's cases, how many the previous period and the same one last year had, and
    how many of the period's numbers were voided (作废: out of every other figure)."""
    months = set(period.months)
    previous, last_year = set(period.previous().months), set(period.last_year().months)
    current: list[dict] = []
    previous_total = last_year_total = voided = 0
    for case in cases:
        month = received_month(case)
        if case["status"] == "void":
            voided += month in months
        elif month in months:
            current.append(case)
        elif month in previous:
            previous_total += 1
        elif month in last_year:
            last_year_total += 1
    return current, previous_total, last_year_total, voided


def _counts(current: list[dict], period: Period) -> dict:
    def count(key) -> dict:
        return dict(Counter(key(c) for c in current).most_common())

    return {
        "by_kind": count(lambda c: c["kind"]),
        "by_channel": count(lambda c: c["channel"]),
        "by_category": count(lambda c: c.get("category") or UNCLASSIFIED),
        "by_severity": count(lambda c: c["severity"]),
        "by_validity": count(lambda c: c["decision"].get("validity") or UNCLASSIFIED),
        "by_target_type": count(lambda c: c["target"]["type"]),
        "by_department": dict(
            Counter(
                c["target"]["department"] for c in current if c["target"].get("department")
            ).most_common()
        ),
        "by_staff": dict(
            Counter(c["target"]["staff"] for c in current if c["target"].get("staff")).most_common()
        ),
        "by_month": {m: sum(1 for c in current if received_month(c) == m) for m in period.months},
        "accepted": sum(1 for c in current if c["decision"].get("accepted") is True),
        "rejected": sum(1 for c in current if c["decision"].get("accepted") is False),
    }


def _timeliness(
    current: list[dict], as_of: dt.date, deadlines: dict[str, int], cal: WorkCalendar
) -> dict:
    """Resolved on time (by the due date), handling days, and open cases past their due."""
    resolved = [c for c in current if c["handling"].get("resolved_at")]
    on_time = [
        c
        for c in resolved
        if from_iso(c["handling"]["resolved_at"]).date() <= effective_due(c, deadlines, cal)
    ]
    days = [
        cal.workdays_between(
            from_iso(c["received_at"]).date(), from_iso(c["handling"]["resolved_at"]).date()
        )
        for c in resolved
    ]
    overdue = [c for c in current if is_overdue(c, as_of, effective_due(c, deadlines, cal))]
    return {
        "resolved": len(resolved),
        "resolved_on_time": len(on_time),
        "on_time_rate": round(len(on_time) / len(resolved), 4) if resolved else None,
        "handling_days_mean": round(sum(days) / len(days), 2) if days else None,
        "handling_days_max": max(days) if days else None,
        "overdue_open": len(overdue),
        "overdue_cases": [c["case_no"] for c in overdue],
    }


def _satisfaction(current: list[dict]) -> dict:
    """Over the call-backs that reached the complainant: an unreachable one has no
    satisfaction to count."""
    callbacks = [
        c for c in current if c["callback"].get("at") and c["callback"].get("reached") is not False
    ]
    satisfaction = Counter(c["callback"]["satisfaction"] for c in callbacks)
    content = satisfaction["satisfied"] + satisfaction["basically_satisfied"]
    return {
        "callbacks": len(callbacks),
        "satisfaction": {
            k: satisfaction.get(k, 0) for k in ("satisfied", "basically_satisfied", "dissatisfied")
        },
        "satisfaction_rate": round(content / len(callbacks), 4) if callbacks else None,
    }


def _callbacks(
    current: list[dict], as_of: dt.date, deadlines: dict[str, int], cal: WorkCalendar
) -> dict:
    """Call-backs that reached nobody; call-backs made (reached or not) by their deadline;
    resolved cases still waiting for theirs past it."""
    made = [c for c in current if c["callback"].get("at")]
    on_time = [
        c
        for c in made
        if c["handling"].get("resolved_at")
        and from_iso(c["callback"]["at"]).date() <= callback_due(c, deadlines, cal)
    ]
    waiting = [
        c for c in current if c["status"] == "resolved" and callback_due(c, deadlines, cal) < as_of
    ]
    return {
        "callbacks_unreachable": sum(1 for c in made if c["callback"].get("reached") is False),
        "callbacks_on_time": len(on_time),
        "callback_overdue": len(waiting),
    }


def _supervision(current: list[dict], group_threshold: int) -> dict:
    """Repeat and group complaints, extended and sent-back cases (DESIGN.md section 12)."""
    return {
        "repeats": sum(1 for c in current if c.get("repeat_of")),
        "group_complaints": sum(
            1 for c in current if (c.get("complainant_count") or 1) >= group_threshold
        ),
        "extended": sum(1 for c in current if c.get("extensions")),
        "sent_back": sum(1 for c in current if c.get("routing_history")),
    }


def _departments(
    current: list[dict], as_of: dt.date, deadlines: dict[str, int], cal: WorkCalendar
) -> dict:
    """Per department the case is routed to (assignment.department): assigned, resolved,
    resolved on time (by the due date in force), the rates, open cases past due, extended
    and reminded cases; sent_back counts the cases a department sent back (退单), from
    routing_history. Keyed by department code, in code order."""
    rows: dict[str, dict] = {}

    def row(code: str) -> dict:
        return rows.setdefault(
            code,
            {
                "assigned": 0,
                "resolved": 0,
                "resolved_on_time": 0,
                "on_time_rate": None,
                "callbacks": 0,
                "satisfied": 0,
                "satisfaction_rate": None,
                "overdue_open": 0,
                "extended": 0,
                "sent_back": 0,
                "reminded": 0,
            },
        )

    for c in current:
        for past in c.get("routing_history") or []:
            code = (past.get("assignment") or {}).get("department")
            if code:
                row(code)["sent_back"] += 1
        code = c["assignment"].get("department")
        if not code:
            continue
        r = row(code)
        r["assigned"] += 1
        due = effective_due(c, deadlines, cal)
        if c["handling"].get("resolved_at"):
            r["resolved"] += 1
            r["resolved_on_time"] += from_iso(c["handling"]["resolved_at"]).date() <= due
        cb = c["callback"]
        if cb.get("at") and cb.get("reached") is not False:
            r["callbacks"] += 1
            r["satisfied"] += cb.get("satisfaction") in ("satisfied", "basically_satisfied")
        r["overdue_open"] += is_overdue(c, as_of, due)
        r["extended"] += bool(c.get("extensions"))
        r["reminded"] += bool(c.get("reminders"))
    for r in rows.values():
        if r["resolved"]:
            r["on_time_rate"] = round(r["resolved_on_time"] / r["resolved"], 4)
        if r["callbacks"]:
            r["satisfaction_rate"] = round(r["satisfied"] / r["callbacks"], 4)
        del r["callbacks"], r["satisfied"]
    return dict(sorted(rows.items()))


def _compensation(current: list[dict]) -> dict:
    """赔偿 paid (元), in all and by the department that handled the case."""
    by_department: Counter = Counter()
    for c in current:
        paid = c["handling"].get("compensation")
        if isinstance(paid, int | float) and not isinstance(paid, bool):
            by_department[c["assignment"].get("department") or UNCLASSIFIED] += paid
    return {
        "compensation_total": round(sum(by_department.values()), 2),
        "compensation_by_department": {k: round(v, 2) for k, v in by_department.most_common()},
    }


def _lists(current: list[dict]) -> dict:
    """The major cases and the penalties, one entry each (no personal data)."""
    return {
        "major_cases": [
            {
                "case_no": c["case_no"],
                "received": c["received_at"][:10],
                "category": c.get("category"),
                "department": c["target"].get("department") or c["assignment"].get("department"),
                "status": c["status"],
                "summary": c["closure"].get("summary"),
            }
            for c in current
            if c["severity"] == "major"
        ],
        "penalties": [
            {
                "case_no": c["case_no"],
                "type": p["type"],
                "person": p["person"],
                "amount": p.get("amount"),
                "unit": p.get("unit") or "元",
            }
            for c in current
            for p in case_penalties(c)
        ],
    }


def case_penalties(case: dict) -> list[dict]:
    """Every penalty of a case: closure.penalties, or the one closure.penalty of a case
    recorded before there could be several."""
    closure = case["closure"]
    if closure.get("penalties"):
        return closure["penalties"]
    return [closure["penalty"]] if closure.get("penalty") else []


def months_needed(period: Period) -> list[str]:
    """The partitions a report reads: the period, the one before, the same one last year."""
    return sorted({*period.months, *period.previous().months, *period.last_year().months})
