"""A full disk, a read-only folder and a template that asks too much get a plain reason,
never "internal error", and nothing is half-written (issue 12, point 4)."""

from __future__ import annotations

import errno
import json

import pytest

from complaintforms.storage import tinydb

from .conftest import snapshot
from .test_register import FULL_CASE


def test_a_template_asking_for_a_huge_range_is_refused(cf, ws):
    card = ws.forms_dir / "record_card.html"
    card.write_text(
        card.read_text(encoding="utf-8").replace(
            "{% block body %}", "{% block body %}{% for i in range(100000000) %}{% endfor %}"
        ),
        encoding="utf-8",
    )
    before = snapshot(ws)
    result = cf("case", "new", "--from", "-", input=json.dumps(FULL_CASE, ensure_ascii=False))
    assert result.exit_code == 1
    assert "forms/record_card.html: the template asks too much" in result.stderr
    assert "internal error" not in result.stderr
    assert snapshot(ws) == before


@pytest.mark.parametrize(
    ("code", "words"),
    [(errno.ENOSPC, "no space left on the disk"), (errno.EROFS, "read-only or not permitted")],
)
def test_a_full_disk_or_a_read_only_folder_is_said_plainly(cf, ws, monkeypatch, code, words):
    cf.json("case", "new", "--from", "-", input=json.dumps(FULL_CASE, ensure_ascii=False))
    before = snapshot(ws)

    def refuse(path, data):
        raise OSError(code, "refused by the test", str(path))

    monkeypatch.setattr(tinydb, "write_file_synced", refuse)
    result = cf("case", "new", "--from", "-", input=json.dumps(FULL_CASE, ensure_ascii=False))
    assert result.exit_code == 1 and words in result.stderr
    assert "internal error" not in result.stderr
    monkeypatch.undo()
    after = snapshot(ws)
    assert {k: v for k, v in after.items() if not k.startswith(".tmp")} == {
        k: v for k, v in before.items() if not k.startswith(".tmp")
    }
    assert [c["case_no"] for c in ws.store.iter_records()] == ["TS-2026-000001"]
    assert ws.store.verify_audit() == []


def test_an_imported_due_date_before_the_acceptance_is_refused(cf, ws, tmp_path):
    record = {
        **FULL_CASE,
        "case_no": "TS-2026-000100",
        "decision": {"accepted": True, "by": "吴芳", "at": "2026-11-16T10:00:00+08:00"},
        "assignment": {"department": "SVC", "due": "2026-11-10"},
    }
    source = tmp_path / "ledger.json"
    source.write_text(json.dumps([record], ensure_ascii=False), encoding="utf-8")
    before = snapshot(ws)
    result = cf("case", "import", str(source))
    assert result.exit_code == 1
    assert "assignment.due: 2026-11-10 is before the acceptance (2026-11-16)" in result.stderr
    assert snapshot(ws) == before


def test_a_legacy_ledger_names_its_own_numbering_pattern(cf, ws, tmp_path):
    record = {**FULL_CASE, "case_no": "KS20190007", "received_at": "2019-03-04T09:00:00+08:00"}
    source = tmp_path / "legacy.json"
    source.write_text(json.dumps([record], ensure_ascii=False), encoding="utf-8")
    refused = cf("case", "import", str(source))
    assert refused.exit_code == 1 and "does not fit the numbering pattern" in refused.stderr
    bad = cf("case", "import", str(source), "--pattern", "KS/{seq}")
    assert bad.exit_code == 1 and "--pattern" in bad.stderr
    done = cf.json("case", "import", str(source), "--pattern", "KS{year}{seq:04d}")
    assert done["cases"] == ["KS20190007"]
    assert cf.json("case", "show", "KS20190007")["received_at"].startswith("2019-03-04")
    fresh = cf.json("case", "new", "--from", "-", input=json.dumps(FULL_CASE, ensure_ascii=False))
    assert fresh["case_no"] == "TS-2026-000001"  # the workspace's counter did not move


def test_the_scan_limits_come_from_the_workspace(cf, ws, tmp_path):
    from PIL import Image

    config = ws.config_path
    text = config.read_text(encoding="utf-8")
    config.write_text(text + "\nscan: {max_pages: 2, max_page_megapixels: 1}\n", encoding="utf-8")
    pages = [Image.new("L", (500, 700), 255) for _ in range(3)]
    stack = tmp_path / "three.pdf"
    pages[0].save(stack, format="PDF", save_all=True, append_images=pages[1:], resolution=72)
    big = tmp_path / "big.png"
    Image.new("1", (1500, 1500), 1).save(big)
    result = cf("scan", "intake", str(stack), str(big), json_out=True)
    assert result.exit_code == 1
    reasons = " ".join(r["reason"] for r in json.loads(result.stdout)["rejected"])
    assert "more than 2 in one file" in reasons and "more than 1 megapixels" in reasons
    config.write_text(text + "\nscan: {max_pagez: 2}\n", encoding="utf-8")
    bad = cf("case", "list")
    assert bad.exit_code == 1 and "scan.max_pagez" in bad.stderr
