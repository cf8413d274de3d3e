"""Templates read only regular files inside forms/ (issue 12, point 1): a link to a file or a
folder elsewhere is refused when rendering and named by `forms check` and `doctor`."""

from __future__ import annotations

import json
import os

from .conftest import pdf_text
from .test_bad_input import refused
from .test_register import FULL_CASE

SECRET = "SECRET-LINE-root:x:0:0"


def include_in_card(ws, name: str) -> None:
    card = ws.forms_dir / "record_card.html"
    card.write_text(
        card.read_text(encoding="utf-8").replace(
            "{% block body %}", "{% block body %}{% include '" + name + "' %}"
        ),
        encoding="utf-8",
    )


def test_a_linked_file_outside_forms_is_refused_and_named(cf, ws, tmp_path):
    secret = tmp_path / "passwd"
    secret.write_text(SECRET, encoding="utf-8")
    os.symlink(secret, ws.forms_dir / "evil.html")
    include_in_card(ws, "evil.html")
    refused(
        cf,
        ws,
        "case",
        "new",
        "--from",
        "-",
        input=json.dumps(FULL_CASE, ensure_ascii=False),
        expect="forms/evil.html leads outside forms/",
    )
    check = cf("forms", "check")
    assert check.exit_code == 1 and "forms/evil.html: a link to" in check.stdout
    doctor = cf("doctor")
    assert doctor.exit_code == 1 and "evil.html" in doctor.stdout


def test_a_linked_folder_outside_forms_is_refused(cf, ws, tmp_path):
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    (folder / "secret.html").write_text(SECRET, encoding="utf-8")
    os.symlink(folder, ws.forms_dir / "sub")
    include_in_card(ws, "sub/secret.html")
    refused(
        cf,
        ws,
        "case",
        "new",
        "--from",
        "-",
        input=json.dumps(FULL_CASE, ensure_ascii=False),
        expect="leads outside forms/",
    )
    assert "forms/sub: a link to" in cf("forms", "check").stdout


def test_a_link_to_a_file_inside_forms_is_fine(cf, ws):
    (ws.forms_dir / "note.html").write_text("<p>备注：内部链接</p>", encoding="utf-8")
    os.symlink(ws.forms_dir / "note.html", ws.forms_dir / "alias.html")
    include_in_card(ws, "alias.html")
    case = cf.json("case", "new", "--from", "-", input=json.dumps(FULL_CASE, ensure_ascii=False))
    pdf = next(d["path"] for d in case["documents"] if d["format"] == "pdf")
    assert "内部链接" in pdf_text(ws.root / pdf)
    assert "alias.html" not in cf("forms", "check").stdout


def test_a_linked_word_template_outside_forms_is_refused(cf, ws, tmp_path):
    outside = tmp_path / "record_card.docx"
    outside.write_bytes((ws.forms_dir / "record_card.docx").read_bytes())
    (ws.forms_dir / "record_card.docx").unlink()
    os.symlink(outside, ws.forms_dir / "record_card.docx")
    result = cf("case", "new", "--from", "-", input=json.dumps(FULL_CASE, ensure_ascii=False))
    assert result.exit_code == 1 and "record_card.docx" in result.stderr


def test_the_render_server_refuses_a_link_outside_forms_too(tmp_path, server_env, monkeypatch):
    """The warm render process uses the same loader: a link added while it runs is refused
    by it, and nothing is written."""
    import time

    from complaintforms.documents import server as renderd
    from complaintforms.workspace import Workspace

    from .conftest import run_cli
    from .test_speed_paths import CASE

    root = tmp_path / "ws"
    assert run_cli("init", str(root), env=server_env).returncode == 0
    case = json.dumps(CASE, ensure_ascii=False)
    first = run_cli("-w", str(root), "case", "new", "--from", "-", env=server_env, input_text=case)
    assert first.returncode == 0, first.stderr
    for key, value in server_env.items():
        monkeypatch.setenv(key, value)
    ws = Workspace.open(root)
    deadline = time.monotonic() + 180  # a loaded 2-core machine starts it slowly
    while renderd.status(ws.forms_dir, ws.config.font_sans) is None:
        assert time.monotonic() < deadline, "the render server did not start"
        time.sleep(0.2)
    secret = tmp_path / "passwd"
    secret.write_text(SECRET, encoding="utf-8")
    os.symlink(secret, ws.forms_dir / "evil.html")
    include_in_card(ws, "evil.html")
    second = run_cli("-w", str(root), "case", "new", "--from", "-", env=server_env, input_text=case)
    assert second.returncode == 1 and "leads outside forms/" in second.stderr
    assert renderd.status(ws.forms_dir, ws.config.font_sans)["served"] >= 1
    assert ws.store.count() == 1
