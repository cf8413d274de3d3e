"""case import / export: JSON, YAML and CSV, whole life cycles, all or nothing."""

from __future__ import annotations

import json

import yaml

from .conftest import snapshot
from .test_register import FULL_CASE

CLOSED = {
    **FULL_CASE,
    "case_no": "TS-2025-000042",
    "received_at": "2025-09-29T10:00:00+08:00",
    "decision": {
        "accepted": True,
        "by": "吴芳",
        "at": "2025-09-29T11:00:00+08:00",
        "validity": "valid",
    },
    "assignment": {"department": "SVC", "handler": "李明"},
    "handling": {
        "findings": "核实属实",
        "cause": "技师漏检",
        "responsible": "张伟",
        "plan": "免费返修",
        "approved_by": "王强",
        "result": "已返修",
        "customer_signed": True,
        "resolved_at": "2025-10-09T16:00:00+08:00",
    },
    "callback": {"at": "2025-10-10T10:00:00+08:00", "by": "吴芳", "satisfaction": "基本满意"},
    "closure": {
        "at": "2025-10-11T10:00:00+08:00",
        "by": "赵敏",
        "summary": "返修完毕",
        "penalty": {"type": "warning", "person": "张伟"},
    },
    "status": "closed",
}
REJECTED = {
    **FULL_CASE,
    "decision": {
        "accepted": False,
        "by": "吴芳",
        "at": "2026-11-16T12:00:00+08:00",
        "reason": "超出承诺范围",
    },
    "status": "rejected",
}


def test_import_replays_whole_life_cycles(cf, tmp_path):
    source = tmp_path / "ledger.yaml"
    source.write_text(
        yaml.safe_dump([CLOSED, REJECTED, FULL_CASE], allow_unicode=True), encoding="utf-8"
    )
    out = cf.json("case", "import", str(source))
    assert out["imported"] == 3
    closed = cf.json("case", "show", "TS-2025-000042")
    assert closed["status"] == "closed"
    # Due date computed in working days across National Day 2025 (10-01..10-08 off, 09-28 and 10-11 worked).
    assert closed["assignment"]["due"] == "2025-10-10"
    assert closed["closure"]["penalty"] == {"type": "warning", "person": "张伟", "amount": 400}
    assert closed["callback"]["satisfaction"] == "basically_satisfied"
    rejected = cf.json("case", "show", out["cases"][1])
    assert rejected["status"] == "rejected" and rejected["decision"]["reason"] == "超出承诺范围"
    # A new number does not collide with the imported one.
    assert out["cases"][1] == "TS-2026-000001"
    events = cf.json("case", "history", "TS-2025-000042")
    assert [e["action"] for e in events] == ["case.import"]


def test_import_continues_the_numbering_after_imported_numbers(cf, tmp_path):
    source = tmp_path / "ledger.json"
    source.write_text(
        json.dumps([{**FULL_CASE, "case_no": "TS-2026-000007"}], ensure_ascii=False),
        encoding="utf-8",
    )
    cf.json("case", "import", str(source))
    new = cf.json("case", "new", "--from", "-", input=json.dumps(FULL_CASE, ensure_ascii=False))
    assert new["case_no"] == "TS-2026-000008"


def test_export_then_import_round_trips(cf, tmp_path, ws):
    from complaintforms.workspace import Workspace, init_workspace

    source = tmp_path / "ledger.json"
    source.write_text(json.dumps([CLOSED, REJECTED], ensure_ascii=False), encoding="utf-8")
    cf.json("case", "import", str(source))
    other = Workspace.open(init_workspace(tmp_path / "other").root)
    from .conftest import Runner

    cf2 = Runner(other)
    for fmt in ("json", "yaml", "csv"):
        exported = tmp_path / f"export.{fmt}"
        assert cf("case", "export", "--format", fmt, "-o", str(exported)).exit_code == 0
        fresh = Runner(Workspace.open(init_workspace(tmp_path / f"fresh-{fmt}").root))
        result = fresh.json("case", "import", str(exported))
        assert result["imported"] == 2, fmt
        for case_no in ("TS-2025-000042", "TS-2026-000001"):
            a, b = cf.json("case", "show", case_no), fresh.json("case", "show", case_no)
            for key in (
                "status",
                "complainant",
                "target",
                "content",
                "decision",
                "assignment",
                "handling",
                "callback",
                "closure",
                "extra",
                "received_at",
                "late_entry",
            ):
                assert a[key] == b[key], (fmt, case_no, key)
    assert cf2.json("case", "list") == []


def test_a_bad_record_stops_the_import_and_changes_nothing(cf, ws, tmp_path):
    bad = {**FULL_CASE, "channel": "pigeon"}
    source = tmp_path / "ledger.json"
    source.write_text(
        json.dumps([FULL_CASE, FULL_CASE, bad, FULL_CASE], ensure_ascii=False), encoding="utf-8"
    )
    before = snapshot(ws)
    result = cf("case", "import", str(source))
    assert result.exit_code == 1
    assert "record 3" in result.stderr and "pigeon" in result.stderr
    assert snapshot(ws) == before


def test_csv_errors_name_the_line(cf, ws, tmp_path):
    source = tmp_path / "ledger.csv"
    source.write_text(
        "kind,channel,recorded_by,complainant.name,content,received_at\n"
        "投诉,来电,吴芳,张三,内容一,2026-11-16 09:00\n"
        "投诉,来电,吴芳,李四,,2026-11-16 10:00\n",
        encoding="utf-8",
    )
    before = snapshot(ws)
    result = cf("case", "import", str(source))
    assert (
        result.exit_code == 1 and "line 3" in result.stderr and "content: required" in result.stderr
    )
    assert snapshot(ws) == before


def test_steps_out_of_order_are_refused_on_import(cf, ws, tmp_path):
    early_callback = json.loads(json.dumps(CLOSED))
    early_callback["callback"]["at"] = "2025-10-01T10:00:00+08:00"  # before the result came back
    wrong_status = {**CLOSED, "case_no": "TS-2025-000043", "status": "assigned"}
    for record, expect in (
        (early_callback, "before the previous step"),
        (wrong_status, "its steps lead to 'closed'"),
    ):
        source = tmp_path / "ledger.json"
        source.write_text(json.dumps([record], ensure_ascii=False), encoding="utf-8")
        result = cf("case", "import", str(source))
        assert result.exit_code == 1 and expect in result.stderr, result.stderr


def test_malformed_files_are_refused(cf, ws, tmp_path):
    for name, text, expect in (
        ("a.json", "[{", "not valid JSON"),
        ("a.yaml", "- [unclosed", "not valid YAML"),
        ("a.json", '"just text"', "expected a list of cases"),
        ("a.txt", "[]", "cannot tell the format"),
    ):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        result = cf("case", "import", str(path))
        assert result.exit_code == 1 and expect in result.stderr, (name, result.stderr)


def test_csv_export_starts_with_a_bom_for_excel(cf, tmp_path):
    from .test_register import FULL_CASE, new_case

    new_case(cf, FULL_CASE)
    out = tmp_path / "cases.csv"
    assert cf("case", "export", "--format", "csv", "--output", str(out)).exit_code == 0
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel reads the Chinese right
    assert raw.decode("utf-8-sig").splitlines()[0].startswith("case_no,")
    assert cf("case", "import", str(out)).exit_code == 1  # the number is taken: read, refused
