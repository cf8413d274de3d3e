"""Case listings a page at a time, newest first, and a case as a page shows it.

`case_page` answers `GET /cases?status=&department=&quarter=&overdue=1&q=`: it reads months
newest first and stops when the page is full (plus one case, to know there is a next page),
so a listing without filters reads the latest month or two, not the 100,000 cases of eight
years. A filter on status (or `overdue`) reads only the months whose counts hold such cases.

`q` is one search box: a case number (that case), a phone number (whole, or its last four
digits or more: asked of the store's lookup index), else a part of a name or a text of the
case (content, demand, findings, result, closing summary), looked for month by month, newest
first, until the page is full (a text found nowhere reads every month: about 4 s at 100,000
cases). A department's user searches by case number and text only: it sees complainants
masked, so a phone number or a name is not a key it may try.

`record_rows` is a case's every recorded field under its label, as `case show` prints it
(the same message ids), for a page: codes as their labels, departments by name, times local.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from complaintforms.config import Config
from complaintforms.documents.forms import complainant_view
from complaintforms.domain import enums, labels, model, workflow
from complaintforms.domain.labels import ACTIONS, ENUM_FIELDS
from complaintforms.domain.paper import cn_date
from complaintforms.domain.timeutil import display
from complaintforms.domain.timeutil import now as clock_now
from complaintforms.errors import NotFoundError, ValidationError
from complaintforms.i18n import N_, _
from complaintforms.storage.base import MIN_PHONE_DIGITS, lookup_matches, phone_digits
from complaintforms.storage.paths import logical
from complaintforms.workspace import Workspace

PER_PAGE = 50
MAX_PAGE = 10_000
Visible = Callable[[dict], bool]

# -- months ---------------------------------------------------------------------------------------


def stored_months(ws: Workspace) -> list[str]:
    """Every month that holds cases, oldest first, from the store's own index."""
    return ws.store.months("cases")


def newest_first(
    ws: Workspace, months: Iterable[str], statuses: list[str] | None = None
) -> Iterator[dict]:
    """The stored cases of `months`, newest received first, one month read at a time."""
    for month in sorted(set(months), reverse=True):
        yield from ws.store.iter_newest(month, statuses or None)


# -- the search box ---------------------------------------------------------------------------------
_PHONE_LIKE = re.compile(r"^\+?[0-9０-９][0-9０-９ \-()（）]*$")


def query_kind(ws: Workspace, q: str, *, personal: bool = True) -> str:
    """What a search box's text is: "case_no", "phone", or "text" (a name or a text).
    `personal`: whether the user may look cases up by the complainant's phone or name."""
    from complaintforms.services.cases import number_regex

    text = q.strip()
    if number_regex(ws.config.numbering_pattern).match(text.upper()):
        return "case_no"
    if personal and _PHONE_LIKE.match(text) and len(phone_digits(text)) >= MIN_PHONE_DIGITS:
        return "phone"
    return "text"


def _by_received(case: dict) -> tuple[str, str]:
    return (case.get("received_at") or "", case.get("case_no") or "")


def matching(
    ws: Workspace,
    flt: Any,
    q: str | None = None,
    *,
    visible: Visible | None = None,
    personal: bool = True,
) -> Iterator[dict]:
    """The cases a CaseFilter (not yet prepared) and a search text let through, newest first,
    each as shown (with `overdue`), only those `visible` says the user may see."""
    from complaintforms.services.cases import CaseFilter, view, work_calendar

    flt = flt.prepare(ws)
    cal, today = work_calendar(ws), clock_now().date()
    wanted = [flt.status] if flt.status else []
    if flt.overdue and not wanted:
        wanted = list(workflow.OVERDUE_STATUSES)
    q = (q or "").strip()
    kind = query_kind(ws, q, personal=personal) if q else None

    def scan() -> Iterator[dict]:
        months = flt.months if flt.months is not None else stored_months(ws)
        yield from newest_first(ws, months, wanted)

    if kind == "case_no":
        try:
            found: Iterable[dict] = [ws.store.get(q.upper())]
        except (NotFoundError, ValueError):
            found = []
    elif kind == "phone":
        lookup = CaseFilter(phone=q).prepare(ws)
        found = sorted(ws.store.find_cases(phone=lookup.phone), key=_by_received, reverse=True)
    elif kind == "text":
        # A part of a name or of a text: one scan, newest first, that stops when the page is
        # full (a name's index would have to be read whole to give its newest cases first).
        text = CaseFilter(text=q).prepare(ws)
        name = q if personal and len(q) <= model.MAX_NAME else None
        found = (
            case
            for case in scan()
            if text.matches(case) or (name is not None and lookup_matches(case, name=name))
        )
    else:
        found = scan()
    for case in found:
        if visible is not None and not visible(case):
            continue
        if not flt.matches(case):
            continue
        shown = view(ws, case, today, cal)
        if flt.overdue and not shown["overdue"]:
            continue
        yield shown


def case_page(
    ws: Workspace,
    flt: Any,
    q: str | None = None,
    *,
    page: int = 1,
    per_page: int = PER_PAGE,
    visible: Visible | None = None,
    personal: bool = True,
) -> dict:
    """One page of a listing, newest first: {cases, page, per_page, has_next, query_kind}.
    Reads only as far as the page (and one case more) needs."""
    if isinstance(page, bool) or not isinstance(page, int) or not 1 <= page <= MAX_PAGE:
        raise ValidationError(N_("{field}: must be a whole number of at least 1"), field="page")
    skip = (page - 1) * per_page
    out: list[dict] = []
    for n, case in enumerate(matching(ws, flt, q, visible=visible, personal=personal)):
        if n < skip:
            continue
        out.append(case)
        if len(out) > per_page:
            break
    q = (q or "").strip()
    return {
        "cases": out[:per_page],
        "page": page,
        "per_page": per_page,
        "has_next": len(out) > per_page,
        "query_kind": query_kind(ws, q, personal=personal) if q else None,
    }


# -- a case as a page shows it ------------------------------------------------------------------------
# The labels, enumeration fields and actions are those of `case show` (domain.labels).
# The order of a case's parts (as `case show`); the rest follow in the record's order.
ORDER = (
    "void",
    "received_at",
    "recorded_at",
    "recorded_by",
    "late_entry",
    "first_receiver",
    "channel",
    "kind",
    "severity",
    "category",
    "complainant_count",
    "complainant",
    "target",
    "extra",
    "content",
    "demand",
    "repeat_of",
    "decision",
    "assignment",
    "extensions",
    "handling",
    "callback",
    "closure",
    "signoff",
    "archive",
    "amendments",
    "reopens",
    "routing_history",
    "reminders",
)
# Shown elsewhere on the page (the heading, the files table), not among the fields.
NOT_ROWS = ("case_no", "status", "overdue", "documents", "attachments")
# A reminder's level (services.supervision.LEVELS).
LEVEL_LABELS = {
    "remind": N_("reminder notice (催办通知书)"),
    "supervise": N_("supervision notice (督办通知书)"),
}
_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def label_of(path: str) -> str:
    """A dotted key's label in the user's language, or the key itself."""
    return labels.label_of(path, _)


def _empty(value: Any) -> bool:
    if isinstance(value, dict):
        return all(_empty(v) for v in value.values())
    if isinstance(value, list):
        return all(_empty(v) for v in value)
    return value is None or value == ""


def shown_value(path: str, value: Any, config: Config) -> str:
    """One recorded value as a person reads it: labels for codes, names for departments,
    local times (2026-11-16 09:30), dates as on paper (2026年11月16日), yes / no."""
    key = path.rsplit(".", 1)[-1]
    if key == "customer_signed" and isinstance(value, bool):
        return _(N_("yes (投诉人已签字)")) if value else _(N_("no (投诉人未签字)"))
    if isinstance(value, bool):
        return _(N_("yes")) if value else _(N_("no"))
    if isinstance(value, list):
        return ", ".join(shown_value(path, v, config) for v in value)
    if not isinstance(value, str):
        return str(value)
    if path.endswith("target.type"):
        return enums.label("target_type", value)
    if key == "level" and value in LEVEL_LABELS:
        return _(LEVEL_LABELS[value])
    if key in ("type", "kind") and "penalt" in path:
        return enums.label("penalty", value, config)
    if ENUM_FIELDS.get(key):
        return enums.label(ENUM_FIELDS[key], value, config)
    if key in ("department", "to_department") or path.endswith("target.department"):
        dep = config.department(value)
        return f"{dep.name}（{value}）" if dep else value
    if _ISO_TIME.match(value):
        try:
            return display(value)
        except ValueError:
            return value
    if _ISO_DATE.match(value):
        try:
            return cn_date(value)
        except ValueError:
            return value
    return value


def _rows(path: str, record: dict, config: Config, order: tuple[str, ...] = ()) -> list:
    """[(label, text)] for plain values, [(label, rows)] for nested parts and lists."""
    keys = [k for k in order if k in record] + [k for k in record if k not in order]
    out: list = []
    for key in keys:
        value = record[key]
        sub = f"{path}.{key}" if path else key
        if _empty(value) or (not path and key in NOT_ROWS):
            continue
        if isinstance(value, dict):
            out.append((label_of(sub), _rows(sub, value, config)))
        elif isinstance(value, list) and any(isinstance(v, dict) for v in value):
            items = []
            for i, item in enumerate(value, 1):
                if isinstance(item, dict):
                    items.append((f"#{i}", _rows(sub, item, config)))
                else:
                    items.append((f"#{i}", shown_value(sub, item, config)))
            out.append((label_of(sub), items))
        else:
            out.append((label_of(sub), shown_value(sub, value, config)))
    return out


def masked_case(case: dict) -> dict:
    """The case as a department sees it: the complainant as on the feedback slip (phone
    masked; a confidential complainant's name masked and address withheld), and so in the
    corrections recorded of the complainant too."""
    comp = complainant_view(case, masked=True)
    confidential = bool(case["complainant"].get("confidential"))
    out = {
        **case,
        "complainant": {
            **case["complainant"],
            **{k: comp[k] or None for k in ("name", "phone", "address")},
        },
    }
    if case["complainant"].get("anonymous"):
        out["complainant"]["name"] = None

    def hide(key: str, value: Any) -> Any:
        if not isinstance(value, str) or not value:
            return value
        if key == "complainant.phone":
            return model.mask_phone(value)
        if key == "complainant.name" and confidential:
            return model.mask_name(value)
        if key == "complainant.address" and confidential:
            return "（保密）"
        return value

    amendments = []
    for entry in case.get("amendments") or []:
        if not isinstance(entry, dict):
            continue
        changes = {
            k: {side: hide(k, v) for side, v in (change or {}).items()}
            for k, change in (entry.get("changes") or {}).items()
        }
        amendments.append({**entry, "changes": changes})
    out["amendments"] = amendments
    return out


def record_rows(case: dict, config: Config, *, masked: bool = False) -> list:
    """Every field the case records under its label, nested parts as nested rows; the
    configured extra fields under their configured labels. `masked`: as a department sees
    it (masked_case)."""
    if masked:
        case = masked_case(case)
    body = {k: v for k, v in case.items() if k != "extra"}
    rows = _rows("", body, config, ORDER)
    values = case.get("extra") or {}
    labels = {f.key: f.label for f in config.extra_fields}
    extra = [(labels[k], str(values[k])) for k in labels if not _empty(values.get(k))]
    extra += [
        (f"extra.{k}", shown_value(f"extra.{k}", v, config))
        for k, v in values.items()
        if k not in labels and not _empty(v)
    ]
    if extra:
        content = label_of("content")
        where = next((i for i, (name, _v) in enumerate(rows) if name == content), len(rows))
        rows.insert(where, (label_of("extra"), extra))
    return rows


def action_label(action: str | None) -> str:
    """An audit action in the user's language, or the action itself."""
    return _(ACTIONS[action]) if action in ACTIONS else str(action or "")


# -- a case's files ---------------------------------------------------------------------------------
# What a department may download of the cases routed to it (DESIGN.md section 9): their
# slips and letters, and the scans of those returned.
DEPARTMENT_FORMS = ("feedback_slip", "contact_letter", "contact_receipt")


def file_name(entry: dict) -> str:
    return logical(entry.get("path") or "").rsplit("/", 1)[-1]


def form_title(form: str | None) -> str:
    """A form's printed title (三来处理反馈单), or its name."""
    from complaintforms.documents.forms import FORMS

    spec = FORMS.get(form or "")
    return spec.title if spec else (form or "")


def case_files(case: dict, *, department: bool = False) -> list[dict]:
    """The files of a case a user may download, each {name, path, group, form, title,
    format, entry}: its documents, its scans and evidence, and the notices it was listed on (the
    centre's own). For a department only its slips and letters."""
    out: list[dict] = []
    for group, entries in (
        ("document", case.get("documents") or []),
        ("attachment", case.get("attachments") or []),
    ):
        for entry in entries:
            if not isinstance(entry, dict) or not entry.get("path"):
                continue
            if department and entry.get("form") not in DEPARTMENT_FORMS:
                continue
            out.append(
                {
                    "name": file_name(entry),
                    "path": entry["path"],
                    "group": group,
                    "form": entry.get("form"),
                    "title": form_title(entry.get("form")),
                    "format": entry.get("format") or file_name(entry).rsplit(".", 1)[-1].lower(),
                    "entry": entry,
                }
            )
    if not department:
        for entry in case.get("reminders") or []:
            if isinstance(entry, dict) and entry.get("document"):
                out.append(
                    {
                        "name": logical(entry["document"]).rsplit("/", 1)[-1],
                        "path": entry["document"],
                        "group": "notice",
                        "form": "reminder_notice"
                        if entry.get("level") == "remind"
                        else "supervision_notice",
                        "format": "pdf",
                        "title": form_title(
                            "reminder_notice"
                            if entry.get("level") == "remind"
                            else "supervision_notice"
                        ),
                        "entry": entry,
                    }
                )
    return out


def find_file(case: dict, name: str, *, department: bool = False) -> dict | None:
    """The file of `case` called `name`, looked up among those it records (never a path
    made of `name`), or None."""
    for item in case_files(case, department=department):
        if item["name"] == name:
            return item
    return None


# -- the steps a case allows now --------------------------------------------------------------------
def possible_steps(case: dict) -> set[str]:
    """The steps the case's state allows now (workflow.TRANSITIONS and the steps that keep
    the state), before the user's role is asked: the forms a case page may offer."""
    status = case["status"]
    steps = {step for (state, step) in workflow.TRANSITIONS if state == status}
    steps.discard("archive")  # the archive builds it, not a step of the page
    if status == "followed_up" and case["callback"].get("reached") is not False:
        steps.discard("callback")  # reached already: a second call-back is refused
    if status == "resolved" and workflow.can_be_called_back(case):
        steps.discard("close")  # call back first
    if status == "assigned":
        steps |= {"slip", "letter", "extend"}
    if status in workflow.PENALIZABLE:
        steps.add("penalize")
    if status in workflow.AMENDABLE:
        steps.add("amend")
    if status != "void":
        steps.add("hold")
    return steps


__all__ = [
    "DEPARTMENT_FORMS",
    "PER_PAGE",
    "case_files",
    "case_page",
    "find_file",
    "label_of",
    "masked_case",
    "matching",
    "newest_first",
    "possible_steps",
    "query_kind",
    "record_rows",
    "action_label",
    "shown_value",
    "stored_months",
]
