"""What one process has parsed of the TinyDB store's files, kept while each file is unchanged
(storage/tinydb.py reads its month partitions and index shards through it)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import orjson

from complaintforms.errors import StorageError
from complaintforms.i18n import N_


def damaged(path: Path) -> StorageError:
    return StorageError(N_("{path}: damaged (not valid JSON)"), path=str(path))


def parse_json(raw: bytes) -> Any:
    """A file's JSON; None for an empty file."""
    return orjson.loads(raw) if raw.strip() else None


class ReadCache:
    """What one process has parsed of the records' files, kept while the file is unchanged:
    its stamp (inode, mtime, size) is looked at on every read, and a commit replaces a file
    whole (a new inode), so a reader never sees a stale one. A month's partition is kept as
    each record's own JSON, so that reading one case parses one case (a case page, a
    session) and a record handed out is always a fresh copy nobody else holds; an index
    shard is kept parsed (only the TinyDB store reads them, and never changes them). Files are
    kept newest first up to `budget` bytes of memory, reckoned from the size of each file
    as stored by what its parsed form takes per byte (`weight`: measured with tracemalloc
    at 100,000 cases); per records folder and process, one cache of each kind in BUDGETS
    (every thread of the web server opens a store of its own)."""

    def __init__(self, budget: int, weight: float = 1.0):
        self.budget = budget
        self.weight = weight
        self.used = 0
        self._lock = threading.Lock()
        self._items: OrderedDict[Path, tuple[tuple, Any, int]] = OrderedDict()

    _shared: dict[tuple[Path, str], ReadCache] = {}
    _shared_lock = threading.Lock()
    # (memory, memory per file byte): a month's records as JSON bytes take a little more
    # than the file; a parsed shard seven or eight times its file (a name shard four). The
    # name shards have a cache of their own: a registration looks for its complainant's
    # name in all of them, and in one shared cache the others would push them out.
    BUDGETS = {
        "partitions": (64 * 2**20, 1.3),
        "shards": (24 * 2**20, 7.5),
        "names": (16 * 2**20, 4.2),
    }

    @classmethod
    def of(cls, records: Path, kind: str) -> ReadCache:
        key = (Path(records).resolve(), kind)
        with cls._shared_lock:
            if key not in cls._shared:
                cls._shared[key] = cls(*cls.BUDGETS[kind])
            return cls._shared[key]

    def get(self, path: Path, parse) -> Any:
        try:
            st = path.stat()
        except FileNotFoundError:
            return None
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        with self._lock:
            hit = self._items.get(path)
            if hit is not None and hit[0] == stamp:
                self._items.move_to_end(path)
                return hit[1]
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            value = parse(raw)
        except orjson.JSONDecodeError:
            raise damaged(path) from None
        self._keep(path, stamp, value, len(raw))
        return value

    def put(self, path: Path, value: Any, size: int) -> None:
        """What this process has just written to `path` (under the records' lock, so nobody
        else can have replaced it since): kept without reading the file back."""
        st = path.stat()
        self._keep(path, (st.st_ino, st.st_mtime_ns, st.st_size), value, size)

    def _keep(self, path: Path, stamp: tuple, value: Any, size: int) -> None:
        size = int(size * self.weight)
        with self._lock:
            old = self._items.pop(path, None)
            if old is not None:
                self.used -= old[2]
            self._items[path] = (stamp, value, size)
            self.used += size
            while self.used > self.budget and len(self._items) > 1:
                _, (_, _, dropped) = self._items.popitem(last=False)
                self.used -= dropped
