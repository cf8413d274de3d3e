"""Safe storage: concurrent writers, killed processes, interrupted commits, a tamper-evident log."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from complaintforms.storage.tinydb import TinyDBStore as CaseStore
from complaintforms.workspace import Workspace

from .conftest import run_cli
from .test_register import FULL_CASE


def test_twelve_processes_get_twelve_distinct_numbers(ws, tmp_path):
    payload = tmp_path / "case.json"
    payload.write_text(json.dumps(FULL_CASE, ensure_ascii=False), encoding="utf-8")
    exe = Path(sys.executable).parent / "complaintforms"
    procs = [
        subprocess.Popen(
            [str(exe), "--workspace", str(ws.root), "case", "new", "--from", str(payload)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(12)
    ]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1] for o in outputs]
    numbers = [out.splitlines()[0] for out, _ in outputs]
    assert len(set(numbers)) == 12
    stored = run_cli("--workspace", str(ws.root), "--json", "case", "list")
    assert sorted(c["case_no"] for c in json.loads(stored.stdout)) == sorted(numbers)
    assert ws.store.verify_audit() == []
    for case_no in numbers:  # every case has its own record card
        shown = ws.store.get(case_no)
        assert all((ws.root / d["path"]).exists() for d in shown["documents"])


def ledger(n: int) -> list[dict]:
    return [
        {
            **FULL_CASE,
            "content": f"历史投诉 {i}",
            "received_at": f"2025-{(i % 12) + 1:02d}-10T10:00:00+08:00",
        }
        for i in range(n)
    ]


@pytest.mark.parametrize("delay", [0.5, 1.5, 3.0, 4.5])
def test_kill_9_during_a_large_import_leaves_a_working_store(ws, tmp_path, delay):
    source = tmp_path / "ledger.json"
    source.write_text(json.dumps(ledger(12000), ensure_ascii=False), encoding="utf-8")
    exe = Path(sys.executable).parent / "complaintforms"
    proc = subprocess.Popen(
        [str(exe), "--workspace", str(ws.root), "case", "import", str(source)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # The store opens, holds all of the import or none of it, and takes writes.
    count = len(json.loads(run_cli("--workspace", str(ws.root), "--json", "case", "list").stdout))
    assert count in (0, 12000)
    result = subprocess.run(
        [str(exe), "--workspace", str(ws.root), "case", "new", "--from", "-"],
        input=json.dumps(FULL_CASE, ensure_ascii=False),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    store = CaseStore(ws.records_dir)
    assert store.count() == count + 1
    assert store.verify_audit() == []
    assert not store.journal_path.exists()
    assert not any(store.tmp_dir.iterdir())


class Crash(Exception):
    pass


def test_a_commit_interrupted_after_its_journal_is_completed_by_the_next_opener(ws, monkeypatch):
    from complaintforms.services.cases import register_case
    from complaintforms.storage import tinydb as storage

    register_case(ws, dict(FULL_CASE), render=False)
    real_replace = os.replace
    calls = {"n": 0}

    def dying_replace(src, dst):
        calls["n"] += 1
        if calls["n"] == 2 and str(src).startswith(str(ws.records_dir / ".tmp")):
            raise Crash("power cut")
        return real_replace(src, dst)

    monkeypatch.setattr(storage.os, "replace", dying_replace)
    with pytest.raises(Crash):
        register_case(ws, dict(FULL_CASE), render=False)
    monkeypatch.setattr(storage.os, "replace", real_replace)
    assert ws.store.journal_path.exists()
    # A reader finishes the commit before reading.
    fresh = Workspace.open(ws.root)
    assert [c["case_no"] for c in fresh.store.iter_records()] == [
        "TS-2026-000001",
        "TS-2026-000002",
    ]
    assert not fresh.store.journal_path.exists()
    assert fresh.store.verify_audit() == []


def test_a_commit_that_fails_before_its_journal_leaves_nothing(ws, monkeypatch):
    from complaintforms.services.cases import register_case
    from complaintforms.storage import tinydb as storage

    register_case(ws, dict(FULL_CASE), render=False)
    before = (ws.records_dir / "index.json").read_bytes()

    def failing_atomic_write(path, data):
        raise Crash("disk full")

    monkeypatch.setattr(storage, "atomic_write", failing_atomic_write)
    with pytest.raises(Crash):
        register_case(ws, dict(FULL_CASE), render=False)
    monkeypatch.undo()
    fresh = Workspace.open(ws.root)
    assert fresh.store.count() == 1
    assert (ws.records_dir / "index.json").read_bytes() == before
    register_case(fresh, dict(FULL_CASE), render=False)  # the number was not burnt... nor reused
    assert [c["case_no"] for c in fresh.store.iter_records()] == [
        "TS-2026-000001",
        "TS-2026-000002",
    ]


def _events(ws):
    return sorted(ws.records_dir.glob("audit/*.jsonl"))


def test_altered_audit_event_is_detected(ws, cf):
    for _ in range(3):
        cf("case", "new", "--from", "-", input=json.dumps(FULL_CASE, ensure_ascii=False))
    segment = _events(ws)[0]
    lines = segment.read_text(encoding="utf-8").splitlines()
    event = json.loads(lines[1])
    event["by"] = "someone else"
    lines[1] = json.dumps(event, ensure_ascii=False)
    segment.write_text("\n".join(lines) + "\n", encoding="utf-8")
    problems = ws.store.verify_audit()
    assert any("event 2 was altered" in p for p in problems)
    result = cf("doctor")
    assert result.exit_code == 1 and "audit-log" in result.stdout


def test_deleted_audit_events_are_detected(ws, cf):
    for _ in range(3):
        cf("case", "new", "--from", "-", input=json.dumps(FULL_CASE, ensure_ascii=False))
    segment = _events(ws)[0]
    lines = segment.read_text(encoding="utf-8").splitlines()
    segment.write_text("\n".join([lines[0], lines[2]]) + "\n", encoding="utf-8")
    assert any("missing or inserted" in p for p in ws.store.verify_audit())
    segment.write_text("\n".join(lines[:2]) + "\n", encoding="utf-8")  # the last one removed
    assert any("events were removed" in p for p in ws.store.verify_audit())


def test_threads_sharing_a_workspace_do_not_lose_writes(ws):
    from complaintforms.services.cases import register_case

    def one(_):
        return register_case(Workspace.open(ws.root), dict(FULL_CASE), render=False)["case_no"]

    with ThreadPoolExecutor(6) as pool:
        numbers = list(pool.map(one, range(18)))
    assert len(set(numbers)) == 18
    assert ws.store.count() == 18


def test_partitions_open_with_plain_tinydb(ws, cf):
    from tinydb import TinyDB

    from complaintforms.storage.tinydb import OrjsonStorage

    cf("case", "new", "--from", "-", input=json.dumps(FULL_CASE, ensure_ascii=False))
    db = TinyDB(ws.records_dir / "cases" / "2026-11.json", storage=OrjsonStorage)
    assert [d["case_no"] for d in db.table("cases").all()] == ["TS-2026-000001"]


def test_the_index_is_sharded_and_a_lookup_reads_one_shard(ws):
    from complaintforms.services.cases import register_case
    from complaintforms.storage.tinydb import shard_rel

    made = [register_case(ws, dict(FULL_CASE), render=False)["case_no"] for _ in range(3)]
    index = json.loads((ws.records_dir / "index.json").read_text())
    assert index["format"] == 2 and "cases" not in index
    for case_no in made:
        shard = json.loads((ws.records_dir / shard_rel("cases", case_no)).read_text())
        assert shard[case_no][0] == "2026-11"
        assert ws.store.get(case_no)["case_no"] == case_no
    assert ws.store.count() == 3


def test_a_single_index_workspace_is_read_and_upgraded_by_its_next_write(ws):
    import shutil

    from complaintforms.services.cases import register_case
    from complaintforms.services.doctor import check_database

    made = [register_case(ws, dict(FULL_CASE), render=False)["case_no"] for _ in range(2)]
    # Turn the records back into format 1: one index holding every number.
    index_path = ws.records_dir / "index.json"
    index = json.loads(index_path.read_text())
    cases = dict(ws.store.iter_index())
    shutil.rmtree(ws.records_dir / "index")
    del index["shards"]
    index_path.write_text(json.dumps({**index, "format": 1, "cases": cases, "opinions": {}}))

    fresh = Workspace.open(ws.root)
    assert fresh.store.get(made[1])["case_no"] == made[1]
    assert fresh.store.count() == 2
    third = register_case(fresh, dict(FULL_CASE), render=False)["case_no"]
    assert third == "TS-2026-000003"  # the counters came across
    index = json.loads(index_path.read_text())
    assert index["format"] == 2 and "cases" not in index
    assert sorted(c for c, _ in fresh.store.iter_index()) == sorted([*made, third])
    assert check_database(fresh).ok and fresh.store.verify_audit() == []


def test_overdue_listing_reads_only_months_with_open_cases(ws, monkeypatch):
    from complaintforms.services.cases import CaseFilter, list_cases, register_case
    from complaintforms.services.doctor import check_database
    from complaintforms.services.procedure import accept_case, reject_case

    old = [
        register_case(
            ws, {**FULL_CASE, "received_at": f"2026-0{m}-10T10:00:00+08:00"}, render=False
        )["case_no"]
        for m in (3, 4, 5)
    ]
    accept_case(ws, old[0], by="吴芳", department="SVC")  # open: assigned, long overdue
    reject_case(ws, old[1], by="吴芳", reason="非本公司业务")  # closed
    counts = json.loads((ws.records_dir / "index.json").read_text())["counts"]["cases"]
    assert counts == {
        "2026-03": {"assigned": 1},
        "2026-04": {"rejected": 1},
        "2026-05": {"registered": 1},
    }
    assert check_database(ws).ok

    read: list[str] = []
    real = ws.store._partition
    monkeypatch.setattr(
        ws.store,
        "_partition",
        lambda key, collection="cases": read.append(key) or real(key, collection),
    )
    overdue = [c["case_no"] for c in list_cases(ws, CaseFilter(overdue=True))]
    assert overdue == [old[0], old[2]]
    assert read == ["2026-03", "2026-05"]  # April holds only a rejected case

    # A damaged count is reported, never trusted silently by doctor.
    index = json.loads((ws.records_dir / "index.json").read_text())
    index["counts"]["cases"]["2026-04"] = {"registered": 1}
    (ws.records_dir / "index.json").write_text(json.dumps(index))
    assert not check_database(ws).ok


def _case(n: int, month: str) -> dict:
    return {
        "case_no": f"TS-2026-{n:06d}",
        "received_at": f"{month}-16T09:30:00+08:00",
        "recorded_at": f"{month}-16T09:31:00+08:00",
        "status": "registered",
    }


def test_history_reads_a_cases_own_lines_through_its_index(tmp_path):
    from complaintforms.storage.tinydb import has_history

    store = CaseStore(tmp_path / "records")
    with store.transaction() as txn:
        txn.insert(_case(1, "2026-09"))
        txn.log("case.new", "吴芳", "TS-2026-000001", at="2026-09-16T09:31:00+08:00")
        txn.insert(_case(2, "2026-09"))
        txn.log("case.new", "吴芳", "TS-2026-000002", at="2026-09-16T09:32:00+08:00")
    for n in range(3):  # later months' events, of both cases and of none
        with store.transaction() as txn:
            txn.log("case.view", "赵敏", "TS-2026-000001", at=f"2026-1{n}-01T09:00:00+08:00")
            txn.log("user.login", "赵敏", None, at=f"2026-1{n}-01T09:00:01+08:00")
            txn.log("case.view", "赵敏", "TS-2026-000002", at=f"2026-1{n}-01T09:00:02+08:00")
    assert has_history(store.read_index())
    first = store.history("TS-2026-000001")
    assert [e["action"] for e in first] == ["case.new", "case.view", "case.view", "case.view"]
    assert {e["case"] for e in first} == {"TS-2026-000001"}
    scanned = [e for e in store.iter_events() if e["case"] == "TS-2026-000001"]
    assert first == scanned
    # A month's log with no event of case 2 may be unreadable: its history never reads it.
    (tmp_path / "records" / "audit" / "2026-08.jsonl").write_bytes(b"not json\n")
    assert len(store.history("TS-2026-000002")) == 4


def test_a_store_made_before_the_history_index_builds_it_at_its_next_write(tmp_path):
    import orjson

    from complaintforms.storage.tinydb import has_history

    store = CaseStore(tmp_path / "records")
    with store.transaction() as txn:
        txn.insert(_case(1, "2026-09"))
        txn.log("case.new", "吴芳", "TS-2026-000001", at="2026-09-16T09:31:00+08:00")
        txn.log("case.accept", "吴芳", "TS-2026-000001", at="2026-10-01T09:31:00+08:00")
    index_path = tmp_path / "records" / "index.json"
    old = orjson.loads(index_path.read_bytes())
    old.pop("history")
    index_path.write_bytes(orjson.dumps(old))
    for shard in (tmp_path / "records" / "index").glob("history-*.json"):
        shard.unlink()
    assert [e["action"] for e in store.history("TS-2026-000001")] == ["case.new", "case.accept"]
    with store.transaction() as txn:
        txn.log("case.view", "赵敏", "TS-2026-000001", at="2026-11-01T09:00:00+08:00")
    assert has_history(store.read_index())
    assert [e["action"] for e in store.history("TS-2026-000001")] == [
        "case.new",
        "case.accept",
        "case.view",
    ]
