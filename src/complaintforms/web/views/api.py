"""The JSON API under /api/v1/ (DESIGN.md section 11), authenticated by bearer tokens.

Each route answers what the command line's `--json` prints for the same request:

- `GET /api/v1/cases/<case_no>`: `case show --json` (and a `case.view` audit event).
- `GET /api/v1/cases?status=&department=&quarter=&overdue=1&phone=&name=&month=&category=
  &text=&page=&per_page=`: `case list --json`, one page of it:
  `{items, page, per_page, total, pages, next, prev}` (next/prev: the paths of those pages).
- `POST /api/v1/cases`: `case new --from` with the body as the file; 201 with what
  `case new --json` prints, and Location: the case's path.
- `POST /api/v1/cases/<case_no>/<step>`: the step's `--json` (web.steps.take_step).
- `GET /api/v1/reports/quarterly/<YYYYQn>`, `.../monthly/<YYYY-MM>` (`?as_of=`): the figures
  of `report ... --json`, with nothing written (`files` empty).

A department's token sees its department's cases with the complainant masked as on the
slip (services.api.shown_case).

Every error is JSON `{"error": reason in the user's language}`, with `"field"` (the dotted
key) for a refusal (422); 401 without a valid token (app._load_user, which also exempts
bearer requests from CSRF: a session cookie alone never reaches these views).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g, jsonify, request, url_for
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from complaintforms.domain import roles
from complaintforms.errors import (
    ComplaintFormsError,
    ForbiddenError,
    NotFoundError,
    ValidationError,
)
from complaintforms.i18n import N_, _
from complaintforms.services import api
from complaintforms.web import common

bp = Blueprint("api", __name__, url_prefix="/api/v1")

# The query parameters of the case list (the options of `case list`, and the page).
LIST_FILTERS = ("status", "department", "quarter", "overdue", "phone", "name", "month")
LIST_FILTERS += ("category", "text")
LIST_PARAMS = (*LIST_FILTERS, "page", "per_page")
YES = ("1", "true", "yes", "on")
NO = ("0", "false", "no", "off", "")

HTTP_REASONS = {
    400: N_("the request is not understood"),
    403: N_("your role may not do this"),
    404: N_("no such page or case"),
    405: N_("this page does not take that request"),
    413: N_("the upload is too large"),
}


# -- answers ----------------------------------------------------------------------------------
def fail(status: int, reason: str, field: str | None = None, *, with_field: bool = False):
    body: dict[str, Any] = {"error": reason}
    if field is not None or with_field:
        body["field"] = field
    return jsonify(body), status


def refusal(exc: ComplaintFormsError):
    """A library error as the API answers it: 404 for a case or step that is not there for
    this user, 403 for a role that may not, 422 with the field for anything refused."""
    if isinstance(exc, NotFoundError):
        return fail(404, common.message(exc))
    if isinstance(exc, ForbiddenError):
        return fail(403, common.message(exc), exc.field)
    return fail(422, common.message(exc), exc.field, with_field=True)


@bp.errorhandler(Exception)
def api_error(exc: Exception):
    """Whatever a view of the API raises, as JSON: never an HTML page, never a traceback."""
    if isinstance(exc, BadBody):
        return fail(400, common.message(exc.error), exc.error.field)
    if isinstance(exc, HTTPException):
        code = exc.code or 500
        reason = HTTP_REASONS.get(code)
        return fail(code, _(reason) if reason else exc.name)
    if isinstance(exc, ComplaintFormsError):
        return refusal(exc)
    current_app.logger.exception("API request %s %s failed", request.method, request.path)
    return fail(500, _("internal error; the server's log has the details"))


class BadBody(Exception):
    """A request body that is not one JSON object: 400 (not a refusal of its content)."""

    def __init__(self, error: ComplaintFormsError):
        super().__init__(str(error))
        self.error = error


def body(*, empty: bool = False) -> dict:
    """The request's JSON object (read as strictly as a case file); 413 above
    services.api.MAX_BODY, 400 for anything that is not one JSON object."""
    if (request.content_length or 0) > api.MAX_BODY:
        raise RequestEntityTooLarge()
    try:
        return api.read_object(request.get_data(cache=False), empty=empty)
    except ValidationError as exc:
        raise BadBody(exc) from None


def one_arg(name: str) -> str | None:
    values = request.args.getlist(name)
    if len(values) > 1:
        raise ValidationError(N_("{field}: given more than once"), field=name)
    return values[0] if values else None


def check_args(allowed: tuple[str, ...]) -> None:
    """Refuse a query parameter this request does not know (a misspelt filter would
    otherwise answer with every case)."""
    for name in request.args:
        if name not in allowed and not allowed:
            raise ValidationError(N_("{field}: this request takes no parameters"), field=name)
        if name not in allowed:
            raise ValidationError(
                N_("{field}: not a parameter of this request ({choices})"),
                field=name,
                choices=", ".join(allowed),
            )


def may(ability: str) -> None:
    if not roles.may(g.user, ability):
        raise ForbiddenError(N_("your role may not do this"))


# -- cases ------------------------------------------------------------------------------------
@bp.get("/cases/<case_no>")
def show_case(case_no: str):
    """`case show --json`; 404 for a case this user may not see."""
    from complaintforms.services.cases import view

    case = common.visible_case(case_no)
    common.audit("case.view", case_no)
    return jsonify(api.shown_case(g.user, view(common.ws(), case)))


@bp.get("/cases")
def list_cases():
    """`case list --json` for the same filters, one page of it."""
    from complaintforms.services.cases import CaseFilter, iter_cases

    may("cases")
    check_args(LIST_PARAMS)
    given = {name: one_arg(name) for name in LIST_PARAMS}
    overdue = (given.pop("overdue") or "").strip().lower()
    if overdue not in YES + NO:
        raise ValidationError(
            N_("{field}: {value} is not yes or no (1 or 0)"), field="overdue", value=repr(overdue)
        )
    page = api.page_number(given.pop("page"), "page", 1)
    per_page = api.page_number(given.pop("per_page"), "per_page", api.PER_PAGE, api.MAX_PER_PAGE)
    filters = {k: v for k, v in given.items() if v is not None and v.strip() != ""}
    if roles.masked_for(g.user):
        # A department sees complainants masked: finding cases by who complained would
        # tell them what the mask hides.
        for key in ("phone", "name"):
            if key in filters:
                raise ForbiddenError(
                    N_("{field}: only the customer service centre looks cases up by complainant"),
                    field=key,
                )
    flt = CaseFilter(overdue=overdue in YES, **filters)
    items, total = api.visible_page(g.user, iter_cases(common.ws(), flt), page, per_page)
    last = api.pages(total, per_page)

    def link(number: int) -> str:
        args = {k: v for k, v in request.args.items() if k != "page"}
        return url_for("api.list_cases", **args, page=number)

    return jsonify(
        items=items,
        page=page,
        per_page=per_page,
        total=total,
        pages=last,
        next=link(page + 1) if page < last else None,
        prev=link(min(page - 1, last)) if page > 1 else None,
    )


@bp.post("/cases")
def new_case():
    """`case new --from` with the body as the file: 201 with the new case, as `case new
    --json` prints it, and its Location."""
    from complaintforms.services.cases import register_case

    may("register")
    check_args(())
    data = api.registration(body(), g.user)
    case = register_case(common.ws(), data)
    response = jsonify(api.shown_case(g.user, case))
    response.status_code = 201
    response.headers["Location"] = url_for("api.show_case", case_no=case["case_no"])
    return response


@bp.post("/cases/<case_no>/<step>")
def take_step(case_no: str, step: str):
    """One step of a case (web.steps.take_step, the table the pages use): 200 with what the
    step's `--json` prints; 404, 403 (nothing changed), 422 with the field."""
    from complaintforms.web.steps import step_named
    from complaintforms.web.steps import take_step as take

    # In take_step's order, before the body is read: the step exists (404 naming it), the
    # user sees the case (404, the same answer as for no such case), the role may (403).
    chosen = step_named(step)
    common.visible_case(case_no)
    if not roles.may_take(g.user, chosen.name):
        raise ForbiddenError(
            N_("a {role} may not take the step {step}"), role=g.user.get("role"), step=chosen.name
        )
    check_args(())
    fields = api.step_fields(body(empty=True))
    result = take(common.ws(), g.user, case_no, step, fields)
    return jsonify(api.shown_result(g.user, result))


# -- reports -----------------------------------------------------------------------------------
def report(parse, period: str, field: str):
    may("reports")
    check_args(("as_of",))
    return jsonify(api.report_figures(common.ws(), parse(period, field), one_arg("as_of")))


@bp.get("/reports/quarterly/<quarter>")
def quarterly(quarter: str):
    """`report quarterly --json`'s figures (`files` empty: nothing is written)."""
    from complaintforms.domain.periods import parse_quarter

    return report(parse_quarter, quarter, "quarter")


@bp.get("/reports/monthly/<month>")
def monthly(month: str):
    """`report monthly --json`'s figures (`files` empty: nothing is written)."""
    from complaintforms.domain.periods import parse_month

    return report(parse_month, month, "month")
