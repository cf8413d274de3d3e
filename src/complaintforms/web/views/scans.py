"""Scan intake in the browser (DESIGN.md section 11): `GET/POST /scans`, multipart field
`files` (several). The uploads are checked by their content (PDF, PNG, JPEG, TIFF) and size,
saved under names of ours in a private temporary folder, and taken in by the same library
intake as `scan intake`; the result page lists each page: its case and form, or why not."""

from __future__ import annotations

import tempfile
from pathlib import Path

from flask import Blueprint, render_template, request

from complaintforms.errors import ComplaintFormsError
from complaintforms.i18n import _
from complaintforms.services import webviews
from complaintforms.web import common

bp = Blueprint("scans", __name__)


def shown(text) -> str:
    """A text the library returned (a notice with values, or a message id), in the user's
    language."""
    if text is None:
        return ""
    render = getattr(text, "render", None)
    return render(_, common.field_label) if callable(render) else _(str(text))


def _page(status: int = 200, **context):
    return (
        render_template(
            "scans.html",
            shown=shown,
            outcomes=webviews.OUTCOMES,
            types=webviews.SCAN_TYPE_NAMES,
            **context,
        ),
        status,
    )


@bp.route("/scans", methods=["GET", "POST"])
@common.require("scan")
def scans():
    if request.method == "GET":
        return _page()
    from complaintforms.services.intake import intake

    ws = common.ws()
    replace = bool(request.form.get("replace"))
    uploads = [(f.filename, f.stream) for f in request.files.getlist("files")]
    try:
        # Not the store's scratch folder: a TinyDB store clears that at its next transaction
        # (recovery), which the intake itself begins.
        with tempfile.TemporaryDirectory(prefix="cf-scans-") as tmp:
            saved = webviews.save_uploads(ws, Path(tmp), uploads)
            report = intake(ws, [s.path for s in saved], by=common.by(), replace=replace)
    except ComplaintFormsError as exc:
        return _page(422, errors=common.errors_of(exc), values={"replace": replace})
    rows = webviews.intake_rows(report, [s.name for s in saved])
    return _page(report=report, rows=rows, values={"replace": replace})
