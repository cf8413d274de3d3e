"""The command line in Chinese by default, English on request (DESIGN.md section 14), and
a catalog that covers every message of the code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .conftest import REPO, run_cli
from .test_register import FULL_CASE, new_case

ZH = {"COMPLAINTFORMS_LANG": "zh-CN"}
EN = {"COMPLAINTFORMS_LANG": "en"}


def test_every_message_of_the_code_is_translated_and_the_catalog_compiled():
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "compile_catalogs.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]


def test_help_is_in_chinese_by_default_and_english_on_request(ws):
    env = {"COMPLAINTFORMS_WORKSPACE": str(ws.root), "COMPLAINTFORMS_LANG": ""}
    zh = run_cli("case", "accept", "--help", env=env)
    assert zh.returncode == 0 and "用法：" in zh.stdout and "选项" in zh.stdout
    assert "受理" in zh.stdout and "Who did it" not in zh.stdout
    en = run_cli("case", "accept", "--help", env={**env, "COMPLAINTFORMS_LANG": "en"})
    assert "Usage:" in en.stdout and "Who did it" in en.stdout


def test_the_workspace_language_setting_is_used(ws):
    config = ws.config_path
    config.write_text(
        config.read_text(encoding="utf-8").replace("language: zh-CN", "language: en"),
        encoding="utf-8",
    )
    env = {"COMPLAINTFORMS_WORKSPACE": str(ws.root), "COMPLAINTFORMS_LANG": ""}
    result = run_cli("case", "show", "TS-2026-999999", env=env)
    assert result.returncode == 1 and "no case TS-2026-999999" in result.stderr
    config.write_text(
        config.read_text(encoding="utf-8").replace("language: en", "language: klingon"),
        encoding="utf-8",
    )
    bad = run_cli("case", "list", env=env)
    assert bad.returncode == 1 and "language" in bad.stderr and "klingon" in bad.stderr


def test_a_refusal_names_the_field_by_its_flag_in_chinese(cf):
    case_no = new_case(cf, FULL_CASE)["case_no"]
    result = cf("case", "accept", case_no, "--department", "XYZ", "--by", "吴芳", env=ZH)
    assert result.exit_code == 1
    line = result.stderr.strip()
    assert line.startswith("complaintforms: --department") and "XYZ" in line
    assert "部门" in line and "unknown department" not in line
    english = cf("case", "accept", case_no, "--department", "XYZ", "--by", "吴芳", env=EN)
    assert "--department: unknown department 'XYZ'" in english.stderr


def test_case_show_and_history_read_in_chinese(cf):
    case_no = new_case(cf, FULL_CASE)["case_no"]
    cf.json("case", "accept", case_no, "--department", "SVC", "--by", "吴芳")
    shown = cf("case", "show", case_no, env=ZH).stdout
    for label in ("投诉人", "投诉内容", "责任部门", "售后服务部 (SVC)", "车牌号", "浙A·12345"):
        assert label in shown, label
    history = cf("case", "history", case_no, env=ZH).stdout
    assert "登记" in history and "受理" in history and "case.accept" in history
    assert "received" in cf("case", "show", case_no, env=EN).stdout


def test_the_json_output_keeps_codes_and_keys_in_any_language(cf):
    case_no = new_case(cf, FULL_CASE)["case_no"]
    shown = cf.json("case", "show", case_no, env=ZH)
    assert shown["channel"] == "visit" and shown["kind"] == "complaint"
    assert Path(shown["documents"][0]["path"]).name.startswith("record_card-")
