"""The statistics reports and the opinion register in the browser (DESIGN.md section 11).

    GET  /reports                                    recent quarters and months
    GET  /reports/quarterly/<YYYYQn>                 figures, tables, charts (read only)
    GET  /reports/monthly/<YYYY-MM>                  the same for a month
    GET  /reports/<kind>/<p>/chart/<n>.png           chart n of the page's figures
    GET  /reports/<kind>/<p>/figures.csv             the figures as they are now, CSV
    POST /reports/<kind>/<p>/build                   build and store PDF, docx and CSV (生成报表)
    GET  /reports/<kind>/<p>/files/<name>            one stored file of that period's reports
    GET  /register                                   recent months
    GET  /register/<YYYY-MM>                         the month's register rows
    POST /register/<YYYY-MM>/render                  render and store the register PDF and docx
    GET  /register/<YYYY-MM>/files/<name>            one stored file of that month's registers

A GET computes the figures and stores nothing (downloads are audit events); what is
stored is stored by a POST. Reports: ability `reports` (building them: the manager);
the register: ability `register_book`.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, g, redirect, render_template, request, url_for

from complaintforms.domain import roles
from complaintforms.domain.paper import cn_period
from complaintforms.domain.timeutil import now as clock_now
from complaintforms.errors import ComplaintFormsError
from complaintforms.services import webviews
from complaintforms.web import common

bp = Blueprint("reports", __name__)

KINDS = "<any(quarterly, monthly):kind>"
MIMETYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "csv": "text/csv; charset=utf-8",
    "html": "text/plain; charset=utf-8",  # never rendered as a page of this site
}


def may_build() -> bool:
    """Building and storing a report is the manager's; the auditor reads and changes nothing
    (DESIGN.md section 9)."""
    return roles.may(g.user, "build_reports")


def _bad_period(exc: ComplaintFormsError):
    """A URL that names no period: 404, with the library's reason."""
    return render_template("error.html", status=404, reason=common.message(exc)), 404


def _period(kind: str, text: str):
    try:
        return webviews.period_of(kind, text), None
    except ComplaintFormsError as exc:
        return None, _bad_period(exc)


def _download(data: bytes, fmt: str, name: str, action: str, **fields) -> Response:
    common.audit(action, None, file=name, **fields)
    response = Response(data, mimetype=MIMETYPES[fmt])
    disposition = "inline" if fmt == "pdf" else "attachment"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


# -- reports --------------------------------------------------------------------------------
@bp.get("/reports")
@common.require("reports")
def index():
    today = clock_now().date()
    return render_template(
        "reports.html",
        quarters=webviews.recent_quarters(today),
        months=webviews.recent_months(today),
        stored=webviews.stored_report_periods(common.ws()),
        cn_period=cn_period,
    )


def _figures(period, as_of: str | None):
    from complaintforms.services.reports import period_figures

    return period_figures(common.ws(), period.label, as_of or None)[1]


@bp.get(f"/reports/{KINDS}/<period>")
@common.require("reports")
def period(kind: str, period: str):
    from complaintforms.services.reports import report_context

    found, bad = _period(kind, period)
    if bad:
        return bad
    if found.label != period:  # 2026q4, 2026年第四季度: the canonical address
        kept = {k: v for k, v in request.args.items() if k == "as_of"}
        return redirect(url_for("reports.period", kind=kind, period=found.label, **kept))
    ws = common.ws()
    as_of = request.args.get("as_of", "").strip()
    try:
        figs = _figures(found, as_of)
    except ComplaintFormsError as exc:
        return render_template(
            "reports_period.html",
            kind=kind,
            period=found,
            cn_period=cn_period,
            errors=common.errors_of(exc),
            values={"as_of": as_of},
            builds=webviews.report_builds(ws, found),
            may_build=may_build(),
        ), 422
    context = report_context(figs, ws.config, found)
    chart_key = webviews.remember_charts(figs, context["charts"])
    return render_template(
        "reports_period.html",
        kind=kind,
        period=found,
        cn_period=cn_period,
        figs=figs,
        context=context,
        summary=webviews.summary_rows(context),
        department_columns=webviews.DEPARTMENT_COLUMNS,
        charts=range(len(context["charts"])),
        chart_key=chart_key,
        values={"as_of": as_of},
        as_of=as_of,
        builds=webviews.report_builds(ws, found),
        may_build=may_build(),
    )


@bp.get(f"/reports/{KINDS}/<period>/chart/<int:n>.png")
@common.require("reports")
def chart(kind: str, period: str, n: int):
    found, bad = _period(kind, period)
    if bad or found.label != period:
        abort(404)
    # The page names its figures (`v`): while their charts are kept, nothing is computed.
    png = webviews.kept_chart_png(request.args.get("v", ""), n)
    if png is not None:
        return _png(png)
    try:
        figs = _figures(found, request.args.get("as_of", "").strip())
    except ComplaintFormsError:
        abort(404)
    png = webviews.chart_png(figs, common.ws().config, n)
    if png is None:
        abort(404)
    return _png(png)


def _png(png: bytes) -> Response:
    response = Response(png, mimetype="image/png")
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


@bp.get(f"/reports/{KINDS}/<period>/figures.csv")
@common.require("reports")
def figures_csv(kind: str, period: str):
    from complaintforms.services.reports import figures_csv as as_csv

    found, bad = _period(kind, period)
    if bad or found.label != period:
        abort(404)
    as_of = request.args.get("as_of", "").strip()
    try:
        figs = _figures(found, as_of)
    except ComplaintFormsError as exc:
        return render_template("error.html", status=422, reason=common.message(exc)), 422
    name = f"figures-{found.label}-{figs['as_of']}.csv"
    return _download(as_csv(figs), "csv", name, "report.download", period=found.label)


@bp.post(f"/reports/{KINDS}/<period>/build")
@common.require("reports")
def build(kind: str, period: str):
    from complaintforms.services.reports import build_report

    if not may_build():
        abort(403)
    found, bad = _period(kind, period)
    if bad:
        return bad
    as_of = request.form.get("as_of", "").strip()
    try:
        build_report(common.ws(), found.label, as_of=as_of or None, by=common.by())
    except ComplaintFormsError as exc:
        ws = common.ws()
        return render_template(
            "reports_period.html",
            kind=kind,
            period=found,
            cn_period=cn_period,
            errors=common.errors_of(exc),
            values={"as_of": as_of},
            builds=webviews.report_builds(ws, found),
            may_build=may_build(),
        ), 422
    args = {"as_of": as_of} if as_of else {}
    return redirect(url_for("reports.period", kind=kind, period=found.label, built=1, **args), 303)


@bp.get(f"/reports/{KINDS}/<period>/files/<name>")
@common.require("reports")
def report_file(kind: str, period: str, name: str):
    found, bad = _period(kind, period)
    if bad or found.label != period:
        abort(404)
    stored = webviews.stored_file(common.ws(), webviews.report_builds(common.ws(), found), name)
    if stored is None:
        abort(404)
    data, fmt = stored
    return _download(data, fmt, name, "report.download", period=found.label)


# -- the opinion register -----------------------------------------------------------------------
@bp.get("/register")
@common.require("register_book")
def register_index():
    chosen = request.args.get("month", "").strip()
    if chosen:
        try:
            month = webviews.month_of(chosen)
        except ComplaintFormsError as exc:
            return render_template(
                "register.html",
                months=webviews.recent_months(clock_now().date()),
                cn_period=cn_period,
                errors=common.errors_of(exc),
                values={"month": chosen},
            ), 422
        return redirect(url_for("reports.register_month", month=month))
    return render_template(
        "register.html", months=webviews.recent_months(clock_now().date()), cn_period=cn_period
    )


def _month(text: str):
    try:
        return webviews.month_of(text), None
    except ComplaintFormsError as exc:
        return None, _bad_period(exc)


def _register_page(month: str, status: int = 200, **context):
    from complaintforms.services.opinions import register_rows

    ws = common.ws()
    department = (context.pop("department", None) or "").strip() or None
    errors = context.pop("errors", None)
    rows: list[dict] = []
    try:
        rows = register_rows(ws, month, department)
    except ComplaintFormsError as exc:
        errors = {**(errors or {}), **common.errors_of(exc)}
        status = 422
    return render_template(
        "register_month.html",
        month=month,
        cn_period=cn_period,
        rows=rows,
        department=department or "",
        departments=[(d.code, d.name) for d in ws.config.departments],
        builds=webviews.register_builds(ws, month),
        errors=errors,
        values={"department": department or ""},
        **context,
    ), status


@bp.get("/register/<month>")
@common.require("register_book")
def register_month(month: str):
    found, bad = _month(month)
    if bad:
        return bad
    if found != month:
        kept = {k: v for k, v in request.args.items() if k == "department"}
        return redirect(url_for("reports.register_month", month=found, **kept))
    return _register_page(found, department=request.args.get("department"))


@bp.post("/register/<month>/render")
@common.require("register_book")
def register_render(month: str):
    from complaintforms.services.opinions import render_register

    found, bad = _month(month)
    if bad:
        return bad
    department = request.form.get("department", "").strip() or None
    try:
        render_register(common.ws(), found, department=department, by=common.by())
    except ComplaintFormsError as exc:
        return _register_page(found, 422, department=department, errors=common.errors_of(exc))
    args = {"department": department} if department else {}
    return redirect(url_for("reports.register_month", month=found, rendered=1, **args), 303)


@bp.get("/register/<month>/files/<name>")
@common.require("register_book")
def register_file(month: str, name: str):
    found, bad = _month(month)
    if bad or found != month:
        abort(404)
    stored = webviews.stored_file(common.ws(), webviews.register_builds(common.ws(), found), name)
    if stored is None:
        abort(404)
    data, fmt = stored
    return _download(data, fmt, name, "register.download", month=found)


__all__ = ["bp"]
