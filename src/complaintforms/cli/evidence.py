"""CLI commands for material attached by hand: evidence (`case attach`) and a kept scan
matched to its case (`scan assign`)."""

from __future__ import annotations

from pathlib import Path

import click

from complaintforms.cli.archive import scan
from complaintforms.cli.base import State, by_option, case, emit, pass_state, shown, tr


def _warn(warnings: list) -> None:
    for warning in warnings:
        click.echo("complaintforms: " + tr("warning: {text}", text=shown(warning)), err=True)


@case.command("attach")
@click.argument("case_no", metavar="CASE")
@click.argument("files", nargs=-1, required=True, type=click.Path(), metavar="FILE...")
@click.option(
    "--kind",
    required=True,
    help="letter|photo|receipt|other (信函 照片 收据 其他).",
)
@click.option("--note", help="What the material is or shows.")
@click.option(
    "--at",
    metavar="TIME",
    help="When the material was received (default now; not in the future).",
)
@by_option("Who attaches it (for the record and the audit log).")
@pass_state
def case_attach(
    state: State,
    case_no: str,
    files: tuple[str, ...],
    kind: str,
    note: str | None,
    at: str | None,
    by: str,
) -> None:
    """Keep the complainant's evidence with the case (证据材料): the letter (a copy kept for
    reference), photos, receipts; PDF or image files, each with its SHA-256."""
    from complaintforms.services.evidence import EVIDENCE_KINDS, attach_evidence

    result = attach_evidence(
        state.ws, case_no, [Path(f) for f in files], kind=kind, by=by, note=note, at=at
    )
    _warn(result.warnings)
    lines = [tr("{case_no}: {n} file(s) attached", case_no=case_no, n=len(result.attached))]
    for entry in result.attached:
        pages = tr(" ({pages} p.)", pages=entry["pages"]) if entry["pages"] else ""
        lines.append(
            f"  {EVIDENCE_KINDS[entry['evidence_kind']]} ({entry['evidence_kind']})  "
            f"{entry['name']}{pages}  "
            f"{state.ws.local_path(entry['path'])}"
        )
    emit(state, result.as_dict(), "\n".join(lines))


@scan.command("assign")
@click.argument("page", metavar="PAGE")
@click.argument("case_no", metavar="CASE")
@click.option(
    "--form",
    required=True,
    help="The form the page is (record_card, feedback_slip, contact_receipt, ...).",
)
@click.option("--reason", help="Why it is this case's page (for the audit log).")
@by_option("Who matches the page (for the audit log).")
@pass_state
def scan_assign(
    state: State, page: str, case_no: str, form: str, reason: str | None, by: str
) -> None:
    """Attach a page kept under records/unmatched/ to its case by hand (PAGE: its path as
    scan intake printed it, or its name); it leaves unmatched/."""
    from complaintforms.services.evidence import assign_page

    result = assign_page(state.ws, page, case_no, form=form, by=by, reason=reason)
    entry = result["attachment"]
    emit(
        state,
        result,
        tr(
            "{case_no}: {page} attached as {form}: {path}",
            case_no=case_no,
            page=result["removed"],
            form=entry["form"],
            path=state.ws.local_path(entry["path"]),
        ),
    )
