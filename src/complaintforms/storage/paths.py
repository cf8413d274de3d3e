"""Every stored path, made in one function (after paperless-ngx's `generate_filename`).

Paths are logical and relative to the store's root ("documents/2026/TS-2026-000001/
record_card-000001.pdf"): the same in every backend, shown with a "records/" prefix in a
case's `documents` and `attachments` (that prefix is the folder in a TinyDB workspace, and
the local copy's folder for PostgreSQL).
"""

from __future__ import annotations

import unicodedata
from typing import Any

from complaintforms.errors import StorageError
from complaintforms.i18n import N_

PREFIX = "records/"

# kind -> pattern; the values are checked below so that no path leaves its folder.
PATTERNS = {
    "document": "documents/{year}/{case_no}/{form}-{serial:06d}.{ext}",
    "scan": "scans/{year}/{case_no}/{name}",
    "unmatched": "unmatched/{day}/{name}",
    "bundle": "archive/{year}/Q{quarter}/{case_no}.zip",
    "transfer_list": "archive/{year}/Q{quarter}/transfer_list-{serial:06d}.{ext}",
    "disposal_register": "archive/disposals/disposal_register-{serial:06d}.{ext}",
    "disposals": "archive/disposals.jsonl",
    "holds": "archive/holds.json",
    "register": "registers/{month}/opinion_register-{serial:06d}.{ext}",
    # 催办 / 督办 notices (services.supervision), by the day they were issued as of
    "notice": "supervision/{year}/{day}/{form}-{serial:06d}.{ext}",
    "report": "reports/{period}/statistics_report-{serial:06d}.{ext}",
    "figures": "reports/{period}/figures-{serial:06d}.csv",
    "identity": "workspace.json",
}


def stored_path(kind: str, **values: Any) -> str:
    """The logical path of a stored file of `kind` (a key of PATTERNS)."""
    clean = {}
    for key, value in values.items():
        if isinstance(value, str):
            value = unicodedata.normalize("NFC", value)
            if not value or "/" in value or "\\" in value or value in (".", "..") or "\0" in value:
                raise StorageError(
                    N_("{kind}: {name} {value} cannot be part of a path"),
                    kind=kind,
                    name=key,
                    value=repr(value),
                )
        clean[key] = value
    return PATTERNS[kind].format(**clean)


def shown(path: str) -> str:
    """The path as a case records it: records/<logical path>."""
    return PREFIX + path


def logical(path: str) -> str:
    """A case's recorded path back to the logical one."""
    return path.removeprefix(PREFIX)
