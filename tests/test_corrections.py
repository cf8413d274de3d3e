"""The first week in a real office (issue 13, DESIGN.md section 13): corrections (更正), void
registrations (作废), call-backs that reach nobody (无法回访) and the call-back deadline,
several penalties per case, compensation (赔偿)."""

from __future__ import annotations

import json

import pytest

from .conftest import pdf_text, snapshot
from .test_hostile_input import refused
from .test_procedure import RETURN_ARGS, accept, register
from .test_register import FULL_CASE

RECEIVED = "2026-11-16T09:30:00+08:00"
RESOLVED = "2026-11-18T16:00:00+08:00"


def plain_case(**changes) -> dict:
    """FULL_CASE with plain values (no markup to escape), for reading the card back."""
    data = {
        **FULL_CASE,
        "complainant": {**FULL_CASE["complainant"], "name": "王小明", "address": "文三路 100 号"},
        "content": "更换刹车片后仍有异响",
        "severity": "一般",
        "received_at": RECEIVED,
    }
    data.update(changes)
    return data


def returned(cf, case_no: str, *extra: str, at: str = RESOLVED) -> dict:
    return cf.json(
        "slip", "return", case_no, *RETURN_ARGS, "--customer-signed", "--by", "李明",
        "--at", at, *extra,
    )  # fmt: skip


def card_pdfs(ws, case: dict) -> list:
    return [d for d in case["documents"] if d["form"] == "record_card" and d["format"] == "pdf"]


# -- amend -------------------------------------------------------------------------------------
def test_amend_corrects_the_registration_and_issues_the_card_again(cf, ws):
    case_no = register(cf, plain_case())
    out = cf.json(
        "case", "amend", case_no, "--set", "complainant.phone=139 0000 1111",
        "--set", "category=维修质量", "--reason", "电话记错", "--by", "吴芳",
    )  # fmt: skip
    case = out["case"]
    assert case["complainant"]["phone"] == "139 0000 1111"
    assert case["category"] == "维修质量"
    [amendment] = case["amendments"]
    assert amendment["reason"] == "电话记错" and amendment["by"] == "吴芳"
    assert amendment["changes"]["complainant.phone"] == {
        "before": "13812345678",
        "after": "139 0000 1111",
    }
    assert amendment["changes"]["category"] == {"before": "服务态度", "after": "维修质量"}

    # The card again, with a new serial; the first one kept, marked superseded.
    first, second = card_pdfs(ws, case)
    assert first["superseded_at"] and not second.get("superseded_at")
    assert first["path"] != second["path"]
    assert (ws.root / first["path"]).exists()
    text = pdf_text(ws.root / second["path"])
    assert "维修质量" in text and "1111" in text

    # The audit event: before, after and the reason.
    event = cf.json("case", "history", case_no)[-1]
    assert event["action"] == "case.amend" and event["reason"] == "电话记错"
    assert event["before"]["complainant"]["phone"] == "13812345678"
    assert event["after"]["complainant"]["phone"] == "139 0000 1111"


@pytest.mark.parametrize(
    ("sets", "expect"),
    [
        (("complainant.phone=not a phone",), "is not a phone number"),
        (("channel=fax",), "channel: unknown value 'fax'"),
        (("category=没有的类别",), "unknown category"),
        (("status=closed",), "'status' cannot be corrected"),
        (("decision.accepted=true",), "'decision.accepted' cannot be corrected"),
        (("received_at=2030-01-01 10:00",), "received_at"),
        (("complainant.name=王\u202e小明",), "U+202E"),
        (("content=",), "content: required"),
        (("category=服务态度",), "nothing would change"),
    ],
)
def test_amend_refuses_what_registration_refuses(cf, ws, sets, expect):
    case_no = register(cf, plain_case())
    args = [a for s in sets for a in ("--set", s)]
    refused(cf, ws, "case", "amend", case_no, *args, "--reason", "更正", expect=expect)


def test_amend_of_the_received_time_counts_the_due_date_again(cf, ws):
    case_no = register(cf, plain_case())
    due = accept(cf, case_no, at="2026-11-16T10:00:00+08:00")["case"]["assignment"]["due"]
    assert due == "2026-11-19"
    result = cf(
        "case", "amend", case_no, "--set", "received_at=2026-11-13 16:00",
        "--reason", "来电时间记错", json_out=True,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    case = json.loads(result.stdout)["case"]
    assert case["received_at"] == "2026-11-13T16:00:00+08:00"
    assert case["assignment"]["due"] == "2026-11-18"  # Friday + 3 working days
    assert "2026年11月18日" in result.stderr
    # Not after the acceptance: the complaint cannot have come in after it was accepted.
    refused(
        cf, ws, "case", "amend", case_no, "--set", "received_at=2026-11-16 11:00",
        "--reason", "x", expect=("received_at", "after the decision"),
    )  # fmt: skip


def test_amend_is_refused_after_signoff(cf, ws, tmp_path):
    from .test_archive import closed_cases

    [case_no, _] = closed_cases(cf, tmp_path)
    cf.json("case", "signoff", case_no, "--by", "赵敏")
    refused(
        cf, ws, "case", "amend", case_no, "--set", "content=改", "--reason", "x",
        expect="can no longer be corrected",
    )  # fmt: skip


# -- void --------------------------------------------------------------------------------------
def test_void_takes_a_registration_out_of_every_figure_and_the_register(cf, ws):
    kept = register(cf, plain_case())
    test_entry = register(cf, plain_case(content="测试登记，请忽略"))
    routed = register(cf, plain_case(content="重复登记"))
    accept(cf, routed)
    out = cf.json("case", "void", test_entry, "--reason", "测试登记", "--by", "吴芳")
    assert out["case"]["status"] == "void"
    assert out["case"]["void"]["reason"] == "测试登记"
    assert cf.json("case", "void", routed, "--reason", "重复登记")["case"]["status"] == "void"
    # The numbers are never used again.
    later = register(cf, plain_case())
    assert later.endswith("000004")

    figs = cf.json("report", "monthly", "2026-11", "--as-of", "2026-11-30", "--by", "赵敏")
    assert figs["total"] == 2 and figs["voided"] == 2
    assert figs["accepted"] == 0 and figs["overdue_open"] == 2
    register_out = cf.json("register", "render", "--month", "2026-11", "--by", "吴芳")
    text = pdf_text(ws.root / register_out["documents"][0]["path"])
    assert kept in text and later in text
    assert test_entry not in text and routed not in text
    assert cf.json("case", "list", "--status", "void")[0]["case_no"] in (test_entry, routed)
    event = cf.json("case", "history", test_entry)[-1]
    assert event["action"] == "case.void" and event["reason"] == "测试登记"


def test_void_is_refused_once_the_case_is_handled(cf, ws):
    case_no = register(cf, plain_case())
    accept(cf, case_no)
    returned(cf, case_no)
    refused(cf, ws, "case", "void", case_no, "--reason", "x", expect="cannot void")


# -- call-backs that reach nobody; the call-back deadline -----------------------------------------
def test_an_unreachable_callback_lets_the_case_close_and_counts_apart(cf, ws):
    reached = register(cf, plain_case())
    unreachable = register(cf, plain_case())
    for case_no in (reached, unreachable):
        accept(cf, case_no)
        returned(cf, case_no)
    cf.json("case", "callback", reached, "--satisfaction", "不满意", "--at", "2026-11-19 10:00")
    out = cf.json(
        "case", "callback", unreachable, "--unreachable", "--note", "三次无人接听",
        "--at", "2026-11-19 10:00",
    )  # fmt: skip
    assert out["case"]["callback"] == {
        "at": "2026-11-19T10:00:00+08:00",
        "by": "测试员",
        "satisfaction": None,
        "note": "三次无人接听",
        "reached": False,
    }
    closed = cf.json("case", "close", unreachable, "--summary", "已处理，无法回访")
    assert closed["case"]["status"] == "closed"
    figs = cf.json("report", "monthly", "2026-11", "--as-of", "2026-11-30", "--by", "赵敏")
    assert figs["callbacks"] == 1 and figs["callbacks_unreachable"] == 1
    assert figs["satisfaction_rate"] == 0.0  # the one reached was dissatisfied
    assert figs["callbacks_on_time"] == 2


def test_a_later_call_that_reaches_the_complainant_replaces_the_unreachable_one(cf, ws):
    case_no = register(cf, plain_case())
    accept(cf, case_no)
    returned(cf, case_no)
    cf.json("case", "callback", case_no, "--unreachable", "--at", "2026-11-19 10:00")
    again = cf.json(
        "case", "callback", case_no, "--satisfaction", "满意", "--at", "2026-11-20 10:00"
    )
    assert again["case"]["callback"]["reached"] is True
    refused(
        cf, ws, "case", "callback", case_no, "--satisfaction", "满意",
        expect="already called back",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("args", "expect"),
    [
        (("--unreachable", "--satisfaction", "满意"), "reached nobody records no satisfaction"),
        ((), "satisfaction: required"),
    ],
)
def test_callback_needs_a_satisfaction_exactly_when_it_reached_someone(cf, ws, args, expect):
    case_no = register(cf, plain_case())
    accept(cf, case_no)
    returned(cf, case_no)
    refused(cf, ws, "case", "callback", case_no, *args, expect=expect)


def test_an_anonymous_complaint_without_a_phone_closes_without_a_callback(cf, ws):
    anonymous = register(
        cf, plain_case(complainant={"anonymous": True}, target={"type": "company"})
    )
    accept(cf, anonymous)
    returned(cf, anonymous)
    assert (
        cf.json("case", "close", anonymous, "--summary", "匿名，无法回访")["case"]["status"]
        == "closed"
    )
    with_phone = register(cf, plain_case())
    accept(cf, with_phone)
    returned(cf, with_phone)
    refused(
        cf, ws, "case", "close", with_phone, "--summary", "x", expect="call the complainant back"
    )


def test_a_result_not_called_back_in_time_is_overdue(cf, ws):
    late = register(cf, plain_case())
    fresh = register(cf, plain_case())
    for case_no in (late, fresh):
        accept(cf, case_no)
    returned(cf, late, at="2026-11-18T16:00:00+08:00")
    returned(cf, fresh, at="2026-11-18T16:00:00+08:00")
    cf.json("case", "callback", fresh, "--satisfaction", "满意", "--at", "2026-11-19 09:00")
    overdue = [c["case_no"] for c in cf.json("case", "list", "--overdue")]
    assert overdue == [late]  # two working days after 2026-11-18 have long passed
    assert cf.json("case", "show", late)["overdue"] is True
    assert cf.json("case", "show", fresh)["overdue"] is False
    figs = cf.json("report", "monthly", "2026-11", "--as-of", "2026-11-20", "--by", "赵敏")
    assert figs["callback_overdue"] == 0  # due 2026-11-20: not yet past it
    figs = cf.json("report", "monthly", "2026-11", "--as-of", "2026-11-23", "--by", "赵敏")
    assert figs["callback_overdue"] == 1 and figs["callbacks_on_time"] == 1


# -- penalties and compensation ----------------------------------------------------------------
def test_several_penalties_and_the_compensation_reach_the_closure_and_the_report(cf, ws):
    case_no = register(cf, plain_case())
    accept(cf, case_no)
    cf.json("case", "penalize", case_no, "--kind", "警告", "--person", "张伟")
    cf.json(
        "case", "penalize", case_no, "--kind", "minor_demerit", "--person", "王强",
        "--amount", "500", "--note", "部门负责人连带责任",
    )  # fmt: skip
    returned(cf, case_no, "--compensation", "200.50")
    cf.json("case", "callback", case_no, "--satisfaction", "满意", "--at", "2026-11-19 10:00")
    closed = cf.json(
        "case", "close", case_no, "--summary", "完毕", "--penalty", "大过",
        "--penalty-person", "李明",
    )["case"]  # fmt: skip
    penalties = closed["closure"]["penalties"]
    assert [(p["type"], p["person"], p["amount"]) for p in penalties] == [
        ("warning", "张伟", 400),
        ("minor_demerit", "王强", 500),
        ("major_demerit", "李明", "当月效益奖金全额"),
    ]
    assert penalties[1]["note"] == "部门负责人连带责任"
    assert closed["closure"]["penalty"] == {"type": "warning", "person": "张伟", "amount": 400}
    assert closed["handling"]["compensation"] == 200.5
    closing = next(
        d for d in closed["documents"] if d["form"] == "closing_form" and d["format"] == "pdf"
    )
    text = pdf_text(ws.root / closing["path"])
    assert "张伟" in text and "王强" in text and "李明" in text

    figs = cf.json("report", "monthly", "2026-11", "--as-of", "2026-11-30", "--by", "赵敏")
    assert len(figs["penalties"]) == 3
    assert figs["compensation_total"] == 200.5
    assert figs["compensation_by_department"] == {"SVC": 200.5}


@pytest.mark.parametrize(
    ("args", "expect"),
    [
        (("--kind", "开除", "--person", "张伟"), "penalty: unknown value '开除'"),
        (("--kind", "警告", "--person", "张伟", "--amount", "-5"), "amount: must be an amount"),
        (("--kind", "警告", "--person", ""), "required"),
    ],
)
def test_penalize_refuses_bad_values(cf, ws, args, expect):
    case_no = register(cf, plain_case())
    accept(cf, case_no)
    refused(cf, ws, "case", "penalize", case_no, *args, expect=expect)


def test_penalize_is_refused_before_routing_and_after_closing(cf, ws):
    case_no = register(cf, plain_case())
    refused(
        cf, ws, "case", "penalize", case_no, "--kind", "警告", "--person", "张伟",
        expect="before it is closed",
    )  # fmt: skip


@pytest.mark.parametrize("value", ["abc", "-1", "1.005", "1e400"])
def test_a_bad_compensation_is_refused(cf, ws, value):
    case_no = register(cf, plain_case())
    accept(cf, case_no)
    before = snapshot(ws)
    result = cf(
        "slip", "return", case_no, *RETURN_ARGS, "--customer-signed", "--compensation", value
    )
    assert result.exit_code == 1, result.stdout
    assert "compensation" in result.stderr and "internal error" not in result.stderr
    assert snapshot(ws) == before


# -- a case that becomes major is reported up the line ------------------------------------------
def major_reports(case: dict) -> list[dict]:
    return [d for d in case["documents"] if d["form"] == "major_report" and d["format"] == "pdf"]


def test_a_case_that_becomes_major_gets_its_report_at_acceptance_or_correction(cf, ws):
    at_accept = register(cf, plain_case())
    out = accept(cf, at_accept, "--severity", "重大")
    [report] = major_reports(out["case"])
    text = pdf_text(ws.root / report["path"])
    assert "重 大 投 诉 呈 报 单" in text and "总经理" in text and at_accept in text
    # Accepting a case that is not major issues none.
    plain = register(cf, plain_case())
    assert major_reports(accept(cf, plain)["case"]) == []

    corrected = cf.json(
        "case", "amend", plain, "--set", "severity=major", "--reason", "已被媒体报道",
    )["case"]  # fmt: skip
    [report] = major_reports(corrected)
    assert "已被媒体报道" in pdf_text(ws.root / report["path"])
    # Correcting something else of a major case issues no second report.
    again = cf.json("case", "amend", plain, "--set", "demand=道歉", "--reason", "补充")["case"]
    assert len(major_reports(again)) == 1


# -- the ledger carries all of it: export, then import into a fresh workspace -------------------
def test_export_and_import_keep_corrections_voids_penalties_and_unreachable_callbacks(
    cf, ws, tmp_path
):
    from complaintforms.workspace import Workspace, init_workspace

    from .conftest import Runner

    case_no = register(cf, plain_case())
    cf.json("case", "amend", case_no, "--set", "complainant.phone=13900001111", "--reason", "记错")
    accept(cf, case_no)
    cf.json(
        "case",
        "penalize",
        case_no,
        "--kind",
        "警告",
        "--person",
        "张伟",
        "--at",
        "2026-11-17 10:00",
    )
    cf.json(
        "case", "penalize", case_no, "--kind", "小过", "--person", "王强", "--amount", "500",
        "--note", "连带", "--at", "2026-11-17 10:05",
    )  # fmt: skip
    returned(cf, case_no, "--compensation", "88.5")
    cf.json("case", "callback", case_no, "--unreachable", "--at", "2026-11-19 10:00")
    cf.json("case", "close", case_no, "--summary", "完毕", "--at", "2026-11-19 11:00")
    voided = register(cf, plain_case(content="重复"))
    cf.json("case", "void", voided, "--reason", "重复登记")
    keys = ("status", "complainant", "handling", "callback", "closure", "amendments", "void")
    for fmt in ("json", "yaml", "csv"):
        exported = tmp_path / f"export.{fmt}"
        assert cf("case", "export", "--format", fmt, "-o", str(exported)).exit_code == 0
        fresh = Runner(Workspace.open(init_workspace(tmp_path / f"fresh-{fmt}").root))
        assert fresh.json("case", "import", str(exported))["imported"] == 2, fmt
        for number in (case_no, voided):
            a, b = cf.json("case", "show", number), fresh.json("case", "show", number)
            for key in keys:
                assert a[key] == b[key], (fmt, number, key)
