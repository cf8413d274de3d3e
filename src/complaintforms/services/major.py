"""Major complaints (重大投诉, DESIGN.md section 13): the 重大投诉呈报单.

When a case is or becomes major (at registration, acceptance or amendment), the centre
reports it at once to `escalation.major_to` (default 总经理): the facts, why it is major, the
impact, the proposed handling, and boxes for the instruction and the signature. The step
that made it major calls `became_major(before, after)` and then `issue_major_report`; the
report can also be issued again by hand (a new serial each time).
"""

from __future__ import annotations

from complaintforms.domain import model
from complaintforms.domain.enums import label
from complaintforms.errors import StateError
from complaintforms.i18n import N_
from complaintforms.services.escalation import FORM, became_major, major_form
from complaintforms.services.steps import FORMATS, StepResult, run_step
from complaintforms.workspace import Workspace

__all__ = ["ACTION", "ACTION_LABEL", "FORM", "became_major", "issue_major_report"]

# The audit event of an issue, and how a person reads it in the case history.
ACTION = "major.report"
ACTION_LABEL = N_("major complaint report issued (重大投诉呈报单)")
# A case no longer open to a report: sealed by the manager's sign-off, or void.
CLOSED_TO_REPORTS = ("signed_off", "archived", "void")


def _require_reportable(case: dict) -> None:
    status = case["status"]
    if status in CLOSED_TO_REPORTS:
        raise StateError(
            N_(
                "{case_no}: a major complaint report is not issued for a case that is "
                "{status_label}"
            ),
            case_no=case["case_no"],
            status=status,
            status_label=label("status", status),
        )
    if case.get("severity") != "major":
        raise StateError(
            N_(
                "{case_no}: severity is {severity_label}; a major complaint "
                "report is issued for a major case (重大) only"
            ),
            case_no=case["case_no"],
            severity=case.get("severity") or "none",
            severity_label=label("severity", case.get("severity")) or "-",
        )


def issue_major_report(
    ws: Workspace,
    case_no: str,
    *,
    by: str,
    reason: str | None = None,
    impact: str | None = None,
    formats: tuple[str, ...] = FORMATS,
) -> StepResult:
    """重大投诉呈报单 of a major case, to `escalation.major_to`. `reason` (why it is major:
    media exposure, conflict, wide impact; e.g. the acceptance or amendment reason) and
    `impact` are printed as given; left out, they are boxes to fill in by hand. The proposed
    handling is the case's routing once it has one. Refused for a case that is not major,
    and for a signed-off, archived or void case; nothing is stored then."""
    who = model.text(by, "by", required=True, limit=model.MAX_NAME)

    def check(case: dict) -> dict:
        _require_reportable(case)
        return case

    issue = major_form(ws, by=who, reason=reason, impact=impact)
    return run_step(ws, case_no, ACTION, who, check, forms=(issue,), formats=formats)
