"""An in-memory store, for tests and for trying the library without files (tinydb's
`MemoryStorage`). It passes the same contract suite as the other backends; nothing it holds
survives the process. Transactions are serialised by a lock and applied all at once."""

from __future__ import annotations

import contextlib
import copy
import shutil
import tempfile
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from complaintforms.errors import NotFoundError, StorageError
from complaintforms.i18n import N_
from complaintforms.storage import base
from complaintforms.storage.base import (
    GENESIS,
    ID_FIELDS,
    LOOKUP_FIELDS,
    Message,
    lookup_keys,
    lookup_matches,
    name_matches,
    partition_of,
    phone_digits,
    phone_matches,
)

# The lookup index: field -> key (phone digits, a name) -> case numbers.
Lookup = dict[str, dict[str, tuple[str, ...]]]


def reindex(lookup: Lookup, case_no: str, before: dict, after: dict) -> None:
    """Move a case in the lookup index from the keys it had to the keys it has."""
    for field in LOOKUP_FIELDS:
        old, new = before.get(field), after.get(field)
        if old == new:
            continue
        keys = lookup[field]
        if old is not None:
            rest = tuple(n for n in keys.get(old, ()) if n != case_no)
            if rest:
                keys[old] = rest
            else:
                keys.pop(old, None)
        if new is not None and case_no not in keys.get(new, ()):
            keys[new] = tuple(sorted((*keys.get(new, ()), case_no)))


class MemoryStore(base.Store):
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.records: dict[str, dict[str, dict]] = {c: {} for c in ID_FIELDS}
        self.counters: dict[str, int] = {}
        self.doc_serial = 0
        self.events: list[dict] = []
        self.files: dict[str, bytes] = {}
        self.lookup: Lookup = {f: {} for f in LOOKUP_FIELDS}
        self._local: Path | None = None

    @property
    def location(self) -> str:
        return "memory"

    # -- records ------------------------------------------------------------------------------
    def get(self, key: str, collection: str = "cases") -> dict:
        with self._lock:
            record = self.records[collection].get(key)
        if record is None:
            raise base.no_record(key, collection)
        return copy.deepcopy(record)

    def iter_records(
        self,
        collection: str = "cases",
        *,
        months: Iterable[str] | None = None,
        statuses: Iterable[str] | None = None,
    ) -> Iterator[dict]:
        wanted = None if months is None else set(months)
        with self._lock:
            records = [copy.deepcopy(r) for r in self.records[collection].values()]

        # Oldest month first, registration (insertion) order within a month.
        def month(record: dict) -> str:
            return partition_of(record, collection)

        for record in sorted(records, key=month):
            if wanted is None or month(record) in wanted:
                yield record

    def find_cases(
        self,
        *,
        phone: str | None = None,
        name: str | None = None,
        months: Iterable[str] | None = None,
    ) -> Iterator[dict]:
        """From the lookup index kept with the cases, in the order of iter_records."""
        if phone is None and name is None:
            yield from self.iter_records("cases", months=months)
            return
        wanted = None if months is None else set(months)
        with self._lock:
            lookup, records = self.lookup, self.records["cases"]
            found: set[str] | None = None
            if phone is not None:
                digits = phone_digits(phone)
                found = {
                    n
                    for key, nos in lookup["phone"].items()
                    if phone_matches(key, digits)
                    for n in nos
                }
            if name is not None:
                named = {
                    n for key, nos in lookup["name"].items() if name_matches(key, name) for n in nos
                }
                found = named if found is None else found & named
            hits = [
                copy.deepcopy(r)
                for key, r in records.items()
                if key in (found or ())
                and lookup_matches(r, phone, name)
                and (wanted is None or partition_of(r) in wanted)
            ]
        yield from sorted(hits, key=partition_of)

    def count(self, collection: str = "cases") -> int:
        return len(self.records[collection])

    def counter_values(self) -> dict[str, int]:
        with self._lock:
            return dict(sorted(self.counters.items()))

    def document_serial(self) -> int:
        with self._lock:
            return self.doc_serial

    # -- files ----------------------------------------------------------------------------------
    def read_file(self, path: str) -> bytes:
        with self._lock:
            if path not in self.files:
                raise NotFoundError(N_("no file {path}"), path=path)
            return self.files[path]

    def file_exists(self, path: str) -> bool:
        return path in self.files

    def list_files(self, prefix: str) -> list[str]:
        folder = prefix.rstrip("/") + "/"
        return sorted(p for p in self.files if p.startswith(folder))

    def local_path(self, path: str) -> Path:
        """A copy in a temporary folder of this process (made on demand)."""
        if self._local is None:
            self._local = Path(tempfile.mkdtemp(prefix="cf-memory-"))
        target = self._local / path
        if path in self.files:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(self.files[path])
        return target

    @contextlib.contextmanager
    def scratch(self) -> Iterator[Path]:
        folder = Path(tempfile.mkdtemp(prefix="cf-scratch-"))
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    # -- the audit log --------------------------------------------------------------------------
    def iter_events(self, since_month: str | None = None) -> Iterator[dict]:
        with self._lock:
            events = list(self.events)
        for event in events:
            if since_month is None or event["at"][:7] >= since_month:
                yield copy.deepcopy(event)

    def audit_head(self) -> dict:
        with self._lock:
            return dict(self._head)

    def verify_audit(self) -> list[Message]:
        with self._lock:
            events = list(self.events)
            head = self._head
        return base.chain_problems(
            ((Message(N_("event {seq}"), seq=i + 1), e) for i, e in enumerate(events)), head
        )

    def check(self) -> tuple[list[Message], str]:
        problems = [
            Message(
                N_("{collection} {key}: stored under the key of another record"),
                collection=collection,
                key=key,
            )
            for collection, records in self.records.items()
            for key, record in records.items()
            if record.get(ID_FIELDS[collection]) != key
        ]
        with self._lock:
            kept = {f: {k: list(v) for k, v in keys.items()} for f, keys in self.lookup.items()}
            cases = list(self.records["cases"].values())
        problems += base.lookup_problems(kept, cases)
        return problems, Message(N_("{count} cases in memory"), count=self.count())

    @property
    def _head(self) -> dict:
        # The head as recorded when the last event was appended (kept apart from the list, so
        # that removing an event from the end shows, as it does in the other backends).
        return getattr(self, "_recorded_head", {"seq": 0, "hash": GENESIS})

    def transaction(self) -> MemoryTransaction:
        return MemoryTransaction(self)


class MemoryTransaction(base.Transaction):
    def __init__(self, store: MemoryStore):
        self.store = store
        self.records: dict[str, dict[str, dict]] = {}
        self.counters: dict[str, int] = {}
        self.doc_serial = 0
        self.files: dict[str, bytes | None] = {}
        self.events: list[dict] = []
        self.head: dict = {}
        self.lookup: Lookup = {}

    def __enter__(self) -> MemoryTransaction:
        self.store._lock.acquire()
        self.records = {c: dict(r) for c, r in self.store.records.items()}
        self.lookup = {f: dict(keys) for f, keys in self.store.lookup.items()}
        self.counters = dict(self.store.counters)
        self.doc_serial = self.store.doc_serial
        self.head = dict(self.store._head)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                store = self.store
                store.records = self.records
                store.lookup = self.lookup
                store.counters = self.counters
                store.doc_serial = self.doc_serial
                for path, data in self.files.items():
                    if data is None:
                        store.files.pop(path, None)
                    else:
                        store.files[path] = data
                store.events.extend(self.events)
                store._recorded_head = self.head
        finally:
            self.store._lock.release()

    def get(self, key: str, collection: str = "cases") -> dict:
        record = self.records[collection].get(key)
        if record is None:
            raise base.no_record(key, collection)
        return copy.deepcopy(record)

    def exists(self, key: str, collection: str = "cases") -> bool:
        return key in self.records[collection]

    def insert(self, record: dict, collection: str = "cases") -> None:
        key = record[ID_FIELDS[collection]]
        if key in self.records[collection]:
            raise StorageError(N_("number {key} is already taken"), key=key)
        self.records[collection][key] = copy.deepcopy(record)
        if collection == "cases":
            reindex(self.lookup, key, {}, lookup_keys(record))

    def replace(self, record: dict, collection: str = "cases") -> None:
        key = record[ID_FIELDS[collection]]
        if key not in self.records[collection]:
            raise base.no_record(key, collection)
        before = self.records[collection][key]
        self.records[collection][key] = copy.deepcopy(record)
        if collection == "cases":
            reindex(self.lookup, key, lookup_keys(before), lookup_keys(record))

    def next_seq(self, counter: str) -> int:
        self.counters[counter] = self.counters.get(counter, 0) + 1
        return self.counters[counter]

    def current_seq(self, counter: str) -> int:
        return self.counters.get(counter, 0)

    def bump_seq(self, counter: str, seq: int) -> None:
        self.counters[counter] = max(self.counters.get(counter, 0), seq)

    def next_doc_serial(self) -> int:
        self.doc_serial += 1
        return self.doc_serial

    def current_doc_serial(self) -> int:
        return self.doc_serial

    def bump_doc_serial(self, serial: int) -> None:
        self.doc_serial = max(self.doc_serial, int(serial))

    def put_file(self, path: str, data: bytes) -> None:
        self.files[path] = bytes(data)

    def read_file(self, path: str) -> bytes | None:
        if path in self.files:
            return self.files[path]
        return self.store.files.get(path)

    def delete_file(self, path: str) -> None:
        self.files[path] = None

    def log(
        self,
        action: str,
        by: str,
        key: str | None,
        *,
        at: str,
        before: Any = None,
        after: Any = None,
        **extra: Any,
    ) -> dict:
        event = base.new_event(
            self.head,
            action,
            by,
            key,
            at,
            before=copy.deepcopy(before),
            after=copy.deepcopy(after),
            **extra,
        )
        self.head = {"seq": event["seq"], "hash": event["hash"]}
        self.events.append(event)
        return event
