"""Reminder and supervision notices (催办 / 督办, DESIGN.md section 12).

`supervise` looks at the cases still waiting for their result (registered or assigned) as of
one day: a case due within `supervision.remind_before` working days gets a 催办 entry, an
overdue one a 督办 entry, and one overdue by more than `supervision.escalate_after` working
days is escalated: marked in the 督办 notice and copied (抄送) to `supervision.leader`.
Each department gets one notice per level (催办通知书 / 督办通知书, PDF and docx) listing its
cases, their due dates and days overdue; each case records `reminders[{at, as_of, level,
document, ...}]` with one audit event.

Cases not yet routed (registered) belong to the customer service centre itself: they go on
the notice to the department named as `organization.unit` (the centre's own department in
the config), or, when there is none, on a notice addressed to the unit by name.

It is safe to run every morning: a case that already has an entry of the same level for the
same as-of date gets nothing new, and a department with nothing new gets no notice; on a
day that is not a working day nothing is issued at all. The notices are rendered from a
snapshot of the cases with no lock held; one transaction then checks that none of those
cases changed and stores the entries, the notices' files and the audit events together
(else everything is made again).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from complaintforms.config import Config
from complaintforms.documents.forms import department_name
from complaintforms.domain import model, workflow
from complaintforms.domain.paper import cn_date
from complaintforms.domain.timeutil import iso, parse_date
from complaintforms.domain.timeutil import now as clock_now
from complaintforms.domain.workdays import WorkCalendar
from complaintforms.errors import StorageError, ValidationError
from complaintforms.i18n import N_
from complaintforms.storage.base import MAX_TRIES, Conflict
from complaintforms.workspace import Workspace

REMIND, SUPERVISE = "remind", "supervise"
LEVELS = (REMIND, SUPERVISE)
# The form of each level's notice, and the audit action of a case's entry.
NOTICE_FORMS = {REMIND: "reminder_notice", SUPERVISE: "supervision_notice"}
ACTIONS = {REMIND: "case.remind", SUPERVISE: "case.supervise"}
NOTICE_ACTION = "supervise.notice"
# Where the notices of one as-of date are kept (storage.paths: "notice").
NOTICE_KIND = "notice"
FORMATS = ("pdf", "docx")


@dataclass
class Item:
    """One case's entry of one run: its level, the due date in force, working days overdue
    (督办) or left (催办), and whether it is escalated."""

    case: dict
    level: str
    due: dt.date
    days: int
    escalated: bool
    department: str | None  # a department code; None: the centre itself (no such department)


@dataclass
class Notice:
    department: str | None
    level: str
    items: list[Item] = field(default_factory=list)


# -- pure ----------------------------------------------------------------------------------------
def settings(config: Config) -> tuple[int, int, str]:
    """(remind_before, escalate_after, leader) of the config, with their defaults."""
    s = config.supervision or {}
    return (
        int(s.get("remind_before", 1)),
        int(s.get("escalate_after", 5)),
        str(s.get("leader") or ""),
    )


def centre_department(config: Config) -> str | None:
    """The code of the centre's own department (the one named as organization.unit), if any."""
    for dep in config.departments:
        if dep.name == config.org_unit:
            return dep.code
    return None


def responsible(case: dict, config: Config) -> str | None:
    """Who is supervised for a case: its department, or for a case not yet routed the
    centre's own department (None when the config has none: the unit itself)."""
    return case["assignment"].get("department") or centre_department(config)


def classify(
    case: dict, as_of: dt.date, config: Config, cal: WorkCalendar
) -> tuple[str, dt.date, int, bool] | None:
    """(level, due, days, escalated) of a case as of a working day, or None when it gets no
    entry: not waiting for its result, received after `as_of`, not due soon, or already
    given this level's entry for this date."""
    if (
        case["status"] not in workflow.RESULT_PENDING
        or case["received_at"][:10] > as_of.isoformat()
    ):
        return None
    remind_before, escalate_after, _ = settings(config)
    due = workflow.effective_due(case, config.deadlines, cal)
    if due < as_of:
        level, days = SUPERVISE, cal.workdays_between(due, as_of)
    elif cal.workdays_between(as_of, due) <= remind_before:
        level, days = REMIND, cal.workdays_between(as_of, due)
    else:
        return None
    day = as_of.isoformat()
    if any(r.get("level") == level and r.get("as_of") == day for r in case.get("reminders") or []):
        return None
    return level, due, days, level == SUPERVISE and days > escalate_after


def plan(cases: list[dict], as_of: dt.date, config: Config, cal: WorkCalendar) -> list[Notice]:
    """The notices of one run, by department (in the config's order, the centre last when
    it is no department) and level (催办 first); cases by due date, then number."""
    notices: dict[tuple[str | None, str], Notice] = {}
    for case in cases:
        found = classify(case, as_of, config, cal)
        if found is None:
            continue
        level, due, days, escalated = found
        dep = responsible(case, config)
        notice = notices.setdefault((dep, level), Notice(dep, level))
        notice.items.append(Item(case, level, due, days, escalated, dep))
    order = {d.code: i for i, d in enumerate(config.departments)}
    out = sorted(
        notices.values(),
        key=lambda n: (order.get(n.department or "", len(order)), LEVELS.index(n.level)),
    )
    for notice in out:
        notice.items.sort(key=lambda i: (i.due, i.case["case_no"]))
    return out


def notice_rows(notice: Notice, config: Config) -> list[dict]:
    """The cases of a notice as printed: no complainant, names not codes, Chinese dates."""
    _, escalate_after, leader = settings(config)
    rows = []
    for n, item in enumerate(notice.items, 1):
        case = item.case
        notes = []
        if not case["assignment"].get("department"):
            notes.append("尚未受理分派")
        extensions = case.get("extensions") or []
        if extensions and case["assignment"].get("due"):
            notes.append(f"已延期（原时限 {cn_date(case['assignment']['due'])}）")
        earlier = sum(1 for r in case.get("reminders") or [] if r.get("level") == item.level)
        if earlier:
            notes.append(f"第 {earlier + 1} 次{'督办' if item.level == SUPERVISE else '催办'}")
        if item.escalated:
            notes.append(
                f"逾期超过 {escalate_after} 个工作日" + (f"，抄送{leader}" if leader else "")
            )
        rows.append(
            {
                "no": n,
                "case_no": case["case_no"],
                "received": cn_date(case["received_at"]),
                "category": case.get("category") or "未分类",
                "due": cn_date(item.due),
                "days": item.days,
                "left": "当日到期" if item.days == 0 else f"{item.days} 个工作日",
                "handler": case["assignment"].get("handler") or "—",
                "escalated": item.escalated,
                "note": "；".join(notes),
            }
        )
    return rows


def notice_view(notice: Notice, config: Config, as_of: dt.date, cal: WorkCalendar, by: str) -> dict:
    """The notice's own values (`notice` in its template): to whom, as of when, by when to
    answer, and to whom it is copied."""
    remind_before, escalate_after, leader = settings(config)
    dep = config.department(notice.department) if notice.department else None
    escalated = [i for i in notice.items if i.escalated]
    return {
        "level": notice.level,
        "to": dep.name if dep else config.org_unit,
        "head": dep.head if dep else "",
        "as_of": cn_date(as_of),
        # 督办: answer by the next working day; 催办: by each case's own due date.
        "reply_by": cn_date(cal.add_workdays(as_of, 1)),
        "count": len(notice.items),
        "unrouted": sum(1 for i in notice.items if not i.case["assignment"].get("department")),
        "escalated": len(escalated),
        "escalate_after": escalate_after,
        "remind_before": remind_before,
        "cc": leader if escalated and leader else "",
        "unit": config.org_unit,
        "by": by,
    }


def entry(
    item: Item, *, at: str, as_of: dt.date, by: str, document: str, serial: int, leader: str
) -> dict:
    """What a case records of its notice."""
    return {
        "at": at,
        "as_of": as_of.isoformat(),
        "level": item.level,
        "by": by,
        "due": item.due.isoformat(),
        "overdue_days": item.days if item.level == SUPERVISE else 0,
        "escalated": item.escalated,
        "copied_to": leader if item.escalated and leader else None,
        "document": document,
        "serial": serial,
    }


# -- the run -------------------------------------------------------------------------------------
# From this many cases listed in all, notices are rendered in a pool of worker processes (one
# a core): a listed case costs about 10 ms of layout, a worker about 1 s to start.
POOL_ROWS = 200


def render_all(ws: Workspace, docs: list, renderers) -> list[dict[str, bytes]]:
    """The notices' files, in a pool when there are several long ones and cores to spare."""
    import os

    from complaintforms.documents.pipeline import RenderPool, render_files

    workers = min(os.cpu_count() or 1, len(docs))
    if workers > 1 and sum(len(d.context["rows"]) for d in docs) >= POOL_ROWS:
        # The longest first, so that no worker is left with a long one at the end.
        order = sorted(range(len(docs)), key=lambda i: -len(docs[i].context["rows"]))
        with RenderPool(ws.forms_dir, workers) as pool:
            futures = {i: pool.submit(docs[i], FORMATS) for i in order}
            return [futures[i].result() for i in range(len(docs))]
    return [render_files(ws, doc, FORMATS, renderers) for doc in docs]


def parse_as_of(value: object, today: dt.date) -> dt.date:
    """The as-of date: today when not given; never after today."""
    if value is None or value == "":
        return today
    day = parse_date(value, "as_of")
    if day > today:
        raise ValidationError(
            N_("{field}: {value} is in the future (today is {today})"),
            field="as_of",
            value=day.isoformat(),
            today=today.isoformat(),
        )
    return day


def supervise(ws: Workspace, *, as_of: object = None, by: str) -> dict:
    """`supervise`: the 催办 and 督办 notices of one day, and the cases' entries. Returns
    {as_of, workday, notices: [{department, department_name, level, form, cases, documents}],
    reminded, warnings}."""
    from complaintforms.documents.pipeline import Serials, prepare_list, store_files
    from complaintforms.documents.render import RendererSet
    from complaintforms.services.cases import work_calendar

    by = model.text(by, "by", required=True, limit=model.MAX_NAME)
    config = ws.config
    day = parse_as_of(as_of, clock_now().date())
    cal = work_calendar(ws)
    result = {
        "as_of": day.isoformat(),
        "workday": cal.is_workday(day),
        "notices": [],
        "reminded": 0,
        "warnings": [],
    }
    if not result["workday"]:
        result["warnings"] = list(cal.warnings)
        return result
    _, _, leader = settings(config)
    ws.identity  # noqa: B018 - made before anything is rendered (the QR codes name it)
    renderers = RendererSet(ws.forms_dir)
    for attempt in range(MAX_TRIES):
        at = iso(clock_now())
        cases = [
            c
            for c in ws.store.iter_records(statuses=workflow.RESULT_PENDING)
            if c["status"] in workflow.RESULT_PENDING
        ]
        notices = plan(cases, day, config, cal)
        if not notices:
            result["warnings"] = list(cal.warnings)
            return result
        serials = Serials(ws, len(notices), reserve=attempt > 0)
        docs = []
        for notice, serial in zip(notices, serials.values, strict=True):
            code = notice.department
            doc = prepare_list(
                ws,
                NOTICE_FORMS[notice.level],
                period=f"{day.isoformat()} {code or 'centre'}",
                printed_period=f"{cn_date(day)} {department_name(config, code) or config.org_unit}",
                rows=notice_rows(notice, config),
                by=by,
                serial=serial,
                at=at,
                kind=NOTICE_KIND,
                where={
                    "year": day.year,
                    "day": day.isoformat(),
                    "form": NOTICE_FORMS[notice.level],
                },
            )
            doc.context["notice"] = notice_view(notice, config, day, cal, by)
            docs.append(doc)
        made = list(zip(notices, docs, render_all(ws, docs, renderers), strict=True))
        try:
            with ws.store.transaction() as txn:
                serials.claim(txn)
                out, reminded = [], 0
                for notice, doc, files in made:
                    documents = store_files(txn, doc, files, at=at)
                    pdf = next(d["path"] for d in documents if d["format"] == "pdf")
                    listed = []
                    for item in notice.items:
                        before = item.case
                        if txn.get(before["case_no"]) != before:
                            raise Conflict
                        record = entry(
                            item,
                            at=at,
                            as_of=day,
                            by=by,
                            document=pdf,
                            serial=doc.serial,
                            leader=leader,
                        )
                        after = {**before, "reminders": [*(before.get("reminders") or []), record]}
                        old, new = workflow.diff(before, after)
                        txn.replace(after)
                        txn.log(
                            ACTIONS[item.level],
                            by,
                            before["case_no"],
                            at=at,
                            before=old,
                            after=new,
                            level=item.level,
                            as_of=record["as_of"],
                        )
                        listed.append(
                            {
                                "case_no": before["case_no"],
                                "status": before["status"],
                                "due": record["due"],
                                "overdue_days": record["overdue_days"],
                                "escalated": item.escalated,
                                "copied_to": record["copied_to"],
                                "handler": before["assignment"].get("handler"),
                            }
                        )
                        reminded += 1
                    summary = {
                        "department": notice.department,
                        "department_name": department_name(config, notice.department)
                        or config.org_unit,
                        "level": notice.level,
                        "form": doc.spec.name,
                        "serial": doc.serial,
                        "copied_to": leader
                        if any(i.escalated for i in notice.items) and leader
                        else None,
                        "cases": listed,
                        "documents": documents,
                    }
                    txn.log(
                        NOTICE_ACTION,
                        by,
                        None,
                        at=at,
                        after={
                            "as_of": day.isoformat(),
                            "department": notice.department,
                            "level": notice.level,
                            "cases": [c["case_no"] for c in listed],
                            "documents": documents,
                        },
                    )
                    out.append(summary)
        except Conflict:
            continue
        result.update(notices=out, reminded=reminded, warnings=list(cal.warnings))
        return result
    raise StorageError(
        N_("the cases changed {tries} times while their notices were made; try again"),
        tries=MAX_TRIES,
    )


__all__ = ["LEVELS", "NOTICE_FORMS", "classify", "plan", "supervise"]
