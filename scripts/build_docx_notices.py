"""Regenerate the Word templates of the reminder and supervision notices (催办通知书 /
督办通知书) in forms/ from code, with the helpers of build_docx_templates.py.

    python scripts/build_docx_notices.py [reminder_notice] [supervision_notice]

Each mirrors its HTML counterpart (forms/<form>.html): the same fields, the same wording.
Only these two files are written.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from build_docx_templates import (  # noqa: E402
    FORMS,
    HEAD_FONT,
    anchor_line,
    base_document,
    footer_block,
    header_block,
    para,
    register_table,
    set_col_widths,
    set_run_font,
    shade,
    sign_line,
    tag_para,
    text_width,
)
from docx.document import Document  # noqa: E402
from docx.enum.table import WD_ROW_HEIGHT_RULE  # noqa: E402
from docx.enum.text import WD_ALIGN_PARAGRAPH  # noqa: E402
from docx.shared import Mm, Pt  # noqa: E402

TO = "致：{{ notice.to }}{% if notice.head %}（负责人：{{ notice.head }}）{% endif %}"
UNROUTED = "{% if notice.unrouted %}尚未受理分派的，请即作出受理判定并分派责任部门。{% endif %}"
HEADERS = ["序号", "编号", "受理日期", "类别", "处理时限", "{column}", "承办人", "备注"]
# 180 mm between the margins of portrait A4
WIDTHS = [9, 27, 25.5, 16, 25.5, 19, 15, 43]


def request(doc, text: str) -> None:
    p = para(doc, text)
    p.paragraph_format.first_line_indent = Pt(21)
    p.paragraph_format.space_after = Mm(1.5)
    p.paragraph_format.line_spacing = 1.3


def notice_document(intro: list[str], column: str, days: str) -> Document:
    doc = base_document()
    header_block(doc, "{{ period }}")
    p = para(doc, TO, size=11.5)
    p.paragraph_format.space_before = Mm(1)
    p.paragraph_format.space_after = Mm(1.5)
    for text in intro:
        if text.startswith("{%p"):
            tag_para(doc, text)
        else:
            request(doc, text)
    register_table(
        doc,
        [h.format(column=column) for h in HEADERS],
        [
            "{{ r.no }}",
            "{{ r.case_no }}",
            "{{ r.received }}",
            "{{ r.category }}",
            "{{ r.due }}",
            days,
            "{{ r.handler }}",
            "{{ r.note }}",
        ],
        WIDTHS,
        size=9,
    )
    tag_para(doc, "{%p if notice.cc %}")
    cc = para(doc, "抄送：{{ notice.cc }}")
    cc.paragraph_format.space_before = Mm(2)
    tag_para(doc, "{%p endif %}")
    for n, text in enumerate(("{{ org.unit }}（盖章）", "{{ notice.as_of }}")):
        issuer = para(doc, text, align=WD_ALIGN_PARAGRAPH.RIGHT)
        if n == 0:
            issuer.paragraph_format.space_before = Mm(4)
    para(doc).paragraph_format.space_before = Mm(1.5)
    feedback = doc.add_table(rows=1, cols=2)
    feedback.style = "Table Grid"
    label, _blank = feedback.rows[0].cells
    set_run_font(label.paragraphs[0].add_run("办理情况反馈"), HEAD_FONT)
    shade(label)
    feedback.rows[0].height = Mm(16)
    feedback.rows[0].height_rule = WD_ROW_HEIGHT_RULE.AT_LEAST
    set_col_widths(feedback, (Mm(26), text_width(doc) - Mm(26)))
    sign_line(doc, "部门负责人签收", "签收日期")
    anchor_line(doc)
    footer_block(doc, "{{ period }}", compiled=True)
    return doc


def reminder_notice() -> Document:
    return notice_document(
        [
            "截至 {{ notice.as_of }}，下列 {{ notice.count }} 件投诉的处理时限即将届满，尚未办结"
            "反馈。依据《客户投诉管理制度》，特此催办。",
            "请于各案处理时限前办结，将处理结果填入《三来处理反馈单》，经投诉人签字确认后送回"
            "{{ notice.unit }}；确因特殊原因需要延期的，请于时限届满前提出延期申请，经批准后方可"
            "延期。" + UNROUTED,
        ],
        "剩余时间",
        "{{ r.left }}",
    )


def supervision_notice() -> Document:
    return notice_document(
        [
            "截至 {{ notice.as_of }}，下列 {{ notice.count }} 件投诉已超过处理时限，尚未办结"
            "反馈。依据《客户投诉管理制度》，现予督办。",
            "请接到本通知后立即组织处理，于 {{ notice.reply_by }} 前办结，将处理结果填入《三来"
            "处理反馈单》，经投诉人签字确认后送回{{ notice.unit }}；确因特殊原因不能办结的，请于"
            "同日前书面说明原因及预计办结时间。" + UNROUTED,
            "{%p if notice.escalated %}",
            "其中逾期超过 {{ notice.escalate_after }} 个工作日的 {{ notice.escalated }} 件"
            "{% if notice.cc %}已抄送{{ notice.cc }}{% endif %}，请优先办理（见备注）。",
            "{%p endif %}",
        ],
        "逾期工作日",
        "{{ r.days }}",
    )


TEMPLATES = {"reminder_notice": reminder_notice, "supervision_notice": supervision_notice}


def main(argv: list[str]) -> int:
    for name in argv or list(TEMPLATES):
        path = FORMS / f"{name}.docx"
        TEMPLATES[name]().save(path)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
