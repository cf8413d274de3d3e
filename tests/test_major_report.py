"""The 重大投诉呈报单 (DESIGN.md section 13): a major case reported to escalation.major_to,
read back from its PDF and docx; what it refuses; when a case becomes major."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from complaintforms.documents.forms import build_context, get_form, major_view
from complaintforms.documents.qrcode import parse_payload, verify
from complaintforms.documents.render import RendererSet, render_all
from complaintforms.errors import StateError, ValidationError
from complaintforms.services.major import became_major, issue_major_report
from complaintforms.workspace import Workspace

from .conftest import docx_text, pdf_fonts, pdf_page_count, pdf_qr_codes, pdf_text, snapshot
from .pdfcheck import pdf_problems
from .test_register import FULL_CASE, new_case

MAJOR_CASE = {
    **FULL_CASE,
    "complainant": {
        "name": "欧阳保密",
        "phone": "13812345678",
        "address": "杭州市秘密路 9 号",
        "confidential": True,
    },
    "target": {"type": "department", "department": "SVC"},
    "category": "维修质量",
    "severity": "重大",
    "content": "车辆保养后刹车异响，客户在店内与工作人员发生争执，并将视频发布到网上。",
    "demand": "退还保养费并书面道歉",
}
REASON = "客户将争执视频发布到网上，播放量已超过十万；事发时与维修技师发生激烈争吵。"
IMPACT = "多家本地媒体来电询问，同小区车主在业主群中转发。"


def flat(text: str) -> str:
    """PDF text without the spaces of letter-spaced titles and line breaks."""
    return "".join(text.split())


def files(ws: Workspace, documents: list[dict], fmt: str) -> list[Path]:
    return [
        ws.local_path(d["path"])
        for d in documents
        if d["form"] == "major_report" and d["format"] == fmt
    ]


def accept(cf, case_no: str) -> None:
    cf.json(
        "case", "accept", case_no, "--department", "SVC", "--handler", "李明",
        "--by", "吴芳", "--at", "2026-11-16T10:00:00+08:00",
    )  # fmt: skip


# -- the form read back -----------------------------------------------------------------------------
def test_the_report_of_an_assigned_major_case(cf, ws):
    case_no = new_case(cf, MAJOR_CASE)["case_no"]
    accept(cf, case_no)
    result = issue_major_report(ws, case_no, by="吴芳", reason=REASON, impact=IMPACT)

    pdf, docx = files(ws, result.documents, "pdf"), files(ws, result.documents, "docx")
    assert len(pdf) == 1 and len(docx) == 1
    assert {(d["form"], d["format"]) for d in result.case["documents"]} >= {
        ("major_report", "pdf"),
        ("major_report", "docx"),
    }
    text = flat(pdf_text(pdf[0]))
    for expected in (
        "重大投诉呈报单",
        "KF-10",
        case_no,
        "示例汽车销售服务有限公司",
        "呈报对象总经理",
        "呈报部门客户服务中心",
        "呈报人吴芳",
        "欧***",  # confidential: masked as on the forms that leave the centre
        "138****5678",
        "要求保密",
        "2026年11月16日09:30",
        "来访",
        "对部门售后服务部",
        "维修质量",
        flat(MAJOR_CASE["content"]),
        MAJOR_CASE["demand"],
        REASON,
        IMPACT,
        # the proposed handling: the routing, with names, never codes, and a Chinese date
        "由售后服务部（负责人王强）负责调查处理，受理负责人李明，于2026年11月19日前办结",
        "领导批示",
        "签字",
        "日期",
        "第1页/共1页",
    ):
        assert expected in text, expected
    for secret in ("欧阳保密", "13812345678", "秘密路"):
        assert secret not in text
    assert "媒体或网络曝光" not in text  # the reason was given: no boxes to tick
    assert pdf_page_count(pdf[0]) == 1  # an ordinary case fits on one page

    codes = pdf_qr_codes(pdf[0])
    assert len(codes) == 1
    ref = parse_payload(codes[0])
    verify(ws, ref)
    serial = next(d["serial"] for d in result.documents)
    assert (ref.case_no, ref.form, ref.serial) == (case_no, "major_report", serial)

    assert pdf_problems(pdf[0]) == []  # qpdf --check, poppler, fonts embedded, PDF/A
    fonts = pdf_fonts(pdf[0])
    assert fonts and all(fonts.values()), fonts

    word = flat(docx_text(docx[0]))
    for expected in ("重大投诉呈报单", case_no, "总经理", "欧***", "售后服务部", "李明", REASON):
        assert expected in word, expected
    assert "欧阳保密" not in word and "13812345678" not in word
    assert "{{" not in word and "{%" not in word

    history = cf.json("case", "history", case_no)
    event = history[-1]
    assert (event["action"], event["by"]) == ("major.report", "吴芳")


def test_the_report_goes_to_the_configured_person_and_leaves_boxes_for_hand(cf, ws):
    config = ws.root / "complaintforms.yaml"
    config.write_text(
        config.read_text(encoding="utf-8") + "\nescalation: {major_to: 董事长}\n", encoding="utf-8"
    )
    case_no = new_case(cf, MAJOR_CASE)["case_no"]  # registered, not yet routed
    fresh = Workspace.open(ws.root)
    result = issue_major_report(fresh, case_no, by="吴芳")
    text = flat(pdf_text(files(fresh, result.documents, "pdf")[0]))
    assert "呈报对象董事长" in text and "总经理" not in text
    # No reason given: the grounds to tick; no routing yet: the proposal left for hand.
    for expected in ("媒体或网络曝光", "与客户发生冲突", "社会影响面广", "影响情况", "拟处理意见"):
        assert expected in text, expected
    assert "负责调查处理" not in text
    word = flat(docx_text(files(fresh, result.documents, "docx")[0]))
    assert "董事长" in word and "□媒体或网络曝光" in word and "负责调查处理" not in word


def test_a_group_complaint_prints_its_count_only_when_there_are_several(ws, cf):
    """complainant_count > 1 is printed (群体投诉 from the threshold on); one complainant
    prints no count row, in the PDF and the docx alike."""
    case_no = new_case(cf, MAJOR_CASE)["case_no"]
    stored = ws.store.get(case_no)
    spec = get_form("major_report", ws.config)
    renderers = RendererSet(ws.forms_dir)
    for count, shown in ((None, None), (1, None), (3, "3人"), (6, "6人群体投诉")):
        case = {**stored, "complainant_count": count}
        major = major_view(case, ws.config, by="吴芳", date="2026-11-16")
        context = build_context(
            spec,
            case,
            ws.config,
            qr="CF1|x|y|major_report|1|0",
            serial=1,
            generated_at="2026-11-16T11:00:00+08:00",
            extra={"major": major},
        )
        out = render_all(renderers, spec, context, ("pdf", "docx"))
        pdf, docx = ws.root / "r.pdf", ws.root / "r.docx"
        pdf.write_bytes(out["pdf"])
        docx.write_bytes(out["docx"])
        for text in (flat(pdf_text(pdf)), flat(docx_text(docx))):
            assert "2026年11月16日" in text
            if shown is None:
                assert "投诉人数" not in text, count
            else:
                assert f"投诉人数{shown}" in text.replace("（", "").replace("）", ""), count
                assert ("群体投诉" in text) == (count >= 5)


# -- refusals ---------------------------------------------------------------------------------------
def test_a_case_that_is_not_major_is_refused_and_nothing_is_stored(cf, ws):
    case_no = new_case(cf, {**MAJOR_CASE, "severity": "一般"})["case_no"]
    before = snapshot(ws)
    with pytest.raises(StateError) as err:
        issue_major_report(ws, case_no, by="吴芳")
    message = str(err.value)
    assert "\n" not in message and case_no in message and "major" in message
    assert snapshot(ws) == before


def test_a_signed_off_case_is_refused(cf, ws):
    from .test_paper import closed_case

    case_no = closed_case(cf, severity="重大")
    cf.json("case", "signoff", case_no, "--by", "赵敏")
    before = snapshot(ws)
    with pytest.raises(StateError) as err:
        issue_major_report(ws, case_no, by="吴芳")
    assert "已审核" in str(err.value) and "\n" not in str(err.value)
    assert snapshot(ws) == before


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"by": ""}, "by"),
        ({"by": "吴芳", "reason": "x" * 2001}, "reason"),
        ({"by": "吴芳", "impact": "\x07"}, "impact"),
    ],
)
def test_bad_values_are_refused_naming_the_field(cf, ws, values, field):
    case_no = new_case(cf, MAJOR_CASE)["case_no"]
    before = snapshot(ws)
    with pytest.raises(ValidationError) as err:
        issue_major_report(ws, case_no, **values)
    assert err.value.field == field
    assert snapshot(ws) == before


def test_the_refusal_reads_in_chinese(cf):
    case_no = new_case(cf, {**MAJOR_CASE, "severity": "一般"})["case_no"]
    import gettext

    from complaintforms.i18n import DOMAIN, LOCALE_DIR

    _ = gettext.translation(DOMAIN, LOCALE_DIR, languages=["zh_CN"]).gettext
    with pytest.raises(StateError) as err:
        issue_major_report(cf.ws, case_no, by="吴芳")
    assert err.value.render(_) == f"{case_no}：投诉程度为“一般”；重大投诉呈报单只为重大投诉出具"


def test_forms_check_passes_with_the_major_report(cf):
    result = cf("forms", "check")
    assert result.exit_code == 0, result.output


# -- when a case becomes major ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (None, "major", True),  # registered as major
        (None, "general", False),
        ("general", "major", True),  # made major at acceptance or amendment
        ("major", "major", False),  # already reported
        ("major", "general", False),
        ("general", "general", False),
        (None, None, False),
        ("none", "major", True),  # before without a severity
    ],
)
def test_became_major(before, after, expected):
    old = None if before is None else ({} if before == "none" else {"severity": before})
    assert became_major(old, {"severity": after}) is expected


def test_json_of_the_step_result(cf, ws):
    case_no = new_case(cf, MAJOR_CASE)["case_no"]
    result = issue_major_report(ws, case_no, by="吴芳", formats=("pdf",))
    out = json.loads(json.dumps(result.as_dict(), ensure_ascii=False))
    assert [d["format"] for d in out["documents"]] == ["pdf"]
    assert out["case"]["status"] == "registered"
