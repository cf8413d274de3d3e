"""The web interface in a real browser (issue 15, item 5): Debian's Chromium driven by
Playwright against `complaintforms serve`, as each role, in Chinese.

What a test is about is done by clicking and typing; cases it only needs are set up by the
library on the server's workspace (tests/browser_steps.py). Each page looked at is kept as a
screenshot under build/screenshots/."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from complaintforms.services.procedure import issue_slip
from tests.browser_fixtures import shot
from tests.browser_steps import (
    CASE_URL,
    archived_case,
    closed_case,
    fill_form,
    misaligned_number_headers,
    natural_widths,
    quick_case,
    routed_case,
    shows_status,
    steps_shown,
    take_step,
    wrapped,
)
from tests.webutil import ROLE_USERS


def test_sign_in_with_the_keyboard_and_out_again(browser_page, live):
    page = browser_page(None)
    page.goto(live.url + "/cases")
    assert "/login" in page.url
    assert page.locator("h1").inner_text() == "登录"
    # The user name field has the focus: type, Tab to the password, Enter submits.
    page.keyboard.type(ROLE_USERS["clerk"][0])
    page.keyboard.press("Tab")
    page.keyboard.type("correct-horse-1")
    page.keyboard.press("Enter")
    page.wait_for_url(live.url + "/cases")
    assert "吴芳" in page.locator("header").inner_text()
    page.get_by_role("button", name="退出").click()
    page.wait_for_url(lambda url: "/login" in url)
    page.goto(live.url + "/")
    assert "/login" in page.url


def test_a_wrong_password_is_shown_beside_the_form_in_chinese(browser_page, live):
    page = browser_page(None)
    page.goto(live.url + "/login")
    page.fill("input[name=username]", "wufang")
    page.fill("input[name=password]", "wrong-password")
    page.keyboard.press("Enter")
    page.wait_for_selector("#error-password")
    assert page.locator("#error-password").inner_text() == "用户名或密码错误"
    shot(page, "login-refused")


# -- the whole procedure -------------------------------------------------------------------------
def active_name(page) -> str | None:
    return page.evaluate("() => document.activeElement && document.activeElement.name")


def register_from_the_keyboard(page) -> None:
    """The record card typed in as a clerk does at the phone: the kind has the focus, Tab
    goes from field to field, Enter in a text field sends the form."""
    assert active_name(page) == "kind"
    page.select_option("select[name=kind]", "complaint")
    page.select_option("select[name=channel]", "phone")
    page.focus('[name="complainant.name"]')
    page.keyboard.type("王小明")
    page.keyboard.press("Tab")
    assert active_name(page) == "complainant.phone"
    page.keyboard.type("13812345678")
    page.keyboard.press("Tab")
    page.keyboard.type("杭州市拱墅区湖墅南路 8 号")
    page.keyboard.press("Tab")  # 匿名: left unticked
    page.keyboard.press("Tab")
    assert active_name(page) == "complainant.confidential"
    page.keyboard.press("Space")  # 要求保密
    form = page.locator("form#register")
    fill_form(
        form,
        {
            "target.type": "department",
            "target.department": "SVC",
            "category": "维修质量",
            "severity": "general",
            "content": "更换刹车片后仍有异响，两次返厂均未解决。",
            "demand": "免费彻底检修。",
            "extra.plate": "浙A12345",
        },
    )
    page.focus('[name="complainant.address"]')
    with page.expect_navigation():
        page.keyboard.press("Enter")


def test_the_whole_procedure_in_the_browser_in_chinese(browser_page, live):
    ws = live.ws
    clerk = browser_page("clerk")
    expect(clerk.locator("h1")).to_contain_text("工作台")
    shot(clerk, "clerk-desk-empty")

    # -- register (登记), from the keyboard
    clerk.locator("header nav").get_by_role("link", name="登记投诉").click()
    clerk.wait_for_url(live.url + "/cases/new")
    expect(clerk.locator("h1")).to_contain_text("投诉登记")
    shot(clerk, "clerk-register-form")
    register_from_the_keyboard(clerk)
    landed = CASE_URL.match(clerk.url)
    assert landed, clerk.url
    case_no = landed.group(1)
    shows_status(clerk, live, case_no, "registered")
    case = ws.store.get(case_no)
    assert case["complainant"] == {
        **case["complainant"],
        "name": "王小明",
        "phone": "13812345678",
        "confidential": True,
        "anonymous": False,
    }
    assert case["recorded_by"] == "吴芳" and case["extra"] == {"plate": "浙A12345"}
    assert case["target"]["department"] == "SVC" and case["category"] == "维修质量"
    record = clerk.locator("main > dl.record").inner_text()
    assert "王小明" in record and "13812345678" in record  # the centre sees it all
    assert steps_shown(clerk) >= {"accept", "reject"}
    assert "signoff" not in steps_shown(clerk)
    shot(clerk, "clerk-case-registered")

    # -- accept and route (受理, 分派) to 售后服务部 with its handler
    accept = clerk.locator("#step-accept")
    expect(accept.locator("select[name=department]")).to_have_value("SVC")  # as registered
    take_step(clerk, "accept", department="SVC", handler="李明")
    shows_status(clerk, live, case_no, "assigned")
    assert ws.store.get(case_no)["assignment"]["handler"] == "李明"
    assert "slip" in steps_shown(clerk)
    shot(clerk, "clerk-case-assigned")

    # -- the feedback slip (三来处理反馈单), and its PDF from the link
    take_step(clerk, "slip")
    shows_status(clerk, live, case_no, "assigned")
    assert "feedback_slip" in [d["form"] for d in ws.store.get(case_no)["documents"]]
    slip_link = clerk.locator("a[href*='/files/feedback_slip'][href$='.pdf']")
    expect(slip_link).to_have_count(1)
    with clerk.expect_navigation() as opened:
        slip_link.click()
    response = opened.value
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    clerk.go_back()
    expect(clerk.locator("h1")).to_contain_text(case_no)
    shot(clerk, "clerk-case-slip-issued")
    desk_of_clerk = clerk.goto(live.url + "/")
    assert desk_of_clerk.status == 200
    expect(clerk.locator("#awaiting_return")).to_contain_text(case_no)
    shot(clerk, "clerk-desk-awaiting-return")

    # -- the department (售后服务部, 李明) on its desk: the complainant as on the slip
    department = browser_page("department")
    awaiting = department.locator("#awaiting_return")
    expect(awaiting).to_contain_text(case_no)
    row = awaiting.locator("tr", has=department.locator(f"a:text-is('{case_no}')"))
    assert "王**" in row.inner_text()
    desk_text = department.locator("main").inner_text()
    assert "王小明" not in desk_text and "13812345678" not in desk_text
    shot(department, "department-desk")
    row.get_by_role("link", name=case_no).click()
    department.wait_for_url(live.url + f"/cases/{case_no}")
    record = department.locator("main > dl.record").inner_text()
    assert "王**" in record and "138****5678" in record
    assert "王小明" not in record and "13812345678" not in record and "湖墅南路" not in record
    page_text = department.locator("main").inner_text()
    assert "13812345678" not in page_text and "王小明" not in page_text
    assert steps_shown(department) == {"return"}
    files = department.locator("a[href*='/files/']").evaluate_all(
        "els => els.map(a => a.textContent)"
    )
    assert files and all(name.startswith("feedback_slip") for name in files), files
    shot(department, "department-case")

    # -- the department records the returned slip (处理)
    take_step(
        department,
        "return",
        findings="刹车盘磨损不均，异响来自刹车盘。",
        plan="免费更换刹车盘并试车。",
        approved_by="王强",
        result="已更换刹车盘，试车无异响。",
        customer_signed=True,
    )
    shows_status(department, live, case_no, "resolved")
    handling = ws.store.get(case_no)["handling"]
    assert handling["findings"] == "刹车盘磨损不均，异响来自刹车盘。"
    assert handling["approved_by"] == "王强" and handling["customer_signed"] is True
    assert handling["recorded_by"] == "李明"
    assert steps_shown(department) == set()
    shot(department, "department-case-returned")

    # -- the call-back (回访): first without the satisfaction, refused beside its field
    clerk.goto(live.url + f"/cases/{case_no}")
    shows_status(clerk, live, case_no, "resolved")
    refused = take_step(clerk, "callback", note="客户称已无异响。")
    assert refused.status == 422
    error = clerk.locator("#step-callback #error-satisfaction")
    expect(error).to_have_text("满意度：必填")
    expect(clerk.locator("#step-callback [name=note]")).to_have_value("客户称已无异响。")
    shows_status(clerk, live, case_no, "resolved")
    shot(clerk, "clerk-callback-refused-422")
    take_step(clerk, "callback", satisfaction="satisfied", note="客户称已无异响。")
    shows_status(clerk, live, case_no, "followed_up")
    assert ws.store.get(case_no)["callback"]["satisfaction"] == "satisfied"
    shot(clerk, "clerk-case-called-back")

    # -- closed (结案) with a summary
    take_step(
        clerk, "close", summary="已免费更换刹车盘，客户满意。", measures="加强维修后试车检查。"
    )
    shows_status(clerk, live, case_no, "closed")
    closure = ws.store.get(case_no)["closure"]
    assert closure["summary"] == "已免费更换刹车盘，客户满意。" and closure["by"] == "吴芳"
    assert "signoff" not in steps_shown(clerk)  # the manager's
    shot(clerk, "clerk-case-closed")

    # -- the manager signs it off (审核)
    manager = browser_page("manager")
    shot(manager, "manager-desk")
    manager.goto(live.url + f"/cases/{case_no}")
    assert "signoff" in steps_shown(manager)
    shot(manager, "manager-case-closed")
    take_step(manager, "signoff")
    shows_status(manager, live, case_no, "signed_off")
    assert ws.store.get(case_no)["signoff"]["by"] == "赵敏"
    assert "signoff" not in steps_shown(manager) and "close" not in steps_shown(manager)
    timeline = manager.locator("ol.timeline").inner_text()
    for who in ("吴芳", "李明", "赵敏"):
        assert who in timeline, who
    shot(manager, "manager-case-signed-off")


# -- a refusal -------------------------------------------------------------------------------
def test_a_bad_phone_number_is_refused_beside_its_field_and_nothing_is_stored(browser_page, live):
    clerk = browser_page("clerk")
    clerk.goto(live.url + "/cases/new")
    form = clerk.locator("form#register")
    fill_form(
        form,
        {
            "channel": "visit",
            "complainant.name": "李四",
            "complainant.phone": "138-电话-5678",
            "content": "销售顾问承诺的赠品至今未兑现。",
            "target.type": "staff",
            "target.staff": "孙丽",
        },
    )
    with clerk.expect_navigation() as sent:
        form.get_by_role("button", name="登记投诉").click()
    assert sent.value.status == 422
    phone = form.locator('label.field:has([name="complainant.phone"])')
    expect(phone).to_have_class(re.compile(r"\binvalid\b"))
    error = phone.locator("#error-complainant\\.phone")
    expect(error).to_have_text(re.compile(r"^投诉人电话：.?138-电话-5678.? ?不是有效的电话号码$"))
    # Everything typed is still there, and nothing at all was stored.
    for name, value in (
        ("complainant.phone", "138-电话-5678"),
        ("complainant.name", "李四"),
        ("content", "销售顾问承诺的赠品至今未兑现。"),
        ("channel", "visit"),
        ("target.type", "staff"),
        ("target.staff", "孙丽"),
    ):
        expect(form.locator(f'[name="{name}"]')).to_have_value(value)
    assert live.ws.store.count() == 0
    shot(clerk, "clerk-register-refused-422")


# -- roles -----------------------------------------------------------------------------------
def test_each_role_sees_only_its_cases_pages_and_steps(browser_page, live):
    ws = live.ws
    ours = routed_case(ws, "SVC")
    theirs = routed_case(ws, "SAL")
    closed = closed_case(ws, "SVC")
    sealed = archived_case(ws, "FIN", complainant={"name": "周海", "phone": "13700002222"})

    # The department user: no registration, another department's case does not exist.
    department = browser_page("department")
    nav = department.locator("header nav")
    expect(nav.locator("a[href='/cases/new']")).to_have_count(0)
    expect(department.locator("#awaiting_return")).not_to_contain_text(theirs)
    department.goto(live.url + "/cases")
    listed = department.locator("main").inner_text()
    assert ours in listed and theirs not in listed
    shot(department, "department-case-list")
    missing = department.goto(live.url + f"/cases/{theirs}")
    assert missing.status == 404
    expect(department.locator("h1")).to_have_text("404 未找到")
    expect(department.locator("main p.error")).to_have_text("没有这个页面或案件")
    shot(department, "department-other-department-404")
    forbidden = department.goto(live.url + "/cases/new")
    assert forbidden.status == 403
    department.goto(live.url + f"/cases/{ours}")
    assert steps_shown(department) == {"return"}  # not accept, slip, close ...

    # The auditor: the archive, and no registration (403).
    auditor = browser_page("auditor")
    expect(auditor.locator("header nav a[href='/cases/new']")).to_have_count(0)
    shot(auditor, "auditor-desk")
    auditor.locator("header nav").get_by_role("link", name="归档").click()
    auditor.wait_for_url(re.compile(r".*/archive$"))
    expect(auditor.locator("h1")).to_have_text("档案：封存的归档包")
    expect(auditor.locator("table.archive tbody")).to_contain_text(sealed)
    fill_form(auditor.locator("form.filters"), {"complainant": "周海"})
    with auditor.expect_navigation() as searched:
        auditor.locator("form.filters button[type=submit]").click()
    assert searched.value.status == 200
    found = auditor.locator("table.archive tbody tr")
    expect(found).to_have_count(1)
    expect(found.locator("td.case-no")).to_have_text(sealed)
    shot(auditor, "auditor-archive-search")
    found.get_by_role("link", name=sealed, exact=True).click()
    auditor.wait_for_url(live.url + f"/archive/{sealed}")
    expect(auditor.locator("h1")).to_contain_text(sealed)
    expect(auditor.locator("main > dl.record").first).to_contain_text("已归档")
    shot(auditor, "auditor-archive-case")
    refused = auditor.goto(live.url + "/cases/new")
    assert refused.status == 403
    expect(auditor.locator("h1")).to_have_text("403 无权操作")
    expect(auditor.locator("main p.error")).to_have_text("您的角色无权进行此操作")
    shot(auditor, "auditor-register-403")
    assert auditor.goto(live.url + f"/cases/{ours}").status == 404  # not archived

    # A closed case: the clerk may not sign it off, the manager may.
    clerk = browser_page("clerk")
    clerk.goto(live.url + f"/cases/{closed}")
    assert "signoff" not in steps_shown(clerk) and "hold" not in steps_shown(clerk)
    expect(clerk.get_by_role("button", name="审核", exact=True)).to_have_count(0)
    manager = browser_page("manager")
    manager.goto(live.url + f"/cases/{closed}")
    assert "signoff" in steps_shown(manager)
    expect(manager.get_by_role("button", name="审核", exact=True)).to_have_count(1)


# -- the manager's pages ---------------------------------------------------------------------
@pytest.fixture
def on_a_workday(monkeypatch) -> dt.date:
    """The server's clock (and the library's here) pinned to a Wednesday morning, so that
    supervision has notices to issue whatever day the tests run."""
    monkeypatch.setenv("COMPLAINTFORMS_NOW", "2026-12-02T10:00:00+08:00")
    return dt.date(2026, 12, 2)


def test_the_managers_supervision_reports_and_register_pages(on_a_workday, browser_page, live):
    ws = live.ws
    today = on_a_workday
    # Received last month (18 November) and long overdue; the others today, due soon.
    overdue = routed_case(ws, "SVC", received_at="2026-11-18T09:30:00+08:00")
    this_month = [
        routed_case(ws, "SAL", kind="inquiry"),
        quick_case(ws, "FIN", category="收费争议", channel="visit"),
        quick_case(ws, "SVC", kind="suggestion", channel="email"),
    ]

    manager = browser_page("manager")
    nav = manager.locator("header nav")
    nav.get_by_role("link", name="催办督办").click()
    manager.wait_for_url(live.url + "/supervision")
    expect(manager.locator("h1")).to_contain_text("催办督办")
    item = manager.locator("main table.list tr", has=manager.locator(f"a:text-is('{overdue}')"))
    expect(item).to_contain_text("已逾期（督办）")
    before_notices = item.inner_text()
    shot(manager, "manager-supervision")
    issue = manager.get_by_role("button", name="开具今日通知书")
    looks = "b => ['backgroundColor', 'opacity', 'cursor'].map(k => getComputedStyle(b)[k]).join()"
    enabled_look = issue.evaluate(looks)
    with manager.expect_navigation() as issued:
        issue.click()
    assert issued.value.status == 200
    expect(manager.locator("main")).to_contain_text("本次开具的通知书")
    notice = manager.locator("main table.list tr", has=manager.locator(f"a:text-is('{overdue}')"))
    expect(notice.first).to_contain_text("督办通知书")
    reminders = ws.store.get(overdue).get("reminders") or []
    assert [r.get("level") for r in reminders] == ["supervise"], reminders
    pdf = notice.first.get_by_role("link", name="PDF")
    response = manager.context.request.get(live.url + pdf.get_attribute("href"))
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    expect(issue).to_be_disabled()  # nothing is left to remind today
    disabled_look = issue.evaluate(looks)
    shot(manager, "manager-supervision-issued")

    nav.get_by_role("link", name="统计报表").click()
    manager.wait_for_url(live.url + "/reports")
    shot(manager, "manager-reports-index")
    quarter = f"{today.year}Q{(today.month - 1) // 3 + 1}"
    manager.locator(f"a[href='/reports/quarterly/{quarter}']").click()
    manager.wait_for_url(live.url + f"/reports/quarterly/{quarter}")
    expect(manager.locator("h1")).to_contain_text("季度")
    widths = natural_widths(manager, "img.chart")
    assert widths and all(w > 0 for w in widths), widths
    assert len(widths) >= 4, widths  # by category, by channel, the comparison, by month
    figures = manager.locator("dl.figures")
    expect(figures.locator("dd[data-key=previous_period_total]")).to_have_text("0")
    report_headers = misaligned_number_headers(manager)
    report_labels = figures.locator("dt").all_inner_texts()
    report_wrapped = wrapped(manager, "dl.figures dt")
    shot(manager, "manager-report-quarterly")

    month = f"{today:%Y-%m}"
    nav.get_by_role("link", name="顾客意见登记簿").click()
    manager.wait_for_url(live.url + "/register")
    manager.locator(f"a[href='/register/{month}']").click()
    manager.wait_for_url(live.url + f"/register/{month}")
    rows = manager.locator("table.register tbody tr[data-ref]")
    expect(rows).to_have_count(len(this_month))
    refs = rows.evaluate_all("rows => rows.map(r => r.dataset.ref)")
    assert sorted(refs) == sorted(this_month)
    shot(manager, "manager-register-month")

    # Checked last, so that everything above is checked whatever they say:
    wrong = []
    # before any notice was issued (and with no supervision.leader configured at all) the
    # case is to be copied to the leader, not "已抄送领导" (already copied);
    if "已抄送领导" in before_notices:
        wrong.append(f"says 已抄送领导 before any notice: {before_notices}")
    # and a button that does nothing now looks like one.
    if disabled_look == enabled_look:
        wrong.append(f"the disabled button looks enabled: {disabled_look}")
    # The report: each figure's label on one line, ASCII brackets nowhere in the Chinese,
    # and the headers of the columns of counts over their counts.
    if report_wrapped:
        wrong.append(f"figure labels wrap: {report_wrapped}")
    if [t for t in report_labels if "(" in t or ")" in t]:
        wrong.append(f"ASCII brackets in the figure labels: {report_labels[:4]}")
    if report_headers:
        wrong.append(f"headers not over their figures: {sorted(set(report_headers))}")
    assert wrong == [], "\n".join(wrong)


# -- scans -----------------------------------------------------------------------------------
def test_an_uploaded_feedback_slip_is_matched_to_its_case(browser_page, live):
    ws = live.ws
    case_no = routed_case(ws, "SVC")
    issued = issue_slip(ws, case_no, by="吴芳", formats=("pdf",))
    slip = next(d for d in issued.case["documents"] if d["form"] == "feedback_slip")
    pdf = ws.root / slip["path"]

    clerk = browser_page("clerk")
    clerk.locator("header nav").get_by_role("link", name="扫描件入库").click()
    clerk.wait_for_url(live.url + "/scans")
    shot(clerk, "clerk-scans-form")
    clerk.set_input_files("input[name=files]", str(pdf))
    with clerk.expect_navigation() as sent:
        clerk.locator("form.fields button[type=submit]").click()
    assert sent.value.status == 200
    expect(clerk.locator("[data-key=matched]")).to_have_text("1")
    row = clerk.locator("table.scans tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_have_class(re.compile(r"\boutcome-matched\b"))
    expect(row.locator("td.case-no")).to_have_text(case_no)
    expect(row).to_contain_text("三来处理反馈单")
    [attached] = ws.store.get(case_no)["attachments"]
    assert attached["kind"] == "scan" and attached["form"] == "feedback_slip"
    shot(clerk, "clerk-scans-result")

    # The page is 扫描件入库; its button and headings say 收入, which reads as "income".
    words = [
        clerk.locator("form.fields button[type=submit]").inner_text(),
        *clerk.locator("main h2").all_inner_texts(),
    ]
    assert not [w for w in words if "收入" in w], words
