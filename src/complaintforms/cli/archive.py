"""CLI commands for scanned returns and the archive."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from complaintforms.cli.base import (
    CFGroup,
    State,
    by_option,
    cli,
    emit,
    pass_state,
    progress_bar,
    report_problems,
    shown,
    tr,
)
from complaintforms.i18n import _


@cli.group(cls=CFGroup)
def archive() -> None:
    """Sealed archive bundles (BagIt, zipped, SHA-256) for auditors."""


@archive.command("build")
@click.argument("case_nos", nargs=-1, metavar="CASE...")
@click.option(
    "--quarter",
    metavar="YYYYQn",
    help="Every signed-off case closed in this quarter; also writes the transfer list.",
)
@by_option("Who seals the bundles.")
@pass_state
def archive_build(state: State, case_nos: tuple[str, ...], quarter: str | None, by: str) -> None:
    """Seal signed-off cases into bundles under records/archive/YYYY/Qn/."""
    from complaintforms.services.archive import build

    if bool(case_nos) == bool(quarter):
        raise click.UsageError("give case numbers or --quarter (not both)")
    result = build(state.ws, list(case_nos) or None, quarter=quarter, by=by)
    lines = [
        f"{b['case_no']}  {state.ws.local_path(b['bundle'])}  sha256 {b['sha256'][:16]}…"
        for b in result.bundles
    ]
    lines += [
        tr("transfer list: {path}", path=state.ws.local_path(d["path"]))
        for d in result.transfer_list
    ]
    emit(
        state, {"bundles": result.bundles, "transfer_list": result.transfer_list}, "\n".join(lines)
    )


@archive.command("list")
@click.option("--quarter", metavar="YYYYQn", help="Closed in this quarter.")
@click.option("--department", help="Routed to or about this department.")
@pass_state
def archive_list(state: State, quarter: str | None, department: str | None) -> None:
    """List archived cases and their bundles."""
    from complaintforms.services.archive import list_bundles

    rows = list_bundles(state.ws, quarter=quarter, department=department)
    emit(state, rows, "\n".join(_bundle_line(r) for r in rows) or _("no bundles"))


def _bundle_line(r: dict) -> str:
    gone = "  (disposed)" if r["disposed"] else ""
    closed = tr("closed {date}", date=r["closed_at"][:10])
    return f"{r['case_no']}  {closed}  {r['department'] or '-'}  {r['category'] or '-'}  {r['bundle']}{gone}"


@archive.command("search")
@click.option("--case", "case_no", help="Case number (or part of it).")
@click.option("--complainant", help="Complainant's name (or part of it).")
@click.option("--department", help="Department code or name.")
@click.option("--category", help="Category.")
@click.option("--text", help="Words in the content, demand, result or summary.")
@click.option("--from", "date_from", metavar="DATE", help="Received on or after.")
@click.option("--to", "date_to", metavar="DATE", help="Received on or before.")
@pass_state
def archive_search(state: State, **criteria) -> None:
    """Find archived cases by number, complainant, department, category, text or dates."""
    from complaintforms.services.archive import search

    rows = search(state.ws, **criteria)
    emit(state, rows, "\n".join(_bundle_line(r) for r in rows) or _("nothing found"))


@archive.command("show")
@click.argument("ref", metavar="CASE|PATH")
@pass_state
def archive_show(state: State, ref: str) -> None:
    """A bundle's metadata and contents, without extracting it."""
    from complaintforms.services.archive import show

    info = show(state.ws, ref)
    lines = [f"{info['bundle']}  sha256 {info['sha256']}"]
    lines += [f"  {k}: {v}" for k, v in info["bag_info"].items()]
    lines += [f"  {f['bytes']:>9}  {f['name']}" for f in info["files"]]
    emit(state, info, "\n".join(lines))


@archive.command("verify")
@click.argument("refs", nargs=-1, metavar="CASE|PATH...")
@click.option("--all", "all_bundles", is_flag=True, help="Every bundle in the workspace.")
@pass_state
def archive_verify(state: State, refs: tuple[str, ...], all_bundles: bool) -> None:
    """Check bundles: bag manifests, and the digests recorded on the case and in the audit log.
    Exit 1 naming every problem found."""
    from complaintforms.services.archive import ArchiveVerificationError, verify

    if bool(refs) == all_bundles:
        raise click.UsageError("give bundles (case numbers or paths) or --all")
    try:
        result = verify(state.ws, None if all_bundles else list(refs))
    except ArchiveVerificationError as exc:
        report_problems(state, exc.problems)
    emit(
        state,
        {"ok": True, **result},
        tr("{n} bundle(s) verified, no problems", n=result["verified"]),
    )


@archive.command("extract")
@click.argument("ref", metavar="CASE|PATH")
@click.option(
    "--to",
    "target",
    required=True,
    type=click.Path(file_okay=False),
    help="Folder to extract into.",
)
@pass_state
def archive_extract(state: State, ref: str, target: str) -> None:
    """Unpack a bundle (refuses entries outside the folder, links and absolute paths)."""
    from complaintforms.services.archive import extract

    result = extract(state.ws, ref, Path(target))
    emit(state, result, tr("extracted {n} files to {path}", n=result["files"], path=result["to"]))


@archive.command("purge")
@click.option("--dry-run", is_flag=True, help="Only list the bundles past their retention period.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@by_option("Who disposes of the bundles.")
@pass_state
def archive_purge(state: State, dry_run: bool, yes: bool, by: str) -> None:
    """Dispose of bundles past retention (from closing; major cases longer), entered in the
    disposal register (销毁清册); held cases are kept."""
    from complaintforms.services.archive import purge

    def confirm(candidates: list[dict]) -> bool:
        if yes:
            return True
        if not sys.stdin.isatty():
            raise click.UsageError("confirm with --yes (no terminal to ask on)")
        for c in candidates:
            until = tr("kept until {date}", date=c["retain_until"])
            click.echo(f"  {c['case_no']}  {until}  {c['bundle']}", err=True)
        return click.confirm(tr("dispose of {n} bundle(s)?", n=len(candidates)), err=True)

    result = purge(state.ws, by=by, confirm=confirm, dry_run=dry_run)
    if dry_run:
        text = "\n".join(
            f"{c['case_no']}  {tr('kept until {date}', date=c['retain_until'])}  {c['bundle']}"
            for c in result["candidates"]
        )
        emit(state, result, text or _("nothing past its retention period"))
    else:
        lines = [tr("disposed of {n} bundle(s)", n=len(result["disposed"]))]
        lines += [
            "  " + tr("register: {path}", path=state.ws.local_path(d["path"]))
            for d in result["register"]
        ]
        emit(state, result, "\n".join(lines))


# -- scans ---------------------------------------------------------------------------------------------------
@cli.group(cls=CFGroup)
def scan() -> None:
    """Scanned returns: attach them to their cases by their QR codes."""


@scan.command("intake")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option(
    "--replace",
    is_flag=True,
    help="Attach a rescan of a document already attached; the earlier copy is kept, marked superseded.",
)
@by_option("Who takes the scans in (for the audit log).")
@pass_state
def scan_intake(state: State, paths: tuple[str, ...], replace: bool, by: str) -> None:
    """Take in scanned PDFs / images (files or folders): each page lands on its case and form
    by its QR code; pages that cannot be matched are kept under records/unmatched/ and reported."""
    from complaintforms.services.intake import intake

    bar = None

    def on_total(n: int) -> None:
        nonlocal bar
        bar = progress_bar(state, _("reading scans"), n)
        bar.__enter__()

    try:
        report = intake(
            state.ws,
            [Path(p) for p in paths],
            by=by,
            progress=lambda n: bar.update(n),
            on_total=on_total,
            replace=replace,
        )
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    lines = [
        tr(
            "{matched} matched, {unmatched} unmatched, {duplicates} duplicates ({pages} pages)",
            matched=len(report.matched),
            unmatched=len(report.unmatched),
            duplicates=len(report.duplicates),
            pages=report.pages,
        )
    ]
    for m in report.matched:
        lines.append(
            "  "
            + tr(
                "matched    {case_no} {form}  {source} p.{pages}",
                case_no=m["case_no"],
                form=m["form"],
                source=m["source"],
                pages=",".join(map(str, m["pages"])),
            )
        )
    for u in report.unmatched:
        lines.append(
            "  "
            + tr(
                "unmatched  {source} p.{page}: {reason}  -> {path}",
                source=u["source"],
                page=u["page"],
                reason=shown(u["reason"]),
                path=u["path"],
            )
        )
    for r in report.rejected:
        where = tr("kept as {path}", path=r["path"]) if r.get("path") else _("not kept")
        lines.append(
            "  "
            + tr(
                "not read   {source}: {reason}  ({where})",
                source=r["source"],
                reason=shown(r["reason"]),
                where=where,
            )
        )
    for d in report.duplicates:
        pages = d.get("pages") or ([d["page"]] if d.get("page") else [])
        lines.append(
            "  "
            + tr(
                "duplicate  {source} p.{pages}", source=d["source"], pages=",".join(map(str, pages))
            )
        )
    for r in report.rescans:
        lines.append(
            "  "
            + tr(
                "rescan     {case_no} {form} {serial}  {source} p.{pages}: attached already",
                case_no=r["case_no"],
                form=r["form"],
                serial=r["serial"],
                source=r["source"],
                pages=",".join(map(str, r["pages"])),
            )
        )
    for b in report.blank:
        lines.append("  " + tr("blank      {source} p.{page}: dropped", **b))
    emit(state, report.as_dict(), "\n".join(lines))
    if report.incomplete:
        # Everything was kept or reported; the exit code says that not all was attached.
        click.echo("complaintforms: " + _("not every page was attached (see above)"), err=True)
        sys.exit(1)
