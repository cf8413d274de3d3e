"""Repeat complaints (重复投诉), group complaints (群体投诉), the first receiver (首问负责人), and
the statistics report's per-department table (DESIGN.md section 12)."""

from __future__ import annotations

import copy
import json

import pytest

from .conftest import docx_text, pdf_page_count, pdf_text, snapshot
from .test_hostile_input import refused
from .test_ledger import CLOSED

BASE = {
    "kind": "complaint",
    "channel": "phone",
    "recorded_by": "吴芳",
    "category": "服务态度",
    "content": "维修后车辆仍有异响",
}


def case(name="王小明", phone=None, address=None, at="2026-10-20 09:30", **more) -> dict:
    comp = {"name": name}
    if phone is not None:
        comp["phone"] = phone
    if address is not None:
        comp["address"] = address
    return {**BASE, "complainant": comp, "received_at": at, **more}


def new(cf, data: dict) -> dict:
    return cf.json("case", "new", "--from", "-", input=json.dumps(data, ensure_ascii=False))


def card(cf, shown: dict, fmt: str = "pdf") -> str:
    docs = [d for d in shown["documents"] if d["form"] == "record_card" and d["format"] == fmt]
    path = cf.ws.local_path(docs[-1]["path"])
    return pdf_text(path) if fmt == "pdf" else docx_text(path)


def flat(text: str) -> str:
    return "".join(text.split())


# -- repeat complaints ---------------------------------------------------------------------------
def test_the_same_phone_however_written_links_the_earlier_case(cf):
    first = new(cf, case(phone="13812345678", at="2026-09-01 10:00"))
    second = new(cf, case(phone="13812345678", at="2026-10-01 10:00"))
    third = new(cf, case(name="王先生", phone="+86 138-1234 5678", at="2026-10-20 09:30"))
    assert first["repeat_of"] == []
    assert second["repeat_of"] == [first["case_no"]]
    # newest first; another name does not matter when the number is the same
    assert third["repeat_of"] == [second["case_no"], first["case_no"]]
    assert cf.json("case", "show", third["case_no"])["repeat_of"] == third["repeat_of"]
    text = flat(card(cf, third))
    assert "重复投诉" in text
    assert f"{second['case_no']}、{first['case_no']}" in text
    assert second["case_no"] in flat(card(cf, third, "docx"))
    # the first one's card names no repeat at all
    assert "重复投诉" not in card(cf, first) and "重复投诉" not in card(cf, first, "docx")


def test_a_number_that_only_ends_the_same_is_another_complainant(cf):
    new(cf, case(phone="13812345678", at="2026-10-01 10:00"))
    assert new(cf, case(phone="12345678", at="2026-10-02 10:00"))["repeat_of"] == []


def test_outside_the_window_is_not_a_repeat(cf):
    old = new(cf, case(phone="13900001111", at="2026-07-01 10:00"))
    edge = new(cf, case(phone="13900001111", at="2026-07-22 10:00"))
    # 2026-10-20 is 111 days after the first and exactly 90 after the second
    later = new(cf, case(phone="13900001111", at="2026-10-20 10:00"))
    assert later["repeat_of"] == [edge["case_no"]]
    assert old["case_no"] not in later["repeat_of"]


def test_the_window_is_configurable(cf, ws):
    path = ws.root / "complaintforms.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "repeat_window_days: 10\n", "utf-8")
    new(cf, case(phone="13900001111", at="2026-10-01 10:00"))
    assert new(cf, case(phone="13900001111", at="2026-10-20 10:00"))["repeat_of"] == []


def test_a_late_entry_of_an_older_complaint_does_not_repeat_a_newer_one(cf):
    new(cf, case(phone="13900001111", at="2026-10-20 10:00"))
    assert new(cf, case(phone="13900001111", at="2026-10-10 10:00"))["repeat_of"] == []


def test_same_name_and_address_without_a_phone(cf):
    first = new(cf, case(name="赵六", address="杭州市 文三路 8 号", at="2026-10-01 10:00"))
    other_address = new(cf, case(name="赵六", address="宁波市中山路 1 号", at="2026-10-02 10:00"))
    second = new(cf, case(name="赵六", address="杭州市文三路8号", at="2026-10-05 10:00"))
    assert other_address["repeat_of"] == []
    assert second["repeat_of"] == [first["case_no"]]
    # a name alone (no address) is not enough: many people share one
    assert new(cf, case(name="赵六", at="2026-10-06 10:00"))["repeat_of"] == []
    # nor is a part of a name
    assert new(cf, case(name="赵六六", address="杭州市文三路8号"))["repeat_of"] == []


def test_a_void_case_is_no_ones_repeat(cf):
    void = new(cf, case(phone="13812345678", at="2026-10-01 10:00"))
    result = cf("case", "void", void["case_no"], "--reason", "重复登记", "--by", "吴芳")
    assert result.exit_code == 0, result.stderr
    assert new(cf, case(phone="13812345678", at="2026-10-02 10:00"))["repeat_of"] == []


def test_the_lookup_index_answers_not_every_month(ws, monkeypatch):
    from complaintforms.services.cases import register_case

    first = register_case(ws, case(phone="13812345678", at="2026-09-01 10:00"), render=False)
    register_case(ws, case(name="李四", phone="13900001111"), render=False)

    def no_scan(*args, **kwargs):
        raise AssertionError("registration read every month")

    monkeypatch.setattr(type(ws.store), "iter_records", no_scan)
    data = case(phone="138 1234 5678", address="杭州", at="2026-10-01 10:00")
    assert register_case(ws, data, render=False)["repeat_of"] == [first["case_no"]]


def test_repeat_of_is_not_input(cf, ws):
    refused(
        cf,
        ws,
        "case",
        "new",
        "--from",
        "-",
        input=json.dumps(case(phone="13812345678", repeat_of=["TS-2026-000001"])),
        expect="'repeat_of'",
    )


# -- group complaints -------------------------------------------------------------------------------
def test_five_complainants_make_a_major_group_complaint(cf):
    shown = new(cf, case(complainant_count=5))
    assert shown["complainant_count"] == 5 and shown["severity"] == "major"
    assert {d["form"] for d in shown["documents"]} == {"record_card", "major_report"}
    for fmt in ("pdf", "docx"):
        text = flat(card(cf, shown, fmt))
        assert "投诉人数" in text and "5人" in text and "群体投诉" in text, fmt
    # the major report counts them too
    report = [d for d in shown["documents"] if d["form"] == "major_report" and d["format"] == "pdf"]
    assert "群体投诉" in pdf_text(cf.ws.local_path(report[0]["path"]))


def test_four_complainants_are_not_a_group(cf):
    shown = new(cf, case(complainant_count="4"))  # a count as text (a CSV cell, a flag)
    assert shown["complainant_count"] == 4 and shown["severity"] == "general"
    assert {d["form"] for d in shown["documents"]} == {"record_card"}
    text = flat(card(cf, shown))
    assert "4人" in text and "群体投诉" not in text


def test_one_complainant_prints_no_count(cf):
    shown = new(cf, case())
    assert shown["complainant_count"] == 1 and shown["first_receiver"] is None
    for fmt in ("pdf", "docx"):
        text = card(cf, shown, fmt)
        assert "投诉人数" not in text and "首问负责人" in text, fmt


def test_an_explicit_severity_stays(cf):
    shown = new(cf, case(complainant_count=6, severity="一般"))
    assert shown["severity"] == "general"
    assert {d["form"] for d in shown["documents"]} == {"record_card"}
    assert "群体投诉" in card(cf, shown)  # a group complaint all the same


def test_the_flags(cf):
    result = cf(
        "--json",
        "case",
        "new",
        "--channel",
        "phone",
        "--name",
        "王小明",
        "--content",
        "集体反映",
        "--by",
        "吴芳",
        "--first-receiver",
        "孙丽",
        "--complainant-count",
        "12",
    )
    assert result.exit_code == 0, result.stderr
    shown = json.loads(result.stdout)
    assert (shown["first_receiver"], shown["complainant_count"], shown["severity"]) == (
        "孙丽",
        12,
        "major",
    )


@pytest.mark.parametrize("value", [0, -3, "x", True, 2.5, "1e3", "", None])
def test_a_bad_count_is_refused_with_one_line(cf, ws, value):
    data = case(complainant_count=value)
    if value in ("", None):  # not given: one complainant
        assert new(cf, data)["complainant_count"] == 1
        return
    refused(
        cf,
        ws,
        "case",
        "new",
        "--from",
        "-",
        input=json.dumps(data, ensure_ascii=False),
        # named by the option that sets it, as every field of case new is
        expect=("--complainant-count", "whole number"),
    )


@pytest.mark.parametrize("value", ["0", "x", "true", "1" * 5000])
def test_a_bad_count_flag_is_refused_with_one_line(cf, ws, value):
    args = ("case", "new", "--channel", "phone", "--name", "王", "--content", "c", "--by", "吴芳")
    result = refused(cf, ws, *args, "--complainant-count", value, expect="--complainant-count")
    assert len(result.stderr) < 200


def test_a_count_past_any_office_is_refused(cf, ws):
    refused(
        cf,
        ws,
        "case",
        "new",
        "--from",
        "-",
        input=json.dumps(case(complainant_count=10**9)),
        expect=("--complainant-count", "at most"),
    )


def test_the_group_threshold_is_configurable(cf, ws):
    path = ws.root / "complaintforms.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "group_threshold: 3\n", "utf-8")
    assert new(cf, case(complainant_count=3))["severity"] == "major"


# -- the first receiver -----------------------------------------------------------------------------
def test_the_first_receiver_is_printed(cf, ws):
    shown = new(cf, case(first_receiver="李明 & <前台>"))
    assert shown["first_receiver"] == "李明 & <前台>"
    for fmt in ("pdf", "docx"):
        assert "李明 & <前台>" in card(cf, shown, fmt), fmt
    # anyone, not only configured staff; but a name, not an essay
    assert new(cf, case(first_receiver="门卫老张"))["first_receiver"] == "门卫老张"
    refused(
        cf,
        ws,
        "case",
        "new",
        "--from",
        "-",
        input=json.dumps(case(first_receiver="张" * 101), ensure_ascii=False),
        expect=("--first-receiver", "101"),
    )


def test_an_ordinary_card_with_everything_fits_one_page(cf):
    for i in range(12):
        new(cf, case(phone="13812345678", at=f"2026-10-{i + 1:02d} 09:00"))
    shown = new(
        cf,
        case(
            phone="13812345678",
            address="杭州市西湖区文三路 100 号",
            first_receiver="李明",
            complainant_count=8,
            demand="退款并道歉",
        ),
    )
    assert len(shown["repeat_of"]) == 12
    path = cf.ws.local_path(next(d["path"] for d in shown["documents"] if d["format"] == "pdf"))
    assert pdf_page_count(path) == 1
    text = flat(pdf_text(path))
    assert "此前投诉12件" in text and "TS-2026-000012" in text
    assert "TS-2026-000001" not in text.replace(shown["case_no"], "")  # the oldest: 等


# -- corrections -------------------------------------------------------------------------------------
def amend(cf, case_no: str, *sets: str) -> dict:
    args = [a for s in sets for a in ("--set", s)]
    result = cf("--json", "case", "amend", case_no, *args, "--reason", "核对更正", "--by", "吴芳")
    assert result.exit_code == 0, result.stderr
    return cf.json("case", "show", case_no)


def test_amend_the_first_receiver_and_the_count(cf):
    shown = new(cf, case())
    after = amend(cf, shown["case_no"], "first_receiver=张伟", "complainant_count=3")
    assert (after["first_receiver"], after["complainant_count"]) == ("张伟", 3)
    assert after["severity"] == "general"
    assert after["amendments"][-1]["changes"] == {
        "complainant_count": {"before": 1, "after": 3},
        "first_receiver": {"before": None, "after": "张伟"},
    }
    text = flat(card(cf, after))
    assert "张伟" in text and "3人" in text
    # reaching the threshold makes it major, and reports it up the line
    after = amend(cf, shown["case_no"], "complainant_count=5")
    assert after["severity"] == "major"
    assert after["amendments"][-1]["changes"]["severity"] == {"before": "general", "after": "major"}
    assert "major_report" in {d["form"] for d in after["documents"]}
    assert "群体投诉" in card(cf, after)
    # a count corrected down leaves the severity as it is
    assert amend(cf, shown["case_no"], "complainant_count=2")["severity"] == "major"


def test_amend_the_count_with_a_severity(cf):
    shown = new(cf, case())
    after = amend(cf, shown["case_no"], "complainant_count=7", "severity=general")
    assert (after["complainant_count"], after["severity"]) == (7, "general")
    assert "major_report" not in {d["form"] for d in after["documents"]}


def test_amend_refuses_a_bad_count(cf, ws):
    shown = new(cf, case())
    refused(
        cf,
        ws,
        "case",
        "amend",
        shown["case_no"],
        "--set",
        "complainant_count=0",
        "--reason",
        "x",
        "--by",
        "吴芳",
        expect=("complainant_count", "whole number"),
    )


# -- import and export -----------------------------------------------------------------------------------
LEDGER = [
    {
        **case(phone="13812345678", at="2026-10-01T10:00:00+08:00"),
        "case_no": "TS-2026-000001",
    },
    {
        **case(phone="13812345678", at="2026-10-05T10:00:00+08:00"),
        "case_no": "TS-2026-000002",
        "first_receiver": "李明",
        "complainant_count": 7,
        "severity": "major",
        "repeat_of": ["TS-2025-000042", "TS-2026-000001"],
    },
]


def test_import_keeps_repeat_of_as_recorded_and_round_trips(cf, ws, tmp_path):
    from complaintforms.workspace import Workspace, init_workspace

    from .conftest import Runner

    source = tmp_path / "ledger.json"
    source.write_text(json.dumps(LEDGER, ensure_ascii=False), encoding="utf-8")
    assert cf.json("case", "import", str(source))["imported"] == 2
    first, second = (cf.json("case", "show", f"TS-2026-00000{i}") for i in (1, 2))
    assert first["repeat_of"] == []  # not looked for on import
    assert second["repeat_of"] == ["TS-2025-000042", "TS-2026-000001"]
    assert (second["first_receiver"], second["complainant_count"]) == ("李明", 7)
    keys = ("repeat_of", "first_receiver", "complainant_count", "severity")
    for fmt in ("json", "yaml", "csv"):
        exported = tmp_path / f"export.{fmt}"
        assert cf("case", "export", "--format", fmt, "-o", str(exported)).exit_code == 0
        fresh = Runner(Workspace.open(init_workspace(tmp_path / f"fresh-{fmt}").root))
        assert fresh.json("case", "import", str(exported))["imported"] == 2, fmt
        for before in (first, second):
            after = fresh.json("case", "show", before["case_no"])
            assert {k: after[k] for k in keys} == {k: before[k] for k in keys}, fmt


@pytest.mark.parametrize(
    ("field", "value", "expect"),
    [
        ("repeat_of", "TS-2026-000001", "repeat_of: must be a list"),
        ("repeat_of", [1], "repeat_of[0]: must be text"),
        ("repeat_of", [""], "repeat_of[0]: required"),
        ("complainant_count", 0, "complainant_count"),
        ("complainant_count", True, "complainant_count"),
        ("first_receiver", ["李明"], "first_receiver: must be text"),
    ],
)
def test_import_refuses_bad_values(cf, ws, tmp_path, field, value, expect):
    record = copy.deepcopy(LEDGER[1])
    record[field] = value
    source = tmp_path / "ledger.json"
    source.write_text(json.dumps([record], ensure_ascii=False), encoding="utf-8")
    refused(cf, ws, "case", "import", str(source), expect=expect)


# -- the statistics report -----------------------------------------------------------------------------
HANDLERS = {"SVC": "李明", "SAL": "孙丽", "FIN": "周杰", "CSC": "吴芳"}


def resolved(case_no: str, department: str, day: int, resolved_day: int, **more) -> dict:
    return {
        **CLOSED,
        "case_no": case_no,
        "received_at": f"2025-10-{day:02d}T10:00:00+08:00",
        "decision": {**CLOSED["decision"], "at": f"2025-10-{day:02d}T11:00:00+08:00"},
        "assignment": {"department": department, "handler": HANDLERS[department]},
        "handling": {
            **CLOSED["handling"],
            "approved_at": None,
            "resolved_at": f"2025-10-{resolved_day:02d}T16:00:00+08:00",
        },
        "callback": {
            "at": f"2025-10-{resolved_day + 1:02d}T10:00:00+08:00",
            "by": "吴芳",
            "satisfaction": "满意",
        },
        "closure": {**CLOSED["closure"], "at": f"2025-10-{resolved_day + 2:02d}T10:00:00+08:00"},
        **more,
    }


def test_the_report_ranks_departments_by_on_time_rate(cf, ws, tmp_path):
    ledger = [
        resolved("TS-2025-000101", "SAL", 13, 14),  # on time
        resolved("TS-2025-000102", "SAL", 13, 27),  # late
        resolved("TS-2025-000103", "FIN", 13, 14),  # on time
        resolved("TS-2025-000104", "SVC", 13, 27, complainant_count=6),  # late, a group
        {
            **resolved("TS-2025-000105", "CSC", 14, 15, repeat_of=["TS-2025-000101"]),
            "handling": {},
            "callback": {},
            "closure": {},
            "status": "assigned",
        },
    ]
    source = tmp_path / "ledger.json"
    source.write_text(json.dumps(ledger, ensure_ascii=False), encoding="utf-8")
    assert cf.json("case", "import", str(source))["imported"] == 5
    report = cf.json("report", "monthly", "2025-10")
    assert report["repeats"] == 1 and report["group_complaints"] == 1
    from complaintforms.domain import figures as fig
    from complaintforms.services.reports import report_context

    rows = report_context(report, ws.config, fig.Period.parse("2025-10"))["departments"]
    assert [r["name"] for r in rows] == ["财务部", "销售部", "售后服务部", "客户服务中心"]
    assert [r["on_time_rate"] for r in rows] == ["100.0%", "50.0%", "0.0%", "—"]
    assert rows[1]["resolved"] == 2 and rows[1]["resolved_on_time"] == 1
    assert rows[3]["assigned"] == 1 and rows[3]["resolved"] == 0
    files = {f["format"]: cf.ws.local_path(f["path"]) for f in report["files"]}
    for fmt in ("pdf", "docx"):
        text = pdf_text(files["pdf"]) if fmt == "pdf" else docx_text(files["docx"])
        assert "按部门办理情况（按按时率排序）" in text, fmt
        for header in ("按时办结", "逾期未办", "退单", "催办/督办", "满意率"):
            assert header in text, (fmt, header)
        order = [text.index(name, text.index("按部门办理情况")) for name in ("财务部", "销售部")]
        assert order == sorted(order), fmt
        assert "重复投诉" in text and "群体投诉" in text, fmt


def test_the_report_renders_without_the_department_figures(cf, ws, monkeypatch):
    from complaintforms.domain import figures as fig

    compute = fig.compute

    def older(*args, **kwargs):
        figs = compute(*args, **kwargs)
        for key in ("departments", "repeats", "group_complaints", "extended", "sent_back"):
            figs.pop(key, None)
        return figs

    monkeypatch.setattr(fig, "compute", older)
    new(cf, case())
    before = snapshot(ws)
    report = cf.json("report", "monthly", "2026-10")
    assert snapshot(ws) != before
    files = {f["format"]: cf.ws.local_path(f["path"]) for f in report["files"]}
    assert "本期无分派到部门的案件" in pdf_text(files["pdf"])
    assert "本期无分派到部门的案件" in docx_text(files["docx"])
