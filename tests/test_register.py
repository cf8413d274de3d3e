"""Registering a complaint: round trip of every field, and the record card read back."""

from __future__ import annotations

import json

import pytest

from complaintforms.documents.qrcode import parse_payload, verify

from .conftest import (
    docx_images,
    docx_text,
    pdf_fonts,
    pdf_page_count,
    pdf_qr_codes,
    pdf_text,
    snapshot,
)

TRICKY_NAME = "李&赵<合伙人>\"引\"'单' 𠮷喆堃 😀"
TRICKY_CONTENT = (
    "A&B <b>粗</b> \"双引号\" '单引号' 𠮷野家 喆 堃 😀🚗\n第二行 {{ not_a_tag }} {% raw %}"
)

FULL_CASE = {
    "kind": "投诉",
    "channel": "来访",
    "received_at": "2026-11-16T09:30:00+08:00",
    "recorded_by": "吴芳",
    "complainant": {
        "name": TRICKY_NAME,
        "phone": "13812345678",
        "address": "杭州市 <西湖区> & 文三路",
        "anonymous": False,
        "confidential": False,
    },
    "target": {"type": "staff", "staff": "李明"},
    "category": "服务态度",
    "severity": "重大",
    "content": TRICKY_CONTENT,
    "demand": "道歉 & 赔偿 <100元>",
    "extra": {"plate": "浙A·12345"},
}


def new_case(cf, data: dict) -> dict:
    return cf.json("case", "new", "--from", "-", input=json.dumps(data, ensure_ascii=False))


def test_round_trip_of_every_field(cf):
    case = new_case(cf, FULL_CASE)
    shown = cf.json("case", "show", case["case_no"])
    assert shown == case
    assert shown["case_no"] == "TS-2026-000001"
    assert shown["status"] == "registered"
    assert (
        shown["kind"] == "complaint"
        and shown["channel"] == "visit"
        and shown["severity"] == "major"
    )
    assert shown["received_at"] == "2026-11-16T09:30:00+08:00"
    assert shown["late_entry"] is True  # recorded after the day it was received
    assert shown["complainant"] == FULL_CASE["complainant"]
    assert shown["target"] == {"type": "staff", "department": "SVC", "staff": "李明"}
    assert shown["content"] == TRICKY_CONTENT
    assert shown["demand"] == FULL_CASE["demand"]
    assert shown["extra"] == {"plate": "浙A·12345"}
    for key in ("decision", "assignment", "handling", "callback", "closure", "signoff", "archive"):
        assert all(v in (None, []) for v in shown[key].values()), key
    assert shown["overdue"] is True  # received 2026-11-16, 3 working days
    # A major case (FULL_CASE is 重大) is reported up the line when it is registered.
    assert {(d["form"], d["format"]) for d in shown["documents"]} == {
        ("record_card", "pdf"),
        ("record_card", "docx"),
        ("major_report", "pdf"),
        ("major_report", "docx"),
    }
    assert shown["attachments"] == []


def test_design_keys_are_present(cf):
    case = new_case(cf, FULL_CASE)
    keys = (
        "case_no status kind channel received_at recorded_by late_entry complainant target category "
        "severity content demand decision assignment handling callback closure signoff archive "
        "documents attachments overdue"
    ).split()
    assert set(keys) <= set(case)
    assert set(case["handling"]) >= {
        "findings",
        "cause",
        "responsible",
        "plan",
        "approved_by",
        "approved_at",
        "notified_at",
        "result",
        "customer_signed",
        "resolved_at",
    }


def test_record_card_pdf_reads_back(cf, ws):
    case = new_case(cf, FULL_CASE)
    pdf = ws.root / next(d["path"] for d in case["documents"] if d["format"] == "pdf")
    text = pdf_text(pdf)
    assert "顾客投诉记录卡" in text.replace(" ", "")
    assert case["case_no"] in text
    for fragment in (
        TRICKY_NAME,
        "A&B <b>粗</b>",
        "\"双引号\" '单引号'",
        "𠮷野家 喆 堃 😀🚗",
        "{{ not_a_tag }}",
        "道歉 & 赔偿 <100元>",
        "浙A·12345",
        "13812345678",
        "补办记录",
        "KF-01",
    ):
        assert fragment in text, fragment
    fonts = pdf_fonts(pdf)
    assert fonts and all(fonts.values()), fonts
    assert any("CJK" in name for name in fonts)
    codes = pdf_qr_codes(pdf)
    assert len(codes) == 1
    ref = parse_payload(codes[0])
    assert (ref.case_no, ref.form, ref.workspace_id) == (
        case["case_no"],
        "record_card",
        ws.workspace_id,
    )
    verify(ws, ref)  # the check digits match this workspace


def test_record_card_docx_reads_back(cf, ws):
    case = new_case(cf, FULL_CASE)
    path = ws.root / next(d["path"] for d in case["documents"] if d["format"] == "docx")
    text = docx_text(path)
    for fragment in (
        case["case_no"],
        "顾客投诉记录卡",
        TRICKY_NAME,
        "A&B <b>粗</b>",
        "𠮷野家 喆 堃 😀🚗",
        "{{ not_a_tag }}",
        "道歉 & 赔偿 <100元>",
        "浙A·12345",
        "车牌号",
        "第二行",
        "（补办记录）",
    ):
        assert fragment in text, fragment
    assert "{{" not in text.replace("{{ not_a_tag }}", "")  # every tag was filled
    # The QR code image in the docx decodes to the same document as the PDF's.
    import io

    import zxingcpp
    from PIL import Image

    images = docx_images(path)
    assert len(images) == 1
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(images[0])))
    pdf = ws.root / next(d["path"] for d in case["documents"] if d["format"] == "pdf")
    assert [r.text for r in decoded] == pdf_qr_codes(pdf)


def test_documents_are_recorded_with_their_digest(cf, ws):
    import hashlib

    case = new_case(cf, FULL_CASE)
    for doc in case["documents"]:
        data = (ws.root / doc["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == doc["sha256"]
        assert doc["generated_at"].endswith("+08:00")


def test_long_content_breaks_onto_a_second_page(cf, ws):
    long = "\n".join(
        f"第{i}段：车辆维修后多次出现故障，客户多次来电反映，要求彻底解决。" * 2 for i in range(60)
    )
    case = new_case(cf, {**FULL_CASE, "content": long})
    pdf = ws.root / next(d["path"] for d in case["documents"] if d["format"] == "pdf")
    pages = pdf_page_count(pdf)
    assert pages >= 2
    text = pdf_text(pdf)
    assert f"第 1 页 / 共 {pages} 页" in text and f"第 {pages} 页 / 共 {pages} 页" in text
    assert "第59段" in text


def test_flags_register_the_same_as_a_file(cf):
    result = cf(
        "case",
        "new",
        "--channel",
        "phone",
        "--kind",
        "inquiry",
        "--by",
        "吴芳",
        "--name",
        "陈喆",
        "--phone",
        "139-0000-1111",
        "--department",
        "售后服务部",
        "--content",
        "保养套餐能否转让？",
        "--extra",
        "plate=浙B88888",
        "--at",
        "2026-11-20 10:00",
    )
    assert result.exit_code == 0, result.stderr
    case_no = result.stdout.splitlines()[0]
    shown = cf.json("case", "show", case_no)
    assert shown["target"] == {"type": "department", "department": "SVC", "staff": None}
    assert shown["kind"] == "inquiry" and shown["channel"] == "phone"
    assert shown["received_at"] == "2026-11-20T10:00:00+08:00"
    assert shown["extra"] == {"plate": "浙B88888"}


def test_numbers_follow_the_pattern_and_restart_each_year(cf):
    a = new_case(cf, {**FULL_CASE, "received_at": "2025-12-31T23:00:00+08:00"})
    b = new_case(cf, FULL_CASE)
    c = new_case(cf, FULL_CASE)
    assert [a["case_no"], b["case_no"], c["case_no"]] == [
        "TS-2025-000001",
        "TS-2026-000001",
        "TS-2026-000002",
    ]


def test_list_filters(cf):
    new_case(cf, FULL_CASE)
    new_case(
        cf, {**FULL_CASE, "received_at": "2026-08-03T10:00:00+08:00", "target": {"type": "company"}}
    )
    assert len(cf.json("case", "list")) == 2
    assert [c["received_at"][:7] for c in cf.json("case", "list", "--quarter", "2026Q3")] == [
        "2026-08"
    ]
    assert len(cf.json("case", "list", "--department", "SVC")) == 1
    assert len(cf.json("case", "list", "--status", "registered")) == 2
    assert len(cf.json("case", "list", "--overdue")) == 2
    assert cf.json("case", "list", "--status", "closed") == []


def test_history_records_the_registration(cf):
    case = new_case(cf, FULL_CASE)
    events = cf.json("case", "history", case["case_no"])
    assert [e["action"] for e in events] == ["case.new"]
    assert events[0]["by"] == "吴芳" and events[0]["after"]["content"] == TRICKY_CONTENT


def test_form_render_rerenders_with_a_new_serial(cf, ws):
    case = new_case(cf, FULL_CASE)
    result = cf("form", "render", "record_card", case["case_no"], "--format", "pdf,html")
    assert result.exit_code == 0, result.stderr
    shown = cf.json("case", "show", case["case_no"])
    cards = [d for d in shown["documents"] if d["form"] == "record_card"]
    assert len(cards) == 4
    serials = {d["serial"] for d in cards}
    assert len(serials) == 2
    html = next(d for d in shown["documents"] if d["format"] == "html")
    source = (ws.root / html["path"]).read_text(encoding="utf-8")
    assert 'lang="zh-CN"' in source
    assert "李&amp;赵&lt;合伙人&gt;" in source  # autoescaped


def test_form_render_all_in_batch(cf):
    for _ in range(3):
        new_case(cf, FULL_CASE)
    docs = cf.json("form", "render", "record_card", "--all", "--format", "pdf")
    assert len(docs) == 3 and {d["format"] for d in docs} == {"pdf"}


@pytest.mark.parametrize("value", ["来电", "phone"])
def test_enumerations_accept_codes_and_labels(cf, value):
    case = new_case(cf, {**FULL_CASE, "channel": value})
    assert case["channel"] == "phone"


def test_anonymous_complaint_needs_no_name(cf):
    data = {**FULL_CASE, "complainant": {"anonymous": True}}
    case = new_case(cf, data)
    assert case["complainant"]["name"] is None and case["complainant"]["anonymous"] is True


@pytest.mark.tinydb_files
def test_store_files_are_utf8_without_escapes(cf, ws):
    new_case(cf, FULL_CASE)
    raw = (ws.records_dir / "cases" / "2026-11.json").read_bytes()
    assert "喆".encode() in raw and b"\\u" not in raw
    assert snapshot(ws)  # sanity


def test_form_render_all_spreads_a_batch_over_worker_processes(cf, ws):
    numbers = [new_case(cf, FULL_CASE)["case_no"] for _ in range(9)]
    docs = cf.json(
        "form", "render", "record_card", "--all", "--format", "pdf,docx", "--workers", "2"
    )
    assert len(docs) == 18 and len({d["serial"] for d in docs}) == 9
    for case_no in numbers:
        shown = cf.json("case", "show", case_no)
        pdf = next(ws.root / d["path"] for d in shown["documents"][2:] if d["format"] == "pdf")
        assert parse_payload(pdf_qr_codes(pdf)[0]).case_no == case_no
        assert case_no in pdf_text(pdf)
    assert ws.store.verify_audit() == []
