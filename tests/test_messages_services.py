"""Messages of the services (issue 11, item 3): refusals name fields, never command-line flags;
each interface names the field its own way and shows the text in the user's language; texts
that are kept (JSON output, notes beside unmatched scans) stay in English."""

from __future__ import annotations

import ast
import json
import pickle
import re
from pathlib import Path

import pytest

from complaintforms.errors import ComplaintFormsError, ValidationError
from complaintforms.services.messages import Notice, joined

SERVICES = Path(__file__).resolve().parent.parent / "src" / "complaintforms" / "services"
ZH = {"COMPLAINTFORMS_LANG": "zh-CN"}


# -- (1) the command line in Chinese -----------------------------------------------------------------------
def test_refusal_in_chinese_names_the_flag(cf):
    result = cf(
        "opinion",
        "add",
        "--content",
        "空调太冷",
        "--at",
        "2026-11-16 10:00",
        "--reply-at",
        "2026-11-16 09:00",
        env=ZH,
    )
    assert result.exit_code == 1
    assert "--reply-at 早于意见的收到时间" in result.stderr
    assert "reply_at" not in result.stderr


def test_import_format_refusal_in_chinese_names_the_flag(cf, tmp_path):
    source = tmp_path / "cases.txt"
    source.write_text("[]", encoding="utf-8")
    result = cf("case", "import", str(source), env=ZH)
    assert result.exit_code == 1
    assert "无法从文件名判断格式；请用 --format json|yaml|csv 指定" in result.stderr


def test_the_same_refusal_in_english_is_unchanged(cf):
    result = cf(
        "opinion", "add", "--content", "x", "--at", "2026-11-16 10:00", "--reply-at", "2026-11-16"
    )
    assert result.exit_code == 1
    assert "--reply-at is before the opinion was received" in result.stderr


# -- (2) another interface names the field differently -------------------------------------------------------
def test_error_renders_the_field_as_another_interface_names_it(ws):
    from complaintforms.services.cases import CaseFilter, list_cases

    with pytest.raises(ValidationError) as caught:
        list_cases(ws, CaseFilter(department="no such department"))
    exc = caught.value
    assert exc.field == "department"
    assert "[department]" in exc.render(None, lambda f: f"[{f}]")
    assert "--department" not in str(exc)


def test_opinion_and_import_errors_carry_field_names(ws):
    from complaintforms.services.ledger import detect_format
    from complaintforms.services.opinions import add_opinion

    with pytest.raises(ValidationError) as caught:
        add_opinion(
            ws, {"content": "x", "at": "2026-11-16 10:00", "reply_at": "2026-11-16"}, by="a"
        )
    assert caught.value.field == "reply_at"
    assert caught.value.render(None, lambda f: f"[{f}]").startswith("[reply_at] is before")

    with pytest.raises(ValidationError) as caught:
        detect_format("cases.txt", None)
    assert caught.value.field == "format"
    assert "give [format] json|yaml|csv" in caught.value.render(None, lambda f: f"[{f}]")


def test_record_error_keeps_the_inner_error(ws):
    from complaintforms.errors import RecordError
    from complaintforms.services.ledger import import_cases

    with pytest.raises(RecordError) as caught:
        import_cases(ws, '[{"case_no": 1, "status": "x"}, 3]', "json", source="in.json", by="a")
    assert isinstance(caught.value.reason, ComplaintFormsError)
    assert str(caught.value).startswith("in.json: record ")


# -- kept texts: English strings that an interface can translate ------------------------------------------------
def test_notice_is_english_text_that_renders_translated():
    n = Notice("{case_no} is signed off", case_no="TS-2026-000001")
    assert n == "TS-2026-000001 is signed off"
    assert json.dumps({"reason": n}) == '{"reason": "TS-2026-000001 is signed off"}'
    assert n.render(lambda s: "{case_no} 已审核") == "TS-2026-000001 已审核"
    again = pickle.loads(pickle.dumps(n))
    assert again == n and again.msgid == n.msgid and again.params == n.params
    field = Notice("{field} is before the opinion was received", field="reply_at")
    assert field.render(None, lambda f: "--" + f.replace("_", "-")).startswith("--reply-at ")


def test_joined_renders_each_part():
    error = ValidationError("{field}: unknown department {value}", field="department", value="'X'")
    both = joined([error, Notice("no code")])
    assert both == "department: unknown department 'X'; no code"
    shown = both.render(
        lambda s: {"no code": "无二维码", "{first}; {rest}": "{first}；{rest}"}.get(s, s)
    )
    assert shown == "department: unknown department 'X'；无二维码"
    assert str(both.as_error()) == str(both)


def test_texts_of_other_layers_keep_their_translation():
    from complaintforms.services.doctor import Check
    from complaintforms.storage.base import Message

    stored = Message("{count} cases in memory", count=3)
    assert Check("database", True, stored).detail is stored
    both = joined([stored, stored])
    chinese = {
        "{count} cases in memory": "内存中有 {count} 件投诉",
        "{first}; {rest}": "{first}；{rest}",
    }
    assert both == "3 cases in memory; 3 cases in memory"
    assert both.render(lambda s: chinese.get(s, s)) == "内存中有 3 件投诉；内存中有 3 件投诉"


def test_unmatched_reasons_and_step_warnings_stay_english_in_json():
    from complaintforms.services.intake import NO_CODE, NOT_OURS
    from complaintforms.services.steps import StepResult

    assert (NO_CODE, NOT_OURS) == ("no code", "no complaintforms QR code")
    result = StepResult({}, [], [Notice("{case_no}: x", case_no="A")])
    assert json.loads(json.dumps(result.as_dict()))["warnings"] == ["A: x"]


def test_doctor_details_are_notices():
    from complaintforms.services.doctor import Check, run_doctor

    for check in run_doctor(None):
        assert isinstance(check.detail, Notice)
        assert check.as_dict()["detail"] == str(check.detail)
        assert type(check.as_dict()["detail"]) is str
        assert check.detail.render() == str(check.detail)
    check = Check("x", True, "plain {text}")
    assert check.detail == "plain {text}" and check.msgid == "plain {text}" and check.params == {}


def test_archive_verification_error_keeps_its_problems():
    from complaintforms.services.archive import ArchiveVerificationError

    problems = [
        Notice("{label}: missing", label="a.zip"),
        Notice("{label}: missing", label="b.zip"),
    ]
    exc = ArchiveVerificationError(problems)
    assert exc.problems == ["a.zip: missing", "b.zip: missing"]
    assert str(exc) == "2 problem(s) in the archive: a.zip: missing"
    assert exc.render(lambda s: {"{label}: missing": "{label}：缺失"}.get(s, s)).endswith(
        "a.zip：缺失"
    )


# -- (3) no flag in a message of the services ---------------------------------------------------------------------
def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def test_no_command_line_flag_in_a_message_of_the_services():
    flag = re.compile(r"--[A-Za-z]")
    found = []
    for path in sorted(SERVICES.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docs = _docstrings(tree)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in docs
                and flag.search(node.value)
            ):
                found.append(f"{path.name}:{node.lineno}: {node.value!r}")
    assert found == []


def test_every_message_of_the_services_is_translated():
    import gettext

    from babel.messages.extract import extract_from_dir

    from complaintforms import i18n

    chinese = gettext.translation(i18n.DOMAIN, i18n.LOCALE_DIR, languages=["zh_CN"])
    untranslated = []
    for _f, _line, msgid, _c, _ctx in extract_from_dir(
        str(SERVICES), method_map=[("**.py", "python")], keywords={"_": None, "N_": None}
    ):
        text = chinese.gettext(msgid)
        placeholders = sorted(re.findall(r"\{(\w*)", msgid))
        if text == msgid or sorted(re.findall(r"\{(\w*)", text)) != placeholders:
            untranslated.append(msgid)
    assert untranslated == []
