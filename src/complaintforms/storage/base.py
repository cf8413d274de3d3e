"""The store interface every backend implements (DESIGN.md section 10), after tinydb's
`Storage` / `MemoryStorage`: a small abstract class, an embedded default and an in-memory
store for tests, and one contract suite (tests/test_store_contract.py) that each passes.

Records are dicts in collections ("cases", "opinions"), each named by its key field
(`case_no`, `id`) and placed by the month it was received in (`received_at`), which is the
store's business, not the caller's. Files (forms, scans, bundles, registers, reports) are
kept under logical paths made by `storage.paths.stored_path` ("documents/2026/TS-…/…pdf");
`local_path` gives a file on this machine for printing. Every change goes through a
transaction: all or nothing, serialised across processes, with its audit events.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import orjson

from complaintforms.errors import ComplaintFormsError, NotFoundError
from complaintforms.i18n import N_

# The collections of records, and the field naming each record: cases and opinions (kept
# by the month received), the web interface's users (by login name), sessions and API
# tokens (by the SHA-256 of the secret; sessions by the month they began, so that a
# request reads one month's file).
ID_FIELDS = {
    "cases": "case_no",
    "opinions": "id",
    "users": "name",
    "sessions": "id",
    "tokens": "id",
}
GENESIS = "0" * 64


class Message(str):
    """A problem reported as text (the store's `check` and `verify_audit`, `forms check`):
    the English text itself, which `str()`, comparisons, joining and JSON output see, and its
    message id with values, so that an interface shows it in the user's language with
    `render(translate)`, as it shows an error. A value may itself be a Message or a library
    error (rendered in the same language), or a list of them (joined by ", ").
    """

    msgid: str
    params: dict[str, Any]

    def __new__(cls, msgid: str, **params: Any) -> Message:
        self = super().__new__(cls, render_message(msgid, params))
        self.msgid = msgid
        self.params = params
        return self

    def render(
        self,
        translate: Callable[[str], str] | None = None,
        field_name: Callable[[str], str] | None = None,
    ) -> str:
        """The text in the language of `translate` (English without one); `field_name` is
        passed on to values that are errors about a field."""
        return render_message(self.msgid, self.params, translate, field_name)

    def __reduce__(self):
        return (_rebuild_message, (type(self), self.msgid, self.params))


def _rebuild_message(cls: type, msgid: str, params: dict) -> Message:
    self = str.__new__(cls, render_message(msgid, params))
    self.msgid = msgid
    self.params = params
    return self


def render_message(
    msgid: str,
    params: dict[str, Any],
    translate: Callable[[str], str] | None = None,
    field_name: Callable[[str], str] | None = None,
) -> str:
    """A message id filled with its values, as the library's errors are (ComplaintFormsError:
    a translation that does not fit its values falls back to the English text)."""

    def shown(value: Any) -> Any:
        if isinstance(value, Message | ComplaintFormsError):
            return value.render(translate, field_name)
        if isinstance(value, list | tuple):
            return ", ".join(str(shown(v)) for v in value)
        return value

    return ComplaintFormsError(msgid, **{k: shown(v) for k, v in params.items()}).render(translate)


def no_record(key: str, collection: str = "cases") -> NotFoundError:
    """The refusal for a record that is not in the store."""
    if collection == "cases":
        return NotFoundError(N_("no case {case_no}"), case_no=key)
    return NotFoundError(N_("no {key}"), key=key)


class Conflict(Exception):
    """What was read outside a transaction changed before it could be stored: do it again."""


# Attempts of work done outside a transaction before giving up because others keep changing
# what it read (a step whose case keeps changing, a registration whose number keeps going).
MAX_TRIES = 5


# -- lookup (DESIGN.md section 13: a customer who calls is found by phone or name) ------------
# A phone query of fewer digits than this matches too many cases to be an answer; the
# command line refuses it (a backend still answers it, reading its whole index).
MIN_PHONE_DIGITS = 4
# The fields a backend may index for `find_cases`, each from the complainant of a case.
LOOKUP_FIELDS = ("phone", "name")


def phone_digits(value: Any) -> str:
    """A phone number as it is compared: its digits only (full-width ones too), China's
    country code dropped ("+86 138 1234 5678", "0086-13812345678" and "13812345678" are the
    same number), so that a number is found however it was written down or is typed."""
    import unicodedata

    text = unicodedata.normalize("NFKC", str(value or "")).strip()
    digits = "".join(c for c in text if "0" <= c <= "9")
    if digits.startswith("0086"):
        return digits[4:]
    if digits.startswith("86") and (
        text.startswith("+") or (len(digits) == 13 and digits[2] == "1")
    ):
        return digits[2:]
    return digits


def _folded(text: Any) -> str:
    import unicodedata

    return unicodedata.normalize("NFKC", str(text or "")).casefold()


def lookup_keys(record: dict) -> dict[str, str]:
    """What a case is found by: the digits of its complainant's phone and the name as
    recorded (either left out when there is none)."""
    comp = record.get("complainant")
    if not isinstance(comp, dict):
        return {}
    keys = {"phone": phone_digits(comp.get("phone")), "name": comp.get("name")}
    return {k: v for k, v in keys.items() if isinstance(v, str) and v}


def phone_matches(key: str, query: str) -> bool:
    """Stored digits against the digits asked for: the whole number, or its last digits."""
    return bool(query) and key.endswith(query)


def name_matches(key: str, query: str) -> bool:
    """A name against a part of one (Latin letters in any case, full-width as half-width)."""
    return bool(query) and _folded(query) in _folded(key)


def lookup_matches(record: dict, phone: str | None = None, name: str | None = None) -> bool:
    keys = lookup_keys(record)
    if phone is not None and not phone_matches(keys.get("phone", ""), phone_digits(phone)):
        return False
    return name is None or name_matches(keys.get("name", ""), name)


def lookup_index(records: Iterable[dict]) -> dict[str, dict[str, list[str]]]:
    """The lookup index of `records` as a backend keeps it: field -> key -> case numbers
    (sorted), to build it or to check a kept one against the records."""
    index: dict[str, dict[str, list[str]]] = {f: {} for f in LOOKUP_FIELDS}
    for record in records:
        for field, key in lookup_keys(record).items():
            index[field].setdefault(key, []).append(record[ID_FIELDS["cases"]])
    for keys in index.values():
        for case_nos in keys.values():
            case_nos.sort()
    return index


def lookup_problems(
    kept: dict[str, dict[str, list[str]]], records: Iterable[dict]
) -> list[Message]:
    """The kept lookup index against the one the records make: one problem naming how many
    cases are indexed wrongly (missing, stale or extra), with an example."""
    wanted = lookup_index(records)
    wrong: set[str] = set()
    for field in LOOKUP_FIELDS:
        have, want = kept.get(field, {}), wanted[field]
        for key in set(have) | set(want):
            wrong |= set(have.get(key, ())) ^ set(want.get(key, ()))
    if not wrong:
        return []
    return [
        Message(
            N_(
                "the lookup index (phone, name) disagrees with the records for {count} cases, e.g. {example}"
            ),
            count=len(wrong),
            example=min(wrong),
        )
    ]


def partition_of(record: dict, collection: str = "cases") -> str:
    """Cases and opinions are kept by the month they were received in (Beijing time, as
    stored), sessions by the month they began; users and tokens all in one."""
    if collection in ("cases", "opinions"):
        return record["received_at"][:7]
    if collection == "sessions":
        return record["created_at"][:7]
    return "all"


def event_hash(event: dict) -> str:
    """The SHA-256 of an audit event without its own hash: the chain's link."""
    body = {k: v for k, v in event.items() if k != "hash"}
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


def chain_problems(events: Iterable[tuple[str, Any]], head: dict) -> list[Message]:
    """Every break in a hash chain of (where, event) pairs, and a head that does not match
    its last event (events removed or added at the end). Shared by every backend. `where`
    is a Message (or plain text) naming the event."""
    problems: list[Message] = []
    prev_hash, prev_seq = GENESIS, 0
    for where, event in events:
        if not isinstance(event, dict):
            problems.append(Message(N_("{where}: not valid JSON"), where=where))
            continue
        if event.get("seq") != prev_seq + 1:
            problems.append(
                Message(
                    N_("{where}: event {seq} follows {prev} (an event is missing or inserted)"),
                    where=where,
                    seq=event.get("seq"),
                    prev=prev_seq,
                )
            )
        if event.get("prev") != prev_hash:
            problems.append(
                Message(N_("{where}: chain broken (prev hash does not match)"), where=where)
            )
        if event_hash(event) != event.get("hash"):
            problems.append(
                Message(
                    N_("{where}: event {seq} was altered (hash mismatch)"),
                    where=where,
                    seq=event.get("seq"),
                )
            )
        prev_hash, prev_seq = event.get("hash", ""), event.get("seq", prev_seq + 1)
    if head.get("seq", 0) != prev_seq or head.get("hash", GENESIS) != prev_hash:
        problems.append(
            Message(
                N_(
                    "audit log ends at event {seq} but the store records event {head} as the "
                    "last (events were removed or added)"
                ),
                seq=prev_seq,
                head=head.get("seq", 0),
            )
        )
    return problems


def new_event(head: dict, action: str, by: str, key: str | None, at: str, **fields: Any) -> dict:
    event = {
        "seq": head.get("seq", 0) + 1,
        "at": at,
        "by": by,
        "action": action,
        "case": key,
        **fields,
        "prev": head.get("hash", GENESIS),
    }
    event["hash"] = event_hash(event)
    return event


class Transaction(ABC):
    """One unit of change. `with store.transaction() as txn:` commits when the block ends
    and discards everything when it raises."""

    @abstractmethod
    def __enter__(self) -> Transaction: ...

    @abstractmethod
    def __exit__(self, exc_type, exc, tb) -> None: ...

    # -- records ----------------------------------------------------------------------------
    @abstractmethod
    def get(self, key: str, collection: str = "cases") -> dict:
        """The record as this transaction sees it; NotFoundError when there is none."""

    @abstractmethod
    def exists(self, key: str, collection: str = "cases") -> bool: ...

    @abstractmethod
    def insert(self, record: dict, collection: str = "cases") -> None:
        """A new record; StorageError when its key is taken."""

    @abstractmethod
    def replace(self, record: dict, collection: str = "cases") -> None:
        """The record with the same key, replaced whole."""

    # -- counters -----------------------------------------------------------------------------
    @abstractmethod
    def next_seq(self, counter: str) -> int:
        """The next number of a named counter (gapless: only a committed one is used)."""

    @abstractmethod
    def current_seq(self, counter: str) -> int:
        """The last number the counter handed out (0 before the first)."""

    @abstractmethod
    def bump_seq(self, counter: str, seq: int) -> None:
        """Make sure the counter never hands out `seq` again (an imported number)."""

    @abstractmethod
    def next_doc_serial(self) -> int: ...

    @abstractmethod
    def current_doc_serial(self) -> int:
        """The last document serial handed out."""

    def bump_doc_serial(self, serial: int) -> None:
        """Make sure the document serial never hands out `serial` again (`db copy`: a
        copied store goes on from the serial of the one it was copied from). A backend sets
        it in one step; this default hands the serials out up to it."""
        while self.current_doc_serial() < serial:
            self.next_doc_serial()

    # -- files ---------------------------------------------------------------------------------
    @abstractmethod
    def put_file(self, path: str, data: bytes) -> None:
        """Store `data` under a logical path (made by stored_path) when the commit applies."""

    @abstractmethod
    def read_file(self, path: str) -> bytes | None:
        """A file as this transaction sees it (None when there is none)."""

    @abstractmethod
    def delete_file(self, path: str) -> None: ...

    def read_json(self, path: str) -> Any:
        data = self.read_file(path)
        return orjson.loads(data) if data else None

    def write_json(self, path: str, value: Any) -> None:
        self.put_file(path, orjson.dumps(value, option=orjson.OPT_INDENT_2))

    # -- the audit log ---------------------------------------------------------------------------
    @abstractmethod
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
        """Append an event (who, when, what, before/after) to the hash-chained audit log."""


class Store(ABC):
    """Reading needs no lock: every call sees committed state only."""

    @property
    @abstractmethod
    def location(self) -> str:
        """Where the records are, as a person would look for them (a folder, a database)."""

    # -- records ---------------------------------------------------------------------------
    @abstractmethod
    def get(self, key: str, collection: str = "cases") -> dict:
        """NotFoundError when there is no such record."""

    def get_many(self, keys: Iterable[str], collection: str = "cases") -> list[dict]:
        """Several records, in the order asked (NotFoundError for the first one missing).
        A backend reads them in as few reads as it can."""
        return [self.get(key, collection) for key in keys]

    @abstractmethod
    def iter_records(
        self,
        collection: str = "cases",
        *,
        months: Iterable[str] | None = None,
        statuses: Iterable[str] | None = None,
    ) -> Iterator[dict]:
        """Records received in `months` (all when None), oldest month first, in registration
        order within a month. With `statuses`, a backend may skip months holding none of
        them (callers still check each record's status)."""

    def find_cases(
        self,
        *,
        phone: str | None = None,
        name: str | None = None,
        months: Iterable[str] | None = None,
    ) -> Iterator[dict]:
        """Cases whose complainant's phone is `phone` or ends with its digits (phone_digits:
        spaces, dashes and +86 do not count) and whose complainant's name contains `name`
        (both when both are given), received in one of `months` when given, in the order
        of iter_records. This reads every case; a backend answers from an index it keeps
        with the cases (lookup_keys), in the same transaction, and checks in `check`."""
        for record in self.iter_records("cases", months=months):
            if lookup_matches(record, phone, name):
                yield record

    def iter_newest(self, month: str, statuses: Iterable[str] | None = None) -> Iterator[dict]:
        """The cases received in one month, newest received first (then by number), with
        `statuses` only those; lazily, so that a listing that stops at its page reads no
        more. This default sorts the month; a backend may answer from what it keeps."""
        wanted = None if statuses is None else set(statuses)
        cases = [
            c
            for c in self.iter_records("cases", months=[month], statuses=wanted)
            if wanted is None or c.get("status") in wanted
        ]
        cases.sort(key=lambda c: (c.get("received_at") or "", c.get("case_no") or ""), reverse=True)
        yield from cases

    def months(self, collection: str = "cases") -> list[str]:
        """The partitions (months) that hold records of a collection, oldest first, so that a
        listing can read the newest month first and stop when its page is full. Backends
        answer from their own index; this default reads every record once."""
        return sorted({partition_of(r, collection) for r in self.iter_records(collection)})

    @abstractmethod
    def count(self, collection: str = "cases") -> int: ...

    # -- counters -----------------------------------------------------------------------------
    def counter_values(self) -> dict[str, int]:
        """Every named counter and the last number it handed out, by name (`db copy`)."""
        raise NotImplementedError(f"{type(self).__name__} cannot list its counters")

    def document_serial(self) -> int:
        """The last document serial handed out, as committed (`db copy`). This default reads
        it in a transaction (taking the write lock); a backend reads it without one."""
        with self.transaction() as txn:
            return txn.current_doc_serial()

    # -- files -------------------------------------------------------------------------------
    @abstractmethod
    def read_file(self, path: str) -> bytes:
        """NotFoundError when there is no such file."""

    @abstractmethod
    def file_exists(self, path: str) -> bool: ...

    @abstractmethod
    def list_files(self, prefix: str) -> list[str]:
        """Logical paths under a folder, sorted."""

    # Whether local_path is where the store keeps the file itself (TinyDB), or a copy it
    # writes on demand (the database backends).
    files_are_local = False

    @abstractmethod
    def local_path(self, path: str) -> Path:
        """A file on this machine holding the stored file, for printing or opening."""

    @abstractmethod
    def scratch(self) -> AbstractContextManager[Path]:
        """A private temporary folder on this machine, removed afterwards."""

    # -- the audit log -------------------------------------------------------------------------
    @abstractmethod
    def iter_events(self, since_month: str | None = None) -> Iterator[dict]: ...

    @abstractmethod
    def audit_head(self) -> dict:
        """{'seq': N, 'hash': hex} of the last event."""

    @abstractmethod
    def verify_audit(self) -> list[Message]:
        """Every problem in the audit chain (an altered, inserted or deleted event): English
        text, each with `render(translate)` for the user's language."""

    def history(self, key: str) -> list[dict]:
        """The audit events of one record."""
        record = self.get(key)
        since = (record.get("recorded_at") or "")[:7] or None
        return [e for e in self.iter_events(since) if e.get("case") == key]

    # -- health -------------------------------------------------------------------------------
    @abstractmethod
    def check(self) -> tuple[list[Message], str]:
        """Problems of the store's own consistency (index against records, counts), and a
        one-line summary when there are none. What doctor and `db check` report; both are
        Messages (English text, with `render(translate)` for the user's language)."""

    # -- writing -------------------------------------------------------------------------------
    @abstractmethod
    def transaction(self) -> Transaction: ...
