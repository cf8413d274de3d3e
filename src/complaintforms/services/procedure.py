"""The routing procedure's steps (DESIGN.md section 1, steps 2-7), as library calls.

Each step applies the pure workflow function to the case, renders the step's form when it
has one (with no lock held), and stores the case with one audit event of what changed
(services.steps.run_step). A refused step raises before anything is stored, so the case and
its history stay as they were.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from complaintforms.domain import model, workflow
from complaintforms.domain.paper import cn_date
from complaintforms.domain.timeutil import iso, parse_time
from complaintforms.domain.timeutil import now as clock_now
from complaintforms.errors import StateError, ValidationError
from complaintforms.i18n import N_
from complaintforms.services.cases import view, work_calendar
from complaintforms.services.messages import Notice
from complaintforms.services.steps import FORMATS, StepResult, run_step
from complaintforms.storage.base import Transaction
from complaintforms.workspace import Workspace

__all__ = ["FORMATS", "StepResult"]


def step_time(value: object) -> dt.datetime:
    """`at`: when it happened on paper; default now; never in the future."""
    return parse_time(value, "at") if value else clock_now()


def accept_case(
    ws: Workspace,
    case_no: str,
    *,
    by: str,
    at: object = None,
    department: str,
    handler: str | None = None,
    special: bool = False,
    severity: str | None = None,
    category: str | None = None,
    validity: str | None = None,
) -> StepResult:
    """受理: route to a department with a due date in working days. A case that becomes
    major here gets its 重大投诉呈报单 in the same step."""
    from complaintforms.services.escalation import when_major

    cal = work_calendar(ws)
    when = step_time(at)
    result = run_step(
        ws,
        case_no,
        "case.accept",
        by,
        lambda c: workflow.accept(
            c,
            ws.config,
            cal,
            at=when,
            by=by,
            department=department,
            handler=handler,
            special=special,
            severity=severity,
            category=category,
            validity=validity,
        ),
        forms=when_major(ws, by=by),
    )
    result.warnings = cal.warnings
    return result


def reject_case(
    ws: Workspace,
    case_no: str,
    *,
    by: str,
    reason: str,
    at: object = None,
    validity: str | None = None,
) -> StepResult:
    """不受理: close with a courteous reply letter to the complainant."""
    when = step_time(at)
    reply = {
        "reason": model.text(reason, "reason", required=True),
        "date": cn_date(iso(when)),
        "by": by,
    }
    return run_step(
        ws,
        case_no,
        "case.reject",
        by,
        lambda c: workflow.reject(c, at=when, by=by, reason=reason, validity=validity),
        forms=(("reply_letter", lambda _c: {"reply": reply}),),
    )


# A form issued only for a case that is with its department, and the refusal otherwise.
NOT_ROUTED = {
    "feedback_slip": N_(
        "{case_no}: a feedback slip is issued for a case that is assigned to a department "
        "(this one is {status})"
    ),
    "contact_letter": N_(
        "{case_no}: a work contact letter is issued for a case that is assigned to a "
        "department (this one is {status})"
    ),
}


def _require_routed(case: dict, form: str) -> None:
    if case["status"] != "assigned":
        raise StateError(NOT_ROUTED[form], case_no=case["case_no"], status=case["status"])


def issue_slip(
    ws: Workspace, case_no: str, *, by: str, formats: tuple[str, ...] = FORMATS
) -> StepResult:
    """三来处理反馈单 for the responsible department."""

    def check(case: dict) -> dict:
        _require_routed(case, "feedback_slip")
        return case

    return run_step(
        ws, case_no, "slip.issue", by, check, forms=(("feedback_slip", None),), formats=formats
    )


def issue_letter(
    ws: Workspace,
    case_no: str,
    *,
    by: str,
    to: str | None = None,
    formats: tuple[str, ...] = FORMATS,
) -> StepResult:
    """工作联系函 with its 签收回执, to the responsible (or another named) department."""
    config = ws.config
    code = model.department_code(config, to, "to") if to else None

    def check(case: dict) -> dict:
        _require_routed(case, "contact_letter")
        return case

    def letter(case: dict) -> dict:
        dep = config.department(code or case["assignment"]["department"])
        return {
            "letter": {
                "to": dep.name,
                "to_code": dep.code,
                "to_head": dep.head,
                "sender": by,
                "sender_unit": config.org_unit,
                "date": cn_date(iso(clock_now())),
                "requirement": "",
            }
        }

    return run_step(
        ws, case_no, "letter.issue", by, check, forms=(("contact_letter", letter),), formats=formats
    )


def return_slip(
    ws: Workspace,
    case_no: str,
    *,
    by: str,
    at: object = None,
    findings: str,
    cause: str | None,
    responsible: str | None,
    plan: str,
    approved_by: str,
    result: str,
    customer_signed: bool,
    approved_at: object = None,
    notified_at: object = None,
    compensation: object = None,
    scan: Path | None = None,
    no_code: bool = False,
) -> StepResult:
    """What the returned paper slip says: the case is resolved, with the compensation paid
    (赔偿, 元) if any. `scan` goes through the same reading and QR checks as `scan intake`;
    a scan with no code is taken only with `no_code`."""
    from complaintforms.services.intake import attach_for_case

    when = step_time(at)
    approved = parse_time(approved_at, "approved_at") if approved_at else None
    notified = parse_time(notified_at, "notified_at") if notified_at else None

    def change(case: dict) -> dict:
        return workflow.record_return(
            case,
            at=when,
            by=by,
            findings=findings,
            cause=cause,
            responsible=responsible,
            plan=plan,
            approved_by=approved_by,
            result=result,
            customer_signed=customer_signed,
            approved_at=approved,
            notified_at=notified,
            compensation=compensation,
        )

    def with_scan(txn: Transaction, case: dict) -> dict:
        return attach_for_case(txn, ws, case, Path(scan), iso(when), no_code=no_code)

    outcome = run_step(ws, case_no, "slip.return", by, change, inside=with_scan if scan else None)
    if not customer_signed:
        outcome.warnings.append(
            Notice(
                N_("{case_no}: the complainant did not sign the slip (投诉人未签字); recorded"),
                case_no=case_no,
            )
        )
    return outcome


def callback_case(
    ws: Workspace,
    case_no: str,
    *,
    by: str,
    satisfaction: str | None = None,
    note: str | None = None,
    at: object = None,
    reached: bool = True,
) -> StepResult:
    """回访: the centre calls the complainant back; `reached=False` records a call that
    reached nobody (无法回访)."""
    when = step_time(at)
    return run_step(
        ws,
        case_no,
        "case.callback",
        by,
        lambda c: workflow.callback(
            c, at=when, by=by, satisfaction=satisfaction, note=note, reached=reached
        ),
    )


def extend_case(
    ws: Workspace,
    case_no: str,
    *,
    by: str,
    reason: str,
    approved_by: str,
    days: object = None,
    to: object = None,
    notified_at: object = None,
    at: object = None,
) -> StepResult:
    """延期: a later due date, approved by a manager, asked for before the due date."""
    from complaintforms.domain.timeutil import parse_date

    cal = work_calendar(ws)
    when = step_time(at)
    count = _whole_days(days) if days is not None and days != "" else None
    new_date = parse_date(to, "to") if to else None
    notified = parse_time(notified_at, "notified_at") if notified_at else None
    result = run_step(
        ws,
        case_no,
        "case.extend",
        by,
        lambda c: workflow.extend(
            c,
            ws.config,
            cal,
            at=when,
            by=by,
            reason=reason,
            approved_by=approved_by,
            days=count,
            to=new_date,
            notified_at=notified,
        ),
        event={"reason": reason},
    )
    result.warnings = cal.warnings
    return result


def _whole_days(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value).strip()
    if not text.isascii() or not text.isdigit() or len(text) > 4:
        raise ValidationError(N_("{field}: must be a whole number of at least 1"), field="days")
    return int(text)


def send_back_case(
    ws: Workspace, case_no: str, *, by: str, reason: str, at: object = None
) -> StepResult:
    """退单: the department returns a misrouted case; it is routed again."""
    when = step_time(at)
    return run_step(
        ws,
        case_no,
        "case.send_back",
        by,
        lambda c: workflow.send_back(c, at=when, by=by, reason=reason),
        event={"reason": reason},
    )


def reopen_case(
    ws: Workspace, case_no: str, *, by: str, reason: str, at: object = None
) -> StepResult:
    """A dissatisfied (or otherwise unfinished) case goes back to its department."""
    cal = work_calendar(ws)
    when = step_time(at)
    result = run_step(
        ws,
        case_no,
        "case.reopen",
        by,
        lambda c: workflow.reopen(c, ws.config, cal, at=when, by=by, reason=reason),
    )
    result.warnings = cal.warnings
    return result


def close_case(
    ws: Workspace,
    case_no: str,
    *,
    by: str,
    summary: str,
    at: object = None,
    cause: str | None = None,
    measures: str | None = None,
    penalty: str | None = None,
    penalty_person: str | None = None,
    validity: str | None = None,
    formats: tuple[str, ...] = FORMATS,
) -> StepResult:
    """结案: summary, cause, measures, penalty with its amount from the config; issues the
    投诉处理结案单, which shows on paper how the case ended."""
    when = step_time(at)
    return run_step(
        ws,
        case_no,
        "case.close",
        by,
        lambda c: workflow.close(
            c,
            ws.config,
            at=when,
            by=by,
            summary=summary,
            cause=cause,
            measures=measures,
            penalty=penalty,
            penalty_person=penalty_person,
            validity=validity,
        ),
        forms=(("closing_form", None),),
        formats=formats,
    )


def signoff_cases(
    ws: Workspace,
    case_nos: list[str] | None = None,
    *,
    quarter: str | None = None,
    by: str,
    at: object = None,
) -> list[dict]:
    """审核: the manager signs off closed cases (the quarterly review of last quarter's closed
    cases with --quarter). All or nothing; a signed-off case can no longer be changed."""
    from complaintforms.services.archive import select_for_quarter

    when = step_time(at)
    targets = (
        select_for_quarter(ws, quarter, "closed")
        if quarter
        else list(dict.fromkeys(case_nos or []))
    )
    if not targets and quarter:
        raise ValidationError(
            N_("no closed cases to sign off closed in {quarter}"), quarter=quarter.upper()
        )
    if not targets:
        raise ValidationError(N_("no closed cases to sign off"))
    now = iso(clock_now())
    signed = []
    with ws.store.transaction() as txn:
        for case_no in targets:
            before = txn.get(case_no)
            after = workflow.signoff(before, at=when, by=by)
            old, new = workflow.diff(before, after)
            txn.replace(after)
            txn.log("case.signoff", by, case_no, at=now, before=old, after=new)
            signed.append(view(ws, after))
    return signed
