"""The messages of the domain, the config and the workspace (issue 11): typed errors with a
message id and a field, read in Chinese, the field named by each interface its own way, and
no command-line flag written into the library."""

from __future__ import annotations

import ast
import datetime as dt
import gettext
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from complaintforms.config import parse_config
from complaintforms.domain import model, workflow
from complaintforms.domain.workdays import WorkCalendar
from complaintforms.errors import ComplaintFormsError, ConfigError, StateError, ValidationError
from complaintforms.i18n import DOMAIN, LOCALE_DIR

from .conftest import REPO
from .test_register import FULL_CASE, new_case

ZH = {"COMPLAINTFORMS_LANG": "zh-CN"}
PACKAGE = REPO / "src" / "complaintforms"
OWN_FILES = [
    *(PACKAGE / "domain").glob("*.py"),
    PACKAGE / "config.py",
    PACKAGE / "workspace.py",
]


def chinese(message: str) -> str:
    """The compiled Chinese catalog, without touching the process's language."""
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=["zh_CN"]).gettext(message)


def web(field: str) -> str:
    """Another interface: the field as it is, in brackets."""
    return f"[{field}]"


# -- (1) the command line in Chinese names the field by its flag ------------------------------
def test_a_refusal_of_the_procedure_reads_in_chinese_with_the_flag(cf):
    case_no = new_case(cf, FULL_CASE)["case_no"]
    # 孙丽 works in SAL.
    result = cf("case", "accept", case_no, "--department", "SVC", "--handler", "孙丽", env=ZH)
    assert result.exit_code == 1
    assert result.stderr.strip() == "complaintforms: --handler：孙丽 属于 SAL，不属于 SVC"

    result = cf("case", "accept", case_no, "--department", "SVC", "--at", "2026-11-01", env=ZH)
    assert result.exit_code == 1
    assert f"{case_no}：--at 2026-11-01T00:00:00+08:00 早于上一步骤" in result.stderr
    # The same refusal in English is the message id with the flag filled in.
    result = cf("case", "accept", case_no, "--department", "SVC", "--at", "2026-11-01")
    assert f"{case_no}: --at 2026-11-01T00:00:00+08:00 is before the previous step" in (
        result.stderr
    )


def test_a_step_not_allowed_names_the_steps_in_chinese(cf):
    case_no = new_case(cf, FULL_CASE)["case_no"]
    result = cf("case", "callback", case_no, "--satisfaction", "满意", env=ZH)
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"complaintforms: {case_no}：案件状态为“已登记”，不能进行“回访”；当前可以：受理、不受理、作废"
    )
    english = cf("case", "callback", case_no, "--satisfaction", "满意").stderr.strip()
    assert english == (
        f"complaintforms: {case_no}: cannot call back (回访) a case that is registered (已登记); "
        "allowed now: accept (受理), reject (不受理), void (作废)"
    )


def test_a_bad_time_and_a_bad_config_read_in_chinese(cf, ws):
    case_no = new_case(cf, FULL_CASE)["case_no"]
    result = cf("case", "accept", case_no, "--department", "SVC", "--at", "明天", env=ZH)
    assert result.stderr.strip().startswith("complaintforms: --at：'明天' 不是有效的时间（例如")

    path = ws.config_path
    path.write_text(
        path.read_text(encoding="utf-8").replace("complaint: 3, special", "complaint: 0, special"),
        encoding="utf-8",
    )
    result = cf("case", "list", env=ZH)
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"complaintforms: {path}：deadlines.complaint：应为不小于 1 的整数，而不是 0"
    )


# -- (2) the same error, the field named by another interface -------------------------------------
def test_an_error_names_its_field_the_way_each_interface_does(ws):
    with pytest.raises(ValidationError) as err:
        model.department_code(ws.config, "XYZ", "department")
    exc = err.value
    assert exc.field == "department" and exc.params["value"] == "'XYZ'"
    assert str(exc).startswith("department: unknown department 'XYZ'; known: SVC (售后服务部)")
    assert exc.render(None, web).startswith("[department]: unknown department 'XYZ'")
    assert exc.render(chinese, web).startswith("[department]：未知部门 'XYZ'；已配置的部门：SVC")


def test_two_fields_in_one_message_are_both_named_by_the_interface(ws):
    case = model.blank_case()
    case.update(case_no="TS-2026-000009", status="followed_up")
    case["received_at"] = "2026-11-16T09:30:00+08:00"
    at = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    with pytest.raises(ValidationError) as err:
        workflow.close(case, ws.config, at=at, by="吴芳", summary="x", penalty_person="李明")
    exc = err.value
    assert str(exc) == "penalty_person needs penalty"
    assert exc.render(None, web) == "[penalty_person] needs [penalty]"
    assert exc.render(chinese, lambda f: "--" + f.replace("_", "-")) == (
        "--penalty-person 须与 --penalty 一起给出"
    )


def test_a_config_error_names_the_file_and_the_key_not_a_field(tmp_path):
    with pytest.raises(ConfigError) as err:
        parse_config({"organization": {"name": "x"}}, tmp_path / "complaintforms.yaml")
    exc = err.value
    assert exc.field is None
    assert exc.params["key"] == "numbering" and exc.params["file"].endswith("complaintforms.yaml")
    assert str(exc) == f"{tmp_path / 'complaintforms.yaml'}: numbering: missing"
    assert exc.render(chinese, web) == f"{tmp_path / 'complaintforms.yaml'}：numbering：缺少此项"
    with pytest.raises(ConfigError) as err:
        parse_config([], tmp_path / "c.yaml")
    assert err.value.render(chinese) == f"{tmp_path / 'c.yaml'}：（顶层）：应为“键: 值”形式的映射"


def test_a_calendar_warning_is_english_text_that_reads_in_chinese():
    cal = WorkCalendar()
    cal.is_workday(dt.date(2035, 1, 2))
    (warning,) = cal.warnings
    assert isinstance(warning, str) and warning.startswith("2035 is outside the official")
    assert warning.render(chinese).startswith("2035 年不在官方节假日数据范围内")


def test_a_state_error_keeps_its_values():
    case = model.blank_case()
    case.update(case_no="TS-2026-000009", status="archived")
    with pytest.raises(StateError) as err:
        workflow.next_state(case, "reopen")
    assert err.value.params["case_no"] == "TS-2026-000009"
    assert err.value.render(chinese) == (
        "TS-2026-000009：案件状态为“已归档”，不能进行“重新处理”；已审核的案件不能再更改"
    )


# -- (3) no flag in the library; every message id translated -----------------------------------
def _docstrings(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                out.add(id(first.value))
    return out


def test_no_message_of_these_files_names_a_command_line_flag():
    flag = re.compile(r"--[A-Za-z]")
    found = []
    for path in OWN_FILES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docs = _docstrings(tree)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in docs
                and flag.search(node.value)
            ):
                found.append(f"{path.relative_to(REPO)}:{node.lineno}: {node.value!r}")
    assert found == []


def _marked_ids(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("_", "N_")
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            out.add(node.args[0].value)
    return out


def test_every_message_id_of_these_files_is_in_the_catalog_with_its_placeholders():
    catalog = {}
    for fragment in sorted((REPO / "locale" / "zh_CN").glob("*.po")):
        with open(fragment, "rb") as fh:
            catalog.update({m.id: m.string for m in read_po(fh, locale="zh_CN") if m.id})
    placeholder = re.compile(r"{(\w*)")
    ids = set().union(*(_marked_ids(p) for p in OWN_FILES))
    assert ids and ids <= set(catalog), sorted(ids - set(catalog))
    for msgid in ids:
        translated = catalog[msgid]
        assert translated and set(placeholder.findall(translated)) <= set(
            placeholder.findall(msgid)
        ), msgid
        assert chinese(msgid) == translated, f"{msgid!r}: catalog not compiled"


def test_errors_of_these_files_are_typed_with_a_message_id(ws):
    for call in (
        lambda: model.text("x" * 3000, "reason"),
        lambda: model.phone("call me", "complainant.phone"),
        lambda: model.parse_registration([], ws.config, now=dt.datetime.now()),
    ):
        with pytest.raises(ComplaintFormsError) as err:
            call()
        assert chinese(err.value.msgid) != err.value.msgid
