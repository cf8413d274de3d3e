"""One contract every storage backend passes (DESIGN.md section 10): records, counters,
files, transactions that are all or nothing, the audit chain. The PostgreSQL backend runs
on a database of its own for each test, in a throwaway server (tests/pg.py)."""

from __future__ import annotations

import threading

import pytest

from complaintforms.errors import NotFoundError, StorageError
from complaintforms.storage.memory import MemoryStore
from complaintforms.storage.tinydb import TinyDBStore


@pytest.fixture(params=["tinydb", "memory", "postgresql"])
def opener(request, tmp_path):
    """A function giving a handle on one store: a new one each call for backends that several
    processes share (as another process would open it), the same object for memory."""
    if request.param == "tinydb":
        return lambda: TinyDBStore(tmp_path / "records")
    if request.param == "postgresql":
        from complaintforms.storage.postgresql import PostgresStore

        dsn = request.getfixturevalue("pg_database")  # a new database (tests/pg.py)
        opened: list[PostgresStore] = []

        def open_postgres() -> PostgresStore:
            opened.append(PostgresStore(dsn, tmp_path / "records"))
            return opened[-1]

        def close_all() -> None:
            for store in opened:
                store.close()

        request.addfinalizer(close_all)
        return open_postgres
    shared = MemoryStore()
    return lambda: shared


@pytest.fixture
def store(opener):
    return opener()


def case(n: int, month: str = "2026-11", status: str = "registered") -> dict:
    return {
        "case_no": f"TS-2026-{n:06d}",
        "received_at": f"{month}-16T09:30:00+08:00",
        "recorded_at": f"{month}-16T09:31:00+08:00",
        "status": status,
        "content": f"内容 {n}",
    }


def test_records_round_trip_and_keys_are_unique(store):
    with store.transaction() as txn:
        txn.insert(case(1))
        assert txn.exists("TS-2026-000001") and not txn.exists("TS-2026-000002")
        assert txn.get("TS-2026-000001")["content"] == "内容 1"
    assert store.get("TS-2026-000001") == case(1)
    with pytest.raises(StorageError), store.transaction() as txn:
        txn.insert(case(1))
    with pytest.raises(NotFoundError):
        store.get("TS-2026-000009")
    with pytest.raises(NotFoundError), store.transaction() as txn:
        txn.replace(case(9))
    assert store.count() == 1


def test_replace_and_read_by_month_and_status(store):
    with store.transaction() as txn:
        txn.insert(case(1, "2026-10", "closed"))
        txn.insert(case(2, "2026-11"))
        txn.insert(case(3, "2026-10"))
        txn.insert({"id": "OP-2026-0001", "received_at": "2026-10-01T09:00:00+08:00"}, "opinions")
    with store.transaction() as txn:
        txn.replace({**case(3, "2026-10"), "status": "assigned"})
    assert [c["case_no"] for c in store.iter_records()] == [
        "TS-2026-000001",
        "TS-2026-000003",
        "TS-2026-000002",
    ]
    assert [c["case_no"] for c in store.iter_records(months=["2026-11"])] == ["TS-2026-000002"]
    open_ = [c["case_no"] for c in store.iter_records(statuses=["registered", "assigned"])]
    assert "TS-2026-000002" in open_ and "TS-2026-000003" in open_
    assert [o["id"] for o in store.iter_records("opinions")] == ["OP-2026-0001"]
    assert store.get("OP-2026-0001", "opinions")["id"] == "OP-2026-0001"
    assert store.count() == 3 and store.count("opinions") == 1


def test_counters_and_document_serials(store):
    with store.transaction() as txn:
        assert [txn.next_seq("2026"), txn.next_seq("2026"), txn.next_seq("2025")] == [1, 2, 1]
        assert txn.current_seq("2026") == 2 and txn.current_seq("2027") == 0
        txn.bump_seq("2026", 10)
        txn.bump_seq("2026", 5)  # never backwards
        assert txn.next_doc_serial() == 1 and txn.current_doc_serial() == 1
    with store.transaction() as txn:  # a transaction of counters alone is kept
        assert txn.next_seq("2026") == 11
        assert txn.next_doc_serial() == 2
    with store.transaction() as txn:
        assert txn.current_seq("2026") == 11 and txn.current_doc_serial() == 2


def test_a_transaction_that_raises_changes_nothing(store):
    with store.transaction() as txn:
        txn.insert(case(1))
        txn.put_file("documents/2026/a.pdf", b"old")
        txn.log("case.new", "吴芳", "TS-2026-000001", at="2026-11-16T09:31:00+08:00")
    head = store.audit_head()
    with pytest.raises(RuntimeError), store.transaction() as txn:
        txn.replace({**case(1), "status": "assigned"})
        txn.insert(case(2))
        txn.next_seq("2026")
        txn.next_doc_serial()
        txn.put_file("documents/2026/a.pdf", b"new")
        txn.put_file("documents/2026/b.pdf", b"b")
        txn.delete_file("documents/2026/a.pdf")
        txn.log("case.accept", "吴芳", "TS-2026-000001", at="2026-11-16T10:00:00+08:00")
        raise RuntimeError("killed")
    assert store.get("TS-2026-000001")["status"] == "registered"
    assert store.count() == 1
    assert store.read_file("documents/2026/a.pdf") == b"old"
    assert not store.file_exists("documents/2026/b.pdf")
    assert store.audit_head() == head and store.verify_audit() == []
    with store.transaction() as txn:
        assert txn.current_seq("2026") == 0 and txn.current_doc_serial() == 0


def test_files(store):
    with store.transaction() as txn:
        txn.put_file("documents/2026/TS-2026-000001/record_card-000001.pdf", b"%PDF card")
        assert txn.read_file("documents/2026/TS-2026-000001/record_card-000001.pdf") == b"%PDF card"
        txn.put_file("archive/2026/Q4/TS-2026-000001.zip", b"zip")
        txn.write_json("archive/holds.json", {"TS-2026-000001": {"by": "赵敏"}})
        assert txn.read_json("archive/holds.json") == {"TS-2026-000001": {"by": "赵敏"}}
        assert txn.read_file("nothing/here.txt") is None
    assert store.read_file("documents/2026/TS-2026-000001/record_card-000001.pdf") == b"%PDF card"
    assert store.file_exists("archive/2026/Q4/TS-2026-000001.zip")
    assert store.list_files("archive") == [
        "archive/2026/Q4/TS-2026-000001.zip",
        "archive/holds.json",
    ]
    local = store.local_path("archive/2026/Q4/TS-2026-000001.zip")
    assert local.read_bytes() == b"zip"
    with store.transaction() as txn:
        txn.delete_file("archive/2026/Q4/TS-2026-000001.zip")
        assert txn.read_file("archive/2026/Q4/TS-2026-000001.zip") is None
    assert not store.file_exists("archive/2026/Q4/TS-2026-000001.zip")
    with pytest.raises(NotFoundError):
        store.read_file("archive/2026/Q4/TS-2026-000001.zip")
    with store.scratch() as folder:
        (folder / "x").write_text("scratch")
        assert folder.is_dir()
    assert not folder.exists()


def test_the_audit_log_is_a_chain_and_history_is_per_record(store):
    with store.transaction() as txn:
        txn.insert(case(1))
        txn.insert(case(2))
        first = txn.log(
            "case.new", "吴芳", "TS-2026-000001", at="2026-11-16T09:31:00+08:00", after=case(1)
        )
        txn.log("case.new", "吴芳", "TS-2026-000002", at="2026-11-16T09:32:00+08:00")
    with store.transaction() as txn:
        third = txn.log(
            "case.accept",
            "吴芳",
            "TS-2026-000001",
            at="2026-11-16T10:00:00+08:00",
            before={"status": "registered"},
            after={"status": "assigned"},
            note="附加",
        )
    assert third["seq"] == 3 and third["prev"] != first["hash"]
    assert store.audit_head() == {"seq": 3, "hash": third["hash"]}
    history = store.history("TS-2026-000001")
    assert [e["action"] for e in history] == ["case.new", "case.accept"]
    assert history[1]["note"] == "附加" and history[1]["before"] == {"status": "registered"}
    assert [e["seq"] for e in store.iter_events()] == [1, 2, 3]
    assert store.verify_audit() == []
    assert store.check()[0] == []


def test_concurrent_transactions_never_hand_out_a_number_twice(opener):
    taken: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        store = opener()
        try:
            for _ in range(10):
                with store.transaction() as txn:
                    taken.append(txn.next_seq("2026"))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(taken) == list(range(1, 61))


def test_the_whole_procedure_runs_on_the_memory_store(tmp_path):
    """A second store fits: the library, unchanged, on the in-memory backend, with nothing
    written under records/."""
    import shutil

    from complaintforms.services import archive
    from complaintforms.services import procedure as p
    from complaintforms.services.cases import register_case
    from complaintforms.services.reports import build_report
    from complaintforms.workspace import Workspace, init_workspace

    from .test_register import FULL_CASE

    root = init_workspace(tmp_path / "ws").root
    shutil.rmtree(root / "records")
    (root / "records").mkdir()
    memory = MemoryStore()
    ws = Workspace(root, store=memory)
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

    case = memory.get(case_no)
    assert case["status"] == "archived"
    forms = {d["form"] for d in case["documents"]}
    # FULL_CASE is major (重大): its report goes up the line at registration.
    assert forms == {"record_card", "major_report", "feedback_slip", "closing_form"}
    pdf = slip.documents[0]["path"].removeprefix("records/")
    assert memory.read_file(pdf).startswith(b"%PDF")
    assert memory.file_exists(built.bundles[0]["bundle"].removeprefix("records/"))
    assert {f["format"] for f in report["files"]} == {"pdf", "docx", "csv"}
    assert [e["action"] for e in memory.history(case_no)][:3] == [
        "case.new",
        "case.accept",
        "slip.issue",
    ]
    assert memory.verify_audit() == []
    assert list((root / "records").iterdir()) == []  # nothing went to the TinyDB files


def test_several_records_at_once(store):
    with store.transaction() as txn:
        for n, month in ((1, "2026-10"), (2, "2026-11"), (3, "2026-10")):
            txn.insert(case(n, month))
    got = store.get_many(["TS-2026-000003", "TS-2026-000001", "TS-2026-000002"])
    assert [c["case_no"] for c in got] == ["TS-2026-000003", "TS-2026-000001", "TS-2026-000002"]
    with pytest.raises(NotFoundError):
        store.get_many(["TS-2026-000001", "TS-2026-000009"])


# -- the lookup index (issue 13: a customer who calls is found by phone or name) -------------
def caller(n: int, phone: str | None, name: str | None, month: str = "2026-11") -> dict:
    return {**case(n, month), "complainant": {"name": name, "phone": phone}}


def found(store, **query) -> list[str]:
    return [c["case_no"] for c in store.find_cases(**query)]


def test_cases_are_found_by_phone_however_written_and_by_name(store):
    with store.transaction() as txn:
        txn.insert(caller(1, "138 1234 5678", "王小明", "2026-11"))
        txn.insert(caller(2, "+86 13812345678", "王小明", "2026-10"))
        txn.insert(caller(3, "0571-8888 6666", "Li Lei"))
        txn.insert(caller(4, None, None))  # anonymous, no phone: found by neither
        txn.insert({"id": "OP-2026-0001", "received_at": "2026-11-01T09:00:00+08:00"}, "opinions")
    # Oldest month first, as iter_records gives them.
    for typed in ("13812345678", "138-1234-5678", "+86 138 1234 5678", "008613812345678", "5678"):
        assert found(store, phone=typed) == ["TS-2026-000002", "TS-2026-000001"], typed
    assert found(store, phone="88886666") == ["TS-2026-000003"]
    assert found(store, phone="+86 571 8888 6666") == ["TS-2026-000003"]  # the trunk 0 aside
    assert found(store, phone="13812345679") == [] and found(store, phone="1234") == []
    assert found(store, name="小明") == ["TS-2026-000002", "TS-2026-000001"]
    assert found(store, name="li lei") == ["TS-2026-000003"]  # Latin in any case
    assert found(store, phone="5678", name="王") == ["TS-2026-000002", "TS-2026-000001"]
    assert found(store, phone="5678", name="李") == []
    assert len(found(store)) == 4  # nothing asked: every case
    assert store.check()[0] == []


def test_the_lookup_index_follows_a_replace_and_a_discarded_transaction(store):
    with store.transaction() as txn:
        txn.insert(caller(1, "13812345678", "王小明"))
        txn.insert(caller(2, "13812345678", "王小明"))
    with store.transaction() as txn:  # the number and the name corrected (case amend)
        txn.replace(caller(1, "13900001111", "王晓明"))
    assert found(store, phone="13812345678") == ["TS-2026-000002"]
    assert found(store, phone="1111") == ["TS-2026-000001"]
    assert found(store, name="晓明") == ["TS-2026-000001"]
    with store.transaction() as txn:  # a step that leaves the complainant as it is
        txn.replace({**caller(2, "13812345678", "王小明"), "status": "assigned"})
    assert found(store, phone="5678") == ["TS-2026-000002"]
    assert store.get("TS-2026-000002")["status"] == "assigned"
    with pytest.raises(RuntimeError), store.transaction() as txn:
        txn.insert(caller(3, "13812345678", "王小明"))
        txn.replace(caller(2, None, None))
        raise RuntimeError("killed")
    assert found(store, phone="5678") == ["TS-2026-000002"]
    with store.transaction() as txn:  # the phone and name removed: found by neither
        txn.replace(caller(2, None, None))
    assert found(store, phone="5678") == [] and found(store, name="王") == ["TS-2026-000001"]
    assert store.check()[0] == []


def test_the_lookup_index_answers_as_a_reading_of_every_case_would(store):
    """The backend's index against the interface's own reading of every record (the
    default find_cases), on many numbers sharing their last digits."""
    import random

    from complaintforms.storage.base import Store

    rnd = random.Random(13)
    phones = [f"1{rnd.randrange(30, 99)}{rnd.randrange(10**8):08d}" for _ in range(12)]
    names = ["王小明", "王晓明", "李雷", "Han Meimei", None]
    with store.transaction() as txn:
        for n in range(1, 121):
            phone = rnd.choice(phones)
            written = rnd.choice([phone, f"+86 {phone}", f"{phone[:3]} {phone[3:7]} {phone[7:]}"])
            txn.insert(caller(n, written, rnd.choice(names), f"2026-{rnd.randrange(1, 13):02d}"))
    with store.transaction() as txn:
        for n in range(1, 121, 7):
            txn.replace(caller(n, rnd.choice(phones), rnd.choice(names), "2026-01"))
    queries = [{"phone": p[-k:]} for p in phones[:4] for k in (4, 7, 11)]
    queries += [{"name": "明"}, {"name": "HAN"}, {"phone": phones[0], "name": "王"}]
    for query in queries:
        assert found(store, **query) == [c["case_no"] for c in Store.find_cases(store, **query)]
    assert store.check()[0] == []


def test_a_record_whose_month_is_corrected_is_found_in_its_new_month(store):
    with store.transaction() as txn:
        txn.insert(case(1, "2026-10"))
        txn.insert(case(2, "2026-10", "assigned"))
    with store.transaction() as txn:
        txn.replace({**case(1, "2026-11"), "content": "更正"})
    assert [c["case_no"] for c in store.iter_records(months=["2026-11"])] == ["TS-2026-000001"]
    assert [c["case_no"] for c in store.iter_records(months=["2026-10"])] == ["TS-2026-000002"]
    assert store.get("TS-2026-000001")["content"] == "更正"
    # `statuses` narrows the months read (the counts follow the move), not the records.
    assert "TS-2026-000001" in [c["case_no"] for c in store.iter_records(statuses=["registered"])]
    assert store.count() == 2


def test_users_sessions_and_tokens_are_collections_of_their_own(store):
    with store.transaction() as txn:
        txn.insert({"name": "wufang", "role": "clerk"}, collection="users")
        txn.insert(
            {"id": "a" * 64, "user": "wufang", "created_at": "2026-12-01T09:00:00+08:00"},
            collection="sessions",
        )
        txn.insert({"id": "b" * 64, "user": "wufang"}, collection="tokens")
    assert store.get("wufang", "users")["role"] == "clerk"
    assert store.get("a" * 64, "sessions")["user"] == "wufang"
    assert [u["name"] for u in store.iter_records("users")] == ["wufang"]
    assert store.count("cases") == 0 and store.count("tokens") == 1
    with store.transaction() as txn:
        txn.replace({"name": "wufang", "role": "manager"}, collection="users")
    assert store.get("wufang", "users")["role"] == "manager"


def test_a_scratch_folder_outlives_other_transactions(store):
    with store.scratch() as tmp:
        (tmp / "part.pdf").write_bytes(b"%PDF-")
        with store.transaction() as txn:  # another request's step meanwhile
            txn.insert(case(1))
        assert (tmp / "part.pdf").read_bytes() == b"%PDF-"
    assert not tmp.exists()


def test_the_months_that_hold_records(store):
    assert store.months() == []
    with store.transaction() as txn:
        txn.insert(case(1, "2026-09"))
        txn.insert(case(2, "2026-11"))
    assert store.months() == ["2026-09", "2026-11"]
    with store.transaction() as txn:
        txn.replace(case(1, "2026-10"))
    assert store.months() == ["2026-10", "2026-11"]


def test_a_months_cases_newest_received_first(store):
    late = {**case(3, "2026-11"), "received_at": "2026-11-02T09:00:00+08:00"}  # entered last
    with store.transaction() as txn:
        txn.insert(case(1, "2026-11"))
        txn.insert({**case(2, "2026-11", "closed"), "received_at": "2026-11-20T09:00:00+08:00"})
        txn.insert(late)
        txn.insert(case(4, "2026-10"))
    newest = [c["case_no"] for c in store.iter_newest("2026-11")]
    assert newest == ["TS-2026-000002", "TS-2026-000001", "TS-2026-000003"]
    open_ = [c["case_no"] for c in store.iter_newest("2026-11", ["registered"])]
    assert open_ == ["TS-2026-000001", "TS-2026-000003"]
    assert list(store.iter_newest("2026-09")) == []
