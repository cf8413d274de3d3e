"""Generated documents: render a form for a case inside a transaction and record it.

A form rendered once gets one document serial; its pdf, docx and html share that serial and
the QR code that carries it. Files are written to records/.tmp and moved into place by the
transaction's commit, so a failed render or a killed process leaves nothing half-written.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from complaintforms.documents.forms import FormSpec, build_context, build_list_context, get_form
from complaintforms.documents.qrcode import make_ref
from complaintforms.documents.render import FORMATS, Renderer, renderer_for
from complaintforms.errors import ComplaintFormsError, RenderError
from complaintforms.storage.tinydb import Transaction, write_file_synced


class RendererSet:
    """One renderer per format, reused across documents (font config, stylesheet, fetcher)."""

    def __init__(self, forms_dir: Path, **pdf_options):
        self.forms_dir = forms_dir
        # Every PDF is PDF/A-3u from the start, so the copy sealed into an archive bundle is
        # the document that went out, not a re-rendering of it.
        self.pdf_options = {"pdf_variant": "pdf/a-3u", **pdf_options}
        self._by_fmt: dict[str, Renderer] = {}

    def get(self, fmt: str) -> Renderer:
        if fmt not in self._by_fmt:
            options = self.pdf_options if fmt == "pdf" else {}
            self._by_fmt[fmt] = renderer_for(fmt, self.forms_dir, **options)
        return self._by_fmt[fmt]


def render_bytes(renderer: Renderer, spec, context: dict) -> bytes:
    if renderer.fmt == "html":
        return renderer.to_string(spec, context).encode("utf-8")
    return renderer.to_bytes(spec, context)


def render_all(
    renderers: RendererSet, spec, context: dict, formats: tuple[str, ...]
) -> dict[str, bytes]:
    """Render one document in several formats.

    The PDF (WeasyPrint) and the docx (docxtpl) share nothing, so with a PDF and another
    format the others are rendered in a forked child on the second core while this process
    renders the PDF: it saves docxtpl's import and the docx render (~0.15 s) on `case new`.
    Only in a single-threaded process, where fork is safe.
    """
    others = [f for f in formats if f != "pdf"]
    if (
        "pdf" not in formats
        or not others
        or not hasattr(os, "fork")
        or threading.active_count() > 1
    ):
        return {f: render_bytes(renderers.get(f), spec, context) for f in formats}
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: render the other formats, send them back, leave at once
        os.close(read_fd)
        try:
            try:
                payload = pickle.dumps(
                    ("ok", {f: render_bytes(renderers.get(f), spec, context) for f in others})
                )
            except ComplaintFormsError as exc:
                payload = pickle.dumps(("refused", str(exc)))
            except BaseException as exc:  # noqa: BLE001 - reported by the parent
                payload = pickle.dumps(("failed", f"{type(exc).__name__}: {exc}"))
            with os.fdopen(write_fd, "wb") as pipe:
                pipe.write(payload)
        finally:
            os._exit(0)
    os.close(write_fd)
    try:
        pdf = render_bytes(renderers.get("pdf"), spec, context)
    finally:
        with os.fdopen(read_fd, "rb") as pipe:
            raw = pipe.read()
        os.waitpid(pid, 0)
    if not raw:
        raise RenderError(f"{spec.title}: the docx renderer stopped unexpectedly")
    status, value = pickle.loads(raw)
    if status != "ok":
        raise RenderError(value) if status == "refused" else RuntimeError(value)
    return {f: pdf if f == "pdf" else value[f] for f in formats}


def document_path(case: dict, form: str, serial: int, fmt: str) -> str:
    """Relative to records/."""
    return f"documents/{case['received_at'][:4]}/{case['case_no']}/{form}-{serial:06d}.{fmt}"


@dataclass
class Prepared:
    """One document about to be rendered: its form, serial and filled-in values."""

    case: dict
    spec: FormSpec
    serial: int
    context: dict


def prepare(
    ws, txn: Transaction, case: dict, form: str, *, at: str, extra: dict | None = None
) -> Prepared:
    """Give the document its serial and QR codes and fill in its values (no rendering)."""
    spec = get_form(form, ws.config)
    serial = txn.next_doc_serial()
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
    return Prepared(case, spec, serial, context)


def stage(txn: Transaction, doc: Prepared, rendered: dict[str, bytes], *, at: str) -> list[dict]:
    """Write the rendered files to the transaction's staging area; return `documents` entries."""
    entries = []
    for fmt, data in rendered.items():
        tmp = txn.tmp_path(f".{fmt}")
        write_file_synced(tmp, data)
        rel = document_path(doc.case, doc.spec.name, doc.serial, fmt)
        txn.add_file(tmp, rel)
        entries.append(
            {
                "form": doc.spec.name,
                "format": fmt,
                "path": f"records/{rel}",
                "sha256": hashlib.sha256(data).hexdigest(),
                "generated_at": at,
                "serial": doc.serial,
            }
        )
    return entries


def render_for_case(
    ws,
    txn: Transaction,
    case: dict,
    form: str,
    formats: Iterable[str],
    *,
    at: str,
    renderers: RendererSet | None = None,
    extra: dict | None = None,
) -> list[dict]:
    """Render `form` for `case` in each format; return the `documents` entries.

    With a PDF among the formats, a warm render server does the work when one is running
    (renderd); otherwise this process renders and starts one for the commands that follow."""
    doc = prepare(ws, txn, case, form, at=at, extra=extra)
    return stage(txn, doc, render_files(ws, doc, tuple(formats), renderers), at=at)


def render_files(
    ws, doc: Prepared, formats: tuple[str, ...], renderers: RendererSet | None = None
) -> dict[str, bytes]:
    """One document's files: from the warm render server when one is running (renderd),
    else rendered here, after which a server is started for the commands that follow."""
    from complaintforms.documents import server as renderd

    family = ws.config.font_sans
    if "pdf" in formats:
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


def quieter_gc() -> None:
    """For long-lived render processes: layout allocates millions of short-lived objects, and
    the collector's default of a pass every 700 allocations took ~5 % of a slip's render time.
    Objects from the imports are frozen out of the passes; cycles are still collected."""
    import gc

    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


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


def render_list(
    ws,
    txn: Transaction,
    form: str,
    *,
    period: str,
    rows: list[dict],
    rel_dir: str,
    at: str,
    by: str,
    renderers: RendererSet | None = None,
    formats: tuple[str, ...] = ("pdf", "docx"),
    printed_period: str | None = None,
) -> list[dict]:
    """Render a register or list (not one case's form) into records/<rel_dir>/. `period`
    goes into the QR code; the form prints `printed_period`, by default the period in
    Chinese (2026年第四季度)."""
    from complaintforms.domain.paper import cn_period

    spec = get_form(form, ws.config)
    renderers = renderers or RendererSet(ws.forms_dir)
    serial = txn.next_doc_serial()
    ref = make_ref(ws, period, spec.name, serial)
    context = build_list_context(
        spec,
        ws.config,
        period=printed_period or cn_period(period),
        rows=rows,
        by=by,
        qr=ref.payload,
        serial=serial,
        generated_at=at,
    )
    rendered = render_all(renderers, spec, context, formats)
    entries = []
    for fmt in formats:
        tmp = txn.tmp_path(f".{fmt}")
        write_file_synced(tmp, rendered[fmt])
        rel = f"{rel_dir}/{spec.name}-{serial:06d}.{fmt}"
        txn.add_file(tmp, rel)
        entries.append(
            {
                "form": spec.name,
                "format": fmt,
                "path": f"records/{rel}",
                "sha256": hashlib.sha256(rendered[fmt]).hexdigest(),
                "generated_at": at,
                "serial": serial,
            }
        )
    return entries


def parse_formats(value: str | Iterable[str]) -> tuple[str, ...]:
    from complaintforms.errors import ValidationError

    items = value.split(",") if isinstance(value, str) else list(value)
    out = []
    for item in items:
        item = item.strip().lower()
        if item not in FORMATS:
            raise ValidationError(
                f"--format: unknown format {item!r}; formats: {', '.join(FORMATS)}"
            )
        if item not in out:
            out.append(item)
    if not out:
        raise ValidationError("--format: at least one format")
    return tuple(out)
