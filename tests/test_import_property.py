"""Property tests of `case import FILE` (issue 12): whatever a JSON, YAML or CSV ledger holds,
the import ends in success or in a one-line reason naming the file (and its record, line or
field), never an internal error, and a refused import writes nothing.

The ledgers are mostly valid: whole records (CLOSED, REJECTED, FULL_CASE and the export of
cases taken through the procedure by the CLI) with random changes at random dotted paths,
several records per ledger, some of them duplicates of another's case_no; the CSV ledgers
are those records flattened as export writes them, then with random cells, headers, extra
columns, short and long rows, and bytes that are not UTF-8."""

from __future__ import annotations

import copy
import csv
import datetime
import io
import json
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from complaintforms.services import ledger
from complaintforms.workspace import Workspace, init_workspace

from .conftest import Runner, snapshot
from .test_ledger import CLOSED, REJECTED
from .test_register import FULL_CASE

SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# -- the records the ledgers start from ---------------------------------------------------------------
class Cases(list):
    """Records, shown short in a failing example."""

    def __repr__(self) -> str:
        return f"<{len(self)} exported cases>"


@pytest.fixture(scope="module")
def exported(tmp_path_factory, font_cache) -> list[dict]:
    """Real cases as `case export` writes them: one imported, reopened, handled again, closed
    and signed off (it has reopens); one registered by `case new` and accepted (it has
    documents)."""
    root = tmp_path_factory.mktemp("exported")
    cf = Runner(Workspace.open(init_workspace(root / "ws").root))
    source = root / "closed.json"
    source.write_text(json.dumps([CLOSED], ensure_ascii=False), encoding="utf-8")

    def ok(*args: str, input: str | None = None) -> None:
        result = cf(*args, input=input)
        assert result.exit_code == 0, (args, result.stderr)

    no = CLOSED["case_no"]
    ok("case", "import", str(source))
    ok("case", "reopen", no, "--reason", "客户不满", "--at", "2025-10-12T09:00:00+08:00")
    ok(
        *("slip", "return", no, "--findings", "复核属实", "--plan", "更换配件"),
        *("--approved-by", "王强", "--result", "已更换", "--customer-signed"),
        *("--at", "2025-10-13T16:00:00+08:00"),
    )
    ok("case", "callback", no, "--satisfaction", "满意", "--at", "2025-10-14T10:00:00+08:00")
    ok(
        *("case", "close", no, "--summary", "更换完毕", "--penalty", "minor_demerit"),
        *("--penalty-person", "张伟", "--at", "2025-10-14T11:00:00+08:00"),
    )
    ok("case", "signoff", no, "--at", "2025-10-14T12:00:00+08:00")
    new = cf.json("case", "new", "--from", "-", input=json.dumps(FULL_CASE, ensure_ascii=False))
    ok("case", "accept", new["case_no"], "--department", "SVC", "--at", "2026-11-16T10:00:00+08:00")
    out = root / "export.json"
    ok("case", "export", "--format", "json", "--output", str(out))
    cases = json.loads(out.read_text(encoding="utf-8"))
    assert [c["status"] for c in cases] == ["signed_off", "assigned"]
    assert cases[0]["reopens"] and cases[1]["documents"]
    return Cases(cases)


def bases(exported: list[dict]) -> list[dict]:
    return [CLOSED, REJECTED, FULL_CASE, *exported]


# -- values ---------------------------------------------------------------------------------------------
weird_text = st.text(
    st.characters(codec=None, exclude_categories=())
    | st.sampled_from(
        ["\ud800", "\udfff", "\u202e", "\u2066", "\u200b", "\ufeff", "\x00", "\r", "\n", "\t"]
        + ["=", "+", "-", "@", "'", '"', ",", ".", "[", "{", "😀", "𠮷", "王", "\u0301"]
    ),
    max_size=12,
)
# Text that a field may well hold: printable, formulas, quotes, emoji, ideographs.
odd_text = st.text(
    st.characters(categories=["L", "N", "P", "S", "Zs"], codec="utf-8")
    | st.sampled_from(["=", "+", "-", "@", "'", '"', "😀", "𠮷", "\n"]),
    min_size=1,
    max_size=20,
)
# Values that pass some checks and not others: times in and out of order, enumerations of
# the procedure in both languages, formulas, text that looks like JSON.
plausible = st.sampled_from(
    [
        "",
        " ",
        "2025-09-29T10:00:00+08:00",
        "2025-10-09T16:00:00+08:00",
        "2025-10-11T10:00:00+08:00",
        "2025-10-11T10:00:00",
        "2025-10-11",
        "2025-02-30",
        "1900-01-01T00:00:00+08:00",
        "9999-12-31T23:59:59+14:00",
        "2025-10-11T10:00:00-23:59",
        "now",
        "TS-2025-000042",
        "TS-2025-000001",
        "TS-2026-000001",
        "TS-2025-0",
        "TS-2025-999999",
        "TS-２０２５-000042",
        "SVC",
        "客服部",
        "warning",
        "警告",
        "major_demerit",
        "satisfied",
        "不满意",
        "valid",
        "malicious",
        "closed",
        "signed_off",
        "registered",
        "true",
        "否",
        "投诉",
        "来访",
        "重大",
        "=1+1",
        "'=SUM(A1)",
        "''+1",
        "{}",
        "[]",
        "[{}]",
        '{"type": "warning"}',
        "{not json",
        "null",
    ]
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=10**50, max_value=10**60)
    | st.floats(allow_nan=True, allow_infinity=True)
    | weird_text
    | plausible
)
keys = (
    st.sampled_from(
        sorted({*CLOSED, *CLOSED["handling"], *CLOSED["closure"], *FULL_CASE["complainant"]})
        + ["type", "person", "amount", "due", "reason", "recorded_by", "staff", "department"]
    )
    | weird_text
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=10,
)
# YAML has more types than JSON: dates and times, bytes, keys that are not text.
yaml_scalars = (
    scalars
    | st.dates()
    | st.datetimes()
    | st.datetimes(timezones=st.just(datetime.timezone(datetime.timedelta(hours=8))))
    | st.binary(max_size=8)
)
yaml_values = st.recursive(
    yaml_scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(keys | st.integers() | st.none() | st.booleans(), inner, max_size=4)
    ),
    max_leaves=10,
)


# -- random changes at random dotted paths --------------------------------------------------------------
def paths(node, prefix: tuple = ()) -> list[tuple]:
    """Every place in a record: ('closure', 'penalty', 'type'), ('reopens', 0, 'at')."""
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out += paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += paths(value, (*prefix, i))
    return out


def parent_of(record, path: tuple):
    node = record
    for part in path[:-1]:
        node = node[part]
    return node


def mutate(data, record: dict, value_strategy) -> dict:
    """`record` with 0-4 random changes: a value replaced, a key or item removed, an extra key
    added, a value moved to another place (a right value of the wrong type)."""
    record = copy.deepcopy(record)
    for _ in range(data.draw(st.sampled_from([0, 0, 1, 1, 2, 3, 4]), label="changes")):
        places = paths(record)
        kind = data.draw(
            st.sampled_from(["set", "set", "text", "delete", "add", "move"]), label="kind"
        )
        where = data.draw(st.sampled_from(places), label="path")
        if kind in ("set", "text", "move"):
            if kind == "set":
                value = data.draw(value_strategy, label="value")
            elif kind == "text":
                value = data.draw(odd_text, label="text")
            else:
                value = copy.deepcopy(
                    parent_of(record, src)[src[-1]]
                    if (src := data.draw(st.sampled_from(places), label="from"))
                    else record
                )
            if not where:
                if isinstance(value, dict):
                    record = value
                continue
            parent_of(record, where)[where[-1]] = value
        elif kind == "delete" and where:
            del parent_of(record, where)[where[-1]]
        elif kind == "add":
            node = parent_of(record, where)[where[-1]] if where else record
            if isinstance(node, dict):
                node[data.draw(keys, label="key")] = data.draw(value_strategy, label="value")
            elif isinstance(node, list):
                node.append(data.draw(value_strategy, label="value"))
    return record


def draw_ledger(data, exported: list[dict], value_strategy):
    """A ledger: mostly a list of 1-4 records, some duplicating another's case_no (or, in
    YAML, being the same object: an alias); now and then one record alone or anything."""
    records: list = []
    for _ in range(data.draw(st.sampled_from([1, 1, 1, 2, 3, 4]), label="records")):
        if records and data.draw(st.integers(0, 4), label="duplicate") == 0:
            same = data.draw(st.sampled_from(records), label="of")
            records.append(same if data.draw(st.booleans()) else copy.deepcopy(same))
            continue
        base = data.draw(st.sampled_from(bases(exported)), label="base")
        records.append(mutate(data, base, value_strategy))
    shape = data.draw(st.sampled_from(["list"] * 8 + ["one", "anything"]), label="shape")
    if shape == "one":
        return records[0]
    if shape == "anything":
        return data.draw(value_strategy, label="ledger")
    return records


# -- running an import ----------------------------------------------------------------------------------
@pytest.fixture
def fresh(tmp_path):
    """A new workspace per example (an import that succeeds changes the next one's store);
    `with_case` first imports CLOSED into it, so that its number already exists."""
    made = iter(range(10**6))

    def make(with_case: bool) -> Runner:
        root = Path(tempfile.mkdtemp(prefix=f"ws{next(made)}-", dir=tmp_path))
        cf = Runner(Workspace.open(init_workspace(root / "ws").root))
        if with_case:
            seed = root / "seed.json"
            seed.write_text(json.dumps([CLOSED], ensure_ascii=False), encoding="utf-8")
            assert cf("case", "import", str(seed)).exit_code == 0
        return cf

    return make


def imports(cf: Runner, path: Path, content: bytes, records: int | None = None) -> None:
    """`case import path` ends in success, or in one line naming the file, nothing written."""
    path.write_bytes(content)
    before = snapshot(cf.ws)
    result = cf("case", "import", str(path), json_out=True)
    assert result.exit_code in (0, 1), (result.exit_code, result.stderr)
    assert "internal error" not in result.stderr, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    event("imported" if result.exit_code == 0 else "refused")
    if result.exit_code == 0:
        out = json.loads(result.stdout)
        if records is not None:
            assert out["imported"] == records, (out, result.stderr)
        assert len(set(out["cases"])) == len(out["cases"]), out
        return
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert str(path) in lines[0], result.stderr
    assert snapshot(cf.ws) == before, result.stderr


def count(ledger_data) -> int | None:
    if isinstance(ledger_data, dict):
        return 1
    return len(ledger_data) if isinstance(ledger_data, list) else None


# -- JSON -----------------------------------------------------------------------------------------------
@SETTINGS
@given(data=st.data())
def test_json_import_ends_in_success_or_a_reason(fresh, exported, tmp_path, data):
    led = draw_ledger(data, exported, values)
    text = json.dumps(led, ensure_ascii=data.draw(st.booleans(), label="ascii"))
    tweak = data.draw(st.sampled_from(["none"] * 6 + ["twice", "cut", "bom"]), label="tweak")
    if tweak == "twice":  # a key given twice in one object
        text = text.replace('"summary":', '"summary": "x", "summary":', 1)
    elif tweak == "cut":
        text = text[: data.draw(st.integers(0, len(text)), label="at")]
    elif tweak == "bom":
        text = "\ufeff" + text
    cf = fresh(data.draw(st.booleans(), label="with_case"))
    content = text.encode("utf-8", "surrogatepass")  # a lone surrogate: not UTF-8
    imports(cf, tmp_path / "ledger.json", content, count(led) if tweak == "none" else None)


# -- YAML -----------------------------------------------------------------------------------------------
YAML_TWEAKS = {
    "python": "- !!python/object/apply:os.system ['true']\n",
    "merge": "- base: &b {kind: 投诉, channel: 来访}\n  <<: *b\n",
    "set": "- !!set {a, b}\n",
    "tab": "- \tkind: 投诉\n",
    "many": "",
    "twice": "",
}


@SETTINGS
@given(data=st.data())
def test_yaml_import_ends_in_success_or_a_reason(fresh, exported, tmp_path, data):
    led = draw_ledger(data, exported, yaml_values)
    text = yaml.safe_dump(
        led,
        allow_unicode=data.draw(st.booleans(), label="unicode"),
        sort_keys=False,
        default_flow_style=data.draw(st.sampled_from([False, None, True]), label="flow"),
    )
    tweak = data.draw(st.sampled_from(["none"] * 6 + [*YAML_TWEAKS, "cut"]), label="tweak")
    if tweak == "cut":
        text = text[: data.draw(st.integers(0, len(text)), label="at")]
    elif tweak == "many":  # a second document
        text = text + "---\n" + text
    elif tweak == "twice":  # a record with a key given twice, any key
        key = json.dumps(data.draw(keys, label="key"), ensure_ascii=True)
        text = text + f"- {{{key}: 1, {key}: 2}}\n" if text.startswith("-") else text
    elif tweak != "none":
        text = text + YAML_TWEAKS[tweak] if text.startswith("-") else text
    cf = fresh(data.draw(st.booleans(), label="with_case"))
    content = text.encode("utf-8", "surrogatepass")
    imports(cf, tmp_path / "ledger.yaml", content)


# -- CSV ------------------------------------------------------------------------------------------------
def csv_table(records: list) -> list[list]:
    """The header and rows of `records` as `case export --format csv` writes them."""
    rows = [ledger.flatten(rec) for rec in records if isinstance(rec, dict)]
    columns: list = []
    for row in rows:
        columns += [key for key in row if key not in columns]
    return [columns] + [[ledger.quote_formula(row.get(c, "")) for c in columns] for row in rows]


cells = weird_text | plausible | st.sampled_from(["'", "''", "'=", '"', 'a"b', "\x00", "\r\n"])
headers = (
    st.sampled_from(
        ["content", "complainant", "complainant.name.first", "closure.penalty.type", "reopens"]
        + ["extra", "extra.plate", "handling", "a..b", ".", "", "case_no", "status", "decision"]
    )
    | weird_text
)


def mutate_table(data, table: list[list]) -> list[list]:
    table = [list(row) for row in table]
    for _ in range(data.draw(st.integers(0, 5), label="table changes")):
        kind = data.draw(
            st.sampled_from(["cell", "cell", "header", "column", "drop", "short", "long", "blank"]),
            label="table change",
        )
        width = len(table[0])
        if kind == "cell" and len(table) > 1:
            row = table[data.draw(st.integers(1, len(table) - 1), label="row")]
            if row:
                row[data.draw(st.integers(0, len(row) - 1), label="col")] = data.draw(cells)
        elif kind == "header" and width:
            col = data.draw(st.integers(0, width - 1), label="col")
            table[0][col] = data.draw(headers | st.sampled_from(table[0]), label="header")
        elif kind == "column":
            table[0].append(data.draw(headers, label="header"))
            for row in table[1:]:
                row.append(data.draw(cells, label="cell"))
        elif kind == "drop" and width:
            col = data.draw(st.integers(0, width - 1), label="col")
            for row in table:
                del row[col : col + 1]
        elif kind in ("short", "long") and len(table) > 1:
            row = table[data.draw(st.integers(1, len(table) - 1), label="row")]
            if kind == "short":
                del row[data.draw(st.integers(0, len(row)), label="keep") :]
            else:
                row += data.draw(st.lists(cells, min_size=1, max_size=3), label="extra cells")
        elif kind == "blank":
            table.insert(data.draw(st.integers(1, len(table)), label="at"), [])
    return table


@SETTINGS
@given(data=st.data())
def test_csv_import_ends_in_success_or_a_reason(fresh, exported, tmp_path, data):
    led = draw_ledger(data, exported, values)
    table = mutate_table(data, csv_table(led if isinstance(led, list) else [led]))
    buf = io.StringIO()
    csv.writer(buf, lineterminator=data.draw(st.sampled_from(["\n", "\r\n"]))).writerows(table)
    # A lone surrogate is written as bytes that are not UTF-8, or as a spreadsheet would: "?".
    errors = data.draw(st.sampled_from(["replace", "replace", "surrogatepass"]), label="errors")
    content = buf.getvalue().encode("utf-8", errors)
    if data.draw(st.booleans(), label="bom"):
        content = b"\xef\xbb\xbf" + content
    if data.draw(st.integers(0, 7), label="bytes") == 0:  # raw bytes that are not UTF-8
        at = data.draw(st.integers(0, len(content)), label="at")
        junk = data.draw(st.sampled_from([b"\xff", b"\x80", b"\xc3", b"\xed\xa0\x80"]))
        content = content[:at] + junk + content[at:]
    cf = fresh(data.draw(st.booleans(), label="with_case"))
    imports(cf, tmp_path / "ledger.csv", content)


# -- what the properties found, pinned ------------------------------------------------------------------
def refused(cf: Runner, path: Path, content: bytes, *expect: str) -> str:
    path.write_bytes(content)
    before = snapshot(cf.ws)
    result = cf("case", "import", str(path))
    assert result.exit_code == 1, (result.exit_code, result.stderr)
    assert "internal error" not in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    for part in (str(path), *expect):
        assert part in result.stderr, result.stderr
    assert snapshot(cf.ws) == before
    return result.stderr


def test_csv_short_row_is_refused_naming_its_line(cf, tmp_path):
    header, row = csv_table([CLOSED])
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([header, row[:3]])
    refused(
        cf,
        tmp_path / "ledger.csv",
        buf.getvalue().encode(),
        "line 2",
        f"fewer cells than columns (3 of {len(header)})",
    )


def test_a_step_out_of_order_names_its_record(cf, tmp_path):
    record = {**copy.deepcopy(CLOSED), "handling": None}  # called back, never returned
    content = json.dumps([FULL_CASE, record], ensure_ascii=False).encode()
    refused(cf, tmp_path / "ledger.json", content, "record 2", "cannot call back")


def test_a_file_of_one_record_names_it_record_1(cf, tmp_path):
    content = yaml.safe_dump({**FULL_CASE, "extra": {1: "x"}}, allow_unicode=True).encode()
    refused(cf, tmp_path / "ledger.yaml", content, "record 1", "extra.1: a key that is not text")


@pytest.mark.parametrize("key", ["a\nb", "a\x85b", "a\u2028b", "a\x1eb", "\u202eab"])
def test_a_key_that_is_not_printable_is_shown_by_its_repr(cf, tmp_path, key):
    shown = repr(key)
    text = json.dumps([{**FULL_CASE, "extra": {"plate": "x"}}], ensure_ascii=True)
    raw = text.replace('"plate": "x"', f"{json.dumps(key)}: 1, {json.dumps(key)}: 2")
    refused(cf, tmp_path / "ledger.json", raw.encode(), "record 1", f"extra.{shown}: given twice")
    header, row = csv_table([FULL_CASE])
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([[*header, key, key], [*row, "1", "2"]])
    refused(cf, tmp_path / "ledger.csv", buf.getvalue().encode(), f"column {shown} is given twice")
    raw = (
        yaml.safe_dump([FULL_CASE], allow_unicode=True)
        + f"- {{{json.dumps(key)}: 1, {json.dumps(key)}: 2}}\n"
    )
    refused(cf, tmp_path / "ledger.yaml", raw.encode(), f"key {shown} is given twice")
