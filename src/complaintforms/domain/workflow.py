"""The procedure as a state machine: one transition table, one pure function per step.

No I/O: each step takes a case dict and returns a new one, or raises StateError /
ValidationError. The service layer stores the result and writes the audit event.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from complaintforms.config import Config
from complaintforms.domain import model
from complaintforms.domain.enums import label, parse_enum
from complaintforms.domain.timeutil import from_iso, iso, minute
from complaintforms.domain.workdays import WorkCalendar
from complaintforms.errors import ComplaintFormsError, StateError, ValidationError
from complaintforms.i18n import N_

# (state, step) -> next state
TRANSITIONS: dict[tuple[str, str], str] = {
    ("registered", "accept"): "assigned",
    ("registered", "reject"): "rejected",
    ("assigned", "return"): "resolved",
    ("resolved", "callback"): "followed_up",
    ("followed_up", "close"): "closed",
    ("followed_up", "reopen"): "assigned",
    ("closed", "reopen"): "assigned",
    ("closed", "signoff"): "signed_off",
    ("signed_off", "archive"): "archived",
}

# How a refusal names each step: message ids, shown in the user's language (the Chinese
# catalog names the step by the procedure's own word: 受理, 回访, 结案...).
STEP_NAMES = {
    "accept": N_("accept (受理)"),
    "reject": N_("reject (不受理)"),
    "return": N_("record the returned slip"),
    "callback": N_("call back (回访)"),
    "close": N_("close (结案)"),
    "reopen": N_("reopen"),
    "signoff": N_("sign off (审核)"),
    "archive": N_("archive"),
}


def _text(msgid: str, **params: Any) -> ComplaintFormsError:
    """A part of a message (a step's name, a hint) that is translated with the message."""
    return ComplaintFormsError(msgid, **params)


def _steps(steps: list[str]) -> ComplaintFormsError:
    """'reopen, sign off (审核)': the names of the steps, each translated."""
    out = _text(STEP_NAMES[steps[0]])
    for step in steps[1:]:
        out = _text(N_("{steps}, {step}"), steps=out, step=_text(STEP_NAMES[step]))
    return out


def next_state(case: dict, step: str) -> str:
    status = case["status"]
    target = TRANSITIONS.get((status, step))
    if target is None:
        allowed = [s for (st, s) in TRANSITIONS if st == status]
        if status in ("signed_off", "archived"):
            hint = _text(N_("; a signed-off case can no longer be changed"))
        elif allowed:
            hint = _text(N_("; allowed now: {steps}"), steps=_steps(allowed))
        else:
            hint = _text(N_("; no further step is allowed"))
        raise StateError(
            N_("{case_no}: cannot {step} a case that is {status} ({status_label}){hint}"),
            case_no=case["case_no"],
            step=_text(STEP_NAMES[step]),
            status=status,
            status_label=label("status", status),
            hint=hint,
        )
    return target


def last_step_at(case: dict) -> dt.datetime:
    times = [
        case.get("received_at"),
        case["decision"].get("at"),
        case["handling"].get("resolved_at"),
        case["callback"].get("at"),
        case["closure"].get("at"),
        case["signoff"].get("at"),
    ]
    times += [r.get("at") for r in case.get("reopens", [])]
    return max(from_iso(t) for t in times if t)


def _check_time(case: dict, at: dt.datetime, field: str = "at") -> None:
    previous = last_step_at(case)
    if minute(at) < minute(previous):  # compared as shown: to the minute
        raise ValidationError(
            N_("{case_no}: {field} {value} is before the previous step ({previous})"),
            field=field,
            case_no=case["case_no"],
            value=iso(at),
            previous=iso(previous),
        )


def _by(value: Any) -> str:
    return model.text(value, "by", required=True, limit=model.MAX_NAME)


def due_date(
    case: dict, deadlines: dict[str, int], cal: WorkCalendar, start: dt.date, special: bool
) -> dt.date:
    limit = deadlines["special" if special else case["kind"]]
    return cal.add_workdays(start, limit)


def accept(
    case: dict,
    config: Config,
    cal: WorkCalendar,
    *,
    at: dt.datetime,
    by: str,
    department: str,
    handler: str | None = None,
    special: bool = False,
    severity: str | None = None,
    category: str | None = None,
    validity: str | None = None,
    due: dt.date | None = None,
) -> dict:
    new_status = next_state(case, "accept")
    _check_time(case, at)
    new = model.copy_case(case)
    dep = model.department_code(config, department, "department")
    if handler:
        handler = model.text(handler, "handler", limit=model.MAX_NAME)
        member = config.staff_member(handler)
        if member is not None and member.department != dep:
            raise ValidationError(
                N_("{field}: {value} belongs to {department}, not {given}"),
                field="handler",
                value=handler,
                department=member.department,
                given=dep,
            )
    else:
        handler = next(d.head for d in config.departments if d.code == dep)
    if severity:
        new["severity"] = parse_enum("severity", severity, "severity")
    if category:
        new["category"] = model.category(config, category, "category")
    received = from_iso(case["received_at"]).date()
    new["decision"] = {
        "accepted": True,
        "by": _by(by),
        "at": iso(at),
        "reason": None,
        "validity": parse_enum("validity", validity, "validity") if validity else None,
    }
    if due is not None and due < at.date():  # an imported ledger's own due date
        raise ValidationError(
            N_("{field}: {due} is before the acceptance ({accepted})"),
            field="assignment.due",
            due=due.isoformat(),
            accepted=at.date().isoformat(),
        )
    new["assignment"] = {
        "department": dep,
        "handler": handler,
        "due": (due or due_date(case, config.deadlines, cal, received, special)).isoformat(),
        "special": bool(special),
    }
    new["status"] = new_status
    return new


def reject(
    case: dict, *, at: dt.datetime, by: str, reason: str, validity: str | None = None
) -> dict:
    new_status = next_state(case, "reject")
    _check_time(case, at)
    new = model.copy_case(case)
    new["decision"] = {
        "accepted": False,
        "by": _by(by),
        "at": iso(at),
        "reason": model.text(reason, "reason", required=True),
        "validity": parse_enum("validity", validity, "validity") if validity else None,
    }
    new["status"] = new_status
    return new


def record_return(
    case: dict,
    *,
    at: dt.datetime,
    by: str,
    findings: str,
    cause: str | None,
    responsible: str | None,
    plan: str,
    approved_by: str,
    result: str,
    customer_signed: bool,
    approved_at: dt.datetime | None = None,
    notified_at: dt.datetime | None = None,
) -> dict:
    new_status = next_state(case, "return")
    _check_time(case, at)
    accepted_at = from_iso(case["decision"]["at"])
    for name, value in (("approved_at", approved_at), ("notified_at", notified_at)):
        if value is not None and not (minute(accepted_at) <= minute(value) <= minute(at)):
            raise ValidationError(
                N_("{case_no}: {field} must lie between acceptance and the return"),
                field=name,
                case_no=case["case_no"],
            )
    new = model.copy_case(case)
    new["handling"] = {
        "findings": model.text(findings, "findings", required=True, limit=model.MAX_CONTENT),
        "cause": model.text(cause, "cause"),
        "responsible": model.text(responsible, "responsible", limit=model.MAX_NAME),
        "plan": model.text(plan, "plan", required=True),
        "approved_by": model.text(approved_by, "approved_by", required=True, limit=model.MAX_NAME),
        "approved_at": iso(approved_at),
        "notified_at": iso(notified_at),
        "result": model.text(result, "result", required=True),
        "customer_signed": bool(customer_signed),
        "resolved_at": iso(at),
        "recorded_by": _by(by),
    }
    new["status"] = new_status
    return new


def callback(
    case: dict, *, at: dt.datetime, by: str, satisfaction: str, note: str | None = None
) -> dict:
    new_status = next_state(case, "callback")
    _check_time(case, at)
    new = model.copy_case(case)
    new["callback"] = {
        "at": iso(at),
        "by": _by(by),
        "satisfaction": parse_enum("satisfaction", satisfaction, "satisfaction"),
        "note": model.text(note, "note"),
    }
    new["status"] = new_status
    return new


def reopen(
    case: dict, config: Config, cal: WorkCalendar, *, at: dt.datetime, by: str, reason: str
) -> dict:
    new_status = next_state(case, "reopen")
    _check_time(case, at)
    new = model.copy_case(case)
    new["reopens"] = [
        *case.get("reopens", []),
        {
            "at": iso(at),
            "by": _by(by),
            "reason": model.text(reason, "reason", required=True),
            "handling": case["handling"],
            "callback": case["callback"],
            "closure": case["closure"],
            "due": case["assignment"]["due"],
        },
    ]
    new["handling"] = dict.fromkeys(model.SECTIONS["handling"])
    new["callback"] = dict.fromkeys(model.SECTIONS["callback"])
    new["closure"] = dict.fromkeys(model.SECTIONS["closure"])
    new["assignment"]["due"] = due_date(
        case, config.deadlines, cal, at.date(), case["assignment"]["special"]
    ).isoformat()
    new["status"] = new_status
    return new


def close(
    case: dict,
    config: Config,
    *,
    at: dt.datetime,
    by: str,
    summary: str,
    cause: str | None = None,
    measures: str | None = None,
    penalty: str | None = None,
    penalty_person: str | None = None,
    validity: str | None = None,
) -> dict:
    new_status = next_state(case, "close")
    _check_time(case, at)
    new = model.copy_case(case)
    penalty_rec = None
    if penalty:
        code = parse_enum("penalty", penalty, "penalty", config)
        penalty_rec = {
            "type": code,
            "person": model.text(
                penalty_person, "penalty_person", required=True, limit=model.MAX_NAME
            ),
            "amount": config.penalties[code],
        }
    elif penalty_person:
        # Two fields in one message: the second is named the same way, as a part of it.
        raise ValidationError(
            N_("{field} needs {other}"),
            field="penalty_person",
            other=ValidationError("{field}", field="penalty"),
        )
    new["closure"] = {
        "at": iso(at),
        "by": _by(by),
        "summary": model.text(summary, "summary", required=True),
        "cause": model.text(cause, "cause"),
        "measures": model.text(measures, "measures"),
        "penalty": penalty_rec,
    }
    if validity:
        new["decision"]["validity"] = parse_enum("validity", validity, "validity")
    new["status"] = new_status
    return new


def signoff(case: dict, *, at: dt.datetime, by: str) -> dict:
    new_status = next_state(case, "signoff")
    _check_time(case, at)
    new = model.copy_case(case)
    new["signoff"] = {"by": _by(by), "at": iso(at)}
    new["status"] = new_status
    return new


def archive(case: dict, *, bundle: str, sha256: str, at: str) -> dict:
    """Sealed into its bundle: the state machine's last step."""
    new_status = next_state(case, "archive")
    return {**case, "status": new_status, "archive": {"bundle": bundle, "sha256": sha256, "at": at}}


def effective_due(case: dict, deadlines: dict[str, int], cal: WorkCalendar) -> dt.date:
    """The assigned due date, or for a case not yet routed the limit counted from receipt."""
    if case["assignment"].get("due"):
        return dt.date.fromisoformat(case["assignment"]["due"])
    return due_date(case, deadlines, cal, from_iso(case["received_at"]).date(), False)


# The statuses in which a case can be overdue: no result yet.
OVERDUE_STATUSES = ("registered", "assigned")


def is_overdue(case: dict, today: dt.date, due: dt.date) -> bool:
    """Due date passed and no result yet (registered or assigned)."""
    return case["status"] in OVERDUE_STATUSES and due < today


def diff(before: dict, after: dict) -> tuple[dict, dict]:
    """The top-level keys that changed, as (before, after) for the audit log."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}
