"""One contract every storage backend passes (DESIGN.md section 10): records, counters,
files, transactions that are all or nothing, the audit chain. The PostgreSQL backend joins
the parameter list when it exists."""

from __future__ import annotations

import threading

import pytest

from complaintforms.errors import NotFoundError, StorageError
from complaintforms.storage.memory import MemoryStore
from complaintforms.storage.tinydb import TinyDBStore


@pytest.fixture(params=["tinydb", "memory"])
def opener(request, tmp_path):
    """A function giving a handle on one store: a new one each call for backends that several
    processes share (as another process would open it), the same object for memory."""
    if request.param == "tinydb":
        return lambda: TinyDBStore(tmp_path / "records")
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
    assert forms == {"record_card", "feedback_slip", "closing_form"}
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
