"""The desk (DESIGN.md section 11, `GET /`): what a clerk, a manager or a department looks at
first in the morning, and the manager's supervision overview (section 12).

Plain dicts, no presentation: each list is of `row`s (case number, status, due date in force,
working days overdue, the complainant as the viewer may see them...). Only the cases still
open are read: `store.iter_records(statuses=...)` skips the months that hold none, so at
100,000 stored cases a desk reads the one or two months of this season's open cases, not
every month ever received.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from complaintforms.config import Config
from complaintforms.documents.forms import complainant_view, department_name
from complaintforms.domain import workflow
from complaintforms.domain.timeutil import from_iso
from complaintforms.domain.timeutil import now as clock_now
from complaintforms.domain.workdays import WorkCalendar
from complaintforms.workspace import Workspace

# The statuses a desk looks at: waiting for a decision or a result, or for the call-back.
OPEN_STATUSES = ("registered", "assigned", "resolved")
# The forms whose issue means that the case is out with its department on paper.
ROUTING_FORMS = ("feedback_slip", "contact_letter")
# The lists of a desk, in the order shown; a department's desk has only its own three.
LISTS = ("due_today", "overdue", "awaiting_decision", "awaiting_slip", "awaiting_return",
         "awaiting_callback")
DEPARTMENT_LISTS = ("due_today", "overdue", "awaiting_return")
LIST_LIMIT = 50


def _when(value: str | None) -> dt.datetime | None:
    return from_iso(value) if value else None


def round_started(case: dict) -> dt.datetime | None:
    """When the case's current routing round began: its acceptance, or its last reopening
    (a reopened case goes back to its department, and needs its slip again)."""
    times = [_when(case["decision"].get("at"))]
    times += [_when(r.get("at")) for r in case.get("reopens") or [] if isinstance(r, dict)]
    times = [t for t in times if t is not None]
    return max(times) if times else None


def slip_out(case: dict) -> dict | None:
    """The feedback slip or contact letter issued in the current round (the latest), if any."""
    start = round_started(case)
    issued = [
        d
        for d in case.get("documents") or []
        if d.get("form") in ROUTING_FORMS
        and d.get("generated_at")
        and (start is None or from_iso(d["generated_at"]) >= start.replace(second=0))
    ]
    return max(issued, key=lambda d: d["generated_at"]) if issued else None


def row(
    case: dict,
    config: Config,
    cal: WorkCalendar,
    today: dt.date,
    *,
    masked: bool,
) -> dict:
    """One case as a line of a list: what a desk, a listing and the supervision page show.
    `masked`: the complainant as on the feedback slip (a department's view)."""
    due = workflow.effective_due(case, config.deadlines, cal)
    callback_by = workflow.callback_due(case, config.deadlines, cal)
    overdue = workflow.is_overdue(case, today, due, callback_by)
    status = case["status"]
    late = None
    if overdue:
        late = cal.workdays_between(callback_by if status == "resolved" else due, today)
    comp = complainant_view(case, masked=masked)
    dep = case["assignment"].get("department")
    slip = slip_out(case) if status == "assigned" else None
    return {
        "case_no": case["case_no"],
        "status": status,
        "kind": case.get("kind"),
        "channel": case.get("channel"),
        "received_at": case.get("received_at"),
        "category": case.get("category"),
        "severity": case.get("severity"),
        "complainant": comp["name"] if not comp["anonymous"] else None,
        "anonymous": comp["anonymous"],
        "phone": comp["phone"] or None,
        "department": dep,
        "department_name": department_name(config, dep) if dep else None,
        "target_department": case["target"].get("department"),
        "handler": case["assignment"].get("handler"),
        "due": due.isoformat() if status in workflow.RESULT_PENDING else None,
        "callback_due": callback_by.isoformat() if callback_by and status == "resolved" else None,
        "resolved_at": case["handling"].get("resolved_at"),
        "overdue": overdue,
        "overdue_days": late,
        "slip_issued_at": slip["generated_at"] if slip else None,
        "extended": bool(case.get("extensions")),
    }


def open_cases(ws: Workspace, statuses: tuple[str, ...] = OPEN_STATUSES):
    """The stored cases of these statuses, reading only the months that hold some."""
    wanted = set(statuses)
    for case in ws.store.iter_records(statuses=statuses):
        if case.get("status") in wanted:
            yield case


def desk(
    ws: Workspace,
    *,
    department: str | None = None,
    today: dt.date | None = None,
    limit: int = LIST_LIMIT,
) -> dict:
    """The desk as of `today` (default today): counts and the first `limit` cases of each list.

    For the customer service centre (no `department`): due today (waiting for a decision or
    a result, due date in force today), overdue (result or call-back past its day), awaiting
    the decision (registered), routed but no slip or letter out yet, awaiting the return
    (slip or letter out), awaiting the call-back (resolved). For a department: only the
    cases routed to it (the complainant masked as on the slip), and only its own lists.

    Returns {as_of, department, counts: {list: n}, lists: {list: [row]}}."""
    from complaintforms.services.cases import work_calendar

    config = ws.config
    today = today or clock_now().date()
    cal = work_calendar(ws)
    names = DEPARTMENT_LISTS if department else LISTS
    found: dict[str, list[dict]] = {name: [] for name in names}
    statuses = ("assigned",) if department else OPEN_STATUSES
    for case in open_cases(ws, statuses):
        if department and case["assignment"].get("department") != department:
            continue
        r = row(case, config, cal, today, masked=department is not None)
        status = r["status"]
        if r["due"] == today.isoformat():
            found["due_today"].append(r)
        if r["overdue"]:
            found["overdue"].append(r)
        if department:
            found["awaiting_return"].append(r)
        elif status == "registered":
            found["awaiting_decision"].append(r)
        elif status == "assigned":
            found["awaiting_return" if r["slip_issued_at"] else "awaiting_slip"].append(r)
        elif status == "resolved":
            found["awaiting_callback"].append(r)
    orders: dict[str, Any] = {
        "due_today": lambda r: r["case_no"],
        "overdue": lambda r: (-(r["overdue_days"] or 0), r["case_no"]),
        "awaiting_decision": lambda r: (r["received_at"], r["case_no"]),
        "awaiting_slip": lambda r: (r["due"] or "", r["case_no"]),
        "awaiting_return": lambda r: (r["due"] or "", r["case_no"]),
        "awaiting_callback": lambda r: (r["callback_due"] or "", r["case_no"]),
    }
    return {
        "as_of": today.isoformat(),
        "department": department,
        "counts": {name: len(rows) for name, rows in found.items()},
        "lists": {name: sorted(rows, key=orders[name])[:limit] for name, rows in found.items()},
    }


# -- supervision (DESIGN.md section 12) -----------------------------------------------------------
def supervision_overview(ws: Workspace, *, today: dt.date | None = None) -> dict:
    """What `supervise` would list as of `today`: the cases due within
    `supervision.remind_before` working days (催办) and the overdue ones (督办), with the
    escalated among them, and whether each already has today's entry. Nothing is stored.

    Returns {as_of, workday, remind_before, escalate_after, leader,
    items: [row + {level, days, escalated, reminded_today}], counts: {remind, supervise,
    escalated, pending}} where `pending` counts the entries a run today would add."""
    from complaintforms.services import supervision
    from complaintforms.services.cases import work_calendar

    config = ws.config
    today = today or clock_now().date()
    cal = work_calendar(ws)
    remind_before, escalate_after, leader = supervision.settings(config)
    items = []
    for case in open_cases(ws, workflow.RESULT_PENDING):
        # Classified as if it had no entries yet, so that a case reminded today stays listed.
        found = supervision.classify({**case, "reminders": []}, today, config, cal)
        if found is None:
            continue
        level, due, days, escalated = found
        reminded = any(
            r.get("level") == level and r.get("as_of") == today.isoformat()
            for r in case.get("reminders") or []
        )
        items.append(
            {
                **row(case, config, cal, today, masked=False),
                "level": level,
                "due": due.isoformat(),
                "days": days,
                "escalated": escalated,
                "reminded_today": reminded,
                "responsible": supervision.responsible(case, config),
            }
        )
    items.sort(
        key=lambda i: (supervision.LEVELS.index(i["level"]) * -1, -i["days"], i["case_no"])
    )
    return {
        "as_of": today.isoformat(),
        "workday": cal.is_workday(today),
        "remind_before": remind_before,
        "escalate_after": escalate_after,
        "leader": leader,
        "items": items,
        "counts": {
            "remind": sum(1 for i in items if i["level"] == supervision.REMIND),
            "supervise": sum(1 for i in items if i["level"] == supervision.SUPERVISE),
            "escalated": sum(1 for i in items if i["escalated"]),
            "pending": sum(1 for i in items if not i["reminded_today"]),
        },
    }


def notices_of(ws: Workspace, day: dt.date | str) -> list[dict]:
    """The 催办 / 督办 notices issued as of `day`, as their audit events record them:
    [{as_of, department, department_name, level, cases, documents, by, at}], in the order
    issued. Reads the audit log from that day's month on."""
    from complaintforms.services.supervision import NOTICE_ACTION

    day_text = day.isoformat() if isinstance(day, dt.date) else str(day)
    out = []
    for event in ws.store.iter_events(since_month=day_text[:7]):
        if event.get("action") != NOTICE_ACTION:
            continue
        after = event.get("after") or {}
        if after.get("as_of") != day_text:
            continue
        code = after.get("department")
        out.append(
            {
                "as_of": day_text,
                "department": code,
                "department_name": department_name(ws.config, code) or ws.config.org_unit,
                "level": after.get("level"),
                "cases": list(after.get("cases") or []),
                "documents": list(after.get("documents") or []),
                "by": event.get("by"),
                "at": event.get("at"),
            }
        )
    return out


def notice_file(ws: Workspace, day: str, name: str) -> dict | None:
    """The `documents` entry of a notice issued as of `day` whose file is called `name`, or
    None: a file is found by what the audit log records, never by a path made of `name`."""
    from complaintforms.storage.paths import logical

    for notice in notices_of(ws, day):
        for doc in notice["documents"]:
            if logical(doc.get("path") or "").rsplit("/", 1)[-1] == name:
                return doc
    return None


__all__ = [
    "DEPARTMENT_LISTS",
    "LISTS",
    "OPEN_STATUSES",
    "desk",
    "notice_file",
    "notices_of",
    "open_cases",
    "round_started",
    "row",
    "slip_out",
    "supervision_overview",
]
