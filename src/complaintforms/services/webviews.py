"""What the web pages of scans, reports, the opinion register and the archive need beyond
request handling (DESIGN.md section 11): uploads checked and saved under a name of ours,
the scan intake's report as one row per page, the periods offered, the reports and
registers already stored for a period, and the charts of a report's figures kept for the
image requests that follow the page.

Nothing here knows of Flask: a view hands in the uploaded streams and the parsed values,
and renders what comes back.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from complaintforms.domain.periods import Period, parse_month, parse_quarter
from complaintforms.errors import ValidationError
from complaintforms.i18n import N_
from complaintforms.services.evidence import sniff_type
from complaintforms.services.messages import Notice, as_error, joined
from complaintforms.services.scanfiles import limits_for
from complaintforms.storage.paths import logical, shown
from complaintforms.workspace import Workspace

# -- uploads of scans ---------------------------------------------------------------------
# What a scanner delivers, told from the file's first bytes (never from its name): the
# type -> the suffix the saved copy gets (services.scanfiles reads these).
SCAN_TYPES = {"pdf": ".pdf", "png": ".png", "jpeg": ".jpg", "tiff": ".tif"}
SCAN_TYPE_NAMES = "PDF, PNG, JPEG, TIFF"
# Files in one upload (the request itself is capped by the app's MAX_CONTENT_LENGTH).
MAX_UPLOAD_FILES = 100
_NAME_MAX = 80
_NAME_BYTES = 200
_UNSAFE = re.compile(r"[^\w.\-()（）]+")
_CHUNK = 1024 * 1024


@dataclass
class SavedUpload:
    name: str  # the file's name as saved (and as the intake reports it)
    path: Path
    kind: str
    size: int


def upload_name(client_name: str | None, kind: str) -> str:
    """A name of ours for an uploaded file: the last part of the client's name only (no
    folders), NFC, letters (Chinese too), digits and . - ( ) kept, anything else `_`, no
    leading dot, at most 80 characters (and 200 bytes), and the suffix of the type its content has."""
    text = unicodedata.normalize("NFC", str(client_name or ""))
    text = re.split(r"[/\\]", text)[-1]
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
    stem = text.rsplit(".", 1)[0] if "." in text else text
    stem = _UNSAFE.sub("_", stem).strip("._ ")[:_NAME_MAX]
    while len(stem.encode("utf-8")) > _NAME_BYTES:  # a file name has at most 255 bytes
        stem = stem[:-1]
    return (stem or "scan") + SCAN_TYPES[kind]


def _shown_name(client_name: str | None) -> str:
    """The client's name as a refusal quotes it (control characters left out, capped)."""
    text = unicodedata.normalize("NFC", str(client_name or "")).replace("\\", "/")
    text = "".join(ch for ch in text.rsplit("/", 1)[-1] if unicodedata.category(ch)[0] != "C")
    return text[:120] or "-"


def save_uploads(
    ws: Workspace, folder: Path, uploads: Iterable[tuple[str | None, BinaryIO]]
) -> list[SavedUpload]:
    """Each uploaded (client name, stream) saved into a folder of its own under `folder`,
    checked by its content to be a PDF, PNG, JPEG or TIFF within the workspace's size
    limit of one scan. Raises one ValidationError (field `files`) naming every file that is
    refused; then nothing is to be taken in. Parts without a name and without bytes (the
    empty field a browser sends when no file was chosen) are passed over."""
    limit = limits_for(ws.config).file_bytes
    saved: list[SavedUpload] = []
    problems: list[str] = []
    count = 0
    for client_name, stream in uploads:
        head = stream.read(1024)
        if not client_name and not head:
            continue
        count += 1
        if count > MAX_UPLOAD_FILES:
            problems.append(
                Notice(N_("more than {limit} files in one upload"), limit=MAX_UPLOAD_FILES)
            )
            break
        name = _shown_name(client_name)
        if not head:
            problems.append(Notice(N_("{name}: an empty file"), name=name))
            continue
        kind = sniff_type(head)
        if kind not in SCAN_TYPES:
            problems.append(
                Notice(
                    N_("{name}: not a {types} file; not taken in"),
                    name=name,
                    types=SCAN_TYPE_NAMES,
                )
            )
            continue
        own = folder / f"{count:03d}"
        own.mkdir()
        path = own / upload_name(client_name, kind)
        size = 0
        with open(path, "wb") as out:
            chunk = head
            while chunk:
                size += len(chunk)
                if size > limit:
                    break
                out.write(chunk)
                chunk = stream.read(_CHUNK)
        if size > limit:
            path.unlink()
            problems.append(
                Notice(
                    N_("{name}: larger than {limit} MB; not taken in"),
                    name=name,
                    limit=limit // (1024 * 1024),
                )
            )
            continue
        saved.append(SavedUpload(path.name, path, kind, size))
    if problems:
        raise ValidationError(
            N_("{field}: {problems}"), field="files", problems=as_error(joined(problems))
        )
    if not saved:
        raise ValidationError(
            N_("{field}: choose one or more scanned files ({types})"),
            field="files",
            types=SCAN_TYPE_NAMES,
        )
    return saved


# -- the intake's report, one row per page ---------------------------------------------------
# What became of a page (message ids, shown translated).
OUTCOMES = {
    "matched": N_("attached to its case"),
    "rescan": N_("a rescan of a document already attached: kept unmatched"),
    "duplicate": N_("taken in before: nothing done"),
    "blank": N_("a blank page: dropped"),
    "unmatched": N_("no case found: kept unmatched"),
    "rejected": N_("not read"),
}


@dataclass
class PageRow:
    outcome: str  # a key of OUTCOMES
    source: str
    pages: list[int] = field(default_factory=list)
    case_no: str | None = None
    form: str | None = None
    form_title: str = ""
    reason: Any = None  # a Notice (rendered in the user's language), or None
    kept: str | None = None  # where the page was kept (records/unmatched/...)

    @property
    def matched(self) -> bool:
        return self.outcome == "matched"


def form_title(form: str | None) -> str:
    from complaintforms.documents.forms import FORMS

    if not form:
        return ""
    spec = FORMS.get(form)
    return spec.title if spec else form


def intake_rows(report: Any, order: list[str]) -> list[PageRow]:
    """Every page of an intake's report (services.intake.IntakeReport) as a row, in the
    order of the uploaded files (`order`: their saved names) and their pages."""
    rows: list[PageRow] = []
    for m in report.matched:
        rows.append(
            PageRow(
                "matched",
                m["source"],
                list(m["pages"]),
                m["case_no"],
                m["form"],
                form_title(m["form"]),
                kept=m.get("path"),
            )
        )
    for r in report.rescans:
        paths = [p for p in r.get("paths") or [] if p]
        rows.append(
            PageRow(
                "rescan",
                r["source"],
                list(r["pages"]),
                r["case_no"],
                r["form"],
                form_title(r["form"]),
                reason=Notice(
                    N_(
                        "{form} {serial} of {case_no} is attached already; to attach this "
                        "copy instead, take it in again with “replace”"
                    ),
                    form=form_title(r["form"]),
                    serial=f"{r['serial']:06d}",
                    case_no=r["case_no"],
                ),
                kept=", ".join(paths) or None,
            )
        )
    for d in report.duplicates:
        pages = list(d.get("pages") or ([d["page"]] if d.get("page") else []))
        rows.append(
            PageRow(
                "duplicate",
                d["source"],
                pages,
                d.get("case_no"),
                d.get("form"),
                form_title(d.get("form")),
                reason=d.get("reason"),
            )
        )
    for b in report.blank:
        rows.append(PageRow("blank", b["source"], [b["page"]]))
    for u in report.unmatched:
        rows.append(
            PageRow("unmatched", u["source"], [u["page"]], reason=u["reason"], kept=u["path"])
        )
    for r in report.rejected:
        rows.append(PageRow("rejected", r["source"], [], reason=r["reason"], kept=r.get("path")))
    place = {name: i for i, name in reversed(list(enumerate(order)))}
    rows.sort(key=lambda r: (place.get(r.source, len(order)), r.source, r.pages[:1] or [0]))
    return rows


# -- periods ---------------------------------------------------------------------------------
YEARS = (2000, 2999)  # the years a page of a period may name


def period_of(kind: str, text: str) -> Period:
    """The period of a report page: `kind` quarterly (2026Q4) or monthly (2026-11), typed
    in any form the command line accepts. ValidationError when it is none, or its year is
    out of range."""
    if kind == "quarterly":
        label = parse_quarter(text, "quarter")
        period = Period.from_quarter(label)
    else:
        label = parse_month(text, "month")
        period = Period(label, (label,))
    if not YEARS[0] <= int(label[:4]) <= YEARS[1]:
        raise ValidationError(
            N_("{field}: {value} is not a year from {first} to {last}"),
            field="quarter" if kind == "quarterly" else "month",
            value=label[:4],
            first=YEARS[0],
            last=YEARS[1],
        )
    return period


def month_of(text: str) -> str:
    """A month of the opinion register (2026-11), within the years a page may name."""
    return period_of("monthly", text).label


def recent_quarters(today: dt.date, n: int = 8) -> list[str]:
    """This quarter and the n-1 before it, newest first."""
    index = today.year * 4 + (today.month - 1) // 3
    return [f"{i // 4}Q{i % 4 + 1}" for i in range(index, index - n, -1)]


def recent_months(today: dt.date, n: int = 12) -> list[str]:
    """This month and the n-1 before it, newest first."""
    index = today.year * 12 + today.month - 1
    return [f"{i // 12}-{i % 12 + 1:02d}" for i in range(index, index - n, -1)]


# -- stored reports and registers --------------------------------------------------------------
REPORT_FILE = re.compile(r"(statistics_report|figures)-(\d{6})\.(pdf|docx|html|csv)")
REGISTER_FILE = re.compile(r"opinion_register-(\d{6})\.(pdf|docx)")


def _builds(
    ws: Workspace,
    folder: str,
    pattern: re.Pattern,
    action: str,
    match_event,
    since_month: str,
) -> list[dict]:
    """The files stored in `folder` whose names fit `pattern`, one entry per serial (newest
    first): {serial, files: [{name, format, path}], at, by, ...the event's `after`}."""
    by_serial: dict[int, dict] = {}
    for path in ws.store.list_files(folder):
        name = path.rsplit("/", 1)[-1]
        m = pattern.fullmatch(name)
        if not m or path != f"{folder}/{name}":
            continue
        serial = int(m.group(m.re.groups - 1))
        fmt = m.group(m.re.groups)
        entry = by_serial.setdefault(serial, {"serial": serial, "files": []})
        entry["files"].append({"name": name, "format": fmt, "path": shown(path)})
    if by_serial:
        wanted = {f["path"]: serial for serial, e in by_serial.items() for f in e["files"]}
        for event in ws.store.iter_events(since_month):
            if event.get("action") != action or not match_event(event.get("after") or {}):
                continue
            after = event.get("after") or {}
            for item in after.get("files") or after.get("documents") or []:
                serial = wanted.get(item.get("path"))
                if serial is not None:
                    by_serial[serial].update(
                        {k: v for k, v in after.items() if k not in ("files", "documents")},
                        at=event.get("at"),
                        by=event.get("by"),
                    )
    order = {"pdf": 0, "docx": 1, "html": 2, "csv": 3}
    for entry in by_serial.values():
        entry["files"].sort(key=lambda f: order.get(f["format"], 9))
    return [by_serial[s] for s in sorted(by_serial, reverse=True)]


def stored_report_periods(ws: Workspace) -> list[str]:
    """The periods some report was stored for, newest first."""
    periods: dict[str, Period] = {}
    for path in ws.store.list_files("reports"):
        parts = path.split("/")
        if len(parts) == 3 and REPORT_FILE.fullmatch(parts[2]):
            try:
                periods[parts[1]] = Period.parse(parts[1])
            except ValidationError:  # a folder of something else
                continue
    # By the last month covered; a quarter before the month that ends it.
    return sorted(
        periods, key=lambda p: (periods[p].months[-1], periods[p].is_quarter), reverse=True
    )


def report_builds(ws: Workspace, period: Period) -> list[dict]:
    """The statistics reports stored for a period (`report monthly|quarterly`, or the web's
    build button), newest first, with who built them, when and as of which day."""
    return _builds(
        ws,
        f"reports/{period.label}",
        REPORT_FILE,
        "report.build",
        lambda after: after.get("period") == period.label,
        period.months[0],
    )


def register_builds(ws: Workspace, month: str) -> list[dict]:
    """The opinion registers stored for a month, newest first, with who rendered them,
    when, for which department and with how many entries (as the audit log says)."""
    return _builds(
        ws,
        f"registers/{month}",
        REGISTER_FILE,
        "register.render",
        lambda after: after.get("month") == month,
        month,
    )


def stored_file(ws: Workspace, builds: list[dict], name: str) -> tuple[bytes, str] | None:
    """(bytes, format) of one file of `builds` named `name`; None for any other name."""
    for build in builds:
        for f in build["files"]:
            if f["name"] == name:
                return ws.store.read_file(logical(f["path"])), f["format"]
    return None


# -- the charts of a report page ---------------------------------------------------------------
_CHARTS: OrderedDict[str, list] = OrderedDict()
_CHARTS_LOCK = threading.Lock()
_CHARTS_KEPT = 8


def figures_key(figs: dict) -> str:
    """The same figures, the same key (the charts are drawn from nothing else)."""
    text = json.dumps(figs, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def remember_charts(figs: dict, pictures: list) -> str:
    """Keep the charts drawn for a page, for the image requests that follow it."""
    key = figures_key(figs)
    with _CHARTS_LOCK:
        _CHARTS[key] = pictures
        _CHARTS.move_to_end(key)
        while len(_CHARTS) > _CHARTS_KEPT:
            _CHARTS.popitem(last=False)
    return key


def kept_chart_png(key: str, n: int) -> bytes | None:
    """Chart n of the figures whose key a page gave, while it is kept (else None)."""
    with _CHARTS_LOCK:
        pictures = _CHARTS.get(key)
    return pictures[n].png if pictures is not None and 0 <= n < len(pictures) else None


def chart_png(figs: dict, config: Any, n: int) -> bytes | None:
    """Chart n (0-based) of these figures as PNG; None when there is no such chart. Drawn
    again when the page's charts are no longer kept (another server process, or later)."""
    from complaintforms.services.reports import charts

    key = figures_key(figs)
    with _CHARTS_LOCK:
        pictures = _CHARTS.get(key)
    if pictures is None:
        pictures = charts(figs, config)
        remember_charts(figs, pictures)
    return pictures[n].png if 0 <= n < len(pictures) else None


# -- the figures a page lists, in the order of the printed report -------------------------------
# (key of services.reports.report_context's summary, message id of its label)
SUMMARY = (
    ("total", N_("cases received")),
    ("accepted", N_("accepted")),
    ("rejected", N_("not accepted")),
    ("resolved", N_("cases resolved")),
    ("on_time", N_("cases resolved on time")),
    ("on_time_rate", N_("on-time rate")),
    ("days_mean", N_("handling time, mean (working days)")),
    ("days_max", N_("handling time, longest (working days)")),
    ("overdue", N_("overdue, still open")),
    ("closed", N_("closed cases")),
    ("callbacks", N_("call-backs made")),
    ("callbacks_on_time", N_("call-backs on time")),
    ("callbacks_unreachable", N_("call-backs that reached nobody")),
    ("callback_overdue", N_("call-backs overdue")),
    ("satisfied", N_("call-backs: satisfied")),
    ("basically", N_("call-backs: basically satisfied")),
    ("dissatisfied", N_("call-backs: dissatisfied")),
    ("satisfaction_rate", N_("satisfaction rate")),
    ("repeats", N_("repeat complaints")),
    ("group_complaints", N_("group complaints")),
    ("extended", N_("extended")),
    ("sent_back", N_("sent back")),
    ("compensation", N_("compensation")),
    ("voided", N_("case numbers voided")),
)

# The columns of the per-department table (report_context's departments).
DEPARTMENT_COLUMNS = (
    ("assigned", N_("cases assigned")),
    ("resolved", N_("cases resolved")),
    ("resolved_on_time", N_("cases resolved on time")),
    ("on_time_rate", N_("on-time rate")),
    ("satisfaction_rate", N_("satisfaction rate")),
    ("overdue_open", N_("overdue, still open")),
    ("extended", N_("extended")),
    ("sent_back", N_("sent back")),
    ("reminded", N_("cases reminded")),
)


def summary_rows(context: dict) -> list[dict]:
    """[{key, label (a message id), value}] of report_context's summary."""
    summary = context["summary"]
    return [{"key": key, "label": label, "value": summary[key]} for key, label in SUMMARY]


__all__ = [
    "DEPARTMENT_COLUMNS",
    "OUTCOMES",
    "SCAN_TYPES",
    "SUMMARY",
    "PageRow",
    "SavedUpload",
    "chart_png",
    "figures_key",
    "form_title",
    "intake_rows",
    "kept_chart_png",
    "month_of",
    "period_of",
    "recent_months",
    "recent_quarters",
    "register_builds",
    "remember_charts",
    "report_builds",
    "save_uploads",
    "stored_file",
    "stored_report_periods",
    "summary_rows",
    "upload_name",
]
