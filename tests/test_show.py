"""`case show` prints every recorded field under its label (issue 13, DESIGN.md section 13):
Chinese labels in zh-CN, English in en; a field the label table does not know is still shown,
under its dotted key; --json is the record as stored plus `overdue`."""

from __future__ import annotations

import copy

import pytest

from complaintforms import i18n
from complaintforms.cli.display import case_text, width

from .test_procedure import RETURN_ARGS
from .test_register import FULL_CASE, new_case

ZH = {"COMPLAINTFORMS_LANG": "zh-CN"}
EN = {"COMPLAINTFORMS_LANG": "en"}

# A record with every section filled, each free text a token of its own, and fields other
# engineers are adding (amendments, void, callback.reached, closure.penalties,
# handling.compensation, extensions, first_receiver, complainant_count) and some no one has.
RECORD = {
    "case_no": "TS-2026-000042",
    "status": "closed",
    "kind": "complaint",
    "channel": "phone",
    "received_at": "2026-11-16T09:30:00+08:00",
    "recorded_at": "2026-11-16T09:35:00+08:00",
    "recorded_by": "吴芳",
    "late_entry": True,
    "first_receiver": "值班员甲",
    "complainant_count": 3,
    "complainant": {
        "name": "投诉人乙",
        "phone": "138 0000 4242",
        "address": "地址丙路 1 号",
        "anonymous": False,
        "confidential": True,
    },
    "target": {"type": "staff", "department": "SVC", "staff": "李明"},
    "category": "服务态度",
    "severity": "major",
    "content": "内容丁\n第二行戊",
    "demand": "要求己",
    "extra": {"plate": "浙A·42424", "legacy_ref": "旧编号庚"},
    "decision": {
        "accepted": True,
        "by": "受理人辛",
        "at": "2026-11-16T10:00:00+08:00",
        "reason": None,
        "validity": "valid",
    },
    "assignment": {"department": "SVC", "handler": "经办壬", "due": "2026-11-19", "special": True},
    "extensions": [{"days": 2, "by": "赵敏", "reason": "延期理由癸"}],
    "handling": {
        "findings": "调查甲一",
        "cause": "原因甲二",
        "responsible": "责任甲三",
        "plan": "方案甲四",
        "approved_by": "批示甲五",
        "approved_at": "2026-11-17T11:00:00+08:00",
        "notified_at": "2026-11-17T12:00:00+08:00",
        "result": "结果甲六",
        "customer_signed": False,
        "resolved_at": "2026-11-18T16:00:00+08:00",
        "compensation": 350,
    },
    "callback": {
        "at": "2026-11-19T09:00:00+08:00",
        "by": "回访甲七",
        "satisfaction": "basically_satisfied",
        "note": "备注甲八",
        "reached": True,
    },
    "closure": {
        "at": "2026-11-19T10:00:00+08:00",
        "by": "赵敏",
        "summary": "小结甲九",
        "cause": "查明乙一",
        "measures": "措施乙二",
        "penalty": None,
        "penalties": [
            {"kind": "warning", "person": "受罚乙三", "amount": 400},
            {"kind": "minor_demerit", "person": "受罚乙四", "amount": 800},
        ],
    },
    "signoff": {"by": "审核乙五", "at": "2026-11-20T09:00:00+08:00"},
    "archive": {"bundle": "archive/2026/Q4/bundle-乙六.zip", "sha256": "ab" * 32, "at": None},
    "documents": [
        {
            "form": "record_card",
            "format": "pdf",
            "path": "records/documents/2026/TS-2026-000042/record_card-000007.pdf",
            "sha256": "cd" * 32,
            "generated_at": "2026-11-16T09:35:00+08:00",
            "serial": 7,
        }
    ],
    "attachments": [
        {
            "kind": "scan",
            "form": "feedback_slip",
            "path": "records/scans/2026/TS-2026-000042/slip-乙七.pdf",
            "sha256": "ef" * 32,
            "pages": 2,
            "received_at": "2026-11-18T17:00:00+08:00",
        }
    ],
    "amendments": [
        {
            "at": "2026-11-16T11:00:00+08:00",
            "by": "吴芳",
            "reason": "更正理由乙八",
            "before": {"complainant.phone": "138 0000 0000"},
            "after": {"complainant.phone": "138 0000 4242"},
        }
    ],
    "void": None,
    "reopens": [
        {
            "at": "2026-11-18T18:00:00+08:00",
            "by": "吴芳",
            "reason": "重开理由乙九",
            "handling": {"findings": "首轮调查丙一", "result": "首轮结果丙二", "cause": None},
            "callback": {"at": "2026-11-18T17:30:00+08:00", "satisfaction": "dissatisfied"},
            "closure": {"summary": None},
            "due": "2026-11-18",
        }
    ],
    "nobody_knows_this": {"inner": "未知值丙三", "flag": True},
    "overdue": False,
}

TOKENS = [
    "TS-2026-000042",
    "值班员甲",
    "投诉人乙",
    "138 0000 4242",
    "地址丙路 1 号",
    "李明",
    "内容丁",
    "第二行戊",
    "要求己",
    "浙A·42424",
    "旧编号庚",
    "受理人辛",
    "经办壬",
    "2026-11-19",
    "延期理由癸",
    "调查甲一",
    "原因甲二",
    "责任甲三",
    "方案甲四",
    "批示甲五",
    "结果甲六",
    "350",
    "回访甲七",
    "备注甲八",
    "小结甲九",
    "查明乙一",
    "措施乙二",
    "受罚乙三",
    "受罚乙四",
    "审核乙五",
    "bundle-乙六.zip",
    "ab" * 32,
    "record_card-000007.pdf",
    "cd" * 32,
    "slip-乙七.pdf",
    "更正理由乙八",
    "重开理由乙九",
    "首轮调查丙一",
    "首轮结果丙二",
    "未知值丙三",
    # times as shown everywhere
    "2026-11-16 09:30",
    "2026-11-16 09:35",
    "2026-11-17 11:00",
    "2026-11-17 12:00",
    "2026-11-18 16:00",
    "2026-11-20 09:00",
    "2026-11-18 18:00",
]


@pytest.fixture
def zh():
    i18n.set_language("zh-CN")
    yield
    i18n.set_language("en")


def test_every_recorded_value_is_shown(ws, zh):
    text = case_text(copy.deepcopy(RECORD), ws.config)
    for token in TOKENS:
        assert token in text, token


def test_known_fields_under_chinese_labels(ws, zh):
    text = case_text(copy.deepcopy(RECORD), ws.config)
    for label in (
        "投诉时间",
        "记录时间",
        "首问负责人",
        "投诉人数",
        "投诉人",
        "姓名",
        "联系电话",
        "联系地址",
        "要求保密",
        "投诉对象",
        "被投诉部门",
        "被投诉业务代表",
        "投诉内容",
        "投诉要求",
        "车牌号",  # the configured label of the extra field
        "受理判定",
        "有效性",
        "责任部门",
        "受理负责人",
        "处理时限",
        "特殊情况",
        "延期",
        "处理情况",
        "调查情况",
        "原因分析",
        "责任人",
        "处理方案",
        "批示人",
        "批示时间",
        "告知客户时间",
        "处理结果",
        "投诉人签字确认",
        "否（投诉人未签字）",
        "处理完成时间",
        "赔偿金额",
        "回访",
        "满意度",
        "联系上投诉人",
        "备注",
        "结案",
        "结案小结",
        "查明原因",
        "改进措施",
        "处罚类型",
        "审核",
        "归档包",
        "文书",
        "附件",
        "更正记录",
        "此前各轮处理（重新处理）",
    ):
        assert label in text, label
    # Codes as their labels, departments by name.
    for shown in ("已结案 (closed)", "来电", "对业务代表", "重大", "有效", "基本满意", "不满意"):
        assert shown in text, shown
    assert "警告" in text and "小过" in text
    assert "售后服务部 (SVC)" in text
    # Nothing empty is shown: no "void" row (None), no bare label of archive.at.
    assert "作废" not in text


def test_unknown_fields_are_shown_under_their_dotted_keys(ws, zh):
    text = case_text(copy.deepcopy(RECORD), ws.config)
    assert "nobody_knows_this" in text and "未知值丙三" in text
    assert "extra.legacy_ref" in text  # an extra field the config does not name
    # Inside a part of the record, known keys keep their labels.
    row = next(line for line in text.splitlines() if "138 0000 0000" in line)
    assert row.split()[0] == "联系电话"
    assert "更正前" in text and "更正后" in text
    lines = text.splitlines()
    row = next(line for line in lines if "旧编号庚" in line)
    assert row.split()[0] == "extra.legacy_ref"


def test_a_value_of_several_lines_keeps_its_lines_aligned(ws, zh):
    lines = case_text(copy.deepcopy(RECORD), ws.config).splitlines()
    first = next(i for i, line in enumerate(lines) if "内容丁" in line)
    assert lines[first + 1].strip() == "第二行戊"
    second = lines[first + 1]
    assert width(second[: second.index("第二行戊")]) == width(
        lines[first][: lines[first].index("内容丁")]
    )


def test_english_labels_in_english(ws):
    text = case_text(copy.deepcopy(RECORD), ws.config)
    for label in ("received", "complainant", "findings", "complainant signed", "penalties"):
        assert label in text, label
    assert "no (投诉人未签字)" in text and "basically satisfied" in text


def test_case_show_through_the_procedure_in_chinese_and_json_unchanged(cf, ws):
    case_no = new_case(
        cf, {**FULL_CASE, "complainant": {**FULL_CASE["complainant"], "confidential": True}}
    )["case_no"]
    at = ("--at", "2026-11-16 10:00")
    cf.json("case", "accept", case_no, "--department", "SVC", "--by", "吴芳", *at)
    cf.json(
        "slip",
        "return",
        case_no,
        *RETURN_ARGS,
        "--customer-signed",
        "--by",
        "李明",
        "--at",
        "2026-11-18 16:00",
    )
    cf.json("case", "callback", case_no, "--satisfaction", "满意", "--by", "吴芳")
    shown = cf("case", "show", case_no, env=ZH)
    assert shown.exit_code == 0, shown.stderr
    text = shown.stdout
    for expected in (
        "联系地址",
        "杭州市 <西湖区> & 文三路",
        "要求保密",
        "调查情况",
        "核实属实，刹车片安装不到位",
        "原因分析",
        "安装失误",
        "责任人",
        "张伟",
        "处理方案",
        "免费重新安装",
        "是（投诉人已签字）",
        "车牌号",
        "浙A·12345",
        "满意度",
        "文书",
        "record_card",
    ):
        assert expected in text, expected
    english = cf("case", "show", case_no, env=EN).stdout
    assert "findings" in english and "address" in english and "调查情况" not in english
    # --json: the record as stored, plus overdue.
    data = cf.json("case", "show", case_no)
    stored = ws.store.get(case_no)
    assert {k: v for k, v in data.items() if k != "overdue"} == stored
    assert isinstance(data["overdue"], bool)
