"""Messages of the documents and storage parts: message ids with values, shown in the user's
language, naming a field by its flag on the command line and otherwise elsewhere, and never
naming a flag in the library."""

from __future__ import annotations

import ast
import gettext
import re

import pytest

from complaintforms.errors import RenderError, StorageError, ValidationError
from complaintforms.i18n import DOMAIN, LOCALE_DIR

from .conftest import REPO
from .test_register import FULL_CASE, new_case

ZH = {"COMPLAINTFORMS_LANG": "zh-CN"}
PACKAGE = REPO / "src" / "complaintforms"
OWN_FILES = sorted((PACKAGE / "documents").glob("*.py")) + sorted(
    (PACKAGE / "storage").glob("*.py")
)


def chinese() -> gettext.NullTranslations:
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=["zh_CN"])


def test_an_unknown_format_is_refused_in_chinese_naming_the_flag(cf):
    result = cf("form", "render", "record_card", "--all", "--format", "rtf", env=ZH)
    assert result.exit_code == 1
    line = result.stderr.strip()
    assert line.startswith("complaintforms: --format：未知格式 'rtf'"), line
    assert "可用的格式：pdf, docx, html" in line and "unknown format" not in line
    english = cf("form", "render", "record_card", "--all", "--format", "rtf")
    assert "--format: unknown format 'rtf'; formats: pdf, docx, html" in english.stderr


def test_an_unknown_form_is_refused_in_chinese(cf):
    result = cf("form", "render", "nonsense", "--all", env=ZH)
    assert result.exit_code == 1
    assert "没有表单 'nonsense'" in result.stderr and "no form" not in result.stderr


def test_another_interface_names_the_field_its_own_way():
    from complaintforms.documents.pipeline import parse_formats

    with pytest.raises(ValidationError) as caught:
        parse_formats("pdf,rtf")
    exc = caught.value
    assert exc.field == "format" and "--" not in exc.msgid
    assert exc.render(None, lambda f: f"[{f}]").startswith("[format]: unknown format 'rtf'")
    assert str(exc) == "format: unknown format 'rtf'; formats: pdf, docx, html"
    shown = exc.render(chinese().gettext, lambda f: f"[{f}]")
    assert shown.startswith("[format]：未知格式 'rtf'")


def test_a_bad_path_part_and_a_missing_value_are_our_errors(cf, ws):
    from dataclasses import replace

    from complaintforms.documents.forms import FORMS, build_context
    from complaintforms.storage.paths import stored_path

    with pytest.raises(StorageError) as caught:
        stored_path("scan", year="2026", case_no="TS-2026-000001", name="..")
    assert str(caught.value) == "scan: name '..' cannot be part of a path"
    assert "不能用作路径" in caught.value.render(chinese().gettext)

    case = ws.store.get(new_case(cf, FULL_CASE)["case_no"])
    spec = replace(FORMS["record_card"], fields=(*FORMS["record_card"].fields, "nonsense"))
    with pytest.raises(RenderError) as caught:
        build_context(spec, case, ws.config, qr="", serial=1, generated_at=case["received_at"])
    assert str(caught.value) == "record_card: no value for nonsense"
    assert caught.value.render(chinese().gettext) == "record_card：缺少以下各项的值：nonsense"


def test_a_locked_store_says_so_in_chinese(tmp_path):
    from filelock import FileLock

    from complaintforms.storage.tinydb import TinyDBStore

    store = TinyDBStore(tmp_path / "records", lock_timeout=0.1)
    store.records.mkdir()
    with FileLock(str(store.records / ".lock")), pytest.raises(StorageError) as caught:
        with store.transaction():
            pass
    exc = caught.value
    assert str(exc).endswith("the records are locked by another process (waited 0 s); try again")
    assert "记录正被另一个进程锁定（已等待 0 秒）；请稍后重试" in exc.render(chinese().gettext)


def test_store_and_template_problems_are_english_text_that_renders_in_chinese(cf, ws):
    from complaintforms.documents.check import check_forms
    from complaintforms.storage.base import chain_problems

    problems = chain_problems([("audit/2026-11.jsonl line 1", None)], {"seq": 0})
    assert problems == ["audit/2026-11.jsonl line 1: not valid JSON"]
    assert problems[0].render(chinese().gettext) == "audit/2026-11.jsonl line 1：不是有效的 JSON"

    (ws.forms_dir / "reply_letter.html").unlink()
    found = check_forms(ws.forms_dir)
    assert [str(p) for p in found] == ["forms/reply_letter.html: missing"]
    assert found[0].template == "forms/reply_letter.html"
    assert found[0].render(chinese().gettext) == "forms/reply_letter.html：缺少此文件"


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the docstring nodes (documentation, not messages)."""
    out = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
        ):
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                out.add(id(first.value))
    return out


def test_no_message_of_these_parts_names_a_command_line_flag():
    flag = re.compile(r"--[A-Za-z]")
    found = []
    for path in OWN_FILES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = _docstrings(tree)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in skip
                and flag.search(node.value)
            ):
                found.append(f"{path.relative_to(REPO)}:{node.lineno}: {node.value!r}")
    assert found == []
