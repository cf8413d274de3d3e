"""Generated documents: serial, values, rendering, and the files a transaction stores.

A form rendered once gets one document serial; its pdf, docx and html share that serial and
the QR code that carries it. Rendering holds no lock: the serial is reserved first
(`reserve_serials`), the form is filled in (`prepare`) and rendered (`render_files`, or a
`RenderPool` for batches) from a snapshot of the case, and only then does a transaction
store the files with the step (`store_files`), so that a long batch never keeps a clerk
from registering. A failed render or a killed process leaves nothing half-written.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from complaintforms.documents.forms import FormSpec, build_context, build_list_context, get_form
from complaintforms.documents.qrcode import make_ref
from complaintforms.documents.render import (
    FORMATS,
    RendererSet,
    quieter_gc,
    render_all,
    render_bytes,
)
from complaintforms.storage.base import Conflict, Transaction
from complaintforms.storage.paths import shown, stored_path


@dataclass
class Prepared:
    """One document about to be rendered: its form, serial, filled-in values and where its
    files go (`kind` and `where`, for storage.paths.stored_path, with `ext` added)."""

    spec: FormSpec
    serial: int
    context: dict
    kind: str
    where: dict = field(default_factory=dict)
    case: dict | None = None

    def path(self, fmt: str) -> str:
        return stored_path(self.kind, **self.where, serial=self.serial, ext=fmt)


def reserve_serials(ws, count: int) -> list[int]:
    """Document serials for `count` documents, in a transaction of their own, so that the
    documents can be rendered with no lock held. A serial left unused is only a gap in the
    serials, never a number used twice."""
    if count == 0:
        return []
    with ws.store.transaction() as txn:
        return [txn.next_doc_serial() for _ in range(count)]


class Serials:
    """The serials of a step's documents, rendered with no lock held. First they are only
    read (the next ones free), so that a refused render writes nothing at all; `claim` takes
    them in the storing transaction, or raises Conflict when others took them meanwhile.
    After a conflict (`reserve=True`) they are reserved beforehand in a transaction of
    their own, so that a step cannot be held off for ever by a long batch."""

    def __init__(self, ws, count: int, *, reserve: bool = False):
        self.reserved = reserve
        self.values: list[int] = []
        if count:
            with ws.store.transaction() as txn:
                self.read(txn, count)

    def read(self, txn: Transaction, count: int) -> Serials:
        """Read (or, after a conflict, reserve) the serials in a transaction the caller has
        open anyway."""
        if self.reserved:
            self.values = [txn.next_doc_serial() for _ in range(count)]
        else:
            first = txn.current_doc_serial() + 1
            self.values = list(range(first, first + count))
        return self

    def claim(self, txn: Transaction) -> None:
        if self.reserved or not self.values:
            return
        if txn.current_doc_serial() + 1 != self.values[0]:
            raise Conflict
        for value in self.values:
            txn.next_doc_serial()
            assert txn.current_doc_serial() == value


def prepare(
    ws, case: dict, form: str, *, serial: int, at: str, extra: dict | None = None
) -> Prepared:
    """Fill in one case's form: its QR codes and values (no rendering, no I/O)."""
    spec = get_form(form, ws.config)
    ref = make_ref(ws, case["case_no"], spec.name, serial)
    codes = {
        key: make_ref(ws, case["case_no"], code_form, serial).payload
        for key, code_form in spec.extra_codes
    }
    context = build_context(
        spec,
        case,
        ws.config,
        qr=ref.payload,
        serial=serial,
        generated_at=at,
        codes=codes,
        extra=extra,
    )
    where = {"year": case["received_at"][:4], "case_no": case["case_no"], "form": spec.name}
    return Prepared(spec, serial, context, "document", where, case)


def prepare_list(
    ws,
    form: str,
    *,
    period: str,
    rows: list[dict],
    by: str,
    serial: int,
    at: str,
    kind: str,
    where: dict,
    printed_period: str | None = None,
    head: dict | None = None,
) -> Prepared:
    """A register or list (not one case's form). `period` goes into the QR code; the form
    prints `printed_period`, by default the period in Chinese (2026年第四季度), and the audit
    `head` (by default the store's head now) as its anchor."""
    from complaintforms.domain.paper import cn_period

    spec = get_form(form, ws.config)
    context = build_list_context(
        spec,
        ws.config,
        period=printed_period or cn_period(period),
        rows=rows,
        by=by,
        qr=make_ref(ws, period, spec.name, serial).payload,
        serial=serial,
        generated_at=at,
        anchor=audit_anchor(head or ws.store.audit_head()),
    )
    return Prepared(spec, serial, context, kind, where)


def audit_anchor(head: dict) -> str:
    """The audit head as printed and typed back: SEQ:HASH (the full SHA-256 in hex)."""
    return f"{head['seq']}:{head['hash']}"


def store_files(txn: Transaction, doc: Prepared, files: dict[str, bytes], *, at: str) -> list[dict]:
    """Put a rendered document's files into the transaction; return its `documents` entries."""
    entries = []
    for fmt, data in files.items():
        path = doc.path(fmt)
        txn.put_file(path, data)
        entries.append(
            {
                "form": doc.spec.name,
                "format": fmt,
                "path": shown(path),
                "sha256": hashlib.sha256(data).hexdigest(),
                "generated_at": at,
                "serial": doc.serial,
            }
        )
    return entries


def render_files(
    ws, doc: Prepared, formats: tuple[str, ...], renderers: RendererSet | None = None
) -> dict[str, bytes]:
    """One document's files: from the warm render server when one is running (renderd),
    else rendered here, after which a server is started for the commands that follow."""
    from complaintforms.documents import server as renderd

    family = ws.config.font_sans
    if "pdf" in formats:
        files = renderd.render(ws.forms_dir, family, doc.spec, doc.context, formats)
        if files is None and renderd.waits():  # the web server: start one and wait for it
            renderd.start(ws.forms_dir, family)
            files = renderd.render(ws.forms_dir, family, doc.spec, doc.context, formats)
        if files is not None:
            return files
    files = render_all(renderers or RendererSet(ws.forms_dir), doc.spec, doc.context, formats)
    if "pdf" in formats:
        renderd.start(ws.forms_dir, family)
    return files


# -- a pool of render processes, for batches ---------------------------------------------------
_WORKER_RENDERERS: RendererSet | None = None


def _worker_init(forms_dir: str) -> None:
    """Each worker keeps one WeasyPrint state (fonts, stylesheet) for all its documents."""
    global _WORKER_RENDERERS
    from complaintforms.documents.render import import_weasyprint

    import_weasyprint()
    _WORKER_RENDERERS = RendererSet(Path(forms_dir))
    quieter_gc()


def _worker_render(spec: FormSpec, context: dict, formats: tuple[str, ...]) -> dict[str, bytes]:
    assert _WORKER_RENDERERS is not None
    return {fmt: render_bytes(_WORKER_RENDERERS.get(fmt), spec, context) for fmt in formats}


class RenderPool:
    """Documents spread over worker processes (spawned: each has its own WeasyPrint and
    pdfium state, and none inherits the parent's lock or open files)."""

    def __init__(self, forms_dir: Path, workers: int):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self.executor = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_worker_init,
            initargs=(str(forms_dir),),
        )

    def submit(self, doc: Prepared, formats: tuple[str, ...]):
        return self.executor.submit(_worker_render, doc.spec, doc.context, formats)

    def __enter__(self) -> RenderPool:
        return self

    def __exit__(self, *exc) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)


def parse_formats(value: str | Iterable[str]) -> tuple[str, ...]:
    """Formats as given to a `format` option ("pdf,docx"), checked, without repeats."""
    from complaintforms.errors import ValidationError
    from complaintforms.i18n import N_

    items = value.split(",") if isinstance(value, str) else list(value)
    out = []
    for item in items:
        item = item.strip().lower()
        if item not in FORMATS:
            raise ValidationError(
                N_("{field}: unknown format {value}; formats: {known}"),
                field="format",
                value=repr(item),
                known=", ".join(FORMATS),
            )
        if item not in out:
            out.append(item)
    if not out:
        raise ValidationError(N_("{field}: at least one format"), field="format")
    return tuple(out)
