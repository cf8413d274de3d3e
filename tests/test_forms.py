"""Templates: drift between docx and html, IME-typed tags, and what a template may read."""

from __future__ import annotations

import json
import shutil

from docx import Document

from .test_bad_input import refused
from .test_register import FULL_CASE


def test_forms_check_passes_on_the_defaults(cf):
    assert cf("forms", "check").exit_code == 0


def test_forms_check_names_a_drifted_html_template(cf, ws):
    path = ws.forms_dir / "record_card.html"
    path.write_text(
        path.read_text(encoding="utf-8").replace("{{ demand }}", "{{ demands }}"), encoding="utf-8"
    )
    result = cf("forms", "check")
    assert result.exit_code == 1
    assert "forms/record_card.html: uses fields the form does not have: demands" in result.stdout
    assert "forms/record_card.html: does not show the form's fields: demand" in result.stdout


def _edit_docx(path, old: str, new: str) -> None:
    doc = Document(str(path))
    done = False
    for table in doc.tables:
        for row in table.rows:
            for cell in row.cells:
                for p in cell.paragraphs:
                    for run in p.runs:
                        if old in run.text:
                            run.text = run.text.replace(old, new)
                            done = True
    assert done
    doc.save(str(path))


def test_forms_check_finds_full_width_braces_typed_in_word(cf, ws):
    _edit_docx(ws.forms_dir / "record_card.docx", "{{ content }}", "｛{ content }}")
    result = cf("forms", "check")
    assert result.exit_code == 1
    assert "forms/record_card.docx" in result.stdout and "｛ (use {)" in result.stdout


def test_forms_check_finds_smart_quotes_in_a_tag(cf, ws):
    _edit_docx(ws.forms_dir / "record_card.docx", "{{ category }}", "{{ category or “无” }}")
    result = cf("forms", "check")
    assert result.exit_code == 1 and '“ (use ")' in result.stdout


def test_a_template_cannot_read_files_outside_forms(cf, ws, tmp_path):
    secret = tmp_path / "secret.css"
    secret.write_text("body { color: red }", encoding="utf-8")
    base = ws.forms_dir / "_head.html"
    assert '<link rel="stylesheet" href="forms.css">' in base.read_text(encoding="utf-8")
    base.write_text(
        base.read_text(encoding="utf-8").replace(
            '<link rel="stylesheet" href="forms.css">',
            f'<link rel="stylesheet" href="forms.css"><link rel="stylesheet" href="{secret.as_uri()}">',
        ),
        encoding="utf-8",
    )
    refused(
        cf,
        ws,
        "case",
        "new",
        "--from",
        "-",
        input=json.dumps(FULL_CASE, ensure_ascii=False),
        expect="outside forms/",
    )


def test_a_template_cannot_include_files_outside_forms(cf, ws, tmp_path):
    (tmp_path / "outside.html").write_text("SECRET", encoding="utf-8")
    card = ws.forms_dir / "record_card.html"
    card.write_text(
        card.read_text(encoding="utf-8").replace(
            "{% block body %}", "{% block body %}{% include '../outside.html' %}"
        ),
        encoding="utf-8",
    )
    refused(
        cf,
        ws,
        "case",
        "new",
        "--from",
        "-",
        input=json.dumps(FULL_CASE, ensure_ascii=False),
        expect="outside.html",
    )


def test_forms_folder_may_hold_its_own_assets(cf, ws):
    shutil.copy(ws.forms_dir / "forms.css", ws.forms_dir / "extra.css")
    base = ws.forms_dir / "_head.html"
    assert '<link rel="stylesheet" href="forms.css">' in base.read_text(encoding="utf-8")
    base.write_text(
        base.read_text(encoding="utf-8").replace(
            'href="forms.css">', 'href="forms.css"><link rel="stylesheet" href="extra.css">'
        ),
        encoding="utf-8",
    )
    result = cf("case", "new", "--from", "-", input=json.dumps(FULL_CASE, ensure_ascii=False))
    assert result.exit_code == 0, result.stderr


def test_a_broken_word_template_is_refused_and_nothing_is_stored(cf, ws):
    (ws.forms_dir / "record_card.docx").write_bytes(b"not a zip file")
    refused(
        cf,
        ws,
        "case",
        "new",
        "--from",
        "-",
        input=json.dumps(FULL_CASE, ensure_ascii=False),
        expect="forms/record_card.docx: not a Word document",
    )


def test_a_missing_template_is_named_and_nothing_changes(cf, ws):
    from .test_procedure import register

    case_no = register(cf)
    (ws.forms_dir / "reply_letter.html").unlink()
    refused(
        cf,
        ws,
        "case",
        "reject",
        case_no,
        "--reason",
        "不属实",
        "--by",
        "吴芳",
        expect="forms/reply_letter.html is missing from this workspace",
    )
    assert "forms/reply_letter.html: missing" in cf("forms", "check").stdout
