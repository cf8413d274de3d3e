"""Scan intake against hostile or unlucky input (issue 12, points 2 and 3): each file on its
own, nothing lost, hard limits instead of exhausted memory or time."""

from __future__ import annotations

import json
import os

import pytest
from PIL import Image

from complaintforms.services import intake as intake_module
from complaintforms.services import scanfiles

from .test_intake import degrade, page_image, slip_of


def run_intake(cf, *paths) -> dict:
    """The report (--json); the exit code is the command line's to decide."""
    result = cf("scan", "intake", *map(str, paths), "--by", "扫描员", json_out=True)
    assert result.exit_code in (0, 1), result.stderr
    assert "internal error" not in result.stderr
    return json.loads(result.stdout)


def raw_pdf(pages: int = 1, size: int = 612) -> bytes:
    """A minimal PDF of `pages` blank pages of size x size points, with a correct xref."""
    kids = " ".join(f"{3 + i} 0 R" for i in range(pages))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode(),
    ] + [f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {size} {size}] >>".encode()] * pages
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def kept_note(ws, item: dict) -> dict:
    path = ws.root / item["path"]
    assert path.is_file()
    return json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))


def test_bad_files_do_not_stop_the_batch(cf, ws, tmp_path):
    folder = tmp_path / "scanner"
    folder.mkdir()
    slips = [slip_of(cf, ws) for _ in range(3)]
    for i, (_, pdf) in enumerate(slips):
        degrade(page_image(pdf), angle=0.5 * i, speckles=2000).save(folder / f"slip{i}.png")
    good_pdf = slips[0][1].read_bytes()
    (folder / "empty.pdf").write_bytes(b"")
    (folder / "truncated.pdf").write_bytes(good_pdf[: len(good_pdf) // 3])
    (folder / "notes.pdf").write_text("这不是PDF，只是一段文字。\n", encoding="utf-8")
    (folder / "zero.png").write_bytes(b"")
    (tmp_path / "elsewhere.pdf").write_bytes(good_pdf)
    os.symlink(tmp_path / "elsewhere.pdf", folder / "link.pdf")

    report = run_intake(cf, folder)

    assert sorted(m["case_no"] for m in report["matched"]) == sorted(c for c, _ in slips)
    for case_no, _ in slips:
        assert len(cf.json("case", "show", case_no)["attachments"]) == 1
    rejected = {r["source"]: r for r in report["rejected"]}
    duplicates = {d["source"] for d in report["duplicates"]}
    # The two empty files have the same (no) bytes: the second is kept once, as a duplicate.
    assert {"empty.pdf", "zero.png"} & set(rejected) and {"empty.pdf", "zero.png"} <= (
        set(rejected) | duplicates
    )
    empty = rejected.get("empty.pdf") or rejected["zero.png"]
    assert "empty" in empty["reason"] and kept_note(ws, empty)["reason"] == empty["reason"]
    for name in ("notes.pdf",):
        assert rejected[name]["path"] is not None
        assert (ws.root / rejected[name]["path"]).read_bytes() == (folder / name).read_bytes()
        assert kept_note(ws, rejected[name])["source"] == name
    # pdfium may repair a truncated file; either it is kept whole or its pages are read.
    truncated = rejected.get("truncated.pdf") or next(
        u for u in report["unmatched"] + report["matched"] if u["source"] == "truncated.pdf"
    )
    assert truncated.get("path")
    assert rejected["link.pdf"]["path"] is None and "link" in rejected["link.pdf"]["reason"]
    assert report["incomplete"] is True
    # Nothing was read through the link.
    assert not any(m["source"] == "link.pdf" for m in report["matched"] + report["unmatched"])


def test_a_special_file_is_reported_not_read(cf, ws, tmp_path):
    fifo = tmp_path / "pipe.pdf"
    os.mkfifo(fifo)
    report = run_intake(cf, fifo)
    [rejected] = report["rejected"]
    assert rejected["path"] is None and "not a regular file" in rejected["reason"]


def test_a_huge_pdf_page_is_refused_by_its_size(cf, ws, tmp_path):
    path = tmp_path / "huge.pdf"
    path.write_bytes(raw_pdf(1, 14400))
    assert len(path.read_bytes()) < 1024
    report = run_intake(cf, path)  # finishes: the page is never rendered
    assert report["matched"] == []
    [kept] = report["unmatched"]
    assert "larger than" in kept["reason"] and kept["page"] == 1
    assert kept_note(ws, kept)["reason"] == kept["reason"]


def test_a_large_page_is_rendered_within_the_pixel_limit(monkeypatch):
    scale = scanfiles.render_scale(4000, 4000)
    assert (4000 * scale) * (4000 * scale) <= scanfiles.MAX_PAGE_PIXELS
    assert scanfiles.render_scale(595, 842) == pytest.approx(200 / 72)


def test_a_decompression_bomb_image_is_refused_by_the_pixel_limit(cf, ws, tmp_path):
    path = tmp_path / "bomb.png"
    Image.new("1", (20000, 20000), 1).save(path, optimize=True)
    assert path.stat().st_size < 2_000_000
    report = run_intake(cf, path)
    [rejected] = report["rejected"]
    assert "megapixels" in rejected["reason"]
    assert (ws.root / rejected["path"]).read_bytes() == path.read_bytes()
    assert report["incomplete"] is True


def test_a_pdf_with_too_many_pages_is_refused(cf, ws, tmp_path, monkeypatch):
    monkeypatch.setattr(scanfiles, "MAX_PAGES", 5)
    path = tmp_path / "many.pdf"
    path.write_bytes(raw_pdf(8))
    report = run_intake(cf, path)
    assert report["pages"] == 0 and report["matched"] == []
    [rejected] = report["rejected"]
    assert "8 pages, more than 5" in rejected["reason"]
    assert (ws.root / rejected["path"]).read_bytes() == path.read_bytes()


def test_a_file_over_the_size_limit_is_reported(cf, ws, tmp_path, monkeypatch):
    monkeypatch.setattr(scanfiles, "MAX_FILE_BYTES", 100)
    path = tmp_path / "big.pdf"
    path.write_bytes(raw_pdf(1))
    report = run_intake(cf, path)
    [rejected] = report["rejected"]
    assert rejected["path"] is None and "larger than" in rejected["reason"]


@pytest.mark.parametrize("serial", ["²", "٣", "1\u00b2", "", "12a", "-1"])
def test_a_strange_qr_serial_is_not_ours(cf, ws, tmp_path, serial):
    from .test_intake import _page_with_code

    case_no, _ = slip_of(cf, ws)
    payload = f"CF1|{ws.workspace_id}|{case_no}|feedback_slip|{serial}|00000000"[:2000]
    path = tmp_path / "sticker.png"
    _page_with_code(payload).save(path)
    report = run_intake(cf, path)
    assert report["matched"] == []
    [kept] = report["unmatched"]
    assert kept["reason"] in ("a QR code that is not ours", "no complaintforms QR code")


def test_the_reasons_are_in_chinese(cf, ws, tmp_path):
    path = tmp_path / "empty.pdf"
    path.write_bytes(b"")
    report = run_intake(cf, path)
    [rejected] = report["rejected"]
    from complaintforms.errors import Notice

    assert isinstance(rejected["reason"], str)
    notice = intake_module.Notice(intake_module.N_("an empty file"))
    assert isinstance(notice, Notice)
    import gettext

    catalog = gettext.translation(
        "complaintforms",
        intake_module.Path(intake_module.__file__).parent.parent / "locale",
        languages=["zh_CN"],
    )
    assert notice.render(catalog.gettext) != "an empty file"
