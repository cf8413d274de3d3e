"""Fixtures: a fresh workspace per test, and helpers that read generated documents back."""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from complaintforms.cli import cli
from complaintforms.workspace import Workspace, init_workspace

REPO = Path(__file__).resolve().parent.parent
# The browser tests' fixtures: a real server and Chromium (tests/browser_fixtures.py); a
# throwaway PostgreSQL server for the PostgreSQL store (tests/pg.py).
pytest_plugins = ["tests.browser_fixtures", "tests.pg"]


@pytest.fixture(scope="session", autouse=True)
def font_cache(tmp_path_factory) -> Path:
    """The compact form font is made once per test session, not in the user's cache."""
    path = tmp_path_factory.mktemp("cache")
    os.environ["COMPLAINTFORMS_CACHE_DIR"] = str(path)
    # No background render servers from the tests, except where a test starts one itself,
    # and none of their sockets in the user's run folder.
    os.environ["COMPLAINTFORMS_RENDER_SERVER"] = "0"
    os.environ["COMPLAINTFORMS_COMMAND_SERVER"] = "0"
    os.environ["COMPLAINTFORMS_RUN_DIR"] = tempfile.mkdtemp(prefix="cf-run-")
    # The operator of commands run without --by (DESIGN.md section 9); tests of the refusal
    # without either unset it.
    os.environ["COMPLAINTFORMS_USER"] = "测试员"
    # The tests read messages in English (the message ids); tests of the Chinese interface
    # set COMPLAINTFORMS_LANG themselves.
    os.environ["COMPLAINTFORMS_LANG"] = "en"
    return path


@pytest.fixture
def server_env(tmp_path):
    """The environment of commands that use a warm render server of their own, stopped
    afterwards."""
    import tempfile

    run = Path(tempfile.mkdtemp(prefix="cf-run-"))  # short: a socket path has 107 bytes
    env = {
        "COMPLAINTFORMS_RENDER_SERVER": "1",
        "COMPLAINTFORMS_RENDER_SERVER_IDLE": "30",
        "COMPLAINTFORMS_RUN_DIR": str(run),
    }
    yield env
    stop_servers_in(run)


def stop_servers_in(run: Path) -> None:
    """Stop every background server of a test's run folder, including one still starting
    (its command line names its socket in `run`), and remove the folder."""
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if str(run).encode() in cmdline.read_bytes():
                os.kill(int(cmdline.parent.name), signal.SIGTERM)
        except (OSError, ValueError):
            pass
    shutil.rmtree(run, ignore_errors=True)


# COMPLAINTFORMS_TEST_STORE=postgresql: the `ws` (and `cf`) of every test keep their records
# in a database of their own on the throwaway cluster (tests/pg.py), as `storage:` in the
# workspace's configuration says; `make test` runs the CLI tests again so (DESIGN.md 10).
TEST_STORE = os.environ.get("COMPLAINTFORMS_TEST_STORE", "tinydb")


@pytest.fixture
def ws(tmp_path: Path, request) -> Workspace:
    root = init_workspace(tmp_path / "ws").root
    if TEST_STORE == "postgresql":
        dsn = request.getfixturevalue("pg_database")
        with open(root / "complaintforms.yaml", "a", encoding="utf-8") as fh:
            fh.write(f"\nstorage:\n  backend: postgresql\n  dsn: {json.dumps(dsn)}\n")
        assert Workspace.open(root).store.location != str(root / "records")
    return Workspace.open(root)


class Runner:
    """Runs the CLI in-process against one workspace."""

    def __init__(self, ws: Workspace):
        self.ws = ws
        self.runner = CliRunner()

    def __call__(
        self, *args: str, input: str | None = None, json_out: bool = False, env: dict | None = None
    ):
        argv = ["--workspace", str(self.ws.root)] + (["--json"] if json_out else []) + list(args)
        result = self.runner.invoke(cli, argv, input=input, catch_exceptions=False, env=env)
        return result

    def json(self, *args: str, input: str | None = None, env: dict | None = None):
        result = self(*args, input=input, json_out=True, env=env)
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)


@pytest.fixture
def cf(ws: Workspace) -> Runner:
    return Runner(ws)


def run_cli(
    *args: str,
    cwd: Path | None = None,
    env: dict | None = None,
    timeout: float = 120,
    input_text: str | None = None,
):
    """The real console script in a subprocess."""
    exe = Path(sys.executable).parent / "complaintforms"
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [str(exe), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=full_env,
        timeout=timeout,
        input=input_text,
    )


# -- reading documents back ----------------------------------------------------------------------------
def pdf_text(path: Path) -> str:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(path))
    try:
        return "\n".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    finally:
        pdf.close()


def pdf_page_count(path: Path) -> int:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(path))
    try:
        return len(pdf)
    finally:
        pdf.close()


def pdf_fonts(path: Path) -> dict[str, bool]:
    """Base font name -> embedded, for every font used by text on any page."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    fonts: dict[str, bool] = {}
    pdf = pdfium.PdfDocument(str(path))
    try:
        for page in pdf:
            for obj in page.get_objects(filter=(raw.FPDF_PAGEOBJ_TEXT,), max_depth=5):
                font = raw.FPDFTextObj_GetFont(obj.raw)
                size = raw.FPDFFont_GetBaseFontName(font, None, 0)
                buf = ctypes.create_string_buffer(size)
                raw.FPDFFont_GetBaseFontName(font, buf, size)
                fonts[buf.value.decode("utf-8", "replace")] = bool(raw.FPDFFont_GetIsEmbedded(font))
    finally:
        pdf.close()
    return fonts


def pdf_qr_codes(path: Path, page: int = 0, scale: float = 3) -> list[str]:
    import pypdfium2 as pdfium
    import zxingcpp

    pdf = pdfium.PdfDocument(str(path))
    try:
        image = pdf[page].render(scale=scale).to_pil()
    finally:
        pdf.close()
    return [
        r.text for r in zxingcpp.read_barcodes(image) if r.format == zxingcpp.BarcodeFormat.QRCode
    ]


def docx_text(path: Path) -> str:
    """All text of a docx: body paragraphs, tables (nested), headers and footers."""
    from docx import Document

    doc = Document(str(path))
    parts: list[str] = []

    def walk(container) -> None:
        for p in container.paragraphs:
            parts.append(p.text)
        for table in container.tables:
            for row in table.rows:
                for cell in row.cells:
                    walk(cell)

    walk(doc)
    for section in doc.sections:
        walk(section.header)
        walk(section.footer)
    return "\n".join(parts)


def docx_images(path: Path) -> list[bytes]:
    from docx import Document

    doc = Document(str(path))
    return [rel.target_part.blob for rel in doc.part.rels.values() if "image" in rel.reltype]


def snapshot(ws: Workspace) -> dict[str, bytes]:
    """Every file under records/ (except the lock), for 'nothing changed' assertions."""
    out = {}
    for path in sorted(ws.records_dir.rglob("*")):
        if path.is_file() and path.name != ".lock":
            out[str(path.relative_to(ws.records_dir))] = path.read_bytes()
    return out


# -- the web interface -----------------------------------------------------------------------------------
@pytest.fixture
def web_app(ws: Workspace):
    """The web interface of the test's workspace (its TinyDB store, as `serve` uses it)."""
    from complaintforms.web import create_app

    return create_app(ws.root)


@pytest.fixture
def web(ws: Workspace, web_app):
    """`web("clerk")`: a client signed in as a new user of that role (tests/webutil.py);
    `web("department", department="SAL", name="sunli")` for another one."""
    from tests.webutil import WebClient, add_user

    made: dict[str, dict] = {}

    def signed_in(role: str, *, name: str | None = None, department: str | None = None):
        user = add_user(ws, role, name=name, department=department)
        made[user["name"]] = user
        client = WebClient(web_app)
        client.login(user["name"])
        return client

    return signed_in
