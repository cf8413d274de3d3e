"""Bad input is refused with exit 1, a one-line reason, and nothing written."""

from __future__ import annotations

import json

import pytest

from .conftest import snapshot
from .test_register import FULL_CASE


def refused(cf, ws, *args, input=None, expect: str):
    before = snapshot(ws)
    result = cf(*args, input=input)
    assert result.exit_code == 1, (result.exit_code, result.stdout, result.stderr)
    assert expect in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot(ws) == before
    return result


def with_(**changes):
    data = json.loads(json.dumps(FULL_CASE))
    for key, value in changes.items():
        node = data
        *path, last = key.split("__")
        for part in path:
            node = node[part]
        if value is ...:
            node.pop(last, None)
        else:
            node[last] = value
    return json.dumps(data, ensure_ascii=False)


@pytest.mark.parametrize(
    ("payload", "expect"),
    [
        ("{not json: [", "neither JSON nor valid YAML"),
        ("- a\n- b\n", "expected one case"),
        (with_(content=...), "content: required"),
        (with_(channel=...), "channel: required"),
        (with_(complainant__name=...), "complainant.name: required"),
        (with_(channel="fax"), "channel: unknown value 'fax'"),
        (with_(kind="rant"), "kind: unknown value"),
        (with_(target={"type": "department", "department": "NOPE"}), "unknown department 'NOPE'"),
        (with_(target={"type": "staff", "staff": "无名氏"}), "unknown staff member '无名氏'"),
        (with_(category="火星"), "unknown category '火星'"),
        (with_(received_at="2026-02-30 10:00"), "is not a valid time"),
        (with_(received_at="2999-01-01T10:00:00+08:00"), "is in the future"),
        (with_(content="投诉" * 51_200), "at most 10,000"),
        (with_(content="bad\x00byte"), "control character"),
        (with_(complainant__phone="call me"), "is not a phone number"),
        (with_(extra={"vin": "x"}), "extra: unknown field 'vin'"),
        (with_(decision={"accepted": True}), "unknown field 'decision'"),
        (with_(colour="red"), "unknown field 'colour'"),
    ],
)
def test_case_new_refuses(cf, ws, payload, expect):
    refused(cf, ws, "case", "new", "--from", "-", input=payload, expect=expect)


def test_missing_input_file(cf, ws):
    refused(cf, ws, "case", "new", "--from", "/nonexistent.yaml", expect="no such file")


def test_not_a_workspace(tmp_path):
    from click.testing import CliRunner

    from complaintforms.cli import cli

    result = CliRunner().invoke(cli, ["--workspace", str(tmp_path), "case", "list"])
    assert result.exit_code == 1
    assert "is not a workspace" in result.stderr


@pytest.mark.parametrize(
    ("edit", "expect"),
    [
        (
            lambda t: t.replace('pattern: "TS-{year}-{seq:06d}"', 'pattern: "TS-{year}"'),
            "numbering.pattern: must contain {seq}",
        ),
        (
            lambda t: t.replace("complaint: 3, special", "complaint: -3, special"),
            "deadlines.complaint: must be a whole number",
        ),
        (
            lambda t: t.replace("{name: 李明, department: SVC", "{name: 李明, department: XXX"),
            "staff[0].department: unknown department code 'XXX'",
        ),
        (lambda t: t + "\n  bad: [unclosed\n", "not valid YAML"),
        (lambda t: t.replace("organization:", "organisation:"), "organisation: unknown setting"),
        (
            lambda t: t.replace("extra_holidays: []", "extra_holidays: [2027-13-01]"),
            "is not one: month must be in 1..12",
        ),
        (
            lambda t: t.replace("extra_holidays: []", 'extra_holidays: ["someday"]'),
            "calendar.extra_holidays[0]",
        ),
        # A typo anywhere is named with its path, never passed over (issue 13).
        (
            lambda t: t.replace("complaint: 3, special", "compliant: 3, complaint: 3, special"),
            "deadlines.compliant: unknown setting",
        ),
        (
            lambda t: t.replace(
                "{code: SVC, name: 售后服务部,", "{code: SVC, nmae: x, name: 售后服务部,"
            ),
            "departments[0].nmae: unknown setting",
        ),
        (lambda t: t + "\nescalation: {major: 总经理}\n", "escalation.major: unknown setting"),
        (
            lambda t: t + "\nchannels: [{code: phone, label: 电话}]\n",
            "'phone' is already a channel",
        ),
        (lambda t: t + "\nchannels: [{code: Fax, label: 传真}]\n", "channels[0].code: must be"),
        (
            lambda t: t.replace(
                "major_demerit: 当月效益奖金全额", "major_demerit: 当月效益奖金全额, 警告: 5"
            ),
            "'警告' is already a penalty kind",
        ),
        (
            lambda t: t.replace("warning: 400", "warning: {amount: 400, unti: 元}"),
            "penalties.warning.unti: unknown setting",
        ),
        (
            lambda t: t.replace("complaint: 3, special", "complaint: 3, callback: 0, special"),
            "deadlines.callback: must be a whole number",
        ),
    ],
)
def test_broken_config_names_file_key_and_problem(cf, ws, edit, expect):
    path = ws.config_path
    path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    result = refused(
        cf, ws, "case", "new", "--from", "-", input=json.dumps(FULL_CASE), expect=expect
    )
    assert str(path) in result.stderr


def test_missing_glyph_is_refused_not_printed_as_a_box(cf, ws):
    # U+10FFFD (private use) is in no installed font: WeasyPrint would draw .notdef.
    refused(
        cf,
        ws,
        "case",
        "new",
        "--from",
        "-",
        input=with_(content="无字形 \U0010fffd"),
        expect="would print as an empty box",
    )


def test_unknown_case(cf, ws):
    refused(cf, ws, "case", "show", "TS-2026-999999", expect="no case TS-2026-999999")


def test_usage_errors_exit_2(cf):
    assert cf("case", "show").exit_code == 2
    assert cf("case", "list", "--bogus").exit_code == 2
    assert cf("form", "render", "record_card").exit_code == 2  # neither cases nor --all


def test_unknown_form_and_format(cf, ws):
    refused(cf, ws, "form", "render", "nonsense", "--all", expect="no form 'nonsense'")
    refused(
        cf,
        ws,
        "form",
        "render",
        "record_card",
        "--all",
        "--format",
        "rtf",
        expect="unknown format 'rtf'",
    )


def test_bad_quarter(cf, ws):
    refused(cf, ws, "case", "list", "--quarter", "2026Q5", expect="is not a quarter")
