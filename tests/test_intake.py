"""Scan intake: real generated PDFs turned into scan-like images, read back to their cases."""

from __future__ import annotations

import json
import random

import pytest
from PIL import Image, ImageFilter

from .conftest import snapshot
from .test_procedure import accept, register


def slip_of(cf, ws, **changes) -> tuple[str, object]:
    case_no = register(cf, **changes)
    accept(cf, case_no)
    result = cf.json("slip", "issue", case_no, "--by", "吴芳")
    pdf = next(ws.root / d["path"] for d in result["documents"] if d["format"] == "pdf")
    return case_no, pdf


def page_image(pdf, dpi: int = 200, page: int = 0) -> Image.Image:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(pdf))
    try:
        return doc[page].render(scale=dpi / 72, grayscale=True).to_pil()
    finally:
        doc.close()


def degrade(
    image: Image.Image, *, angle: float, blur: float = 1.2, speckles: int = 15000, seed: int = 7
) -> Image.Image:
    out = image.rotate(angle, expand=True, fillcolor=255).filter(ImageFilter.GaussianBlur(blur))
    px = out.load()
    rnd = random.Random(seed)
    for _ in range(speckles):
        px[rnd.randrange(out.width), rnd.randrange(out.height)] = rnd.choice((0, 90, 255))
    return out


def blank_page(dpi: int = 200) -> Image.Image:
    return Image.new("L", (int(8.27 * dpi), int(11.69 * dpi)), 250)


def intake(cf, *paths, by: str = "扫描员") -> dict:
    """The intake's report; exit 1 when a page was not attached (kept unmatched), else 0."""
    result = cf("scan", "intake", *map(str, paths), "--by", by, json_out=True)
    report = json.loads(result.stdout)
    assert result.exit_code == (1 if report["unmatched"] or report["rejected"] else 0)
    return report


@pytest.mark.parametrize(
    ("angle", "fmt", "dpi"),
    [(90, "png", 200), (3, "jpeg", 150), (-2, "pdf", 300), (180, "png", 150), (93, "jpeg", 200)],
)
def test_a_degraded_scan_lands_on_its_case(cf, ws, tmp_path, angle, fmt, dpi):
    case_no, pdf = slip_of(cf, ws)
    scanned = degrade(page_image(pdf, dpi), angle=angle)
    path = tmp_path / f"scan.{'pdf' if fmt == 'pdf' else fmt}"
    if fmt == "pdf":
        scanned.convert("RGB").save(path, format="PDF", resolution=dpi)  # an image-only PDF
    else:
        scanned.save(path, format=fmt.upper(), quality=70) if fmt == "jpeg" else scanned.save(path)
    report = intake(cf, path)
    assert [(m["case_no"], m["form"]) for m in report["matched"]] == [(case_no, "feedback_slip")]
    assert report["unmatched"] == []
    [attachment] = cf.json("case", "show", case_no)["attachments"]
    assert (
        attachment["form"] == "feedback_slip"
        and attachment["kind"] == "scan"
        and attachment["pages"] == 1
    )
    assert (ws.root / attachment["path"]).read_bytes() == path.read_bytes()
    events = [e["action"] for e in cf.json("case", "history", case_no)]
    assert events[-1] == "scan.attach"


def test_a_stack_is_split_by_case_and_a_blank_separator_is_dropped(cf, ws, tmp_path):
    slips = [slip_of(cf, ws) for _ in range(3)]
    pages = [blank_page()] + [
        degrade(page_image(pdf), angle=0.5 * i, speckles=3000) for i, (_, pdf) in enumerate(slips)
    ]
    stack = tmp_path / "stack.pdf"
    pages[0].convert("RGB").save(
        stack,
        format="PDF",
        save_all=True,
        append_images=[p.convert("RGB") for p in pages[1:]],
        resolution=200,
    )
    report = intake(cf, stack)
    assert sorted(m["case_no"] for m in report["matched"]) == sorted(c for c, _ in slips)
    assert [m["pages"] for m in report["matched"]] == [[2], [3], [4]]
    # The blank sheet is dropped and reported, neither kept nor attached (issue 13).
    assert report["unmatched"] == []
    assert report["blank"] == [{"source": "stack.pdf", "page": 1}]
    assert not list((ws.records_dir / "unmatched").rglob("*.pdf"))
    for case_no, _ in slips:
        [att] = cf.json("case", "show", case_no)["attachments"]
        assert att["pages"] == 1 and att["path"].endswith(".pdf")


def test_a_page_without_a_code_follows_the_page_before(cf, ws, tmp_path):
    from .test_scan_assign import handwritten

    case_no, pdf = slip_of(cf, ws)
    front = page_image(pdf)
    back = handwritten(blank_page())  # the back of the slip, written on by hand
    path = tmp_path / "two-sided.pdf"
    front.convert("RGB").save(
        path, format="PDF", save_all=True, append_images=[back.convert("RGB")], resolution=200
    )
    report = intake(cf, path)
    assert report["matched"][0]["pages"] == [1, 2] and report["unmatched"] == []


def test_the_same_file_twice_is_attached_once(cf, ws, tmp_path):
    case_no, pdf = slip_of(cf, ws)
    path = tmp_path / "scan.png"
    degrade(page_image(pdf), angle=1).save(path)
    first = intake(cf, path)
    second = intake(cf, path)
    assert len(first["matched"]) == 1
    assert second["matched"] == [] and len(second["duplicates"]) == 1
    assert len(cf.json("case", "show", case_no)["attachments"]) == 1


def _page_with_code(payload: str) -> Image.Image:
    import segno

    page = blank_page()
    qr = segno.make(payload, error="m")
    import io

    buf = io.BytesIO()
    qr.save(buf, kind="png", scale=8, border=2)
    page.paste(Image.open(buf).convert("L"), (1200, 150))
    return page


def test_forged_and_foreign_codes_are_kept_not_attached(cf, ws, tmp_path):
    case_no, pdf = slip_of(cf, ws)
    from complaintforms.documents.qrcode import make_ref

    ref = make_ref(ws, case_no, "feedback_slip", 99)
    forged = ref.payload[:-8] + ("0" * 8 if ref.check != "0" * 8 else "1" * 8)
    foreign = ref.payload.replace(ws.workspace_id, "DEADBEEF")
    paths = []
    for name, payload in (
        ("forged.png", forged),
        ("foreign.png", foreign),
        ("unknown.png", make_ref(ws, "TS-2026-999999", "feedback_slip", 1).payload),
    ):
        path = tmp_path / name
        _page_with_code(payload).save(path)
        paths.append(path)
    before = cf.json("case", "show", case_no)
    report = intake(cf, *paths)
    assert report["matched"] == []
    reasons = {u["source"]: u["reason"] for u in report["unmatched"]}
    assert "check digits do not match" in reasons["forged.png"]
    assert "another workspace" in reasons["foreign.png"]
    assert "no case TS-2026-999999" in reasons["unknown.png"]
    assert cf.json("case", "show", case_no) == before
    kept = sorted(p.name for p in (ws.records_dir / "unmatched").rglob("*.png"))
    assert len(kept) == 3


def test_unreadable_input_is_refused_and_nothing_written(cf, ws, tmp_path):
    bad = tmp_path / "broken.pdf"
    bad.write_bytes(b"%PDF-1.4 this is not a pdf")
    report = intake(cf, bad)  # kept in unmatched/ with its reason, not lost
    assert report["matched"] == [] and len(report["rejected"]) == 1
    assert "not a readable PDF" in report["rejected"][0]["reason"]
    assert (ws.root / report["rejected"][0]["path"]).read_bytes() == bad.read_bytes()
    before = snapshot(ws)
    result = cf("scan", "intake", str(tmp_path / "missing.png"))
    assert snapshot(ws) == before
    assert result.exit_code == 1 and "no such file" in result.stderr


def test_slip_return_with_the_scan_of_another_case_is_refused(cf, ws, tmp_path):
    from .test_procedure import RETURN_ARGS

    case_a, _ = slip_of(cf, ws)
    _, pdf_b = slip_of(cf, ws)
    before = snapshot(ws)
    result = cf(
        "slip",
        "return",
        case_a,
        *RETURN_ARGS,
        "--customer-signed",
        "--scan",
        str(pdf_b),
        "--by",
        "李明",
        "--at",
        "2026-11-18T16:00:00+08:00",
    )
    assert result.exit_code == 1 and "carries the code of" in result.stderr
    assert snapshot(ws) == before
