"""A BagIt bag (RFC 8493) read from its zip without unpacking it: the entries' names and
sizes checked, every SHA-256 streamed, within caps against zip bombs. `archive verify`,
`show` and `extract` use it; nothing here writes to disk but `safe_extract`.
"""

from __future__ import annotations

import hashlib
import json
import stat
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from complaintforms.errors import Notice, ValidationError
from complaintforms.i18n import N_


def nfc(name: str) -> str:
    return unicodedata.normalize("NFC", name)


def in_bundle(label: str, problem: object) -> Notice:
    """A problem of one bundle, named by it."""
    shown_problem = problem if isinstance(problem, Notice) else str(problem)
    return Notice(N_("{label}: {problem}"), label=label, problem=shown_problem)


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


def why(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


class TooBig(Exception):
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


class Budget:
    """The bytes unpacked so far from one bundle; raises TooBig past a cap."""

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
                    raise TooBig(_ratio_problem(info, read))
                if self.total > MAX_UNPACKED_BYTES:
                    raise TooBig(_total_problem())
                yield chunk


def read_small(zf: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int, budget: Budget) -> bytes:
    if info.file_size > cap:
        raise TooBig(
            Notice(N_("{name}: larger than {limit} MB"), name=info.filename, limit=cap // 1024**2)
        )
    out = bytearray()
    for chunk in budget.stream(zf, info):
        out += chunk
        if len(out) > cap:
            raise TooBig(
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


def safe_extract(zf: zipfile.ZipFile, target: Path) -> None:
    """Every entry under `target`, streamed within the caps. On any failure the files and
    folders this call made are removed again."""
    target = target.resolve()
    budget = Budget()
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


def check_bag(zf: zipfile.ZipFile, case: dict | None, budget: Budget, label: str) -> list[str]:
    """The BagIt checks (RFC 8493) on the zip's entries, streamed; every problem found.
    Raises TooBig on a bomb."""
    problems: list[str] = []  # within the bag; named by the bundle at the end
    fatal: list[str] = []  # the bundle's own problems
    bag, count = _find_bag(zf, problems)
    if bag is None:
        return [
            Notice(N_("{label}: expected one bag folder, found {count}"), label=label, count=count)
        ] + [in_bundle(label, p) for p in problems]
    members = bag.members
    digests: dict[str, str] = {}
    sizes: dict[str, int] = {}

    def read_text(rel: str) -> str | None:
        info = members.get(rel)
        if info is None:
            return None
        try:
            raw = read_small(zf, info, MAX_TAG_FILE_BYTES, budget)
        except TooBig as exc:
            if budget.total > MAX_UNPACKED_BYTES:
                raise
            problems.append(exc.problem)
            return None
        except READ_ERRORS as exc:
            problems.append(Notice(N_("{name}: cannot be read: {error}"), name=rel, error=why(exc)))
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
                    Notice(N_("{name}: cannot be read: {error}"), name=rel, error=why(exc))
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
    return fatal + [in_bundle(label, p) for p in problems]
