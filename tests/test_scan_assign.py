"""Scans matched by hand, rescans, blank pages and the checks of `slip return --scan`
(DESIGN.md section 13): real rendered slips, rasterised as a scanner would, read back."""

from __future__ import annotations

import hashlib
import json
import random

import pytest
from PIL import Image, ImageDraw, ImageFilter

from complaintforms.services import intake as intake_module
from complaintforms.services import scanfiles

from .test_archive import closed_cases
from .test_hostile_input import refused
from .test_intake import degrade, intake, page_image, slip_of
from .test_procedure import RETURN_ARGS, accept, register


# -- pages as a scanner delivers them ------------------------------------------------------
def speckled_blank(dpi: int = 200, specks: int = 15000, seed: int = 3) -> Image.Image:
    """A blank sheet as scanned: off-white, with dust and the scanner's specks, a little blur."""
    page = Image.new("L", (int(8.27 * dpi), int(11.69 * dpi)), 248)
    px, rnd = page.load(), random.Random(seed)
    for _ in range(specks):
        px[rnd.randrange(page.width), rnd.randrange(page.height)] = rnd.choice((0, 90, 255))
    return page.filter(ImageFilter.GaussianBlur(0.8))


def handwritten(page: Image.Image, lines: int = 3, fill: int = 40, width: int = 3, seed: int = 5):
    """A few lines written by hand on the page (strokes of characters, 60 px apart)."""
    page = page.copy()
    draw, rnd = ImageDraw.Draw(page), random.Random(seed)
    scale = page.width / 1654
    for line in range(lines):
        y = int((600 + 120 * line) * scale)
        for x in range(int(250 * scale), int(1250 * scale), int(60 * scale)):
            for _ in range(rnd.randint(3, 6)):
                a = (x + rnd.randint(0, int(45 * scale)), y + rnd.randint(0, int(45 * scale)))
                b = (x + rnd.randint(0, int(45 * scale)), y + rnd.randint(0, int(45 * scale)))
                draw.line((a, b), fill=fill, width=max(1, round(width * scale)))
    return page


def signed(page: Image.Image) -> Image.Image:
    page = page.copy()
    s = page.width / 1654
    points = [(900, 2000), (1000, 1950), (1050, 2030), (1150, 1960), (1250, 2010)]
    ImageDraw.Draw(page).line([(x * s, y * s) for x, y in points], fill=30, width=int(3 * s))
    return page


def pdf_of(path, pages: list[Image.Image], dpi: int = 200):
    rgb = [p.convert("RGB") for p in pages]
    rgb[0].save(path, format="PDF", save_all=True, append_images=rgb[1:], resolution=dpi)
    return path


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def attachments(cf, case_no: str) -> list[dict]:
    return cf.json("case", "show", case_no)["attachments"]


# -- blank pages ------------------------------------------------------------------------------
@pytest.mark.parametrize("dpi", [150, 200, 300])
def test_blank_is_told_from_a_page_written_on(dpi):
    area = (dpi / 200) ** 2  # specks of the same density at every resolution
    blank = speckled_blank(dpi, specks=int(15000 * area))
    assert scanfiles.is_blank(blank)
    dusty = speckled_blank(dpi, specks=int(60000 * area), seed=9)  # 1.5 % of the pixels
    assert scanfiles.is_blank(dusty)
    assert scanfiles.is_blank(Image.new("L", blank.size, 205))  # grey paper
    assert not scanfiles.is_blank(handwritten(blank))
    assert not scanfiles.is_blank(handwritten(blank, lines=1))
    assert not scanfiles.is_blank(handwritten(blank, lines=2, fill=170, width=2))  # pencil
    assert not scanfiles.is_blank(signed(blank))  # a signature alone


def test_blank_pages_are_dropped_and_reported_not_attached(cf, ws, tmp_path):
    (a, pdf_a), (b, pdf_b) = slip_of(cf, ws), slip_of(cf, ws)
    back_written = handwritten(speckled_blank(seed=4), lines=3)
    stack = pdf_of(
        tmp_path / "stack.pdf",
        [
            speckled_blank(seed=1),  # a separator sheet
            degrade(page_image(pdf_a), angle=0.5, speckles=3000),
            speckled_blank(seed=2),  # the empty back of slip a
            degrade(page_image(pdf_b), angle=-1, speckles=3000),
            back_written,  # the back of slip b, written on: it follows b
        ],
    )
    report = intake(cf, stack)
    assert [(m["case_no"], m["pages"]) for m in report["matched"]] == [(a, [2]), (b, [4, 5])]
    assert report["blank"] == [
        {"source": "stack.pdf", "page": 1},
        {"source": "stack.pdf", "page": 3},
    ]
    assert report["unmatched"] == [] and report["incomplete"] is False
    [att_a], [att_b] = attachments(cf, a), attachments(cf, b)
    assert att_a["pages"] == 1 and att_b["pages"] == 2
    import pypdfium2 as pdfium

    for att, pages in ((att_a, 1), (att_b, 2)):
        doc = pdfium.PdfDocument(str(ws.root / att["path"]))
        assert len(doc) == pages
        doc.close()
        assert sha((ws.root / att["path"]).read_bytes()) == att["sha256"]


def test_a_file_of_nothing_but_blank_pages_is_kept(cf, ws, tmp_path):
    path = pdf_of(tmp_path / "misfeed.pdf", [speckled_blank(seed=1), speckled_blank(seed=2)])
    report = intake(cf, path)
    assert report["blank"] == [] and len(report["unmatched"]) == 2
    assert all("blank page" in u["reason"] for u in report["unmatched"])
    assert all((ws.root / u["path"]).is_file() for u in report["unmatched"])


# -- rescans --------------------------------------------------------------------------------------
@pytest.mark.tinydb_files
def test_a_rescan_is_kept_not_attached_unless_replaced(cf, ws, tmp_path):
    case_no, pdf = slip_of(cf, ws)
    first, second = tmp_path / "first.png", tmp_path / "second.png"
    degrade(page_image(pdf), angle=1, seed=1).save(first)
    degrade(page_image(pdf), angle=-2, seed=2).save(second)  # the same slip, scanned again
    intake(cf, first)
    serial = attachments(cf, case_no)[0]["serial"]

    report = intake(cf, second)
    assert report["matched"] == [] and report["incomplete"] is False
    [rescan] = report["rescans"]
    assert (rescan["case_no"], rescan["form"], rescan["serial"]) == (
        case_no,
        "feedback_slip",
        serial,
    )
    [kept] = rescan["paths"]
    assert (ws.root / kept).read_bytes() == second.read_bytes()  # not lost
    assert len(attachments(cf, case_no)) == 1
    assert intake(cf, second)["rescans"][0]["paths"] == [kept]  # kept once
    assert len(list((ws.records_dir / "unmatched").rglob("*.json"))) == 1

    replaced = intake_module.intake(ws, [second], by="扫描员", replace=True)
    [matched] = replaced.matched
    [earlier, new] = attachments(cf, case_no)
    assert new["path"] == matched["path"] and new["serial"] == serial
    assert (ws.root / new["path"]).read_bytes() == second.read_bytes()
    assert earlier["superseded_by"] == new["path"] and earlier["superseded_at"]
    assert (ws.root / earlier["path"]).is_file()  # the earlier one stays
    assert not (ws.root / kept).exists()  # the kept rescan left unmatched/
    assert list((ws.records_dir / "unmatched").rglob("*")) == [] or not any(
        p.is_file() for p in (ws.records_dir / "unmatched").rglob("*")
    )
    event = cf.json("case", "history", case_no)[-1]
    assert event["action"] == "scan.attach" and event["after"]["superseded"] == [earlier["path"]]


# -- matching by hand ---------------------------------------------------------------------------
def kept_page(cf, ws, tmp_path, name: str = "letter.png") -> dict:
    """A written page with no code, taken in: kept under unmatched/."""
    path = tmp_path / name
    handwritten(speckled_blank(), lines=6).save(path)
    [item] = intake(cf, path)["unmatched"]
    return item


@pytest.mark.tinydb_files
@pytest.mark.parametrize("how", ["printed", "name", "absolute", "note"])
def test_a_kept_page_is_assigned_by_hand(cf, ws, tmp_path, how):
    case_no = register(cf)
    accept(cf, case_no)
    item = kept_page(cf, ws, tmp_path)
    page = ws.root / item["path"]
    note = page.with_suffix(".json")
    data = page.read_bytes()
    ref = {
        "printed": item["path"],
        "name": page.name,
        "absolute": str(page),
        "note": str(note.relative_to(ws.root)),
    }[how]
    result = cf.json(
        "scan",
        "assign",
        ref,
        case_no,
        "--form",
        "feedback_slip",
        "--reason",
        "二维码被污损，按案号手工核对",
        "--by",
        "吴芳",
    )
    [att] = attachments(cf, case_no)
    assert att == result["attachment"]
    assert att["kind"] == "scan" and att["form"] == "feedback_slip" and att["pages"] == 1
    stored = (ws.root / att["path"]).read_bytes()
    assert stored == data and att["sha256"] == sha(stored)
    assert att["assigned"]["by"] == "吴芳" and att["assigned"]["from"] == item["path"]
    assert not page.exists() and not note.exists()  # in exactly one place
    event = cf.json("case", "history", case_no)[-1]
    assert event["action"] == "scan.assign" and event["by"] == "吴芳"
    assert event["after"]["reason"] == "二维码被污损，按案号手工核对"
    assert event["after"]["from"] == item["path"]

    again = intake(cf, tmp_path / "letter.png")  # the same scan taken in again
    assert again["unmatched"] == [] and len(again["duplicates"]) == 1
    assert not any(p.is_file() for p in (ws.records_dir / "unmatched").rglob("*"))


def test_assign_refusals(cf, ws, tmp_path):
    case_no = register(cf)
    item = kept_page(cf, ws, tmp_path)
    [sealed] = closed_cases(cf, tmp_path, 1)
    cf.json("case", "signoff", sealed, "--by", "赵敏")
    by = ("--by", "吴芳")
    refused(
        cf,
        ws,
        "scan",
        "assign",
        "nothing-p001.pdf",
        case_no,
        "--form",
        "feedback_slip",
        *by,
        expect="no page nothing-p001.pdf",
    )
    refused(
        cf,
        ws,
        "scan",
        "assign",
        item["path"],
        "TS-2026-999999",
        "--form",
        "feedback_slip",
        *by,
        expect="no case TS-2026-999999",
    )
    refused(
        cf,
        ws,
        "scan",
        "assign",
        item["path"],
        case_no,
        "--form",
        "bogus",
        *by,
        expect=("--form", "unknown form 'bogus'", "feedback_slip"),
    )
    refused(
        cf,
        ws,
        "scan",
        "assign",
        item["path"],
        sealed,
        "--form",
        "feedback_slip",
        *by,
        expect=(sealed, "can no longer be changed"),
    )
    assert (ws.root / item["path"]).is_file()
    usage = cf("scan", "assign", item["path"], case_no, *by)  # no --form
    assert usage.exit_code == 2


# -- slip return --scan ---------------------------------------------------------------------------
def slip_return(cf, case_no: str, scan) -> object:
    return (
        "slip", "return", case_no, *RETURN_ARGS, "--customer-signed", "--scan", str(scan),
        "--by", "李明", "--at", "2026-11-18T16:00:00+08:00",
    )  # fmt: skip


def test_slip_return_refuses_the_code_of_a_form_that_is_not_returned(cf, ws, tmp_path):
    case_no, _ = slip_of(cf, ws)
    card = next(
        ws.root / d["path"]
        for d in cf.json("case", "show", case_no)["documents"]
        if d["form"] == "record_card" and d["format"] == "pdf"
    )
    scan = tmp_path / "card.png"
    degrade(page_image(card), angle=1).save(scan)
    refused(
        cf,
        ws,
        *slip_return(cf, case_no, scan),
        expect=("card.png", "record_card", "not a returned form"),
    )


def test_slip_return_refuses_a_scan_without_a_code_unless_told(cf, ws, tmp_path):
    case_no, _ = slip_of(cf, ws)
    scan = tmp_path / "faded.png"
    handwritten(speckled_blank(), lines=8).save(scan)
    refused(cf, ws, *slip_return(cf, case_no, scan), expect=("faded.png", "no code can be read"))
    # The clerk's word (no_code): attached as the case's feedback slip.
    with ws.store.transaction() as txn:
        case = intake_module.attach_for_case(
            txn, ws, txn.get(case_no), scan, "2026-11-18T16:00:00+08:00", no_code=True
        )
        txn.replace(case)
    [att] = attachments(cf, case_no)
    assert att["form"] == "feedback_slip" and att["serial"] == 0
    assert (ws.root / att["path"]).read_bytes() == scan.read_bytes()


def test_slip_return_takes_the_contact_letters_receipt(cf, ws, tmp_path):
    case_no = register(cf)
    accept(cf, case_no)
    letter = cf.json("letter", "issue", case_no, "--by", "吴芳")
    pdf = next(ws.root / d["path"] for d in letter["documents"] if d["format"] == "pdf")
    scan = tmp_path / "receipt.png"
    degrade(page_image(pdf), angle=-1).save(scan)
    result = cf.json(*slip_return(cf, case_no, scan))
    [att] = result["case"]["attachments"]
    assert att["form"] == "contact_receipt"
    assert json.loads(json.dumps(att))["sha256"] == sha(scan.read_bytes())
