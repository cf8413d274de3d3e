"""`db init`, `db check` and `db copy` (DESIGN.md section 10): the schema of the configured
database, the store's own checks for either backend, and a workspace's whole store copied
into PostgreSQL.

A copy takes everything a store holds: every record of every collection (base.ID_FIELDS),
every counter and the document serial, every file under the folders of paths.PATTERNS (and
workspace.json, the identity QR codes are signed with), and the audit log verbatim (each
event as it was written, its number, time, author and hashes kept, so that the chain, and
the anchors printed on signed papers, still verify). It goes into an empty database only,
in one database transaction: a failure leaves the target as it was. While it runs the
source's writers wait (its write lock is held), so the copy is of one moment.
"""

from __future__ import annotations

from typing import Any

from complaintforms.errors import StorageError
from complaintforms.i18n import N_
from complaintforms.storage.base import ID_FIELDS, Message, Store
from complaintforms.storage.paths import PATTERNS
from complaintforms.workspace import Workspace


def backend_name(store: Store) -> str:
    from complaintforms.storage.postgresql import PostgresStore
    from complaintforms.storage.tinydb import TinyDBStore

    if isinstance(store, PostgresStore):
        return "postgresql"
    if isinstance(store, TinyDBStore):
        return "tinydb"
    return type(store).__name__.removesuffix("Store").lower()


def _unmigrated(store: Store) -> Store:
    """A PostgreSQL store that does not make or migrate the schema when first used (these
    commands report the schema as it is, or migrate it themselves); any other as it is."""
    from complaintforms.storage.postgresql import PostgresStore

    if isinstance(store, PostgresStore):
        return PostgresStore(
            store.dsn, store.local_root, lock_timeout=store.lock_timeout, migrate=False
        )
    return store


def _close(store: Store) -> None:
    close = getattr(store, "close", None)
    if callable(close):
        close()


# -- db init ------------------------------------------------------------------------------------
def init_database(ws: Workspace) -> dict[str, Any]:
    """The schema of the configured database made or migrated: the versions applied (none
    when it is current). A TinyDB store has no schema: nothing is done."""
    store = ws.store
    name = backend_name(store)
    if name != "postgresql":
        return {"backend": name, "location": store.location, "applied": [], "version": None}
    pg = _unmigrated(store)
    try:
        before = pg.schema_version()
        applied = pg.migrate()
        version = pg.schema_version()
    finally:
        _close(pg)
    return {
        "backend": name,
        "location": pg.location,
        "applied": applied,
        "before": before,
        "version": version,
    }


# -- db check -----------------------------------------------------------------------------------
def check_store(ws: Workspace) -> dict[str, Any]:
    """What doctor checks about the store: its own consistency (`check`) and the audit
    log's chain (`verify_audit`), each problem a Message. A PostgreSQL database whose schema
    is missing or older is reported, not migrated."""
    from complaintforms.storage.postgresql import SCHEMA_VERSION

    store = _unmigrated(ws.store)
    name = backend_name(store)
    result: dict[str, Any] = {"backend": name, "location": store.location}
    try:
        if name == "postgresql":
            version = store.schema_version()
            result["schema"] = version
            if version < SCHEMA_VERSION:
                problem = Message(
                    N_(
                        "{location}: the database schema is version {version}, this "
                        "complaintforms uses version {known}; run: complaintforms db init"
                    ),
                    location=store.location,
                    version=version,
                    known=SCHEMA_VERSION,
                )
                return {**result, "ok": False, "problems": [problem], "summary": ""}
        problems, summary = store.check()
        problems = list(problems)
        seen = {str(p) for p in problems}
        for problem in store.verify_audit():  # a disabled trigger is in both: once
            if str(problem) not in seen:
                seen.add(str(problem))
                problems.append(problem)
        events = store.audit_head()["seq"]
    finally:
        if store is not ws.store:
            _close(store)
    return {
        **result,
        "ok": not problems,
        "problems": problems,
        "summary": summary,
        "events": events,
    }


# -- db copy ------------------------------------------------------------------------------------
def stored_files(store: Store) -> list[str]:
    """Every stored file: those under each top-level folder of paths.PATTERNS, and the
    files PATTERNS places at the top (workspace.json)."""
    folders = sorted({p.split("/", 1)[0] for p in PATTERNS.values() if "/" in p})
    paths = [path for folder in folders for path in store.list_files(folder)]
    paths += sorted(p for p in PATTERNS.values() if "/" not in p and store.file_exists(p))
    return paths


def held(store: Store) -> dict[str, int]:
    """What a store holds, counted: records of each collection, audit events, files."""
    counts = {collection: store.count(collection) for collection in ID_FIELDS}
    counts["events"] = store.audit_head()["seq"]
    counts["files"] = len(stored_files(store))
    return counts


def _refuse_unless_empty(target: Store) -> None:
    counts = held(target)
    if any(counts.values()):
        raise StorageError(
            N_(
                "{location} already holds records ({cases} cases, {records} other records, "
                "{events} audit events, {files} files); db copy writes only into an empty "
                "database: nothing was copied"
            ),
            location=target.location,
            cases=counts["cases"],
            records=sum(counts[c] for c in ID_FIELDS if c != "cases"),
            events=counts["events"],
            files=counts["files"],
        )


def copy_store(ws: Workspace, dsn: str) -> dict[str, Any]:
    """The workspace's whole store copied into the PostgreSQL database `dsn` (its schema
    made or migrated first), which must hold nothing yet; all in one transaction. What was
    copied, counted, and the copy's own check and audit verification afterwards."""
    from complaintforms.storage.postgresql import PostgresStore

    source = ws.store
    target = PostgresStore(dsn, migrate=False)
    try:
        if target.location == source.location:
            raise StorageError(
                N_("{location} is the workspace's own database: nothing was copied"),
                location=target.location,
            )
        damaged = list(source.check()[0]) + list(source.verify_audit())
        if damaged:
            raise StorageError(
                N_(
                    "the workspace's store has {count} problem(s), e.g. {example}; see "
                    "complaintforms db check: nothing was copied"
                ),
                count=len(damaged),
                example=damaged[0],
            )
        if target.schema_version() > 0:
            _refuse_unless_empty(target)  # before anything is written, the schema too
        applied = target.migrate()

        records = {collection: 0 for collection in ID_FIELDS}
        files = size = 0
        with source.transaction():  # the source's writers wait: one moment is copied
            head = source.audit_head()
            with target.transaction() as txn:
                _refuse_unless_empty(target)  # again, now that its writers wait
                for collection in ID_FIELDS:
                    for record in source.iter_records(collection):
                        txn.insert(record, collection)
                        records[collection] += 1
                counters = source.counter_values()
                for counter, value in counters.items():
                    txn.bump_seq(counter, value)
                serial = source.document_serial()
                txn.bump_doc_serial(serial)
                for path in stored_files(source):
                    data = source.read_file(path)
                    txn.put_file(path, data)
                    files += 1
                    size += len(data)
                copied = txn.append_events(source.iter_events())
                if copied != head:
                    raise StorageError(
                        N_(
                            "the workspace's audit log ends at event {seq}, its head says "
                            "{head}: nothing was copied"
                        ),
                        seq=copied["seq"],
                        head=head["seq"],
                    )
        problems, _summary = target.check()
        problems = list(problems) + [p for p in target.verify_audit() if p not in problems]
        copied_counts = {collection: target.count(collection) for collection in ID_FIELDS}
        if copied_counts != records:
            problems.append(
                Message(
                    N_("the copy holds {held} records where {copied} were copied"),
                    held=sum(copied_counts.values()),
                    copied=sum(records.values()),
                )
            )
        return {
            "ok": not problems,
            "from": source.location,
            "to": target.location,
            "schema": applied,
            "records": records,
            "counters": counters,
            "doc_serial": serial,
            "files": files,
            "bytes": size,
            "events": head["seq"],
            "head": head["hash"],
            "problems": problems,
        }
    finally:
        target.close()
