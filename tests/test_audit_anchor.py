"""Tampering that paper can prove (issue 12, point 7): the audit head printed on the papers a
manager signs, and `audit verify --anchor SEQ:HASH` against a history rewritten whole."""

from __future__ import annotations

import json
import re

import orjson

from complaintforms.storage.base import GENESIS, event_hash

from .conftest import docx_text, pdf_text
from .test_register import FULL_CASE, new_case


def anchor_of(text: str) -> str:
    found = re.search(r"审计锚点 ([0-9]+:[0-9a-f]{64})", text.replace("\r\n", "").replace("\n", ""))
    assert found, text[-400:]
    return found.group(1)


def rewrite_history(ws) -> None:
    """What someone who can write records/ could do: change event 2 and recompute every hash
    after it, and the index's head, so that the chain is consistent again."""
    segments = sorted((ws.records_dir / "audit").glob("*.jsonl"))
    events = [json.loads(line) for seg in segments for line in seg.read_text().splitlines() if line]
    events[1]["by"] = "别人"
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
