"""Material attached to a case by hand (DESIGN.md section 13): the complainant's evidence
(`case attach`: the letter, photos, receipts; 投诉信函应复印，留存备查) and a scanned page
kept under records/unmatched/ that the clerk matches to its case (`scan assign`).

Both are kept as files in the store, each an entry of the case's `attachments` with its
SHA-256 (and so sealed into the archive bundle with the scans), both are refused on a case
that is signed off, and both write one audit event.

An evidence attachment is `{kind: "evidence", evidence_kind, form: null, path, sha256,
pages, received_at, note, by, name}`: `pages` for a PDF, null for an image; `name` the
file's own name. Its type is told by its content, never by its name.
"""

from __future__ import annotations

import hashlib
import math
import os
import stat
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from complaintforms.documents.forms import FORMS, RETURNABLE_FORMS
from complaintforms.domain import model
from complaintforms.domain.enums import label
from complaintforms.domain.timeutil import iso, parse_time
from complaintforms.domain.timeutil import now as clock_now
from complaintforms.errors import (
    ComplaintFormsError,
    NotFoundError,
    StateError,
    ValidationError,
)
from complaintforms.i18n import N_
from complaintforms.services.messages import Notice, as_error
from complaintforms.services.scanfiles import Refused, limits_for, open_scan
from complaintforms.storage.paths import PREFIX, logical, shown, stored_path
from complaintforms.workspace import Workspace

# The kinds of evidence: code -> label (stored as the code, shown with the label; the
# command line takes either, as it does for every enumeration).
EVIDENCE_KINDS: dict[str, str] = {
    "letter": "信函",
    "photo": "照片",
    "receipt": "收据",
    "other": "其他",
}

# The types of file kept as evidence, told from their first bytes: type -> stored suffix.
# Phones send HEIC photos and WebP pictures; a scanner PDF, JPEG, PNG or TIFF.
TYPES = {
    "pdf": ".pdf",
    "jpeg": ".jpg",
    "png": ".png",
    "tiff": ".tif",
    "webp": ".webp",
    "heic": ".heic",
}
TYPE_NAMES = "PDF, JPEG, PNG, TIFF, WebP, HEIC"

# A case in these states can no longer change (signed off), or is out of the procedure.
CLOSED_TO_CHANGE = ("signed_off", "archived", "void")


def parse_evidence_kind(value: object, field: str = "kind") -> str:
    """The code of an evidence kind given as its code or its Chinese label."""
    text = str(value).strip() if value is not None else ""
    if text in EVIDENCE_KINDS:
        return text
    for code, label_ in EVIDENCE_KINDS.items():
        if text == label_:
            return code
    raise ValidationError(
        N_("{field}: unknown value {value}; expected one of {allowed}"),
        field=field,
        value=repr(text),
        allowed=", ".join(f"{code} ({label_})" for code, label_ in EVIDENCE_KINDS.items()),
    )


def sniff_type(head: bytes) -> str | None:
    """The type of a file from its first bytes (None: not one of TYPES)."""
    if head.startswith(b"%PDF-") or b"%PDF-" in head[:1024]:
        return "pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[4:8] == b"ftyp" and head[8:12] in (
        b"heic",
        b"heix",
        b"hevc",
        b"heim",
        b"heis",
        b"mif1",
        b"msf1",
    ):
        return "heic"
    return None


def refuse_if_closed(case: dict, step: str) -> None:
    """The StateError of a step on a case that can no longer change, as the workflow refuses
    a step (domain.workflow.next_state): the case, its status and the hint. `step` is a
    message id."""
    status = case["status"]
    if status not in CLOSED_TO_CHANGE:
        return
    hint = (
        N_("; a void case is out of the procedure")
        if status == "void"
        else N_("; a signed-off case can no longer be changed")
    )
    raise StateError(
        N_("{case_no} is {status} ({status_label}): cannot {step} it{hint}"),
        case_no=case["case_no"],
        step=ComplaintFormsError(step),
        status=status,
        status_label=label("status", status),
        hint=ComplaintFormsError(hint),
    )


def plain_name(path: Path) -> str:
    """A file's name as it can be recorded (JSON, the audit log): NFC, and bytes that are
    not UTF-8 shown as U+FFFD."""
    name = os.fsencode(path.name).decode("utf-8", "replace")
    return unicodedata.normalize("NFC", name)


@dataclass
class Evidence:
    """A file checked for attaching: its bytes are read again when it is stored."""

    path: Path
    name: str
    sha256: str
    type: str
    size: int
    pages: int | None

    def data(self, limit: int) -> bytes:
        with open_scan(self.path, follow=False) as fh:
            data = fh.read(limit + 1)
        if hashlib.sha256(data).hexdigest() != self.sha256:
            raise ValidationError(
                N_("{name}: changed while it was being attached; attach it again"),
                name=self.name,
            )
        return data


def _refused(name: str, reason: object) -> ValidationError:
    return ValidationError(N_("{name}: {reason}"), name=name, reason=as_error(reason))


def check_file(path: Path, limit: int) -> Evidence:
    """A file that can be kept as evidence: a regular file (a link, folder or device is
    refused), not empty, at most `limit` bytes, of one of TYPES by its content; a PDF that
    can be read (its pages counted)."""
    name = plain_name(path)
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        raise ValidationError(N_("{path}: no such file or folder"), path=str(path)) from None
    except OSError as exc:
        raise _refused(
            name, Notice(N_("cannot be read: {error}"), error=exc.strerror or str(exc))
        ) from None
    if stat.S_ISDIR(mode):
        raise _refused(name, Notice(N_("a folder, not a file: not attached")))
    try:
        fh = open_scan(path, follow=False)
    except Refused as refused:
        raise _refused(name, refused.reason) from None
    with fh:
        size = os.fstat(fh.fileno()).st_size
        if size > limit:
            raise _refused(
                name,
                Notice(
                    N_("larger than {limit} MB ({size} MB): not attached"),
                    limit=limit // (1024 * 1024),
                    size=math.ceil(size / (1024 * 1024)),
                ),
            )
        digest = hashlib.sha256()
        head = b""
        while chunk := fh.read(1024 * 1024):
            head = head or chunk[:1024]
            digest.update(chunk)
    if not head:
        raise _refused(name, Notice(N_("an empty file")))
    kind = sniff_type(head)
    if kind is None:
        raise _refused(
            name,
            Notice(N_("not a {types} file (told by its content): not attached"), types=TYPE_NAMES),
        )
    return Evidence(path, name, digest.hexdigest(), kind, size, pdf_pages(path, name, kind))


def pdf_pages(path: Path, name: str, kind: str) -> int | None:
    """The pages of a PDF (None for an image); a PDF that cannot be read is refused."""
    if kind != "pdf":
        return None
    import pypdfium2 as pdfium

    try:
        with open_scan(path, follow=False) as fh:
            pdf = pdfium.PdfDocument(fh)
            try:
                count = len(pdf)
            finally:
                pdf.close()
    except Refused as refused:
        raise _refused(name, refused.reason) from None
    except Exception as exc:  # pdfium's errors on a damaged file: a reason, not a traceback
        raise _refused(name, Notice(N_("not a readable PDF ({error})"), error=str(exc))) from None
    if count == 0:
        raise _refused(name, Notice(N_("a PDF without pages")))
    return count


@dataclass
class AttachResult:
    case: dict
    attached: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # Notices

    def as_dict(self) -> dict:
        return {
            "case": self.case,
            "attached": self.attached,
            "warnings": [str(w) for w in self.warnings],
        }


def attach_evidence(
    ws: Workspace,
    case_no: str,
    paths: list[Path],
    *,
    kind: str,
    by: str,
    note: str | None = None,
    at: object = None,
) -> AttachResult:
    """`case attach`: keep the files as the case's evidence, all or none: every file is
    checked before anything is written. A file attached to the case before (the same
    SHA-256), or named twice, is not attached again (a warning says so). One audit event,
    `case.attach`, with what was added; none when nothing was."""
    from complaintforms.services.cases import view

    code = parse_evidence_kind(kind)
    by = model.text(by, "by", required=True, limit=model.MAX_NAME)
    note = model.text(note, "note")
    when = iso(parse_time(at, "at")) if at else iso(clock_now())
    if not paths:
        raise ValidationError(N_("{field}: required"), field="files")
    limit = limits_for(ws.config).file_bytes
    checked = [check_file(Path(p), limit) for p in paths]
    ws.store.get(case_no)  # an unknown case is refused before anything is read again
    warnings: list[str] = []
    now = iso(clock_now())
    with ws.store.transaction() as txn:
        case = txn.get(case_no)
        refuse_if_closed(case, N_("attach evidence to"))
        known = {a.get("sha256"): a for a in case["attachments"]}
        added: list[dict] = []
        for item in checked:
            if item.sha256 in known:
                warnings.append(
                    Notice(
                        N_("{name} is attached to {case_no} already ({path}): not attached again"),
                        name=item.name,
                        case_no=case_no,
                        path=known[item.sha256]["path"],
                    )
                )
                continue
            rel = stored_path(
                "scan",
                year=case["received_at"][:4],
                case_no=case["case_no"],
                name=f"evidence-{code}-{item.sha256[:12]}{TYPES[item.type]}",
            )
            txn.put_file(rel, item.data(limit))
            entry = {
                "kind": "evidence",
                "evidence_kind": code,
                "form": None,
                "path": shown(rel),
                "sha256": item.sha256,
                "pages": item.pages,
                "received_at": when,
                "note": note,
                "by": by,
                "name": item.name,
                "type": item.type,
                "bytes": item.size,
            }
            known[item.sha256] = entry
            added.append(entry)
        if added:
            case = {**case, "attachments": [*case["attachments"], *added]}
            txn.replace(case)
            txn.log("case.attach", by, case_no, at=now, after={"attachments": added})
    return AttachResult(view(ws, case), added, warnings)


# -- scan assign ---------------------------------------------------------------------------
# The forms a page can be attached as: every case form, and the contact letter's receipt
# stub, which is returned on its own.
def assignable_forms() -> list[str]:
    forms = [name for name, spec in FORMS.items() if spec.kind == "case"]
    return forms + [f for f in RETURNABLE_FORMS if f not in forms]


@dataclass
class UnmatchedPage:
    path: str  # logical
    note: str | None  # logical path of its note


def find_unmatched(ws: Workspace, page: str) -> UnmatchedPage:
    """A page kept under unmatched/, named as `scan intake` printed it (records/unmatched/
    <date>/<name>, relative to the workspace, or as an absolute path), by its name alone,
    or by its note."""
    text = str(page or "").strip()
    if not text:
        raise ValidationError(N_("{field}: required"), field="page")
    files = ws.store.list_files("unmatched")
    pages = [f for f in files if not f.endswith(".json")]
    notes = {f for f in files if f.endswith(".json")}

    def note_of(rel: str) -> str | None:
        note = rel.rsplit(".", 1)[0] + ".json" if "." in rel.rsplit("/", 1)[-1] else None
        return note if note in notes else None

    def page_of(note: str) -> str | None:
        stem = note.removesuffix(".json")
        found = [p for p in pages if p.rsplit(".", 1)[0] == stem]
        return found[0] if found else None

    candidates: list[str] = []
    norm = text.replace("\\", "/").removeprefix("./")
    if "/" not in norm:  # a name alone
        candidates = [f for f in files if f.rsplit("/", 1)[-1] == norm]
    else:
        rel = logical(norm) if norm.startswith(PREFIX) else norm
        candidates = [rel] if rel in files else []
    if not candidates and ("/" in norm or Path(text).is_absolute()):
        # A path on this machine (absolute, or relative to the current folder).
        try:
            wanted = Path(text).resolve()
        except (OSError, RuntimeError):
            wanted = None
        candidates = [
            rel for rel in files if wanted and ws.local_path(shown(rel)).resolve() == wanted
        ]
    if len(candidates) > 1:
        raise ValidationError(
            N_("{field}: {value} names {count} kept pages; give its path ({paths})"),
            field="page",
            value=text,
            count=len(candidates),
            paths=", ".join(shown(c) for c in candidates),
        )
    if not candidates:
        raise NotFoundError(
            N_("{field}: no page {value} is kept under {folder}"),
            field="page",
            value=text,
            folder=shown("unmatched/"),
        )
    rel = candidates[0]
    if rel.endswith(".json"):
        found = page_of(rel)
        if found is None:
            raise NotFoundError(
                N_("{field}: the note {value} has no page beside it"),
                field="page",
                value=text,
            )
        return UnmatchedPage(found, rel)
    return UnmatchedPage(rel, note_of(rel))


def parse_form(value: object) -> str:
    text = str(value or "").strip()
    forms = assignable_forms()
    if text not in forms:
        raise ValidationError(
            N_("{field}: unknown form {value}; forms: {known}"),
            field="form",
            value=repr(text),
            known=", ".join(forms),
        )
    return text


def assign_page(
    ws: Workspace,
    page: str,
    case_no: str,
    *,
    form: str,
    by: str,
    reason: str | None = None,
) -> dict:
    """`scan assign`: a page kept under unmatched/ attached by hand to `case_no` as a scan
    of `form`; the page and its note leave unmatched/ in the same transaction, so that the
    page is in one place. The reason goes into the audit event (`scan.assign`)."""
    from complaintforms.services.cases import view

    form = parse_form(form)
    by = model.text(by, "by", required=True, limit=model.MAX_NAME)
    reason = model.text(reason, "reason")
    found = find_unmatched(ws, page)
    now = iso(clock_now())
    with ws.store.transaction() as txn:
        case = txn.get(case_no)
        refuse_if_closed(case, N_("attach a scan to"))
        data = txn.read_file(found.path)
        if data is None:  # taken by another clerk meanwhile
            raise NotFoundError(
                N_("{field}: no page {value} is kept under {folder}"),
                field="page",
                value=str(page),
                folder=shown("unmatched/"),
            )
        note = (txn.read_json(found.note) if found.note else None) or {}
        name = found.path.rsplit("/", 1)[-1]
        kind = sniff_type(data[:1024])
        if kind is None:
            raise ValidationError(
                N_("{field}: {name} is not a {types} file: it cannot be attached as a scan"),
                field="page",
                name=name,
                types=TYPE_NAMES,
            )
        digest = hashlib.sha256(data).hexdigest()
        same = [a for a in case["attachments"] if a.get("sha256") == digest]
        if same:
            raise ValidationError(
                N_("{field}: {name} is attached to {case_no} already ({path})"),
                field="page",
                name=name,
                case_no=case_no,
                path=same[0]["path"],
            )
        pages = _pages_of(data, kind, name)
        suffix = TYPES[kind] if kind != "pdf" else ".pdf"
        rel = stored_path(
            "scan",
            year=case["received_at"][:4],
            case_no=case["case_no"],
            name=f"{form}-assigned-{digest[:12]}{suffix}",
        )
        txn.put_file(rel, data)
        source_sha = note.get("source_sha256")
        source = None
        if source_sha:
            where = "file" if note.get("page") is None else note["page"] - 1
            source = f"{source_sha}:{where}"
        entry = {
            "kind": "scan",
            "form": form,
            "path": shown(rel),
            "sha256": digest,
            "pages": pages,
            "received_at": note.get("received_at") or now,
            "serial": None,
            "source": source,
            "source_name": note.get("source"),
            "assigned": {"by": by, "at": now, "reason": reason, "from": shown(found.path)},
        }
        txn.delete_file(found.path)
        if found.note:
            txn.delete_file(found.note)
        case = {**case, "attachments": [*case["attachments"], entry]}
        txn.replace(case)
        txn.log(
            "scan.assign",
            by,
            case_no,
            at=now,
            after={
                "attachment": entry,
                "from": shown(found.path),
                "kept_because": note.get("reason"),
                "reason": reason,
            },
        )
    return {"case": view(ws, case), "attachment": entry, "removed": shown(found.path)}


def _pages_of(data: bytes, kind: str, name: str) -> int:
    """The pages of a kept page file: a PDF's page count, an image's frames (1 for most)."""
    if kind == "pdf":
        import pypdfium2 as pdfium

        try:
            pdf = pdfium.PdfDocument(data)
        except Exception as exc:  # a damaged file that was kept whole
            raise ValidationError(
                N_("{field}: {name}: {reason}"),
                field="page",
                name=name,
                reason=as_error(Notice(N_("not a readable PDF ({error})"), error=str(exc))),
            ) from None
        try:
            return len(pdf)
        finally:
            pdf.close()
    if kind == "heic":
        return 1
    import io

    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            return getattr(image, "n_frames", 1)
    except Exception:  # Pillow's many errors: the file is kept as it is, counted as one
        return 1
