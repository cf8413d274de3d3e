"""Scan intake: returned paper forms, found by their QR code and attached to their case.

An ordered pipeline of steps over the scanned pages (after paperless-ngx's consumer):
read the pages (PDF via pypdfium2, images via Pillow), find QR codes (zxing-cpp), check each
code (this workspace, check digits, a known case that may still change), group the pages
(a page without a code follows the page before it: the back of a slip; a blank page is
dropped and reported), drop what was already taken in (the same scan, or a rescan of a
document already attached), then store everything in one transaction. Nothing is ever lost:
a page that cannot be matched, or a rescan that is not attached, is kept under
records/unmatched/ with the reason, and reported.

Reading the files themselves (their limits, pages, codes and blank pages) is
services.scanfiles; this module checks the codes against the cases and stores the pages.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from complaintforms.documents.forms import RETURNABLE_FORMS
from complaintforms.documents.qrcode import FormRef, parse_payload, verify
from complaintforms.domain.timeutil import iso
from complaintforms.domain.timeutil import now as clock_now
from complaintforms.errors import ComplaintFormsError, NotFoundError, ValidationError
from complaintforms.i18n import N_
from complaintforms.services.messages import Notice, as_error, joined
from complaintforms.services.scanfiles import (
    _LIMITS,
    Entry,
    Refused,
    Source,
    collect_entries,
    count_pages,
    extract_pages,
    find_codes,
    is_blank,
    kept_suffix,
    limits_for,
    page_images,
    read_source,
)
from complaintforms.storage.base import Transaction
from complaintforms.storage.paths import logical, shown, stored_path
from complaintforms.workspace import Workspace

SEALED = ("signed_off", "archived")


# Why a page was kept unmatched, when no code on it could be checked: stored in English in
# the note beside the page, compared here, shown translated (services.messages.Notice).
NO_CODE = Notice(N_("no code"))
NOT_OURS = Notice(N_("no complaintforms QR code"))
FOREIGN_CODE = Notice(N_("a QR code that is not ours"))
# A file whose every page is blank is kept (it may be a scan gone wrong), not dropped.
BLANK_FILE = Notice(N_("a blank page, in a file with nothing but blank pages"))


@dataclass
class Page:
    source: Source
    index: int  # 0-based
    codes: list[str] = field(default_factory=list)
    ref: FormRef | None = None
    problem: str | None = None  # a Notice
    refused: bool = False  # not read at all (over a limit, unreadable): never a back page
    blank: bool = False  # no code, and nothing on it: dropped, never a back page


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
    page: int | None  # None: the whole file, which could not be read as pages
    reason: str  # a Notice: the English text, with its message id
    rescan: dict | None = None  # kept as a rescan of a document already attached: its report


@dataclass
class Blank:
    source: Source
    page: int  # 0-based


@dataclass
class Rejected:
    """A file that was not read: kept whole under unmatched/ when it is a regular file of a
    size that can be kept (`source`), otherwise only reported."""

    path: Path
    reason: str  # a Notice
    source: Source | None = None


@dataclass
class IntakePlan:
    groups: list[Group] = field(default_factory=list)
    unmatched: list[Unmatched] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    blank: list[Blank] = field(default_factory=list)
    pages: int = 0


@dataclass
class IntakeReport:
    matched: list[dict] = field(default_factory=list)
    unmatched: list[dict] = field(default_factory=list)
    duplicates: list[dict] = field(default_factory=list)
    # Files that could not be read as scans: {source, reason, path} (path None: not kept,
    # e.g. a link, a folder or device, a file over the size limit).
    rejected: list[dict] = field(default_factory=list)
    # Blank pages dropped: {source, page}.
    blank: list[dict] = field(default_factory=list)
    # Pages whose code names a document already attached to its case, not attached again
    # (intake without replace): {case_no, form, serial, source, pages, paths}, `paths` the
    # pages kept under unmatched/.
    rescans: list[dict] = field(default_factory=list)
    pages: int = 0

    @property
    def incomplete(self) -> bool:
        """Some page or file was not attached (kept unmatched, or refused); duplicates of
        what was taken in before, rescans and blank pages do not count."""
        return bool(self.unmatched or self.rejected)

    def as_dict(self) -> dict:
        return {
            "pages": self.pages,
            "matched": self.matched,
            "unmatched": self.unmatched,
            "rejected": self.rejected,
            "duplicates": self.duplicates,
            "rescans": self.rescans,
            "blank": self.blank,
            "incomplete": self.incomplete,
        }


# -- step 3: check codes -------------------------------------------------------------------------------
def check_page(ws: Workspace, page: Page, cases: dict[str, dict]) -> None:
    ours = []
    for text in page.codes:
        try:
            ours.append(parse_payload(text))
        except Exception:  # any text a sticker can carry: not ours, never an internal error
            continue
    if not ours:
        page.problem = NOT_OURS if not page.codes else FOREIGN_CODE
        return
    # A page with two codes (the contact letter and its receipt stub) is the one returned.
    ours.sort(key=lambda ref: ref.form not in RETURNABLE_FORMS)
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
    if pages and all(p.blank for p in pages):
        # Nothing but blank pages: kept, not dropped (a scan gone wrong is not lost).
        for page in pages:
            page.blank = False
            page.problem = BLANK_FILE
    current: Group | None = None
    for page in pages:
        if page.blank:  # dropped and reported; the page after it may still be a back page
            plan.blank.append(Blank(page.source, page.index))
            continue
        if page.ref is not None:
            current = Group(page.ref, page.source, [page.index])
            plan.groups.append(current)
        elif page.codes or page.refused or current is None or current.source is not page.source:
            # A page whose code failed its check, or that was not read, is never taken as the
            # back of another form (nor the page after one that was not read).
            current = None if page.codes or page.refused else current
            plan.unmatched.append(Unmatched(page.source, page.index, page.problem or NO_CODE))
        else:
            current.pages.append(page.index)


def plan_intake(
    ws: Workspace,
    files: list[Path] | list[Entry],
    progress: Callable[[int], None] | None = None,
) -> IntakePlan:
    """Steps 1-4: everything that only reads. No file is written. Each file on its own: one
    that cannot be read is rejected (and kept whole), the others go on."""
    plan = IntakePlan()
    cases: dict[str, dict] = {}
    for entry in files:
        if not isinstance(entry, Entry):
            entry = Entry(Path(entry), True)
        if entry.problem is not None:
            plan.rejected.append(Rejected(entry.path, entry.problem))
            continue
        source = None
        try:
            source = read_source(entry)
            if source.size == 0:
                raise Refused(Notice(N_("an empty file")))
            pages = []
            for index, image in page_images(source):
                if isinstance(image, Refused):
                    page = Page(source, index, problem=image.reason, refused=True)
                else:
                    try:
                        codes = find_codes(image)
                    except MemoryError:
                        codes = None
                    if codes is None:
                        reason = Notice(N_("page {page}: too large to read"), page=index + 1)
                        page = Page(source, index, problem=reason, refused=True)
                    else:
                        page = Page(source, index, codes)
                        if codes:
                            check_page(ws, page, cases)
                        else:
                            page.problem = NOT_OURS
                            page.blank = is_blank(image)
                    del image
                pages.append(page)
                if progress:
                    progress(1)
        except Refused as refused:
            plan.rejected.append(Rejected(entry.path, refused.reason, source))
            continue
        plan.sources.append(source)
        plan.pages += len(pages)
        group_pages(pages, plan)
    return plan


# -- steps 5 and 6: drop duplicates, store ---------------------------------------------------------------
DUPLICATE = "duplicate"  # the same scan taken in before
RESCAN = "rescan"  # another scan of a document already attached


def earlier_copies(case: dict, ref: FormRef) -> list[dict]:
    """The attachments (not superseded) of the document `ref` names: scans taken in by its
    code before. A page attached without a code (serial 0) names no document."""
    if not ref.check or not ref.serial:
        return []
    return [
        a
        for a in case["attachments"]
        if a.get("kind") == "scan"
        and a.get("form") == ref.form
        and a.get("serial") == ref.serial
        and not a.get("superseded_by")
    ]


def stage_group(
    txn: Transaction, case: dict, group: Group, received_at: str, *, replace: bool = False
) -> dict | str:
    """Stage the group's file and return the case with the attachment; or DUPLICATE (the
    same scan taken in twice), or RESCAN (its code names a document already attached, and
    not `replace`). With `replace` the earlier copies stay, marked superseded."""
    if any(a.get("source") == group.key for a in case["attachments"]):
        return DUPLICATE
    data, suffix = extract_pages(group.source, group.pages)
    digest = hashlib.sha256(data).hexdigest()
    if any(a.get("sha256") == digest for a in case["attachments"]):
        return DUPLICATE
    earlier = earlier_copies(case, group.ref)
    if earlier and not replace:
        return RESCAN
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
    superseded = {id(a) for a in earlier}
    attachments = [
        {**a, "superseded_by": entry["path"], "superseded_at": received_at}
        if id(a) in superseded
        else a
        for a in case["attachments"]
    ]
    return {**case, "attachments": [*attachments, entry]}


def note_name(sha256: str, page: int | None) -> str:
    """The name of the note beside a page (0-based; None: the whole file) kept unmatched."""
    part = "file" if page is None else f"p{page + 1:03d}"
    return f"{sha256[:16]}-{part}.json"


class Kept:
    """The notes of the pages kept under unmatched/ (from every day), and the pages attached
    by hand (`scan assign`), which an intake of the same scan does not keep again."""

    def __init__(self, ws: Workspace, txn: Transaction):
        self.ws, self.txn = ws, txn
        self.notes = {
            path.rsplit("/", 1)[-1]: path
            for path in ws.store.list_files("unmatched")
            if path.endswith(".json")
        }
        self._assigned: set[str] | None = None

    def assigned(self, key: str) -> bool:
        if self._assigned is None:  # read only when some page is to be kept
            self._assigned = {
                a["source"]
                for case in self.ws.store.iter_records()
                for a in case.get("attachments", [])
                if a.get("assigned") and a.get("source")
            }
        return key in self._assigned

    def forget(self, sha256: str, pages: list[int]) -> None:
        """The pages were attached: their copies kept under unmatched/ (a rescan kept before,
        now taken in with replace) are removed, so that each page is in one place."""
        for page in pages:
            note = self.notes.pop(note_name(sha256, page), None)
            if note is None:
                continue
            kept = self.txn.read_json(note) or {}
            if kept.get("path"):
                self.txn.delete_file(logical(kept["path"]))
            self.txn.delete_file(note)


def stage_unmatched(txn: Transaction, kept: Kept, item: Unmatched, received_at: str) -> dict | None:
    """Keep a page that found no case (or a whole file that could not be read), with the
    reason beside it; once per scan and page (`kept`: the notes already kept, from every
    day). None when it is kept already (or was attached by hand since)."""
    import json

    name = note_name(item.source.sha256, item.page)
    key = name.removesuffix(".json")
    day = received_at[:10]
    if name in kept.notes:
        return None
    where = f"{item.source.sha256}:{'file' if item.page is None else item.page}"
    if kept.assigned(where):
        return None
    if item.page is None:
        data, suffix = item.source.data, kept_suffix(item.source.path)
    else:
        data, suffix = extract_pages(item.source, [item.page])
    rel = stored_path("unmatched", day=day, name=f"{key}{suffix}")
    txn.put_file(rel, data)
    note = {
        "source": item.source.path.name,
        "source_sha256": item.source.sha256,
        "page": None if item.page is None else item.page + 1,
        "reason": str(item.reason),
        "received_at": received_at,
        "path": shown(rel),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    note_rel = stored_path("unmatched", day=day, name=name)
    txn.put_file(note_rel, json.dumps(note, ensure_ascii=False, indent=2).encode("utf-8"))
    kept.notes[name] = note_rel
    return note


def kept_note(txn: Transaction, kept: Kept, item: Unmatched) -> dict | None:
    """The note of a page kept before (None when there is none)."""
    note = kept.notes.get(note_name(item.source.sha256, item.page))
    return txn.read_json(note) if note else None


def intake(
    ws: Workspace,
    paths: Iterable[Path],
    *,
    by: str,
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
    replace: bool = False,
) -> IntakeReport:
    """`scan intake`: attach every matched form to its case; keep and report the rest. Each
    file on its own: one that cannot be read is kept whole under unmatched/ (or reported,
    when it is not a regular file), and the others go on; within the workspace's limits.

    A page whose code names a document already attached to its case is a rescan: kept under
    unmatched/ and reported, not attached again; with `replace` it is attached and the
    earlier copy stays, marked superseded. Blank pages are dropped and reported."""
    token = _LIMITS.set(limits_for(ws.config))
    try:
        return _intake(ws, paths, by=by, progress=progress, on_total=on_total, replace=replace)
    finally:
        _LIMITS.reset(token)


def _intake(
    ws: Workspace,
    paths: Iterable[Path],
    *,
    by: str,
    progress: Callable[[int], None] | None,
    on_total: Callable[[int], None] | None,
    replace: bool = False,
) -> IntakeReport:
    entries = collect_entries(paths)
    if on_total:
        on_total(count_pages(entries))
    plan = plan_intake(ws, entries, progress)
    report = IntakeReport(pages=plan.pages)
    report.blank = [{"source": b.source.path.name, "page": b.page + 1} for b in plan.blank]
    now = iso(clock_now())
    by_source: dict[int, tuple[list[Group], list[Unmatched]]] = {
        id(s): ([], []) for s in plan.sources
    }
    for group in plan.groups:
        by_source[id(group.source)][0].append(group)
    for item in plan.unmatched:
        by_source[id(item.source)][1].append(item)
    with ws.store.transaction() as txn:
        kept = Kept(ws, txn)
        for source in plan.sources:  # one file at a time in memory
            groups, unmatched = by_source[id(source)]
            try:
                for group in groups:
                    stage_one_group(
                        txn, kept, group, unmatched, report, by=by, now=now, replace=replace
                    )
                rescans: dict[int, dict] = {}
                for item in unmatched:
                    note = stage_unmatched(txn, kept, item, now)
                    if item.rescan is not None:
                        if id(item.rescan) not in rescans:
                            rescans[id(item.rescan)] = {**item.rescan, "paths": []}
                            report.rescans.append(rescans[id(item.rescan)])
                        entry = rescans[id(item.rescan)]
                        note = note or kept_note(txn, kept, item)
                        entry["paths"].append(note["path"] if note else None)
                        continue
                    where = {
                        "source": source.path.name,
                        "page": item.page + 1,
                        "reason": item.reason,
                    }
                    if note is None:
                        report.duplicates.append(where)
                    else:
                        report.unmatched.append({**where, "path": note["path"]})
            finally:
                source.release()
        for rejected in plan.rejected:
            where = {"source": rejected.path.name, "reason": rejected.reason, "path": None}
            if rejected.source is None:
                report.rejected.append(where)
                continue
            try:
                note = stage_unmatched(
                    txn, kept, Unmatched(rejected.source, None, rejected.reason), now
                )
            finally:
                rejected.source.release()
            if note is None:
                report.duplicates.append({k: v for k, v in where.items() if k != "path"})
            else:
                report.rejected.append({**where, "path": note["path"]})
        if report.unmatched or report.rejected:
            txn.log(
                "scan.unmatched",
                by,
                None,
                at=now,
                after={"pages": report.unmatched, "files": report.rejected},
            )
    return report


def stage_one_group(
    txn: Transaction,
    kept: Kept,
    group: Group,
    unmatched: list[Unmatched],
    report: IntakeReport,
    *,
    by: str,
    now: str,
    replace: bool = False,
) -> None:
    case = txn.get(group.ref.case_no)
    if case["status"] in SEALED:  # signed off since the plan was made
        unmatched.extend(
            Unmatched(
                group.source,
                p,
                Notice(N_("{case_no} is signed off"), case_no=case["case_no"]),
            )
            for p in group.pages
        )
        return
    where = {
        "case_no": case["case_no"],
        "form": group.ref.form,
        "source": group.source.path.name,
        "pages": [p + 1 for p in group.pages],
    }
    new = stage_group(txn, case, group, now, replace=replace)
    if new == DUPLICATE:
        report.duplicates.append(where)
        return
    if new == RESCAN:
        rescan = {**where, "serial": group.ref.serial}
        reason = Notice(
            N_("a rescan of {form} {serial} of {case_no}, which is attached already"),
            form=group.ref.form,
            serial=f"{group.ref.serial:06d}",
            case_no=case["case_no"],
        )
        unmatched.extend(Unmatched(group.source, p, reason, rescan) for p in group.pages)
        return
    txn.replace(new)
    entry = new["attachments"][-1]
    superseded = [
        a["path"]
        for old, a in zip(case["attachments"], new["attachments"], strict=False)
        if a.get("superseded_by") and not old.get("superseded_by")
    ]
    after = {"attachment": entry, **({"superseded": superseded} if superseded else {})}
    txn.log("scan.attach", by, case["case_no"], at=now, after=after)
    kept.forget(group.source.sha256, group.pages)
    report.matched.append(
        {**where, "path": entry["path"], **({"superseded": superseded} if superseded else {})}
    )


def attach_for_case(
    txn: Transaction,
    ws: Workspace,
    case: dict,
    path: Path,
    received_at: str,
    *,
    no_code: bool = False,
) -> dict:
    """`slip return --scan FILE`: the same reading and checks, for one case the clerk names.

    Pages with this case's code of a returned form (the feedback slip, the contact letter's
    receipt stub) are attached by their code; a code of another case, of a form that is not
    returned, or of another workspace is refused. A scan in which no code can be read is
    attached as the feedback slip only on the clerk's word (`no_code`). Blank pages are left
    out; a rescan of a slip attached already is not attached again."""
    token = _LIMITS.set(limits_for(ws.config))
    try:
        plan = plan_intake(ws, collect_entries([path]))
    finally:
        _LIMITS.reset(token)
    if plan.rejected:
        raise ValidationError(
            N_("{field}: {name}: {reason}"),
            field="scan",
            name=path.name,
            reason=as_error(plan.rejected[0].reason),
        )
    if not plan.sources:
        raise ValidationError(N_("{field}: {name}: no scan in it"), field="scan", name=path.name)
    others = [g for g in plan.groups if g.ref.case_no != case["case_no"]]
    if others:
        raise ValidationError(
            N_("{field}: {name} carries the code of {other}, not {case_no}"),
            field="scan",
            name=path.name,
            other=others[0].ref.case_no,
            case_no=case["case_no"],
        )
    not_returned = [g for g in plan.groups if g.ref.form not in RETURNABLE_FORMS]
    if not_returned:
        raise ValidationError(
            N_(
                "{field}: {name} page {page} carries the code of the {form} of {case_no}, "
                "which is not a returned form ({returned})"
            ),
            field="scan",
            name=path.name,
            page=not_returned[0].pages[0] + 1,
            form=not_returned[0].ref.form,
            case_no=case["case_no"],
            returned=", ".join(RETURNABLE_FORMS),
        )
    codeless = (NO_CODE, NOT_OURS)
    # With a code on some page, every page must be that form's or one behind it.
    foreign = [u for u in plan.unmatched if plan.groups or u.reason not in codeless]
    if foreign:
        raise ValidationError(
            N_("{field}: {name} page {page}: {reason}"),
            field="scan",
            name=path.name,
            page=foreign[0].page + 1,
            reason=as_error(foreign[0].reason),
        )
    if not plan.groups:  # no readable code: the clerk's word that it is this case's slip
        if not no_code:
            raise ValidationError(
                N_(
                    "{name}: no code can be read on it, so it cannot be checked to be the "
                    "slip of {case_no}; attach it anyway with {field}"
                ),
                field="no_code",
                name=path.name,
                case_no=case["case_no"],
            )
        source = plan.sources[0]
        blank = {b.page for b in plan.blank if b.source is source}
        ref = FormRef(ws.workspace_id, case["case_no"], "feedback_slip", 0, "")
        pages = [p for p in range(source.pages) if p not in blank]
        plan.groups = [Group(ref, source, pages)]
    for group in plan.groups:
        new = stage_group(txn, case, group, received_at)
        if isinstance(new, dict):
            case = new
    return case
