"""Tampering that paper can prove (issue 12, point 7): the audit head printed on the papers a
manager signs, and `audit verify --anchor SEQ:HASH` against a history rewritten whole."""

from __future__ import annotations

import json
import re

import orjson
import pytest

from complaintforms.storage.base import GENESIS, event_hash

from .conftest import docx_text, pdf_text
from .test_register import FULL_CASE, new_case


def anchor_of(text: str) -> str:
    found = re.search(r"审计锚点 ([0-9]+:[0-9a-f]{64})", text.replace("\r\n", "").replace("\n", ""))
    assert found, text[-400:]
    return found.group(1)


def rewrite_events(ws, change) -> None:
    """Apply `change(events)` to the whole audit log and recompute every hash and the index's
    head, as someone who can write records/ could."""
    segments = sorted((ws.records_dir / "audit").glob("*.jsonl"))
    events = [json.loads(line) for seg in segments for line in seg.read_text().splitlines() if line]
    change(events)
    prev = GENESIS
    for event in events:
        event["prev"] = prev
        event["hash"] = event_hash(event)
        prev = event["hash"]
    by_segment: dict = {}
    for event in events:
        by_segment.setdefault(event["at"][:7], []).append(event)
    for seg in segments:
        seg.write_bytes(
            b"".join(
                orjson.dumps(e, option=orjson.OPT_SORT_KEYS) + b"\n" for e in by_segment[seg.stem]
            )
        )
    index = json.loads((ws.records_dir / "index.json").read_text())
    index["audit"]["hash"] = prev
    (ws.records_dir / "index.json").write_text(json.dumps(index))


def rewrite_history(ws) -> None:
    """What someone who can write records/ could do: change event 2 and recompute every hash
    after it, and the index's head, so that the chain is consistent again."""

    def change(events):
        events[1]["by"] = "别人"

    rewrite_events(ws, change)


@pytest.mark.tinydb_files
def test_signed_papers_carry_the_audit_head_and_a_rewrite_fails_the_anchor(cf, ws):
    case_no = new_case(cf, FULL_CASE)["case_no"]
    cf.json("case", "accept", case_no, "--department", "SVC", "--by", "吴芳")
    report = cf.json("report", "quarterly", "2026Q4", "--by", "赵敏", "--as-of", "2026-11-30")
    pdf = ws.root / next(f["path"] for f in report["files"] if f["format"] == "pdf")
    anchor = anchor_of(pdf_text(pdf))
    second = [e for e in ws.store.iter_events() if e["seq"] == 2][0]
    assert anchor == f"2:{second['hash']}"  # the head when the report was made
    docx = ws.root / next(f["path"] for f in report["files"] if f["format"] == "docx")
    assert anchor_of(docx_text(docx)) == anchor

    register = cf.json("register", "render", "--month", "2026-11", "--by", "吴芳")
    assert anchor_of(pdf_text(ws.root / register["documents"][0]["path"]))

    ok = cf.json("audit", "verify", "--anchor", anchor)
    assert ok["ok"] is True and ok["anchors"] == 1

    rewrite_history(ws)
    assert ws.store.verify_audit() == []  # the chain alone cannot tell
    assert cf("audit", "verify").exit_code == 0
    result = cf("audit", "verify", "--anchor", anchor)
    assert result.exit_code == 1
    assert "was rewritten" in result.stdout


def test_a_bad_anchor_is_refused_with_its_field(cf):
    result = cf("audit", "verify", "--anchor", "12:abc")
    assert result.exit_code == 1 and "--anchor" in result.stderr
    result = cf("audit", "verify", "--anchor", "999:" + "0" * 64)
    assert result.exit_code == 1 and "no such event" in result.stdout


@pytest.mark.tinydb_files
def test_a_remade_bundle_passes_verify_and_doctor_but_not_the_signed_anchor(cf, ws, tmp_path):
    """Issue 12, point 7, exactly: a re-made bundle swapped in, the case's sha256 and its audit
    event updated, the chain and the index head recomputed."""
    import hashlib
    import shutil
    import zipfile

    import bagit

    from .test_archive import ARCHIVIST, bundle, closed_cases

    [case_no, _] = closed_cases(cf, tmp_path)
    cf.json("case", "signoff", "--quarter", "2025Q4", "--by", "赵敏")
    built = cf.json("archive", "build", "--quarter", "2025Q4", *ARCHIVIST)
    transfer = next(d["path"] for d in built["transfer_list"] if d["format"] == "pdf")
    anchor = anchor_of(pdf_text(ws.root / transfer))
    assert cf.json("audit", "verify", "--anchor", anchor)["ok"] is True

    # The bundle made again with a changed finding and fresh manifests.
    path = bundle(ws, case_no)
    work = tmp_path / "remade"
    with zipfile.ZipFile(path) as zf:
        zf.extractall(work)
    case_json = work / case_no / "data" / "case.json"
    forged = json.loads(case_json.read_text(encoding="utf-8"))
    forged["handling"]["findings"] = "经查不属实"
    case_json.write_text(json.dumps(forged, ensure_ascii=False), encoding="utf-8")
    bag = bagit.Bag(str(work / case_no))
    bag.save(manifests=True)
    assert bag.validate()
    path.unlink()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for file in sorted((work / case_no).rglob("*")):
            if file.is_file():
                zf.write(file, file.relative_to(work).as_posix())
    shutil.rmtree(work)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()

    with ws.store.transaction() as txn:
        record = txn.get(case_no)
        record["archive"]["sha256"] = digest
        txn.replace(record)

    def swap(events):
        for event in events:
            if event.get("case") == case_no and event.get("action") == "archive.build":
                event["sha256"] = digest

    rewrite_events(ws, swap)
    # What the insider wanted: every check but the paper passes.
    assert cf("archive", "verify", "--all").exit_code == 0
    assert cf("doctor").exit_code == 0
    assert cf("audit", "verify").exit_code == 0
    result = cf("audit", "verify", "--anchor", anchor)
    assert result.exit_code == 1
    assert "was rewritten" in result.stdout
