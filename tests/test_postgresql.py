"""What the PostgreSQL store promises beyond the contract every store keeps
(tests/test_store_contract.py): the database itself refuses to change the audit log, case
numbers stay gapless and distinct under many writers at once (threads and processes), a
process killed in the middle of a transaction leaves the committed state, the schema is
made and migrated by the tool, and a lookup is answered from indexes.

Each test gets an empty database of its own on a throwaway server (tests/pg.py)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import orjson
import psycopg
import pytest

from complaintforms.errors import NotFoundError, StorageError
from complaintforms.storage.base import MAX_TRIES, Conflict
from complaintforms.storage.postgresql import (
    SCHEMA_VERSION,
    PostgresStore,
    migrate,
    name_grams,
    schema_version,
)

REPO = Path(__file__).resolve().parent.parent
COUNTER = "2026"


@pytest.fixture
def store(pg_database, tmp_path):
    opened = PostgresStore(pg_database, tmp_path / "records")
    yield opened
    opened.close()


def sql(dsn: str):
    """A plain connection to the test's database, as a person with psql would have one."""
    return psycopg.connect(dsn, autocommit=True)


def case(n: int, month: str = "2026-11", **extra) -> dict:
    return {
        "case_no": f"TS-2026-{n:06d}",
        "received_at": f"{month}-16T09:30:00+08:00",
        "recorded_at": f"{month}-16T09:31:00+08:00",
        "status": "registered",
        "recorded_by": "吴芳",
        **extra,
    }


def register(store: PostgresStore, pause: float = 0.0) -> int:
    """A registration as services/cases.py makes one: the number the counter will give
    next is read, the card "rendered" with it outside any lock, then stored if no one took
    that number meanwhile (else again); after MAX_TRIES, numbered and stored in one go."""
    for _ in range(MAX_TRIES):
        with store.transaction() as txn:
            seq = txn.current_seq(COUNTER) + 1
        time.sleep(pause * random.random())  # rendering the card
        try:
            with store.transaction() as txn:
                if txn.current_seq(COUNTER) + 1 != seq:
                    raise Conflict
                txn.next_seq(COUNTER)
                txn.insert(case(seq))
                txn.log("case.new", "吴芳", case(seq)["case_no"], at=case(seq)["recorded_at"])
            return seq
        except Conflict:
            continue
    with store.transaction() as txn:
        seq = txn.next_seq(COUNTER)
        txn.insert(case(seq))
        txn.log("case.new", "吴芳", case(seq)["case_no"], at=case(seq)["recorded_at"])
    return seq


def abandoned_registration(store: PostgresStore) -> None:
    """A registration that takes a number and then fails: the number is not used."""
    with pytest.raises(RuntimeError), store.transaction() as txn:
        seq = txn.next_seq(COUNTER)
        txn.insert(case(seq))
        raise RuntimeError("the printer caught fire")


# -- the audit log is append-only, in the database -------------------------------------------------
def test_the_database_refuses_to_change_or_remove_audit_events(store, pg_database):
    with store.transaction() as txn:
        txn.insert(case(1))
        txn.log("case.new", "吴芳", "TS-2026-000001", at="2026-11-16T09:31:00+08:00")
        txn.log("case.accept", "吴芳", "TS-2026-000001", at="2026-11-16T10:00:00+08:00")
    head = store.audit_head()
    with sql(pg_database) as conn:
        for statement in (
            "UPDATE audit SET actor = '别人' WHERE seq = 1",
            "UPDATE audit SET body = '{}' ",
            "DELETE FROM audit WHERE seq = 2",
            "DELETE FROM audit",
            "TRUNCATE audit",
            "TRUNCATE audit_head, audit",
            "DELETE FROM audit_head",
            "UPDATE audit_head SET seq = 1",  # back to before the last event
            "UPDATE audit_head SET seq = 7",  # past events that are not there
        ):
            with pytest.raises(psycopg.Error) as refused:
                conn.execute(statement)
            assert "audit" in str(refused.value), statement
        # An event that does not follow the head is refused too.
        for seq, prev in ((3, "0" * 64), (2, head["hash"]), (4, head["hash"])):
            with pytest.raises(psycopg.errors.IntegrityConstraintViolation):
                conn.execute(
                    "INSERT INTO audit (seq, month, at, actor, action, prev, hash, body)"
                    " VALUES (%s, '2026-11', 'x', 'x', 'x', %s, %s, '{}')",
                    (seq, prev, f"{seq:064d}"),
                )
        assert conn.execute("SELECT count(*) FROM audit").fetchone()[0] == 2
    assert store.audit_head() == head
    assert [e["action"] for e in store.iter_events()] == ["case.new", "case.accept"]
    assert store.verify_audit() == [] and store.check()[0] == []


def test_an_event_changed_behind_the_triggers_back_is_found(store, pg_database):
    """Someone with the rights to switch the trigger off can change an event; the chain
    shows it, and so does a trigger that is off."""
    with store.transaction() as txn:
        for n in (1, 2, 3):
            txn.log("case.new", "吴芳", f"TS-2026-{n:06d}", at="2026-11-16T09:31:00+08:00")
    with sql(pg_database) as conn:
        conn.execute("ALTER TABLE audit DISABLE TRIGGER audit_append_only")
        conn.execute(
            """UPDATE audit SET body = replace(body::text, '吴芳', '别人')::json WHERE seq = 2"""
        )
    problems = store.verify_audit()
    assert "event 2: event 2 was altered (hash mismatch)" in problems
    assert (
        "the audit log is not protected: trigger audit_append_only is missing or disabled"
        in problems
    )
    assert any("audit_append_only" in p for p in store.check()[0])
    with sql(pg_database) as conn:
        conn.execute("ALTER TABLE audit ENABLE TRIGGER audit_append_only")
    assert store.verify_audit() == ["event 2: event 2 was altered (hash mismatch)"]


# -- numbers: gapless and distinct under concurrency ------------------------------------------------
def test_24_registrations_at_once_in_threads_get_numbers_1_to_24(pg_database, tmp_path):
    numbers: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(24)

    def desk(i: int) -> None:
        store = PostgresStore(pg_database, tmp_path / "records")
        try:
            start.wait()
            if i % 4 == 0:
                abandoned_registration(store)
            numbers.append(register(store, pause=0.01))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            store.close()

    threads = [threading.Thread(target=desk, args=(i,)) for i in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    assert sorted(numbers) == list(range(1, 25))
    store = PostgresStore(pg_database)
    # Stored in the order numbered: one writer at a time.
    assert [c["case_no"] for c in store.iter_records()] == [
        f"TS-2026-{n:06d}" for n in range(1, 25)
    ]
    assert store.audit_head()["seq"] == 24 and store.verify_audit() == []
    with store.transaction() as txn:
        assert txn.current_seq(COUNTER) == 24
    assert store.check()[0] == []
    store.close()


def _registrations_main() -> None:
    """A process of the test below: `register` N times on DSN, the numbers as JSON."""
    dsn, count = sys.argv[1], int(sys.argv[2])
    store = PostgresStore(dsn)
    got = []
    for i in range(count):
        if i == 1:
            abandoned_registration_plain(store)
        got.append(register(store, pause=0.01))
    store.close()
    print(json.dumps(got))


def abandoned_registration_plain(store: PostgresStore) -> None:
    try:
        with store.transaction() as txn:
            seq = txn.next_seq(COUNTER)
            txn.insert(case(seq))
            raise RuntimeError("the printer caught fire")
    except RuntimeError:
        pass


def python(code: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO / "src") + os.pathsep + str(REPO)},
    )


def test_24_registrations_from_6_processes_get_numbers_1_to_24(pg_database):
    PostgresStore(pg_database).migrate()  # made once, not raced by six first uses
    code = "from tests.test_postgresql import _registrations_main; _registrations_main()"
    procs = [python(code, pg_database, "4") for _ in range(6)]
    numbers = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err[-3000:]
        numbers += json.loads(out)
    assert sorted(numbers) == list(range(1, 25))
    store = PostgresStore(pg_database)
    assert store.count() == 24
    assert store.audit_head()["seq"] == 24 and store.verify_audit() == []
    store.close()


def test_the_first_use_by_several_processes_at_once_makes_the_schema_once(pg_database):
    code = "from tests.test_postgresql import _registrations_main; _registrations_main()"
    procs = [python(code, pg_database, "2") for _ in range(4)]
    numbers = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err[-3000:]
        numbers += json.loads(out)
    assert sorted(numbers) == list(range(1, 9))
    with sql(pg_database) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [
            (v,) for v in range(1, SCHEMA_VERSION + 1)
        ]


# -- a killed process ---------------------------------------------------------------------------------
def _killed_main() -> None:
    """A process of the test below: a transaction that changes everything it can, then
    waits to be killed before it commits."""
    store = PostgresStore(sys.argv[1])
    with store.transaction() as txn:
        txn.insert(case(2))
        txn.replace({**case(1), "status": "assigned"})
        txn.next_seq(COUNTER)
        txn.next_doc_serial()
        txn.put_file("documents/2026/a.pdf", b"new")
        txn.put_file("documents/2026/b.pdf", b"b")
        txn.log("case.new", "吴芳", "TS-2026-000002", at="2026-11-16T09:40:00+08:00")
        print("ready", flush=True)
        time.sleep(120)


def test_a_process_killed_in_a_transaction_leaves_the_committed_state(pg_database, tmp_path):
    store = PostgresStore(pg_database, tmp_path / "records", lock_timeout=20)
    with store.transaction() as txn:
        txn.next_seq(COUNTER)
        txn.insert(case(1))
        txn.put_file("documents/2026/a.pdf", b"old")
        txn.log("case.new", "吴芳", "TS-2026-000001", at="2026-11-16T09:31:00+08:00")
    head = store.audit_head()
    proc = python("from tests.test_postgresql import _killed_main; _killed_main()", pg_database)
    try:
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read()[-3000:]
        # Meanwhile readers see the committed state, without waiting.
        assert store.get("TS-2026-000001")["status"] == "registered"
        assert not store.file_exists("documents/2026/b.pdf")
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    started = time.monotonic()
    with store.transaction() as txn:  # the lock went with the killed process's connection
        assert txn.current_seq(COUNTER) == 1 and txn.current_doc_serial() == 0
        assert not txn.exists("TS-2026-000002")
    assert time.monotonic() - started < 10
    assert store.get("TS-2026-000001")["status"] == "registered"
    with pytest.raises(NotFoundError):
        store.get("TS-2026-000002")
    assert store.read_file("documents/2026/a.pdf") == b"old"
    assert not store.file_exists("documents/2026/b.pdf")
    assert store.audit_head() == head and store.verify_audit() == []
    assert store.check()[0] == []
    assert register(store) == 2  # and the next number is the one the killed process had
    store.close()


# -- the schema ---------------------------------------------------------------------------------------
def test_the_schema_is_made_in_an_empty_database_and_made_again_is_no_change(pg_database):
    with sql(pg_database) as conn:
        assert schema_version(conn) == 0
        assert migrate(conn) == list(range(1, SCHEMA_VERSION + 1))
        assert schema_version(conn) == SCHEMA_VERSION
        tables = {
            name
            for (name,) in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            )
        }
        assert {"records", "name_grams", "counters", "doc_serial", "files", "audit"} <= tables
        assert {"audit_head", "schema_version"} <= tables
        before = conn.execute("SELECT version, applied_at FROM schema_version").fetchall()
        assert migrate(conn) == []  # run again: nothing to do, nothing changed
        assert conn.execute("SELECT version, applied_at FROM schema_version").fetchall() == before
    store = PostgresStore(pg_database)
    assert store.migrate() == [] and store.schema_version() == SCHEMA_VERSION
    assert register(store) == 1 and store.check()[0] == [] and store.verify_audit() == []
    store.close()


def test_a_migration_stops_at_the_version_asked_and_goes_on_from_there(pg_database):
    with sql(pg_database) as conn:
        assert migrate(conn, upto=0) == [] and schema_version(conn) == 0
        assert migrate(conn, upto=1) == [1]
        assert migrate(conn) == list(range(2, SCHEMA_VERSION + 1))
        assert schema_version(conn) == SCHEMA_VERSION


def test_version_2_gives_the_name_grams_of_existing_cases_their_months(pg_database):
    """A database made by version 1 holding cases: after version 2 every gram carries its
    case's month, a lookup within months finds them, and check agrees."""
    with sql(pg_database) as conn:
        assert migrate(conn, upto=1) == [1]
        for n, month in ((1, "2026-01"), (2, "2026-02")):
            conn.execute(
                "INSERT INTO records (collection, key, partition, status, name, body)"
                " VALUES ('cases', %s, %s, 'registered', '王小明', %s::json)",
                (
                    f"TS-2026-{n:06d}",
                    month,
                    json.dumps(case(n, month, complainant={"name": "王小明"})),
                ),
            )
            conn.execute(
                "INSERT INTO name_grams (case_no, gram) SELECT %s, unnest(%s::text[])",
                (f"TS-2026-{n:06d}", name_grams("王小明")),
            )
        assert migrate(conn) == list(range(2, SCHEMA_VERSION + 1))
        months = conn.execute(
            "SELECT case_no, array_agg(DISTINCT partition) FROM name_grams GROUP BY case_no"
            " ORDER BY case_no"
        ).fetchall()
        assert months == [("TS-2026-000001", ["2026-01"]), ("TS-2026-000002", ["2026-02"])]
    store = PostgresStore(pg_database)
    assert [c["case_no"] for c in store.find_cases(name="小明", months=["2026-02"])] == [
        "TS-2026-000002"
    ]
    assert store.check()[0] == []
    store.close()


def test_a_case_moved_to_another_month_is_found_by_name_in_that_month(store, pg_database):
    with store.transaction() as txn:
        txn.insert(case(1, "2026-01", complainant={"name": "王小明"}))
    with store.transaction() as txn:  # its received time corrected, the name kept
        txn.replace(case(1, "2026-03", complainant={"name": "王小明"}))

    def found(months: list[str]) -> list[str]:
        return [c["case_no"] for c in store.find_cases(name="王小明", months=months)]

    assert found(["2026-03"]) == ["TS-2026-000001"] and found(["2026-01"]) == []
    assert store.check()[0] == []
    with sql(pg_database) as conn:  # a gram left in the old month is found by check
        conn.execute("UPDATE name_grams SET partition = '2026-01' WHERE gram = '小明'")
    assert (
        "the lookup index (phone, name) disagrees with the records for 1 cases, e.g. TS-2026-000001"
        in store.check()[0]
    )


def test_several_migrations_at_once_apply_each_version_once(pg_database):
    applied: list[list[int]] = []

    def run() -> None:
        with sql(pg_database) as conn:
            applied.append(migrate(conn))

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(applied) == [[], [], [], list(range(1, SCHEMA_VERSION + 1))]


def test_a_schema_newer_than_the_code_is_refused(store, pg_database):
    store.migrate()
    with sql(pg_database) as conn:
        conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (SCHEMA_VERSION + 1,))
    with pytest.raises(StorageError) as refused:
        PostgresStore(pg_database).get("TS-2026-000001")
    assert "newer than this complaintforms knows" in str(refused.value)


def test_a_database_that_cannot_be_reached_is_our_error(pg_cluster, tmp_path):
    dsn = f"host={tmp_path} port=5432 user=postgres password=s3cret dbname=nothing"
    with pytest.raises(StorageError) as refused:
        PostgresStore(dsn).count()
    assert "database error" in str(refused.value) and "s3cret" not in str(refused.value)
    assert PostgresStore(dsn).location == f"postgresql://postgres@{tmp_path}:5432/nothing"


# -- transactions ---------------------------------------------------------------------------------------
def test_a_writer_waits_for_another_and_gives_up_after_its_lock_timeout(store, pg_database):
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with store.transaction() as txn:
            txn.next_seq(COUNTER)
            held.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(30)
        impatient = PostgresStore(pg_database, lock_timeout=0.2)
        with pytest.raises(StorageError) as refused, impatient.transaction():
            pass
        assert "the records are locked by another process" in str(refused.value)
    finally:
        release.set()
        holder.join(30)
    with impatient.transaction() as txn:
        assert txn.current_seq(COUNTER) == 1
    impatient.close()


def test_a_transaction_begun_inside_another_is_part_of_it(store):
    with store.transaction() as outer:
        outer.insert(case(1))
        with store.transaction() as inner:  # e.g. the workspace identity made on first use
            assert inner.exists("TS-2026-000001")
            inner.put_file("workspace.json", b"{}")
        with pytest.raises(RuntimeError), store.transaction() as inner:
            inner.insert(case(2))
            raise RuntimeError("undone alone")
        assert not outer.exists("TS-2026-000002") and outer.read_file("workspace.json") == b"{}"
    assert store.count() == 1 and store.file_exists("workspace.json")


def test_a_failed_statement_whose_error_was_caught_stores_nothing(store):
    with pytest.raises(StorageError), store.transaction() as txn:
        txn.insert(case(1))
        with pytest.raises(psycopg.Error):
            txn.conn.execute("SELECT 1/0")
    assert store.count() == 0
    with store.transaction() as txn:  # and the connection is fine for the next one
        txn.insert(case(1))
    assert store.count() == 1


def test_connections_the_server_dropped_are_replaced(store, pg_database):
    with store.transaction() as txn:
        txn.insert(case(1))
    assert store.count() == 1  # a kept connection, idle now
    with sql(pg_database) as conn:  # a restart, an idle timeout: the server ends them
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = 'complaintforms' AND pid <> pg_backend_pid()"
        )
    time.sleep(0.2)
    assert store.count() == 1
    with sql(pg_database) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = 'complaintforms' AND pid <> pg_backend_pid()"
        )
    time.sleep(0.2)
    with store.transaction() as txn:
        txn.insert(case(2))
    assert store.count() == 2


def test_records_keep_their_json_as_written(store):
    """Key order, numbers and text come back as stored (a `case export` of this store is
    the same as of the TinyDB one)."""
    record = case(1, zeta=1, alpha={"b": 1e20, "a": [0.1, -0, 2**53]}, text='\u0000 王 😀 \\ "')
    with store.transaction() as txn:
        txn.insert(record)
    assert orjson.dumps(store.get("TS-2026-000001")) == orjson.dumps(record)
    assert orjson.dumps(next(store.iter_records())) == orjson.dumps(record)


def test_local_copies_follow_the_stored_file(store, tmp_path):
    path = "documents/2026/TS-2026-000001/record_card-000001.pdf"
    with store.transaction() as txn:
        txn.put_file(path, b"%PDF one")
    local = store.local_path(path)
    assert local == tmp_path / "records" / path and local.read_bytes() == b"%PDF one"
    with store.transaction() as txn:
        txn.put_file(path, b"%PDF two")
    assert store.local_path(path).read_bytes() == b"%PDF two"
    with store.transaction() as txn:
        txn.delete_file(path)
    assert not store.local_path(path).exists()
    for bad in ("../outside", "/etc/passwd", ".tmp/x", ""):
        with pytest.raises(StorageError):
            store.local_path(bad)


def test_a_step_reads_only_the_months_that_hold_what_it_asks_for(store):
    with store.transaction() as txn:
        txn.insert(case(1, "2026-01"))
        txn.insert({**case(2, "2026-03"), "status": "closed"})
        txn.insert({**case(3, "2026-03"), "status": "assigned"})
        txn.insert(case(4, "2026-05"))
    assert store.partitions() == ["2026-01", "2026-03", "2026-05"]
    assert store.partitions("cases", "closed") == ["2026-03"]
    assert [c["case_no"] for c in store.iter_records(statuses=["assigned", "closed"])] == [
        "TS-2026-000002",
        "TS-2026-000003",
    ]
    assert list(store.iter_records(statuses=["archived"])) == []


def test_a_lookup_of_some_months_reads_only_those(store):
    with store.transaction() as txn:
        for n, month in ((1, "2026-01"), (2, "2026-02"), (3, "2026-03")):
            txn.insert(case(n, month, complainant={"name": "王小明", "phone": "13812345678"}))
    assert store.months() == ["2026-01", "2026-02", "2026-03"]

    def found(**query) -> list[str]:
        return [c["case_no"] for c in store.find_cases(**query)]

    assert found(phone="5678", months=["2026-03", "2026-01"]) == [
        "TS-2026-000001",
        "TS-2026-000003",
    ]
    assert found(name="小明", months=["2026-02"]) == ["TS-2026-000002"]
    assert found(phone="5678", name="王", months=["2026-12"]) == []
    assert found(name="小明", months=[]) == []
    assert found(months=["2026-02"]) == ["TS-2026-000002"]


# -- check ---------------------------------------------------------------------------------------------
def test_check_finds_rows_that_disagree_with_their_records(store, pg_database):
    with store.transaction() as txn:
        txn.insert({**case(1), "complainant": {"name": "王小明", "phone": "13812345678"}})
        txn.insert(case(2, "2026-10"))
    problems, summary = store.check()
    assert problems == [] and summary == "2 cases in 2 partitions"
    with sql(pg_database) as conn:
        conn.execute("UPDATE records SET phone = '13800000000' WHERE key = 'TS-2026-000001'")
        conn.execute("DELETE FROM name_grams WHERE gram = '小明'")
        conn.execute("UPDATE records SET status = 'closed' WHERE key = 'TS-2026-000002'")
        conn.execute("UPDATE records SET partition = '2026-12' WHERE key = 'TS-2026-000002'")
    problems = store.check()[0]
    assert (
        "the lookup index (phone, name) disagrees with the records for 1 cases, e.g. TS-2026-000001"
        in problems
    )
    assert "the index's counts by status disagree for 2026-12" in problems
    assert "TS-2026-000002: listed in the index but missing from its partition" in problems


# -- lookups by index ------------------------------------------------------------------------------------
def _plan(conn, statement: str, params) -> str:
    return "\n".join(r[0] for r in conn.execute("EXPLAIN " + statement, params))


def test_a_lookup_is_answered_from_indexes_not_by_reading_every_case(store, pg_database):
    """On 20,000 cases the planner reads the phone and name indexes (and the records by key),
    never the whole table."""
    store.migrate()
    with sql(pg_database) as conn:
        conn.execute(
            """
            INSERT INTO records (collection, key, partition, status, phone, name, body)
            SELECT 'cases', 'TS-2026-' || lpad(n::text, 6, '0'), '2026-11', 'closed',
                   '138' || lpad((n * 7919 % 100000000)::text, 8, '0'),
                   '客户' || n, '{}'::json
            FROM generate_series(1, 20000) AS n
            """
        )
        # The grams as the store makes them; the foreign key's checks skipped (a test's
        # shortcut: the rows are right by construction).
        conn.execute("SET session_replication_role = replica")
        with conn.cursor().copy("COPY name_grams (case_no, partition, gram) FROM STDIN") as copy:
            for n in range(1, 20001):
                for gram in name_grams(f"客户{n}"):
                    copy.write_row((f"TS-2026-{n:06d}", "2026-11", gram))
        conn.execute("SET session_replication_role = DEFAULT")
        conn.execute("ANALYZE")
        phone_sql, phone_params = store.lookup_query(phone="1234 5678", name=None)
        plan = _plan(conn, phone_sql, phone_params)
        assert "records_by_phone" in plan and "Seq Scan" not in plan, plan
        name_sql, name_params = store.lookup_query(phone=None, name="户1999")
        plan = _plan(conn, name_sql, name_params)
        assert "name_grams_pkey" in plan and "Seq Scan" not in plan, plan
        # Within months, the months are part of the grams' index condition.
        name_sql, name_params = store.lookup_query(phone=None, name="客户", months=["2026-11"])
        plan = _plan(conn, name_sql, name_params)
        assert "name_grams_pkey" in plan and "Seq Scan" not in plan, plan
        assert "partition = ANY" in plan.split("name_grams_pkey", 1)[1], plan


# -- the library on this store ------------------------------------------------------------------------
def test_the_whole_procedure_runs_on_the_postgresql_store(pg_database, tmp_path):
    """The library, unchanged, on this store: every file in the database, the local copies
    under records/ only where a path is asked for."""
    import shutil

    from complaintforms.services import archive
    from complaintforms.services import procedure as p
    from complaintforms.services.cases import register_case
    from complaintforms.services.reports import build_report
    from complaintforms.workspace import Workspace, init_workspace

    from .test_register import FULL_CASE

    root = init_workspace(tmp_path / "ws").root
    shutil.rmtree(root / "records")
    store = PostgresStore(pg_database, root / "records")
    ws = Workspace(root, store=store)
    case_no = register_case(ws, dict(FULL_CASE))["case_no"]
    p.accept_case(ws, case_no, by="吴芳", department="SVC", at="2026-11-16T10:00:00+08:00")
    slip = p.issue_slip(ws, case_no, by="吴芳")
    p.return_slip(
        ws,
        case_no,
        by="李明",
        at="2026-11-18T16:00:00+08:00",
        findings="属实",
        cause=None,
        responsible=None,
        plan="返修",
        approved_by="王强",
        result="已返修",
        customer_signed=True,
    )
    p.callback_case(ws, case_no, by="吴芳", satisfaction="满意", at="2026-11-19T09:00:00+08:00")
    p.close_case(ws, case_no, by="赵敏", summary="已解决", at="2026-11-19T10:00:00+08:00")
    p.signoff_cases(ws, [case_no], by="赵敏", at="2026-11-20T09:00:00+08:00")
    built = archive.build(ws, [case_no], by="档案员")
    assert archive.verify(ws)["verified"] == 1
    report = build_report(ws, "2026Q4", by="赵敏")

    stored = store.get(case_no)
    assert stored["status"] == "archived"
    pdf = slip.documents[0]["path"]
    assert (
        pdf.startswith("records/") and store.read_file(pdf.removeprefix("records/"))[:4] == b"%PDF"
    )
    assert ws.local_path(pdf) == root / pdf and (root / pdf).read_bytes()[:4] == b"%PDF"
    assert store.file_exists(built.bundles[0]["bundle"].removeprefix("records/"))
    assert {f["format"] for f in report["files"]} == {"pdf", "docx", "csv"}
    assert [e["action"] for e in store.history(case_no)][:3] == [
        "case.new",
        "case.accept",
        "slip.issue",
    ]
    assert store.verify_audit() == [] and store.check()[0] == []
    store.close()
