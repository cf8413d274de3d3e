"""The auditor's archive in the browser (DESIGN.md section 11), ability `archive`:

    GET  /archive?case=&complainant=&department=&category=&text=&from=&to=   search
    GET  /archive/<case_no>               the bundle: its case, bag-info and contents
    POST /archive/<case_no>/verify        check it (manifests, the digests recorded on the
                                          case and in the audit log); every problem shown
    GET  /archive/<case_no>/bundle        the zip (audit event case.download)

A case that is not archived is no page of the archive: 404 (as is a case the user may not
see). The case number names the bundle: no path from the request is ever opened.
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request, send_file

from complaintforms.errors import ComplaintFormsError
from complaintforms.i18n import N_, _
from complaintforms.storage.paths import logical
from complaintforms.web import common

bp = Blueprint("archive", __name__)

# The search fields (the query's names) -> services.archive.search's keywords.
CRITERIA = {
    "case": "case_no",
    "complainant": "complainant",
    "department": "department",
    "category": "category",
    "text": "text",
    "from": "date_from",
    "to": "date_to",
}
# How this page names its fields beside a refusal (those common.FIELD_LABELS lacks).
FIELDS = {
    "case": N_("case number"),
    "from": N_("received on or after"),
    "to": N_("received on or before"),
    "text": N_("words in the case"),
}


def field_name(field: str) -> str:
    return _(FIELDS[field]) if field in FIELDS else common.field_label(field)


def message(exc: ComplaintFormsError) -> str:
    return exc.render(_, field_name)


def shown(text) -> str:
    render = getattr(text, "render", None)
    return render(_, field_name) if callable(render) else _(str(text))


@bp.get("/archive")
@common.require("archive")
def archive():
    from complaintforms.services.archive import search

    ws = common.ws()
    values = {name: request.args.get(name, "").strip() for name in CRITERIA}
    criteria = {CRITERIA[name]: value for name, value in values.items() if value}
    status, errors, rows = 200, None, []
    try:
        rows = search(ws, **criteria)
    except ComplaintFormsError as exc:
        status, errors = 422, {exc.field or "_": message(exc)}
    rows.sort(key=lambda r: (r["closed_at"], r["case_no"]), reverse=True)
    return render_template(
        "archive.html",
        rows=rows,
        searched=bool(criteria),
        values=values,
        errors=errors,
        departments=[(d.code, d.name) for d in ws.config.departments],
        department_name=lambda code: department_name(ws, code),
    ), status


def department_name(ws, code: str | None) -> str:
    department = ws.config.department(code) if code else None
    return department.name if department else (code or "")


def archived_case(case_no: str) -> dict:
    """The case, if this user sees it and it has a bundle; else 404."""
    case = common.visible_case(case_no)
    if not case.get("archive", {}).get("bundle"):
        abort(404)
    return case


def _page(case: dict, status: int = 200, **context):
    from complaintforms.services.archive import show

    ws = common.ws()
    info, problem = None, None
    disposed = case["archive"].get("disposed")
    if not disposed:
        try:
            info = show(ws, case["case_no"])
        except ComplaintFormsError as exc:
            problem = message(exc)
    dep = case["assignment"].get("department") or case["target"].get("department")
    return render_template(
        "archive_case.html",
        case=case,
        info=info,
        problem=problem,
        disposed=disposed,
        department=department_name(ws, dep),
        shown=shown,
        **context,
    ), status


@bp.get("/archive/<case_no>")
@common.require("archive")
def bundle_page(case_no: str):
    case = archived_case(case_no)
    common.audit("case.view", case["case_no"], page="archive")
    return _page(case)


@bp.post("/archive/<case_no>/verify")
@common.require("archive")
def verify(case_no: str):
    from complaintforms.services.archive import ArchiveVerificationError
    from complaintforms.services.archive import verify as verify_bundles

    case = archived_case(case_no)
    if case["archive"].get("disposed"):
        return _page(
            case, 422, verified=False, problems=[], refused=_("the bundle was disposed of")
        )
    try:
        verify_bundles(common.ws(), [case["case_no"]])
    except ArchiveVerificationError as exc:
        return _page(case, verified=False, problems=exc.problems)
    except ComplaintFormsError as exc:
        return _page(case, 422, verified=False, problems=[], refused=message(exc))
    return _page(case, verified=True, problems=[])


@bp.get("/archive/<case_no>/bundle")
@common.require("archive")
def bundle(case_no: str):
    case = archived_case(case_no)
    if case["archive"].get("disposed"):
        abort(404)
    ws = common.ws()
    recorded = case["archive"]["bundle"]
    if not ws.store.file_exists(logical(recorded)):
        abort(404)
    path = ws.local_path(recorded)
    common.audit("case.download", case["case_no"], file=recorded, what="bundle")
    response = send_file(
        path,
        mimetype="application/zip",
        as_attachment=True,
        download_name=f"{case['case_no']}.zip",
        conditional=False,
        etag=False,
        max_age=0,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


__all__ = ["bp"]
