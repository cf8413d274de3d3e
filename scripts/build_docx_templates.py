"""Regenerate the default Word templates in forms/ from code.

The .docx files are committed; an organisation edits its own copy in Word. Run this only to
change the defaults: python scripts/build_docx_templates.py
"""

from __future__ import annotations

import sys
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

FORMS = Path(__file__).resolve().parent.parent / "forms"
EAST_ASIA_FONT = "宋体"
HEAD_FONT = "黑体"


def set_run_font(
    run, east_asia: str = EAST_ASIA_FONT, size: float | None = None, bold: bool = False
):
    rpr = run._element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.append(fonts)
    fonts.set(qn("w:eastAsia"), east_asia)
    if size:
        run.font.size = Pt(size)
    run.bold = bold


def base_document() -> Document:
    doc = Document()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin = section.right_margin = Mm(15)
    section.top_margin, section.bottom_margin = Mm(15), Mm(18)
    style = doc.styles["Normal"]
    style.font.size = Pt(10.5)
    rpr = style.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.append(fonts)
    fonts.set(qn("w:eastAsia"), EAST_ASIA_FONT)
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), "zh-CN")
    lang.set(qn("w:eastAsia"), "zh-CN")
    rpr.append(lang)
    style.paragraph_format.space_after = Pt(0)
    return doc


def para(
    container,
    text: str = "",
    *,
    size: float | None = None,
    bold: bool = False,
    align=None,
    font=EAST_ASIA_FONT,
):
    p = container.add_paragraph()
    if text:
        set_run_font(p.add_run(text), font, size, bold)
    if align is not None:
        p.alignment = align
    return p


def add_field(paragraph, instr: str) -> None:
    """A Word field (PAGE, NUMPAGES) that Word and LibreOffice fill in when laying out."""
    run = paragraph.add_run()
    begin = OxmlElement("w:fldChar")
    begin.set(qn("w:fldCharType"), "begin")
    code = OxmlElement("w:instrText")
    code.set(qn("xml:space"), "preserve")
    code.text = f" {instr} "
    sep = OxmlElement("w:fldChar")
    sep.set(qn("w:fldCharType"), "separate")
    num = OxmlElement("w:t")
    num.text = "1"
    end = OxmlElement("w:fldChar")
    end.set(qn("w:fldCharType"), "end")
    for el in (begin, code, sep, num, end):
        run._element.append(el)


def shade(cell, fill: str = "F0F0F0") -> None:
    tcpr = cell._element.get_or_add_tcPr()
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    tcpr.append(shd)


def header_block(doc, ident: str = "编号 {{ case_no }}") -> None:
    table = doc.add_table(rows=1, cols=3)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    widths = (Mm(28), Mm(124), Mm(28))
    for cell, width in zip(table.rows[0].cells, widths, strict=True):
        cell.width = width
    middle = table.rows[0].cells[1]
    middle.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    set_run_font(middle.paragraphs[0].add_run("{{ org.name }} {{ org.unit }}"), size=11)
    para(
        middle,
        "{{ form.title }}",
        size=18,
        bold=True,
        align=WD_ALIGN_PARAGRAPH.CENTER,
        font=HEAD_FONT,
    )
    para(
        middle,
        "{{ form.code }} 第 {{ form.version }} 版 · " + ident,
        size=9,
        align=WD_ALIGN_PARAGRAPH.CENTER,
    )
    right = table.rows[0].cells[2]
    right.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    right.paragraphs[0].add_run("{{ qr }}")
    para(right, "文档 {{ serial }}", size=7, align=WD_ALIGN_PARAGRAPH.CENTER)


def footer_block(doc, ident: str = "{{ case_no }}") -> None:
    footer = doc.sections[0].footer
    p = footer.paragraphs[0]
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    set_run_font(p.add_run("{{ form.code }}　　第 "), size=9)
    add_field(p, "PAGE")
    set_run_font(p.add_run(" 页 / 共 "), size=9)
    add_field(p, "NUMPAGES")
    set_run_font(p.add_run(" 页　　" + ident), size=9)


def field_table(doc, rows: list[tuple]) -> None:
    """rows: (label, value) spanning, or (label, value, label, value)."""
    table = doc.add_table(rows=0, cols=4)
    table.style = "Table Grid"
    for row in rows:
        cells = table.add_row().cells
        if isinstance(row, str):  # a docxtpl row tag such as {%tr for ... %}
            merged = cells[0].merge(cells[3])
            merged.text = row
            continue
        if len(row) == 2:
            cells[1].merge(cells[3])
        for i, value in enumerate(row):
            cell = cells[i]
            set_run_font(
                cell.paragraphs[0].add_run(value), HEAD_FONT if i % 2 == 0 else EAST_ASIA_FONT
            )
            if i % 2 == 0:
                shade(cell)
    widths = (Mm(24), Mm(66), Mm(24), Mm(66))
    for row in table.rows:
        for cell, width in zip(row.cells, widths, strict=False):
            cell.width = width


def text_block(doc, title: str, value: str) -> None:
    table = doc.add_table(rows=2, cols=1)
    table.style = "Table Grid"
    shade(table.rows[0].cells[0])
    set_run_font(table.rows[0].cells[0].paragraphs[0].add_run(title), HEAD_FONT)
    set_run_font(table.rows[1].cells[0].paragraphs[0].add_run(value))


def record_card() -> Document:
    doc = base_document()
    header_block(doc)
    para(doc)
    field_table(
        doc,
        [
            (
                "投诉人",
                "{{ complainant.name }}{% if complainant.confidential %}（要求保密）{% endif %}",
                "联系电话",
                "{{ complainant.phone }}",
            ),
            ("投诉地址", "{{ complainant.address }}"),
            (
                "投诉时间",
                "{{ received_at }}{% if late_entry %}（补办记录）{% endif %}",
                "投诉方式",
                "{{ channel }}",
            ),
            ("投诉对象", "{{ target }}", "性质", "{{ kind }} · {{ severity }}"),
            ("投诉类别", "{{ category }}", "记录人", "{{ recorded_by }}"),
            "{%tr for item in extra %}",
            ("{{ item.label }}", "{{ item.value }}"),
            "{%tr endfor %}",
        ],
    )
    text_block(doc, "投诉内容", "{{ content }}")
    text_block(doc, "投诉要求", "{{ demand }}")
    para(doc)
    field_table(
        doc,
        [
            (
                "是否受理",
                "{% if decision.accepted %}{{ decision.accepted }}{% else %}□ 受理　　□ 不受理{% endif %}",
            ),
            ("不受理原因", "{{ decision.reason }}"),
            ("受理部门", "{{ decision.department }}", "受理负责人", "{{ decision.handler }}"),
            ("承诺答复时间", "{{ decision.due }}", "负责人签字", "{{ decision.by }}"),
        ],
    )
    para(doc, "负责人签字：________________　　日期：____________", align=WD_ALIGN_PARAGRAPH.RIGHT)
    para(doc, "打印时间 {{ generated_at }} · 文档序号 {{ serial }}", size=8)
    footer_block(doc)
    return doc


EXTRA_ROWS = [
    "{%tr for item in extra %}",
    ("{{ item.label }}", "{{ item.value }}"),
    "{%tr endfor %}",
]


def feedback_slip() -> Document:
    doc = base_document()
    header_block(doc)
    para(doc)
    field_table(
        doc,
        [
            ("投诉人", "{{ complainant.name }}", "联系电话", "{{ complainant.phone }}"),
            ("投诉时间", "{{ received_at }}", "投诉方式", "{{ channel }}"),
            (
                "投诉对象",
                "{{ target }}",
                "性质 / 类别",
                "{{ kind }} · {{ severity }} · {{ category }}",
            ),
            *EXTRA_ROWS,
        ],
    )
    text_block(doc, "投诉内容及要求", "{{ content }}{% if demand %}\n要求：{{ demand }}{% endif %}")
    field_table(
        doc,
        [
            (
                "责任部门",
                "{{ assignment.department }}（负责人 {{ assignment.head }}）",
                "受理负责人",
                "{{ assignment.handler }}",
            ),
            ("处理时限", "{{ assignment.due }} 前返回（{{ assignment.limit }}）"),
        ],
    )
    para(doc, "以下由责任部门填写", size=9)
    field_table(
        doc,
        [
            ("调查情况", "{{ handling.findings }}\n\n"),
            ("原因分析", "{{ handling.cause }}", "责任人", "{{ handling.responsible }}"),
            ("处理方案", "{{ handling.plan }}\n\n"),
            (
                "主管负责人批示",
                "{{ handling.approved_by }}\n签字：__________　日期：{{ handling.approved_at }}",
            ),
            (
                "通知客户时间",
                "{{ handling.notified_at }}",
                "返回日期",
                "{{ handling.resolved_at }}",
            ),
            ("处理结果", "{{ handling.result }}\n\n"),
            (
                "投诉人签字确认",
                "{{ handling.customer_signed }}\n签字：__________　日期：__________",
            ),
            ("部门负责人签字", "签字：__________　日期：__________"),
        ],
    )
    para(doc, "以下由客户服务中心填写（回访记录）", size=9)
    field_table(
        doc,
        [
            ("回访日期", "{{ callback.at }}", "回访人", "{{ callback.by }}"),
            (
                "满意度",
                "{% if callback.satisfaction %}{{ callback.satisfaction }}{% else %}□ 满意　□ 基本满意　□ 不满意{% endif %}",
            ),
            ("回访意见", "{{ callback.note }}"),
        ],
    )
    para(
        doc,
        "请于处理时限内将本单填写完整，经投诉人签字确认后返回客户服务中心。本单涉及客户信息，请妥善保管，不得外传。",
        size=8,
    )
    para(doc, "打印时间 {{ generated_at }} · 文档序号 {{ serial }}", size=8)
    footer_block(doc)
    return doc


def contact_letter() -> Document:
    doc = base_document()
    header_block(doc)
    para(doc)
    field_table(
        doc,
        [
            (
                "发函部门",
                "{{ letter.sender_unit }}",
                "收函部门",
                "{{ letter.to }}（{{ letter.to_head }} 收）",
            ),
            ("发函日期", "{{ letter.date }}", "发函人", "{{ letter.sender }}"),
        ],
    )
    text_block(
        doc,
        "事由",
        "{{ received_at }} 经{{ channel }}收到{{ complainant.name }}（电话 {{ complainant.phone }}）的{{ kind }}，"
        '投诉对象：{{ target }}；类别：{{ category or "未分类" }}；程度：{{ severity }}。'
        "{% for item in extra %}{{ item.label }}：{{ item.value }}。{% endfor %}\n内容：{{ content }}"
        "{% if demand %}\n客户要求：{{ demand }}{% endif %}",
    )
    text_block(
        doc,
        "处理要求及时限",
        "请贵部门（受理负责人 {{ assignment.handler }}）调查核实，查明原因及责任人，提出处理方案并报主管批示后落实，"
        "于 {{ assignment.due }} 前（{{ assignment.limit }}）将处理结果书面反馈客户服务中心。{{ letter.requirement }}",
    )
    para(doc, "本函一式两份：收函部门留存一份；下方签收回执请签字后返回客户服务中心归档。", size=8)
    para(
        doc,
        "✂ - - - - - - - - - - - - 沿此线剪下 - - - - - - - - - - - -",
        size=8,
        align=WD_ALIGN_PARAGRAPH.CENTER,
    )
    stub = doc.add_table(rows=1, cols=2)
    left, right = stub.rows[0].cells
    left.width, right.width = Mm(150), Mm(30)
    left.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    set_run_font(left.paragraphs[0].add_run("签收回执"), HEAD_FONT, 14, True)
    para(
        left,
        "{{ form.code }} · 编号 {{ case_no }} · 文档 {{ serial }}",
        size=8.5,
        align=WD_ALIGN_PARAGRAPH.CENTER,
    )
    right.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    right.paragraphs[0].add_run("{{ qr_receipt }}")
    field_table(
        doc,
        [
            ("收函部门", "{{ letter.to }}", "事由", "{{ category }} {{ kind }}"),
            ("签收人", "", "签收日期", ""),
        ],
    )
    para(doc, "打印时间 {{ generated_at }} · 文档序号 {{ serial }}", size=8)
    footer_block(doc)
    return doc


def reply_letter() -> Document:
    doc = base_document()
    header_block(doc)
    para(doc)
    para(doc, "{{ complainant.address }}", size=9.5)
    para(
        doc,
        "尊敬的{% if complainant.anonymous %}客户{% else %}{{ complainant.name }}{% endif %}：",
        size=11.5,
    )
    body = [
        "您好！您于 {{ received_at }} 通过{{ channel }}向我们反映的意见（编号 {{ case_no }}）已经收到，感谢您对我们工作的关心和信任。",
        "您反映的内容：{{ content }}{% if demand %}\n您的要求：{{ demand }}{% endif %}",
        "我们对您反映的情况进行了认真核实。经核实，{{ reply.reason }}",
        "根据相关规定，您所反映的事项暂不能作为投诉受理，给您带来的不便，敬请谅解。如您对本答复仍有疑问，或有新的情况需要补充，"
        "欢迎致电 {{ org.phone }} 与我们联系，我们将竭诚为您服务。",
        "此致",
    ]
    for text in body:
        p = para(doc, text, size=11.5)
        p.paragraph_format.first_line_indent = Pt(23)
    para(doc, "敬礼！", size=11.5)
    for text in ("{{ org.name }}", "{{ org.unit }}", "{{ reply.date }}"):
        para(doc, text, size=11.5, align=WD_ALIGN_PARAGRAPH.RIGHT)
    para(doc, "经办人：{{ reply.by }}", size=8)
    para(doc, "打印时间 {{ generated_at }} · 文档序号 {{ serial }}", size=8)
    footer_block(doc)
    return doc


def mark_header_row(row) -> None:
    """Word repeats a table's header row on every page it runs to."""
    trpr = row._tr.get_or_add_trPr()
    header = OxmlElement("w:tblHeader")
    header.set(qn("w:val"), "true")
    trpr.append(header)


def register_document(intro: str, headers: list[str], cells: list[str], signers: str) -> Document:
    doc = base_document()
    header_block(doc, "{{ period }}")
    para(doc, intro)
    table = doc.add_table(rows=3, cols=len(headers))
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, headers, strict=True):
        set_run_font(cell.paragraphs[0].add_run(text), HEAD_FONT, 9)
        shade(cell)
    mark_header_row(table.rows[0])
    merged = table.rows[1].cells[0].merge(table.rows[1].cells[-1])
    merged.text = "{%tr for r in rows %}"
    for cell, text in zip(table.rows[2].cells, cells, strict=True):
        set_run_font(cell.paragraphs[0].add_run(text), size=8)
    end = table.add_row()
    end.cells[0].merge(end.cells[-1]).text = "{%tr endfor %}"
    para(doc, signers, align=WD_ALIGN_PARAGRAPH.RIGHT)
    para(doc, "编制 {{ by }} · 打印时间 {{ generated_at }} · 文档序号 {{ serial }}", size=8)
    footer_block(doc, "{{ period }}")
    return doc


def transfer_list() -> Document:
    return register_document(
        "移交部门：{{ org.unit }}　　期间：{{ period }}　　共 {{ rows|length }} 卷",
        ["序号", "案卷编号", "结案时间", "责任部门", "类别", "审核人", "字节", "SHA-256"],
        [
            "{{ loop.index }}",
            "{{ r.case_no }}",
            "{{ r.closed_at[:10] }}",
            "{{ r.department }}",
            "{{ r.category }}",
            "{{ r.signed_off_by }}",
            "{{ r.bytes }}",
            "{{ r.sha256 }}",
        ],
        "移交人：__________　接收人：__________　日期：__________",
    )


def disposal_register() -> Document:
    return register_document(
        "销毁日期：{{ period }}　　共 {{ rows|length }} 卷　　依据：保管期限届满（结案起算）",
        ["序号", "案卷编号", "结案时间", "保管至", "销毁人", "销毁时间", "SHA-256"],
        [
            "{{ loop.index }}",
            "{{ r.case_no }}",
            "{{ r.closed_at[:10] }}",
            "{{ r.retain_until }}",
            "{{ r.by }}",
            "{{ r.at[:16] }}",
            "{{ r.sha256 }}",
        ],
        "监销人：__________　负责人：__________　日期：__________",
    )


def opinion_register() -> Document:
    doc = register_document(
        "期间：{{ period }}　　共 {{ rows|length }} 条",
        ["序号", "日期", "顾客", "联系方式", "渠道", "意见内容", "处理情况", "回复情况", "经办人"],
        [
            "{{ r.no }}",
            "{{ r.date }}\n{{ r.ref }}",
            "{{ r.customer }}",
            "{{ r.contact }}",
            "{{ r.channel }}\n{{ r.kind }}",
            "{{ r.content }}",
            "{{ r.handling }}",
            "{{ r.reply }}",
            "{{ r.handler }}",
        ],
        "网点负责人签字：__________　日期：__________",
    )
    para(doc, "网点负责人审核意见：")
    return doc


def statistics_report() -> Document:
    doc = base_document()
    header_block(doc, "{{ period }}")
    para(
        doc,
        "{{ period }} {{ heading }}",
        size=14,
        bold=True,
        align=WD_ALIGN_PARAGRAPH.CENTER,
        font=HEAD_FONT,
    )
    para(
        doc,
        "统计口径：按受理（收到）日期归属期间；统计截至 {{ as_of }}；处理时长按工作日计算。本报告不含客户个人信息。",
        size=8,
    )
    para(doc, "一、总体情况", size=11, bold=True, font=HEAD_FONT)
    para(doc, "{% if empty %}本期未收到投诉、咨询或建议，各项比率不适用。{% endif %}")
    field_table(
        doc,
        [
            (
                "本期总数",
                "{{ summary.total }}",
                "受理 / 不受理",
                "{{ summary.accepted }} / {{ summary.rejected }}",
            ),
            (
                "上期（{{ summary.previous_label }}）",
                "{{ summary.previous }}（环比 {{ summary.previous_change }}）",
                "去年同期（{{ summary.last_year_label }}）",
                "{{ summary.last_year }}（同比 {{ summary.last_year_change }}）",
            ),
            ("已结案", "{{ summary.closed }}"),
        ],
    )
    para(doc, "二、分类统计", size=11, bold=True, font=HEAD_FONT)
    table = doc.add_table(rows=4, cols=3)
    table.style = "Table Grid"
    table.rows[0].cells[0].merge(table.rows[0].cells[2]).text = "{%tr for t in tables %}"
    title = table.rows[1].cells[0].merge(table.rows[1].cells[2])
    set_run_font(title.paragraphs[0].add_run("{{ t.title }}"), HEAD_FONT, 9)
    shade(title)
    table.rows[2].cells[0].merge(
        table.rows[2].cells[2]
    ).text = "{% for r in t.rows %}{{ r.label }}：{{ r.count }}（{{ r.share }}）　{% else %}无{% endfor %}"
    table.rows[3].cells[0].merge(table.rows[3].cells[2]).text = "{%tr endfor %}"
    para(doc, "{% for c in charts %}{{ c }}{% endfor %}")
    para(doc, "三、处理时效", size=11, bold=True, font=HEAD_FONT)
    field_table(
        doc,
        [
            (
                "已处理",
                "{{ summary.resolved }}",
                "按时处理",
                "{{ summary.on_time }}（按时率 {{ summary.on_time_rate }}）",
            ),
            (
                "平均处理时长",
                "{{ summary.days_mean }} 个工作日",
                "最长处理时长",
                "{{ summary.days_max }} 个工作日",
            ),
            ("逾期未办结", "{{ summary.overdue }}"),
        ],
    )
    para(doc, "四、回访满意度", size=11, bold=True, font=HEAD_FONT)
    field_table(
        doc,
        [
            ("回访数", "{{ summary.callbacks }}", "满意率", "{{ summary.satisfaction_rate }}"),
            (
                "满意 / 基本满意 / 不满意",
                "{{ summary.satisfied }} / {{ summary.basically }} / {{ summary.dissatisfied }}",
            ),
        ],
    )
    para(doc, "五、月度趋势：{% for t in trend %}{{ t.month }} {{ t.count }} 件　{% endfor %}")
    para(doc, "六、重大投诉", size=11, bold=True, font=HEAD_FONT)
    para(
        doc,
        "{% for m in major %}{{ m.case_no }}　{{ m.received }}　{{ m.category }}　{{ m.department }}　{{ m.status }}　{{ m.summary }}\n{% else %}本期无重大投诉。{% endfor %}{% if more.major %}另有 {{ more.major }} 件，见随附 CSV。{% endif %}",
    )
    para(doc, "七、处罚情况", size=11, bold=True, font=HEAD_FONT)
    para(
        doc,
        "{% for p in penalties %}{{ p.case_no }}　{{ p.type }}　{{ p.person }}　{{ p.amount }}\n{% else %}本期无处罚。{% endfor %}{% if more.penalties %}另有 {{ more.penalties }} 项，见随附 CSV。{% endif %}",
    )
    para(doc, "八、原因分析与改进措施", size=11, bold=True, font=HEAD_FONT)
    para(doc, "\n\n\n")
    para(
        doc, "编制：__________　审核：__________　日期：__________", align=WD_ALIGN_PARAGRAPH.RIGHT
    )
    para(doc, "编制 {{ by }} · 打印时间 {{ generated_at }} · 文档序号 {{ serial }}", size=8)
    footer_block(doc, "{{ period }}")
    return doc


TEMPLATES = {
    "record_card": record_card,
    "feedback_slip": feedback_slip,
    "contact_letter": contact_letter,
    "reply_letter": reply_letter,
    "transfer_list": transfer_list,
    "disposal_register": disposal_register,
    "opinion_register": opinion_register,
    "statistics_report": statistics_report,
}


def main(argv: list[str]) -> int:
    names = argv or list(TEMPLATES)
    for name in names:
        path = FORMS / f"{name}.docx"
        TEMPLATES[name]().save(path)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
