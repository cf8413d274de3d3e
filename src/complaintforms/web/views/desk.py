"""The desk (GET /): what is due today, overdue, awaiting return and awaiting call-back.

A clerk and a manager see the whole centre's lists; a department user only the cases routed
to its department (complainants masked as on the slip); an auditor and an admin, who have
no cases to work on, a page pointing them at theirs. The figures come from services.desk.
"""

from __future__ import annotations

from flask import Blueprint, render_template

from complaintforms.domain import roles
from complaintforms.services import desk as desk_service
from complaintforms.web import common

bp = Blueprint("desk", __name__)


@bp.get("/")
def desk():
    user = common.user()
    if not roles.may(user, "cases"):
        return render_template("desk.html", figures=None, lists=())
    department = user.get("department") if user.get("role") == "department" else None
    if user.get("role") == "department" and not department:
        return render_template("desk.html", figures=None, lists=())
    figures = desk_service.desk(common.ws(), department=department)
    names = desk_service.DEPARTMENT_LISTS if department else desk_service.LISTS
    return render_template("desk.html", figures=figures, lists=names, masked=bool(department))
