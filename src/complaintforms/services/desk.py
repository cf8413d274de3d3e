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
import re
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
LISTS = (
    "due_today",
    "overdue",
    "awaiting_decision",
    "awaiting_slip",
    "awaiting_return",
    "awaiting_callback",
)
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
    late_days: bool = True,
) -> dict:
    """One case as a line of a list: what a desk, a listing and the supervision page show.
    `masked`: the complainant as on the feedback slip (a department's view); `late_days`:
    count the working days overdue now (else `with_late_days` does it for the rows shown)."""
    due = workflow.effective_due(case, config.deadlines, cal)
    callback_by = workflow.callback_due(case, config.deadlines, cal)
    overdue = workflow.is_overdue(case, today, due, callback_by)
    status = case["status"]
    late = None
    if overdue and late_days:
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


def with_late_days(rows: list[dict], cal: WorkCalendar, today: dt.date) -> list[dict]:
    """The rows, each overdue one with its working days overdue (counted only for these)."""
    for r in rows:
        if r["overdue"] and r["overdue_days"] is None:
            since = r["callback_due"] if r["status"] == "resolved" else r["due"]
            if since:
                r["overdue_days"] = cal.workdays_between(dt.date.fromisoformat(since), today)
    return rows


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
        r = row(case, config, cal, today, masked=department is not None, late_days=False)
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
        # the longest overdue first: its day (the result's, or the call-back's) earliest
        "overdue": lambda r: (r["callback_due"] or r["due"] or "", r["case_no"]),
        "awaiting_decision": lambda r: (r["received_at"], r["case_no"]),
        "awaiting_slip": lambda r: (r["due"] or "", r["case_no"]),
        "awaiting_return": lambda r: (r["due"] or "", r["case_no"]),
        "awaiting_callback": lambda r: (r["callback_due"] or "", r["case_no"]),
    }
    return {
        "as_of": today.isoformat(),
        "department": department,
        "counts": {name: len(rows) for name, rows in found.items()},
        "lists": {
            name: with_late_days(sorted(rows, key=orders[name])[:limit], cal, today)
            for name, rows in found.items()
        },
    }


# -- supervision (DESIGN.md section 12) -----------------------------------------------------------
def supervision_overview(ws: Workspace, *, today: dt.date | None = None) -> dict:
    """What `supervise` would list as of `today`: the cases due within
    `supervision.remind_before` working days (催办) and the overdue ones (督办), with the
    escalated among them, and whether each already has today's entry. Nothing is stored.

    Returns {as_of, workday, remind_before, escalate_after, leader,
    items: [row + {level, days, escalated, reminded_today}], counts: {remind, supervise,
    escalated, pending}, notices} where `pending` counts the entries a run today would add
    and `notices` are the notices already issued as of today (notices_of)."""
    from complaintforms.services import supervision
    from complaintforms.services.cases import work_calendar

    config = ws.config
    today = today or clock_now().date()
    cal = work_calendar(ws)
    remind_before, escalate_after, leader = supervision.settings(config)
    items = []
    pending = list(open_cases(ws, workflow.RESULT_PENDING))
    for case in pending:
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
                **row(case, config, cal, today, masked=False, late_days=False),
                "level": level,
                "due": due.isoformat(),
                "days": days,
                "escalated": escalated,
                "reminded_today": reminded,
                "responsible": supervision.responsible(case, config),
            }
        )
    # 督办 first (the most overdue first), then 催办 (the soonest due first).
    items.sort(
        key=lambda i: (
            -supervision.LEVELS.index(i["level"]),
            -i["days"] if i["level"] == supervision.SUPERVISE else i["days"],
            i["case_no"],
        )
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
        "notices": notices_of(ws, today, cases=pending),
    }


def _notice_folder(day: str) -> str:
    from complaintforms.storage.paths import stored_path

    # The folder the notices of one as-of date are kept in (storage.paths "notice").
    return stored_path("notice", year=int(day[:4]), day=day, form="x", serial=0, ext="x").rsplit(
        "/", 1
    )[0]


NOTICE_LEVELS = {"reminder_notice": "remind", "supervision_notice": "supervise"}


def notices_of(ws: Workspace, day: dt.date | str, cases: list[dict] | None = None) -> list[dict]:
    """The 催办 / 督办 notices issued as of `day`: [{as_of, level, form, serial, department,
    department_name, cases, documents: [{format, path}]}], by serial. Found as the store
    keeps them (the day's folder of notices), with the cases still open that list them
    (`cases`: those already read, else the open ones are read); no audit log is read."""
    from complaintforms.services import supervision
    from complaintforms.storage.paths import shown

    day_text = day.isoformat() if isinstance(day, dt.date) else str(day)
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", day_text):
        return []
    notices: dict[str, dict] = {}
    for path in ws.store.list_files(_notice_folder(day_text)):
        name = path.rsplit("/", 1)[-1]
        stem, _, ext = name.rpartition(".")
        form, _, serial = stem.rpartition("-")
        if form not in NOTICE_LEVELS or not serial.isdigit():
            continue
        notice = notices.setdefault(
            stem,
            {
                "as_of": day_text,
                "level": NOTICE_LEVELS[form],
                "form": form,
                "serial": int(serial),
                "department": None,
                "department_name": "",
                "cases": [],
                "documents": [],
            },
        )
        notice["documents"].append({"format": ext.lower(), "path": shown(path), "name": name})
    if not notices:
        return []
    by_pdf = {
        d["path"]: n for n in notices.values() for d in n["documents"] if d["format"] == "pdf"
    }
    config = ws.config
    for case in cases if cases is not None else open_cases(ws, workflow.RESULT_PENDING):
        for entry in case.get("reminders") or []:
            notice = by_pdf.get(entry.get("document")) if entry.get("as_of") == day_text else None
            if notice is None or case["case_no"] in notice["cases"]:
                continue
            notice["cases"].append(case["case_no"])
            notice["department"] = notice["department"] or supervision.responsible(case, config)
    for notice in notices.values():
        code = notice["department"]
        notice["department_name"] = department_name(config, code) if code else ""
        notice["cases"].sort()
        notice["documents"].sort(key=lambda d: d["format"] != "pdf")
    return sorted(notices.values(), key=lambda n: n["serial"])


def notice_file(ws: Workspace, day: str, name: str) -> dict | None:
    """The stored notice of the as-of date `day` whose file is called `name` ({format,
    path, name}), or None: looked up among the files kept for that day, never a path made
    of `name`."""
    for notice in notices_of(ws, day, cases=[]):
        for doc in notice["documents"]:
            if doc["name"] == name:
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
    "with_late_days",
]
