"""Regenerate the default Word templates in forms/ from code.

The .docx files are committed; an organisation edits its own copy in Word. Run this only to
change the defaults: python scripts/build_docx_templates.py

Each template mirrors its HTML counterpart (forms/<form>.html): the same fields, the same
wording. The print line (form code and version, who compiled a list, when printed, document
serial) sits in the page footer, as the HTML puts it in the bottom margin.
"""

from __future__ import annotations

import sys
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_ROW_HEIGHT_RULE, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor, Twips

FORMS = Path(__file__).resolve().parent.parent / "forms"
EAST_ASIA_FONT = "宋体"
HEAD_FONT = "黑体"
MONO_FONT = "Courier New"
GREY = RGBColor(0x44, 0x44, 0x44)
LIGHT_GREY = RGBColor(0x99, 0x99, 0x99)


def set_run_font(
    run,
    east_asia: str = EAST_ASIA_FONT,
    size: float | None = None,
    bold: bool = False,
    color: RGBColor | None = None,
):
    rpr = run._element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.append(fonts)
    fonts.set(qn("w:eastAsia"), east_asia)
    if size:
        run.font.size = Pt(size)
    if color is not None:
        run.font.color.rgb = color
    run.bold = bold
    return run


def base_document(*, landscape: bool = False) -> Document:
    """A4 with the margins of forms.css (14 / 15 / 16 / 15 mm); landscape for the registers."""
    doc = Document()
    section = doc.sections[0]
    if landscape:
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_width, section.page_height = Mm(297), Mm(210)
    else:
        section.orientation = WD_ORIENT.PORTRAIT
        section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin = section.right_margin = Mm(15)
    section.top_margin, section.bottom_margin = Mm(14), Mm(16)
    section.header_distance, section.footer_distance = Mm(8), Mm(6)
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


def text_width(doc) -> int:
    """The width between the margins, in EMU."""
    section = doc.sections[0]
    return section.page_width - section.left_margin - section.right_margin


def para(
    container,
    text: str = "",
    *,
    size: float | None = None,
    bold: bool = False,
    align=None,
    font=EAST_ASIA_FONT,
    color: RGBColor | None = None,
):
    p = container.add_paragraph()
    if text:
        set_run_font(p.add_run(text), font, size, bold, color)
    if align is not None:
        p.alignment = align
    return p


def tag_para(doc, tag: str) -> None:
    """A paragraph holding only a docxtpl {%p ... %} tag: docxtpl replaces the whole paragraph
    by the tag, so what lies between {%p if %} and {%p endif %} (paragraphs and tables) shows
    only when the condition holds."""
    doc.add_paragraph().add_run(tag)


def part_title(doc, text: str) -> None:
    """The small grey title over a part of a form (.part-title)."""
    p = para(doc, text, size=9, color=GREY)
    p.paragraph_format.space_before = Mm(3)
    p.paragraph_format.space_after = Mm(1)
    p.paragraph_format.keep_with_next = True


def sign_line(doc, *labels: str) -> None:
    """The signature line under a part (.sign): label followed by a blank to write on."""
    p = para(
        doc,
        "　".join(f"{label}：__________" for label in labels),
        align=WD_ALIGN_PARAGRAPH.RIGHT,
    )
    p.paragraph_format.space_before = Mm(3)


def add_field(paragraph, instr: str, size: float | None = None) -> None:
    """A Word field (PAGE, NUMPAGES) that Word and LibreOffice fill in when laying out."""
    run = paragraph.add_run()
    if size:
        run.font.size = Pt(size)
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


def set_col_widths(table, widths) -> None:
    """Column widths in the table grid (LibreOffice reads these) and on every cell (Word),
    with a fixed layout so that both keep them."""
    table.autofit = False
    grid = table._tbl.tblGrid
    for col, width in zip(grid.findall(qn("w:gridCol")), widths, strict=True):
        col.set(qn("w:w"), str(int(width) // 635))  # EMU -> twips
    for row in table.rows:
        for cell, width in zip(row.cells, widths, strict=True):
            cell.width = width


def narrow_cell_margins(table, mm: float = 1.2) -> None:
    """Cell padding of the HTML registers (1.2 mm left and right rather than Word's 1.9 mm)."""
    tblpr = table._tbl.tblPr
    margins = OxmlElement("w:tblCellMar")
    for side in ("left", "right"):
        el = OxmlElement(f"w:{side}")
        el.set(qn("w:w"), str(int(Mm(mm)) // 635))
        el.set(qn("w:type"), "dxa")
        margins.append(el)
    tblpr.insert_element_before(
        margins, "w:tblLook", "w:tblCaption", "w:tblDescription", "w:tblPrChange"
    )


def header_block(doc, ident: str = "编号 {{ case_no }}") -> None:
    width = text_width(doc)
    table = doc.add_table(rows=1, cols=3)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    set_col_widths(table, (Mm(28), width - 2 * Mm(28), Mm(28)))
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


def footer_block(doc, ident: str = "{{ case_no }}", *, compiled: bool = False) -> None:
    """The print line of _page.html on every page: form code and version, who compiled a list
    (`compiled`: registers and reports, which have a `by`), when printed and the document
    serial; under it page x of y and the case number (or period) at the right."""
    width = text_width(doc)
    footer = doc.sections[0].footer
    line = footer.paragraphs[0]
    line.alignment = WD_ALIGN_PARAGRAPH.LEFT
    set_run_font(
        line.add_run(
            "{{ form.code }} 第 {{ form.version }} 版 · "
            + ("编制 {{ by }} · " if compiled else "")
            + "打印 {{ generated_at }} · 文档 {{ serial }}"
        ),
        size=7.5,
        color=GREY,
    )
    pages = footer.add_paragraph()
    tabs = pages.paragraph_format.tab_stops
    for pos in (4680, 9360):  # the Footer style's own stops, made for Letter paper
        tabs.add_tab_stop(Twips(pos), WD_TAB_ALIGNMENT.CLEAR)
    tabs.add_tab_stop(width // 2, WD_TAB_ALIGNMENT.CENTER)
    tabs.add_tab_stop(width, WD_TAB_ALIGNMENT.RIGHT)
    set_run_font(pages.add_run("\t第 "), size=9)
    add_field(pages, "PAGE", 9)
    set_run_font(pages.add_run(" 页 / 共 "), size=9)
    add_field(pages, "NUMPAGES", 9)
    set_run_font(pages.add_run(" 页\t" + ident), size=9)


def field_table(doc, rows: list) -> None:
    """rows: (label, value) spanning, or (label, value, label, value), or a docxtpl row tag
    such as {%tr for ... %} (a row of its own, which docxtpl replaces by the tag)."""
    table = doc.add_table(rows=0, cols=4)
    table.style = "Table Grid"
    for row in rows:
        cells = table.add_row().cells
        if isinstance(row, str):
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


def mark_header_row(row) -> None:
    """Word repeats a table's header row on every page it runs to."""
    trpr = row._tr.get_or_add_trPr()
    header = OxmlElement("w:tblHeader")
    header.set(qn("w:val"), "true")
    trpr.append(header)


def merged_row(table, text: str, size: float | None = None) -> None:
    row = table.add_row()
    cell = row.cells[0].merge(row.cells[-1])
    set_run_font(cell.paragraphs[0].add_run(text), size=size)


def register_table(
    doc,
    headers: list[str],
    cells: list,
    widths: list[float],
    *,
    loop: str = "{%tr for r in rows %}",
    empty: str | None = None,
    digest: int | None = None,
    size: float = 8.5,
):
    """A table.register: a shaded header row repeated on every page, one row per item
    (`loop`), and the `empty` text when there is none. `cells` are texts, or lists of
    (text, size) runs on separate lines; column `digest` is set small in a monospace face.
    `widths` in mm."""
    table = doc.add_table(rows=1, cols=len(headers))
    table.style = "Table Grid"
    narrow_cell_margins(table)
    for cell, text in zip(table.rows[0].cells, headers, strict=True):
        set_run_font(cell.paragraphs[0].add_run(text), HEAD_FONT, size)
        shade(cell)
    mark_header_row(table.rows[0])
    merged_row(table, loop)
    row = table.add_row()
    for i, (cell, spec) in enumerate(zip(row.cells, cells, strict=True)):
        runs = [(spec, size)] if isinstance(spec, str) else spec
        for n, (text, run_size) in enumerate(runs):
            if n:
                cell.paragraphs[0].add_run().add_break()
            run = cell.paragraphs[0].add_run(text)
            if i == digest:
                run.font.name = MONO_FONT
                set_run_font(run, size=6.5)
            else:
                set_run_font(run, size=run_size)
    if empty is not None:
        merged_row(table, "{%tr else %}")
        merged_row(table, empty, size)
    merged_row(table, "{%tr endfor %}")
    set_col_widths(table, [Mm(w) for w in widths])
    return table


# -- one case's forms ----------------------------------------------------------------------------

EXTRA_ROWS = [
    "{%tr for item in extra %}",
    ("{{ item.label }}", "{{ item.value }}"),
    "{%tr endfor %}",
]

KIND_AND_CATEGORY = "{{ kind }} · {{ severity }}{% if category %} · {{ category }}{% endif %}"
CONTENT_AND_DEMAND = "{{ content }}{% if demand %}\n要求：{{ demand }}{% endif %}"


# 首问负责人 (always, to write in by hand when not recorded), 投诉人数 when more than one with
# 群体投诉 at the threshold, and 重复投诉: the earlier cases, when there are any.
RECEIVER_AND_REPEAT_ROWS = [
    "{%tr if complainants.count %}",
    (
        "首问负责人",
        "{{ first_receiver }}",
        "投诉人数",
        "{{ complainants.count }} 人{% if complainants.group %}【群体投诉】{% endif %}",
    ),
    "{%tr else %}",
    ("首问负责人", "{{ first_receiver }}"),
    "{%tr endif %}",
    "{%tr if repeat_of.count %}",
    (
        "重复投诉",
        "同一投诉人此前投诉 {{ repeat_of.count }} 件："
        "{% for c in repeat_of.cases %}{{ c }}{% if not loop.last %}、{% endif %}{% endfor %}"
        "{% if repeat_of.more %}等{% endif %}",
    ),
    "{%tr endif %}",
]


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
            *RECEIVER_AND_REPEAT_ROWS,
            *EXTRA_ROWS,
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
            ("承诺答复时间", "{{ decision.due }}", "判定人", "{{ decision.by }}"),
        ],
    )
    sign_line(doc, "负责人签字", "日期")
    footer_block(doc)
    return doc


def feedback_slip() -> Document:
    doc = base_document()
    header_block(doc)
    para(doc)
    field_table(
        doc,
        [
            ("投诉人", "{{ complainant.name }}", "联系电话", "{{ complainant.phone }}"),
            ("投诉时间", "{{ received_at }}", "投诉方式", "{{ channel }}"),
            ("投诉对象", "{{ target }}", "性质 / 类别", KIND_AND_CATEGORY),
            *EXTRA_ROWS,
        ],
    )
    text_block(doc, "投诉内容及要求", CONTENT_AND_DEMAND)
    field_table(
        doc,
        [
            (
                "责任部门",
                "{{ assignment.department }}（负责人 {{ assignment.head }}）",
                "受理负责人",
                "{{ assignment.handler }}",
            ),
            ("处理时限", "{{ assignment.due }} 前返回{{ org.unit }}（{{ assignment.limit }}）"),
        ],
    )
    part_title(doc, "以下由责任部门填写")
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
            (
                "处理结果",
                "{{ handling.result }}{% if handling.compensation %}（赔偿 {{ handling.compensation }}）{% endif %}\n\n",
            ),
            (
                "投诉人签字确认",
                "{{ handling.customer_signed }}\n签字：__________　日期：__________",
            ),
            ("部门负责人签字", "签字：__________　日期：__________"),
        ],
    )
    part_title(doc, "以下由{{ org.unit }}填写（回访记录）")
    field_table(
        doc,
        [
            ("回访日期", "{{ callback.at }}", "回访人", "{{ callback.by }}"),
            (
                "满意度",
                "{% if callback.satisfaction %}{{ callback.satisfaction }}{% else %}□ 满意　□ 基本满意　□ 不满意{% endif %}",
                "回访意见",
                "{{ callback.note }}",
            ),
        ],
    )
    p = para(
        doc,
        "请于处理时限内将本单填写完整，经投诉人签字确认后返回{{ org.unit }}。本单涉及客户信息，请妥善保管，不得外传。",
        size=8.5,
        color=GREY,
    )
    p.paragraph_format.space_before = Mm(3)
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
        "于 {{ assignment.due }} 前（{{ assignment.limit }}）将处理结果书面反馈{{ org.unit }}。{{ letter.requirement }}",
    )
    p = para(
        doc,
        "本函一式两份：收函部门留存一份；下方签收回执请签字后返回{{ org.unit }}归档。",
        size=8.5,
        color=GREY,
    )
    p.paragraph_format.space_before = Mm(3)
    cut = para(
        doc,
        "✂ - - - - - - - - - - - - - - - 沿此线剪下 - - - - - - - - - - - - - - -",
        size=8,
        align=WD_ALIGN_PARAGRAPH.CENTER,
    )
    cut.paragraph_format.space_before = Mm(6)
    cut.paragraph_format.space_after = Mm(4)
    stub = doc.add_table(rows=1, cols=2)
    set_col_widths(stub, (Mm(150), Mm(30)))
    left, right = stub.rows[0].cells
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
    footer_block(doc)
    return doc


def left_rule(paragraph, color: str = "999999", eighths: int = 16) -> None:
    """A rule at the paragraph's left (the letter's quote, .quote: 2pt grey)."""
    ppr = paragraph._p.get_or_add_pPr()
    borders = OxmlElement("w:pBdr")
    left = OxmlElement("w:left")
    left.set(qn("w:val"), "single")
    left.set(qn("w:sz"), str(eighths))
    left.set(qn("w:space"), "8")
    left.set(qn("w:color"), color)
    borders.append(left)
    ppr.insert_element_before(
        borders,
        "w:shd",
        "w:tabs",
        "w:suppressAutoHyphens",
        "w:kinsoku",
        "w:wordWrap",
        "w:overflowPunct",
        "w:topLinePunct",
        "w:autoSpaceDE",
        "w:autoSpaceDN",
        "w:bidi",
        "w:adjustRightInd",
        "w:snapToGrid",
        "w:spacing",
        "w:ind",
        "w:contextualSpacing",
        "w:mirrorIndents",
        "w:suppressOverlap",
        "w:jc",
        "w:textDirection",
        "w:textAlignment",
        "w:textboxTightWrap",
        "w:outlineLvl",
        "w:divId",
        "w:cnfStyle",
        "w:rPr",
        "w:sectPr",
        "w:pPrChange",
    )


def reply_letter() -> Document:
    doc = base_document()
    header_block(doc)
    para(doc)
    letter = 11.5

    def body(text: str, indent: bool = True):
        p = para(doc, text, size=letter)
        if indent:
            p.paragraph_format.first_line_indent = Pt(2 * letter)
        p.paragraph_format.line_spacing = 1.5
        p.paragraph_format.space_before = p.paragraph_format.space_after = Mm(1)
        return p

    tag_para(doc, "{%p if complainant.address %}")
    para(doc, "{{ complainant.address }}", size=9.5, color=GREY)
    tag_para(doc, "{%p endif %}")
    body(
        "尊敬的{% if complainant.anonymous %}客户{% else %}{{ complainant.name }}{% endif %}：",
        indent=False,
    )
    body(
        "您好！您于 {{ received_at }} 通过{{ channel }}向我们反映的意见（编号 {{ case_no }}）已经收到，感谢您对我们工作的关心和信任。"
    )
    quote = para(
        doc,
        "您反映的内容：{{ content }}{% if demand %}\n您的要求：{{ demand }}{% endif %}",
        size=10.5,
    )
    quote.paragraph_format.left_indent = Pt(2 * letter)
    quote.paragraph_format.space_before = quote.paragraph_format.space_after = Mm(2)
    left_rule(quote)
    body("我们对您反映的情况进行了认真核实，现答复如下：")
    body("{{ reply.reason }}")
    body(
        "根据相关规定，您所反映的事项暂不能作为投诉受理，给您带来的不便，敬请谅解。如您对本答复仍有疑问，或有新的情况需要补充，"
        "欢迎{% if org.phone %}致电 {{ org.phone }} {% endif %}与我们联系，我们将竭诚为您服务。"
    )
    body("此致")
    body("敬礼！", indent=False)
    # The place for the unit's seal, stamped over the name and date below it; the block is
    # kept on one page.
    seal = para(doc, "（盖章）", size=9, align=WD_ALIGN_PARAGRAPH.RIGHT, color=LIGHT_GREY)
    seal.paragraph_format.space_before = Mm(10)
    seal.paragraph_format.space_after = Mm(4)
    seal.paragraph_format.right_indent = Mm(12)
    seal.paragraph_format.keep_with_next = True
    for text in ("{{ org.name }}", "{{ org.unit }}", "{{ reply.date }}"):
        p = para(doc, text, size=letter, align=WD_ALIGN_PARAGRAPH.RIGHT)
        p.paragraph_format.right_indent = Mm(4)
        p.paragraph_format.line_spacing = 1.5
        p.paragraph_format.keep_with_next = True
    note = para(doc, "经办人：{{ reply.by }}", size=8.5, color=GREY)
    note.paragraph_format.space_before = Mm(3)
    footer_block(doc)
    return doc


def closing_form() -> Document:
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
            ("投诉时间", "{{ received_at }}", "投诉方式", "{{ channel }}"),
            ("投诉对象", "{{ target }}", "性质 / 类别", KIND_AND_CATEGORY),
            *EXTRA_ROWS,
            (
                "记录人",
                "{{ recorded_by }}",
                "受理",
                "{{ decision.accepted }} {{ decision.at }} {{ decision.by }}",
            ),
        ],
    )
    text_block(doc, "投诉内容及要求", CONTENT_AND_DEMAND)
    part_title(doc, "处理情况")
    field_table(
        doc,
        [
            (
                "责任部门",
                "{{ assignment.department }}",
                "受理负责人",
                "{{ assignment.handler }}",
            ),
            ("处理时限", "{{ assignment.due }}", "返回日期", "{{ handling.resolved_at }}"),
            ("调查情况", "{{ handling.findings }}"),
            ("原因分析", "{{ handling.cause }}", "责任人", "{{ handling.responsible }}"),
            ("处理方案", "{{ handling.plan }}"),
            (
                "主管批示",
                "{{ handling.approved_by }}{% if handling.approved_at %} {{ handling.approved_at }}{% endif %}",
                "通知客户",
                "{{ handling.notified_at }}",
            ),
            ("处理结果", "{{ handling.result }}"),
            "{%tr if handling.compensation %}",
            ("赔偿金额", "{{ handling.compensation }}"),
            "{%tr endif %}",
            ("投诉人确认", "{{ handling.customer_signed }}"),
            "{%tr for r in reopens %}",
            ("重新处理", "{{ r.at }} {{ r.by }}：{{ r.reason }}"),
            "{%tr endfor %}",
        ],
    )
    part_title(doc, "回访")
    field_table(
        doc,
        [
            ("回访日期", "{{ callback.at }}", "回访人", "{{ callback.by }}"),
            ("满意度", "{{ callback.satisfaction }}", "回访意见", "{{ callback.note }}"),
        ],
    )
    part_title(doc, "结案")
    field_table(
        doc,
        [
            ("结案日期", "{{ closure.at }}", "结案人", "{{ closure.by }}"),
            ("有效性", "{{ closure.validity }}"),
            ("投诉原因", "{{ closure.cause }}"),
            ("结案意见", "{{ closure.summary }}"),
            (
                "处罚",
                "{% for p in closure.penalties %}{{ p.type }} {{ p.person }}"
                "{% if p.amount %}（{{ p.amount }}）{% endif %}{% if not loop.last %}；{% endif %}"
                "{% else %}无{% endfor %}",
            ),
            ("改进措施", "{{ closure.measures }}"),
        ],
    )
    sign_line(doc, "经办人签字", "负责人审核", "日期")
    footer_block(doc)
    return doc


MAJOR_REASON = (
    "{% if major.reason %}{{ major.reason }}{% else %}□ 媒体或网络曝光　□ 与客户发生冲突　"
    "□ 社会影响面广　□ 其他\n______________________________________________{% endif %}"
)
MAJOR_PROPOSAL = (
    "{% if assignment.department %}由{{ assignment.department }}"
    "{% if assignment.head %}（负责人 {{ assignment.head }}）{% endif %}负责调查处理"
    "{% if assignment.handler %}，受理负责人 {{ assignment.handler }}{% endif %}，"
    "于 {{ assignment.due }} 前办结（{{ assignment.limit }}）。{% endif %}"
)


def major_report() -> Document:
    """重大投诉呈报单: the facts, why the case is major, the impact, the proposed handling, and
    the box for the instruction (领导批示) with its signature and date."""
    doc = base_document()
    header_block(doc)
    para(doc)
    field_table(
        doc,
        [
            ("呈报对象", "{{ major.to }}", "呈报部门", "{{ major.unit }}"),
            ("呈报日期", "{{ major.date }}", "呈报人", "{{ major.by }}"),
        ],
    )
    part_title(doc, "投诉事实")
    field_table(
        doc,
        [
            (
                "投诉人",
                "{{ complainant.name }}{% if complainant.confidential %}（要求保密）{% endif %}",
                "联系电话",
                "{{ complainant.phone }}",
            ),
            ("投诉时间", "{{ received_at }}", "投诉方式", "{{ channel }}"),
            ("投诉对象", "{{ target }}", "性质 / 类别", KIND_AND_CATEGORY),
            "{%tr if major.count %}",
            ("投诉人数", "{{ major.count }} 人{% if major.group %}（群体投诉）{% endif %}"),
            "{%tr endif %}",
            *EXTRA_ROWS,
        ],
    )
    text_block(doc, "投诉内容", "{{ content }}")
    text_block(doc, "投诉要求", "{{ demand }}")
    part_title(doc, "呈报意见")
    field_table(
        doc,
        [
            ("重大原因", MAJOR_REASON),
            ("影响情况", "{{ major.impact }}"),
            ("拟处理意见", MAJOR_PROPOSAL),
        ],
    )
    for row in doc.tables[-1].rows[1:]:  # boxes to write the impact and the proposal in
        row.height = Mm(20)
        row.height_rule = WD_ROW_HEIGHT_RULE.AT_LEAST
    para(doc).paragraph_format.space_after = Mm(1)
    field_table(doc, [("领导批示", "签字：__________　日期：__________")])
    row = doc.tables[-1].rows[0]
    row.height = Mm(46)
    row.height_rule = WD_ROW_HEIGHT_RULE.AT_LEAST
    para(row.cells[0], "{{ major.to }}", size=8, color=GREY)
    box = row.cells[1]
    box.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.BOTTOM
    box.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
    p = para(
        doc,
        "本单涉及客户信息，请妥善保管，不得外传。批示后请退回{{ major.unit }}，随案卷归档。",
        size=8.5,
        color=GREY,
    )
    p.paragraph_format.space_before = Mm(3)
    footer_block(doc)
    return doc


# -- registers and reports: rows for a period ------------------------------------------------------


def anchor_line(doc) -> None:
    """The audit anchor (SEQ:HASH) on the papers a manager signs, as _page.html prints it."""
    para(
        doc,
        "审计锚点 {{ anchor }}（编制时审计日志的序号与散列值；用 complaintforms audit verify "
        "--anchor 核对此后记录未被改写）",
        size=7,
    )


def register_document(intro: str, headers: list[str], cells: list, widths: list[float], **kw):
    """A register or list on landscape A4 (body.landscape in the HTML), so that names, dates
    and case numbers need not break; the caller adds what follows the table."""
    doc = base_document(landscape=True)
    header_block(doc, "{{ period }}")
    p = para(doc, intro)
    p.paragraph_format.space_before = p.paragraph_format.space_after = Mm(1.5)
    register_table(doc, headers, cells, widths, **kw)
    footer_block(doc, "{{ period }}", compiled=True)
    return doc


def transfer_list() -> Document:
    doc = register_document(
        "移交部门：{{ org.unit }}　　期间：{{ period }}　　共 {{ rows|length }} 卷",
        [
            "序号",
            "案卷编号",
            "结案日期",
            "责任部门",
            "类别",
            "程度",
            "保管期限",
            "审核人",
            "SHA-256",
        ],
        [
            "{{ loop.index }}",
            "{{ r.case_no }}",
            "{{ r.closed }}",
            "{{ r.department }}",
            "{{ r.category }}",
            "{{ r.severity }}",
            "{{ r.retention }}",
            "{{ r.signed_off_by }}",
            "{{ r.sha256 }}",
        ],
        # 267 mm between the margins
        [11, 32, 29, 28, 24, 13, 45, 20, 65],
        digest=8,
    )
    sign_line(doc, "移交人", "接收人", "日期")
    anchor_line(doc)
    return doc


def disposal_register() -> Document:
    doc = register_document(
        "销毁日期：{{ period }}　　共 {{ rows|length }} 卷　　依据：保管期限届满（结案起算）",
        ["序号", "案卷编号", "结案日期", "保管至", "销毁人", "销毁时间", "SHA-256"],
        [
            "{{ loop.index }}",
            "{{ r.case_no }}",
            "{{ r.closed }}",
            "{{ r.retain_until }}",
            "{{ r.by }}",
            "{{ r.at }}",
            "{{ r.sha256 }}",
        ],
        [11, 32, 29, 29, 22, 38, 106],
        digest=6,
    )
    sign_line(doc, "监销人", "负责人", "日期")
    anchor_line(doc)
    return doc


def opinion_register() -> Document:
    doc = register_document(
        "期间：{{ period }}　　共 {{ rows|length }} 条",
        ["序号", "日期", "顾客", "联系方式", "渠道", "意见内容", "处理情况", "回复情况", "经办人"],
        [
            "{{ r.no }}",
            [("{{ r.date }}", 8.5), ("{{ r.ref }}", 6.5)],
            "{{ r.customer }}",
            "{{ r.contact }}",
            [("{{ r.channel }}", 8.5), ("{{ r.kind }}", 8.5)],
            "{{ r.content }}",
            "{{ r.handling }}",
            "{{ r.reply }}",
            "{{ r.handler }}",
        ],
        [10, 28, 22, 24, 18, 55, 50, 40, 20],
        empty="本期无登记。",
    )
    para(doc).paragraph_format.space_before = Mm(1.5)
    review = doc.add_table(rows=1, cols=2)
    review.style = "Table Grid"
    label, blank = review.rows[0].cells
    set_run_font(label.paragraphs[0].add_run("负责人审核意见"), HEAD_FONT)
    shade(label)
    review.rows[0].height = Mm(16)
    review.rows[0].height_rule = WD_ROW_HEIGHT_RULE.AT_LEAST
    set_col_widths(review, (Mm(32), text_width(doc) - Mm(32)))
    sign_line(doc, "负责人签字", "日期")
    anchor_line(doc)
    return doc


def section_title(doc, text: str) -> None:
    p = para(doc, text, size=11, bold=True, font=HEAD_FONT)
    p.paragraph_format.space_before = Mm(4)
    p.paragraph_format.space_after = Mm(1.5)
    p.paragraph_format.keep_with_next = True


def statistics_report() -> Document:
    doc = base_document()
    header_block(doc, "{{ period }}")
    para(
        doc,
        "{{ heading }}",
        size=14,
        bold=True,
        align=WD_ALIGN_PARAGRAPH.CENTER,
        font=HEAD_FONT,
    )
    para(
        doc,
        "统计口径：按受理（收到）日期归属期间；统计截至 {{ as_of }}；处理时长按工作日计算（法定节假日及调休）。本报告不含客户个人信息。",
        size=8.5,
        color=GREY,
    )
    section_title(doc, "一、总体情况")
    tag_para(doc, "{%p if empty %}")
    para(doc, "本期未收到投诉、咨询或建议，各项比率不适用。")
    tag_para(doc, "{%p endif %}")
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
                "上期",
                "{{ summary.previous_label }}：{{ summary.previous }}（环比 {{ summary.previous_change }}）",
                "去年同期",
                "{{ summary.last_year_label }}：{{ summary.last_year }}（同比 {{ summary.last_year_change }}）",
            ),
            ("已结案", "{{ summary.closed }}", "作废编号", "{{ summary.voided }}"),
            (
                "重复投诉",
                "{{ summary.repeats }}",
                "群体投诉",
                "{{ summary.group_complaints }}",
            ),
        ],
    )
    tag_para(doc, "{%p if not empty %}")
    section_title(doc, "二、分类统计")
    # One table for all the breakdowns: per breakdown a title row, a header row and its rows.
    table = doc.add_table(rows=0, cols=3)
    table.style = "Table Grid"
    narrow_cell_margins(table)
    merged_row(table, "{%tr for t in tables %}")
    title = table.add_row()
    cell = title.cells[0].merge(title.cells[2])
    set_run_font(cell.paragraphs[0].add_run("{{ t.title }}"), HEAD_FONT, 9)
    shade(cell)
    head = table.add_row()
    for cell, text in zip(head.cells, ("项目", "件数", "占比"), strict=True):
        set_run_font(cell.paragraphs[0].add_run(text), HEAD_FONT, 8.5)
        shade(cell)
    merged_row(table, "{%tr for r in t.rows %}")
    row = table.add_row()
    for i, (cell, text) in enumerate(
        zip(row.cells, ("{{ r.label }}", "{{ r.count }}", "{{ r.share }}"), strict=True)
    ):
        set_run_font(cell.paragraphs[0].add_run(text), size=8.5)
        if i:
            cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
    merged_row(table, "{%tr else %}")
    merged_row(table, "无", 8.5)
    merged_row(table, "{%tr endfor %}")
    merged_row(table, "{%tr endfor %}")
    set_col_widths(table, (Mm(70), Mm(30), Mm(30)))
    para(doc, "{% for c in charts %}{{ c }}{% endfor %}")
    tag_para(doc, "{%p endif %}")
    section_title(doc, "三、处理时效")
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
            (
                "按时回访",
                "{{ summary.callbacks_on_time }}",
                "逾期未回访",
                "{{ summary.callback_overdue }}",
            ),
            ("延期", "{{ summary.extended }}", "退单", "{{ summary.sent_back }}"),
        ],
    )
    part_title(doc, "按部门办理情况（按按时率排序）")
    departments = register_table(
        doc,
        [
            "部门",
            "分派",
            "办结",
            "按时办结",
            "按时率",
            "满意率",
            "逾期未办",
            "延期",
            "退单",
            "催办/督办",
        ],
        [
            "{{ d.name }}",
            "{{ d.assigned }}",
            "{{ d.resolved }}",
            "{{ d.resolved_on_time }}",
            "{{ d.on_time_rate }}",
            "{{ d.satisfaction_rate }}",
            "{{ d.overdue_open }}",
            "{{ d.extended }}",
            "{{ d.sent_back }}",
            "{{ d.reminded }}",
        ],
        [36, 14, 14, 17, 16, 16, 17, 14, 14, 18],
        loop="{%tr for d in departments %}",
        empty="本期无分派到部门的案件。",
    )
    for cell in departments.rows[2].cells[1:]:  # the figures right-aligned, as in the HTML
        cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
    section_title(doc, "四、回访满意度")
    field_table(
        doc,
        [
            ("回访接通", "{{ summary.callbacks }}", "满意率", "{{ summary.satisfaction_rate }}"),
            ("无法回访", "{{ summary.callbacks_unreachable }}"),
            (
                "满意程度",
                "满意 {{ summary.satisfied }}　基本满意 {{ summary.basically }}　不满意 {{ summary.dissatisfied }}",
            ),
        ],
    )
    tag_para(doc, "{%p if trend|length > 1 %}")
    section_title(doc, "五、月度趋势")
    para(doc, "{% for t in trend %}{{ t.month }} {{ t.count }} 件　{% endfor %}")
    tag_para(doc, "{%p endif %}")
    section_title(doc, "六、重大投诉")
    register_table(
        doc,
        ["编号", "受理日期", "类别", "部门", "状态", "处理结论"],
        [
            "{{ m.case_no }}",
            "{{ m.received }}",
            "{{ m.category }}",
            "{{ m.department }}",
            "{{ m.status }}",
            "{{ m.summary }}",
        ],
        [32, 29, 24, 24, 16, 55],
        loop="{%tr for m in major %}",
        empty="本期无重大投诉。",
    )
    tag_para(doc, "{%p if more.major %}")
    para(doc, "另有 {{ more.major }} 件重大投诉，见随附 CSV。", size=8.5, color=GREY)
    tag_para(doc, "{%p endif %}")
    section_title(doc, "七、处罚与赔偿")
    register_table(
        doc,
        ["编号", "处罚", "责任人", "金额"],
        ["{{ p.case_no }}", "{{ p.type }}", "{{ p.person }}", "{{ p.amount }}"],
        [40, 60, 40, 40],
        loop="{%tr for p in penalties %}",
        empty="本期无处罚。",
    )
    tag_para(doc, "{%p if more.penalties %}")
    para(doc, "另有 {{ more.penalties }} 项处罚，见随附 CSV。", size=8.5, color=GREY)
    tag_para(doc, "{%p endif %}")
    field_table(
        doc,
        [
            (
                "赔偿合计",
                "{{ summary.compensation }}",
                "按部门",
                "{{ summary.compensation_detail }}",
            )
        ],
    )
    section_title(doc, "八、原因分析与改进措施")
    area = doc.add_table(rows=1, cols=1)
    area.style = "Table Grid"
    area.rows[0].height = Mm(30)
    area.rows[0].height_rule = WD_ROW_HEIGHT_RULE.AT_LEAST
    sign_line(doc, "编制", "审核", "日期")
    anchor_line(doc)
    footer_block(doc, "{{ period }}", compiled=True)
    return doc


TEMPLATES = {
    "record_card": record_card,
    "feedback_slip": feedback_slip,
    "contact_letter": contact_letter,
    "reply_letter": reply_letter,
    "closing_form": closing_form,
    "major_report": major_report,
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
