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
    ("registered", "void"): "void",
    ("assigned", "void"): "void",
    # 退单: the department sends a misrouted case back for re-routing, before handling it
    ("assigned", "send_back"): "registered",
    ("assigned", "return"): "resolved",
    ("resolved", "callback"): "followed_up",
    # a second call-back after one that reached nobody
    ("followed_up", "callback"): "followed_up",
    # a complainant who cannot be called back (anonymous, no phone)
    ("resolved", "close"): "closed",
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
    "void": N_("void (作废)"),
    "send_back": N_("send back (退单)"),
}

# Statuses in which a case can still be corrected (更正) and penalties recorded.
AMENDABLE = ("registered", "rejected", "assigned", "resolved", "followed_up", "closed")
PENALIZABLE = ("assigned", "resolved", "followed_up")


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
    times += [r.get("sent_back_at") for r in case.get("routing_history") or []]
    times += [e.get("at") for e in case.get("extensions") or []]
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
    # Routed again after a send-back (退单): the new department's limit counts from now.
    start = at.date() if case.get("routing_history") else received
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
        "due": (due or due_date(case, config.deadlines, cal, start, special)).isoformat(),
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
    compensation: Any = None,
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
        "compensation": compensation_amount(compensation),
        "recorded_by": _by(by),
    }
    new["status"] = new_status
    return new


def compensation_amount(value: Any) -> int | float | None:
    """赔偿 in 元: a number, not a text."""
    out = amount(value, "compensation")
    if isinstance(out, str):
        raise ValidationError(N_("{field}: must be an amount"), field="compensation")
    return out


def callback(
    case: dict,
    *,
    at: dt.datetime,
    by: str,
    satisfaction: str | None = None,
    note: str | None = None,
    reached: bool = True,
) -> dict:
    """回访. `reached=False`: the call reached nobody (无法回访): no satisfaction; the case can
    be closed, and a later call that reaches the complainant replaces this one."""
    new_status = next_state(case, "callback")
    if case["status"] == "followed_up" and case["callback"].get("reached") is not False:
        raise StateError(
            N_("{case_no}: the complainant was already called back ({at})"),
            case_no=case["case_no"],
            at=case["callback"].get("at"),
        )
    _check_time(case, at)
    if reached and not satisfaction:
        raise ValidationError(N_("{field}: required"), field="satisfaction")
    if not reached and satisfaction:
        raise ValidationError(
            N_("{field}: a call-back that reached nobody records no satisfaction"),
            field="satisfaction",
        )
    new = model.copy_case(case)
    new["callback"] = {
        "at": iso(at),
        "by": _by(by),
        "satisfaction": parse_enum("satisfaction", satisfaction, "satisfaction")
        if reached
        else None,
        "note": model.text(note, "note"),
        "reached": bool(reached),
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
    new["closure"] = {**dict.fromkeys(model.SECTIONS["closure"]), "penalties": []}
    new["assignment"]["due"] = due_date(
        case, config.deadlines, cal, at.date(), case["assignment"]["special"]
    ).isoformat()
    new["status"] = new_status
    return new


def can_be_called_back(case: dict) -> bool:
    """Whether the complainant left a way to be called back."""
    return bool(case["complainant"].get("phone"))


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
    if case["status"] == "resolved" and can_be_called_back(case):
        raise StateError(
            N_(
                "{case_no}: call the complainant back before closing (or record a call-back "
                "that reached nobody)"
            ),
            case_no=case["case_no"],
        )
    _check_time(case, at)
    new = model.copy_case(case)
    penalties = list(case["closure"].get("penalties") or [])
    if penalty:
        penalties.append(penalty_record(config, kind=penalty, person=penalty_person, at=at, by=by))
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
        "penalty": first_penalty(penalties),
        "penalties": penalties,
    }
    if validity:
        new["decision"]["validity"] = parse_enum("validity", validity, "validity")
    new["status"] = new_status
    return new


def first_penalty(penalties: list[dict]) -> dict | None:
    """closure.penalty as DESIGN.md section 3 has it: the first penalty, as {type, person,
    amount}."""
    if not penalties:
        return None
    return {k: penalties[0].get(k) for k in ("type", "person", "amount")}


def amount(value: Any, field: str) -> int | float | str | None:
    """A sum of money or points: a number not below zero (two decimals at most), or a text
    such as 当月效益奖金全额."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        cleaned = value.strip().replace(",", "").removesuffix("元").strip()
        try:
            value = float(cleaned) if "." in cleaned else int(cleaned)
        except ValueError:
            return model.text(value, field, limit=model.MAX_NAME)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(N_("{field}: must be an amount"), field=field)
    if value != value or value in (float("inf"), float("-inf")) or value < 0:
        raise ValidationError(N_("{field}: must be an amount"), field=field)
    if value >= 10**9:
        raise ValidationError(N_("{field}: must be an amount"), field=field)
    if isinstance(value, float):
        if round(value, 2) != value:
            raise ValidationError(N_("{field}: at most two decimals"), field=field)
        if value.is_integer():
            value = int(value)
    return value


def penalty_record(
    config: Config,
    *,
    kind: str,
    person: str | None,
    at: dt.datetime,
    by: str,
    amount_: Any = None,
    note: str | None = None,
) -> dict:
    """One penalty: its kind (from the config), the person, the amount (given, or the kind's
    amount from the config), a note, when and by whom it was recorded."""
    code = parse_enum("penalty", kind, "penalty", config)
    given = amount(amount_, "amount")
    return {
        "type": code,
        "person": model.text(person, "penalty_person", required=True, limit=model.MAX_NAME),
        "amount": given if given is not None else config.penalties.get(code),
        "unit": config.penalty_kinds[code].unit if code in config.penalty_kinds else "元",
        "note": model.text(note, "note"),
        "at": iso(at),
        "by": _by(by),
    }


def penalize(
    case: dict,
    config: Config,
    *,
    at: dt.datetime,
    by: str,
    kind: str,
    person: str,
    amount_: Any = None,
    note: str | None = None,
) -> dict:
    """A penalty recorded before the case is closed (the direct person, the department head:
    as many as needed), in closure.penalties."""
    if case["status"] not in PENALIZABLE:
        raise StateError(
            N_(
                "{case_no}: a penalty is recorded for a case with its department, before it is "
                "closed (this one is {status_label})"
            ),
            case_no=case["case_no"],
            status_label=label("status", case["status"]),
        )
    _check_time(case, at)
    new = model.copy_case(case)
    record = penalty_record(
        config, kind=kind, person=person, at=at, by=by, amount_=amount_, note=note
    )
    penalties = [*(case["closure"].get("penalties") or []), record]
    new["closure"] = {**case["closure"], "penalties": penalties}
    return new


def extend(
    case: dict,
    config: Config,
    cal: WorkCalendar,
    *,
    at: dt.datetime,
    by: str,
    reason: str,
    approved_by: str,
    days: int | None = None,
    to: dt.date | None = None,
    notified_at: dt.datetime | None = None,
) -> dict:
    """延期: a case that cannot be finished in time gets a later due date, asked for before
    the due date in force has passed, approved by a manager, at most deadlines.max_extension
    working days and deadlines.extensions times. assignment.due keeps the original."""
    if case["status"] != "assigned":
        raise StateError(
            N_(
                "{case_no}: only a case with its department can be extended (this one is {status_label})"
            ),
            case_no=case["case_no"],
            status_label=label("status", case["status"]),
        )
    _check_time(case, at)
    extensions = list(case.get("extensions") or [])
    limit_times = config.deadlines.get("extensions", 1)
    if len(extensions) >= limit_times:
        raise StateError(
            N_("{case_no}: already extended {count} time(s); at most {limit}"),
            case_no=case["case_no"],
            count=len(extensions),
            limit=limit_times,
        )
    current = effective_due(case, config.deadlines, cal)
    if at.date() > current:
        raise StateError(
            N_("{case_no}: the due date {due} has passed; an extension is asked for before it"),
            case_no=case["case_no"],
            due=current.isoformat(),
        )
    if (days is None) == (to is None):
        raise ValidationError(N_("{field}: give the working days or the new date"), field="days")
    if days is not None:
        if isinstance(days, bool) or not isinstance(days, int) or days < 1:
            raise ValidationError(N_("{field}: must be a whole number of at least 1"), field="days")
        new_due = cal.add_workdays(current, days)
    else:
        new_due = to
        if new_due <= current:
            raise ValidationError(
                N_("{field}: {value} is not after the due date in force ({due})"),
                field="to",
                value=new_due.isoformat(),
                due=current.isoformat(),
            )
        days = cal.workdays_between(current, new_due)
    limit_days = config.deadlines.get("max_extension", 7)
    if days > limit_days:
        raise ValidationError(
            N_("{field}: {days} working days; at most {limit}"),
            field="to" if to is not None else "days",
            days=days,
            limit=limit_days,
        )
    if notified_at is not None and minute(notified_at) < minute(at):
        raise ValidationError(N_("{field} is before the extension"), field="notified_at")
    new = model.copy_case(case)
    new["extensions"] = [
        *extensions,
        {
            "at": iso(at),
            "by": _by(by),
            "from": current.isoformat(),
            "to": new_due.isoformat(),
            "days": days,
            "reason": model.text(reason, "reason", required=True),
            "approved_by": model.text(
                approved_by, "approved_by", required=True, limit=model.MAX_NAME
            ),
            "notified_at": iso(notified_at) if notified_at else None,
        },
    ]
    return new


def send_back(case: dict, *, at: dt.datetime, by: str, reason: str) -> dict:
    """退单: the department returns a case that is not its own, before handling it; the case
    goes back to registered for routing again, the round kept in routing_history[]."""
    new_status = next_state(case, "send_back")
    _check_time(case, at)
    new = model.copy_case(case)
    new["routing_history"] = [
        *(case.get("routing_history") or []),
        {
            "decision": case["decision"],
            "assignment": case["assignment"],
            "extensions": case.get("extensions") or [],
            "sent_back_at": iso(at),
            "sent_back_by": _by(by),
            "reason": model.text(reason, "reason", required=True),
        },
    ]
    new["decision"] = dict.fromkeys(model.SECTIONS["decision"])
    new["assignment"] = dict.fromkeys(model.SECTIONS["assignment"])
    new["extensions"] = []
    new["status"] = new_status
    return new


def void(case: dict, *, at: dt.datetime, by: str, reason: str) -> dict:
    """作废: a registration made in error, before it is handled. The number is never used
    again; the case leaves every figure and register."""
    new_status = next_state(case, "void")
    _check_time(case, at)
    new = model.copy_case(case)
    new["void"] = {
        "at": iso(at),
        "by": _by(by),
        "reason": model.text(reason, "reason", required=True),
    }
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
    """The due date in force: the last extension's (延期), else the assigned one, or for a
    case not yet routed the limit counted from receipt. The original stays in
    assignment.due."""
    extensions = case.get("extensions") or []
    if extensions and extensions[-1].get("to"):
        return dt.date.fromisoformat(extensions[-1]["to"])
    if case["assignment"].get("due"):
        return dt.date.fromisoformat(case["assignment"]["due"])
    return due_date(case, deadlines, cal, from_iso(case["received_at"]).date(), False)


# The statuses in which a case waits for its result; with "resolved" (waiting for its
# call-back), those in which a case can be overdue.
RESULT_PENDING = ("registered", "assigned")
OVERDUE_STATUSES = (*RESULT_PENDING, "resolved")


def callback_due(case: dict, deadlines: dict[str, int], cal: WorkCalendar) -> dt.date | None:
    """The last day for the call-back: deadlines.callback working days after the result."""
    resolved = case["handling"].get("resolved_at")
    if not resolved:
        return None
    return cal.add_workdays(from_iso(resolved).date(), deadlines.get("callback", 2))


def is_overdue(
    case: dict, today: dt.date, due: dt.date, callback_by: dt.date | None = None
) -> bool:
    """Due date passed and no result yet (registered or assigned); or, given `callback_by`,
    resolved and not called back by then."""
    if case["status"] in RESULT_PENDING:
        return due < today
    if case["status"] == "resolved" and callback_by is not None:
        return callback_by < today
    return False


# What `case amend` may correct: the registration's fields (DESIGN.md section 13).
AMEND_TOP = (
    "kind",
    "channel",
    "received_at",
    "category",
    "severity",
    "content",
    "demand",
    "first_receiver",
    "complainant_count",
)
AMEND_SECTIONS = ("complainant", "target", "extra")


def registration_of(case: dict) -> dict:
    """The registration part of a case, in the shape `case new --from` reads."""
    keys = model.REGISTRATION_KEYS
    return model.copy_case({k: case.get(k) for k in keys})


def _flat(data: dict) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in (*AMEND_TOP, *AMEND_SECTIONS):
        value = data.get(key)
        if key in AMEND_SECTIONS:
            for sub, v in (value or {}).items():
                out[f"{key}.{sub}"] = v
        elif key == "complainant_count" and value is None:
            out[key] = 1  # a case recorded before the count was: one complainant
        else:
            out[key] = value
    return out


def amend(
    case: dict,
    config: Config,
    changes: dict[str, Any],
    *,
    at: dt.datetime,
    by: str,
    reason: str,
) -> tuple[dict, dict[str, dict]]:
    """更正: registration fields corrected with the same checks as `case new`. Returns the
    new case and what changed ({field: {before, after}}); the correction is kept in
    `amendments[]`. Not after sign-off, and not of a void case."""
    if case["status"] not in AMENDABLE:
        raise StateError(
            N_("{case_no}: a case that is {status_label} can no longer be corrected"),
            case_no=case["case_no"],
            status=case["status"],
            status_label=label("status", case["status"]),
        )
    reason = model.text(reason, "reason", required=True)
    if not changes:
        raise ValidationError(N_("{field}: required"), field="set")
    _check_time(case, at)
    data = registration_of(case)
    for key, value in changes.items():
        section, _, sub = key.partition(".")
        if section in AMEND_TOP and not sub:
            data[section] = value
        elif section in AMEND_SECTIONS and sub:
            part = dict(data.get(section) or {})
            if section == "target" and sub == "type":
                # Another kind of target: what named the old one goes unless also given.
                part = {k: v for k, v in part.items() if f"target.{k}" in changes}
            if section == "target" and sub == "staff" and "target.department" not in changes:
                part.pop("department", None)  # the staff member's own department
            part[sub] = value
            data[section] = part
        else:
            raise ValidationError(
                N_("{field}: {value} cannot be corrected; these can: {known}"),
                field="set",
                value=repr(key),
                known=", ".join([*AMEND_TOP, *(f"{s}.*" for s in AMEND_SECTIONS)]),
            )
    recorded = from_iso(case["recorded_at"])
    data["late_entry"] = bool(case.get("late_entry")) and "received_at" not in changes
    fresh = model.parse_registration(data, config, now=recorded)
    if case["decision"].get("at") and minute(from_iso(fresh["received_at"])) > minute(
        from_iso(case["decision"]["at"])
    ):
        raise ValidationError(
            N_("{case_no}: {field} {value} is after the decision ({previous})"),
            field="received_at",
            case_no=case["case_no"],
            value=fresh["received_at"],
            previous=case["decision"]["at"],
        )
    before, after = _flat(case), _flat(fresh)
    changed = {
        k: {"before": before.get(k), "after": after.get(k)}
        for k in sorted(set(before) | set(after))
        if before.get(k) != after.get(k)
    }
    if not changed:
        raise ValidationError(N_("{case_no}: nothing would change"), case_no=case["case_no"])
    new = model.copy_case(case)
    for key in (*AMEND_TOP, *AMEND_SECTIONS, "late_entry"):
        new[key] = fresh[key]
    new["amendments"] = [
        *case.get("amendments", []),
        {"at": iso(at), "by": _by(by), "reason": reason, "changes": changed},
    ]
    return new, changed


def diff(before: dict, after: dict) -> tuple[dict, dict]:
    """The top-level keys that changed, as (before, after) for the audit log."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}
