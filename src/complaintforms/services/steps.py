"""How one step of the procedure is recorded: validated, its forms rendered with no lock
held, then stored with one audit event.

A step that issues forms reads the case, reserves the documents' serials, applies the pure
workflow function and renders the forms, all outside any transaction; then a transaction
checks that the case is still as it was read and stores the change, the files and the event
together. If another process changed the case meanwhile, the step is validated and rendered
again against the new state (a refusal then is the right answer: the case moved on). A step
with no form runs in one transaction, as before.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from complaintforms.documents.pipeline import Serials, prepare, render_files, store_files
from complaintforms.documents.render import RendererSet
from complaintforms.domain import workflow
from complaintforms.domain.timeutil import iso
from complaintforms.domain.timeutil import now as clock_now
from complaintforms.errors import StorageError
from complaintforms.i18n import N_
from complaintforms.storage.base import MAX_TRIES, Conflict, Transaction

__all__ = ["Conflict", "FORMATS", "MAX_TRIES", "StepResult", "run_step"]
from complaintforms.workspace import Workspace

FORMATS = ("pdf", "docx")

Change = Callable[[dict], dict]
# A form to issue with a step, and the extra values of this issue made from the new case.
FormIssue = tuple[str, Callable[[dict], dict] | None]


@dataclass
class StepResult:
    """The stored case, the documents issued, and warnings: each the English text (a `str`,
    as it goes into JSON output) that an interface shows in the user's language with its
    `render` (services.messages.Notice)."""

    case: dict
    documents: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "case": self.case,
            "documents": self.documents,
            "warnings": [str(w) for w in self.warnings],
        }


def run_step(
    ws: Workspace,
    case_no: str,
    action: str,
    by: str,
    change: Change,
    forms: tuple[FormIssue, ...] | Callable[[dict, dict], tuple[FormIssue, ...]] = (),
    formats: tuple[str, ...] = FORMATS,
    *,
    inside: Callable[[Transaction, dict], dict] | None = None,
    event: dict | None = None,
) -> StepResult:
    """Record one step: `change` makes the new case from the old (pure; it raises to refuse);
    each of `forms` is rendered from the new case; `inside` runs in the transaction (to store
    a scan with the step); `event` adds fields to the audit event (a reason). `forms` may be
    a function of the case before and after the change, for a form a step issues only when
    the change calls for it (the major complaint report when a case becomes major)."""
    from complaintforms.services.cases import view

    at = iso(clock_now())
    if not forms:
        with ws.store.transaction() as txn:
            before = txn.get(case_no)
            after = change(before)
            if inside:
                after = inside(txn, after)
            _store(txn, case_no, action, by, at, before, after, event)
        return StepResult(view(ws, after), [])

    ws.identity  # noqa: B018 - made before anything else
    renderers = RendererSet(ws.forms_dir)
    for attempt in range(MAX_TRIES):
        before = ws.store.get(case_no)
        after = change(before)
        issues = forms(before, after) if callable(forms) else forms
        serials = Serials(ws, len(issues), reserve=attempt > 0)
        docs = [
            prepare(ws, after, form, serial=serial, at=at, extra=make(after) if make else None)
            for (form, make), serial in zip(issues, serials.values, strict=True)
        ]
        rendered = [(doc, render_files(ws, doc, formats, renderers)) for doc in docs]
        try:
            with ws.store.transaction() as txn:
                if txn.get(case_no) != before:
                    raise Conflict
                serials.claim(txn)
                entries = [
                    e for doc, files in rendered for e in store_files(txn, doc, files, at=at)
                ]
                stored = {**after, "documents": [*after["documents"], *entries]}
                if inside:
                    stored = inside(txn, stored)
                _store(txn, case_no, action, by, at, before, stored, event)
        except Conflict:
            continue
        return StepResult(view(ws, stored), entries)
    raise StorageError(
        N_("{case_no}: changed by others {tries} times while its forms were rendered; try again"),
        case_no=case_no,
        tries=MAX_TRIES,
    )


def _store(
    txn: Transaction,
    case_no: str,
    action: str,
    by: str,
    at: str,
    before: dict,
    after: dict,
    event: dict | None = None,
) -> None:
    old, new = workflow.diff(before, after)
    txn.replace(after)
    txn.log(action, by, case_no, at=at, before=old, after=new, **(event or {}))
