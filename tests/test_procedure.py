"""The routing procedure on paper: each step, its form, and what it refuses."""

from __future__ import annotations

import json

import pytest

from complaintforms.documents.qrcode import parse_payload, verify

from .conftest import docx_images, docx_text, pdf_page_count, pdf_qr_codes, pdf_text, snapshot
from .test_register import FULL_CASE

CONFIDENTIAL = {
    **FULL_CASE,
    "complainant": {
        "name": "欧阳保密",
        "phone": "13812345678",
        "address": "杭州市秘密路 9 号",
        "confidential": True,
    },
    "target": {"type": "department", "department": "SVC"},
    "category": "维修质量",
}


def register(cf, data: dict | None = None, **changes) -> str:
    payload = {**(data or FULL_CASE), **changes}
    return cf.json("case", "new", "--from", "-", input=json.dumps(payload, ensure_ascii=False))[
        "case_no"
    ]


def accept(cf, case_no: str, *extra: str, at: str = "2026-11-16T10:00:00+08:00") -> dict:
    return cf.json(
        "case", "accept", case_no, "--department", "SVC", "--by", "吴芳", "--at", at, *extra
    )


def paths(ws, result: dict, fmt: str) -> list:
    return [ws.root / d["path"] for d in result["documents"] if d["format"] == fmt]


RETURN_ARGS = (
    "--findings",
    "核实属实，刹车片安装不到位",
    "--cause",
    "安装失误",
    "--responsible",
    "张伟",
    "--plan",
    "免费重新安装",
    "--approved-by",
    "王强",
    "--result",
    "已重新安装，试车正常",
)


# -- due dates in working days -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("received", "kind", "due"),
    [
        ("2026-11-16T09:00:00+08:00", "complaint", "2026-11-19"),  # Monday, 3 working days
        (
            "2026-09-30T09:00:00+08:00",
            "complaint",
            "2026-10-10",
        ),  # the make-up Saturday after National Day
        ("2026-11-20T09:00:00+08:00", "inquiry", "2026-11-23"),  # Friday, 1 working day
    ],
)
def test_due_dates_in_chinese_working_days(cf, received, kind, due):
    case_no = register(cf, received_at=received, kind=kind)
    result = accept(cf, case_no, at=received.replace("09:00", "11:00"))
    assert result["case"]["assignment"]["due"] == due
    assert result["warnings"] == []


def test_special_case_past_the_calendar_data_warns(cf, ws):
    config = ws.config_path.read_text(encoding="utf-8").replace(
        "extra_holidays: []", "extra_holidays: [2027-01-01]"
    )
    ws.config_path.write_text(config, encoding="utf-8")
    later = {"COMPLAINTFORMS_NOW": "2027-01-05T10:00:00+08:00"}
    case_no = cf.json(
        "case",
        "new",
        "--from",
        "-",
        env=later,
        input=json.dumps(
            {**FULL_CASE, "received_at": "2026-12-30T09:00:00+08:00"}, ensure_ascii=False
        ),
    )["case_no"]
    result = cf(
        "case",
        "accept",
        case_no,
        "--department",
        "SVC",
        "--special",
        "--by",
        "吴芳",
        "--at",
        "2026-12-30T10:00:00+08:00",
        json_out=True,
        env=later,
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["case"]["assignment"]["due"] == "2027-01-11"
    assert "2027 is outside the official holiday calendar" in result.stderr


# -- the whole procedure ---------------------------------------------------------------------------------
def test_the_whole_procedure_with_a_reopen(cf, ws):
    case_no = register(cf)
    assert accept(cf, case_no)["case"]["status"] == "assigned"
    cf.json("slip", "issue", case_no, "--by", "吴芳")
    cf.json("letter", "issue", case_no, "--by", "吴芳")

    unsigned = cf(
        "slip",
        "return",
        case_no,
        *RETURN_ARGS,
        "--no-customer-signed",
        "--by",
        "李明",
        "--at",
        "2026-11-18T16:00:00+08:00",
        json_out=True,
    )
    assert unsigned.exit_code == 0 and "did not sign" in unsigned.stderr
    case = json.loads(unsigned.stdout)["case"]
    assert case["status"] == "resolved" and case["handling"]["customer_signed"] is False
    assert "投诉人未签字" in cf("case", "show", case_no).stdout

    cf.json(
        "case",
        "callback",
        case_no,
        "--satisfaction",
        "不满意",
        "--note",
        "仍有异响",
        "--by",
        "吴芳",
        "--at",
        "2026-11-19T10:00:00+08:00",
    )
    reopened = cf.json(
        "case",
        "reopen",
        case_no,
        "--reason",
        "客户不满意",
        "--by",
        "吴芳",
        "--at",
        "2026-11-19T11:00:00+08:00",
    )
    assert reopened["case"]["status"] == "assigned"
    assert (
        reopened["case"]["assignment"]["due"] == "2026-11-24"
    )  # 3 working days from the reopening
    assert reopened["case"]["reopens"][0]["callback"]["satisfaction"] == "dissatisfied"

    cf.json(
        "slip",
        "return",
        case_no,
        *RETURN_ARGS,
        "--customer-signed",
        "--by",
        "李明",
        "--at",
        "2026-11-20T16:00:00+08:00",
    )
    cf.json(
        "case",
        "callback",
        case_no,
        "--satisfaction",
        "satisfied",
        "--by",
        "吴芳",
        "--at",
        "2026-11-21T10:00:00+08:00",
    )
    closed = cf.json(
        "case",
        "close",
        case_no,
        "--summary",
        "重新安装后正常；加强安装复检",
        "--penalty",
        "警告",
        "--penalty-person",
        "张伟",
        "--validity",
        "有效",
        "--by",
        "赵敏",
        "--at",
        "2026-11-21T11:00:00+08:00",
    )
    case = closed["case"]
    assert case["status"] == "closed"
    assert case["closure"]["penalty"] == {"type": "warning", "person": "张伟", "amount": 400}
    assert case["decision"]["validity"] == "valid"
    assert case["handling"]["customer_signed"] is True
    actions = [e["action"] for e in cf.json("case", "history", case_no)]
    assert actions == [
        "case.new",
        "case.accept",
        "slip.issue",
        "letter.issue",
        "slip.return",
        "case.callback",
        "case.reopen",
        "slip.return",
        "case.callback",
        "case.close",
    ]
    assert ws.store.verify_audit() == []


def test_reject_writes_a_courteous_reply_letter(cf, ws):
    case_no = register(cf, CONFIDENTIAL)
    result = cf.json(
        "case",
        "reject",
        case_no,
        "--reason",
        "所述费用已在合同中明确约定。",
        "--by",
        "吴芳",
        "--at",
        "2026-11-16T12:00:00+08:00",
    )
    assert result["case"]["status"] == "rejected"
    pdf, docx = paths(ws, result, "pdf")[0], paths(ws, result, "docx")[0]
    for text in (pdf_text(pdf), docx_text(docx)):
        flat = text.replace(" ", "").replace("\r", "").replace("\n", "")
        assert "投诉答复函" in flat and case_no in flat
        assert "尊敬的欧阳保密" in flat  # addressed to the complainant by name
        assert "所述费用已在合同中明确约定。" in flat and "敬请谅解" in flat
        assert "13812345678" not in flat  # the phone is masked on anything that leaves the centre
    codes = pdf_qr_codes(pdf)
    assert parse_payload(codes[0]).form == "reply_letter"


# -- the routed forms --------------------------------------------------------------------------------------
def test_feedback_slip_reads_back(cf, ws):
    case_no = register(cf)
    accept(cf, case_no)
    result = cf.json("slip", "issue", case_no, "--by", "吴芳")
    pdf, docx = paths(ws, result, "pdf")[0], paths(ws, result, "docx")[0]
    text = pdf_text(pdf)
    flat = text.replace(" ", "")
    assert "三来处理反馈单" in flat and case_no in text
    for label in (
        "调查情况",
        "原因分析",
        "处理方案",
        "主管负责人批示",
        "处理结果",
        "投诉人签字确认",
        "返回日期",
        "回访记录",
    ):
        assert label in flat, label
    assert "2026年11月19日" in text and "售后服务部" in text
    ref = parse_payload(pdf_qr_codes(pdf)[0])
    assert (ref.case_no, ref.form) == (case_no, "feedback_slip")
    verify(ws, ref)
    dtext = docx_text(docx)
    assert (
        case_no in dtext
        and "2026年11月19日" in dtext
        and "调查情况" in dtext
        and "138****5678" in dtext
    )


def test_work_contact_letter_has_a_receipt_stub_with_its_own_code(cf, ws):
    case_no = register(cf)
    accept(cf, case_no)
    result = cf.json("letter", "issue", case_no, "--to", "FIN", "--by", "吴芳")
    pdf, docx = paths(ws, result, "pdf")[0], paths(ws, result, "docx")[0]
    flat = pdf_text(pdf).replace(" ", "")
    assert "工作联系函" in flat and "签收回执" in flat and case_no in flat and "财务部" in flat
    forms = sorted(parse_payload(code).form for code in pdf_qr_codes(pdf))
    assert forms == ["contact_letter", "contact_receipt"]
    dflat = docx_text(docx).replace(" ", "")
    assert "签收回执" in dflat and "财务部" in dflat and case_no in dflat
    import io

    import zxingcpp
    from PIL import Image

    docx_forms = sorted(
        parse_payload(r.text).form
        for blob in docx_images(docx)
        for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(blob)))
    )
    assert docx_forms == ["contact_letter", "contact_receipt"]


def test_confidential_complainant_is_masked_on_every_routed_form(cf, ws):
    case_no = register(cf, CONFIDENTIAL)
    card = cf.json("case", "show", case_no)
    card_pdf = ws.root / next(d["path"] for d in card["documents"] if d["format"] == "pdf")
    assert "欧阳保密" in pdf_text(card_pdf) and "13812345678" in pdf_text(
        card_pdf
    )  # stays in the centre
    accept(cf, case_no)
    routed = cf.json("slip", "issue", case_no, "--by", "吴芳")["documents"]
    routed += cf.json("letter", "issue", case_no, "--by", "吴芳")["documents"]
    assert len(routed) == 4
    for doc in routed:
        path = ws.root / doc["path"]
        text = pdf_text(path) if doc["format"] == "pdf" else docx_text(path)
        assert "欧阳保密" not in text and "欧阳" not in text.replace("欧**", ""), doc["path"]
        assert "13812345678" not in text and "138****5678" in text, doc["path"]
        assert "秘密路" not in text, doc["path"]


def test_scan_of_the_returned_slip_is_attached(cf, ws, tmp_path):
    case_no = register(cf)
    accept(cf, case_no)
    slip = cf.json("slip", "issue", case_no, "--by", "吴芳")
    scan = paths(ws, slip, "pdf")[0]
    result = cf.json(
        "slip",
        "return",
        case_no,
        *RETURN_ARGS,
        "--customer-signed",
        "--scan",
        str(scan),
        "--by",
        "李明",
        "--at",
        "2026-11-18T16:00:00+08:00",
    )
    [attachment] = result["case"]["attachments"]
    assert attachment["kind"] == "scan" and attachment["form"] == "feedback_slip"
    assert attachment["pages"] == pdf_page_count(scan)
    assert (ws.root / attachment["path"]).read_bytes() == scan.read_bytes()


def test_overdue_cases_are_listed(cf):
    late = register(cf)  # received 2026-11-16, due 2026-11-19: overdue today
    accept(cf, late)
    done = register(cf)
    accept(cf, done)
    cf.json(
        "slip",
        "return",
        done,
        *RETURN_ARGS,
        "--customer-signed",
        "--by",
        "李明",
        "--at",
        "2026-11-18T16:00:00+08:00",
    )
    # Called back in time: a resolved case not called back would be overdue for its call-back.
    cf.json("case", "callback", done, "--satisfaction", "满意", "--at", "2026-11-19 10:00")
    fresh = register(cf, received_at=None)  # received now: not yet due
    overdue = [c["case_no"] for c in cf.json("case", "list", "--overdue")]
    assert late in overdue and done not in overdue and fresh not in overdue
    assert cf.json("case", "show", late)["overdue"] is True
    assert cf.json("case", "show", done)["overdue"] is False


# -- refusals: exit 1, nothing changed, nothing logged ------------------------------------------------
def assert_refused(cf, ws, case_no, args, expect):
    before_files = snapshot(ws)
    before_show = cf.json("case", "show", case_no)
    before_history = cf.json("case", "history", case_no)
    result = cf(*args)
    assert result.exit_code == 1, (args, result.stdout, result.stderr)
    assert expect in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert cf.json("case", "show", case_no) == before_show
    assert cf.json("case", "history", case_no) == before_history
    assert snapshot(ws) == before_files


def test_steps_out_of_order_are_refused(cf, ws):
    case_no = register(cf)
    by = ("--by", "吴芳")
    assert_refused(
        cf,
        ws,
        case_no,
        ("slip", "return", case_no, *RETURN_ARGS, "--customer-signed", *by),
        "cannot record the returned slip a case that is registered",
    )
    assert_refused(cf, ws, case_no, ("slip", "issue", case_no, *by), "assigned to a department")
    accept(cf, case_no)
    assert_refused(
        cf,
        ws,
        case_no,
        ("case", "callback", case_no, "--satisfaction", "满意", *by),
        "cannot call back",
    )
    assert_refused(
        cf, ws, case_no, ("case", "accept", case_no, "--department", "SVC", *by), "cannot accept"
    )
    cf.json(
        "slip",
        "return",
        case_no,
        *RETURN_ARGS,
        "--customer-signed",
        *by,
        "--at",
        "2026-11-18T16:00:00+08:00",
    )
    assert_refused(
        cf,
        ws,
        case_no,
        ("case", "close", case_no, "--summary", "x", *by),
        "call the complainant back before closing",
    )
    assert_refused(
        cf, ws, case_no, ("case", "reopen", case_no, "--reason", "x", *by), "cannot reopen"
    )


def test_bad_values_and_times_are_refused(cf, ws):
    case_no = register(cf)
    by = ("--by", "吴芳")
    assert_refused(
        cf,
        ws,
        case_no,
        ("case", "accept", case_no, "--department", "火星部", *by),
        "unknown department",
    )
    assert_refused(
        cf,
        ws,
        case_no,
        ("case", "accept", case_no, "--department", "SVC", "--at", "2999-01-01 10:00", *by),
        "is in the future",
    )
    assert_refused(
        cf,
        ws,
        case_no,
        ("case", "accept", case_no, "--department", "SVC", "--at", "2026-11-16 08:00", *by),
        "before the previous step",
    )
    assert_refused(
        cf,
        ws,
        case_no,
        ("case", "accept", case_no, "--department", "SVC", "--handler", "孙丽", *by),
        "孙丽 belongs to SAL",
    )
    accept(cf, case_no)
    cf.json(
        "slip",
        "return",
        case_no,
        *RETURN_ARGS,
        "--customer-signed",
        *by,
        "--at",
        "2026-11-18T16:00:00+08:00",
    )
    assert_refused(
        cf,
        ws,
        case_no,
        ("case", "callback", case_no, "--satisfaction", "还行", *by),
        "unknown value '还行'",
    )
    assert_refused(
        cf,
        ws,
        case_no,
        ("case", "callback", case_no, "--satisfaction", "满意", "--at", "2026-11-18 15:00", *by),
        "before the previous step",
    )


def test_a_signed_off_case_refuses_every_change(cf, ws, tmp_path):
    from .test_ledger import CLOSED

    signed = {
        **CLOSED,
        "signoff": {"by": "赵敏", "at": "2025-10-12T10:00:00+08:00"},
        "status": "signed_off",
    }
    source = tmp_path / "ledger.json"
    source.write_text(json.dumps([signed], ensure_ascii=False), encoding="utf-8")
    cf.json("case", "import", str(source))
    case_no = "TS-2025-000042"
    by = ("--by", "吴芳")
    for args in (
        ("case", "reopen", case_no, "--reason", "x", *by),
        ("case", "close", case_no, "--summary", "x", *by),
        ("case", "callback", case_no, "--satisfaction", "满意", *by),
        ("case", "accept", case_no, "--department", "SVC", *by),
        ("form", "render", "record_card", case_no),
    ):
        expect = "signed off" if args[0] == "form" else "a signed-off case can no longer be changed"
        assert_refused(cf, ws, case_no, args, expect)


def test_return_needs_an_explicit_signature_answer(cf):
    case_no = register(cf)
    accept(cf, case_no)
    result = cf("slip", "return", case_no, *RETURN_ARGS, "--by", "李明")
    assert result.exit_code == 2 and "--customer-signed or --no-customer-signed" in result.stderr
