"""`audit verify`: the hash chain of the audit log, and the anchors printed on signed paper.

The chain shows an event altered, inserted or removed. It does not show a history rewritten
whole by someone who can write the records (every hash recomputed): the papers a manager
signs print the audit head as SEQ:HASH (DESIGN.md section 10), and `--anchor SEQ:HASH`
checks that today's event SEQ still has that hash, which a rewrite of any event up to SEQ
cannot keep.
"""

from __future__ import annotations

import re

from complaintforms.errors import ComplaintFormsError, Notice, ValidationError
from complaintforms.i18n import N_
from complaintforms.workspace import Workspace

_ANCHOR = re.compile(r"([0-9]+):([0-9a-f]{64})")


class AuditError(ComplaintFormsError):
    """Every problem found in the audit log."""

    def __init__(self, problems: list[str]):
        super().__init__(
            N_("{count} problem(s) in the audit log: {first}"),
            count=len(problems),
            first=problems[0],
        )
        self.problems = problems


def parse_anchor(text: str) -> tuple[int, str]:
    found = _ANCHOR.fullmatch((text or "").strip().lower())
    if not found:
        raise ValidationError(
            N_("{field}: {value} is not an audit anchor like 128:<64 hex digits>"),
            field="anchor",
            value=repr(text),
        )
    return int(found.group(1)), found.group(2)


def verify(ws: Workspace, anchors: list[str] | tuple[str, ...] = ()) -> dict:
    """The chain, and each anchor against it; AuditError naming every problem."""
    wanted = [parse_anchor(a) for a in anchors]
    problems = list(ws.store.verify_audit())
    head = ws.store.audit_head()
    found = {seq: None for seq, _hash in wanted}
    for event in ws.store.iter_events():
        if event.get("seq") in found:
            found[event["seq"]] = event.get("hash")
    for seq, digest in wanted:
        if found[seq] is None:
            problems.append(
                Notice(
                    N_("anchor {seq}: no such event in the audit log (it ends at {head})"),
                    seq=seq,
                    head=head["seq"],
                )
            )
        elif found[seq] != digest:
            problems.append(
                Notice(
                    N_(
                        "anchor {seq}: the event's hash is now {now}, not {signed} as signed: "
                        "the history up to it was rewritten"
                    ),
                    seq=seq,
                    now=found[seq][:16] + "…",
                    signed=digest[:16] + "…",
                )
            )
    if problems:
        raise AuditError(problems)
    return {"events": head["seq"], "head": f"{head['seq']}:{head['hash']}", "anchors": len(wanted)}
