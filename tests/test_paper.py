"""Paper a clerk signs and an archivist keeps (DESIGN.md sections 13, last bullet, and 14):
valid PDFs from every command, the forms in the office's own words, how each case ended."""

from __future__ import annotations

import datetime as dt
import json
import re
import zipfile
from pathlib import Path

import pytest

from complaintforms.documents.forms import FORMS

from .conftest import docx_text, pdf_page_count, pdf_text, run_cli
from .pdfcheck import pdf_problems
from .test_procedure import RETURN_ARGS, accept, register
from .test_register import FULL_CASE


def page_texts(path: Path) -> list[str]:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(path))
    try:
        return [pdf[i].get_textpage().get_text_range() for i in range(len(pdf))]
    finally:
        pdf.close()


def docs(result: dict, form: str, fmt: str = "pdf") -> list[Path]:
    return [
        Path(d["path"]) for d in result["documents"] if d["form"] == form and d["format"] == fmt
    ]


def closed_case(cf, *, penalty: bool = True, **changes) -> str:
    case_no = register(cf, **changes)
    accept(cf, case_no)
    cf.json("slip", "issue", case_no, "--by", "吴芳")
    cf.json(
        "slip", "return", case_no, *RETURN_ARGS, "--customer-signed",
        "--by", "李明", "--at", "2026-11-18T16:00:00+08:00",
    )  # fmt: skip
    cf.json(
        "case", "callback", case_no, "--satisfaction", "基本满意", "--note", "希望一次修好",
        "--by", "吴芳", "--at", "2026-11-19T10:00:00+08:00",
    )  # fmt: skip
    extra = ("--penalty", "警告", "--penalty-person", "张伟") if penalty else ()
    cf.json(
        "case", "close", case_no, "--summary", "重新安装后客户基本满意", "--cause", "安装失误",
        "--measures", "安装后增加复检一道工序", "--validity", "有效", *extra,
        "--by", "赵敏", "--at", "2026-11-19T11:00:00+08:00",
    )  # fmt: skip
    return case_no


# -- 1. every PDF of a whole procedure is valid PDF ------------------------------------------------
def test_every_pdf_of_a_whole_procedure_is_clean_pdfa(tmp_path):
    """The demo takes cases through every step (record card, slip, letter, reply letter,
    closing form, scans, sign-off, bundles, transfer list, register, report); a monthly report
    and a purge (disposal register) are added. Every PDF written, and every PDF sealed in a
    bundle, passes qpdf --check without a warning, reads in poppler without a syntax error,
    embeds every font and says it is PDF/A-3u."""
    target = tmp_path / "demo"
    env = {"COMPLAINTFORMS_USER": "吴芳"}
    assert run_cli("demo", str(target), env=env).returncode == 0
    today = dt.date.today()
    month = f"{today.year}-{today.month:02d}"
    assert run_cli("--workspace", str(target), "report", "monthly", month, env=env).returncode == 0
    sealed, pdfs = tmp_path / "sealed", []
    for bundle in (target / "records" / "archive").rglob("*.zip"):
        with zipfile.ZipFile(bundle) as zf:
            for name in zf.namelist():
                if "/forms/" in name and name.endswith(".pdf"):
                    out = sealed / bundle.stem / Path(name).name
                    out.parent.mkdir(parents=True, exist_ok=True)
                    out.write_bytes(zf.read(name))
                    pdfs.append(out)
    assert pdfs
    # The bundles sealed above are then disposed of: the disposal register.
    later = {**env, "COMPLAINTFORMS_NOW": f"{today.year + 5}-01-05T09:00:00+08:00"}
    purge = run_cli("--workspace", str(target), "archive", "purge", "--yes", env=later)
    assert purge.returncode == 0, purge.stderr

    written = sorted((target / "records").rglob("*.pdf"))
    # scans/ and unmatched/ hold the scanner's pages, not PDFs this tool wrote.
    pdfs += [p for p in written if not {"scans", "unmatched"} & set(p.parts)]
    forms = {re.sub(r"-\d{6}$", "", p.stem) for p in pdfs}
    assert forms >= set(FORMS), f"no PDF of {sorted(set(FORMS) - forms)} was checked"
    problems = [problem for p in pdfs for problem in pdf_problems(p)]
    assert problems == []


def test_a_font_family_with_pdf_delimiters_still_gives_valid_pdf(cf, ws):
    """WeasyPrint 70 writes a family's name into the PDF unescaped: "(" there broke every
    file. A template's own font, registered as "Odd (Name) #1", comes out escaped."""
    from complaintforms.documents.fonts import form_font

    font = form_font(ws.config.font_sans)
    assert font is not None
    (ws.forms_dir / "odd.otf").write_bytes(font.path.read_bytes())
    card = ws.forms_dir / "record_card.html"
    card.write_text(
        card.read_text(encoding="utf-8").replace(
            "{% block body %}",
            '{% block body %}<style>@font-face { font-family: "Odd (Name) #1"; '
            'src: url(odd.otf); } .odd { font-family: "Odd (Name) #1"; }</style>'
            '<p class="odd">记录</p>',
        ),
        encoding="utf-8",
    )
    case = cf.json("case", "new", "--from", "-", input=json.dumps(FULL_CASE, ensure_ascii=False))
    pdf = ws.root / docs(case, "record_card")[0]
    assert pdf_problems(pdf) == []
    raw = pdf.read_bytes()
    assert b"Odd-#28Name#29-#231" in raw or b"Odd-(Name)" not in raw


# -- 2. how the case ended, on paper -------------------------------------------------------------
def test_closing_issues_the_closing_form_and_it_is_sealed_into_the_bundle(cf, ws):
    case_no = closed_case(cf)
    case = cf.json("case", "show", case_no)
    assert case["closure"]["measures"] == "安装后增加复检一道工序"
    closing = docs(case, "closing_form")
    assert len(closing) == 1 and docs(case, "closing_form", "docx")
    text = pdf_text(ws.root / closing[0])
    assert "投诉处理结案单" in text.replace(" ", "")  # the title is letter-spaced
    for expected in (
        "受理",  # the decision
        "核实属实，刹车片安装不到位",  # findings
        "免费重新安装",  # plan
        "已重新安装，试车正常",  # result
        "王强",  # who approved it
        "已签字确认",
        "基本满意",  # call-back
        "希望一次修好",
        "重新安装后客户基本满意",  # closing summary
        "安装失误",  # cause
        "警告 张伟（400 元）",  # the penalty with its amount from the config
        "安装后增加复检一道工序",  # measures
        "有效",
        "2026年11月19日",  # closing date in Chinese
    ):
        assert expected in text, expected
    assert "2026-11-" not in text
    word = docx_text(ws.root / docs(case, "closing_form", "docx")[0])
    assert "安装后增加复检一道工序" in word and "警告 张伟（400 元）" in word

    cf.json("case", "signoff", case_no, "--by", "赵敏", "--at", "2026-11-20T09:00:00+08:00")
    built = cf.json("archive", "build", case_no, "--by", "档案员")
    bundle = ws.root / built["bundles"][0]["bundle"]
    with zipfile.ZipFile(bundle) as zf:
        names = zf.namelist()
    assert any(n.endswith(f"forms/{closing[0].name}") for n in names)


def test_compensation_is_printed_only_when_there_is_one(cf, ws):
    case_no = closed_case(cf, penalty=False)
    case = cf.json("case", "show", case_no)
    text = pdf_text(ws.root / docs(case, "closing_form")[0])
    assert "赔偿金额" not in text
    assert "处罚" in text and "无" in text


# -- 3. the office's own words -------------------------------------------------------------------
def set_config(ws, old: str, new: str) -> None:
    path = ws.config_path
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_forms_name_the_organisations_own_unit(cf, ws):
    set_config(ws, "unit: 客户服务中心", "unit: 营业服务部")
    case_no = register(cf)
    accept(cf, case_no)
    slip = cf.json("slip", "issue", case_no, "--by", "吴芳")
    letter = cf.json("letter", "issue", case_no, "--by", "吴芳")
    for result, form in ((slip, "feedback_slip"), (letter, "contact_letter")):
        text = pdf_text(ws.root / docs(result, form)[0])
        word = docx_text(ws.root / docs(result, form, "docx")[0])
        assert "返回营业服务部" in text and "返回营业服务部" in word
        assert "客户服务中心" not in text and "客户服务中心" not in word


def test_extra_fields_are_printed_only_when_set(cf, ws):
    set_config(
        ws,
        "  - {key: plate, label: 车牌号}",
        "  - {key: plate, label: 车牌号}\n  - {key: vin, label: 车架号(VIN)}",
    )
    case_no = register(cf)  # FULL_CASE sets the plate, not the VIN
    accept(cf, case_no)
    for step, form in (("slip", "feedback_slip"), ("letter", "contact_letter")):
        result = cf.json(step, "issue", case_no, "--by", "吴芳")
        text = pdf_text(ws.root / docs(result, form)[0])
        assert "车牌号" in text and "浙A·12345" in text
        assert "车架号" not in text, form
        assert "车架号" not in docx_text(ws.root / docs(result, form, "docx")[0])


def test_dates_and_periods_read_in_chinese(cf, ws):
    case_no = register(cf)
    result = accept(cf, case_no)
    card = pdf_text(ws.root / docs(cf.json("case", "show", case_no), "record_card")[0])
    assert "2026年11月16日 09:30" in card
    slip = cf.json("slip", "issue", case_no, "--by", "吴芳")
    text = pdf_text(ws.root / docs(slip, "feedback_slip")[0])
    assert f"2026年11月{int(result['case']['assignment']['due'][8:])}日" in text
    assert not re.search(r"20\d\d-\d\d-\d\d", text)

    report = cf.json("report", "quarterly", "2026Q4", "--by", "赵敏", "--as-of", "2026-11-30")
    assert report["period"] == "2026Q4"  # the JSON keeps the code
    pdf = ws.root / next(f["path"] for f in report["files"] if f["format"] == "pdf")
    text = pdf_text(pdf)
    assert "2026年第四季度投诉统计报告" in text and "2026年第三季度" in text
    assert "2025年第四季度" in text and "2026Q" not in text
    assert "统计截至 2026年11月30日" in text
    monthly = cf.json("report", "monthly", "2026-11", "--by", "赵敏")
    text = pdf_text(ws.root / next(f["path"] for f in monthly["files"] if f["format"] == "pdf"))
    assert "2026年11月投诉统计月报" in text and "2026年10月" in text and "2026-11" not in text

    register_ = cf.json("register", "render", "--month", "2026-11", "--by", "吴芳")
    text = pdf_text(ws.root / register_["documents"][0]["path"])
    assert "2026年11月" in text and "2026-11" not in text


def test_an_ordinary_feedback_slip_fits_on_one_page(cf, ws):
    """About 200 characters of content and four extra fields: one sheet to the department."""
    set_config(
        ws,
        "  - {key: plate, label: 车牌号}",
        "  - {key: plate, label: 车牌号}\n  - {key: vin, label: 车架号(VIN)}\n"
        "  - {key: model, label: 车型}\n  - {key: mileage, label: 行驶里程}",
    )
    content = (
        "上周在贵店更换刹车片后，行驶中仍有异响，两次返厂均未解决，每次来回要花半天时间。" * 6
    )[:200]
    case_no = register(
        cf,
        content=content,
        extra={
            "plate": "浙A·12345",
            "vin": "LSVAU2180N2123456",
            "model": "帕萨特 2022款",
            "mileage": "32,000 公里",
        },
    )
    accept(cf, case_no)
    slip = cf.json("slip", "issue", case_no, "--by", "吴芳")
    pdf = ws.root / docs(slip, "feedback_slip")[0]
    assert pdf_page_count(pdf) == 1
    text = pdf_text(pdf)
    for expected in ("LSVAU2180N2123456", "32,000 公里", "回访", "满意度", "部门负责人签字"):
        assert expected in text


def test_a_long_letter_has_no_page_with_only_the_print_line(cf, ws):
    case_no = register(cf)
    reason = "经核查，检测费为您签字确认的维修项目，收费符合公示标准。" * 14
    result = cf.json("case", "reject", case_no, "--reason", reason, "--by", "吴芳")
    pdf = ws.root / docs(result, "reply_letter")[0]
    pages = page_texts(pdf)
    footer = re.compile(r"KF-04 第 1\.0 版|打印 .*|第 \d+ 页 / 共 \d+ 页|TS-2026-\d{6}|\s")
    for i, page in enumerate(pages):
        assert footer.sub("", page), f"page {i + 1} holds only the footer"
    text = "".join(pages)
    assert "经核实，经核查" not in text  # the template does not prefix the clerk's words
    assert "现答复如下" in text
    assert "盖章" in text
    assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日", pages[-1])


def test_lists_repeat_their_header_and_never_break_a_name_or_case_number(cf, ws):
    for i in range(40):
        name = "陈𠮷祥" if i == 37 else f"顾客{i:02d}号"
        register(
            cf,
            received_at=f"2026-11-{2 + i % 20:02d}T09:{i:02d}:00+08:00",
            complainant={"name": name, "phone": "13812345678"},
            content="休息区空调温度偏低，建议调高温度。" * (1 + i % 3),
        )
    result = cf.json("register", "render", "--month", "2026-11", "--by", "吴芳")
    pdf = ws.root / next(d["path"] for d in result["documents"] if d["format"] == "pdf")
    pages = page_texts(pdf)
    assert len([p for p in pages if re.search(r"TS-2026-\d{6}", p)]) >= 2
    for page in pages:
        if re.search(r"TS-2026-\d{6}", page):  # rows: the header row above them
            assert "意见内容" in page and "经办人" in page
    text = "\n".join(pages)
    assert "陈𠮷祥" in text  # on one line: a line break would sit between the characters
    numbers = re.findall(r"TS-2026-\d{6}", text)
    assert len(set(numbers)) == 40
    assert "网点" not in text  # not a bank's wording


def test_transfer_list_has_retention_and_names_not_codes(cf, ws, tmp_path):
    case_no = closed_case(cf, severity="一般")
    major = closed_case(cf, severity="重大")
    cf.json("case", "signoff", case_no, major, "--by", "赵敏", "--at", "2026-11-20T09:00:00+08:00")
    built = cf.json("archive", "build", "--quarter", "2026Q4", "--by", "档案员")
    pdf = ws.root / next(d["path"] for d in built["transfer_list"] if d["format"] == "pdf")
    text = pdf_text(pdf)
    assert "保管期限" in text and "字节" not in text
    assert "1 年（至 2027年11月19日）" in text and "3 年（至 2029年11月19日）" in text
    assert "售后服务部" in text and "SVC" not in text
    assert "2026年第四季度" in text
    assert case_no in text and major in text
    word = docx_text(
        ws.root / next(d["path"] for d in built["transfer_list"] if d["format"] == "docx")
    )
    assert "保管期限" in word and "3 年（至 2029年11月19日）" in word


# -- 4. who compiled it, and doctor --------------------------------------------------------------
def test_a_register_needs_someone_who_compiles_it(cf, ws):
    result = cf("register", "render", "--month", "2026-11", env={"COMPLAINTFORMS_USER": None})
    assert result.exit_code == 2 and "--by" in result.stderr
    done = cf.json("register", "render", "--month", "2026-11", env={"COMPLAINTFORMS_USER": "吴芳"})
    assert done["entries"] == 0
    text = pdf_text(ws.root / done["documents"][0]["path"])
    assert "编制 吴芳" in text and "编制 客户服务中心" not in text


@pytest.mark.parametrize("missing", ["fallback", "sans"])
def test_doctor_warns_about_a_missing_fallback_font_and_fails_on_a_missing_form_font(
    cf, ws, missing
):
    if missing == "fallback":
        set_config(ws, "fallback: [Symbola]", "fallback: [No Such Symbols Font]")
    else:
        set_config(ws, "sans: Noto Sans CJK SC", "sans: No Such Sans CJK")
    result = cf("doctor")
    if missing == "fallback":
        assert result.exit_code == 0, result.stdout
        assert "warn  fallback-fonts: not installed: No Such Symbols Font" in result.stdout
        assert "fonts-symbola" in result.stdout
    else:
        assert result.exit_code == 1
        assert "FAIL  configured-fonts: not installed: No Such Sans CJK" in result.stdout
