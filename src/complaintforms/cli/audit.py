"""`audit verify`: the audit log's chain, and anchors printed on signed paper."""

from __future__ import annotations

import click

from complaintforms.cli.base import (
    CFGroup,
    State,
    cli,
    emit,
    pass_state,
    report_problems,
    tr,
)


@cli.group(cls=CFGroup)
def audit() -> None:
    """The audit log (审计日志)."""


@audit.command("verify")
@click.option(
    "--anchor",
    "anchors",
    multiple=True,
    metavar="SEQ:HASH",
    help="An audit anchor printed on a signed paper (transfer list, report, register).",
)
@pass_state
def audit_verify(state: State, anchors: tuple[str, ...]) -> None:
    """Check the audit log's hash chain and the anchors printed on signed papers."""
    from complaintforms.services.audit import AuditError, verify

    try:
        result = verify(state.ws, anchors)
    except AuditError as exc:
        report_problems(state, exc.problems)
    emit(
        state,
        {"ok": True, **result},
        tr(
            "audit log intact: {events} events, head {head}; {anchors} anchor(s) match",
            events=result["events"],
            head=result["head"],
            anchors=result["anchors"],
        ),
    )
