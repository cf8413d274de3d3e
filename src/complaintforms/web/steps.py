"""The steps of a case as the web takes them (`POST /cases/<no>/<step>`, and the same under
/api/v1): one table from the step's name to the library function the command line calls,
with the fields it takes (the command-line option names, `_` for `-`).

`take_step` checks, in this order: the step exists (404), the user sees the case (404),
their role may take the step (403, nothing changed), the fields are the step's own (422),
then calls the library, whose refusals (422) name their field.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from complaintforms.domain import roles
from complaintforms.errors import ForbiddenError, NotFoundError, ValidationError
from complaintforms.i18n import N_
from complaintforms.workspace import Workspace


@dataclass(frozen=True)
class Step:
    name: str  # as in roles.STEPS
    call: Callable[..., Any]  # (ws, case_no, by, fields) -> a dict, as the CLI's --json
    fields: tuple[str, ...]
    flags: tuple[str, ...] = ()  # yes/no fields (checkboxes): present and true-ish


def _result(value: Any) -> dict:
    return value.as_dict() if hasattr(value, "as_dict") else value


def _kw(fields: dict, *names: str) -> dict:
    return {n: fields[n] for n in names if n in fields}


def _accept(ws, case_no, by, f):
    from complaintforms.services.procedure import accept_case

    return accept_case(
        ws,
        case_no,
        by=by,
        department=f.get("department"),
        special=bool(f.get("special")),
        **_kw(f, "handler", "severity", "category", "validity", "at"),
    )


def _reject(ws, case_no, by, f):
    from complaintforms.services.procedure import reject_case

    return reject_case(ws, case_no, by=by, reason=f.get("reason"), **_kw(f, "validity", "at"))


def _slip(ws, case_no, by, f):
    from complaintforms.services.procedure import issue_slip

    return issue_slip(ws, case_no, by=by)


def _letter(ws, case_no, by, f):
    from complaintforms.services.procedure import issue_letter

    return issue_letter(ws, case_no, by=by, **_kw(f, "to"))


def _return(ws, case_no, by, f):
    from complaintforms.services.procedure import return_slip

    return return_slip(
        ws,
        case_no,
        by=by,
        findings=f.get("findings"),
        cause=f.get("cause"),
        responsible=f.get("responsible"),
        plan=f.get("plan"),
        approved_by=f.get("approved_by"),
        result=f.get("result"),
        customer_signed=bool(f.get("customer_signed")),
        **_kw(f, "at", "approved_at", "notified_at", "compensation"),
    )


def _callback(ws, case_no, by, f):
    from complaintforms.services.procedure import callback_case

    return callback_case(
        ws,
        case_no,
        by=by,
        reached=not f.get("unreachable"),
        **_kw(f, "satisfaction", "note", "at"),
    )


def _reopen(ws, case_no, by, f):
    from complaintforms.services.procedure import reopen_case

    return reopen_case(ws, case_no, by=by, reason=f.get("reason"), **_kw(f, "at"))


def _close(ws, case_no, by, f):
    from complaintforms.services.procedure import close_case

    return close_case(
        ws,
        case_no,
        by=by,
        summary=f.get("summary"),
        **_kw(f, "cause", "measures", "penalty", "penalty_person", "validity", "at"),
    )


def _signoff(ws, case_no, by, f):
    from complaintforms.services.procedure import signoff_cases

    signed = signoff_cases(ws, [case_no], by=by, **_kw(f, "at"))
    return {"case": signed[0], "documents": [], "warnings": []}


def _hold(ws, case_no, by, f):
    from complaintforms.services.archive import set_hold

    return set_hold(ws, case_no, by=by, reason=f.get("reason"), release=bool(f.get("release")))


def _extend(ws, case_no, by, f):
    from complaintforms.services.procedure import extend_case

    return extend_case(
        ws,
        case_no,
        by=by,
        reason=f.get("reason"),
        approved_by=f.get("approved_by"),
        **_kw(f, "days", "to", "notified_at", "at"),
    )


def _send_back(ws, case_no, by, f):
    from complaintforms.services.procedure import send_back_case

    return send_back_case(ws, case_no, by=by, reason=f.get("reason"), **_kw(f, "at"))


def _void(ws, case_no, by, f):
    from complaintforms.services.corrections import void_case

    return void_case(ws, case_no, by=by, reason=f.get("reason"), **_kw(f, "at"))


def _penalize(ws, case_no, by, f):
    from complaintforms.services.corrections import penalize_case

    return penalize_case(
        ws,
        case_no,
        by=by,
        kind=f.get("kind"),
        person=f.get("person"),
        **_kw(f, "amount", "note", "at"),
    )


def _amend(ws, case_no, by, f):
    from complaintforms.services.corrections import amend_case

    changes = {k: v for k, v in f.items() if k not in ("reason", "at")}
    return amend_case(ws, case_no, changes, by=by, reason=f.get("reason"), **_kw(f, "at"))


AMENDABLE_FIELDS = (
    "kind",
    "channel",
    "received_at",
    "complainant.name",
    "complainant.phone",
    "complainant.address",
    "complainant.anonymous",
    "complainant.confidential",
    "complainant_count",
    "first_receiver",
    "target.type",
    "target.department",
    "target.staff",
    "category",
    "severity",
    "content",
    "demand",
)

STEPS: dict[str, Step] = {
    s.name: s
    for s in (
        Step(
            "accept",
            _accept,
            ("department", "handler", "special", "severity", "category", "validity", "at"),
            ("special",),
        ),
        Step("reject", _reject, ("reason", "validity", "at")),
        Step("slip", _slip, ()),
        Step("letter", _letter, ("to",)),
        Step(
            "return",
            _return,
            (
                "findings",
                "cause",
                "responsible",
                "plan",
                "approved_by",
                "result",
                "customer_signed",
                "at",
                "approved_at",
                "notified_at",
                "compensation",
            ),
            ("customer_signed",),
        ),
        Step(
            "callback", _callback, ("satisfaction", "note", "at", "unreachable"), ("unreachable",)
        ),
        Step("reopen", _reopen, ("reason", "at")),
        Step(
            "close",
            _close,
            ("summary", "cause", "measures", "penalty", "penalty_person", "validity", "at"),
        ),
        Step("signoff", _signoff, ("at",)),
        Step("hold", _hold, ("reason", "release"), ("release",)),
        Step("extend", _extend, ("reason", "approved_by", "days", "to", "notified_at", "at")),
        Step("send_back", _send_back, ("reason", "at")),
        Step("void", _void, ("reason", "at")),
        Step("penalize", _penalize, ("kind", "person", "amount", "note", "at")),
        Step("amend", _amend, ("reason", "at", *AMENDABLE_FIELDS, "extra.*")),
    )
}
# The URL may spell a step with "-" (send-back) as the command line does.
ALIASES = {"send-back": "send_back"}


def step_named(name: str) -> Step:
    step = STEPS.get(ALIASES.get(name, name))
    if step is None:
        raise NotFoundError(N_("no step {step}"), step=name)
    return step


def _allowed(step: Step, key: str) -> bool:
    return key in step.fields or ("extra.*" in step.fields and key.startswith("extra."))


def take_step(ws: Workspace, user: dict, case_no: str, name: str, fields: dict[str, Any]) -> dict:
    """Take one step for a signed-in user; returns what `case <step> --json` prints.
    Raises NotFoundError (no such step or case, or one this user may not see),
    ForbiddenError (their role may not take it), or the library's refusal."""
    step = step_named(name)
    case = ws.store.get(case_no)  # NotFoundError for a number that does not exist
    if not roles.may_see(user, case):
        raise NotFoundError(N_("no case {case_no}"), case_no=case_no)
    if not roles.may_take(user, step.name):
        raise ForbiddenError(
            N_("a {role} may not take the step {step}"), role=user.get("role"), step=step.name
        )
    for key in fields:
        if not _allowed(step, key):
            raise ValidationError(N_("{field}: not a field of this step"), field=key)
    clean = {
        k: (bool(v) and v not in ("0", "false", "off", "no")) if k in step.flags else v
        for k, v in fields.items()
    }
    by = user.get("display_name") or user["name"]
    return _result(step.call(ws, case_no, by, clean))


__all__ = ["ALIASES", "STEPS", "Step", "step_named", "take_step"]
