"""The web pages of scan intake, reports, the opinion register and the archive (DESIGN.md
section 11): uploads checked and taken in, figures equal to the library's, files that
download, the register's rows, and the auditor's search, verify and download."""

from __future__ import annotations

import html
import io
import json
import re
import zipfile

import pytest
from markupsafe import escape
from PIL import Image

from complaintforms import i18n
from complaintforms.services.reports import percent, period_figures
from complaintforms.web import create_app

from .conftest import pdf_text, snapshot
from .test_archive import bundle, sealed
from .test_intake import page_image, slip_of
from .test_procedure import accept, register
from .test_register import TRICKY_CONTENT, TRICKY_NAME
from .test_scan_assign import handwritten
from .webutil import WebClient, add_user


def png_bytes(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def upload(client: WebClient, *files: tuple[bytes, str], **fields):
    data = {"files": [(io.BytesIO(content), name) for content, name in files], **fields}
    return client.post("/scans", data, content_type="multipart/form-data")


def data_key(page: str, key: str) -> str:
    found = re.search(rf'data-key="{re.escape(key)}">([^<]*)<', page)
    assert found, key
    return html.unescape(found.group(1)).strip()


def events(ws, action: str) -> list[dict]:
    return [e for e in ws.store.iter_events() if e["action"] == action]


# -- scans ----------------------------------------------------------------------------------
def test_an_uploaded_slip_is_matched_to_its_case_and_a_page_without_code_is_kept(cf, ws, web):
    case_no, pdf = slip_of(cf, ws)
    clerk = web("clerk")
    scan = png_bytes(page_image(pdf, 150))
    stray = png_bytes(handwritten(Image.new("L", (1240, 1754), 250)))
    response = upload(clerk, (scan, "回单 扫描.png"), (stray, "../../evil<b>.png"))
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page
    # Each page on the result page: the slip on its case and form, the other kept, with why.
    rows = re.findall(r'<tr class="outcome-(\w+)[^"]*">(.*?)</tr>', page, re.S)
    assert [outcome for outcome, _ in rows] == ["matched", "unmatched"]
    assert case_no in rows[0][1] and "三来处理反馈单" in rows[0][1]
    assert f'href="/cases/{case_no}"' in rows[0][1]
    assert "no complaintforms QR code" in rows[1][1] and "records/unmatched/" in rows[1][1]
    assert data_key(page, "matched") == "1" and data_key(page, "unmatched") == "1"
    # The client's names never name a path: folders dropped, odd characters replaced.
    assert "evil_b.png" in rows[1][1] and "<b>" not in page and "../" not in page
    [attachment] = ws.store.get(case_no)["attachments"]
    assert attachment["kind"] == "scan" and attachment["form"] == "feedback_slip"
    assert attachment["source_name"] == "回单_扫描.png"
    assert ws.store.read_file(attachment["path"].removeprefix("records/")) == scan
    [attached] = events(ws, "scan.attach")
    assert attached["case"] == case_no and attached["by"] == "吴芳"
    # The same upload again: taken in before, nothing attached twice.
    again = upload(clerk, (scan, "回单 扫描.png")).get_data(as_text=True)
    assert 'class="outcome-duplicate' in again and len(ws.store.get(case_no)["attachments"]) == 1


def test_an_uploaded_name_is_only_ever_a_plain_name_of_ours():
    from complaintforms.services.webviews import upload_name

    assert upload_name("../../etc/passwd.png", "png") == "passwd.png"
    assert upload_name("C:\\scans\\回单 1.exe", "pdf") == "回单_1.pdf"
    assert upload_name("...", "tiff") == "scan.tif" and upload_name(None, "jpeg") == "scan.jpg"
    long = upload_name("😀" * 100 + ".png", "png")
    assert long.endswith(".png") and len(long.encode("utf-8")) <= 255
    assert upload_name("a\x00b\nc.pdf", "pdf") == "abc.pdf"


def test_a_file_that_is_not_a_scan_is_refused_beside_files_and_nothing_is_taken_in(ws, web):
    clerk = web("clerk")
    before, files = ws.store.audit_head(), snapshot(ws)
    for content, name in ((b"just some notes", "notes.txt"), (b"MZ\x90\x00 not a pdf", "scan.pdf")):
        response = upload(clerk, (content, name))
        page = response.get_data(as_text=True)
        assert response.status_code == 422
        reason = re.search(r'id="error-files">([^<]*)<', page).group(1)
        assert name in reason and "not a PDF, PNG, JPEG, TIFF file" in reason
    # One bad file refuses the whole upload, naming it.
    good = png_bytes(Image.new("L", (50, 50), 255))
    response = upload(clerk, (good, "ok.png"), (b"<html>", "page.html"))
    assert response.status_code == 422 and "page.html" in response.get_data(as_text=True)
    empty = upload(clerk)
    assert empty.status_code == 422 and 'id="error-files"' in empty.get_data(as_text=True)
    assert ws.store.audit_head() == before and snapshot(ws) == files


def test_a_file_over_the_workspaces_scan_limit_is_refused(ws):
    ws.config_path.write_text(
        ws.config_path.read_text(encoding="utf-8") + "\nscan: {max_file_mb: 0.01}\n",
        encoding="utf-8",
    )
    app = create_app(ws.root)
    add_user(ws, "clerk")
    clerk = WebClient(app)
    clerk.login("wufang")
    noise = png_bytes(Image.effect_noise((200, 200), 80))
    assert len(noise) > 0.01 * 1024 * 1024
    response = upload(clerk, (noise, "big.png"))
    reason = re.search(r'id="error-files">([^<]*)<', response.get_data(as_text=True)).group(1)
    assert response.status_code == 422 and "big.png" in reason and "larger than" in reason
    assert events(ws, "scan.unmatched") == [] and events(ws, "scan.attach") == []


def test_the_scan_page_and_its_refusals_are_in_chinese(ws, web, monkeypatch):
    clerk = web("clerk")
    monkeypatch.setenv("COMPLAINTFORMS_LANG", "zh-CN")
    i18n.set_language("zh-CN")
    try:
        page = clerk.text("/scans")
        assert "扫描件入库" in page and "收入结果" not in page and "回收的扫描件" in page
        refused = upload(clerk, (b"hello", "notes.txt")).get_data(as_text=True)
        reason = html.unescape(re.search(r'id="error-files">([^<]*)<', refused).group(1))
        assert "文件" in reason and "notes.txt" in reason and "不是" in reason
        report = web("manager").text("/reports/quarterly/2026Q4")
        assert "2026年第四季度投诉统计报告" in report and "生成报表" in report
    finally:
        i18n.set_language("en")


# -- roles ----------------------------------------------------------------------------------
def test_each_page_is_only_for_its_roles(ws, web):
    clerk, department = web("clerk"), web("department")
    manager, auditor = web("manager"), web("auditor")
    for path in ("/archive", "/reports", "/reports/quarterly/2026Q4"):
        assert clerk.get(path).status_code == 403, path
    assert department.get("/scans").status_code == 403
    assert auditor.get("/scans").status_code == 403
    assert upload(auditor, (b"%PDF-1.4", "a.pdf")).status_code == 403
    for path in ("/register", "/register/2026-11"):
        assert auditor.get(path).status_code == 403 and department.get(path).status_code == 403
    assert manager.get("/archive").status_code == 403
    assert manager.get("/scans").status_code == 200 and clerk.get("/scans").status_code == 200
    assert auditor.get("/reports").status_code == 200 and auditor.get("/archive").status_code == 200
    assert clerk.get("/register/2026-11").status_code == 200
    # The auditor reads reports and changes nothing: no build button, and the POST is refused.
    page = auditor.text("/reports/quarterly/2026Q4")
    assert "/reports/quarterly/2026Q4/build" not in page
    before = ws.store.audit_head()
    assert auditor.post("/reports/quarterly/2026Q4/build").status_code == 403
    assert ws.store.audit_head() == before


# -- reports --------------------------------------------------------------------------------
@pytest.fixture
def quarter_cases(cf):
    numbers = [register(cf, received_at=f"2026-{m}-16T09:30:00+08:00") for m in ("10", "11", "11")]
    accept(cf, numbers[1])
    register(cf, received_at="2026-08-03T09:30:00+08:00")  # the previous quarter
    return numbers


def test_the_quarterly_page_shows_the_librarys_figures_and_stores_nothing(ws, web, quarter_cases):
    manager = web("manager")
    before = snapshot(ws)
    page = manager.text("/reports/quarterly/2026Q4")
    _, figs = period_figures(ws, "2026Q4")
    assert figs["total"] == 3 and figs["accepted"] == 1
    for key, figure in (
        ("total", "total"),
        ("accepted", "accepted"),
        ("rejected", "rejected"),
        ("resolved", "resolved"),
        ("overdue", "overdue_open"),
        ("closed", "closed"),
        ("previous_period_total", "previous_period_total"),
        ("same_period_last_year_total", "same_period_last_year_total"),
    ):
        assert data_key(page, key) == str(figs[figure]), key
    assert data_key(page, "on_time_rate") == percent(figs["on_time_rate"])
    assert data_key(page, "previous_period_total") == "1"
    assert "按渠道" in page and "来访" in page  # the tables of the printed report
    # No personal data: the complainant's name and phone are on no report.
    assert "13812345678" not in page and str(escape(TRICKY_NAME)) not in page
    charts = re.findall(r'<img class="chart" src="([^"]+)"', page)
    assert len(charts) >= 3
    image = manager.get(html.unescape(charts[0]))
    assert image.status_code == 200 and image.mimetype == "image/png"
    assert image.data.startswith(b"\x89PNG\r\n\x1a\n")
    assert Image.open(io.BytesIO(image.data)).size[0] > 100
    # Without the page's key the chart is drawn again from the figures.
    again = manager.get(html.unescape(charts[0]).split("?")[0])
    assert again.status_code == 200 and again.data.startswith(b"\x89PNG")
    assert manager.get("/reports/quarterly/2026Q4/chart/99.png").status_code == 404
    # Looking stores nothing (a chart the server no longer holds is drawn again).
    assert snapshot(ws) == before
    # Other spellings of the period lead to its page; a period that is none is refused.
    moved = manager.get("/reports/quarterly/2026q4")
    assert moved.status_code in (301, 302, 308) and moved.headers["Location"].endswith("2026Q4")
    bad = manager.get("/reports/quarterly/2026Q5")
    assert bad.status_code == 404 and "is not a quarter like 2026Q4" in bad.get_data(as_text=True)
    assert manager.get("/reports/monthly/2026-13").status_code == 404
    assert manager.get("/reports/weekly/2026-11").status_code == 404
    refused = manager.get("/reports/quarterly/2026Q4?as_of=someday")
    assert refused.status_code == 422 and "not a valid date" in refused.get_data(as_text=True)


def test_the_monthly_page_and_its_csv(ws, web, quarter_cases):
    auditor = web("auditor")
    page = auditor.text("/reports/monthly/2026-11?as_of=2026-11-30")
    _, figs = period_figures(ws, "2026-11", "2026-11-30")
    assert data_key(page, "total") == "2" and data_key(page, "overdue") == str(figs["overdue_open"])
    link = re.search(r'href="([^"]*figures\.csv[^"]*)"', page).group(1)
    response = auditor.get(html.unescape(link))
    assert response.status_code == 200 and response.mimetype == "text/csv"
    text = response.data.decode("utf-8")
    assert text.startswith("\ufeffsection,key,value\n") and "\ntotal,,2\n" in text
    assert "\nas_of,,2026-11-30\n" in text
    [download] = events(ws, "report.download")
    assert download["by"] == "钱力" and download["period"] == "2026-11"


def test_building_a_report_stores_its_pdf_docx_and_csv_and_the_links_work(ws, web, quarter_cases):
    manager, auditor = web("manager"), web("auditor")
    page = manager.text("/reports/quarterly/2026Q4")
    assert "/reports/quarterly/2026Q4/build" in page and "report.build" not in json.dumps(
        [e["action"] for e in ws.store.iter_events()]
    )
    response = manager.post("/reports/quarterly/2026Q4/build")
    assert response.status_code == 303
    [built] = events(ws, "report.build")
    assert built["by"] == "赵敏" and built["after"]["period"] == "2026Q4"
    page = manager.text(response.headers["Location"])
    links = dict(re.findall(r'class="file file-(\w+)" href="([^"]+)"', page))
    assert set(links) == {"pdf", "docx", "csv"}
    pdf = auditor.get(links["pdf"])  # the auditor reads what the manager built
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF")
    stored = {f["format"]: f for f in built["after"]["files"]}
    assert ws.store.read_file(stored["pdf"]["path"].removeprefix("records/")) == pdf.data
    csv = manager.get(links["csv"])
    assert csv.status_code == 200 and csv.data.decode("utf-8").startswith("\ufeffsection,key")
    docx = manager.get(links["docx"])
    assert docx.status_code == 200 and docx.data[:2] == b"PK"
    assert len(events(ws, "report.download")) == 3
    index = manager.text("/reports")
    assert index.count('href="/reports/quarterly/2026Q4"') == 2  # recent, and stored
    # Only the files of that period's reports are served.
    for name in ("../../workspace.json", "statistics_report-999999.pdf", "users.json"):
        assert manager.get(f"/reports/quarterly/2026Q4/files/{name}").status_code == 404
    assert manager.get(links["pdf"].replace("2026Q4", "2026Q3")).status_code == 404


# -- the opinion register ---------------------------------------------------------------------
def test_the_register_month_lists_its_entries_and_renders_the_register(cf, ws, web, tmp_path):
    case_no = register(cf)  # received 2026-11-16, content with markup in it
    cf.json(
        "opinion",
        "add",
        "--content",
        "大厅座位不足 <i>建议</i> 增加",
        "--name",
        "周敏",
        "--phone",
        "13900001111",
        "--by",
        "吴芳",
        "--at",
        "2026-11-10 09:00",
    )
    register(cf, received_at="2026-10-12T09:30:00+08:00")  # another month
    clerk = web("clerk")
    page = clerk.text("/register/2026-11")
    refs = re.findall(r'<tr data-ref="([^"]+)">', page)
    assert refs == ["OP-2026-0001", case_no]
    assert "大厅座位不足 &lt;i&gt;建议&lt;/i&gt; 增加" in page and "<i>建议</i>" not in page
    assert str(escape(TRICKY_CONTENT.splitlines()[0])) in page
    assert "<b>粗</b>" not in page
    assert "139****1111" in page and "13900001111" not in page and "13812345678" not in page
    assert clerk.text("/register").count("/register/2026-") >= 12
    assert clerk.get("/register?month=2026年11月").headers["Location"].endswith("/register/2026-11")
    assert clerk.get("/register/2026-13").status_code == 404
    other = clerk.text("/register/2026-11?department=FIN")
    assert re.findall(r'<tr data-ref="([^"]+)">', other) == []
    wrong = clerk.get("/register/2026-11?department=NOPE")
    assert wrong.status_code == 422 and 'id="error-department"' in wrong.get_data(as_text=True)
    response = clerk.post("/register/2026-11/render")
    assert response.status_code == 303
    [rendered] = events(ws, "register.render")
    assert rendered["by"] == "吴芳" and rendered["after"]["month"] == "2026-11"
    page = clerk.text(response.headers["Location"])
    links = dict(re.findall(r'class="file file-(\w+)" href="([^"]+)"', page))
    assert set(links) == {"pdf", "docx"}
    pdf = clerk.get(links["pdf"])
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    printed = tmp_path / "register.pdf"
    printed.write_bytes(pdf.data)
    assert "OP-2026-0001" in pdf_text(printed) and case_no in pdf_text(printed)
    assert clerk.get("/register/2026-11/files/../../users.json").status_code == 404


# -- the archive ----------------------------------------------------------------------------
def test_the_auditor_searches_opens_verifies_and_downloads_a_bundle(cf, ws, web, tmp_path):
    first, second = sealed(cf, tmp_path)
    open_case = register(cf)
    auditor = web("auditor")
    page = auditor.text("/archive")
    assert first in page and second in page and open_case not in page
    found = auditor.text(f"/archive?case={first[-3:]}&department=SVC&from=2025-09-01&to=2025-12-31")
    assert re.findall(r'href="/archive/([^"/]+)"', found) == [first]
    none = auditor.text("/archive?text=<script>x</script>")
    assert first not in none and second not in none
    assert "<script>" not in none and 'value="&lt;script&gt;x&lt;/script&gt;"' in none
    bad = auditor.get("/archive?from=someday")
    reason = re.search(r'id="error-from">([^<]*)<', bad.get_data(as_text=True)).group(1)
    assert bad.status_code == 422 and "not a valid date" in reason
    # The bundle's page: the case (what it holds escaped), bag-info and contents.
    page = auditor.text(f"/archive/{first}")
    assert "External-Identifier" in page and f"{first}/data/case.json" in page
    assert str(escape(TRICKY_NAME)) in page and "<合伙人>" not in page
    [viewed] = [e for e in events(ws, "case.view") if e["case"] == first]
    assert viewed["by"] == "钱力"
    verified = auditor.post(f"/archive/{first}/verify").get_data(as_text=True)
    assert 'data-verified="ok"' in verified
    download = auditor.get(f"/archive/{first}/bundle")
    assert download.status_code == 200 and download.mimetype == "application/zip"
    assert download.data == bundle(ws, first).read_bytes()
    assert f"{first}.zip" in download.headers["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(download.data)) as zf:
        assert f"{first}/bagit.txt" in zf.namelist()
    [downloaded] = events(ws, "case.download")
    assert downloaded["case"] == first and downloaded["by"] == "钱力"
    # Someone alters the stored bundle: verifying shows each problem.
    bundle(ws, first).write_bytes(b"not a zip")
    verified = auditor.post(f"/archive/{first}/verify").get_data(as_text=True)
    assert 'data-verified="problems"' in verified
    problems = re.findall(
        r"<li>(.*?)</li>", verified.split('class="problems"')[1].split("</ul>")[0]
    )
    assert len(problems) >= 2
    assert any("differs from the one recorded" in p for p in problems)
    assert any("not a readable zip" in p for p in problems)
    assert 'data-verified="ok"' in auditor.post(f"/archive/{second}/verify").get_data(as_text=True)
    # Not archived, no such case, not the auditor's: no page of the archive.
    for path in (
        f"/archive/{open_case}",
        f"/archive/{open_case}/bundle",
        "/archive/TS-2099-000001",
        "/archive/..%2F..%2Fworkspace.json/bundle",
    ):
        assert auditor.get(path).status_code == 404, path
    assert auditor.post(f"/archive/{open_case}/verify").status_code == 404
    assert web("clerk").get(f"/archive/{first}").status_code == 403
