"""The command line as a whole: help everywhere, README coverage, --json purity, real runs."""

from __future__ import annotations

import json

import click
from click.testing import CliRunner

from complaintforms.cli import cli

from .conftest import REPO, pdf_qr_codes, run_cli
from .test_register import FULL_CASE


def all_commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        path = (*prefix, name)
        if isinstance(command, click.Group):
            yield from all_commands(command, path)
        else:
            yield path, command


def test_every_command_has_help_and_is_in_the_readme():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    commands = list(all_commands(cli))
    assert len(commands) >= 11
    for path, command in commands:
        result = CliRunner().invoke(cli, [*path, "--help"])
        assert result.exit_code == 0, path
        assert (command.help or "").strip(), f"{' '.join(path)} has no help"
        assert f"complaintforms {' '.join(path)}" in readme, (
            f"{' '.join(path)} is not in the README"
        )


def test_json_output_is_json_only(cf):
    result = cf(
        "case", "new", "--from", "-", input=json.dumps(FULL_CASE, ensure_ascii=False), json_out=True
    )
    assert result.exit_code == 0
    json.loads(result.stdout)
    for args in (
        ("case", "list"),
        ("case", "show", "TS-2026-000001"),
        ("case", "history", "TS-2026-000001"),
        ("forms", "check"),
        ("case", "export"),
    ):
        out = cf(*args, json_out=True)
        assert out.exit_code == 0, (args, out.stderr)
        json.loads(out.stdout)


def test_doctor_passes_on_a_fresh_workspace(cf):
    report = cf.json("doctor")
    assert report["ok"] is True
    names = {c["check"] for c in report["checks"]}
    assert {"cjk-font", "pdf-font-subsetting", "templates", "database", "audit-log"} <= names


def test_workspace_from_environment_and_init_refuses_to_overwrite(tmp_path):
    init = run_cli("init", str(tmp_path / "office"))
    assert init.returncode == 0, init.stderr
    again = run_cli("init", str(tmp_path / "office"))
    assert again.returncode == 1 and "already a workspace" in again.stderr
    listed = run_cli(
        "--json", "case", "list", env={"COMPLAINTFORMS_WORKSPACE": str(tmp_path / "office")}
    )
    assert listed.returncode == 0 and json.loads(listed.stdout) == []


def test_demo_in_a_subprocess_prints_where_every_output_is(tmp_path):
    result = run_cli("--json", "demo", str(tmp_path / "demo"), timeout=300)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert len(out["cases"]) >= 5
    channels = {c["channel"] for c in out["cases"]}
    targets = {c["target"] for c in out["cases"]}
    assert len(channels) >= 4 and targets == {"company", "department", "staff"}
    for case in out["cases"]:
        for path in case["documents"]:
            assert (tmp_path / "demo").resolve().as_posix() in path
        pdf = next(p for p in case["documents"] if p.endswith(".pdf"))
        assert case["case_no"] in pdf_qr_codes(pdf)[0]
    statuses = {c["status"] for c in out["cases"]}
    assert {"archived", "rejected", "assigned"} <= statuses
    forms = set().union(*(c["forms"] for c in out["cases"]))
    assert forms == {
        "record_card",
        "feedback_slip",
        "contact_letter",
        "reply_letter",
        "closing_form",
        "major_report",
    }
    # The demo's blank separator sheet is dropped and reported (issue 13).
    assert len(out["scans"]["matched"]) == 3 and len(out["scans"]["unmatched"]) == 0
    assert len(out["scans"]["blank"]) == 1
    assert len(out["bundles"]) == 2 and out["verified"] == 2 and out["transfer_list"]
    assert {"archived"} <= statuses
    assert {p.rsplit(".", 1)[1] for p in out["register"]} == {"pdf", "docx"}
    assert {p.rsplit(".", 1)[1] for p in out["report"]} == {"pdf", "docx", "csv"}
    history = run_cli(
        "--workspace",
        str(tmp_path / "demo"),
        "--json",
        "case",
        "history",
        out["cases"][0]["case_no"],
    )
    assert "case.reopen" in [e["action"] for e in json.loads(history.stdout)]
    doctor = run_cli("--workspace", str(tmp_path / "demo"), "doctor")
    assert doctor.returncode == 0, doctor.stdout


def test_help_is_fast_enough_to_not_import_the_renderers():
    import subprocess
    import sys

    code = "import sys; from complaintforms import cli; print('weasyprint' in sys.modules, 'docxtpl' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["False", "False"]


def test_without_a_cjk_font_pdfs_are_refused_and_doctor_says_why(tmp_path):
    """A machine with no Chinese font, simulated with an empty fontconfig configuration."""
    conf = tmp_path / "fonts.conf"
    conf.write_text(
        f"<?xml version='1.0'?><fontconfig><dir>{tmp_path / 'no-fonts'}</dir>"
        f"<cachedir>{tmp_path / 'cache'}</cachedir></fontconfig>",
        encoding="utf-8",
    )
    env = {"FONTCONFIG_FILE": str(conf)}
    assert run_cli("init", str(tmp_path / "ws")).returncode == 0
    before = sorted(p.name for p in (tmp_path / "ws" / "records").rglob("*"))
    result = run_cli(
        "--workspace",
        str(tmp_path / "ws"),
        "case",
        "new",
        "--from",
        "-",
        env=env,
        input_text=json.dumps(FULL_CASE, ensure_ascii=False),
    )
    assert result.returncode == 1
    assert (
        "no Chinese (CJK) font is installed" in result.stderr and "Traceback" not in result.stderr
    )
    assert sorted(
        p.name for p in (tmp_path / "ws" / "records").rglob("*") if p.name != ".lock"
    ) == [n for n in before if n != ".lock"]
    doctor = run_cli("--workspace", str(tmp_path / "ws"), "doctor", env=env)
    assert doctor.returncode == 1 and "FAIL  cjk-font" in doctor.stdout
