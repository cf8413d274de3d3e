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
