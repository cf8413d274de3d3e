"""Steps of the browser tests (tests/test_browser.py): taking a step of a case page by its
form, reading the status a page shows, and cases set up by the library where the browser
is not what a test is about."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from complaintforms.services.cases import register_case
from complaintforms.services.procedure import (
    accept_case,
    callback_case,
    close_case,
    issue_slip,
    return_slip,
    signoff_cases,
)

# The statuses as a clerk reads them (DESIGN.md section 3), written out here so that a wrong
# label on a page is caught rather than copied from the code.
STATUS = {
    "registered": "已登记",
    "assigned": "已分派",
    "resolved": "已处理",
    "followed_up": "已回访",
    "closed": "已结案",
    "signed_off": "已审核",
}
CASE_URL = re.compile(r".*/cases/(TS-\d{4}-\d{6})$")


def fill_form(form, fields: dict) -> None:
    """Each field of `fields` in `form` (a locator) by its name, as the user would: a select
    by its option value, a checkbox ticked or not, anything else typed."""
    for name, value in fields.items():
        field = form.locator(f'[name="{name}"]')
        kind = field.evaluate("e => e.tagName === 'INPUT' ? 'input:' + e.type : e.tagName")
        if kind == "SELECT":
            field.select_option(value)
        elif kind == "input:checkbox":
            field.set_checked(bool(value))
        else:
            field.fill(value)


def take_step(page: Page, step: str, **fields):
    """Fill the form of `step` on the case page shown (opening it if it is folded away) and
    press its button; the response of the page the browser lands on."""
    box = page.locator(f"#step-{step}")
    expect(box).to_have_count(1)
    if box.evaluate("e => e.tagName") == "DETAILS" and not box.get_attribute("open"):
        box.locator("summary").click()
    fill_form(box, fields)
    with page.expect_navigation() as landed:
        box.locator("button[type=submit]").click()
    return landed.value


def steps_shown(page: Page) -> set[str]:
    """The steps whose forms the case page shows."""
    ids = page.locator("[id^='step-']").evaluate_all("els => els.map(e => e.id)")
    return {i.removeprefix("step-") for i in ids}


def shows_status(page: Page, live, case_no: str, status: str) -> None:
    """The case page names the status in Chinese, and the store has it."""
    expect(page.locator("h1")).to_contain_text(f"{case_no} · {STATUS[status]}")
    assert live.ws.store.get(case_no)["status"] == status


def natural_widths(page: Page, selector: str = "img") -> list[int]:
    """naturalWidth of each image (0: it did not load), once every one has finished."""
    page.wait_for_function(
        "s => [...document.querySelectorAll(s)].every(i => i.complete)", arg=selector
    )
    return page.locator(selector).evaluate_all("els => els.map(i => i.naturalWidth)")


# -- cases set up by the library --------------------------------------------------------------
def quick_case(ws, department: str = "SVC", **fields) -> str:
    """A complaint about `department`, registered without its record card (fast)."""
    data = {
        "kind": "complaint",
        "channel": "phone",
        "complainant": {"name": "张三丰", "phone": "13900001111"},
        "target": {"type": "department", "department": department},
        "category": "服务态度",
        "content": "接待人员态度冷淡，等候一个多小时无人过问。",
        **fields,
    }
    return register_case(ws, data, by="吴芳", render=False)["case_no"]


def routed_case(ws, department: str = "SVC", **fields) -> str:
    case_no = quick_case(ws, department, **fields)
    accept_case(ws, case_no, by="吴芳", department=department)
    return case_no


def closed_case(ws, department: str = "SVC", *, slip: bool = True, **fields) -> str:
    """A case handled, called back and closed (of its documents only the PDFs of the slip
    and of the closing form are rendered)."""
    case_no = routed_case(ws, department, **fields)
    if slip:
        issue_slip(ws, case_no, by="吴芳", formats=("pdf",))
    return_slip(
        ws,
        case_no,
        by="李明",
        findings="接待高峰人手不足。",
        cause=None,
        responsible=None,
        plan="增派前台人员。",
        approved_by="王强",
        result="已向客户致歉。",
        customer_signed=True,
    )
    callback_case(ws, case_no, by="吴芳", satisfaction="satisfied")
    close_case(ws, case_no, by="吴芳", summary="已致歉并改进排班。", formats=("pdf",))
    return case_no


def archived_case(ws, department: str = "SVC", **fields) -> str:
    """A case closed, signed off by the manager and sealed into its archive bundle."""
    from complaintforms.services import archive

    case_no = closed_case(ws, department, slip=False, **fields)
    signoff_cases(ws, [case_no], by="赵敏")
    archive.build(ws, [case_no], by="赵敏")
    return case_no


# -- how a page looks --------------------------------------------------------------------------
def misaligned_number_headers(page: Page, tables: str = "main table") -> list[str]:
    """The headers of columns of figures (td.num) not aligned as their figures are: a
    left-aligned 件数 over right-aligned counts stands over the column beside it."""
    return page.locator(tables).evaluate_all(
        """tables => tables.flatMap(t => {
            const row = t.querySelector('tbody tr');
            if (!row) return [];
            return [...t.querySelectorAll('thead th')].flatMap((th, i) => {
                const td = row.children[i];
                if (!td || !td.classList.contains('num')) return [];
                const a = getComputedStyle(th).textAlign, b = getComputedStyle(td).textAlign;
                return a === b ? [] : [`${th.textContent} (${a} over ${b})`];
            });
        })"""
    )


def wrapped(page: Page, selector: str) -> list[str]:
    """The elements of `selector` whose text takes more than one line."""
    return page.locator(selector).evaluate_all(
        """els => els.filter(e => {
            const line = parseFloat(getComputedStyle(e).lineHeight) || 1.5 * parseFloat(getComputedStyle(e).fontSize);
            return e.getBoundingClientRect().height > 1.5 * line;
        }).map(e => e.textContent.trim())"""
    )
