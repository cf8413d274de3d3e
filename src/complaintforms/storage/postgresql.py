"""The PostgreSQL store (DESIGN.md section 10): one database that every branch and desk of
an organisation shares. Everything lives in it — records, counters, the audit log and every
file (forms, scans, bundles, registers, reports) — so one `pg_dump` backs up all of it;
`local_path` writes a copy of a file under a local folder for printing.

Tables (the schema is made and migrated by pg_schema.migrate, recorded in `schema_version`):

    records      (collection, key) -> the record as JSON (`json`, so that its text and key
                 order are kept as written), with the columns the store asks by: the month
                 it is kept in (`partition`), its `status`, an insertion order (`ord`), and
                 for cases the complainant's phone digits and name (base.lookup_keys)
    name_grams   every character and every pair of adjacent characters of each case's
                 complainant's name (NFKC, case-folded), with the case's month: a part of
                 a name is found from its pairs by index, not by reading every name, and
                 within some months from those months' pairs
    counters     numbering counters (one row a counter); doc_serial: the document serial
    files        logical path -> bytes
    audit        the hash-chained audit log, one row an event (its JSON as written, and
                 the columns it is found by); append-only: a trigger refuses UPDATE, DELETE
                 and TRUNCATE, another refuses an event that does not follow the head
    audit_head   the last event's number and hash (and the month of the log it is in)

Numbers are gapless and distinct across every process and machine: a transaction holds a
transaction-scoped advisory lock (pg_advisory_xact_lock) from its start to its commit or
rollback, so writers take turns; the counter row is updated in the transaction (its row
lock held to the end), so a number is only used when the transaction commits, and the
records' primary key refuses a number stored twice whatever happens. A process killed
mid-transaction leaves the committed state: the server rolls its transaction back when the
connection goes, and the advisory lock goes with it.

Reading needs no lock: every call outside a transaction reads committed state (autocommit),
a month at a time, never holding a connection while the caller works on what was read.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import orjson

from complaintforms.errors import NotFoundError, StorageError
from complaintforms.i18n import N_
from complaintforms.storage import base
from complaintforms.storage.base import (
    GENESIS,
    ID_FIELDS,
    Message,
    _folded,
    lookup_keys,
    lookup_matches,
    partition_of,
    phone_digits,
)
from complaintforms.storage.localfiles import atomic_write
from complaintforms.storage.pg_schema import SCHEMA_VERSION, migrate, schema_version

# Writers take turns on this advisory lock key (per database); migrations take their own.
WRITE_LOCK = 0x636F_6D70_0001
LOCK_TIMEOUT = 120.0
# Idle connections a store keeps for reading and for its next transaction.
POOL_SIZE = 4
# Rows fetched at a time when reading the audit log or checking every record.
CHUNK = 2000
# The triggers that keep the audit log append-only and chained; `check` and `verify_audit`
# report one missing or disabled.
AUDIT_TRIGGERS = ("audit_append_only", "audit_chain", "audit_head_guard", "audit_head_keep")


# -- helpers ------------------------------------------------------------------------------------
def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode("utf-8")


def _loads(value: Any) -> Any:
    """A JSON column as psycopg gives it (text, or already parsed)."""
    if isinstance(value, str | bytes | bytearray | memoryview):
        return orjson.loads(bytes(value) if isinstance(value, memoryview) else value)
    return value


def _rel(path: str) -> str:
    """A logical path, checked to stay inside the records (no absolute path, no `..`) and
    written one way ("a//b/./c" is "a/b/c", as the same file is on a disk)."""
    pure = PurePosixPath(path)
    parts = pure.parts
    if not parts or pure.is_absolute() or ".." in parts or parts[0].startswith(".") or "\0" in path:
        raise StorageError(N_("{path} is not a path inside the records"), path=repr(path))
    return pure.as_posix()


def _after(prefix: str) -> str:
    """The first string after every string that starts with `prefix` (in "C" order)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def name_grams(name: str | None) -> list[str]:
    """What a name is found by: each character and each pair of adjacent characters of the
    name as compared (NFKC, case-folded)."""
    folded = _folded(name) if name else ""
    grams = set(folded) | {folded[i : i + 2] for i in range(len(folded) - 1)}
    return sorted(grams)


def query_grams(query: str) -> list[str]:
    """The grams every name containing `query` has: its pairs (its character, for one)."""
    folded = _folded(query)
    if len(folded) == 1:
        return [folded]
    return sorted({folded[i : i + 2] for i in range(len(folded) - 1)})


def _columns(record: dict, collection: str) -> dict[str, Any]:
    """The columns of a record's row besides its JSON."""
    status = record.get("status")
    keys = lookup_keys(record) if collection == "cases" else {}
    return {
        "collection": collection,
        "key": record[ID_FIELDS[collection]],
        "partition": partition_of(record, collection),
        "status": status if isinstance(status, str) else None,
        "phone": keys.get("phone"),
        "name": keys.get("name"),
        "body": _dumps(record),
    }


class PostgresStore(base.Store):
    """The shared store. `dsn` is a libpq connection string or URL; `local_root` is the
    folder `local_path` writes copies into (a workspace's records/; a temporary folder of
    this process when not given). The schema is made or migrated when the store is first
    used (and refused when the database's is newer than this code knows)."""

    def __init__(
        self,
        dsn: str,
        local_root: Path | str | None = None,
        *,
        lock_timeout: float = LOCK_TIMEOUT,
        migrate: bool = True,
    ):
        self.dsn = dsn
        self.local_root = Path(local_root) if local_root is not None else None
        self.lock_timeout = lock_timeout
        self.auto_migrate = migrate
        self._idle: list = []
        self._pool_lock = threading.Lock()
        self._pid = os.getpid()
        self._orphans: list = []  # a forked child's copies of the parent's connections
        self._ready = False
        self._thread = threading.local()

    # -- where ------------------------------------------------------------------------------
    @property
    def location(self) -> str:
        """The database as a URL, without its password."""
        from psycopg.conninfo import conninfo_to_dict

        try:
            info = conninfo_to_dict(self.dsn)
        except Exception:  # noqa: BLE001 - a DSN psycopg cannot read still gets a name
            return "postgresql"
        user = f"{info['user']}@" if info.get("user") else ""
        host = str(info.get("host") or "")
        port = f":{info['port']}" if info.get("port") else ""
        return f"postgresql://{user}{host}{port}/{info.get('dbname') or ''}"

    def _error(self, exc: BaseException) -> StorageError:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return StorageError(
            N_("{location}: database error: {reason}"), location=self.location, reason=reason
        )

    # -- connections ----------------------------------------------------------------------------
    def _connect(self):
        import psycopg
        from psycopg.conninfo import conninfo_to_dict
        from psycopg.types.json import set_json_loads

        extra: dict[str, Any] = {"autocommit": True, "client_encoding": "utf8"}
        try:
            given = conninfo_to_dict(self.dsn)
        except psycopg.Error as exc:
            raise self._error(exc) from None
        if "application_name" not in given:
            extra["application_name"] = "complaintforms"
        if "connect_timeout" not in given:
            extra["connect_timeout"] = 30
        try:
            conn = psycopg.connect(self.dsn, **extra)
        except psycopg.Error as exc:
            raise self._error(exc) from None
        set_json_loads(orjson.loads, conn)
        if not self._ready:
            try:
                self._prepare_schema(conn)
            except BaseException:
                conn.close()
                raise
        return conn

    def _prepare_schema(self, conn) -> None:
        """The schema at this code's version: made or migrated (or refused when newer)."""
        import psycopg

        try:
            version = schema_version(conn)
            if version < SCHEMA_VERSION and self.auto_migrate:
                migrate(conn)
                version = schema_version(conn)
        except psycopg.Error as exc:
            raise self._error(exc) from None
        if version > SCHEMA_VERSION:
            raise StorageError(
                N_(
                    "{location}: the database schema is version {version}, newer than this "
                    "complaintforms knows ({known}); upgrade complaintforms"
                ),
                location=self.location,
                version=version,
                known=SCHEMA_VERSION,
            )
        self._ready = True

    def _take(self):
        if os.getpid() != self._pid:
            # A forked child must not use (or close: that ends the parent's sessions) the
            # parent's connections.
            with self._pool_lock:
                self._orphans += self._idle
                self._idle = []
                self._pid = os.getpid()
        with self._pool_lock:
            conn = self._idle.pop() if self._idle else None
        if conn is not None and not conn.closed:
            return conn
        return self._connect()

    def _give(self, conn) -> None:
        from psycopg.pq import TransactionStatus

        ok = (
            not conn.closed
            and not conn.broken
            and os.getpid() == self._pid
            and conn.info.transaction_status == TransactionStatus.IDLE
        )
        if ok:
            with self._pool_lock:
                if len(self._idle) < POOL_SIZE:
                    self._idle.append(conn)
                    return
        with contextlib.suppress(Exception):
            if os.getpid() == self._pid:
                conn.close()

    @contextlib.contextmanager
    def _conn(self) -> Iterator[Any]:
        """A connection in autocommit mode for reading; database errors become ours."""
        import psycopg

        conn = self._take()
        try:
            yield conn
        except psycopg.Error as exc:
            raise self._error(exc) from None
        finally:
            self._give(conn)

    def _rows(self, sql: str, params: Any = None, *, binary: bool = False) -> list[tuple]:
        """One query's rows. A kept connection the server has dropped meanwhile (a restart,
        an idle timeout) is replaced once, as reading changes nothing."""
        import psycopg

        for attempt in (1, 2):
            conn = self._take()
            try:
                return conn.execute(sql, params, binary=binary).fetchall()
            except psycopg.OperationalError as exc:
                if attempt == 1 and conn.broken:
                    continue
                raise self._error(exc) from None
            except psycopg.Error as exc:
                raise self._error(exc) from None
            finally:
                self._give(conn)
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        """Close the idle connections (a transaction's own closes when it ends)."""
        with self._pool_lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            with contextlib.suppress(Exception):
                conn.close()

    def migrate(self) -> list[int]:
        """Create or migrate the schema now (`db init`): the versions applied."""
        import psycopg

        with self._conn() as conn:
            try:
                return migrate(conn)
            except psycopg.Error as exc:
                raise self._error(exc) from None

    def schema_version(self) -> int:
        with self._conn() as conn:
            return schema_version(conn)

    # -- records --------------------------------------------------------------------------------
    def get(self, key: str, collection: str = "cases") -> dict:
        rows = self._rows(
            "SELECT body FROM records WHERE collection = %s AND key = %s", (collection, key)
        )
        if not rows:
            raise base.no_record(key, collection)
        return _loads(rows[0][0])

    def get_many(self, keys: Iterable[str], collection: str = "cases") -> list[dict]:
        """One query for all of them."""
        keys = list(keys)
        if not keys:
            return []
        rows = self._rows(
            "SELECT key, body FROM records WHERE collection = %s AND key = ANY(%s)",
            (collection, sorted(set(keys))),
        )
        found = {key: body for key, body in rows}
        out = []
        for key in keys:
            if key not in found:
                raise base.no_record(key, collection)
            out.append(_loads(found[key]))
        return out

    def partitions(self, collection: str = "cases", status: str | None = None) -> list[str]:
        """The months (partitions) that hold records of `collection` (of that `status`),
        oldest first: one index probe a month (a loose index scan), not a read of every
        record."""
        where = "r.collection = %(c)s" + (" AND r.status = %(s)s" if status is not None else "")
        sql = f"""
            WITH RECURSIVE p(partition) AS (
                (SELECT r.partition FROM records r WHERE {where} ORDER BY r.partition LIMIT 1)
                UNION ALL
                SELECT (SELECT r.partition FROM records r
                        WHERE {where} AND r.partition > p.partition
                        ORDER BY r.partition LIMIT 1)
                FROM p WHERE p.partition IS NOT NULL
            )
            SELECT partition FROM p WHERE partition IS NOT NULL
        """
        return [row[0] for row in self._rows(sql, {"c": collection, "s": status})]

    def iter_records(
        self,
        collection: str = "cases",
        *,
        months: Iterable[str] | None = None,
        statuses: Iterable[str] | None = None,
    ) -> Iterator[dict]:
        """Month by month, oldest first, in the order stored within a month. With
        `statuses`, only the months holding such records are read, and of those only the
        records of these statuses (callers check each record's status all the same)."""
        keys = self.partitions(collection) if months is None else sorted(set(months))
        wanted = None if statuses is None else sorted({s for s in statuses if isinstance(s, str)})
        if wanted is not None:
            having: set[str] = set()
            for status in wanted:
                having.update(self.partitions(collection, status))
            keys = [k for k in keys if k in having]
        for month in keys:
            if wanted is None:
                rows = self._rows(
                    "SELECT body FROM records WHERE collection = %s AND partition = %s ORDER BY ord",
                    (collection, month),
                )
            else:
                rows = self._rows(
                    "SELECT body FROM records WHERE collection = %s AND partition = %s"
                    " AND status = ANY(%s) ORDER BY ord",
                    (collection, month, wanted),
                )
            for (body,) in rows:
                yield _loads(body)

    def lookup_query(
        self, *, phone: str | None, name: str | None, months: Iterable[str] | None = None
    ) -> tuple[str, list] | None:
        """The query `find_cases` asks (SQL and its values), None when nothing can match:
        a phone's reversed digits by range on their index, a part of a name by the pairs of
        characters it has (every one of them) on the name grams' index; of `months` only,
        when given."""
        conditions = ["collection = 'cases'"]
        params: list[Any] = []
        if months is not None:
            wanted = sorted(set(months))
            if not wanted:
                return None
            conditions.append("partition = ANY(%s)")
            params.append(wanted)
        if phone is not None:
            digits = phone_digits(phone)
            if not digits:
                return None  # nothing is the end of a number
            rev = digits[::-1]
            conditions.append("phone IS NOT NULL AND reverse(phone) >= %s AND reverse(phone) < %s")
            params += [rev, _after(rev)]
        if name is not None:
            grams = query_grams(name) if name else []
            if not grams:
                return None
            gram_params: list[Any] = [grams]
            within = ""
            if months is not None:
                within = " AND partition = ANY(%s)"
                gram_params.append(wanted)
            conditions.append(
                f"key IN (SELECT case_no FROM name_grams WHERE gram = ANY(%s){within}"
                " GROUP BY case_no HAVING count(*) = %s)"
            )
            params += [*gram_params, len(grams)]
        sql = f"SELECT body FROM records WHERE {' AND '.join(conditions)} ORDER BY partition, ord"
        return sql, params

    def find_cases(
        self,
        *,
        phone: str | None = None,
        name: str | None = None,
        months: Iterable[str] | None = None,
    ) -> Iterator[dict]:
        """From the indexes (lookup_query), then every record found checked as
        base.lookup_matches says, in the order of iter_records."""
        if phone is None and name is None:
            yield from self.iter_records("cases", months=months)
            return
        query = self.lookup_query(phone=phone, name=name, months=months)
        if query is None:
            return
        for (body,) in self._rows(*query):
            record = _loads(body)
            if lookup_matches(record, phone, name):  # as the record says
                yield record

    def months(self, collection: str = "cases") -> list[str]:
        """The months that hold records, from the index by month (partitions)."""
        return self.partitions(collection)

    def count(self, collection: str = "cases") -> int:
        return self._rows("SELECT count(*) FROM records WHERE collection = %s", (collection,))[0][0]

    # -- counters ------------------------------------------------------------------------------
    def counter_values(self) -> dict[str, int]:
        return {
            name: value
            for name, value in self._rows("SELECT name, value FROM counters ORDER BY name")
        }

    def document_serial(self) -> int:
        rows = self._rows("SELECT value FROM doc_serial WHERE one")
        return rows[0][0] if rows else 0

    # -- files ------------------------------------------------------------------------------------
    def read_file(self, path: str) -> bytes:
        rows = self._rows("SELECT data FROM files WHERE path = %s", (_rel(path),), binary=True)
        if not rows:
            raise NotFoundError(N_("no file {path}"), path=path)
        return bytes(rows[0][0])

    def file_exists(self, path: str) -> bool:
        return bool(self._rows("SELECT 1 FROM files WHERE path = %s", (_rel(path),)))

    def list_files(self, prefix: str) -> list[str]:
        folder = _rel(prefix) + "/"
        rows = self._rows(
            "SELECT path FROM files WHERE path >= %s AND path < %s ORDER BY path",
            (folder, _after(folder)),
        )
        return [p for (p,) in rows if not PurePosixPath(p).name.startswith(".")]

    @property
    def local_folder(self) -> Path:
        if self.local_root is None:
            self.local_root = Path(tempfile.mkdtemp(prefix="cf-postgresql-"))
        return self.local_root

    def local_path(self, path: str) -> Path:
        """A copy of the stored file under the local folder (rewritten only when it differs;
        a copy of a file no longer stored is removed)."""
        rel = _rel(path)
        target = self.local_folder / rel
        rows = self._rows("SELECT data FROM files WHERE path = %s", (rel,), binary=True)
        if not rows:
            with contextlib.suppress(OSError):
                if target.is_file():
                    target.unlink()
            return target
        data = bytes(rows[0][0])
        try:
            same = (
                target.is_file()
                and target.stat().st_size == len(data)
                and target.read_bytes() == data
            )
        except OSError:
            same = False
        if not same:
            atomic_write(target, data)
        return target

    @contextlib.contextmanager
    def scratch(self) -> Iterator[Path]:
        folder = Path(tempfile.mkdtemp(prefix="cf-scratch-"))
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    # -- the audit log ----------------------------------------------------------------------------
    def iter_events(self, since_month: str | None = None) -> Iterator[dict]:
        """In order, a chunk at a time; `since_month`: from the first event of the log's
        month (the later of the event's month and the month before it, as the TinyDB store
        files them) onwards."""
        after = 0
        if since_month:
            first = self._rows("SELECT min(seq) FROM audit WHERE month >= %s", (since_month,))
            if first[0][0] is None:
                return
            after = first[0][0] - 1
        while True:
            rows = self._rows(
                "SELECT seq, body FROM audit WHERE seq > %s ORDER BY seq LIMIT %s", (after, CHUNK)
            )
            for seq, body in rows:
                after = seq
                yield _loads(body)
            if len(rows) < CHUNK:
                return

    def history(self, key: str) -> list[dict]:
        """The events of one record, from the audit log's index by case."""
        record = self.get(key)
        since = (record.get("recorded_at") or "")[:7] or ""
        rows = self._rows(
            "SELECT body FROM audit WHERE case_key = %s AND month >= %s ORDER BY seq",
            (key, since),
        )
        return [_loads(body) for (body,) in rows]

    def audit_head(self) -> dict:
        rows = self._rows("SELECT seq, hash FROM audit_head WHERE one")
        if not rows:
            return {"seq": 0, "hash": GENESIS}
        return {"seq": rows[0][0], "hash": rows[0][1]}

    def trigger_problems(self, conn=None) -> list[Message]:
        """A trigger that keeps the audit log append-only and chained, missing or disabled."""
        sql = """
            SELECT t.tgname FROM pg_trigger t
            WHERE t.tgrelid IN (to_regclass('audit'), to_regclass('audit_head'))
              AND NOT t.tgisinternal AND t.tgenabled IN ('O', 'A')
        """
        if conn is None:
            present = {name for (name,) in self._rows(sql)}
        else:
            present = {name for (name,) in conn.execute(sql).fetchall()}
        return [
            Message(
                N_("the audit log is not protected: trigger {name} is missing or disabled"),
                name=name,
            )
            for name in AUDIT_TRIGGERS
            if name not in present
        ]

    @contextlib.contextmanager
    def _snapshot(self) -> Iterator[Any]:
        """A read-only transaction seeing one moment of the database throughout."""
        with self._conn() as conn:
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            try:
                yield conn
            finally:
                conn.execute("ROLLBACK")

    def verify_audit(self) -> list[Message]:
        """The chain of every event as stored, against the head; and the triggers."""
        with self._snapshot() as conn:
            head_rows = conn.execute("SELECT seq, hash FROM audit_head WHERE one").fetchall()
            head = (
                {"seq": head_rows[0][0], "hash": head_rows[0][1]}
                if head_rows
                else {"seq": 0, "hash": GENESIS}
            )

            def events() -> Iterator[tuple[Message, Any]]:
                with conn.cursor(name="cf_verify_audit") as cur:
                    cur.itersize = CHUNK
                    cur.execute("SELECT seq, body::text FROM audit ORDER BY seq")
                    for seq, body in cur:
                        where = Message(N_("event {seq}"), seq=seq)
                        try:
                            yield where, orjson.loads(body)
                        except orjson.JSONDecodeError:
                            yield where, None

            problems = base.chain_problems(events(), head)
            problems += self.trigger_problems(conn)
        return problems

    def check(self) -> tuple[list[Message], str]:
        """Every record against its row (key, month, status, lookup columns and name grams)
        and the audit log's triggers; one read of every record, in one snapshot."""
        problems: list[Message] = []
        misplaced: list[tuple[str, str]] = []
        moved: list[str] = []
        wrong_status: set[str] = set()
        wrong_lookup: list[str] = []
        cases = 0
        months: set[str] = set()
        with self._snapshot() as conn:
            problems += self.trigger_problems(conn)
            with conn.cursor(name="cf_check") as cur:
                cur.itersize = CHUNK
                cur.execute(
                    """
                    SELECT r.collection, r.key, r.partition, r.status, r.phone, r.name,
                           r.body::text,
                           CASE WHEN r.collection = 'cases' THEN
                               (SELECT array_agg(g.gram ORDER BY g.gram) FROM name_grams g
                                WHERE g.case_no = r.key AND g.partition = r.partition)
                           END
                    FROM records r
                    """
                )
                for collection, key, partition, status, phone, name, body, grams in cur:
                    try:
                        record = orjson.loads(body)
                    except orjson.JSONDecodeError:  # pragma: no cover - json is checked
                        record = None
                    field = ID_FIELDS.get(collection)
                    if not isinstance(record, dict) or field is None or record.get(field) != key:
                        misplaced.append((collection, key))
                        continue
                    try:
                        month = partition_of(record, collection)
                    except (KeyError, TypeError):
                        month = None
                    if month != partition:
                        moved.append(key)
                    value = record.get("status")
                    if (value if isinstance(value, str) else None) != status:
                        wrong_status.add(partition)
                    if collection == "cases":
                        cases += 1
                        months.add(partition)
                        keys = lookup_keys(record)
                        if (
                            keys.get("phone") != phone
                            or keys.get("name") != name
                            or name_grams(keys.get("name")) != (grams or [])
                        ):
                            wrong_lookup.append(key)
        problems += [
            Message(
                N_("{collection} {key}: stored under the key of another record"),
                collection=collection,
                key=key,
            )
            for collection, key in misplaced
        ]
        if moved:
            problems.append(
                Message(
                    N_("{key}: listed in the index but missing from its partition"), key=moved[0]
                )
            )
        if wrong_status:
            problems.append(
                Message(
                    N_("the index's counts by status disagree for {months}"),
                    months=", ".join(sorted(wrong_status)[:3]),
                )
            )
        if wrong_lookup:
            problems.append(
                Message(
                    N_(
                        "the lookup index (phone, name) disagrees with the records for {count} cases, e.g. {example}"
                    ),
                    count=len(wrong_lookup),
                    example=min(wrong_lookup),
                )
            )
        if problems:
            return problems, ""
        return [], Message(
            N_("{count} cases in {partitions} partitions"), count=cases, partitions=len(months)
        )

    # -- writing ------------------------------------------------------------------------------------
    def transaction(self) -> PostgresTransaction:
        return PostgresTransaction(self)


class PostgresTransaction(base.Transaction):
    """One database transaction, holding the store's write lock from start to end. A
    transaction begun inside another of the same store in the same thread is a savepoint of
    it (its changes are kept when the outer one commits)."""

    def __init__(self, store: PostgresStore):
        self.store = store
        self.conn = None
        self._outer: PostgresTransaction | None = None
        self._savepoint: str | None = None

    # -- beginning and ending ------------------------------------------------------------------
    def __enter__(self) -> PostgresTransaction:
        import psycopg

        store = self.store
        active = getattr(store._thread, "txn", None)
        if active is not None and active.conn is not None:
            self._outer = active
            self.conn = active.conn
            self._savepoint = f"cf_nested_{id(self):x}"
            self._exec(f"SAVEPOINT {self._savepoint}")
            return self
        conn = store._take()
        timeout_ms = max(1, int(store.lock_timeout * 1000))
        begin = (
            "BEGIN ISOLATION LEVEL READ COMMITTED;"
            f" SET LOCAL lock_timeout = {timeout_ms};"
            f" SELECT pg_advisory_xact_lock({WRITE_LOCK})"
        )
        try:
            try:
                conn.execute(begin)
            except psycopg.OperationalError:
                if not conn.broken:
                    raise
                # A kept connection the server dropped meanwhile: nothing was begun on it.
                store._give(conn)
                conn = store._take()
                conn.execute(begin)
        except psycopg.errors.LockNotAvailable:
            with contextlib.suppress(psycopg.Error):
                conn.execute("ROLLBACK")
            store._give(conn)
            raise StorageError(
                N_(
                    "{path}: the records are locked by another process (waited {seconds} s); try again"
                ),
                path=store.location,
                seconds=f"{store.lock_timeout:.0f}",
            ) from None
        except psycopg.Error as exc:
            with contextlib.suppress(psycopg.Error):
                conn.execute("ROLLBACK")
            store._give(conn)
            raise store._error(exc) from None
        except BaseException:
            with contextlib.suppress(Exception):
                conn.close()
            raise
        self.conn = conn
        store._thread.txn = self
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        import psycopg
        from psycopg.pq import TransactionStatus

        conn = self.conn
        if conn is None:
            return
        if self._outer is not None:
            try:
                if exc_type is None:
                    self._exec(f"RELEASE SAVEPOINT {self._savepoint}")
                else:
                    with contextlib.suppress(psycopg.Error):
                        conn.execute(f"ROLLBACK TO SAVEPOINT {self._savepoint}")
                        conn.execute(f"RELEASE SAVEPOINT {self._savepoint}")
            finally:
                self.conn = None
            return
        store = self.store
        try:
            if exc_type is None:
                if conn.info.transaction_status == TransactionStatus.INERROR:
                    # A statement failed and the error was caught: nothing can be kept.
                    conn.execute("ROLLBACK")
                    raise store._error(
                        RuntimeError("a statement of the transaction failed; nothing was stored")
                    )
                try:
                    conn.execute("COMMIT")
                except psycopg.Error as err:
                    raise store._error(err) from None
            else:
                with contextlib.suppress(psycopg.Error):
                    conn.execute("ROLLBACK")
        finally:
            store._thread.txn = None
            self.conn = None
            store._give(conn)

    def _exec(self, sql: str, params: Any = None, *, binary: bool = False):
        import psycopg

        if self.conn is None:
            raise StorageError(
                N_("{location}: database error: {reason}"),
                location=self.store.location,
                reason="the transaction is not open",
            )
        try:
            return self.conn.execute(sql, params, binary=binary)
        except psycopg.Error as exc:
            raise self.store._error(exc) from None

    # -- records -----------------------------------------------------------------------------------
    def get(self, key: str, collection: str = "cases") -> dict:
        row = self._exec(
            "SELECT body FROM records WHERE collection = %s AND key = %s", (collection, key)
        ).fetchone()
        if row is None:
            raise base.no_record(key, collection)
        return _loads(row[0])

    def exists(self, key: str, collection: str = "cases") -> bool:
        return (
            self._exec(
                "SELECT 1 FROM records WHERE collection = %s AND key = %s", (collection, key)
            ).fetchone()
            is not None
        )

    def insert(self, record: dict, collection: str = "cases") -> None:
        cols = _columns(record, collection)
        cur = self._exec(
            """
            INSERT INTO records (collection, key, partition, status, phone, name, body)
            VALUES (%(collection)s, %(key)s, %(partition)s, %(status)s, %(phone)s, %(name)s,
                    %(body)s::json)
            ON CONFLICT (collection, key) DO NOTHING
            """,
            cols,
        )
        if cur.rowcount != 1:
            # Checked by the primary key, not by a look first: two writers cannot both
            # store one number (and this transaction stays usable).
            raise StorageError(N_("number {key} is already taken"), key=cols["key"])
        if collection == "cases" and cols["name"]:
            self._add_grams(cols["key"], cols["partition"], cols["name"])

    def replace(self, record: dict, collection: str = "cases") -> None:
        cols = _columns(record, collection)
        row = self._exec(
            """
            UPDATE records AS r
            SET partition = %(partition)s, status = %(status)s, phone = %(phone)s,
                name = %(name)s, body = %(body)s::json,
                ord = CASE WHEN r.partition = %(partition)s THEN r.ord
                           ELSE nextval('records_ord_seq') END
            FROM (SELECT collection, key, name, partition FROM records
                  WHERE collection = %(collection)s AND key = %(key)s FOR UPDATE) AS old
            WHERE r.collection = old.collection AND r.key = old.key
            RETURNING old.name, old.partition
            """,
            cols,
        ).fetchone()
        if row is None:
            raise base.no_record(cols["key"], collection)
        if collection != "cases":
            return
        if row[0] != cols["name"]:
            self._exec("DELETE FROM name_grams WHERE case_no = %s", (cols["key"],))
            if cols["name"]:
                self._add_grams(cols["key"], cols["partition"], cols["name"])
        elif row[1] != cols["partition"]:  # its received time corrected into another month
            self._exec(
                "UPDATE name_grams SET partition = %s WHERE case_no = %s",
                (cols["partition"], cols["key"]),
            )

    def _add_grams(self, case_no: str, partition: str, name: str) -> None:
        self._exec(
            "INSERT INTO name_grams (case_no, partition, gram) SELECT %s, %s, unnest(%s::text[])",
            (case_no, partition, name_grams(name)),
        )

    # -- counters ------------------------------------------------------------------------------------
    def next_seq(self, counter: str) -> int:
        """The counter's row updated in this transaction (locked until it ends): the number
        is only used when the transaction commits."""
        return self._exec(
            """
            INSERT INTO counters AS c (name, value) VALUES (%s, 1)
            ON CONFLICT (name) DO UPDATE SET value = c.value + 1
            RETURNING value
            """,
            (counter,),
        ).fetchone()[0]

    def current_seq(self, counter: str) -> int:
        row = self._exec("SELECT value FROM counters WHERE name = %s", (counter,)).fetchone()
        return 0 if row is None else row[0]

    def bump_seq(self, counter: str, seq: int) -> None:
        self._exec(
            """
            INSERT INTO counters AS c (name, value) VALUES (%s, %s)
            ON CONFLICT (name) DO UPDATE SET value = greatest(c.value, excluded.value)
            """,
            (counter, int(seq)),
        )

    def next_doc_serial(self) -> int:
        return self._exec(
            "UPDATE doc_serial SET value = value + 1 WHERE one RETURNING value"
        ).fetchone()[0]

    def current_doc_serial(self) -> int:
        return self._exec("SELECT value FROM doc_serial WHERE one").fetchone()[0]

    def bump_doc_serial(self, serial: int) -> None:
        self._exec("UPDATE doc_serial SET value = greatest(value, %s) WHERE one", (int(serial),))

    # -- files ------------------------------------------------------------------------------------------
    def put_file(self, path: str, data: bytes) -> None:
        self._exec(
            """
            INSERT INTO files (path, data) VALUES (%s, %b)
            ON CONFLICT (path) DO UPDATE SET data = excluded.data, stored_at = now()
            """,
            (_rel(path), bytes(data)),
        )

    def read_file(self, path: str) -> bytes | None:
        row = self._exec(
            "SELECT data FROM files WHERE path = %s", (_rel(path),), binary=True
        ).fetchone()
        return None if row is None else bytes(row[0])

    def delete_file(self, path: str) -> None:
        self._exec("DELETE FROM files WHERE path = %s", (_rel(path),))

    # -- the audit log ------------------------------------------------------------------------------------
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
        """The event after the head (read with its row locked); the database's trigger
        refuses it unless it follows the head, and moves the head to it."""
        seq, hash_, month = self._exec(
            "SELECT seq, hash, month FROM audit_head WHERE one FOR UPDATE"
        ).fetchone()
        event = base.new_event(
            {"seq": seq, "hash": hash_}, action, by, key, at, before=before, after=after, **extra
        )
        self._exec(
            """
            INSERT INTO audit (seq, month, at, actor, action, case_key, prev, hash, body)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s::json)
            """,
            (
                event["seq"],
                max(month, at[:7]),
                at,
                by,
                action,
                key,
                event["prev"],
                event["hash"],
                orjson.dumps(event, option=orjson.OPT_SORT_KEYS).decode("utf-8"),
            ),
        )
        return event

    def append_events(self, events: Iterable[dict]) -> dict:
        """Existing events appended as they are, in order, keeping every field (seq, at,
        by, prev, hash): `db copy` of another store's audit log, verbatim. Each must follow
        the head, as the chain trigger checks (so a whole log from genesis is accepted, onto
        an empty one); an event whose hash does not match its fields is refused, so that a
        copy never takes in an altered history. The head afterwards."""
        import psycopg

        seq, hash_, month = self._exec(
            "SELECT seq, hash, month FROM audit_head WHERE one FOR UPDATE"
        ).fetchone()
        batch: list[tuple] = []

        def flush() -> None:
            try:
                with self.conn.cursor() as cur:
                    cur.executemany(
                        """
                        INSERT INTO audit (seq, month, at, actor, action, case_key, prev, hash,
                                           body)
                        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s::json)
                        """,
                        batch,
                    )
            except psycopg.Error as exc:
                raise self.store._error(exc) from None
            batch.clear()

        for event in events:
            if (
                not isinstance(event, dict)
                or event.get("seq") != seq + 1
                or event.get("prev") != hash_
                or not isinstance(event.get("at"), str)
                or not isinstance(event.get("action"), str)
                or base.event_hash(event) != event.get("hash")
            ):
                raise StorageError(
                    N_(
                        "audit event {seq} does not follow event {head} of the chain, or was "
                        "altered: not copied"
                    ),
                    seq=event.get("seq") if isinstance(event, dict) else "?",
                    head=seq,
                )
            month = max(month, event["at"][:7])
            seq, hash_ = event["seq"], event["hash"]
            batch.append(
                (
                    seq,
                    month,
                    event["at"],
                    event.get("by"),
                    event["action"],
                    event.get("case"),
                    event["prev"],
                    hash_,
                    orjson.dumps(event, option=orjson.OPT_SORT_KEYS).decode("utf-8"),
                )
            )
            if len(batch) >= CHUNK:
                flush()
        if batch:
            flush()
        return {"seq": seq, "hash": hash_}
