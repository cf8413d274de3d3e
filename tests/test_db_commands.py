"""`db init`, `db check` and `db copy --to DSN` (DESIGN.md section 10), on a real PostgreSQL
server (tests/pg.py): a workspace's whole store copied into PostgreSQL is the same store
(`case export` identical, every file, counter and audit event), passes `archive verify
--all`, `audit verify` and `doctor`, and goes on numbering where it left off; a target that
holds anything is refused, and a copy that fails leaves the target empty.

The source is the demo (cases registered, routed, closed, signed off and archived, scans,
an opinion, a register, a report) with a user, an API token and a session added: made once
for the module, and never changed by a test."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import psycopg
import pytest

from complaintforms.errors import StorageError
from complaintforms.storage.base import ID_FIELDS
from complaintforms.storage.postgresql import SCHEMA_VERSION, PostgresStore
from complaintforms.storage.tinydb import TinyDBStore
from complaintforms.workspace import DSN_VAR, Workspace

from .conftest import Runner, run_cli
from .test_register import FULL_CASE

BY = "测试员"


# -- the workspaces -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """The demo workspace (TinyDB), with a user, a token and a session besides."""
    from complaintforms.services import users
    from complaintforms.services.demo import run_demo

    root = Path(run_demo(tmp_path_factory.mktemp("src") / "demo")["workspace"])
    ws = Workspace.open(root)
    users.add_user(ws, "wufang", role_name="clerk", password_text="一二三四五六七八九十", by=BY)
    users.new_token(ws, "wufang", by=BY)
    users.sign_in(ws, "wufang", "一二三四五六七八九十")
    return root


def postgres_workspace(source_root: Path, target: Path) -> Path:
    """A workspace of the same config and forms as `source_root`, whose store is PostgreSQL
    (the DSN given by COMPLAINTFORMS_DSN); its records/ holds only local copies."""
    target.mkdir(parents=True)
    shutil.copytree(source_root / "forms", target / "forms")
    config = (source_root / "complaintforms.yaml").read_text(encoding="utf-8")
    (target / "complaintforms.yaml").write_text(
        config + "\nstorage:\n  backend: postgresql\n", encoding="utf-8"
    )
    return target


def run(root: Path, *args: str, dsn: str | None = None, env: dict | None = None, input=None):
    """The command line in this process, on the workspace at `root` (COMPLAINTFORMS_DSN set
    when `dsn` is given, unset otherwise)."""
    return Runner(Workspace(root))(*args, input=input, env={DSN_VAR: dsn, **(env or {})})


def run_json(root: Path, *args: str, dsn: str | None = None):
    result = run(root, "--json", *args, dsn=dsn)
    assert result.exit_code == 0, result.stderr + result.stdout
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def copied(source, pg_cluster, tmp_path_factory):
    """The source copied into a database of its own (shared by the tests that only read
    it): (the workspace on it, its DSN, what `db copy --json` printed)."""
    dsn = pg_cluster.new_database()
    result = run(source, "--json", "db", "copy", "--to", dsn)
    assert result.exit_code == 0, result.stderr + result.stdout
    root = postgres_workspace(source, tmp_path_factory.mktemp("copy") / "ws")
    yield root, dsn, json.loads(result.stdout)
    pg_cluster.drop_database(dsn)


def sql(dsn: str):
    return psycopg.connect(dsn, autocommit=True)


def contents(store) -> dict:
    """Everything a store holds, read through the store interface."""
    from complaintforms.services.db import stored_files

    return {
        "records": {c: list(store.iter_records(c)) for c in ID_FIELDS},
        "counters": store.counter_values(),
        "doc_serial": store.document_serial(),
        "files": {p: store.read_file(p) for p in stored_files(store)},
        "events": list(store.iter_events()),
        "head": store.audit_head(),
    }


# -- db copy -----------------------------------------------------------------------------------------
def test_a_copy_holds_every_record_counter_file_and_event_of_the_workspace(source, copied):
    root, dsn, printed = copied
    src = TinyDBStore(source / "records")
    copy = PostgresStore(dsn, root / "records", migrate=False)
    try:
        want, got = contents(src), contents(copy)
        assert got == want
        assert all(want["records"][c] for c in ID_FIELDS), "the demo holds every collection"
        assert any(p.startswith("scans/") for p in want["files"])
        assert any(p.startswith("archive/") and p.endswith(".zip") for p in want["files"])
        assert any(p.startswith("registers/") for p in want["files"])
        assert "workspace.json" in want["files"]
        # Each month's records in the order they were registered, as in the source.
        assert [c["case_no"] for c in copy.iter_records()] == [
            c["case_no"] for c in src.iter_records()
        ]
        assert copy.history(want["records"]["cases"][0]["case_no"]) == src.history(
            want["records"]["cases"][0]["case_no"]
        )
    finally:
        copy.close()
    assert printed["ok"] and printed["problems"] == []
    assert printed["records"] == {c: len(want["records"][c]) for c in ID_FIELDS}
    assert printed["files"] == len(want["files"])
    assert printed["events"] == want["head"]["seq"] and printed["head"] == want["head"]["hash"]
    assert printed["counters"] == want["counters"] and printed["doc_serial"] == want["doc_serial"]
    assert printed["schema"] == list(range(1, SCHEMA_VERSION + 1))


def test_the_copy_prints_what_it_copied(source, pg_database):
    result = run(source, "db", "copy", "--to", pg_database)
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "8 cases, 1 opinions, 1 users, 1 sessions, 1 tokens" in out
    every = ", ".join(str(v) for v in range(1, SCHEMA_VERSION + 1))
    assert f"schema version {every} applied" in out and "the copy checked: no problems" in out
    assert "password" not in out and pg_database not in out  # the location, not the DSN


def test_the_copy_is_the_same_to_every_command(source, copied):
    root, dsn, _ = copied
    for fmt in ("json", "csv"):
        want = run(source, "case", "export", "--format", fmt)
        got = run(root, "case", "export", "--format", fmt, dsn=dsn)
        assert want.exit_code == got.exit_code == 0, got.stderr
        assert got.stdout == want.stdout
    verified = run_json(root, "archive", "verify", "--all", dsn=dsn)
    assert verified["ok"] and verified["verified"] == 2
    audit = run_json(root, "audit", "verify", dsn=dsn)
    assert audit == run_json(source, "audit", "verify")
    doctor = run(root, "doctor", dsn=dsn)
    assert doctor.exit_code == 0, doctor.stdout
    assert "ok    database:" in doctor.stdout and "ok    audit-log:" in doctor.stdout
    first = json.loads(run(source, "case", "export").stdout)[0]["case_no"]
    assert run_json(root, "case", "show", first, dsn=dsn) == run_json(source, "case", "show", first)
    assert run_json(root, "case", "history", first, dsn=dsn) == run_json(
        source, "case", "history", first
    )
    # A document of the copy is printed from its local copy, the same bytes.
    documents = run_json(source, "case", "show", first)["documents"]
    pdf = next(d["path"] for d in documents if d["path"].endswith(".pdf"))
    ws = Workspace(root, store=PostgresStore(dsn, root / "records", migrate=False))
    try:
        assert ws.local_path(pdf).read_bytes() == (source / pdf).read_bytes()
        assert ws.workspace_id == Workspace.open(source).workspace_id  # QR codes still sign
    finally:
        ws.store.close()


def test_a_case_registered_on_the_copy_is_numbered_after_the_copied_ones(
    source, pg_database, tmp_path
):
    assert run(source, "db", "copy", "--to", pg_database).exit_code == 0
    root = postgres_workspace(source, tmp_path / "ws")
    src = TinyDBStore(source / "records")
    data = {k: v for k, v in FULL_CASE.items() if k != "received_at"}  # now: the demo's year
    result = run(
        root,
        "--json",
        "case",
        "new",
        "--from",
        "-",
        dsn=pg_database,
        input=json.dumps(data, ensure_ascii=False),
    )
    assert result.exit_code == 0, result.stderr
    case = json.loads(result.stdout)
    year = case["received_at"][:4]
    assert case["case_no"] == f"TS-{year}-{src.counter_values()[year] + 1:06d}"
    assert case["case_no"] not in {c["case_no"] for c in src.iter_records()}
    # Its record card's serial follows the copied document serial.
    card = next(d for d in case["documents"] if d["path"].endswith(".pdf"))
    assert int(card["path"].rsplit("-", 1)[1].split(".")[0]) == src.document_serial() + 1
    assert run(root, "audit", "verify", dsn=pg_database).exit_code == 0
    assert run(root, "db", "check", dsn=pg_database).exit_code == 0


def test_copying_again_into_the_same_database_is_refused_and_changes_nothing(source, copied):
    root, dsn, _ = copied
    copy = PostgresStore(dsn, migrate=False)
    try:
        before = contents(copy)
        result = run(source, "db", "copy", "--to", dsn)
        assert result.exit_code == 1
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "already holds records (8 cases" in lines[0], lines
        assert result.stdout == ""
        assert contents(copy) == before
    finally:
        copy.close()


def test_a_database_holding_anything_is_refused_before_its_schema_is_touched(source, pg_database):
    store = PostgresStore(pg_database, migrate=True)
    try:
        with store.transaction() as txn:  # one file, nothing else
            txn.put_file("reports/2026Q4/note.txt", b"kept")
        result = run(source, "db", "copy", "--to", pg_database)
        assert result.exit_code == 1 and "1 files" in result.stderr
        assert store.count() == 0 and store.audit_head()["seq"] == 0
        assert store.read_file("reports/2026Q4/note.txt") == b"kept"
    finally:
        store.close()


def test_a_copy_that_fails_leaves_the_target_empty(source, pg_database, monkeypatch):
    from complaintforms.services.db import copy_store, held
    from complaintforms.storage import postgresql

    def broken(self, events):
        list(events)
        raise StorageError("the disk is full")

    monkeypatch.setattr(postgresql.PostgresTransaction, "append_events", broken)
    with pytest.raises(StorageError, match="the disk is full"):
        copy_store(Workspace.open(source), pg_database)
    target = PostgresStore(pg_database, migrate=False)
    try:
        assert target.schema_version() == SCHEMA_VERSION  # made first, in its own transaction
        assert set(held(target).values()) == {0}
        assert target.counter_values() == {} and target.document_serial() == 0
    finally:
        target.close()
    monkeypatch.undo()
    assert run(source, "db", "copy", "--to", pg_database).exit_code == 0  # then it can


def test_a_workspace_whose_audit_log_is_damaged_is_not_copied(ws, cf, pg_database):
    from .test_register import new_case

    new_case(cf, FULL_CASE)
    segment = next((ws.root / "records" / "audit").glob("*.jsonl"))
    segment.write_text(
        segment.read_text(encoding="utf-8").replace("吴芳", "吴芬"), encoding="utf-8"
    )
    result = cf("db", "copy", "--to", pg_database)
    assert result.exit_code == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert "problem(s), e.g." in result.stderr and "nothing was copied" in result.stderr
    with sql(pg_database) as conn:  # not even the schema
        assert conn.execute("SELECT to_regclass('records')").fetchone()[0] is None


def test_a_postgresql_workspace_is_copied_into_another_database(source, copied, pg_database):
    root, dsn, _ = copied
    result = run(root, "db", "copy", "--to", pg_database, dsn=dsn)
    assert result.exit_code == 0, result.stderr
    a, b = PostgresStore(dsn, migrate=False), PostgresStore(pg_database, migrate=False)
    try:
        assert contents(a) == contents(b)
    finally:
        a.close()
        b.close()
    own = run(root, "db", "copy", "--to", dsn, dsn=dsn)
    assert own.exit_code == 1 and "the workspace's own database" in own.stderr


# -- db init -----------------------------------------------------------------------------------------
def test_db_init_makes_the_schema_then_has_nothing_to_do(source, pg_database, tmp_path):
    root = postgres_workspace(source, tmp_path / "ws")
    first = run(root, "db", "init", dsn=pg_database)
    assert first.exit_code == 0, first.stderr
    every = ", ".join(str(v) for v in range(1, SCHEMA_VERSION + 1))
    assert f"schema version {every} applied" in first.stdout
    again = run_json(root, "db", "init", dsn=pg_database)
    assert again["applied"] == [] and again["version"] == SCHEMA_VERSION
    text = run(root, "db", "init", dsn=pg_database)
    assert text.exit_code == 0 and "the schema is current" in text.stdout
    assert "nothing to do" in text.stdout


def test_db_init_names_the_versions_as_chinese_lists_them(source, pg_database, tmp_path):
    root = postgres_workspace(source, tmp_path / "ws")
    result = run_cli(
        "-w", str(root), "db", "init", env={DSN_VAR: pg_database, "COMPLAINTFORMS_LANG": "zh-CN"}
    )
    assert result.returncode == 0, result.stderr
    every = "、".join(str(v) for v in range(1, SCHEMA_VERSION + 1))
    assert f"已应用第 {every} 版数据库结构" in result.stdout


def test_db_init_on_a_tinydb_workspace_has_nothing_to_do(cf):
    result = cf("db", "init")
    assert result.exit_code == 0 and "nothing to do" in result.stdout
    assert cf.json("db", "init")["backend"] == "tinydb"


# -- db check ----------------------------------------------------------------------------------------
def test_db_check_of_a_good_store_either_backend(source, copied):
    root, dsn, _ = copied
    tiny = run_json(source, "db", "check")
    pg = run_json(root, "db", "check", dsn=dsn)
    for result in (tiny, pg):
        assert result["ok"] and result["problems"] == []
        assert result["events"] == TinyDBStore(source / "records").audit_head()["seq"]
    assert tiny["backend"] == "tinydb" and pg["backend"] == "postgresql"
    assert pg["schema"] == SCHEMA_VERSION
    text = run(root, "db", "check", dsn=dsn)
    assert text.exit_code == 0 and "no problems" in text.stdout


def test_db_check_reports_tampering_in_the_database(source, pg_database, tmp_path):
    assert run(source, "db", "copy", "--to", pg_database).exit_code == 0
    root = postgres_workspace(source, tmp_path / "ws")
    with sql(pg_database) as conn:
        conn.execute("ALTER TABLE audit DISABLE TRIGGER audit_append_only")
        conn.execute(
            "UPDATE records SET body = replace(body::text, '\"archived\"', '\"registered\"')::json"
            " WHERE collection = 'cases' AND status = 'archived'"
        )
        conn.execute(
            "UPDATE audit SET body = (body::jsonb || jsonb_build_object('by', '别人'))::json"
            " WHERE seq = 1"
        )
    result = run(root, "db", "check", dsn=pg_database)
    assert result.exit_code == 1
    lines = result.stdout.strip().splitlines()
    assert (
        "the audit log is not protected: trigger audit_append_only is missing or disabled" in lines
    )
    assert any("counts by status disagree" in line for line in lines)
    assert "event 1: event 1 was altered (hash mismatch)" in lines
    assert len(lines) == len(set(lines))  # the disabled trigger once, not from both checks
    assert "3 problem(s) found" in result.stderr
    as_json = run(root, "--json", "db", "check", dsn=pg_database)
    assert as_json.exit_code == 1 and json.loads(as_json.stdout)["problems"] == lines
    # In the user's language (Message.render).
    zh = run(root, "db", "check", dsn=pg_database, env={"COMPLAINTFORMS_LANG": "zh-CN"})
    assert "审计日志未受保护：触发器 audit_append_only 缺失或已停用" in zh.stdout
    # doctor says the same.
    assert run(root, "doctor", dsn=pg_database).exit_code == 1


def test_db_check_reports_a_database_without_the_schema_and_does_not_make_it(
    source, pg_database, tmp_path
):
    root = postgres_workspace(source, tmp_path / "ws")
    result = run(root, "db", "check", dsn=pg_database)
    assert result.exit_code == 1
    assert "the database schema is version 0" in result.stdout and "db init" in result.stdout
    with sql(pg_database) as conn:
        assert conn.execute("SELECT to_regclass('records')").fetchone()[0] is None


def test_db_check_reports_a_damaged_tinydb_audit_log(ws, cf):
    from .test_register import new_case

    new_case(cf, FULL_CASE)
    assert cf("db", "check").exit_code == 0
    segment = next((ws.root / "records" / "audit").glob("*.jsonl"))
    segment.write_text(
        segment.read_text(encoding="utf-8").replace("吴芳", "吴芬"), encoding="utf-8"
    )
    result = cf("db", "check")
    assert result.exit_code == 1 and "was altered (hash mismatch)" in result.stdout


# -- the configuration --------------------------------------------------------------------------------
def test_a_postgresql_backend_without_a_dsn_is_one_line_exit_1(source, tmp_path):
    root = postgres_workspace(source, tmp_path / "ws")
    for command in (("db", "init"), ("db", "check"), ("db", "copy", "--to", "dbname=x")):
        result = run(root, *command)
        assert result.exit_code == 1, command
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "storage.backend is postgresql but no dsn" in lines[0]


def test_an_unknown_backend_is_refused_naming_storage_backend(cf, ws):
    config = ws.config_path.read_text(encoding="utf-8")
    ws.config_path.write_text(config + "\nstorage:\n  backend: oracle\n", encoding="utf-8")
    for command in (("db", "init"), ("db", "check")):
        result = cf(*command)
        assert result.exit_code == 1
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "storage.backend" in lines[0] and "oracle" in lines[0]


# -- what the store interface gained for the copy ----------------------------------------------------
@pytest.mark.parametrize("backend", ["memory", "tinydb", "postgresql"])
def test_every_store_lists_its_counters_and_sets_its_document_serial(backend, tmp_path, request):
    from complaintforms.storage.memory import MemoryStore

    if backend == "memory":
        store = MemoryStore()
    elif backend == "tinydb":
        store = TinyDBStore(tmp_path / "records")
    else:
        store = PostgresStore(request.getfixturevalue("pg_database"), tmp_path / "records")
    assert store.counter_values() == {} and store.document_serial() == 0
    with store.transaction() as txn:
        txn.next_seq("2026")
        txn.bump_seq("OP-2026", 7)
        txn.next_doc_serial()
        txn.bump_doc_serial(41)
        txn.bump_doc_serial(3)  # never back
        assert txn.current_doc_serial() == 41
    assert store.counter_values() == {"2026": 1, "OP-2026": 7}
    assert store.document_serial() == 41
    with store.transaction() as txn:
        assert txn.next_doc_serial() == 42
    if backend == "postgresql":
        store.close()
