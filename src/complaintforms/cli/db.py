"""`db init`, `db check`, `db copy --to DSN`: the store's database (DESIGN.md section 10)."""

from __future__ import annotations

import sys

import click

from complaintforms.cli.base import CFGroup, State, cli, emit, pass_state, shown, tr
from complaintforms.i18n import series


@cli.group(cls=CFGroup)
def db() -> None:
    """The store's database: make its schema, check it, copy a workspace into PostgreSQL."""


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"  # pragma: no cover


def _failed(problems: list) -> None:
    click.echo("complaintforms: " + tr("{n} problem(s) found", n=len(problems)), err=True)
    sys.exit(1)


@db.command("init")
@pass_state
def db_init(state: State) -> None:
    """Create or migrate the schema of the configured database (nothing to do for TinyDB)."""
    from complaintforms.services.db import init_database

    result = init_database(state.ws)
    if result["backend"] != "postgresql":
        text = tr(
            "the {backend} store ({location}) has no schema: nothing to do",
            backend=result["backend"],
            location=result["location"],
        )
    elif result["applied"]:
        text = tr(
            "{location}: schema version {versions} applied; the schema is at version {version}",
            location=result["location"],
            versions=series(result["applied"]),
            version=result["version"],
        )
    else:
        text = tr(
            "{location}: the schema is current (version {version}); nothing to do",
            location=result["location"],
            version=result["version"],
        )
    emit(state, {"ok": True, **result}, text)


@db.command("check")
@pass_state
def db_check(state: State) -> None:
    """What doctor checks about the store (its consistency and the audit log's chain), for
    either backend. Exit 1 naming every problem found."""
    from complaintforms.services.db import check_store

    result = check_store(state.ws)
    problems = result["problems"]
    if problems:
        text = "\n".join(shown(p) for p in problems)
    else:
        text = tr(
            "{location}: no problems; {summary}; audit log intact, {events} events",
            location=result["location"],
            summary=shown(result["summary"]),
            events=result["events"],
        )
    emit(state, result, text)
    if problems:
        _failed(problems)


@db.command("copy")
@click.option(
    "--to",
    "dsn",
    required=True,
    metavar="DSN",
    help="The PostgreSQL database to copy into (a libpq connection string or URL); it must hold nothing yet.",
)
@pass_state
def db_copy(state: State, dsn: str) -> None:
    """Copy the workspace's whole store (records, counters, files, the audit log verbatim)
    into an empty PostgreSQL database, in one transaction."""
    from complaintforms.services.db import copy_store

    result = copy_store(state.ws, dsn)
    records = result["records"]
    lines = [
        tr(
            "copied {source} into {location}",
            source=result["from"],
            location=result["to"],
        )
    ]
    if result["schema"]:
        lines.append(
            "  "
            + tr(
                "schema version {versions} applied",
                versions=series(result["schema"]),
            )
        )
    lines += [
        "  "
        + tr(
            "{cases} cases, {opinions} opinions, {users} users, {sessions} sessions, "
            "{tokens} tokens",
            **records,
        ),
        "  "
        + tr(
            "{counters} counters, document serial {serial}",
            counters=len(result["counters"]),
            serial=result["doc_serial"],
        ),
        "  " + tr("{files} files ({size})", files=result["files"], size=_size(result["bytes"])),
        "  "
        + tr(
            "{events} audit events, head {seq}:{hash}",
            events=result["events"],
            seq=result["events"],
            hash=result["head"],
        ),
    ]
    problems = result["problems"]
    if problems:
        lines += [shown(p) for p in problems]
    else:
        lines.append(tr("the copy checked: no problems"))
    emit(state, result, "\n".join(lines))
    if problems:
        _failed(problems)
