"""Scan intake: returned paper forms, found by their QR code and attached to their case.

An ordered pipeline of steps over the scanned pages (after paperless-ngx's consumer):
read the pages (PDF via pypdfium2, images via Pillow), find QR codes (zxing-cpp), check each
code (this workspace, check digits, a known case that may still change), group the pages
(a page without a code follows the page before it: the back of a slip), drop what was
already taken in, then store everything in one transaction. Nothing is ever lost: a page
that cannot be matched is kept under records/unmatched/ with the reason, and reported.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from complaintforms.documents.qrcode import FormRef, parse_payload, verify
from complaintforms.domain.timeutil import iso
from complaintforms.domain.timeutil import now as clock_now
from complaintforms.errors import ComplaintFormsError, NotFoundError, ValidationError
from complaintforms.i18n import N_
from complaintforms.services.messages import Notice, as_error, joined
from complaintforms.storage.base import Transaction
from complaintforms.storage.paths import shown, stored_path
from complaintforms.workspace import Workspace

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
SUFFIXES = (".pdf", *IMAGE_SUFFIXES)
SCAN_DPI = 200
SEALED = ("signed_off", "archived")
# Why a page was kept unmatched, when no code on it could be checked: stored in English in
# the note beside the page, compared here, shown translated (services.messages.Notice).
NO_CODE = Notice(N_("no code"))
NOT_OURS = Notice(N_("no complaintforms QR code"))
FOREIGN_CODE = Notice(N_("a QR code that is not ours"))


@dataclass
class Source:
    path: Path
    data: bytes
    sha256: str
    kind: str  # "pdf" or "image"
    pages: int = 0


@dataclass
class Page:
    source: Source
    index: int  # 0-based
    codes: list[str] = field(default_factory=list)
    ref: FormRef | None = None
    problem: str | None = None  # a Notice


@dataclass
class Group:
    """Pages that belong together: one returned form and the pages behind it."""

    ref: FormRef
    source: Source
    pages: list[int]

    @property
    def key(self) -> str:
        """What makes a second intake of the same scan a duplicate."""
        return f"{self.source.sha256}:{','.join(map(str, self.pages))}"


@dataclass
class Unmatched:
    source: Source
    page: int
    reason: str  # a Notice: the English text, with its message id


@dataclass
class IntakePlan:
    groups: list[Group] = field(default_factory=list)
    unmatched: list[Unmatched] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)
    pages: int = 0


@dataclass
class IntakeReport:
    matched: list[dict] = field(default_factory=list)
    unmatched: list[dict] = field(default_factory=list)
    duplicates: list[dict] = field(default_factory=list)
    pages: int = 0

    def as_dict(self) -> dict:
        return {
            "pages": self.pages,
            "matched": self.matched,
            "unmatched": self.unmatched,
            "duplicates": self.duplicates,
        }


# -- step 1: read -------------------------------------------------------------------------------
def collect_files(paths: Iterable[Path]) -> list[Path]:
    """Files, and the scans inside folders (sorted, so a stack keeps its order)."""
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            files += sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES
            )
        elif path.is_file():
            if path.suffix.lower() not in SUFFIXES:
                raise ValidationError(
                    N_("{path}: not a PDF or an image ({suffixes})"),
                    path=str(path),
                    suffixes=", ".join(SUFFIXES),
                )
            files.append(path)
        else:
            raise ValidationError(N_("{path}: no such file or folder"), path=str(path))
    return files


def read_source(path: Path) -> Source:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ValidationError(
            N_("{path}: cannot be read: {error}"), path=str(path), error=exc.strerror or str(exc)
        ) from None
    kind = "pdf" if path.suffix.lower() == ".pdf" else "image"
    return Source(path, data, hashlib.sha256(data).hexdigest(), kind)


def page_images(source: Source):
    """Yield (index, grey PIL image) for each page, one at a time to keep memory flat."""
    if source.kind == "pdf":
        import pypdfium2 as pdfium

        try:
            pdf = pdfium.PdfDocument(source.data)
        except pdfium.PdfiumError as exc:
            raise ValidationError(
                N_("{name}: not a readable PDF ({error})"), name=source.path.name, error=str(exc)
            ) from None
        try:
            source.pages = len(pdf)
            for i in range(len(pdf)):
                yield i, pdf[i].render(scale=SCAN_DPI / 72, grayscale=True).to_pil()
        finally:
            pdf.close()
    else:
        from PIL import Image, ImageSequence, UnidentifiedImageError

        try:
            image = Image.open(io.BytesIO(source.data))
            frames = [f.convert("L") for f in ImageSequence.Iterator(image)]
        except (UnidentifiedImageError, OSError) as exc:
            raise ValidationError(
                N_("{name}: not a readable image ({error})"), name=source.path.name, error=str(exc)
            ) from None
        source.pages = len(frames)
        yield from enumerate(frames)


# -- step 2: find codes ----------------------------------------------------------------------------
def find_codes(image) -> list[str]:
    """QR codes on a page. zxing-cpp copes with rotation, skew, blur and speckles; a second,
    sharpened pass catches faint or low-resolution scans."""
    import zxingcpp

    fmt = zxingcpp.BarcodeFormat.QRCode
    found = zxingcpp.read_barcodes(image, formats=fmt)
    if not found:
        from PIL import ImageFilter, ImageOps

        boosted = ImageOps.autocontrast(image.filter(ImageFilter.MedianFilter(3)))
        if boosted.width < 2000:
            boosted = boosted.resize((boosted.width * 2, boosted.height * 2))
        found = zxingcpp.read_barcodes(boosted, formats=fmt)
    return [r.text for r in found if r.text]


# -- step 3: check codes -------------------------------------------------------------------------------
def check_page(ws: Workspace, page: Page, cases: dict[str, dict]) -> None:
    ours = []
    for text in page.codes:
        try:
            ours.append(parse_payload(text))
        except ValidationError:
            continue
    if not ours:
        page.problem = NOT_OURS if not page.codes else FOREIGN_CODE
        return
    problems: dict[str, ComplaintFormsError] = {}
    for ref in ours:
        try:
            verify(ws, ref)
            case = cases.get(ref.case_no)
            if case is None:
                case = ws.store.get(ref.case_no)
                cases[ref.case_no] = case
            if case["status"] in SEALED:
                raise ValidationError(
                    N_("{case_no} is signed off and can no longer be changed"),
                    case_no=ref.case_no,
                )
        except (ValidationError, NotFoundError) as exc:
            problems.setdefault(str(exc), exc)
            continue
        page.ref = ref
        return
    page.problem = joined(problems.values())


# -- step 4: group -------------------------------------------------------------------------------------------
def group_pages(pages: list[Page], plan: IntakePlan) -> None:
    current: Group | None = None
    for page in pages:
        if page.ref is not None:
            current = Group(page.ref, page.source, [page.index])
            plan.groups.append(current)
        elif page.codes or current is None or current.source is not page.source:
            # A page whose code failed its check is never taken as the back of another form.
            current = None if page.codes else current
            plan.unmatched.append(Unmatched(page.source, page.index, page.problem or NO_CODE))
        else:
            current.pages.append(page.index)


def plan_intake(
    ws: Workspace, files: list[Path], progress: Callable[[int], None] | None = None
) -> IntakePlan:
    """Steps 1-4: everything that only reads. No file is written."""
    plan = IntakePlan()
    cases: dict[str, dict] = {}
    for path in files:
        source = read_source(path)
        plan.sources.append(source)
        pages = []
        for index, image in page_images(source):
            page = Page(source, index, find_codes(image))
            check_page(ws, page, cases)
            pages.append(page)
            plan.pages += 1
            if progress:
                progress(1)
        group_pages(pages, plan)
    return plan


# -- steps 5 and 6: drop duplicates, store ---------------------------------------------------------------
def extract_pages(source: Source, pages: list[int]) -> tuple[bytes, str]:
    """The group's pages as a file of their own: (bytes, suffix)."""
    if pages == list(range(source.pages)):  # the whole file: keep it exactly as scanned
        return source.data, source.path.suffix.lower()
    if source.kind == "pdf":
        import pypdfium2 as pdfium

        src = pdfium.PdfDocument(source.data)
        out = pdfium.PdfDocument.new()
        try:
            out.import_pages(src, pages)
            buf = io.BytesIO()
            out.save(buf)
            return buf.getvalue(), ".pdf"
        finally:
            out.close()
            src.close()
    from PIL import Image, ImageSequence

    frames = [
        f.convert("RGB")
        for i, f in enumerate(ImageSequence.Iterator(Image.open(io.BytesIO(source.data))))
        if i in pages
    ]
    buf = io.BytesIO()
    frames[0].save(buf, format="PDF", save_all=True, append_images=frames[1:], resolution=SCAN_DPI)
    return buf.getvalue(), ".pdf"


def stage_group(txn: Transaction, case: dict, group: Group, received_at: str) -> dict | None:
    """Stage the group's file and return the case with the attachment, or None if it is
    already attached (the same scan taken in twice)."""
    if any(a.get("source") == group.key for a in case["attachments"]):
        return None
    data, suffix = extract_pages(group.source, group.pages)
    digest = hashlib.sha256(data).hexdigest()
    if any(a.get("sha256") == digest for a in case["attachments"]):
        return None
    rel = stored_path(
        "scan",
        year=case["received_at"][:4],
        case_no=case["case_no"],
        name=f"{group.ref.form}-{group.ref.serial:06d}-{digest[:12]}{suffix}",
    )
    txn.put_file(rel, data)
    entry = {
        "kind": "scan",
        "form": group.ref.form,
        "path": shown(rel),
        "sha256": digest,
        "pages": len(group.pages),
        "received_at": received_at,
        "serial": group.ref.serial,
        "source": group.key,
        "source_name": group.source.path.name,
    }
    return {**case, "attachments": [*case["attachments"], entry]}


def stage_unmatched(
    txn: Transaction, kept: set[str], item: Unmatched, received_at: str
) -> dict | None:
    """Keep a page that found no case, with the reason beside it; once per scan and page
    (`kept`: the names of the notes already kept, from every day)."""
    import json

    key = f"{item.source.sha256[:16]}-p{item.page + 1:03d}"
    day = received_at[:10]
    if f"{key}.json" in kept:
        return None
    kept.add(f"{key}.json")
    data, suffix = extract_pages(item.source, [item.page])
    rel = stored_path("unmatched", day=day, name=f"{key}{suffix}")
    txn.put_file(rel, data)
    note = {
        "source": item.source.path.name,
        "source_sha256": item.source.sha256,
        "page": item.page + 1,
        "reason": str(item.reason),
        "received_at": received_at,
        "path": shown(rel),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    txn.put_file(
        stored_path("unmatched", day=day, name=f"{key}.json"),
        json.dumps(note, ensure_ascii=False, indent=2).encode("utf-8"),
    )
    return note


def intake(
    ws: Workspace,
    paths: Iterable[Path],
    *,
    by: str,
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> IntakeReport:
    """`scan intake`: attach every matched form to its case; keep and report the rest."""
    files = collect_files(paths)
    if on_total:
        on_total(count_pages(files))
    plan = plan_intake(ws, files, progress)
    report = IntakeReport(pages=plan.pages)
    now = iso(clock_now())
    with ws.store.transaction() as txn:
        kept = {path.rsplit("/", 1)[-1] for path in ws.store.list_files("unmatched")}
        for group in plan.groups:
            case = txn.get(group.ref.case_no)
            if case["status"] in SEALED:  # signed off since the plan was made
                plan.unmatched.extend(
                    Unmatched(
                        group.source,
                        p,
                        Notice(N_("{case_no} is signed off"), case_no=case["case_no"]),
                    )
                    for p in group.pages
                )
                continue
            where = {
                "case_no": case["case_no"],
                "form": group.ref.form,
                "source": group.source.path.name,
                "pages": [p + 1 for p in group.pages],
            }
            new = stage_group(txn, case, group, now)
            if new is None:
                report.duplicates.append(where)
                continue
            txn.replace(new)
            entry = new["attachments"][-1]
            txn.log("scan.attach", by, case["case_no"], at=now, after={"attachment": entry})
            report.matched.append({**where, "path": entry["path"]})
        for item in plan.unmatched:
            note = stage_unmatched(txn, kept, item, now)
            where = {"source": item.source.path.name, "page": item.page + 1, "reason": item.reason}
            if note is None:
                report.duplicates.append(where)
            else:
                report.unmatched.append({**where, "path": note["path"]})
        if report.unmatched:
            txn.log("scan.unmatched", by, None, at=now, after={"pages": report.unmatched})
    return report


def count_pages(files: list[Path]) -> int:
    total = 0
    for path in files:
        if path.suffix.lower() == ".pdf":
            import pypdfium2 as pdfium

            try:
                pdf = pdfium.PdfDocument(str(path))
                total += len(pdf)
                pdf.close()
            except pdfium.PdfiumError:
                total += 1
        else:
            total += 1
    return total


def attach_for_case(
    txn: Transaction, ws: Workspace, case: dict, path: Path, received_at: str
) -> dict:
    """`slip return --scan FILE`: the same reading and checks, for one case the clerk names.

    Pages with this case's code are attached by their code; a scan in which no code can be
    read is attached as the clerk says; a code of another case or workspace is refused."""
    files = collect_files([path])
    plan = plan_intake(ws, files)
    foreign = [u for u in plan.unmatched if u.reason not in (NO_CODE, NOT_OURS)]
    others = [g for g in plan.groups if g.ref.case_no != case["case_no"]]
    if others:
        raise ValidationError(
            N_("{field}: {name} carries the code of {other}, not {case_no}"),
            field="scan",
            name=path.name,
            other=others[0].ref.case_no,
            case_no=case["case_no"],
        )
    if foreign:
        raise ValidationError(
            N_("{field}: {name} page {page}: {reason}"),
            field="scan",
            name=path.name,
            page=foreign[0].page + 1,
            reason=as_error(foreign[0].reason),
        )
    if not plan.groups:  # no readable code: the clerk's word that it is this case's slip
        source = plan.sources[0]
        ref = FormRef(ws.workspace_id, case["case_no"], "feedback_slip", 0, "")
        plan.groups = [Group(ref, source, list(range(source.pages)))]
    for group in plan.groups:
        new = stage_group(txn, case, group, received_at)
        if new is not None:
            case = new
    return case
