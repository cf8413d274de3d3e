"""What every view shares: the workspace of this thread, the signed-in user, role checks,
the case a user may see (else 404), audit events of views and downloads, CSRF, and the
mapping of the library's errors to a page with the reason beside its field.

Views stay thin: parse the request, call one library function, render, and let `refused`
turn a library error into a 422 page that keeps what the user typed.
"""

from __future__ import annotations

import functools
import hmac
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import abort, current_app, g, render_template, request

from complaintforms.domain import roles
from complaintforms.domain.timeutil import iso
from complaintforms.domain.timeutil import now as clock_now
from complaintforms.errors import ComplaintFormsError, NotFoundError
from complaintforms.i18n import N_, _
from complaintforms.storage.base import Store
from complaintforms.workspace import Workspace

# The form fields as the web names them beside a refusal (message ids). A field without a
# label here is shown by its key.
FIELD_LABELS = {
    "username": N_("user name"),
    "password": N_("password"),
    "kind": N_("kind"),
    "channel": N_("channel"),
    "received_at": N_("received at"),
    "complainant": N_("complainant"),
    "complainant.name": N_("complainant's name"),
    "complainant.phone": N_("complainant's phone"),
    "complainant.address": N_("complainant's address"),
    "complainant.anonymous": N_("anonymous"),
    "complainant.confidential": N_("confidential"),
    "complainant_count": N_("number of complainants"),
    "first_receiver": N_("first receiver (首问负责人)"),
    "target.type": N_("complained-about type"),
    "target.department": N_("complained-about department"),
    "target.staff": N_("complained-about staff"),
    "category": N_("category"),
    "severity": N_("severity"),
    "content": N_("content"),
    "demand": N_("demand"),
    "department": N_("department"),
    "handler": N_("handler"),
    "reason": N_("reason"),
    "findings": N_("findings"),
    "plan": N_("plan"),
    "approved_by": N_("approved by"),
    "result": N_("result"),
    "customer_signed": N_("customer signed"),
    "satisfaction": N_("satisfaction"),
    "summary": N_("summary"),
    "penalty": N_("penalty"),
    "at": N_("time"),
    "files": N_("files"),
    "quarter": N_("quarter"),
    "month": N_("month"),
    "status": N_("status"),
    "validity": N_("validity"),
    "cause": N_("cause"),
    "measures": N_("measures"),
    "to": N_("to"),
    "days": N_("days"),
    "approved_at": N_("approved at"),
    "notified_at": N_("notified at"),
    "compensation": N_("compensation"),
    "penalty_person": N_("penalized person"),
    "person": N_("person"),
    "amount": N_("amount"),
    "note": N_("note"),
    "special": N_("special case"),
    "unreachable": N_("unreachable"),
    "release": N_("release the hold"),
    "responsible": N_("responsible person"),
}


class WorkspaceHolder:
    """One Workspace per server thread (each reads the store afresh: other processes write
    to it too), or one shared in-memory store in tests."""

    def __init__(self, root: Path, store: Store | None = None):
        self.root = Path(root)
        self.store = store
        self._local = threading.local()
        self.shared = Workspace(self.root, store) if store is not None else None

    def get(self) -> Workspace:
        if self.shared is not None:
            return self.shared
        ws = getattr(self._local, "ws", None)
        if ws is None:
            ws = self._local.ws = Workspace.open(self.root)
        return ws


def ws() -> Workspace:
    return current_app.extensions["complaintforms"].get()


def user() -> dict:
    """The signed-in user (every view but the sign-in page has one)."""
    return g.user


def by() -> str:
    """Who is recorded as having done what this request does: the user's display name."""
    return g.user.get("display_name") or g.user["name"]


def field_label(field: str) -> str:
    if field in FIELD_LABELS:
        return _(FIELD_LABELS[field])
    if field.startswith("extra."):
        key = field.split(".", 1)[1]
        for extra in getattr(ws().config, "extra_fields", None) or []:
            if getattr(extra, "key", None) == key:
                return getattr(extra, "label", key)
    return field


def message(exc: ComplaintFormsError) -> str:
    """A library error in the user's language, naming its field by its label."""
    return exc.render(_, field_label)


def require(ability: str) -> Callable:
    """A view only for roles with this ability (roles.ABILITIES); else 403."""

    def wrap(view: Callable) -> Callable:
        @functools.wraps(view)
        def inner(*args: Any, **kwargs: Any) -> Any:
            if not roles.may(g.user, ability):
                abort(403)
            return view(*args, **kwargs)

        return inner

    return wrap


def visible_case(case_no: str) -> dict:
    """The stored case, if this user may see it; 404 otherwise (one answer for a case that
    does not exist and one hidden from them, so that nothing is learnt from the code)."""
    try:
        case = ws().store.get(case_no)
    except (NotFoundError, ValueError):
        abort(404)
    if not roles.may_see(g.user, case):
        abort(404)
    return case


def audit(action: str, case_no: str | None, **fields: Any) -> None:
    """An audit event of something read (`case.view`, `case.download`): who and when."""
    with ws().store.transaction() as txn:
        txn.log(action, by(), case_no, at=iso(clock_now()), user=g.user["name"], **fields)


def csrf_ok() -> bool:
    """The request's CSRF token (form field `csrf_token` or header X-CSRF-Token) is the
    session's."""
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
    expected = (g.get("session") or {}).get("csrf") or ""
    return bool(expected) and hmac.compare_digest(sent.encode(), expected.encode())


def errors_of(exc: ComplaintFormsError, default_field: str = "_") -> dict[str, str]:
    """{field: message} of a refusal; one without a field goes at the top of the form."""
    return {exc.field or default_field: message(exc)}


def refused(template: str, exc: ComplaintFormsError, status: int = 422, **context: Any):
    """The form again, with what the user typed and the reason beside the field."""
    return (
        render_template(template, errors=errors_of(exc), values=request.form.to_dict(), **context),
        status,
    )


def form_values() -> dict[str, Any]:
    """The posted fields, empty ones left out, checkboxes as booleans ("on" -> True)."""
    out: dict[str, Any] = {}
    for key, value in request.form.items():
        if key == "csrf_token":
            continue
        if value == "on":
            out[key] = True
        elif value.strip() != "":
            out[key] = value
    return out


__all__ = [
    "FIELD_LABELS",
    "WorkspaceHolder",
    "audit",
    "by",
    "csrf_ok",
    "errors_of",
    "field_label",
    "form_values",
    "message",
    "refused",
    "require",
    "user",
    "visible_case",
    "ws",
]
