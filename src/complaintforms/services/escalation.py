"""When a case is or becomes major (重大投诉, DESIGN.md section 13): the 重大投诉呈报单 as a
form that the step making the case major issues with it (registration, acceptance,
correction). Only what those steps need, so that registration does not import the step
machinery (services.major issues the report on its own)."""

from __future__ import annotations

from collections.abc import Callable

from complaintforms.documents.forms import major_view
from complaintforms.domain import model
from complaintforms.domain.timeutil import iso
from complaintforms.domain.timeutil import now as clock_now
from complaintforms.workspace import Workspace

FORM = "major_report"


def became_major(before: dict | None, after: dict) -> bool:
    """True when `after` is major and `before` was not (or there was no `before`: a case
    registered as major). Pure; for registration, acceptance and amendment."""
    if after.get("severity") != "major":
        return False
    return before is None or before.get("severity") != "major"


def major_form(
    ws: Workspace, *, by: str, reason: str | None = None, impact: str | None = None
) -> tuple[str, Callable[[dict], dict]]:
    """The report as a form a step issues (services.steps.FormIssue): accepting or
    correcting a case that becomes major issues it in the same step."""
    why = model.text(reason, "reason")
    effect = model.text(impact, "impact")
    config = ws.config
    date = iso(clock_now())

    def values(case: dict) -> dict:
        return {"major": major_view(case, config, by=by, date=date, reason=why, impact=effect)}

    return FORM, values


def when_major(
    ws: Workspace, *, by: str, reason: str | None = None
) -> Callable[[dict, dict], tuple]:
    """`forms` for a step (services.steps.run_step): the report when the step makes the case
    major, nothing otherwise."""

    def forms(before: dict, after: dict) -> tuple:
        if became_major(before, after):
            return (major_form(ws, by=by, reason=reason),)
        return ()

    return forms
