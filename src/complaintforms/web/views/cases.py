"""Views: cases (DESIGN.md section 11) — the list, registration, a case with its steps, its
files, and the manager's supervision page.

Thin: each view parses the request, calls one library function (services.cases,
services.listing, services.desk, services.supervision, web.steps.take_step) and renders. A
refusal of the library comes back as the same page with a 422, the reason beside the field
it names and what the user typed kept; a case the user may not see is a 404 whatever the
reason.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

from flask import Blueprint, abort, redirect, render_template, request, send_file, url_for

from complaintforms.domain import enums, roles
from complaintforms.domain.paper import cn_period
from complaintforms.domain.timeutil import now as clock_now
from complaintforms.errors import ComplaintFormsError, ForbiddenError, NotFoundError
from complaintforms.errors import ValidationError as LibraryRefusal
from complaintforms.i18n import N_, _
from complaintforms.services import listing
from complaintforms.storage.paths import logical
from complaintforms.web import common
from complaintforms.web import steps as web_steps

bp = Blueprint("cases", __name__)


# -- choices of the forms (codes as values, labels in Chinese) --------------------------------------------
def choices() -> dict[str, list[tuple[str, str]]]:
    config = common.ws().config
    deps = [(d.code, d.name) for d in config.departments]
    names = {d.code: d.name for d in config.departments}

    def table(name: str) -> list[tuple[str, str]]:
        return list(enums.table(name, config).items())

    return {
        "kind": table("kind"),
        "channel": table("channel"),
        "target_type": table("target_type"),
        "severity": table("severity"),
        "validity": table("validity"),
        "satisfaction": table("satisfaction"),
        "status": table("status"),
        "penalty": table("penalty"),
        "departments": deps,
        "staff": [
            (s.name, f"{s.name}（{names.get(s.department, s.department)}）") for s in config.staff
        ],
        "categories": [(c, c) for c in config.categories],
        "yes_no": [("true", _("yes")), ("false", _("no"))],
        "quarters": quarters(),
    }


def quarters(count: int = 12) -> list[tuple[str, str]]:
    """This quarter and the ones before it, for the list's filter."""
    today = clock_now().date()
    year, q = today.year, (today.month - 1) // 3 + 1
    out = []
    for _n in range(count):
        code = f"{year}Q{q}"
        out.append((code, cn_period(code)))
        year, q = (year, q - 1) if q > 1 else (year - 1, 4)
    return out


# -- the fields of each step's form -------------------------------------------------------------------------
@dataclass(frozen=True)
class Field:
    name: str
    kind: str = "text"  # text, textarea, select, checkbox, datetime, date, number
    label: str | None = None  # a message id; None: the field's label (common.field_label)
    options: str | None = None  # a key of choices()
    required: bool = False
    attrs: str = ""  # literal attributes of the input (never user data)


AT = Field("at", "datetime", N_("when, on paper (empty: now)"))
VALIDITY = Field("validity", "select", N_("validity"), "validity")
REASON = Field("reason", "textarea", required=True)

STEP_FORMS: dict[str, tuple[Field, ...]] = {
    "accept": (
        Field("department", "select", options="departments", required=True),
        Field(
            "handler",
            label=N_("handler (empty: the department's head)"),
            attrs='list="staff-names"',
        ),
        Field("special", "checkbox", N_("special case (the longer deadline)")),
        Field("severity", "select", options="severity"),
        Field("category", "select", options="categories"),
        VALIDITY,
        AT,
    ),
    "reject": (REASON, VALIDITY, AT),
    "slip": (),
    "letter": (Field("to", "select", N_("to (empty: the responsible department)"), "departments"),),
    "send_back": (REASON, AT),
    "extend": (
        Field("days", "number", N_("working days more"), attrs='min="1" max="99"'),
        Field("to", "date", N_("or the new due date")),
        REASON,
        Field("approved_by", required=True, attrs='list="staff-names"'),
        Field("notified_at", "datetime", N_("complainant told at")),
        AT,
    ),
    "penalize": (
        Field("kind", "select", N_("penalty kind"), "penalty", required=True),
        Field("person", label=N_("person"), required=True, attrs='list="staff-names"'),
        Field("amount", label=N_("amount (empty: as configured)")),
        Field("note", "textarea", N_("note")),
        AT,
    ),
    "return": (
        Field("findings", "textarea", required=True),
        Field("cause", "textarea", N_("cause")),
        Field("responsible", label=N_("responsible"), attrs='list="staff-names"'),
        Field("plan", "textarea", required=True),
        Field("approved_by", required=True, attrs='list="staff-names"'),
        Field("approved_at", "datetime", N_("approved at")),
        Field("notified_at", "datetime", N_("customer told at")),
        Field("result", "textarea", required=True),
        Field("compensation", label=N_("compensation (元)")),
        Field(
            "customer_signed", "checkbox", N_("the complainant signed the slip (投诉人签字确认)")
        ),
        AT,
    ),
    "callback": (
        Field("satisfaction", "select", options="satisfaction"),
        Field("unreachable", "checkbox", N_("reached nobody (无法回访)")),
        Field("note", "textarea", N_("note")),
        AT,
    ),
    "reopen": (REASON, AT),
    "close": (
        Field("summary", "textarea", required=True),
        Field("cause", "textarea", N_("cause found")),
        Field("measures", "textarea", N_("measures")),
        Field("penalty", "select", options="penalty"),
        Field("penalty_person", label=N_("penalised person"), attrs='list="staff-names"'),
        VALIDITY,
        AT,
    ),
    "signoff": (AT,),
    "hold": (Field("reason", "textarea", N_("reason (to put under hold)")),),
    "void": (REASON, AT),
    "amend": (
        REASON,
        Field("kind", "select", options="kind"),
        Field("channel", "select", options="channel"),
        Field("received_at", "datetime"),
        Field("complainant.name"),
        Field("complainant.phone", attrs='inputmode="tel"'),
        Field("complainant.address"),
        Field("complainant.anonymous", "select", options="yes_no"),
        Field("complainant.confidential", "select", options="yes_no"),
        Field("target.type", "select", options="target_type"),
        Field("target.department", "select", options="departments"),
        Field("target.staff", "select", options="staff"),
        Field("category", "select", options="categories"),
        Field("severity", "select", options="severity"),
        Field("complainant_count", "number", attrs='min="1"'),
        Field("first_receiver", attrs='list="staff-names"'),
        Field("content", "textarea"),
        Field("demand", "textarea"),
        AT,
    ),
}
RELEASE = Field("release", "checkbox", N_("lift the hold"))
# How each step is named on its form's button (message ids; workflow.STEP_NAMES where it
# has one, so that a step reads as the refusals name it).
STEP_TITLES = {
    "accept": N_("accept (受理)"),
    "reject": N_("reject (不受理)"),
    "slip": N_("issue the feedback slip (三来处理反馈单)"),
    "letter": N_("issue the work contact letter (工作联系函)"),
    "send_back": N_("send back (退单)"),
    "extend": N_("extend (延期)"),
    "penalize": N_("record a penalty"),
    "return": N_("record the returned slip"),
    "callback": N_("call back (回访)"),
    "reopen": N_("reopen"),
    "close": N_("close (结案)"),
    "signoff": N_("sign off (审核)"),
    "hold": N_("hold (冻结保存)"),
    "void": N_("void (作废)"),
    "amend": N_("correct (更正)"),
}
STEP_HINTS = {
    "slip": N_("For the responsible department (pdf + docx); issue it again if it was lost."),
    "letter": N_("In duplicate, with the receipt stub (签收回执) to be returned (pdf + docx)."),
    "amend": N_("Fill in only what is to be corrected; the record card is issued again."),
    "signoff": N_("A signed-off case can no longer be changed."),
    "void": N_("A registration made in error; its number is never used again."),
}
# Shown in this order; the procedure's next step first, corrections last.
STEP_ORDER = tuple(STEP_TITLES)
# Forms folded away unless they were the one refused (a correction is rarely needed).
FOLDED = ("amend", "void", "penalize", "extend", "send_back", "hold", "reopen", "letter")


# -- the case list ----------------------------------------------------------------------------------------
FILTER_FIELDS = ("status", "department", "quarter", "overdue", "q")
# A refusal of a search names the filter it came from (the search box for its parts).
QUERY_FIELDS = {"phone": "q", "name": "q", "text": "q", "month": "quarter"}


def _page_number(value: str | None) -> int:
    text = (value or "1").strip()
    return int(text) if text.isascii() and text.isdigit() and 0 < len(text) < 6 else 0


@bp.get("/cases")
@common.require("cases")
def case_list():
    from complaintforms.services.cases import CaseFilter

    ws, user = common.ws(), common.user()
    department_user = user.get("role") == "department"
    args = {k: request.args.get(k, "").strip() for k in FILTER_FIELDS}
    args["overdue"] = "1" if args["overdue"] not in ("", "0") else ""
    page = _page_number(request.args.get("page"))
    flt = CaseFilter(
        status=args["status"] or None,
        department=None if department_user else (args["department"] or None),
        quarter=args["quarter"] or None,
        overdue=bool(args["overdue"]),
    )
    context = {
        "values": args,
        "choices": choices(),
        "department_user": department_user,
        "masked": roles.masked_for(user),
    }
    try:
        if page < 1:
            raise LibraryRefusal(N_("{field}: must be a whole number of at least 1"), field="page")
        result = listing.case_page(
            ws,
            flt,
            args["q"] or None,
            page=page,
            per_page=listing.PER_PAGE,
            visible=lambda case: roles.may_see(user, case),
            personal=not department_user,
        )
    except ComplaintFormsError as exc:
        # Beside the filter it came from; a wrong page number (or anything else) on top.
        field = QUERY_FIELDS.get(exc.field or "", exc.field)
        errors = {field if field in FILTER_FIELDS else "_": common.message(exc)}
        return render_template("cases_list.html", result=None, errors=errors, **context), 422
    shown = {k: v for k, v in args.items() if v}
    return render_template(
        "cases_list.html",
        result=result,
        rows=_rows(result["cases"], user),
        prev_url=url_for("cases.case_list", **shown, page=page - 1) if page > 1 else None,
        next_url=url_for("cases.case_list", **shown, page=page + 1) if result["has_next"] else None,
        **context,
    )


def _rows(cases: list[dict], user: dict) -> list[dict]:
    from complaintforms.services.cases import work_calendar
    from complaintforms.services.desk import row

    ws = common.ws()
    cal, today, masked = work_calendar(ws), clock_now().date(), roles.masked_for(user)
    return [row(case, ws.config, cal, today, masked=masked) for case in cases]


# -- registration -----------------------------------------------------------------------------------------
def nested(values: dict) -> dict:
    """Dotted field names (complainant.name) as the nested record case new reads."""
    out: dict = {}
    for key, value in values.items():
        head, dot, rest = key.partition(".")
        if not dot:
            if isinstance(out.get(key), dict):
                raise LibraryRefusal(N_("unknown field {value}"), value=repr(key))
            out[key] = value
            continue
        part = out.setdefault(head, {})
        if not isinstance(part, dict) or not rest or "." in rest:
            raise LibraryRefusal(N_("unknown field {value}"), value=repr(key))
        part[rest] = value
    return out


# The fields of the registration form; a refusal naming a part of the record rather than a
# field goes beside the field that chooses it, or at the top of the form.
REGISTRATION_FIELDS = (
    "kind",
    "channel",
    "received_at",
    "complainant.name",
    "complainant.phone",
    "complainant.address",
    "complainant.anonymous",
    "complainant.confidential",
    "target.type",
    "target.department",
    "target.staff",
    "category",
    "severity",
    "content",
    "demand",
    "complainant_count",
    "first_receiver",
)
BESIDE = {"target": "target.type"}


def _beside(exc: ComplaintFormsError) -> dict[str, str]:
    field = BESIDE.get(exc.field or "", exc.field or "_")
    if field not in REGISTRATION_FIELDS and not field.startswith("extra."):
        field = "_"
    return {field: common.message(exc)}


def _registration(**context):
    config = common.ws().config
    return render_template(
        "case_new.html",
        choices=choices(),
        extra_fields=list(config.extra_fields),
        **context,
    )


@bp.route("/cases/new", methods=["GET", "POST"])
@common.require("register")
def new_case():
    from complaintforms.services.cases import register_case

    if request.method == "GET":
        return _registration(values={"kind": "complaint"}, errors={})
    try:
        data = nested(common.form_values())
        case = register_case(common.ws(), data, by=common.by())
    except ComplaintFormsError as exc:
        return _registration(values=request.form.to_dict(), errors=_beside(exc)), 422
    return redirect(url_for("cases.case_page", case_no=case["case_no"]), 303)


# -- one case -----------------------------------------------------------------------------------------------
READ_ACTIONS = ("case.view", "case.download")


def _steps_now(case: dict, user: dict) -> list[str]:
    possible = listing.possible_steps(case) & set(web_steps.STEPS)
    allowed = roles.steps_for(user, case, possible)
    return sorted(allowed, key=lambda s: STEP_ORDER.index(s) if s in STEP_ORDER else 99)


def _defaults(case: dict, step: str) -> dict:
    """What a step's form starts with: the routing the registration suggests."""
    if step == "accept":
        return {
            "department": case["target"].get("department") or "",
            "category": case.get("category") or "",
            "severity": case.get("severity") or "",
        }
    return {}


def _render_case(
    case_no: str, *, failed: str | None = None, exc: ComplaintFormsError | None = None
):
    from complaintforms.services.cases import case_history, view

    ws, user = common.ws(), common.user()
    stored = common.visible_case(case_no)
    case = view(ws, stored)
    masked = roles.masked_for(user)
    held = False
    if roles.may_take(user, "hold"):
        from complaintforms.services.archive import read_holds

        held = case_no in read_holds(ws)
    events = case_history(ws, case_no)
    timeline = [e for e in events if e.get("action") not in READ_ACTIONS]
    reads = len(events) - len(timeline)
    steps = _steps_now(case, user)
    if failed and failed not in steps:
        steps.append(failed)
    step_errors: dict[str, str] = {}
    if exc is not None and failed:
        names = {f.name for f in STEP_FORMS.get(failed, ())}
        field = exc.field if exc.field in names else "_"
        step_errors = {field: common.message(exc)}
    common.audit("case.view", case_no)
    return render_template(
        "case_page.html",
        case=case,
        rows=listing.record_rows(case, ws.config, masked=masked),
        files=listing.case_files(case, department=masked),
        timeline=[{**e, "label": listing.action_label(e.get("action"))} for e in timeline],
        reads=reads,
        masked=masked,
        held=held,
        steps=[
            {
                "name": s,
                "title": STEP_TITLES.get(s, s),
                "fields": [*STEP_FORMS.get(s, ()), *((RELEASE,) if s == "hold" and held else ())],
                "folded": s in FOLDED and s != failed,
                "hint": STEP_HINTS.get(s),
                "defaults": _defaults(case, s),
            }
            for s in steps
        ],
        failed=failed,
        step_errors=step_errors,
        step_values=request.form.to_dict() if failed else {},
        choices=choices(),
        staff_names=[s.name for s in ws.config.staff],
    ), (422 if exc is not None else 200)


@bp.get("/cases/<case_no>")
def case_page(case_no: str):
    return _render_case(case_no)


@bp.post("/cases/<case_no>/<step>")
def take(case_no: str, step: str):
    ws, user = common.ws(), common.user()
    try:
        name = web_steps.step_named(step).name
        web_steps.take_step(ws, user, case_no, name, common.form_values())
    except NotFoundError:
        abort(404)
    except ValueError:
        abort(404)
    except ForbiddenError:
        raise
    except ComplaintFormsError as exc:
        return _render_case(case_no, failed=name, exc=exc)
    return redirect(url_for("cases.case_page", case_no=case_no), 303)


# -- files --------------------------------------------------------------------------------------------------
INLINE_TYPES = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
}
DOWNLOAD_TYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "tif": "image/tiff",
    "tiff": "image/tiff",
    "heic": "image/heic",
    "html": "text/plain",
}


def _send(data: bytes, name: str):
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    inline = ext in INLINE_TYPES
    response = send_file(
        io.BytesIO(data),
        mimetype=INLINE_TYPES.get(ext) or DOWNLOAD_TYPES.get(ext, "application/octet-stream"),
        as_attachment=not inline,
        download_name=name,
        max_age=0,
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/cases/<case_no>/files/<name>")
def case_file(case_no: str, name: str):
    user = common.user()
    case = common.visible_case(case_no)
    found = listing.find_file(case, name, department=roles.masked_for(user))
    if found is None:
        abort(404)
    try:
        data = common.ws().store.read_file(logical(found["path"]))
    except NotFoundError:
        abort(404)
    common.audit("case.download", case_no, file=name, form=found.get("form"))
    return _send(data, name)


# -- supervision (DESIGN.md section 12) ----------------------------------------------------------------------
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _supervision(result: dict | None = None, errors: dict | None = None, status: int = 200):
    from complaintforms.services.desk import supervision_overview

    overview = supervision_overview(common.ws())
    return render_template(
        "supervision.html",
        overview=overview,
        notices=overview["notices"],
        result=result,
        errors=errors or {},
    ), status


@bp.route("/supervision", methods=["GET", "POST"])
@common.require("supervise")
def supervision():
    from complaintforms.services.supervision import supervise

    if request.method == "GET":
        return _supervision()
    try:
        result = supervise(common.ws(), by=common.by())
    except ComplaintFormsError as exc:
        return _supervision(errors=common.errors_of(exc), status=422)
    return _supervision(result=result)


@bp.get("/supervision/notices/<day>/<name>")
@common.require("supervise")
def notice_file(day: str, name: str):
    from complaintforms.services.desk import notice_file as find_notice

    if not DAY.match(day):
        abort(404)
    found = find_notice(common.ws(), day, name)
    if found is None:
        abort(404)
    try:
        data = common.ws().store.read_file(logical(found["path"]))
    except NotFoundError:
        abort(404)
    common.audit("notice.download", None, file=name, as_of=day)
    return _send(data, name)
