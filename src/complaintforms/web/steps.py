"""The steps of a case as the web takes them (`POST /cases/<no>/<step>`, and the same under
/api/v1): one table from the step's name to the library function the command line calls,
with the fields it takes (the command-line option names, `_` for `-`).

`take_step` checks, in this order: the step exists (404), the user sees the case (404),
their role may take the step (403, nothing changed), the fields are the step's own (422),
then calls the library, whose refusals (422) name their field.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from complaintforms.domain import roles
from complaintforms.errors import ForbiddenError, NotFoundError, ValidationError
from complaintforms.i18n import N_
from complaintforms.workspace import Workspace


@dataclass(frozen=True)
class Step:
    """A step: the library function (`module.function` under complaintforms.services) and
    its fields: `required` passed as given (the library refuses what is missing), `optional`
    only when posted, `flags` (checkboxes) as booleans; or a `call` of its own."""

    name: str  # as in roles.STEPS
    target: str = ""
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    call: Callable[..., Any] | None = None  # (ws, case_no, by, fields) -> result

    @property
    def fields(self) -> tuple[str, ...]:
        return (*self.required, *self.optional, *self.flags)

    def run(self, ws: Workspace, case_no: str, by: str, fields: dict) -> Any:
        if self.call is not None:
            return self.call(ws, case_no, by, fields)
        module, function = self.target.rsplit(".", 1)
        func = getattr(importlib.import_module(f"complaintforms.services.{module}"), function)
        return func(
            ws,
            case_no,
            by=by,
            **{k: fields.get(k) for k in self.required},
            **{k: fields[k] for k in self.optional if k in fields},
            **{k: bool(fields.get(k)) for k in self.flags},
        )


def _result(value: Any) -> dict:
    return value.as_dict() if hasattr(value, "as_dict") else value


def _callback(ws, case_no, by, f):
    from complaintforms.services.procedure import callback_case

    kept = {k: f[k] for k in ("satisfaction", "note", "at") if k in f}
    return callback_case(ws, case_no, by=by, reached=not f.get("unreachable"), **kept)


def _signoff(ws, case_no, by, f):
    from complaintforms.services.procedure import signoff_cases

    signed = signoff_cases(ws, [case_no], by=by, at=f.get("at"))
    return {"case": signed[0], "documents": [], "warnings": []}


def _amend(ws, case_no, by, f):
    from complaintforms.services.corrections import amend_case

    changes = {k: v for k, v in f.items() if k not in ("reason", "at")}
    return amend_case(ws, case_no, changes, by=by, reason=f.get("reason"), at=f.get("at"))


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
REASON = ("reason",)
AT = ("at",)

STEPS: dict[str, Step] = {
    s.name: s
    for s in (
        Step(
            "accept",
            "procedure.accept_case",
            ("department",),
            ("handler", "severity", "category", "validity", *AT),
            ("special",),
        ),
        Step("reject", "procedure.reject_case", REASON, ("validity", *AT)),
        Step("slip", "procedure.issue_slip"),
        Step("letter", "procedure.issue_letter", (), ("to",)),
        Step(
            "return",
            "procedure.return_slip",
            ("findings", "cause", "responsible", "plan", "approved_by", "result"),
            ("approved_at", "notified_at", "compensation", *AT),
            ("customer_signed",),
        ),
        Step(
            "callback",
            optional=("satisfaction", "note", *AT),
            flags=("unreachable",),
            call=_callback,
        ),
        Step("reopen", "procedure.reopen_case", REASON, AT),
        Step(
            "close",
            "procedure.close_case",
            ("summary",),
            ("cause", "measures", "penalty", "penalty_person", "validity", *AT),
        ),
        Step("signoff", optional=AT, call=_signoff),
        Step("hold", "archive.set_hold", REASON, (), ("release",)),
        Step(
            "extend",
            "procedure.extend_case",
            ("reason", "approved_by"),
            ("days", "to", "notified_at", *AT),
        ),
        Step("send_back", "procedure.send_back_case", REASON, AT),
        Step("void", "corrections.void_case", REASON, AT),
        Step("penalize", "corrections.penalize_case", ("kind", "person"), ("amount", "note", *AT)),
        Step("amend", required=REASON, optional=(*AT, *AMENDABLE_FIELDS, "extra.*"), call=_amend),
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
    try:
        case = ws.store.get(case_no)  # NotFoundError for a number that does not exist
    except ValueError:  # not a case number at all
        raise NotFoundError(N_("no case {case_no}"), case_no=case_no) from None
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
    return _result(step.run(ws, case_no, by, clean))


__all__ = ["ALIASES", "STEPS", "Step", "step_named", "take_step"]
