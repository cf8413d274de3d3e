"""Evidence (证据材料, DESIGN.md section 13): the complainant's letter, photos and receipts kept
with the case by `case attach`, each with its SHA-256, read back from `case show`, the store,
the audit log and the sealed bundle."""

from __future__ import annotations

import hashlib
import json
import os
import zipfile

import bagit
import pytest
from PIL import Image, ImageDraw

from .conftest import snapshot
from .test_archive import ARCHIVIST, bundle, closed_cases
from .test_hostile_input import refused
from .test_procedure import register


def letter_pdf(path, pages: int = 2):
    """A photocopied letter: an image-only PDF of `pages` pages."""
    sheets = []
    for i in range(pages):
        sheet = Image.new("L", (827, 1169), 245)
        draw = ImageDraw.Draw(sheet)
        for line in range(12):
            draw.line((80, 150 + 60 * line, 700, 150 + 60 * line + i), fill=30, width=3)
        sheets.append(sheet.convert("RGB"))
    sheets[0].save(path, format="PDF", save_all=True, append_images=sheets[1:], resolution=100)
    return path


def photo(path, fmt: str = "JPEG", seed: int = 1):
    image = Image.new("RGB", (640, 480), (200, 180 + seed, 160))
    ImageDraw.Draw(image).rectangle((100, 100, 300, 260 + seed), fill=(40, 40, 120))
    image.save(path, format=fmt)
    return path


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def attached(cf, case_no: str) -> list[dict]:
    return [a for a in cf.json("case", "show", case_no)["attachments"] if a["kind"] == "evidence"]


def test_letter_and_photos_are_kept_with_their_digests(cf, ws, tmp_path):
    case_no = register(cf)
    letter = letter_pdf(tmp_path / "投诉信.pdf", pages=2)
    result = cf.json(
        "case",
        "attach",
        case_no,
        str(letter),
        "--kind",
        "letter",
        "--note",
        "来信原件复印",
        "--by",
        "吴芳",
        "--at",
        "2026-11-16 10:05",
    )
    assert [a["name"] for a in result["attached"]] == ["投诉信.pdf"] and result["warnings"] == []
    jpeg = photo(tmp_path / "IMG_0001.JPG")
    png = photo(tmp_path / "screenshot", fmt="PNG", seed=2)  # no suffix: told by its content
    cf.json("case", "attach", case_no, str(jpeg), str(png), "--kind", "照片", "--by", "吴芳")

    items = attached(cf, case_no)
    assert [(a["evidence_kind"], a["name"], a["pages"]) for a in items] == [
        ("letter", "投诉信.pdf", 2),
        ("photo", "IMG_0001.JPG", None),
        ("photo", "screenshot", None),
    ]
    first = items[0]
    assert first["form"] is None and first["note"] == "来信原件复印" and first["by"] == "吴芳"
    assert first["received_at"] == "2026-11-16T10:05:00+08:00"
    for item, source in zip(items, (letter, jpeg, png), strict=True):
        stored = ws.root / item["path"]
        assert stored.read_bytes() == source.read_bytes()
        assert item["sha256"] == sha(source) == hashlib.sha256(stored.read_bytes()).hexdigest()
    assert items[2]["path"].endswith(".png") and items[1]["path"].endswith(".jpg")

    events = [e for e in cf.json("case", "history", case_no) if e["action"] == "case.attach"]
    assert len(events) == 2  # one per command
    assert [a["name"] for a in events[1]["after"]["attachments"]] == ["IMG_0001.JPG", "screenshot"]
    assert events[0]["by"] == "吴芳"


def test_the_same_file_is_not_attached_twice(cf, ws, tmp_path):
    case_no = register(cf)
    receipt = photo(tmp_path / "receipt.png", fmt="PNG")
    copy = tmp_path / "receipt-copy.png"
    copy.write_bytes(receipt.read_bytes())
    cf.json("case", "attach", case_no, str(receipt), "--kind", "receipt", "--by", "吴芳")
    before = snapshot(ws)
    again = cf("case", "attach", case_no, str(copy), "--kind", "收据", "--by", "吴芳")
    assert again.exit_code == 0
    assert (
        "warning" in again.stderr
        and "already" in again.stderr
        and "receipt-copy.png" in again.stderr
    )
    assert snapshot(ws) == before  # nothing written, no event
    # The same file named twice in one command: kept once.
    other = photo(tmp_path / "other.png", fmt="PNG", seed=9)
    result = cf(
        "case", "attach", case_no, str(other), str(other), "--kind", "photo", "--by", "吴芳",
        json_out=True,
    )  # fmt: skip
    out = json.loads(result.stdout)
    assert result.exit_code == 0 and len(out["attached"]) == 1 and len(out["warnings"]) == 1
    assert [a["name"] for a in attached(cf, case_no)] == ["receipt.png", "other.png"]


def test_refusals_name_the_reason_and_write_nothing(cf, ws, tmp_path):
    case_no = register(cf)
    good = photo(tmp_path / "good.jpg")
    text = tmp_path / "notes.pdf"
    text.write_text("这不是PDF，只是一段文字。\n", encoding="utf-8")
    gif = tmp_path / "anim.gif"
    Image.new("L", (20, 20), 0).save(gif, format="GIF")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    link = tmp_path / "link.jpg"
    os.symlink(good, link)
    fifo = tmp_path / "pipe.pdf"
    os.mkfifo(fifo)
    folder = tmp_path / "folder"
    folder.mkdir()
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 truncated")

    attach = ("case", "attach", case_no)
    by = ("--by", "吴芳")
    refused(cf, ws, *attach, str(good), "--kind", "video", *by, expect=("--kind", "'video'"))
    for path, reason in (
        (text, "not a PDF, JPEG, PNG, TIFF, WebP, HEIC file"),
        (gif, "not a PDF, JPEG, PNG, TIFF, WebP, HEIC file"),
        (empty, "an empty file"),
        (link, "a link, not a file"),
        (fifo, "not a regular file"),
        (folder, "a folder, not a file"),
        (broken, "not a readable PDF"),
    ):
        # All or nothing: the good file named first is not attached either.
        refused(
            cf,
            ws,
            *attach,
            str(good),
            str(path),
            "--kind",
            "photo",
            *by,
            expect=(path.name, reason),
        )
    refused(
        cf,
        ws,
        *attach,
        str(tmp_path / "missing.jpg"),
        "--kind",
        "photo",
        *by,
        expect="no such file",
    )
    refused(
        cf,
        ws,
        "case",
        "attach",
        "TS-2026-999999",
        str(good),
        "--kind",
        "photo",
        *by,
        expect="no case TS-2026-999999",
    )
    refused(cf, ws, *attach, str(good), "--kind", "photo", "--at", "2099-01-01", *by, expect="--at")
    assert attached(cf, case_no) == []
    usage = cf(*attach, "--kind", "photo", *by)  # no file: a usage error
    assert usage.exit_code == 2


def test_the_file_size_limit_is_the_scan_limit(cf, ws, tmp_path):
    config = ws.config_path
    config.write_text(
        config.read_text(encoding="utf-8") + "\nscan: {max_file_mb: 0.01}\n", encoding="utf-8"
    )
    case_no = register(cf)
    big = tmp_path / "big.png"
    Image.effect_noise((200, 200), 80).save(big)  # noise does not compress: over 10 KB
    assert big.stat().st_size > 0.01 * 1024 * 1024
    refused(
        cf,
        ws,
        "case",
        "attach",
        case_no,
        str(big),
        "--kind",
        "photo",
        "--by",
        "吴芳",
        expect=("big.png", "larger than"),
    )


def test_a_signed_off_case_refuses_evidence(cf, ws, tmp_path):
    [case_no] = closed_cases(cf, tmp_path, 1)
    cf.json("case", "signoff", case_no, "--by", "赵敏")
    good = photo(tmp_path / "late.jpg")
    result = refused(
        cf, ws, "case", "attach", case_no, str(good), "--kind", "photo", "--by", "吴芳",
        expect=(case_no, "signed_off", "can no longer be changed"),
    )  # fmt: skip
    assert "is signed_off (已审核): cannot attach evidence to it" in result.stderr


def test_evidence_is_sealed_into_the_bundle(cf, ws, tmp_path):
    [case_no] = closed_cases(cf, tmp_path, 1)
    letter = letter_pdf(tmp_path / "letter.pdf", pages=1)
    receipt = photo(tmp_path / "receipt.png", fmt="PNG")
    cf.json("case", "attach", case_no, str(letter), "--kind", "信函", "--by", "吴芳")
    cf.json("case", "attach", case_no, str(receipt), "--kind", "receipt", "--by", "吴芳")
    cf.json("case", "signoff", case_no, "--by", "赵敏")
    cf.json("archive", "build", case_no, *ARCHIVIST)
    target = tmp_path / "out"
    with zipfile.ZipFile(bundle(ws, case_no)) as zf:
        zf.extractall(target)
    bag = bagit.Bag(str(target / case_no))
    assert bag.validate()
    sealed = json.loads((target / case_no / "data" / "case.json").read_text(encoding="utf-8"))
    evidence = [a for a in sealed["attachments"] if a["kind"] == "evidence"]
    assert [a["evidence_kind"] for a in evidence] == ["letter", "receipt"]
    for item, source in zip(evidence, (letter, receipt), strict=True):
        name = item["path"].rsplit("/", 1)[-1]
        kept = target / case_no / "data" / "scans" / name
        assert kept.read_bytes() == source.read_bytes()
        assert bag.entries[f"data/scans/{name}"]["sha256"] == sha(source) == item["sha256"]
    verified = cf.json("archive", "verify", case_no)
    assert verified["ok"] is True and verified["verified"] == 1


@pytest.mark.parametrize("kind", ["letter", "信函", "other", "其他"])
def test_the_kind_is_taken_by_code_or_label(cf, ws, tmp_path, kind):
    case_no = register(cf)
    cf.json("case", "attach", case_no, str(photo(tmp_path / "a.jpg")), "--kind", kind, "--by", "x")
    assert attached(cf, case_no)[0]["evidence_kind"] in ("letter", "other")
