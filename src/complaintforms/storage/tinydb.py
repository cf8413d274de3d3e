"""Case records behind a small repository interface, with TinyDB files underneath.

Layout under records/ (every file stays plain UTF-8 JSON that an auditor can open):

    cases/YYYY-MM.json   TinyDB file (table "cases"), the cases received in that month
    index.json           numbering counters, document serial, audit head, and per partition
                         how many records have each status (a listing skips the rest)
    index/cases-NN.json  case number -> [partition, doc id], in 64 shards by CRC-32 of the number
    index/opinions-NN.json  the same for opinion-book entries
    index/phone-NN.json  the lookup index: a complainant's phone digits -> case numbers, in 64
                         shards by the number's last four digits (a whole number and a suffix
                         of 4+ digits are both answered from one shard)
    index/name-NN.json   a complainant's name -> case numbers, in 64 shards by CRC-32 (a
                         part of a name is looked for in all of them, 1/30 of the cases' size)
    audit/YYYY-MM.jsonl  the hash-chained audit log, one event a line, by month of the change
    documents/...        generated forms
    journal.json         present only while a commit is being applied
    .tmp/                staging area for files about to be moved into place

Why partitions: a plain TinyDB file rewrites itself whole on every write, which cost
0.4-0.5 s a write at 10,000 cases; a month's file stays small however many years pile up.
Why shards: one index of every case number was 3.3 MB at 100,000 cases, read (28 ms) by
every lookup and rewritten by every write; a shard holds 1/64 of them. Workspaces made with
the single index (format 1) are still read, and upgraded by their next write.
Why a lookup index: `case list --phone` read every partition, 1.7 s at 100,000 cases; the
index is kept by insert and replace in the transaction of the case, checked by `check`, and
built by the first write to a workspace made before it (until then a lookup reads every
partition, as before).

Every write goes through a Transaction: a cross-process file lock, the index read fresh
inside the lock, changes staged in memory, then one commit. A commit writes every new file
to records/.tmp (fsync), then writes journal.json (the commit point), then moves the files
into place and appends the audit events. A process killed at any moment leaves either the
old state (no journal: staged files are discarded) or a journal that the next opener
replays to the end, so a multi-file change is all or nothing.
"""

from __future__ import annotations

import bisect
import contextlib
import os
import shutil
import tempfile
import threading
import time
import uuid
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson
from tinydb.storages import Storage

from complaintforms.errors import NotFoundError, StorageError
from complaintforms.i18n import N_
from complaintforms.storage import base
from complaintforms.storage.base import (
    GENESIS,
    ID_FIELDS,
    LOOKUP_FIELDS,
    MIN_PHONE_DIGITS,
    Message,
    event_hash,
    lookup_keys,
    lookup_matches,
    name_matches,
    partition_of,
    phone_digits,
    phone_matches,
)
from complaintforms.storage.localfiles import atomic_write, fsync_dir, write_file_synced
from complaintforms.storage.readcache import ReadCache, damaged, parse_json

INDEX_FORMAT = 2
INDEX_SHARDS = 64
# index.json's "lookup": the version of the lookup shards, present once they are complete.
LOOKUP_FORMAT = 1
# Per-partition counts of this field: `case list --overdue` reads only the months that hold
# open cases instead of every case ever received.
COUNTED_FIELD = "status"
LOCK_TIMEOUT = 120.0
__all__ = ["GENESIS", "ID_FIELDS", "event_hash", "TinyDBStore", "Transaction", "OrjsonStorage"]


def dumps(data: Any) -> bytes:
    return orjson.dumps(data)


def loads(data: bytes) -> Any:
    return orjson.loads(data)


class OrjsonStorage(Storage):
    """A TinyDB storage that reads a partition file as it is on disk and writes atomically.

    For opening a partition outside the tool: TinyDB(path, storage=OrjsonStorage).
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def read(self) -> dict | None:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        return loads(raw) if raw.strip() else None

    def write(self, data: dict) -> None:
        atomic_write(self.path, dumps(data))


def shard_rel(collection: str, key: str, shards: int = INDEX_SHARDS) -> str:
    """The index shard (relative to records/) that holds `key` of `collection`."""
    return f"index/{collection}-{zlib.crc32(key.encode('utf-8')) % shards:02d}.json"


def lookup_rel(field: str, key: str, shards: int = INDEX_SHARDS) -> str:
    """The lookup shard holding `key` (phone digits or a name) of `field`."""
    if field == "phone":
        n = int(key[-MIN_PHONE_DIGITS:] or 0)
    else:
        n = zlib.crc32(key.encode("utf-8"))
    return f"index/{field}-{n % shards:02d}.json"


# Where each record's audit events are ([segment, offset, length] of their lines), so that a
# case's history reads its own lines and not every month's log since it came in (the web
# writes a case.view event at every look). Sharded finer than the other indexes: every
# transaction that logs an event of a case rewrites that case's shard.
HISTORY_FORMAT = 1
HISTORY_SHARDS = 256


# A record as a partition is kept: (its status, its JSON, (received_at, number)). Reading one
# case parses one case, a listing sorts and filters without parsing, and a transaction edits
# a month by swapping one record's JSON and joining the rest as they are.
Entry = tuple[Any, bytes, tuple[str, str]]


def entry_of(doc: dict) -> Entry:
    return (
        doc.get(COUNTED_FIELD),
        # A copy: the bytes orjson returns keep its whole write buffer (16 KB for a record
        # of 1.5 KB), which made a cache of 50 MB of months take 500 MB.
        bytes(memoryview(orjson.dumps(doc))),
        (str(doc.get("received_at") or ""), str(doc.get("case_no") or "")),
    )


def partition_bytes(collection: str, entries: dict[str, Entry]) -> bytes:
    """The partition file, a TinyDB file of one table, as TinyDB with OrjsonStorage writes it."""
    body = b",".join(b'"' + doc_id.encode() + b'":' + e[1] for doc_id, e in entries.items())
    return b'{"' + collection.encode() + b'":{' + body + b"}}"


def history_rel(key: str) -> str:
    return f"index/history-{zlib.crc32(key.encode('utf-8')) % HISTORY_SHARDS:03d}.json"


def has_history(index: dict) -> bool:
    return index.get("history") == HISTORY_FORMAT


def has_lookup(index: dict) -> bool:
    """Whether the lookup shards are complete (format 1 predates them)."""
    return index.get("format") == INDEX_FORMAT and bool(index.get("lookup"))


def _check_rel(path: str) -> str:
    """A logical path stays inside records/: no absolute path, no `..`."""
    parts = Path(path).parts
    if not parts or Path(path).is_absolute() or ".." in parts or parts[0].startswith("."):
        raise StorageError(N_("{path} is not a path inside the records"), path=repr(path))
    return path


class TinyDBStore(base.Store):
    """The embedded store: reads without the lock (files are replaced atomically), writes in
    transactions under the lock."""

    files_are_local = True

    def __init__(self, records: Path, *, lock_timeout: float = LOCK_TIMEOUT):
        self.records = Path(records)
        self.lock_timeout = lock_timeout
        self._lock = None
        self._tlock: threading.RLock | None = None
        self._cache = ReadCache.of(self.records, "partitions")
        self._shards = ReadCache.of(self.records, "shards")
        self._names = ReadCache.of(self.records, "names")

    # -- paths -------------------------------------------------------------------------
    @property
    def location(self) -> str:
        return str(self.records)

    @property
    def index_path(self) -> Path:
        return self.records / "index.json"

    @property
    def journal_path(self) -> Path:
        return self.records / "journal.json"

    @property
    def tmp_dir(self) -> Path:
        return self.records / ".tmp"

    def partition_rel(self, key: str, collection: str = "cases") -> str:
        return f"{collection}/{key}.json"

    # -- locking and recovery ------------------------------------------------------------
    def lock(self):
        from filelock import FileLock

        if self._lock is None:
            self.records.mkdir(parents=True, exist_ok=True)
            self._lock = FileLock(str(self.records / ".lock"), timeout=self.lock_timeout)
        return self._lock

    # One lock per records folder for the threads of a process (the web server's), taken
    # before the file lock: they queue on it and wake as soon as it is free, where waiting on
    # the file lock alone polls (every 50 ms by default, a p95 of its own under load).
    _thread_locks: dict[Path, threading.RLock] = {}
    _thread_locks_guard = threading.Lock()

    def _thread_lock(self) -> threading.RLock:
        if self._tlock is None:
            with self._thread_locks_guard:
                key = self.records.resolve()
                self._tlock = self._thread_locks.setdefault(key, threading.RLock())
        return self._tlock

    def _acquire(self) -> None:
        from filelock import Timeout

        thread_lock = self._thread_lock()
        try:
            if not thread_lock.acquire(timeout=self.lock_timeout):
                raise Timeout(str(self.records / ".lock"))
            try:
                self.lock().acquire(poll_interval=0.005)
            except BaseException:
                thread_lock.release()
                raise
        except Timeout:
            raise StorageError(
                N_(
                    "{path}: the records are locked by another process (waited {seconds} s); try again"
                ),
                path=str(self.records),
                seconds=f"{self.lock_timeout:.0f}",
            ) from None

    def _release(self) -> None:
        self.lock().release()
        self._thread_lock().release()

    def recover(self) -> bool:
        """Finish or discard an interrupted commit. Call with the lock held."""
        replayed = False
        if self.journal_path.exists():
            try:
                journal = loads(self.journal_path.read_bytes())
            except orjson.JSONDecodeError:
                # The journal is written atomically, so a torn one cannot be; treat it as
                # damage rather than guess.
                raise StorageError(
                    N_("{path}: damaged commit journal"), path=str(self.journal_path)
                ) from None
            self._apply(journal)
            self.journal_path.unlink()
            fsync_dir(self.records)
            replayed = True
        for stray in self.records.glob(".*.tmp"):  # a journal write cut short
            stray.unlink(missing_ok=True)
        if self.tmp_dir.exists():
            for leftover in self.tmp_dir.iterdir():
                if leftover.is_dir():
                    shutil.rmtree(leftover, ignore_errors=True)
                else:
                    leftover.unlink(missing_ok=True)
        return replayed

    def _apply(self, journal: dict) -> None:
        for tmp_rel, final_rel in journal["moves"]:
            tmp, final = self.records / tmp_rel, self.records / final_rel
            if tmp.exists():
                final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp, final)
                fsync_dir(final.parent)
        for rel in journal.get("deletes", []):
            (self.records / rel).unlink(missing_ok=True)
        for seg_rel, offset, text in journal["appends"]:
            seg = self.records / seg_rel
            seg.parent.mkdir(parents=True, exist_ok=True)
            with open(seg, "ab") as fh:
                pass  # create when missing
            with open(seg, "r+b") as fh:
                fh.truncate(offset)
                fh.seek(offset)
                fh.write(text.encode("utf-8"))
                fh.flush()
                os.fsync(fh.fileno())

    def _ensure_consistent(self) -> None:
        """Readers: if a commit was interrupted, take the lock and finish it first."""
        if self.journal_path.exists():
            self._acquire()
            try:
                self.recover()
            finally:
                self._release()

    # -- reading ---------------------------------------------------------------------------
    def read_index(self) -> dict:
        try:
            raw = self.index_path.read_bytes()
        except FileNotFoundError:
            return new_index()
        try:
            index = loads(raw)
        except orjson.JSONDecodeError:
            raise damaged(self.index_path) from None
        if index.get("format") not in (1, INDEX_FORMAT):
            raise StorageError(
                N_("{path}: unknown index format {format}"),
                path=str(self.index_path),
                format=repr(index.get("format")),
            )
        return index

    def shard_cache(self, rel: str) -> ReadCache | None:
        """Where an index shard is kept parsed; None for a history shard, which a case page
        reads once (kept, 256 of them took 50 MB at 100,000 cases for a rare second look)."""
        if rel.startswith("index/history-"):
            return None
        return self._names if rel.startswith("index/name-") else self._shards

    def _read_json(self, rel: str) -> Any:
        """An index shard (index/...), parsed once while it is unchanged; read only."""
        cache = self.shard_cache(rel)
        if cache is None:
            try:
                raw = (self.records / rel).read_bytes()
            except FileNotFoundError:
                return None
            try:
                return parse_json(raw)
            except orjson.JSONDecodeError:
                raise damaged(self.records / rel) from None
        return cache.get(self.records / rel, parse_json)

    def locate(self, key: str, collection: str = "cases", index: dict | None = None):
        """[partition, doc id] of a case (or opinion), or None; reads one index shard."""
        index = index if index is not None else self.read_index()
        if index["format"] == 1:
            return index.get(collection, {}).get(key)
        return (self._read_json(shard_rel(collection, key, index["shards"])) or {}).get(key)

    def partitions_with(self, values: Iterable[str], collection: str = "cases") -> list[str] | None:
        """Partitions holding a record whose status is one of `values`; None when the index
        has no counts (a workspace not written since counts were added)."""
        self._ensure_consistent()
        counts = self.read_index().get("counts")
        if counts is None:
            return None
        values = set(values)
        return sorted(
            key
            for key, by_value in counts.get(collection, {}).items()
            if any(by_value.get(v) for v in values)
        )

    def iter_index(self, collection: str = "cases") -> Iterator[tuple[str, list]]:
        """Every (key, [partition, doc id]) of a collection's index."""
        self._ensure_consistent()
        index = self.read_index()
        if index["format"] == 1:
            yield from index.get(collection, {}).items()
            return
        for n in range(index["shards"]):
            yield from (self._read_json(f"index/{collection}-{n:02d}.json") or {}).items()

    def _partition(self, key: str, collection: str = "cases") -> dict[str, Entry]:
        """A partition's records as {doc id: Entry}, from the cache."""

        def parse(raw: bytes) -> dict:
            docs = (loads(raw) or {}).get(collection, {}) if raw.strip() else {}
            return {i: entry_of(d) for i, d in docs.items()}

        return self._cache.get(self.records / self.partition_rel(key, collection), parse) or {}

    def read_partition(self, key: str, collection: str = "cases") -> dict:
        return {i: loads(entry[1]) for i, entry in self._partition(key, collection).items()}

    def get(self, key: str, collection: str = "cases") -> dict:
        self._ensure_consistent()
        where = self.locate(key, collection)
        if where is None:
            raise base.no_record(key, collection)
        entry = self._partition(where[0], collection).get(str(where[1]))
        if entry is None:
            raise StorageError(
                N_("{key}: listed in the index but missing from its partition"), key=key
            )
        return loads(entry[1])

    def partitions(self, collection: str = "cases") -> list[str]:
        folder = self.records / collection
        if not folder.exists():
            return []
        return sorted(p.stem for p in folder.glob("*.json"))

    def months(self, collection: str = "cases") -> list[str]:
        """From the index's counts by status (no record read); a partition whose last record
        moved away (a corrected month) holds none. Without counts, the files."""
        self._ensure_consistent()
        counts = self.read_index().get("counts")
        if collection == "cases" and counts is not None:
            return sorted(k for k, by_status in counts.get(collection, {}).items() if by_status)
        return [p for p in self.partitions(collection) if self.read_partition(p, collection)]

    def get_many(self, keys: Iterable[str], collection: str = "cases") -> list[dict]:
        """Each partition read once for all the keys it holds (a batch of a month's cases
        read them all one by one before: a quadratic cost)."""
        self._ensure_consistent()
        index = self.read_index()
        shards: dict[str, dict] = {}
        partitions: dict[str, dict] = {}
        out = []
        for key in keys:
            if index["format"] == 1:
                where = self.locate(key, collection, index)
            else:
                rel = shard_rel(collection, key, index["shards"])
                if rel not in shards:
                    shards[rel] = self._read_json(rel) or {}
                where = shards[rel].get(key)
            if where is None:
                raise base.no_record(key, collection)
            if where[0] not in partitions:
                partitions[where[0]] = self._partition(where[0], collection)
            entry = partitions[where[0]].get(str(where[1]))
            if entry is None:
                raise StorageError(
                    N_("{key}: listed in the index but missing from its partition"), key=key
                )
            out.append(loads(entry[1]))
        return out

    def iter_records(
        self,
        collection: str = "cases",
        *,
        months: Iterable[str] | None = None,
        statuses: Iterable[str] | None = None,
    ) -> Iterator[dict]:
        """Partition by partition (oldest first), in registration order; with `statuses`,
        only the partitions whose counts hold such records, and of them only such records
        (the others are not even parsed)."""
        self._ensure_consistent()
        keys = self.partitions(collection) if months is None else sorted(set(months))
        wanted = None
        if statuses is not None:
            wanted = set(statuses)
            having = self.partitions_with(wanted, collection)
            if having is not None:
                keys = sorted(set(keys) & set(having))
        for key in keys:
            entries = self._partition(key, collection)
            for doc_id in sorted(entries, key=int):
                status, raw, _ = entries[doc_id]
                if wanted is None or not isinstance(status, str) or status in wanted:
                    yield loads(raw)

    def iter_newest(self, month: str, statuses: Iterable[str] | None = None) -> Iterator[dict]:
        """Sorted by what the cache keeps of each record; only the records handed out are
        parsed (a page of 50 of a month of 1,000 parses 50)."""
        self._ensure_consistent()
        wanted = None if statuses is None else set(statuses)
        entries = self._partition(month, "cases")
        for status, raw, _ in sorted(entries.values(), key=lambda e: e[2], reverse=True):
            if wanted is None or status in wanted:
                yield loads(raw)

    def find_cases(
        self,
        *,
        phone: str | None = None,
        name: str | None = None,
        months: Iterable[str] | None = None,
    ) -> Iterator[dict]:
        """From the lookup index: the phone shard of the number's last four digits, every
        name shard for a part of a name; then only the partitions holding what was found
        (of `months`, when given: a common name is in most months)."""
        self._ensure_consistent()
        index = self.read_index()
        if not has_lookup(index) or (phone is None and name is None):
            # Not built yet (the next write builds it), or nothing to look for.
            yield from super().find_cases(phone=phone, name=name, months=months)
            return
        wanted = None if months is None else set(months)
        shards = index["shards"]
        found: set[str] | None = None
        if phone is not None:
            digits = phone_digits(phone)
            rels = (
                [lookup_rel("phone", digits, shards)]
                if len(digits) >= MIN_PHONE_DIGITS
                else [f"index/phone-{n:02d}.json" for n in range(shards)]
            )
            found = {
                case_no
                for rel in rels
                for key, case_nos in (self._read_json(rel) or {}).items()
                if phone_matches(key, digits)
                for case_no in case_nos
            }
        if name is not None and found != set():
            named = {
                case_no
                for n in range(shards)
                for key, case_nos in (self._read_json(f"index/name-{n:02d}.json") or {}).items()
                if name_matches(key, name)
                for case_no in case_nos
            }
            found = named if found is None else found & named
        if not found:
            return
        if wanted is not None:
            # A few months asked of (a registration's repeat window): their partitions'
            # numbers are kept in the cache, while a common name's cases would be located
            # through most of the case shards.
            for month in sorted(wanted):
                entries = self._partition(month)
                for doc_id in sorted(entries, key=int):
                    if entries[doc_id][2][1] in found:
                        doc = loads(entries[doc_id][1])
                        if lookup_matches(doc, phone, name):
                            yield doc
            return
        case_shards: dict[str, dict] = {}
        places = []
        for case_no in found:
            rel = shard_rel("cases", case_no, shards)
            if rel not in case_shards:
                case_shards[rel] = self._read_json(rel) or {}
            where = case_shards[rel].get(case_no)
            if where is not None and (wanted is None or where[0] in wanted):
                places.append((where[0], int(where[1])))
        entries: dict = {}
        current = None
        for partition, doc_id in sorted(places):
            if partition != current:
                entries, current = self._partition(partition), partition
            entry = entries.get(str(doc_id))
            doc = loads(entry[1]) if entry is not None else None
            if doc is not None and lookup_matches(doc, phone, name):  # as the records say
                yield doc

    def read_lookup(self) -> tuple[dict[str, dict[str, list[str]]], list[str]] | None:
        """The whole lookup index (field -> key -> case numbers) and the keys kept in a shard
        where a lookup would not look for them; None before the index is built."""
        self._ensure_consistent()
        index = self.read_index()
        if not has_lookup(index):
            return None
        kept: dict[str, dict[str, list[str]]] = {field: {} for field in LOOKUP_FIELDS}
        misplaced = []
        for field in LOOKUP_FIELDS:
            for n in range(index["shards"]):
                rel = f"index/{field}-{n:02d}.json"
                for key, case_nos in (self._read_json(rel) or {}).items():
                    kept[field][key] = case_nos
                    if lookup_rel(field, key, index["shards"]) != rel:
                        misplaced.append(key)
        return kept, misplaced

    def count(self, collection: str = "cases") -> int:
        return sum(1 for _ in self.iter_index(collection))

    def counter_values(self) -> dict[str, int]:
        """The counters of index.json, by name."""
        self._ensure_consistent()
        return dict(sorted(self.read_index().get("counters", {}).items()))

    def document_serial(self) -> int:
        self._ensure_consistent()
        return self.read_index().get("doc_serial", 0)

    # -- files -----------------------------------------------------------------------------------
    def read_file(self, path: str) -> bytes:
        self._ensure_consistent()
        try:
            return (self.records / _check_rel(path)).read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            raise NotFoundError(N_("no file {path}"), path=path) from None

    def file_exists(self, path: str) -> bool:
        self._ensure_consistent()
        return (self.records / _check_rel(path)).is_file()

    def list_files(self, prefix: str) -> list[str]:
        self._ensure_consistent()
        folder = self.records / _check_rel(prefix)
        if not folder.is_dir():
            return []
        return sorted(
            p.relative_to(self.records).as_posix()
            for p in folder.rglob("*")
            if p.is_file() and not p.name.startswith(".")
        )

    def local_path(self, path: str) -> Path:
        return self.records / _check_rel(path)

    @contextlib.contextmanager
    def scratch(self) -> Iterator[Path]:
        # Not in tmp_dir, which every transaction's recovery empties: a scratch folder is in
        # use outside any lock (a bundle being built while others register). One a killed
        # process left behind is removed by the next scratch() a day later.
        folder = self.records / ".scratch"
        folder.mkdir(parents=True, exist_ok=True)
        stale = time.time() - 86400
        for leftover in folder.iterdir():
            with contextlib.suppress(OSError):
                if leftover.stat().st_mtime < stale:
                    shutil.rmtree(leftover, ignore_errors=True)
        with tempfile.TemporaryDirectory(dir=folder) as tmp:
            yield Path(tmp)

    def audit_segments(self) -> list[Path]:
        folder = self.records / "audit"
        if not folder.exists():
            return []
        return sorted(folder.glob("*.jsonl"))

    def history(self, key: str) -> list[dict]:
        """A record's events from their places in the history index: a seek and a read per
        event, whatever the size of the log (before the index is built: every segment
        since the record came in)."""
        self._ensure_consistent()
        if not has_history(self.read_index()):
            return super().history(key)
        self.get(key)  # NotFoundError for no such record, as the other backends
        places = (self._read_json(history_rel(key)) or {}).get(key, [])
        events = []
        handles: dict[str, Any] = {}
        try:
            for segment, offset, length in places:
                fh = handles.get(segment)
                if fh is None:
                    fh = handles[segment] = open(self.records / "audit" / f"{segment}.jsonl", "rb")  # noqa: SIM115
                fh.seek(offset)
                try:
                    events.append(loads(fh.read(length)))
                except orjson.JSONDecodeError:
                    raise StorageError(
                        N_("{path}: the history index points outside an event (line at {offset})"),
                        path=str(self.records / "audit" / f"{segment}.jsonl"),
                        offset=offset,
                    ) from None
        finally:
            for fh in handles.values():
                fh.close()
        return events

    def iter_events(self, since_month: str | None = None) -> Iterator[dict]:
        for seg in self.audit_segments():
            if since_month and seg.stem < since_month:
                continue
            with open(seg, "rb") as fh:
                for lineno, line in enumerate(fh, 1):
                    if not line.strip():
                        continue
                    try:
                        event = loads(line)
                    except orjson.JSONDecodeError:
                        raise StorageError(
                            N_("{path} line {line}: damaged (not valid JSON)"),
                            path=str(seg),
                            line=lineno,
                        ) from None
                    yield event

    def audit_head(self) -> dict:
        self._ensure_consistent()
        head = self.read_index().get("audit", {})
        return {"seq": head.get("seq", 0), "hash": head.get("hash", GENESIS)}

    def verify_audit(self) -> list[Message]:
        """Every problem in the audit chain (an altered, inserted or deleted event)."""
        self._ensure_consistent()

        def events() -> Iterator[tuple[Message, Any]]:
            for seg in self.audit_segments():
                with open(seg, "rb") as fh:
                    for lineno, line in enumerate(fh, 1):
                        if not line.strip():
                            continue
                        where = Message(
                            N_("{file} line {line}"),
                            file=str(seg.relative_to(self.records)),
                            line=lineno,
                        )
                        try:
                            yield where, loads(line)
                        except orjson.JSONDecodeError:
                            yield where, None

        head = self.read_index().get("audit", {})
        return base.chain_problems(events(), head)

    def check(self) -> tuple[list[Message], str]:
        """The index against the partitions, and the index's counts by status."""
        self._ensure_consistent()
        counted, by_status, stored = 0, {}, []
        for key in self.partitions():
            docs = self.read_partition(key)
            counted += len(docs)
            stored += docs.values()
            for doc in docs.values():
                part = by_status.setdefault(key, {})
                part[doc["status"]] = part.get(doc["status"], 0) + 1
        recorded = self.read_index().get("counts", {}).get("cases")
        missing, indexed, partitions = [], 0, {}
        for case_no, (key, doc_id) in self.iter_index():
            indexed += 1
            if key not in partitions:
                partitions[key] = self.read_partition(key)
            if str(doc_id) not in partitions[key]:
                missing.append(case_no)
        if missing:
            return [
                Message(
                    N_("{count} indexed cases missing from their partitions, e.g. {example}"),
                    count=len(missing),
                    example=missing[0],
                )
            ], ""
        if counted != indexed:
            return [
                Message(
                    N_("{stored} stored cases but {indexed} in the index"),
                    stored=counted,
                    indexed=indexed,
                )
            ], ""
        if recorded is not None and {k: v for k, v in recorded.items() if v} != by_status:
            wrong = sorted(
                set(recorded) ^ set(by_status)
                | {k for k in by_status if recorded.get(k) != by_status[k]}
            )
            return [
                Message(
                    N_("the index's counts by status disagree for {months}"),
                    months=", ".join(wrong[:3]),
                )
            ], ""
        lookup = self.read_lookup()
        if lookup is not None:  # None: not built yet, which the next write does
            kept, misplaced = lookup
            problems = base.lookup_problems(kept, stored)
            if misplaced:
                problems.append(
                    Message(
                        N_(
                            "{count} keys of the lookup index are in the wrong shard, "
                            "e.g. {example}"
                        ),
                        count=len(misplaced),
                        example=misplaced[0],
                    )
                )
            if problems:
                return problems, ""
        return [], Message(
            N_("{count} cases in {partitions} partitions"),
            count=counted,
            partitions=len(self.partitions()),
        )

    # -- writing ---------------------------------------------------------------------------
    def transaction(self) -> Transaction:
        return Transaction(self)


def new_index() -> dict:
    return {
        "format": INDEX_FORMAT,
        "shards": INDEX_SHARDS,
        "counts": {},
        "lookup": LOOKUP_FORMAT,
        "counters": {},
        "doc_serial": 0,
        "audit": {"seq": 0, "hash": GENESIS, "segment": ""},
    }


class Transaction(base.Transaction):
    """A unit of change: `with store.transaction() as txn: ...` commits on success and
    discards everything on an exception."""

    def __init__(self, store: TinyDBStore):
        self.store = store
        self.records = store.records
        self._data: dict[str, Any] = {}
        self._dirty: set[str] = set()
        self._moves: list[tuple[str, str]] = []
        self._files: dict[str, Path | None] = {}  # logical path -> staged file (None: deleted)
        self._deletes: list[str] = []
        self._events: list[dict] = []
        # partition file -> [{doc id: Entry}, the next doc id]: a month edited as its
        # records' JSON (TinyDB's Table would parse and re-serialise the whole month for one
        # record; the file stays the same TinyDB file).
        self._parts: dict[str, list] = {}
        self._parts_dirty: set[str] = set()
        self.index: dict = {}
        self._active = False

    def __enter__(self) -> Transaction:
        self.store._acquire()
        try:
            self.store.recover()
            self.index = self.store.read_index()
            self.store.tmp_dir.mkdir(parents=True, exist_ok=True)
            if self.index["format"] == 1:
                self._upgrade_index()
            if "counts" not in self.index:
                self._count_all()
            if not has_lookup(self.index):
                self._index_lookups()
            if not has_history(self.index):
                self._index_history()
        except BaseException:
            self.store._release()
            raise
        self._active = True
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self._commit()
        finally:
            self._active = False
            if exc_type is not None:
                self._discard()
            self.store._release()

    # -- staging --------------------------------------------------------------------------
    def _load(self, rel: str) -> Any:
        if rel not in self._data:
            path = self.records / rel
            try:
                raw = path.read_bytes()
                self._data[rel] = loads(raw) if raw.strip() else None
            except FileNotFoundError:
                self._data[rel] = None
            except orjson.JSONDecodeError:
                raise damaged(path) from None
        return self._data[rel]

    def _stage(self, rel: str, data: Any) -> None:
        self._data[rel] = data
        self._dirty.add(rel)

    def _part(self, partition: str, collection: str) -> tuple[str, list]:
        """A partition staged for change, from the read cache (the lock is held and the
        journal replayed, so what the cache holds is what is on disk)."""
        rel = self.store.partition_rel(partition, collection)
        if rel not in self._parts:
            entries = dict(self.store._partition(partition, collection))
            # As TinyDB numbers documents: one more than the highest id in the file.
            self._parts[rel] = [entries, max(map(int, entries), default=0) + 1]
        return rel, self._parts[rel]

    def _part_get(self, partition: str, doc_id: int, collection: str) -> dict | None:
        entry = self._part(partition, collection)[1][0].get(str(doc_id))
        return None if entry is None else loads(entry[1])

    def _part_put(
        self, partition: str, record: dict, collection: str, doc_id: int | None = None
    ) -> int:
        """Insert `record` (doc_id None: a new id) or replace the one at `doc_id`."""
        rel, part = self._part(partition, collection)
        if doc_id is None:
            doc_id, part[1] = part[1], part[1] + 1
        part[0][str(doc_id)] = entry_of(record)
        self._parts_dirty.add(rel)
        return doc_id

    def _part_remove(self, partition: str, doc_id: int, collection: str) -> None:
        rel, part = self._part(partition, collection)
        part[0].pop(str(doc_id), None)
        self._parts_dirty.add(rel)

    def _upgrade_index(self) -> None:
        """Format 1 (one index of every number) to shards, staged with this transaction."""
        shards = self.index["shards"] = INDEX_SHARDS
        for collection in ID_FIELDS:
            for key, where in self.index.pop(collection, {}).items():
                rel = shard_rel(collection, key, shards)
                self._stage(rel, {**(self._load(rel) or {}), key: where})
        self.index["format"] = INDEX_FORMAT
        self.index.pop("lookup", None)  # format 1 predates the lookup index: built next
        self._dirty.add("index.json")  # written at commit even if nothing else changes

    def _count_all(self) -> None:
        """Counts by status for every partition, from the records (once, on upgrade)."""
        counts: dict = {}
        for collection in ID_FIELDS:
            for key in self.store.partitions(collection):
                for record in self.store.read_partition(key, collection).values():
                    self._count(counts, collection, key, record, 1)
        self.index["counts"] = counts
        self._dirty.add("index.json")

    def _index_lookups(self) -> None:
        """The lookup index of every case, from the records (once, on upgrade; a workspace
        of 100,000 cases takes a second or two)."""
        shards = self.index["shards"]
        built: dict[str, dict] = {}
        for key in self.store.partitions("cases"):
            for record in self.store.read_partition(key, "cases").values():
                for field, value in lookup_keys(record).items():
                    entry = built.setdefault(lookup_rel(field, value, shards), {})
                    entry.setdefault(value, []).append(record["case_no"])
        for field in LOOKUP_FIELDS:  # stale shards of an earlier build go too
            for n in range(shards):
                rel = f"index/{field}-{n:02d}.json"
                if rel in built or (self.records / rel).exists():
                    self._stage(rel, {k: sorted(v) for k, v in built.get(rel, {}).items()})
        self.index["lookup"] = LOOKUP_FORMAT
        self._dirty.add("index.json")

    def _index_history(self) -> None:
        """Where every record's events are, from the audit log (once, on upgrade: one read
        of every segment)."""
        built: dict[str, dict[str, list]] = {}
        for seg in self.store.audit_segments():
            offset = 0
            with open(seg, "rb") as fh:
                for line in fh:
                    if line.strip():
                        key = loads(line).get("case")
                        if key:
                            shard = built.setdefault(history_rel(key), {})
                            shard.setdefault(key, []).append([seg.stem, offset, len(line)])
                    offset += len(line)
        for n in range(HISTORY_SHARDS):
            rel = f"index/history-{n:03d}.json"
            if rel in built or (self.records / rel).exists():
                self._stage(rel, built.get(rel, {}))
        self.index["history"] = HISTORY_FORMAT
        self._dirty.add("index.json")

    def _reindex(self, case_no: str, before: dict, after: dict) -> None:
        """Move a case in the lookup index from the keys it had to the keys it has."""
        for field in LOOKUP_FIELDS:
            old, new = before.get(field), after.get(field)
            if old == new:
                continue
            if old is not None:
                rel = lookup_rel(field, old, self.index["shards"])
                shard = self._load(rel) or {}
                rest = [n for n in shard.get(old, ()) if n != case_no]
                if rest:
                    shard[old] = rest
                else:
                    shard.pop(old, None)
                self._stage(rel, shard)
            if new is not None:
                rel = lookup_rel(field, new, self.index["shards"])
                shard = self._load(rel) or {}
                case_nos = shard.setdefault(new, [])
                if case_no not in case_nos:
                    bisect.insort(case_nos, case_no)
                self._stage(rel, shard)

    @staticmethod
    def _count(counts: dict, collection: str, partition: str, record: dict, delta: int) -> None:
        value = record.get(COUNTED_FIELD)
        if not isinstance(value, str):
            return
        by_value = counts.setdefault(collection, {}).setdefault(partition, {})
        n = by_value.get(value, 0) + delta
        if n:
            by_value[value] = n
        else:
            by_value.pop(value, None)

    def _locate(self, key: str, collection: str = "cases"):
        return (self._load(shard_rel(collection, key, self.index["shards"])) or {}).get(key)

    # -- the repository operations ------------------------------------------------------------
    def exists(self, key: str, collection: str = "cases") -> bool:
        return self._locate(key, collection) is not None

    def get(self, key: str, collection: str = "cases") -> dict:
        where = self._locate(key, collection)
        if where is None:
            raise base.no_record(key, collection)
        doc = self._part_get(where[0], where[1], collection)
        if doc is None:
            raise StorageError(
                N_("{key}: listed in the index but missing from its partition"), key=key
            )
        return doc

    def insert(self, record: dict, collection: str = "cases") -> None:
        key = record[ID_FIELDS[collection]]
        partition = partition_of(record, collection)
        rel = shard_rel(collection, key, self.index["shards"])
        shard = self._load(rel) or {}
        if key in shard:
            raise StorageError(N_("number {key} is already taken"), key=key)
        doc_id = self._part_put(partition, record, collection)
        self._stage(rel, {**shard, key: [partition, doc_id]})
        self._count(self.index["counts"], collection, partition, record, 1)
        if collection == "cases":
            self._reindex(key, {}, lookup_keys(record))

    def replace(self, record: dict, collection: str = "cases") -> None:
        key = record[ID_FIELDS[collection]]
        where = self._locate(key, collection)
        if where is None:
            raise base.no_record(key, collection)
        partition, doc_id = where
        before = self._part_get(partition, doc_id, collection)
        moved = partition_of(record, collection)
        if moved != partition:
            # A corrected receipt time of another month: the record moves to that month's
            # partition, so that the month's reports and lists find it there.
            self._part_remove(partition, doc_id, collection)
            new_id = self._part_put(moved, record, collection)
            rel = shard_rel(collection, key, self.index["shards"])
            self._stage(rel, {**(self._load(rel) or {}), key: [moved, new_id]})
        else:
            self._part_put(partition, record, collection, doc_id)
        if before is not None:
            self._count(self.index["counts"], collection, partition, before, -1)
        self._count(self.index["counts"], collection, moved, record, 1)
        if collection == "cases":
            self._reindex(key, lookup_keys(before or {}), lookup_keys(record))

    def next_seq(self, counter: str) -> int:
        counters = self.index["counters"]
        counters[counter] = counters.get(counter, 0) + 1
        self._dirty.add("index.json")
        return counters[counter]

    def current_seq(self, counter: str) -> int:
        return self.index["counters"].get(counter, 0)

    def bump_seq(self, counter: str, seq: int) -> None:
        """Make sure the counter never hands out `seq` again (an imported number)."""
        counters = self.index["counters"]
        counters[counter] = max(counters.get(counter, 0), seq)
        self._dirty.add("index.json")

    def current_doc_serial(self) -> int:
        return self.index["doc_serial"]

    def next_doc_serial(self) -> int:
        self.index["doc_serial"] += 1
        self._dirty.add("index.json")
        return self.index["doc_serial"]

    def bump_doc_serial(self, serial: int) -> None:
        if int(serial) > self.index["doc_serial"]:
            self.index["doc_serial"] = int(serial)
            self._dirty.add("index.json")

    def put_file(self, path: str, data: bytes) -> None:
        """Written (fsynced) to records/.tmp now, moved into place when the commit applies."""
        _check_rel(path)
        tmp = self.store.tmp_dir / f"{uuid.uuid4().hex}{Path(path).suffix}"
        write_file_synced(tmp, data)
        self._moves.append((str(tmp.relative_to(self.records)), path))
        self._files[path] = tmp

    def read_file(self, path: str) -> bytes | None:
        if path in self._files:
            staged = self._files[path]
            return None if staged is None else staged.read_bytes()
        try:
            return (self.records / _check_rel(path)).read_bytes()
        except FileNotFoundError:
            return None

    def delete_file(self, path: str) -> None:
        """Remove a file under records/ when the commit is applied."""
        self._deletes.append(_check_rel(path))
        self._files[path] = None

    def log(
        self,
        action: str,
        by: str,
        case_no: str | None,
        *,
        at: str,
        before: Any = None,
        after: Any = None,
        **extra: Any,
    ) -> dict:
        head = self.index["audit"]
        event = base.new_event(head, action, by, case_no, at, before=before, after=after, **extra)
        segment = max(head.get("segment") or "", at[:7])
        self.index["audit"] = {"seq": event["seq"], "hash": event["hash"], "segment": segment}
        self._events.append((segment, event))
        return event

    # -- commit ---------------------------------------------------------------------------------
    def _stage_appends(self) -> list[tuple[str, int, str]]:
        """The audit lines to append, per segment at its current end (the lock is held), and
        each record's new events staged in its history shard."""
        by_segment: dict[str, list[tuple[dict, bytes]]] = {}
        for segment, event in self._events:
            line = orjson.dumps(event, option=orjson.OPT_SORT_KEYS) + b"\n"
            by_segment.setdefault(segment, []).append((event, line))
        out = []
        for segment, lines in by_segment.items():
            seg_path = self.records / "audit" / f"{segment}.jsonl"
            offset = start = seg_path.stat().st_size if seg_path.exists() else 0
            for event, line in lines:
                key = event.get("case")
                if key and has_history(self.index):
                    rel = history_rel(key)
                    shard = dict(self._load(rel) or {})
                    shard[key] = [*shard.get(key, []), [segment, offset, len(line)]]
                    self._stage(rel, shard)
                offset += len(line)
            text = b"".join(line for _, line in lines).decode("utf-8")
            out.append((f"audit/{segment}.jsonl", start, text))
        return out

    def _commit(self) -> None:
        if not (self._dirty or self._parts_dirty or self._moves or self._events or self._deletes):
            return
        tmp_dir = self.store.tmp_dir
        append_list = self._stage_appends()
        moves: list[tuple[str, str]] = []
        written: list[tuple[ReadCache, str, Any, int]] = []
        # Partitions before the index shards that point into them.
        for rel in sorted(self._parts_dirty):
            entries = self._parts[rel][0]
            data = partition_bytes(rel.split("/", 1)[0], entries)
            tmp = tmp_dir / f"{uuid.uuid4().hex}.json"
            write_file_synced(tmp, data)
            moves.append((str(tmp.relative_to(self.records)), rel))
            written.append((self.store._cache, rel, entries, len(data)))
        for rel in sorted(self._dirty - {"index.json"}):
            data = dumps(self._data[rel])
            tmp = tmp_dir / f"{uuid.uuid4().hex}.json"
            write_file_synced(tmp, data)
            moves.append((str(tmp.relative_to(self.records)), rel))
            cache = self.store.shard_cache(rel) if rel.startswith("index/") else None
            if cache is not None:
                written.append((cache, rel, self._data[rel], len(data)))
        moves.extend(self._moves)
        # The index goes last, so a reader never finds a case the partitions lack.
        tmp = tmp_dir / f"{uuid.uuid4().hex}.json"
        write_file_synced(tmp, dumps(self.index))
        moves.append((str(tmp.relative_to(self.records)), "index.json"))

        fsync_dir(tmp_dir)
        journal = {
            "txid": uuid.uuid4().hex,
            "moves": moves,
            "deletes": self._deletes,
            "appends": append_list,
        }
        atomic_write(self.store.journal_path, dumps(journal))  # the commit point
        self.store._apply(journal)
        self.store.journal_path.unlink()
        fsync_dir(self.records)
        # This process's next read of what it wrote parses nothing (the web server's threads
        # read the month that each registration rewrites).
        for cache, rel, value, size in written:
            cache.put(self.records / rel, value, size)

    def _discard(self) -> None:
        for tmp_rel, _final in self._moves:
            (self.records / tmp_rel).unlink(missing_ok=True)
