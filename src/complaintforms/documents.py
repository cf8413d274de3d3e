"""Generated documents: render a form for a case inside a transaction and record it.

A form rendered once gets one document serial; its pdf, docx and html share that serial and
the QR code that carries it. Files are written to records/.tmp and moved into place by the
transaction's commit, so a failed render or a killed process leaves nothing half-written.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

from .forms import build_context, get_form
from .qrcode import make_ref
from .render import FORMATS, Renderer, renderer_for
from .storage import Transaction, write_file_synced


class RendererSet:
    """One renderer per format, reused across documents (font config, stylesheet, fetcher)."""

    def __init__(self, forms_dir: Path, **pdf_options):
        self.forms_dir = forms_dir
        self.pdf_options = pdf_options
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


def document_path(case: dict, form: str, serial: int, fmt: str) -> str:
    """Relative to records/."""
    return f"documents/{case['received_at'][:4]}/{case['case_no']}/{form}-{serial:06d}.{fmt}"


def render_for_case(
    ws,
    txn: Transaction,
    case: dict,
    form: str,
    formats: Iterable[str],
    *,
    at: str,
    renderers: RendererSet | None = None,
) -> list[dict]:
    """Render `form` for `case` in each format; return the `documents` entries."""
    spec = get_form(form, ws.config)
    renderers = renderers or RendererSet(ws.forms_dir)
    serial = txn.next_doc_serial()
    ref = make_ref(ws, case["case_no"], spec.name, serial)
    context = build_context(spec, case, ws.config, qr=ref.payload, serial=serial, generated_at=at)
    entries = []
    for fmt in formats:
        data = render_bytes(renderers.get(fmt), spec, context)
        tmp = txn.tmp_path(f".{fmt}")
        write_file_synced(tmp, data)
        rel = document_path(case, spec.name, serial, fmt)
        txn.add_file(tmp, rel)
        entries.append(
            {
                "form": spec.name,
                "format": fmt,
                "path": f"records/{rel}",
                "sha256": hashlib.sha256(data).hexdigest(),
                "generated_at": at,
                "serial": serial,
            }
        )
    return entries


def parse_formats(value: str | Iterable[str]) -> tuple[str, ...]:
    from .errors import ValidationError

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
