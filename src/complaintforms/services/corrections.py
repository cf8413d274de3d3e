"""What an office meets beyond the happy path (DESIGN.md section 13): corrections (更正),
void registrations (作废) and penalties recorded before closing, as library calls.

Each goes through services.steps.run_step like the procedure's steps: the pure workflow
function, the form it issues rendered with no lock held, one audit event.
"""

from __future__ import annotations

from typing import Any

from complaintforms.domain import model, workflow
from complaintforms.domain.paper import cn_date
from complaintforms.domain.timeutil import from_iso, iso
from complaintforms.i18n import N_
from complaintforms.services.cases import work_calendar
from complaintforms.services.messages import Notice
from complaintforms.services.procedure import step_time
from complaintforms.services.steps import FORMATS, StepResult, run_step
from complaintforms.workspace import Workspace


def amend_case(
    ws: Workspace,
    case_no: str,
    changes: dict[str, Any],
    *,
    by: str,
    reason: str,
    at: object = None,
    formats: tuple[str, ...] = FORMATS,
) -> StepResult:
    """更正: correct registration fields (same checks as `case new`); the record card is
    issued again with a new serial, the earlier one kept and marked superseded. When the
    kind or the received time changes, a routed case's due date is counted again; a case
    that becomes major gets its 重大投诉呈报单."""
    from complaintforms.services.escalation import when_major

    cal = work_calendar(ws)
    when = step_time(at)
    notes: list[Notice] = []
    major = when_major(ws, by=by, reason=reason)

    def change(case: dict) -> dict:
        new, changed = workflow.amend(case, ws.config, changes, at=when, by=by, reason=reason)
        # 群体投诉: a count corrected up to the threshold makes the case major, unless the
        # severity is corrected with it (DESIGN.md section 12).
        severity = model.group_severity(case, new, ws.config, given="severity" in changes)
        if severity != new["severity"]:
            changed = dict(
                sorted(
                    {**changed, "severity": {"before": new["severity"], "after": severity}}.items()
                )
            )
            new["severity"] = severity
            new["amendments"] = [
                *new["amendments"][:-1],
                {**new["amendments"][-1], "changes": changed},
            ]
        due = new["assignment"].get("due")
        if due and ({"kind", "received_at"} & set(changed)):
            received = from_iso(new["received_at"]).date()
            recounted = workflow.due_date(
                new, ws.config.deadlines, cal, received, bool(new["assignment"].get("special"))
            ).isoformat()
            if recounted != due:
                new["assignment"] = {**new["assignment"], "due": recounted}
                notes[:] = [
                    Notice(
                        N_("{case_no}: the due date is now {due} (was {before})"),
                        case_no=case_no,
                        due=cn_date(recounted),
                        before=cn_date(due),
                    )
                ]
        for doc in new["documents"]:
            if doc["form"] == "record_card" and not doc.get("superseded_at"):
                doc["superseded_at"] = iso(when)
        return new

    result = run_step(
        ws,
        case_no,
        "case.amend",
        by,
        change,
        forms=lambda b, a: (("record_card", None), *major(b, a)),
        formats=formats,
        event={"reason": reason},
    )
    result.warnings = [*cal.warnings, *notes]
    return result


def void_case(
    ws: Workspace, case_no: str, *, by: str, reason: str, at: object = None
) -> StepResult:
    """作废: a registration made in error (a test, a duplicate), before it is handled."""
    when = step_time(at)
    return run_step(
        ws,
        case_no,
        "case.void",
        by,
        lambda c: workflow.void(c, at=when, by=by, reason=reason),
        event={"reason": reason},
    )


def penalize_case(
    ws: Workspace,
    case_no: str,
    *,
    by: str,
    kind: str,
    person: str,
    amount: object = None,
    note: str | None = None,
    at: object = None,
) -> StepResult:
    """A penalty (the direct person, the department head...) recorded before closing."""
    when = step_time(at)
    return run_step(
        ws,
        case_no,
        "case.penalize",
        by,
        lambda c: workflow.penalize(
            c, ws.config, at=when, by=by, kind=kind, person=person, amount_=amount, note=note
        ),
    )
