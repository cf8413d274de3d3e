"""Sign-off and sealed archive bundles: built, found, verified, opened, disposed of."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import bagit
import pytest

from .conftest import pdf_text, snapshot
from .test_ledger import CLOSED

ARCHIVIST = ("--by", "档案员")


def closed_cases(cf, tmp_path, n: int = 2, **changes) -> list[str]:
    records = []
    for i in range(n):
        rec = json.loads(json.dumps(CLOSED))
        rec["case_no"] = f"TS-2025-{900 + i:06d}"
        rec["severity"] = "general"
        for key, value in changes.items():
            rec[key] = value
        records.append(rec)
    source = tmp_path / "closed.json"
    source.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    return cf.json("case", "import", str(source))["cases"]


def sealed(cf, tmp_path, n: int = 2) -> list[str]:
    numbers = closed_cases(cf, tmp_path, n)
    cf.json("case", "signoff", "--quarter", "2025Q4", "--by", "赵敏")
    cf.json("archive", "build", "--quarter", "2025Q4", *ARCHIVIST)
    return numbers


def bundle(ws, case_no: str) -> Path:
    return ws.root / json.loads(json.dumps(ws.store.get(case_no)))["archive"]["bundle"]


def test_quarterly_signoff_and_build(cf, ws, tmp_path):
    numbers = closed_cases(cf, tmp_path, 3)
    signed = cf.json("case", "signoff", "--quarter", "2025Q4", "--by", "赵敏")
    assert sorted(c["case_no"] for c in signed) == sorted(numbers)
    assert {c["status"] for c in signed} == {"signed_off"}
    built = cf.json("archive", "build", "--quarter", "2025Q4", *ARCHIVIST)
    assert len(built["bundles"]) == 3
    for entry in built["bundles"]:
        path = ws.root / entry["bundle"]
        assert path.parent == ws.records_dir / "archive" / "2025" / "Q4"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"]
        case = cf.json("case", "show", entry["case_no"])
        assert case["status"] == "archived" and case["archive"]["sha256"] == entry["sha256"]
        history = cf.json("case", "history", entry["case_no"])
        assert history[-1]["action"] == "archive.build" and history[-1]["sha256"] == entry["sha256"]
    transfer = next(ws.root / d["path"] for d in built["transfer_list"] if d["format"] == "pdf")
    text = pdf_text(transfer).replace(" ", "")
    assert "归档移交清单" in text and all(n in text for n in numbers)


def test_a_bundle_is_a_valid_bag_with_everything_in_it(cf, ws, tmp_path):
    [case_no, _] = sealed(cf, tmp_path)
    path = bundle(ws, case_no)
    target = tmp_path / "out"
    with zipfile.ZipFile(path) as zf:
        zf.extractall(target)
    bag = bagit.Bag(str(target / case_no))
    assert bag.validate()
    assert bag.info["External-Identifier"] == case_no
    assert bag.info["Signed-Off-By"] == "赵敏"
    assert set(bag.algorithms) == {"sha256"}
    case = json.loads((target / case_no / "data" / "case.json").read_text(encoding="utf-8"))
    assert case["case_no"] == case_no and case["signoff"]["by"] == "赵敏"
    events = (target / case_no / "data" / "events.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(events[0])["action"] == "case.import"


@pytest.mark.tinydb_files
def test_flipping_one_byte_is_found(cf, ws, tmp_path):
    [case_no, other] = sealed(cf, tmp_path)
    path = bundle(ws, case_no)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    result = cf("archive", "verify", "--all", json_out=True)
    assert result.exit_code == 1
    problems = json.loads(result.stdout)["problems"]
    assert any(case_no in p and "SHA-256" in p for p in problems)
    assert not any(other in p for p in problems)
    assert cf("archive", "verify", other).exit_code == 0


@pytest.mark.tinydb_files
def test_a_rewritten_file_with_fresh_manifests_is_found(cf, ws, tmp_path):
    [case_no, _] = sealed(cf, tmp_path)
    path = bundle(ws, case_no)
    work = tmp_path / "tamper"
    with zipfile.ZipFile(path) as zf:
        zf.extractall(work)
    case_json = work / case_no / "data" / "case.json"
    case = json.loads(case_json.read_text(encoding="utf-8"))
    case["closure"]["summary"] = "改写过的结论"
    case_json.write_text(json.dumps(case, ensure_ascii=False), encoding="utf-8")
    bag = bagit.Bag(str(work / case_no))
    bag.save(manifests=True)  # every manifest recomputed: the bag itself is valid again
    assert bag.validate()
    path.unlink()
    with zipfile.ZipFile(path, "w") as zf:
        for f in sorted((work).rglob("*")):
            if f.is_file():
                zf.write(f, f.relative_to(work).as_posix())
    result = cf("archive", "verify", case_no, json_out=True)
    assert result.exit_code == 1
    problems = json.loads(result.stdout)["problems"]
    assert any("replaced or altered" in p for p in problems)
    assert any("audit log" in p for p in problems)


@pytest.mark.tinydb_files
def test_every_problem_is_named(cf, ws, tmp_path):
    [a, b] = sealed(cf, tmp_path)
    bundle(ws, a).write_bytes(b"not a zip")
    bundle(ws, b).unlink()
    result = cf("archive", "verify", "--all", json_out=True)
    assert result.exit_code == 1
    problems = json.loads(result.stdout)["problems"]
    assert any(a in p and "not a readable zip" in p for p in problems)
    assert any(b in p and "missing" in p for p in problems)


def test_signoff_and_archive_of_an_open_case_are_refused(cf, ws, tmp_path):
    from .test_procedure import register

    case_no = register(cf)
    before = snapshot(ws)
    result = cf("case", "signoff", case_no, "--by", "赵敏")
    assert result.exit_code == 1 and "cannot sign off" in result.stderr
    result = cf("archive", "build", case_no, *ARCHIVIST)
    assert result.exit_code == 1 and "only a signed-off case" in result.stderr
    assert snapshot(ws) == before


def test_signoff_is_all_or_nothing(cf, ws, tmp_path):
    from .test_procedure import register

    [closed, _] = closed_cases(cf, tmp_path)
    open_case = register(cf)
    before = snapshot(ws)
    result = cf("case", "signoff", closed, open_case, "--by", "赵敏")
    assert result.exit_code == 1
    assert snapshot(ws) == before


def test_search_list_show(cf, ws, tmp_path):
    [a, b] = sealed(cf, tmp_path)
    assert {r["case_no"] for r in cf.json("archive", "list", "--quarter", "2025Q4")} == {a, b}
    assert cf.json("archive", "list", "--quarter", "2025Q3") == []
    assert {r["case_no"] for r in cf.json("archive", "list", "--department", "SVC")} == {a, b}
    assert [r["case_no"] for r in cf.json("archive", "search", "--case", a[-6:])] == [a]
    assert len(cf.json("archive", "search", "--complainant", "李&赵")) == 2
    assert cf.json("archive", "search", "--text", "返修完毕") != []
    assert cf.json("archive", "search", "--text", "不存在的词") == []
    assert len(cf.json("archive", "search", "--from", "2025-09-01", "--to", "2025-09-30")) == 2
    assert cf.json("archive", "search", "--from", "2025-10-01") == []
    info = cf.json("archive", "show", a)
    assert info["bag_info"]["External-Identifier"] == a
    assert any(f["name"].endswith("data/case.json") for f in info["files"])


def test_extract_and_its_refusals(cf, ws, tmp_path):
    [a, _] = sealed(cf, tmp_path)
    out = cf.json("archive", "extract", a, "--to", str(tmp_path / "x"))
    assert (tmp_path / "x" / a / "data" / "case.json").exists() and out["files"] > 4

    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("bag/data/ok.txt", "fine")
        zf.writestr("../../escaped.txt", "outside")
        zf.writestr("/etc/absolute.txt", "absolute")
        link = zipfile.ZipInfo("bag/link")
        link.external_attr = (0o120777) << 16
        zf.writestr(link, "/etc/passwd")
    target = tmp_path / "target"
    result = cf("archive", "extract", str(evil), "--to", str(target))
    assert result.exit_code == 1
    assert (
        "leads outside" in result.stderr
        and "absolute path" in result.stderr
        and "symbolic link" in result.stderr
    )
    assert not target.exists() or not any(target.rglob("*"))
    assert (
        not (tmp_path / "escaped.txt").exists() and not (tmp_path.parent / "escaped.txt").exists()
    )


def test_a_signed_off_case_refuses_scans(cf, ws, tmp_path):
    from .test_intake import _page_with_code

    [a, _] = sealed(cf, tmp_path)
    from complaintforms.documents.qrcode import make_ref

    path = tmp_path / "late.png"
    _page_with_code(make_ref(ws, a, "feedback_slip", 1).payload).save(path)
    result = cf("scan", "intake", str(path), json_out=True)
    report = json.loads(result.stdout)
    assert result.exit_code == 1  # kept unmatched: not everything was attached
    assert report["matched"] == [] and "signed off" in report["unmatched"][0]["reason"]


@pytest.mark.tinydb_files
def test_purge_respects_retention_and_holds(cf, ws, tmp_path):
    [a, b] = sealed(cf, tmp_path)
    later = {"COMPLAINTFORMS_NOW": "2026-10-12T10:00:00+08:00"}  # a year after closing 2025-10-11
    before_due = cf.json(
        "archive",
        "purge",
        "--dry-run",
        *ARCHIVIST,
        env={"COMPLAINTFORMS_NOW": "2026-10-10T10:00:00+08:00"},
    )
    assert before_due["candidates"] == []
    cf.json("case", "hold", b, "--reason", "客户已起诉", "--by", "法务")
    dry = cf.json("archive", "purge", "--dry-run", *ARCHIVIST, env=later)
    assert [c["case_no"] for c in dry["candidates"]] == [a]
    assert bundle(ws, a).exists()
    done = cf.json("archive", "purge", "--yes", *ARCHIVIST, env=later)
    assert [d["case_no"] for d in done["disposed"]] == [a]
    assert not (ws.records_dir / "archive" / "2025" / "Q4" / f"{a}.zip").exists()
    assert bundle(ws, b).exists()
    register = (
        (ws.records_dir / "archive" / "disposals.jsonl").read_text(encoding="utf-8").splitlines()
    )
    entry = json.loads(register[0])
    assert entry["case_no"] == a and entry["by"] == "档案员" and len(entry["sha256"]) == 64
    pdf = next(ws.root / d["path"] for d in done["register"] if d["format"] == "pdf")
    text = pdf_text(pdf).replace(" ", "")
    assert "档案销毁清册" in text and a in text
    assert cf("archive", "verify", "--all").exit_code == 0  # a disposed bundle is not a missing one
    cf.json("case", "hold", b, "--release", "--by", "法务")
    assert [
        c["case_no"]
        for c in cf.json("archive", "purge", "--dry-run", *ARCHIVIST, env=later)["candidates"]
    ] == [b]


def test_purge_needs_confirmation(cf, ws, tmp_path):
    sealed(cf, tmp_path)
    result = cf(
        "archive",
        "purge",
        "--by",
        "档案员",
        env={"COMPLAINTFORMS_NOW": "2027-06-01T10:00:00+08:00"},
    )
    assert result.exit_code == 2 and "--yes" in result.stderr


@pytest.mark.parametrize("severity", ["major"])
def test_major_cases_are_kept_longer(cf, ws, tmp_path, severity):
    closed_cases(cf, tmp_path, 1, severity=severity)
    cf.json("case", "signoff", "--quarter", "2025Q4", "--by", "赵敏")
    cf.json("archive", "build", "--quarter", "2025Q4", *ARCHIVIST)
    two_years = {"COMPLAINTFORMS_NOW": "2027-10-12T10:00:00+08:00"}
    assert cf.json("archive", "purge", "--dry-run", *ARCHIVIST, env=two_years)["candidates"] == []
    three_years = {"COMPLAINTFORMS_NOW": "2028-10-12T10:00:00+08:00"}
    assert (
        len(cf.json("archive", "purge", "--dry-run", *ARCHIVIST, env=three_years)["candidates"])
        == 1
    )
