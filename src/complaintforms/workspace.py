"""A workspace: complaintforms.yaml, forms/ and records/ in one folder."""

from __future__ import annotations

import hmac
import os
import secrets
import shutil
from functools import cached_property
from pathlib import Path

import orjson

from complaintforms.config import CONFIG_NAME, Config, load_config
from complaintforms.errors import WorkspaceError
from complaintforms.i18n import N_
from complaintforms.storage.base import Store
from complaintforms.storage.paths import stored_path

ENV_VAR = "COMPLAINTFORMS_WORKSPACE"
DSN_VAR = "COMPLAINTFORMS_DSN"


def defaults_dir() -> Path:
    """The packaged default config and forms.

    In an installed wheel they sit in complaintforms/_defaults; in a source checkout
    (editable install) the repository root is the default workspace.
    """
    here = Path(__file__).resolve().parent
    packaged = here / "_defaults"
    if (packaged / CONFIG_NAME).exists():
        return packaged
    checkout = here.parent.parent
    if (checkout / CONFIG_NAME).exists() and (checkout / "forms").is_dir():
        return checkout
    raise WorkspaceError(N_("the packaged default forms are missing; reinstall complaintforms"))


class Workspace:
    """A workspace folder and the store that keeps its records. `store` may be given (an
    in-memory store in tests); by default it is the TinyDB files under records/."""

    def __init__(self, root: Path, store: Store | None = None):
        self.root = Path(root).resolve()
        if store is not None:
            self.__dict__["store"] = store  # cached_property's slot

    @classmethod
    def open(cls, root: Path | str | None = None) -> Workspace:
        if root is None:
            root = os.environ.get(ENV_VAR) or "."
        ws = cls(Path(root))
        if not ws.root.is_dir():
            raise WorkspaceError(N_("{path}: no such folder"), path=str(ws.root))
        if not ws.config_path.exists():
            raise WorkspaceError(
                N_(
                    "{path} is not a workspace (no {config}); "
                    "create one with: complaintforms init {root}"
                ),
                path=str(ws.root),
                config=CONFIG_NAME,
                root=str(root),
            )
        if not ws.forms_dir.is_dir():
            raise WorkspaceError(N_("{path}: the forms/ folder is missing"), path=str(ws.root))
        return ws

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_NAME

    @property
    def forms_dir(self) -> Path:
        return self.root / "forms"

    @property
    def records_dir(self) -> Path:
        return self.root / "records"

    @cached_property
    def config(self) -> Config:
        return load_config(self.config_path)

    @cached_property
    def store(self) -> Store:
        """The configured backend (DESIGN.md section 10): TinyDB files under records/, or a
        PostgreSQL database (COMPLAINTFORMS_DSN, else storage.dsn), for which records/
        holds only the local copies of files that commands print."""
        if self.config.storage_backend == "postgresql":
            from complaintforms.storage.postgresql import PostgresStore

            dsn = os.environ.get(DSN_VAR) or self.config.storage_dsn
            if not dsn:
                raise WorkspaceError(
                    N_("storage.backend is postgresql but no dsn is set (storage.dsn or {var})"),
                    var=DSN_VAR,
                )
            return PostgresStore(dsn, self.records_dir)
        from complaintforms.storage.tinydb import TinyDBStore

        return TinyDBStore(self.records_dir)

    def local_path(self, recorded: str) -> Path:
        """A document's or scan's recorded path ("records/…") as a file on this machine."""
        from complaintforms.storage.paths import logical

        return self.store.local_path(logical(recorded))

    # -- identity, for QR codes -------------------------------------------------------------
    @cached_property
    def identity(self) -> dict:
        """{'id': 8 hex chars, 'secret': hex}; made on first use, in a transaction."""
        path = stored_path("identity")
        raw = self.store.read_file(path) if self.store.file_exists(path) else None
        if raw is None:
            with self.store.transaction() as txn:
                raw = txn.read_file(path)
                if raw is None:
                    ident = {"id": secrets.token_hex(4).upper(), "secret": secrets.token_hex(16)}
                    raw = orjson.dumps(ident)
                    txn.put_file(path, raw)
        try:
            ident = orjson.loads(raw)
            return {"id": str(ident["id"]), "secret": str(ident["secret"])}
        except (ValueError, KeyError, TypeError):
            raise WorkspaceError(N_("{path}: damaged workspace identity"), path=str(path)) from None

    @property
    def workspace_id(self) -> str:
        return self.identity["id"]

    def sign(self, message: str) -> str:
        """Check digits for a QR payload: 8 hex chars of an HMAC keyed by the workspace."""
        key = bytes.fromhex(self.identity["secret"])
        return hmac.new(key, message.encode("utf-8"), "sha256").hexdigest()[:8].upper()


def init_workspace(target: Path) -> Workspace:
    """Create a workspace from the packaged defaults. Refuses to overwrite one."""
    target = Path(target)
    if (target / CONFIG_NAME).exists():
        raise WorkspaceError(N_("{path} is already a workspace"), path=str(target.resolve()))
    if target.exists() and not target.is_dir():
        raise WorkspaceError(N_("{path}: exists and is not a folder"), path=str(target))
    source = defaults_dir()
    try:
        target.mkdir(parents=True, exist_ok=True)
        if (target / "forms").exists():
            raise WorkspaceError(
                N_("{path}/forms already exists; not overwriting it"), path=str(target.resolve())
            )
        shutil.copytree(source / "forms", target / "forms")
        shutil.copy2(source / CONFIG_NAME, target / CONFIG_NAME)
        (target / "records").mkdir(exist_ok=True)
    except OSError as exc:  # no permission, disk full, a file where a folder should be
        raise WorkspaceError(
            N_("{path}: cannot create the workspace: {error}"),
            path=str(target),
            error=exc.strerror or str(exc),
        ) from None
    ws = Workspace(target)
    ws.config  # noqa: B018 - fail now if the packaged config were broken
    ws.identity  # noqa: B018 - created now so that the id is fixed from the start
    return ws


def constant_time_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
