"""Sealed archive bundles: one BagIt bag (RFC 8493) per signed-off case, zipped.

A bundle holds the case as JSON, its audit events, every generated form (PDF/A and docx)
and the scans, with SHA-256 manifests. The zip's own SHA-256 is recorded on the case and in
the audit log, so a bundle replaced by another with freshly computed manifests is found out.
Verification reads the zip's entries as streams (nothing is unpacked to disk), checks the bag
itself (RFC 8493: bagit.txt, the manifests, every payload file listed and present, SHA-256,
Payload-Oxum), within caps on the unpacked size (zip bombs), collects every problem and
raises once.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import stat
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from complaintforms.documents.pipeline import store_files
from complaintforms.domain import workflow
from complaintforms.domain.timeutil import from_iso, iso
from complaintforms.domain.timeutil import now as clock_now
from complaintforms.errors import (
    ComplaintFormsError,
    NotFoundError,
    StateError,
    StorageError,
    ValidationError,
)
from complaintforms.i18n import N_
from complaintforms.services.bagzip import (
    MAX_TAG_FILE_BYTES,
    READ_ERRORS,
    Budget,
    TooBig,
    check_bag,
    check_entries,
    in_bundle,
    nfc,
    read_small,
    safe_extract,
    size_problems,
    why,
)
from complaintforms.services.cases import quarter_months
from complaintforms.services.messages import Notice, as_error, joined
from complaintforms.storage.base import MAX_TRIES, Conflict, new_event
from complaintforms.storage.paths import logical, shown, stored_path
from complaintforms.workspace import Workspace

logging.getLogger("bagit").setLevel(logging.ERROR)


class ArchiveVerificationError(ComplaintFormsError):
    """Every problem found in one or more bundles. `problems`: each the English text (a
    Notice; as `--json` gives it) that an interface shows translated with its `render`."""

    def __init__(self, problems: list[str]):
        super().__init__(
            N_("{count} problem(s) in the archive: {first}"),
            count=len(problems),
            first=as_error(problems[0]),
        )
        self.problems = problems


def quarter_of(iso_time: str) -> tuple[int, int]:
    t = from_iso(iso_time)
    return t.year, (t.month - 1) // 3 + 1


def bundle_rel(case: dict) -> str:
    """archive/YYYY/Qn/<case>.zip, by the quarter the case was closed in."""
    year, q = quarter_of(case["closure"]["at"])
    return stored_path("bundle", year=year, quarter=q, case_no=case["case_no"])


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# -- building ---------------------------------------------------------------------------------------
MISSING = {
    "document": N_("{case_no}: document {path} is missing; cannot archive"),
    "scan": N_("{case_no}: scan {path} is missing; cannot archive"),
}


def _bag_payload(ws: Workspace, case: dict, events: list[dict], bag: Path) -> None:
    data = bag  # bagit.make_bag moves what the folder holds into data/
    (data / "forms").mkdir(parents=True)
    (data / "scans").mkdir()
    (data / "case.json").write_text(
        json.dumps(case, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    (data / "events.jsonl").write_text(
        "".join(json.dumps(e, ensure_ascii=False, sort_keys=True) + "\n" for e in events),
        encoding="utf-8",
    )
    for folder, what, items in (
        ("forms", "document", case["documents"]),
        ("scans", "scan", case["attachments"]),
    ):
        for item in items:
            try:
                content = ws.store.read_file(logical(item["path"]))
            except NotFoundError:
                raise StateError(
                    MISSING[what], case_no=case["case_no"], path=item["path"]
                ) from None
            (data / folder / nfc(PurePosixPath(item["path"]).name)).write_bytes(content)


def _zip_dir(folder: Path) -> bytes:
    """A deterministic zip: sorted NFC names, fixed times, no links."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            name = nfc(path.relative_to(folder).as_posix())
            info = zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            zf.writestr(info, path.read_bytes())
    return buf.getvalue()


def make_bundle(ws: Workspace, case: dict, events: list[dict], at: str) -> bytes:
    """The case's bag, zipped, as bytes. Built in a private temporary folder."""
    import bagit

    config = ws.config
    with ws.store.scratch() as tmp:
        bag = tmp / nfc(case["case_no"])
        bag.mkdir()
        _bag_payload(ws, case, events, bag)
        info = {
            "Source-Organization": config.org_name,
            "Organization-Address": config.org_address or "",
            "Contact-Phone": config.org_phone or "",
            "External-Identifier": case["case_no"],
            "External-Description": f"客户投诉案卷 {case['case_no']}",
            "Bagging-Date": at[:10],
            "Case-Status": case["status"],
            "Case-Received": case["received_at"],
            "Case-Closed": case["closure"]["at"],
            "Signed-Off-By": case["signoff"]["by"],
            "Signed-Off-At": case["signoff"]["at"],
            "Severity": case["severity"],
            "Retention-Years": str(retention_years(ws, case)),
            "Bag-Software-Agent": "complaintforms",
        }
        bagit.make_bag(str(bag), bag_info=info, checksums=["sha256"])
        return _zip_dir(tmp)


def select_for_quarter(ws: Workspace, quarter: str, status: str) -> list[str]:
    """Cases in `status` closed in the quarter."""
    months = set(quarter_months(quarter))
    return [
        c["case_no"]
        for c in ws.store.iter_records()
        if c["status"] == status and c["closure"].get("at") and c["closure"]["at"][:7] in months
    ]


@dataclass
class BuildResult:
    bundles: list[dict] = field(default_factory=list)
    transfer_list: list[dict] = field(default_factory=list)


def build(
    ws: Workspace,
    case_nos: Iterable[str] | None = None,
    *,
    quarter: str | None = None,
    by: str,
    progress: Callable[[int], None] | None = None,
) -> BuildResult:
    """`archive build`: seal signed-off cases into bundles; a quarterly build also writes the
    archive transfer list (归档移交清单). All or nothing.

    The bundles and the list are made from a snapshot of the cases with no lock held; the
    transaction then checks that no case changed meanwhile (else it is all made again)."""
    from complaintforms.domain.periods import parse_quarter

    quarter = parse_quarter(quarter, "quarter") if quarter else None
    targets = (
        select_for_quarter(ws, quarter, "signed_off")
        if quarter
        else list(dict.fromkeys(case_nos or []))
    )
    if not targets and quarter:
        raise ValidationError(
            N_("no signed-off cases to archive closed in {quarter}"), quarter=quarter
        )
    if not targets:
        raise ValidationError(N_("no signed-off cases to archive"))
    ws.identity  # noqa: B018
    for _ in range(MAX_TRIES):
        now = iso(clock_now())
        snapshot = [ws.store.get(case_no) for case_no in targets]
        result, sealed = BuildResult(), []
        for case in snapshot:
            if case["status"] != "signed_off":
                raise StateError(
                    N_("{case_no}: only a signed-off case can be archived (this one is {status})"),
                    case_no=case["case_no"],
                    status=case["status"],
                )
            data = make_bundle(ws, case, ws.store.history(case["case_no"]), now)
            digest = hashlib.sha256(data).hexdigest()
            rel = bundle_rel(case)
            archived = workflow.archive(case, bundle=shown(rel), sha256=digest, at=now)
            sealed.append((case, archived, rel, data))
            result.bundles.append(bundle_entry(ws, archived, len(data)))
            if progress:
                progress(1)
        events = [build_event(case, archived, by, now) for case, archived, _, _ in sealed]
        # The transfer list's anchor covers the bundles' own events, so that a bundle swapped
        # later (with its digest and event rewritten) no longer matches the signed paper: the
        # head those events will make is predicted here and checked when they are logged.
        head = ws.store.audit_head()
        for event in events:
            head = new_event(head, *event[:4], **event[4])  # action, by, case, at, fields
        transfer = _transfer_list(ws, quarter, result.bundles, now, by, head) if quarter else None
        try:
            with ws.store.transaction() as txn:
                logged: dict = {}
                for (case, archived, rel, data), event in zip(sealed, events, strict=True):
                    if txn.get(case["case_no"]) != case:
                        raise Conflict
                    txn.put_file(rel, data)
                    txn.replace(archived)
                    action, who, key, at, fields = event
                    logged = txn.log(action, who, key, at=at, **fields)
                if transfer is not None and logged.get("hash") != head["hash"]:
                    raise Conflict  # another event came first: the anchor would be wrong
                if transfer is not None:
                    doc, files = transfer
                    result.transfer_list = store_files(txn, doc, files, at=now)
                    txn.log(
                        "archive.transfer_list",
                        by,
                        None,
                        at=now,
                        after={"quarter": quarter.upper(), "documents": result.transfer_list},
                    )
        except Conflict:
            continue
        return result
    raise StorageError(N_("the cases changed while their bundles were made; try again"))


def build_event(case: dict, archived: dict, by: str, at: str) -> tuple:
    """The audit event of sealing one case: (action, by, case, at, fields)."""
    return (
        "archive.build",
        by,
        case["case_no"],
        at,
        {
            "before": {"status": case["status"], "archive": case["archive"]},
            "after": {"status": "archived", "archive": archived["archive"]},
            "sha256": archived["archive"]["sha256"],
        },
    )


def bundle_entry(ws: Workspace, case: dict, size: int) -> dict:
    """A sealed bundle as `archive build` reports it and the transfer list lists it."""
    return {
        "case_no": case["case_no"],
        "bundle": case["archive"]["bundle"],
        "sha256": case["archive"]["sha256"],
        "bytes": size,
        "closed_at": case["closure"]["at"],
        "signed_off_by": case["signoff"]["by"],
        "department": case["assignment"].get("department") or "",
        "category": case.get("category") or "",
        "severity": case["severity"],
        "retention_years": retention_years(ws, case),
        "retain_until": retention_due(ws, case),
    }


def _transfer_list(ws: Workspace, quarter: str, bundles: list[dict], now: str, by: str, head: dict):
    """The quarter's transfer list, rendered (no lock held) with the audit `head` its
    bundles' events make: (document, files)."""
    from complaintforms.documents.pipeline import prepare_list, render_files, reserve_serials

    year, q = quarter[:4], quarter[-1]
    doc = prepare_list(
        ws,
        "transfer_list",
        period=quarter.upper(),
        rows=transfer_rows(bundles, ws.config),
        by=by,
        serial=reserve_serials(ws, 1)[0],
        at=now,
        kind="transfer_list",
        where={"year": year, "quarter": q},
        head=head,
    )
    return doc, render_files(ws, doc, ("pdf", "docx"))


# -- finding -----------------------------------------------------------------------------------------
def archived_cases(ws: Workspace) -> list[dict]:
    return [c for c in ws.store.iter_records() if c["archive"].get("bundle")]


def list_bundles(
    ws: Workspace, *, quarter: str | None = None, department: str | None = None
) -> list[dict]:
    from complaintforms.domain import model

    dep = model.department_code(ws.config, department, "department") if department else None
    months = set(quarter_months(quarter)) if quarter else None
    out = []
    for case in archived_cases(ws):
        if months and case["closure"]["at"][:7] not in months:
            continue
        if dep and dep not in (
            case["assignment"].get("department"),
            case["target"].get("department"),
        ):
            continue
        out.append(summary(case))
    return out


def summary(case: dict) -> dict:
    return {
        "case_no": case["case_no"],
        "bundle": case["archive"]["bundle"],
        "sha256": case["archive"]["sha256"],
        "archived_at": case["archive"]["at"],
        "closed_at": case["closure"]["at"],
        "department": case["assignment"].get("department"),
        "category": case.get("category"),
        "severity": case["severity"],
        "disposed": bool(case["archive"].get("disposed")),
    }


def search(
    ws: Workspace,
    *,
    case_no: str | None = None,
    complainant: str | None = None,
    department: str | None = None,
    category: str | None = None,
    text: str | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
) -> list[dict]:
    from complaintforms.domain.timeutil import parse_date

    lo = parse_date(date_from, "from") if date_from else None
    hi = parse_date(date_to, "to") if date_to else None
    hits = []
    for c in archived_cases(ws):
        received = from_iso(c["received_at"]).date()
        if case_no and case_no.lower() not in c["case_no"].lower():
            continue
        if complainant and complainant not in (c["complainant"].get("name") or ""):
            continue
        if department and department not in (
            c["assignment"].get("department") or "",
            c["target"].get("department") or "",
        ):
            dep = ws.config.department(department)
            if not dep or dep.code not in (
                c["assignment"].get("department"),
                c["target"].get("department"),
            ):
                continue
        if category and category != c.get("category"):
            continue
        if text:
            haystack = " ".join(
                str(v or "")
                for v in (
                    c["content"],
                    c["demand"],
                    c["closure"].get("summary"),
                    c["handling"].get("result"),
                )
            )
            if text not in haystack:
                continue
        if (lo and received < lo) or (hi and received > hi):
            continue
        hits.append(summary(c))
    return hits


def resolve_bundle(ws: Workspace, ref: str) -> tuple[Path, dict | None]:
    """A case number or a bundle path -> (zip path, the case if known). A file that is no
    case number is taken as a bundle path, whatever its name ends in."""
    path = Path(ref)
    if path.suffix == ".zip" and path.exists():
        return path, _case_of(ws, path.stem)
    try:
        case = ws.store.get(ref)
    except (NotFoundError, ValidationError):
        if path.is_file():
            return path, None
        raise
    if not case["archive"].get("bundle"):
        raise StateError(N_("{ref}: not archived"), ref=ref)
    if case["archive"].get("disposed"):
        raise StateError(
            N_("{ref}: its bundle was disposed of on {date}"),
            ref=ref,
            date=case["archive"]["disposed"]["at"][:10],
        )
    return ws.local_path(case["archive"]["bundle"]), case


def _case_of(ws: Workspace, case_no: str) -> dict | None:
    try:
        return ws.store.get(case_no)
    except (NotFoundError, ValidationError):  # no such case, or not a case number at all
        return None


def show(ws: Workspace, ref: str) -> dict:
    """`archive show`: the bag-info and the entries, read from the zip's headers (nothing is
    unpacked but bag-info.txt, itself capped)."""
    path, case = resolve_bundle(ws, ref)
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            info_entry = next((i for i in infos if i.filename.endswith("/bag-info.txt")), None)
            info = ""
            if info_entry is not None:
                raw = read_small(zf, info_entry, MAX_TAG_FILE_BYTES, Budget())
                info = raw.decode("utf-8", "replace")
            entries = [{"name": i.filename, "bytes": i.file_size} for i in infos]
        digest = sha256_file(path)
    except TooBig as exc:
        raise ValidationError(
            N_("{label}: {problem}"), label=str(path), problem=as_error(exc.problem)
        ) from None
    except READ_ERRORS as exc:  # missing, empty, truncated, not a zip, damaged
        raise ValidationError(
            N_("{label}: not a readable zip ({error})"), label=str(path), error=why(exc)
        ) from None
    bag_info = {}
    for line in info.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            bag_info[key.strip()] = value.strip()
    return {
        "bundle": str(path),
        "sha256": digest,
        "bag_info": bag_info,
        "files": entries,
        "case": summary(case) if case else None,
    }


# -- verifying -------------------------------------------------------------------------------------------
def verify_bundle(
    ws: Workspace, path: Path, case: dict | None, recorded: dict[str, str]
) -> list[str]:
    """Every problem with one bundle (empty when it is sound). Streams the entries: nothing
    is unpacked to disk, and a bundle past the caps is reported, not unpacked."""
    label = _label(ws, path)
    if not path.exists():
        return [Notice(N_("{label}: missing"), label=label)]
    problems: list[str] = []
    try:
        digest = sha256_file(path)
    except OSError as exc:  # a folder, no permission
        return [Notice(N_("{label}: not a readable zip ({error})"), label=label, error=why(exc))]
    if case is not None and case["archive"].get("sha256") != digest:
        problems.append(
            Notice(
                N_(
                    "{label}: SHA-256 {digest}… differs from the one recorded on {case_no} "
                    "({recorded}…); the bundle was replaced or altered"
                ),
                label=label,
                digest=digest[:16],
                case_no=case["case_no"],
                recorded=case["archive"].get("sha256", "")[:16],
            )
        )
    logged = recorded.get(case["case_no"]) if case else None
    if case is not None and logged and logged != digest:
        problems.append(
            Notice(
                N_("{label}: SHA-256 differs from the audit log's record of the build"), label=label
            )
        )
    try:
        zf = zipfile.ZipFile(path)
    except READ_ERRORS as exc:
        return problems + [
            Notice(N_("{label}: not a readable zip ({error})"), label=label, error=why(exc))
        ]
    with zf:
        bad = check_entries(zf)
        if bad:
            return problems + [in_bundle(label, p) for p in bad]
        bombs = size_problems(zf)
        if bombs:
            return problems + [in_bundle(label, p) for p in bombs]
        try:
            problems += check_bag(zf, case, Budget(), label)
        except TooBig as exc:
            problems.append(in_bundle(label, exc.problem))
        except READ_ERRORS as exc:  # damage shows here
            problems.append(
                Notice(N_("{label}: cannot be read: {error}"), label=label, error=why(exc))
            )
    return problems


def _label(ws: Workspace, path: Path) -> str:
    return str(path.relative_to(ws.root)) if path.is_relative_to(ws.root) else str(path)


def recorded_digests(ws: Workspace) -> dict[str, str]:
    """case -> the bundle digest written in the audit log when it was built."""
    return {
        e["case"]: e.get("sha256")
        for e in ws.store.iter_events()
        if e.get("action") == "archive.build"
    }


def verify(
    ws: Workspace,
    refs: Iterable[str] | None = None,
    *,
    progress: Callable[[int], None] | None = None,
) -> dict:
    """`archive verify`: raise ArchiveVerificationError naming every problem found."""
    recorded = recorded_digests(ws)
    targets: list[tuple[Path, dict | None]] = []
    if refs is None:
        known = set()
        for case in archived_cases(ws):
            if case["archive"].get("disposed"):
                continue
            path = ws.local_path(case["archive"]["bundle"])
            targets.append((path, case))
            known.add(path.resolve())
        for name in ws.store.list_files("archive"):
            stray = ws.store.local_path(name)
            if name.endswith(".zip") and stray.resolve() not in known:
                targets.append((stray, None))
    else:
        targets = [resolve_bundle(ws, r) for r in refs]
    problems: list[str] = []
    for path, case in targets:
        found = verify_bundle(ws, path, case, recorded)
        if case is None and refs is None:
            found.insert(0, Notice(N_("{label}: a bundle no case records"), label=_label(ws, path)))
        problems += found
        if progress:
            progress(1)
    if problems:
        raise ArchiveVerificationError(problems)
    return {"verified": len(targets), "problems": []}


def extract(ws: Workspace, ref: str, target: Path) -> dict:
    """`archive extract`: refuses (writing nothing) entries outside the target, links,
    absolute paths, and a bundle that would unpack beyond the caps (by its headers; while
    unpacking, what was written is removed again if a cap is passed after all)."""
    path, _case = resolve_bundle(ws, ref)
    target = Path(target)
    try:
        zf = zipfile.ZipFile(path)
    except READ_ERRORS as exc:
        raise ValidationError(
            N_("{label}: not a readable zip ({error})"), label=str(path), error=why(exc)
        ) from None
    with zf:
        bad = check_entries(zf) + size_problems(zf)
        if bad:
            raise ValidationError(
                N_("{name}: refused, nothing extracted: {problems}"),
                name=path.name,
                problems=as_error(joined(bad)),
            )
        made = not target.exists()
        target.mkdir(parents=True, exist_ok=True)
        try:
            safe_extract(zf, target)
        except TooBig as exc:
            _remove_if_empty(target, made)
            raise ValidationError(
                N_("{name}: refused, nothing extracted: {problems}"),
                name=path.name,
                problems=as_error(exc.problem),
            ) from None
        except READ_ERRORS as exc:  # a damaged entry
            _remove_if_empty(target, made)
            raise ValidationError(
                N_("{label}: cannot be read: {error}"), label=str(path), error=why(exc)
            ) from None
        return {"bundle": str(path), "to": str(target.resolve()), "files": len(zf.infolist())}


def _remove_if_empty(folder: Path, made: bool) -> None:
    if made:
        try:
            folder.rmdir()
        except OSError:
            pass


# -- retention -----------------------------------------------------------------------------------------
HOLDS = stored_path("holds")
DISPOSALS = stored_path("disposals")


def read_holds(ws: Workspace) -> dict:
    return json.loads(ws.store.read_file(HOLDS)) if ws.store.file_exists(HOLDS) else {}


def set_hold(
    ws: Workspace, case_no: str, *, by: str, reason: str | None, release: bool = False
) -> dict:
    """`case hold`: a case under hold is never purged (a dispute, an audit, a court)."""
    from complaintforms.domain.model import text

    now = iso(clock_now())
    with ws.store.transaction() as txn:
        txn.get(case_no)  # must exist
        holds = dict(txn.read_json(HOLDS) or {})
        if release:
            if case_no not in holds:
                raise StateError(N_("{case_no}: not under hold"), case_no=case_no)
            before = holds.pop(case_no)
            txn.write_json(HOLDS, holds)
            txn.log(
                "case.hold.release",
                by,
                case_no,
                at=now,
                before={"hold": before},
                after={"hold": None},
            )
            return {"case_no": case_no, "hold": None}
        entry = {"by": by, "at": now, "reason": text(reason, "reason", required=True)}
        holds[case_no] = entry
        txn.write_json(HOLDS, holds)
        txn.log("case.hold", by, case_no, at=now, after={"hold": entry})
        return {"case_no": case_no, "hold": entry}


def transfer_rows(entries: list[dict], config) -> list[dict]:
    """The transfer list's rows as printed: names, Chinese dates, the retention period."""
    from complaintforms.documents.forms import department_name
    from complaintforms.domain.enums import label
    from complaintforms.domain.paper import cn_date

    return [
        {
            "case_no": e["case_no"],
            "closed": cn_date(e["closed_at"]),
            "department": department_name(config, e["department"]) or "—",
            "category": e["category"] or "未分类",
            "severity": label("severity", e["severity"]),
            "retention": f"{e['retention_years']} 年（至 {cn_date(e['retain_until'])}）",
            "signed_off_by": e["signed_off_by"],
            "sha256": e["sha256"],
        }
        for e in entries
    ]


def disposal_rows(records: list[dict]) -> list[dict]:
    from complaintforms.domain.paper import cn_date, cn_datetime

    return [
        {
            "case_no": r["case_no"],
            "closed": cn_date(r["closed_at"]),
            "retain_until": cn_date(r["retain_until"]),
            "by": r["by"],
            "at": cn_datetime(r["at"]),
            "sha256": r["sha256"],
        }
        for r in records
    ]


def retention_years(ws: Workspace, case: dict) -> int:
    """Years a bundle is kept from closing: longer for a major case (config)."""
    return (
        ws.config.retention_major_years
        if case["severity"] == "major"
        else ws.config.retention_default_years
    )


def retention_due(ws: Workspace, case: dict) -> str:
    years = retention_years(ws, case)
    closed = from_iso(case["closure"]["at"]).date()
    try:
        return closed.replace(year=closed.year + years).isoformat()
    except ValueError:  # 29 February
        return closed.replace(year=closed.year + years, day=28).isoformat()


def purge_candidates(ws: Workspace) -> list[dict]:
    today = clock_now().date().isoformat()
    holds = read_holds(ws)
    out = []
    for case in archived_cases(ws):
        if case["archive"].get("disposed") or case["case_no"] in holds:
            continue
        due = retention_due(ws, case)
        if due <= today:
            out.append({**summary(case), "retain_until": due})
    return out


def purge(
    ws: Workspace,
    *,
    by: str,
    confirm: Callable[[list[dict]], bool] | None = None,
    dry_run: bool = False,
) -> dict:
    """`archive purge`: bundles past retention are listed and, on confirmation, removed; each
    removal is entered in the disposal register (销毁清册) with who, when and the digest."""
    from complaintforms.documents.pipeline import prepare_list, render_files, reserve_serials

    candidates = purge_candidates(ws)
    if dry_run or not candidates:
        return {"candidates": candidates, "disposed": [], "register": []}
    if confirm is not None and not confirm(candidates):
        return {"candidates": candidates, "disposed": [], "register": []}
    for _ in range(MAX_TRIES):
        now = iso(clock_now())
        holds = read_holds(ws)
        going = [
            (ws.store.get(item["case_no"]), item["retain_until"])
            for item in candidates
            if item["case_no"] not in holds  # put under hold meanwhile
        ]
        disposed = [
            {
                "case_no": case["case_no"],
                "bundle": case["archive"]["bundle"],
                "sha256": case["archive"]["sha256"],
                "closed_at": case["closure"]["at"],
                "retain_until": until,
                "by": by,
                "at": now,
            }
            for case, until in going
        ]
        doc = prepare_list(
            ws,
            "disposal_register",
            period=now[:10],
            rows=disposal_rows(disposed),
            by=by,
            serial=reserve_serials(ws, 1)[0],
            at=now,
            kind="disposal_register",
            where={},
        )
        files = render_files(ws, doc, ("pdf", "docx"))
        try:
            with ws.store.transaction() as txn:
                if (txn.read_json(HOLDS) or {}) != holds:
                    raise Conflict
                for (case, _until), record in zip(going, disposed, strict=True):
                    if txn.get(case["case_no"]) != case:
                        raise Conflict
                    disposal = {"by": by, "at": now}
                    txn.replace({**case, "archive": {**case["archive"], "disposed": disposal}})
                    txn.log(
                        "archive.dispose",
                        by,
                        case["case_no"],
                        at=now,
                        after={"disposed": record},
                        sha256=record["sha256"],
                    )
                    txn.delete_file(logical(case["archive"]["bundle"]))
                lines = "".join(
                    json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in disposed
                )
                txn.put_file(DISPOSALS, (txn.read_file(DISPOSALS) or b"") + lines.encode())
                docs = store_files(txn, doc, files, at=now)
        except Conflict:
            continue
        return {"candidates": candidates, "disposed": disposed, "register": docs}
    raise StorageError(N_("the archive changed while the disposal register was made; try again"))
