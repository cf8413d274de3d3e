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
import unicodedata
import zipfile
import zlib
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
from complaintforms.services.cases import quarter_months
from complaintforms.services.messages import Notice, as_error, joined
from complaintforms.storage.base import MAX_TRIES, Conflict
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


def nfc(name: str) -> str:
    return unicodedata.normalize("NFC", name)


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
        transfer = _transfer_list(ws, quarter, result.bundles, now, by) if quarter else None
        try:
            with ws.store.transaction() as txn:
                for case, archived, rel, data in sealed:
                    if txn.get(case["case_no"]) != case:
                        raise Conflict
                    txn.put_file(rel, data)
                    txn.replace(archived)
                    txn.log(
                        "archive.build",
                        by,
                        case["case_no"],
                        at=now,
                        before={"status": case["status"], "archive": case["archive"]},
                        after={"status": "archived", "archive": archived["archive"]},
                        sha256=archived["archive"]["sha256"],
                    )
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


def _transfer_list(ws: Workspace, quarter: str, bundles: list[dict], now: str, by: str):
    """The quarter's transfer list, rendered (no lock held): (document, files)."""
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
                raw = _read_small(zf, info_entry, MAX_TAG_FILE_BYTES, _Budget())
                info = raw.decode("utf-8", "replace")
            entries = [{"name": i.filename, "bytes": i.file_size} for i in infos]
        digest = sha256_file(path)
    except _TooBig as exc:
        raise ValidationError(
            N_("{label}: {problem}"), label=str(path), problem=as_error(exc.problem)
        ) from None
    except READ_ERRORS as exc:  # missing, empty, truncated, not a zip, damaged
        raise ValidationError(
            N_("{label}: not a readable zip ({error})"), label=str(path), error=_why(exc)
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
# Caps against zip bombs: checked from the zip's headers before anything is read, and again
# on the bytes actually unpacked while streaming (a header may lie).
MAX_UNPACKED_BYTES = 2 * 1024**3  # all entries of one bundle together, unpacked
MAX_RATIO = 200  # unpacked : compressed, per entry ...
RATIO_FLOOR = 1024**2  # ... once the entry unpacks to more than 1 MiB
MAX_TAG_FILE_BYTES = 16 * 1024**2  # bagit.txt, bag-info.txt, the manifests, case.json: in memory
CHUNK = 1 << 16
MANIFEST = "manifest-sha256.txt"
TAGMANIFEST = "tagmanifest-sha256.txt"

READ_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    OSError,
    EOFError,
    zlib.error,
    ValueError,
    NotImplementedError,  # an unsupported compression method
    RuntimeError,  # an encrypted entry
)


def _why(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


class _TooBig(Exception):
    """A bomb: the problem, found before or while unpacking."""

    def __init__(self, problem: Notice):
        super().__init__(str(problem))
        self.problem = problem


def _entry_limit(info: zipfile.ZipInfo) -> int:
    return max(RATIO_FLOOR, MAX_RATIO * info.compress_size)


def _ratio_problem(info: zipfile.ZipInfo, size: int) -> Notice:
    return Notice(
        N_("{name}: unpacks to more than {limit}:1 ({size} bytes from {packed}); a zip bomb?"),
        name=info.filename,
        limit=MAX_RATIO,
        size=size,
        packed=info.compress_size,
    )


def _total_problem() -> Notice:
    return Notice(
        N_("unpacks to more than {limit} MB in all; a zip bomb?"),
        limit=MAX_UNPACKED_BYTES // 1024**2,
    )


def size_problems(zf: zipfile.ZipFile) -> list[str]:
    """Entries, or the whole, that would unpack beyond the caps, by the zip's headers."""
    problems: list[str] = []
    total = 0
    for info in zf.infolist():
        if info.file_size > _entry_limit(info):
            problems.append(_ratio_problem(info, info.file_size))
        total += info.file_size
    if total > MAX_UNPACKED_BYTES:
        problems.append(_total_problem())
    return problems


class _Budget:
    """The bytes unpacked so far from one bundle; raises _TooBig past a cap."""

    def __init__(self) -> None:
        self.total = 0

    def stream(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo):
        """The entry's bytes, chunk by chunk, counted."""
        limit, read = _entry_limit(info), 0
        with zf.open(info) as fh:
            while chunk := fh.read(CHUNK):
                read += len(chunk)
                self.total += len(chunk)
                if read > limit:
                    raise _TooBig(_ratio_problem(info, read))
                if self.total > MAX_UNPACKED_BYTES:
                    raise _TooBig(_total_problem())
                yield chunk


def _read_small(zf: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int, budget: _Budget) -> bytes:
    if info.file_size > cap:
        raise _TooBig(
            Notice(N_("{name}: larger than {limit} MB"), name=info.filename, limit=cap // 1024**2)
        )
    out = bytearray()
    for chunk in budget.stream(zf, info):
        out += chunk
        if len(out) > cap:
            raise _TooBig(
                Notice(
                    N_("{name}: larger than {limit} MB"), name=info.filename, limit=cap // 1024**2
                )
            )
    return bytes(out)


def check_entries(zf: zipfile.ZipFile) -> list[str]:
    """Entries that would land outside the target, links, absolute paths."""
    problems = []
    for info in zf.infolist():
        name = info.filename
        mode = info.external_attr >> 16
        pure = PurePosixPath(name.replace("\\", "/"))
        if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
            problems.append(Notice(N_("{name}: absolute path"), name=name))
        elif ".." in pure.parts:
            problems.append(Notice(N_("{name}: leads outside the target folder"), name=name))
        elif stat.S_ISLNK(mode):
            problems.append(Notice(N_("{name}: a symbolic link"), name=name))
    return problems


def _safe_extract(zf: zipfile.ZipFile, target: Path) -> None:
    """Every entry under `target`, streamed within the caps. On any failure the files and
    folders this call made are removed again."""
    target = target.resolve()
    budget = _Budget()
    made: list[Path] = []

    def mkdirs(folder: Path) -> None:
        missing = []
        while not folder.exists():
            missing.append(folder)
            folder = folder.parent
        for item in reversed(missing):
            item.mkdir()
            made.append(item)

    try:
        for info in zf.infolist():
            dest = (target / info.filename).resolve()
            if not dest.is_relative_to(target):  # belt and braces after check_entries
                raise ValidationError(
                    N_("{name}: leads outside {target}"), name=info.filename, target=str(target)
                )
            if info.is_dir():
                mkdirs(dest)
                continue
            mkdirs(dest.parent)
            if not dest.exists():
                made.append(dest)  # a file already there is overwritten, as before
            with open(dest, "wb") as out:
                for chunk in budget.stream(zf, info):
                    out.write(chunk)
    except BaseException:
        for item in reversed(made):
            try:
                item.rmdir() if item.is_dir() else item.unlink()
            except OSError:
                pass
        raise


def _unquote_manifest_path(text: str) -> str:
    """RFC 8493 section 2.1.3: CR, LF and % are percent-encoded in manifest paths."""
    return (
        text.replace("%0D", "\r")
        .replace("%0d", "\r")
        .replace("%0A", "\n")
        .replace("%0a", "\n")
        .replace("%25", "%")
    )


def _parse_tags(name: str, text: str, problems: list[str]) -> dict[str, str]:
    """A tag file (bagit.txt, bag-info.txt): `Label: value` lines, folded lines joined; the
    first value of a label is kept."""
    tags: dict[str, str] = {}
    key: str | None = None
    for line in text.splitlines():
        if not line.strip():
            continue
        if line[0].isspace() and key is not None:
            tags[key] += " " + line.strip()
            continue
        label, sep, value = line.partition(":")
        if not sep:
            problems.append(
                Notice(N_("{name} contains an invalid tag: {line}"), name=name, line=line.strip())
            )
            key = None
            continue
        key = label.strip()
        if key in tags:
            key = None  # a second value is ignored, as bagit does
            continue
        tags[key] = value.strip()
    return tags


def _parse_manifest(name: str, text: str, problems: list[str]) -> dict[str, str]:
    """path (NFC) -> lower-case hex digest."""
    entries: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.strip().split(None, 1)
        digest = parts[0].lower()
        if len(parts) != 2 or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            problems.append(
                Notice(
                    N_("{name} line {line}: not a SHA-256 digest and a path"),
                    name=name,
                    line=number,
                )
            )
            continue
        path = nfc(_unquote_manifest_path(parts[1]))
        pure = PurePosixPath(path)
        if path.startswith("/") or ".." in pure.parts:
            problems.append(Notice(N_('Path "{path}" in "{name}" is unsafe'), path=path, name=name))
            continue
        entries[path] = digest
    return entries


@dataclass
class _Bag:
    """One bag folder inside a zip: bag-relative NFC path -> its entry."""

    root: str
    members: dict[str, zipfile.ZipInfo]


def _find_bag(zf: zipfile.ZipFile, problems: list[str]) -> tuple[_Bag | None, int]:
    """The one bag folder at the top of the zip (None, and how many there are, if not one)."""
    roots: set[str] = set()
    members: dict[str, zipfile.ZipInfo] = {}
    for info in zf.infolist():
        parts = PurePosixPath(nfc(info.filename.replace("\\", "/"))).parts
        if not parts:
            continue
        if len(parts) == 1 and not info.is_dir():
            problems.append(Notice(N_("{name}: outside the bag folder"), name=info.filename))
            continue
        roots.add(parts[0])
        if info.is_dir() or len(parts) == 1:
            continue
        rel = "/".join(parts[1:])
        if rel in members:
            problems.append(Notice(N_("{name}: more than once in the bundle"), name=info.filename))
        members[rel] = info
    if len(roots) != 1:
        return None, len(roots)
    return _Bag(root=roots.pop(), members=members), 1


def _check_bag(zf: zipfile.ZipFile, case: dict | None, budget: _Budget, label: str) -> list[str]:
    """The BagIt checks (RFC 8493) on the zip's entries, streamed; every problem found.
    Raises _TooBig on a bomb."""
    problems: list[str] = []  # within the bag; named by the bundle at the end
    fatal: list[str] = []  # the bundle's own problems
    bag, count = _find_bag(zf, problems)
    if bag is None:
        return [
            Notice(N_("{label}: expected one bag folder, found {count}"), label=label, count=count)
        ] + [_in_bundle(label, p) for p in problems]
    members = bag.members
    digests: dict[str, str] = {}
    sizes: dict[str, int] = {}

    def read_text(rel: str) -> str | None:
        info = members.get(rel)
        if info is None:
            return None
        try:
            raw = _read_small(zf, info, MAX_TAG_FILE_BYTES, budget)
        except _TooBig as exc:
            if budget.total > MAX_UNPACKED_BYTES:
                raise
            problems.append(exc.problem)
            return None
        except READ_ERRORS as exc:
            problems.append(
                Notice(N_("{name}: cannot be read: {error}"), name=rel, error=_why(exc))
            )
            return None
        digests[rel] = hashlib.sha256(raw).hexdigest()
        sizes[rel] = len(raw)
        try:
            return raw.decode("utf-8-sig" if rel != "bagit.txt" else "utf-8")
        except UnicodeDecodeError:
            problems.append(Notice(N_("{name}: not UTF-8 text"), name=rel))
            return None

    def invalid(error: Notice) -> None:
        fatal.append(Notice(N_("{label}: not a valid bag: {error}"), label=label, error=error))

    # bagit.txt: the declaration
    declaration = read_text("bagit.txt")
    if "bagit.txt" not in members:
        invalid(Notice(N_("bagit.txt is missing")))
    elif declaration is not None:
        tags = _parse_tags("bagit.txt", declaration, problems)
        lacking = [t for t in ("BagIt-Version", "Tag-File-Character-Encoding") if t not in tags]
        if lacking:
            invalid(Notice(N_("bagit.txt lacks {tags}"), tags=", ".join(lacking)))
        elif tags["Tag-File-Character-Encoding"].lower().replace("_", "-") not in ("utf-8", "utf8"):
            invalid(
                Notice(
                    N_("unsupported tag file encoding {encoding}"),
                    encoding=tags["Tag-File-Character-Encoding"],
                )
            )
    # the payload folder and the manifests
    payload = {rel: info for rel, info in members.items() if rel.startswith("data/")}
    has_data = bool(payload) or any(
        i.is_dir() and PurePosixPath(nfc(i.filename)).parts[1:] == ("data",) for i in zf.infolist()
    )
    if not has_data:
        invalid(Notice(N_("the data/ folder is missing")))
    manifest_text = read_text(MANIFEST)
    if MANIFEST not in members:
        invalid(Notice(N_("{name} is missing"), name=MANIFEST))
    manifest = _parse_manifest(MANIFEST, manifest_text, problems) if manifest_text else {}
    for rel in manifest:
        if not rel.startswith("data/"):
            problems.append(
                Notice(N_("{path}: listed in {name} but not in data/"), path=rel, name=MANIFEST)
            )
    tagmanifest_text = read_text(TAGMANIFEST) if TAGMANIFEST in members else None
    tagmanifest = (
        _parse_manifest(TAGMANIFEST, tagmanifest_text, problems) if tagmanifest_text else {}
    )
    info_text = read_text("bag-info.txt") if "bag-info.txt" in members else None
    bag_info = _parse_tags("bag-info.txt", info_text, problems) if info_text else {}

    # completeness
    for rel in sorted(manifest):
        if rel.startswith("data/") and rel not in payload:
            problems.append(
                Notice(N_("{path} exists in manifest but was not found in the bundle"), path=rel)
            )
    for rel in sorted(payload):
        if rel not in manifest:
            problems.append(
                Notice(N_("{path} exists in the bundle but is not in the manifest"), path=rel)
            )
    for rel in sorted(tagmanifest):
        if rel not in members:
            problems.append(
                Notice(N_("{path} exists in manifest but was not found in the bundle"), path=rel)
            )

    # digests, streamed
    wanted = [(rel, manifest[rel]) for rel in sorted(manifest) if rel in payload]
    wanted += [(rel, tagmanifest[rel]) for rel in sorted(tagmanifest) if rel in members]
    for rel, expected in wanted:
        if rel not in digests:
            digest, size = hashlib.sha256(), 0
            try:
                for chunk in budget.stream(zf, members[rel]):
                    digest.update(chunk)
                    size += len(chunk)
            except READ_ERRORS as exc:  # damage shows here
                problems.append(
                    Notice(N_("{name}: cannot be read: {error}"), name=rel, error=_why(exc))
                )
                continue
            digests[rel], sizes[rel] = digest.hexdigest(), size
        if digests[rel] != expected:
            problems.append(
                Notice(
                    N_('{path} sha256 validation failed: expected="{expected}" found="{found}"'),
                    path=rel,
                    expected=expected,
                    found=digests[rel],
                )
            )

    # Payload-Oxum: octets.count
    oxum = bag_info.get("Payload-Oxum")
    if oxum is not None:
        octets, _sep, count = oxum.partition(".")
        if not (octets.isascii() and octets.isdigit() and count.isascii() and count.isdigit()):
            problems.append(Notice(N_("Malformed Payload-Oxum value: {value}"), value=oxum))
        else:
            found_bytes = sum(sizes.get(rel, info.file_size) for rel, info in payload.items())
            if int(octets) != found_bytes or int(count) != len(payload):
                problems.append(
                    Notice(
                        N_(
                            "Payload-Oxum validation failed. Expected {oxum_files} files and "
                            "{oxum_bytes} bytes but found {files} files and {bytes} bytes"
                        ),
                        oxum_files=int(count),
                        oxum_bytes=int(octets),
                        files=len(payload),
                        bytes=found_bytes,
                    )
                )

    # the case it holds
    if case is not None and "data/case.json" in payload:
        text = read_text("data/case.json")
        try:
            stored = json.loads(text) if text is not None else None
        except ValueError:
            stored = None
            problems.append(Notice(N_("{name}: not valid JSON"), name="data/case.json"))
        found = stored.get("case_no") if isinstance(stored, dict) else None
        if text is not None and found != case["case_no"]:
            fatal.append(
                Notice(
                    N_("{label}: holds case {found}, not {case_no}"),
                    label=label,
                    found=found,
                    case_no=case["case_no"],
                )
            )
    return fatal + [_in_bundle(label, p) for p in problems]


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
        return [Notice(N_("{label}: not a readable zip ({error})"), label=label, error=_why(exc))]
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
            Notice(N_("{label}: not a readable zip ({error})"), label=label, error=_why(exc))
        ]
    with zf:
        bad = check_entries(zf)
        if bad:
            return problems + [_in_bundle(label, p) for p in bad]
        bombs = size_problems(zf)
        if bombs:
            return problems + [_in_bundle(label, p) for p in bombs]
        try:
            problems += _check_bag(zf, case, _Budget(), label)
        except _TooBig as exc:
            problems.append(_in_bundle(label, exc.problem))
        except READ_ERRORS as exc:  # damage shows here
            problems.append(
                Notice(N_("{label}: cannot be read: {error}"), label=label, error=_why(exc))
            )
    return problems


def _in_bundle(label: str, problem: object) -> Notice:
    """A problem of one bundle, named by it."""
    shown_problem = problem if isinstance(problem, Notice) else str(problem)
    return Notice(N_("{label}: {problem}"), label=label, problem=shown_problem)


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
            N_("{label}: not a readable zip ({error})"), label=str(path), error=_why(exc)
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
            _safe_extract(zf, target)
        except _TooBig as exc:
            _remove_if_empty(target, made)
            raise ValidationError(
                N_("{name}: refused, nothing extracted: {problems}"),
                name=path.name,
                problems=as_error(exc.problem),
            ) from None
        except READ_ERRORS as exc:  # a damaged entry
            _remove_if_empty(target, made)
            raise ValidationError(
                N_("{label}: cannot be read: {error}"), label=str(path), error=_why(exc)
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
