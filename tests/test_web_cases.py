"""The web interface's cases (DESIGN.md sections 9, 11 and 12): the desk, the list and its
search, registration, a case with its steps and files, and supervision — driven through the
Flask test client against a real TinyDB workspace, each effect read back from the store."""

from __future__ import annotations

import re

import pytest

from complaintforms.services.cases import register_case
from complaintforms.services.procedure import accept_case

REGISTRATION = {
    "kind": "complaint",
    "channel": "phone",
    "complainant.name": "王小明",
    "complainant.phone": "13812345678",
    "complainant.address": "杭州市拱墅区湖墅南路 8 号",
    "target.type": "department",
    "target.department": "SVC",
    "category": "维修质量",
    "content": "更换刹车片后仍有异响，两次返厂均未解决。",
    "demand": "免费彻底检修。",
    "extra.plate": "浙A12345",
}


def register(client, **fields) -> str:
    """Register through the form; the case number from the redirect."""
    response = client.post("/cases/new", {**REGISTRATION, **fields})
    assert response.status_code == 303, response.get_data(as_text=True)[:3000]
    location = response.headers["Location"]
    assert re.fullmatch(r"/cases/TS-\d{4}-\d{6}", location), location
    return location.rsplit("/", 1)[1]


def step(client, case_no: str, name: str, data: dict | None = None, expect: int = 303):
    response = client.post(f"/cases/{case_no}/{name}", data or {})
    assert response.status_code == expect, response.get_data(as_text=True)[:3000]
    return response


def quick_case(ws, **complainant) -> str:
    """A case registered by the library, without its record card (fast)."""
    data = {
        "kind": "complaint",
        "channel": "phone",
        "complainant": {"name": "王小明", "phone": "13812345678", **complainant},
        "target": {"type": "department", "department": "SVC"},
        "content": "刹车异响。",
    }
    return register_case(ws, data, by="吴芳", render=False)["case_no"]


def routed(ws, department: str = "SVC", **complainant) -> str:
    case_no = quick_case(ws, **complainant)
    accept_case(ws, case_no, by="吴芳", department=department)
    return case_no


def section(page: str, anchor: str) -> str:
    """The HTML of one step's form on a case page (from its id to the end of its form)."""
    start = page.index(f'id="{anchor}"')
    return page[start : page.index("</form>", start)]


def events(ws, since: int = 0) -> list[dict]:
    return [e for e in ws.store.iter_events() if e["seq"] > since]


# -- the whole procedure ---------------------------------------------------------------------------------
def test_the_whole_procedure_through_the_web_as_the_right_roles(ws, web):
    clerk, department, manager = web("clerk"), web("department"), web("manager")

    case_no = register(clerk)
    case = ws.store.get(case_no)
    assert case["status"] == "registered" and case["recorded_by"] == "吴芳"
    assert case["complainant"]["phone"] == "13812345678"
    assert case["target"] == {"type": "department", "department": "SVC", "staff": None}
    assert case["extra"] == {"plate": "浙A12345"}
    assert [d["form"] for d in case["documents"]] == ["record_card", "record_card"]
    assert case_no in clerk.text("/")  # awaiting the decision

    step(clerk, case_no, "accept", {"department": "SVC", "handler": "李明"})
    case = ws.store.get(case_no)
    assert case["status"] == "assigned"
    assert case["assignment"]["department"] == "SVC" and case["assignment"]["handler"] == "李明"
    assert case["decision"]["accepted"] is True and case["decision"]["by"] == "吴芳"

    step(clerk, case_no, "slip")
    case = ws.store.get(case_no)
    assert "feedback_slip" in [d["form"] for d in case["documents"]]
    desk = clerk.text("/")
    awaiting_return = desk[
        desk.index('id="awaiting_return"') : desk.index('id="awaiting_callback"')
    ]
    assert case_no in awaiting_return

    # The department sees its case, masked as on the slip, and may record the return only.
    assert case_no in department.text("/")
    page = department.text(f"/cases/{case_no}")
    assert "138****5678" in page and "13812345678" not in page
    assert 'id="step-return"' in page and 'id="step-accept"' not in page
    step(
        department,
        case_no,
        "return",
        {
            "findings": "刹车盘磨损不均。",
            "plan": "更换刹车盘。",
            "approved_by": "王强",
            "result": "已更换，试车无异响。",
            "customer_signed": "on",
            "compensation": "200",
        },
    )
    case = ws.store.get(case_no)
    assert case["status"] == "resolved"
    assert case["handling"]["findings"] == "刹车盘磨损不均。"
    assert case["handling"]["customer_signed"] is True
    assert case["handling"]["compensation"] == 200
    assert case["handling"]["recorded_by"] == "李明"  # the department user's display name
    desk = clerk.text("/")
    assert case_no in desk[desk.index('id="awaiting_callback"') :]

    step(clerk, case_no, "callback", {"satisfaction": "satisfied", "note": "满意"})
    case = ws.store.get(case_no)
    assert case["status"] == "followed_up" and case["callback"]["satisfaction"] == "satisfied"

    step(clerk, case_no, "close", {"summary": "已妥善处理。", "measures": "加强检查。"})
    case = ws.store.get(case_no)
    assert case["status"] == "closed" and case["closure"]["summary"] == "已妥善处理。"
    assert case["closure"]["by"] == "吴芳"

    step(manager, case_no, "signoff")
    case = ws.store.get(case_no)
    assert case["status"] == "signed_off" and case["signoff"]["by"] == "赵敏"

    page = manager.text(f"/cases/{case_no}")
    timeline = page[page.index('class="timeline"') :]
    for label in (
        "registered",
        "accepted",
        "feedback slip issued",
        "slip returned",
        "called back",
        "closed",
        "signed off",
    ):
        assert label in timeline, label
    assert 'id="step-signoff"' not in page and 'id="step-close"' not in page
    assert 'id="step-hold"' in page  # all a manager may still do to a signed-off case
    actions = [e["action"] for e in ws.store.history(case_no)]
    assert (
        actions.index("case.accept")
        < actions.index("slip.issue")
        < actions.index("slip.return")
        < actions.index("case.signoff")
    )


def test_a_case_not_accepted_gets_its_reply_letter(ws, web):
    clerk = web("clerk")
    case_no = quick_case(ws)
    step(clerk, case_no, "reject", {"reason": "不属于本公司业务范围。", "validity": "invalid"})
    case = ws.store.get(case_no)
    assert case["status"] == "rejected" and case["decision"]["reason"] == "不属于本公司业务范围。"
    assert case["decision"]["validity"] == "invalid"
    assert "reply_letter" in [d["form"] for d in case["documents"]]
    page = clerk.text(f"/cases/{case_no}")
    assert "reply_letter-" in page and 'id="step-accept"' not in page


def test_corrections_are_masked_for_the_department_and_a_manager_holds_a_case(ws, web):
    clerk, department, manager = web("clerk"), web("department"), web("manager")
    case_no = routed(ws, "SVC")
    assert 'id="step-hold"' not in clerk.text(f"/cases/{case_no}")  # a manager's step
    step(
        clerk,
        case_no,
        "amend",
        {
            "reason": "电话记错",
            "complainant.phone": "13900002222",
            "complainant.confidential": "false",
        },
    )
    case = ws.store.get(case_no)
    assert case["complainant"]["phone"] == "13900002222"
    assert case["amendments"][-1]["changes"] == {
        "complainant.phone": {"before": "13812345678", "after": "13900002222"}
    }
    page = department.text(f"/cases/{case_no}")
    assert "139****2222" in page and "138****5678" in page  # the correction, masked
    assert "13900002222" not in page and "13812345678" not in page
    step(manager, case_no, "hold", {"reason": "客户起诉"})
    page = manager.text(f"/cases/{case_no}")
    assert "under hold" in page and 'name="release"' in page
    step(manager, case_no, "hold", {"release": "on"})
    assert 'name="release"' not in manager.text(f"/cases/{case_no}")
    actions = [e["action"] for e in ws.store.history(case_no)]
    assert "case.amend" in actions and "case.hold" in actions and "case.hold.release" in actions


# -- registration ------------------------------------------------------------------------------------------
def test_the_registration_form_has_the_fields_of_the_contract(web):
    page = web("clerk").text("/cases/new")
    for name in (
        "kind",
        "channel",
        "received_at",
        "complainant.name",
        "complainant.phone",
        "complainant.address",
        "complainant.anonymous",
        "complainant.confidential",
        "target.type",
        "target.department",
        "target.staff",
        "category",
        "severity",
        "content",
        "demand",
        "complainant_count",
        "first_receiver",
        "extra.plate",
    ):
        assert f'name="{name}"' in page, name
    assert 'type="datetime-local" name="received_at"' in page
    assert re.search(r'<select name="kind" autofocus', page)
    assert '<option value="phone">来电</option>' in page  # codes as values, Chinese labels
    assert '<option value="SVC">售后服务部</option>' in page
    assert 'name="csrf_token"' in page
    assert page.count("autofocus") == 1


def test_a_bad_registration_is_refused_beside_its_field_keeps_what_was_typed_and_stores_nothing(
    ws, web
):
    clerk = web("clerk")
    head = ws.store.audit_head()
    response = clerk.post("/cases/new", {**REGISTRATION, "complainant.phone": "call me <maybe>"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    beside = re.search(r'id="error-complainant\.phone">([^<]*)<', page)
    assert beside and "is not a phone number" in beside.group(1)
    assert "complainant&#39;s phone" in beside.group(1)  # the field named by its label
    assert 'value="call me &lt;maybe&gt;"' in page  # kept, escaped
    assert 'value="王小明"' in page and "两次返厂均未解决" in page
    assert ws.store.count() == 0 and ws.store.audit_head() == head


def test_a_registration_refusal_of_a_part_of_the_record_is_shown_beside_its_choice_or_at_the_top(
    ws, web
):
    clerk = web("clerk")
    response = clerk.post("/cases/new", {**REGISTRATION, "target.type": "company"})
    assert response.status_code == 422
    beside = re.search(r'id="error-target\.type">([^<]*)<', response.get_data(as_text=True))
    assert beside and "names no department" in beside.group(1)
    response = clerk.post("/cases/new", {**REGISTRATION, "decision.accepted": "true"})
    assert response.status_code == 422
    top = re.search(r'id="error-form">([^<]*)<', response.get_data(as_text=True))
    assert top and "decision" in top.group(1)
    assert ws.store.count() == 0


def test_only_the_centre_registers(web):
    assert web("department").get("/cases/new").status_code == 403
    assert web("auditor", name="qianli").post("/cases/new", REGISTRATION).status_code == 403


# -- refused steps ------------------------------------------------------------------------------------------
def test_a_refused_step_is_422_beside_the_field_in_its_form_and_changes_nothing(ws, web):
    clerk = web("clerk")
    case_no = quick_case(ws)
    before, seq = ws.store.get(case_no), ws.store.audit_head()["seq"]
    response = step(clerk, case_no, "accept", {"department": "NOPE", "handler": "李明"}, 422)
    page = response.get_data(as_text=True)
    form = section(page, "step-accept")
    assert 'id="error-department"' in form and "unknown department" in form
    assert 'value="李明"' in form  # what was typed, kept in that form
    assert 'id="error-department"' not in section(page, "step-reject")
    assert ws.store.get(case_no) == before
    assert [e["action"] for e in events(ws, seq)] == ["case.view"]  # the page was seen


def test_a_step_the_case_does_not_allow_now_is_refused_with_its_reason(ws, web):
    clerk = web("clerk")
    case_no = quick_case(ws)
    before = ws.store.get(case_no)
    response = step(clerk, case_no, "close", {"summary": "结案"}, 422)
    assert "cannot close (结案) a case that is registered" in response.get_data(as_text=True)
    assert ws.store.get(case_no) == before


def test_a_step_the_role_may_not_take_is_403_and_changes_nothing(ws, web):
    department, clerk = web("department"), web("clerk")
    case_no = routed(ws, "SVC")
    head = ws.store.audit_head()
    assert step(department, case_no, "accept", {"department": "SVC"}, 403)
    assert step(department, case_no, "slip", {}, 403)
    assert step(clerk, case_no, "signoff", {}, 403)
    assert step(clerk, case_no, "hold", {"reason": "争议"}, 403)
    assert ws.store.audit_head() == head
    assert ws.store.get(case_no)["status"] == "assigned"


def test_an_unknown_step_or_case_is_404_and_a_post_needs_its_csrf_token(ws, web):
    clerk = web("clerk")
    case_no = quick_case(ws)
    head = ws.store.audit_head()
    assert step(clerk, case_no, "explode", {}, 404)
    assert step(clerk, "TS-2026-999999", "accept", {"department": "SVC"}, 404)
    assert (
        clerk.post(f"/cases/{case_no}/accept", {"department": "SVC"}, csrf=False).status_code == 403
    )
    assert ws.store.audit_head() == head
    response = step(clerk, case_no, "accept", {"department": "SVC", "colour": "red"}, 422)
    assert "not a field of this step" in response.get_data(as_text=True)
    assert ws.store.get(case_no)["status"] == "registered"


# -- who sees what ----------------------------------------------------------------------------------------
def test_a_department_user_gets_404_for_another_departments_case_and_its_files(ws, web):
    department = web("department")  # SVC
    theirs = routed(ws, "SAL")
    unrouted = quick_case(ws)
    ours = routed(ws, "SVC")
    clerk = web("clerk")
    step(clerk, theirs, "slip")
    slip = next(d for d in ws.store.get(theirs)["documents"] if d["form"] == "feedback_slip")
    name = slip["path"].rsplit("/", 1)[1]
    assert clerk.get(f"/cases/{theirs}/files/{name}").status_code == 200
    head = ws.store.audit_head()
    assert department.get(f"/cases/{theirs}").status_code == 404
    assert department.get(f"/cases/{unrouted}").status_code == 404
    assert department.get(f"/cases/{theirs}/files/{name}").status_code == 404
    assert step(department, theirs, "return", {"findings": "x"}, 404)
    assert ws.store.audit_head() == head  # nothing seen, nothing recorded
    listed = department.text("/cases")
    assert ours in listed and theirs not in listed and unrouted not in listed
    desk = department.text("/")
    assert ours in desk and theirs not in desk
    assert web("admin").get(f"/cases/{ours}").status_code == 404
    assert web("auditor").get(f"/cases/{ours}").status_code == 404  # not archived


def test_the_department_sees_the_complainant_masked_and_only_its_slips_and_letters(ws, web):
    clerk, department = web("clerk"), web("department")
    case_no = register(clerk, **{"complainant.confidential": "on"})
    step(clerk, case_no, "accept", {"department": "SVC"})
    step(clerk, case_no, "slip")
    page = department.text(f"/cases/{case_no}")
    assert "王**" in page and "138****5678" in page
    assert "王小明" not in page and "13812345678" not in page and "湖墅南路" not in page
    case = ws.store.get(case_no)
    names = {
        d["form"]: d["path"].rsplit("/", 1)[1] for d in case["documents"] if d["format"] == "pdf"
    }
    assert names["feedback_slip"] in page and names["record_card"] not in page
    assert department.get(f"/cases/{case_no}/files/{names['record_card']}").status_code == 404
    slip = department.get(f"/cases/{case_no}/files/{names['feedback_slip']}")
    assert slip.status_code == 200 and slip.mimetype == "application/pdf"
    listed = department.text("/cases")
    assert "王**" in listed and "王小明" not in listed
    # The centre sees the complainant as recorded.
    full = clerk.text(f"/cases/{case_no}")
    assert "王小明" in full and "13812345678" in full


def test_a_department_user_cannot_find_cases_by_the_complainants_phone_or_name(ws, web):
    department = web("department")
    case_no = routed(ws, "SVC")
    assert case_no in department.text("/cases?q=" + case_no)
    assert case_no not in department.text("/cases?q=13812345678")
    assert case_no not in department.text("/cases?q=王小明")
    assert case_no in department.text("/cases?q=刹车")


def test_the_desk_of_an_auditor_and_an_admin_points_them_at_their_pages(ws, web):
    case_no = quick_case(ws)
    auditor = web("auditor").text("/")
    assert case_no not in auditor and "/archive" in auditor
    admin = web("admin").text("/")
    assert case_no not in admin and "user add" in admin
    assert web("admin", name="root2").get("/cases").status_code == 403


def test_the_desk_counts_overdue_and_due_today(ws, web, monkeypatch):
    monkeypatch.setenv("COMPLAINTFORMS_NOW", "2026-11-20T10:00:00+08:00")  # a Friday
    clerk = web("clerk")
    late = register_case(
        ws,
        {
            "kind": "complaint",
            "channel": "phone",
            "complainant": {"name": "李四"},
            "content": "久拖不办。",
            "received_at": "2026-11-10 09:00",
        },
        by="吴芳",
        render=False,
    )["case_no"]
    today = register_case(
        ws,
        {
            "kind": "inquiry",
            "channel": "phone",
            "complainant": {"name": "张三"},
            "content": "咨询。",
            "received_at": "2026-11-19 09:00",
        },
        by="吴芳",
        render=False,
    )["case_no"]
    page = clerk.text("/")
    overdue = page[page.index('id="overdue"') : page.index('id="awaiting_decision"')]
    due_today = page[page.index('id="due_today"') : page.index('id="overdue"')]
    assert late in overdue and today not in overdue
    assert today in due_today and late not in due_today
    assert re.search(r'href="#overdue"><strong>1</strong>', page)
    assert late in clerk.text("/cases?overdue=1") and today not in clerk.text("/cases?overdue=1")


# -- audit of reads ---------------------------------------------------------------------------------------
def test_every_view_and_download_is_an_audit_event(ws, web):
    clerk = web("clerk")
    case_no = register(clerk)
    seq = ws.store.audit_head()["seq"]
    clerk.text(f"/cases/{case_no}")
    viewed = events(ws, seq)
    assert [(e["action"], e["case"], e["by"], e["user"]) for e in viewed] == [
        ("case.view", case_no, "吴芳", "wufang")
    ]
    card = next(d for d in ws.store.get(case_no)["documents"] if d["format"] == "pdf")
    name = card["path"].rsplit("/", 1)[1]
    pdf = clerk.get(f"/cases/{case_no}/files/{name}")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF")
    assert pdf.headers["Content-Disposition"].startswith("inline")
    docx = clerk.get(f"/cases/{case_no}/files/{name[:-4]}.docx")
    assert docx.status_code == 200 and docx.headers["Content-Disposition"].startswith("attachment")
    downloads = [e for e in events(ws, seq) if e["action"] == "case.download"]
    assert [(e["case"], e["file"]) for e in downloads] == [
        (case_no, name),
        (case_no, name[:-4] + ".docx"),
    ]
    page = clerk.text(f"/cases/{case_no}")
    assert "Viewed or downloaded 3 times" in page  # reads are counted, not in the timeline


def test_a_file_not_listed_in_the_case_is_404(ws, web):
    clerk = web("clerk")
    case_no = register(clerk)
    other = register(clerk, **{"complainant.name": "李四"})
    other_card = ws.store.get(other)["documents"][0]["path"].rsplit("/", 1)[1]
    seq = ws.store.audit_head()["seq"]
    for name in (
        "index.json",
        "record_card-999999.pdf",
        "..%2F..%2Findex.json",
        "%2e%2e",
        other_card,  # another case's document
    ):
        assert clerk.get(f"/cases/{case_no}/files/{name}").status_code == 404, name
    assert clerk.get(f"/cases/{case_no}/files/../../index.json").status_code == 404
    assert clerk.get(f"/cases/{other}/files/{other_card}").status_code == 200
    assert [e["action"] for e in events(ws, seq)] == ["case.download"]


# -- escaping ---------------------------------------------------------------------------------------------
def test_what_a_user_typed_is_escaped_on_the_case_page_the_list_and_the_desk(ws, web):
    clerk = web("clerk")
    case_no = register(
        clerk,
        **{
            "complainant.name": '<img src=x onerror="alert(1)">',
            "content": "<script>alert(2)</script>",
        },
    )
    for path in (f"/cases/{case_no}", "/cases", "/"):
        page = clerk.text(path)
        assert "<script>alert(2)" not in page and "<img src=x" not in page, path
        assert "&lt;img src=x onerror=" in page, path
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in clerk.text(f"/cases/{case_no}")


# -- the list ---------------------------------------------------------------------------------------------
def test_the_list_filters_and_the_search_box(ws, web):
    clerk = web("clerk")
    first = quick_case(ws, name="王小明", phone="13812345678")
    second = quick_case(ws, name="李四", phone="139 0000 1111")
    third = routed(ws, "SAL", name="赵六", phone="13700002222")
    page = clerk.text("/cases")
    assert page.index(third) < page.index(second) < page.index(first)  # newest first
    for n in (first, second, third):
        assert f'href="/cases/{n}"' in page
    assert '<option value="assigned">已分派</option>' in page  # codes, Chinese labels

    def found(query: str) -> set[str]:
        text = clerk.text("/cases?" + query)
        return {n for n in (first, second, third) if f'href="/cases/{n}"' in text}

    assert found(f"q={second}") == {second}
    assert found(f"q={second.lower()}") == {second}
    assert found("q=1111") == {second}  # the last four digits
    assert found("q=%2B86%20139-0000-1111") == {second}  # the whole number, however written
    assert found("q=李") == {second}  # a part of a name
    assert found("q=刹车") == {first, second, third}  # a text of the case
    assert found("q=nothing-like-it") == set()
    assert found("status=assigned") == {third}
    assert found("department=SAL") == {third}
    assert found("status=registered&department=SVC") == {first, second}
    received = ws.store.get(first)["received_at"]
    quarter = f"{received[:4]}Q{(int(received[5:7]) - 1) // 3 + 1}"
    assert found(f"quarter={quarter}") == {first, second, third}
    assert found("quarter=2019Q1") == set()
    assert found(f"quarter={quarter}&q=1111") == {second}
    bad = clerk.get("/cases?quarter=sometime")
    assert bad.status_code == 422
    assert re.search(r'id="error-quarter">[^<]+', bad.get_data(as_text=True))
    assert clerk.get("/cases?q=123").status_code == 200  # too short for a phone: a text


def test_the_list_is_paged_newest_first(ws, web, monkeypatch):
    from complaintforms.services import listing

    monkeypatch.setattr(listing, "PER_PAGE", 2)
    clerk = web("clerk")
    numbers = [quick_case(ws, name=f"客户{i}") for i in range(5)]
    first = clerk.text("/cases")
    assert {n for n in numbers if n in first} == set(numbers[3:])
    assert "page=2" in first and 'rel="prev"' not in first
    second = clerk.text("/cases?page=2")
    assert {n for n in numbers if n in second} == set(numbers[1:3])
    third = clerk.text("/cases?page=3")
    assert {n for n in numbers if n in third} == {numbers[0]} and 'rel="next"' not in third
    assert clerk.get("/cases?page=0").status_code == 422


def test_a_listing_without_filters_reads_only_the_newest_months(ws, web, monkeypatch):
    from complaintforms.services import listing

    clerk = web("clerk")
    for month in ("2026-01", "2026-02", "2026-03"):
        for day in range(10, 13):
            register_case(
                ws,
                {
                    "kind": "complaint",
                    "channel": "phone",
                    "complainant": {"name": "客户"},
                    "content": "内容",
                    "received_at": f"{month}-{day} 09:00",
                },
                by="吴芳",
                render=False,
            )
    monkeypatch.setattr(listing, "PER_PAGE", 2)
    read: list[str] = []
    store = clerk.app.extensions["complaintforms"].get().store
    original = store.iter_newest

    def spy(month, statuses=None):
        read.append(month)
        return original(month, statuses)

    monkeypatch.setattr(store, "iter_newest", spy)
    monkeypatch.setattr(
        store, "iter_records", lambda *a, **k: pytest.fail("a listing read every month")
    )
    page = clerk.text("/cases")
    assert "TS-2026-000009" in page and "TS-2026-000008" in page
    assert read == ["2026-03"]  # the page and one more case came from the newest month


def test_the_desk_reads_only_the_months_that_hold_open_cases(ws, web, monkeypatch):
    from complaintforms.services.corrections import void_case

    clerk = web("clerk")
    numbers = {}
    for month in ("2026-01", "2026-02", "2026-03"):
        numbers[month] = register_case(
            ws,
            {
                "kind": "complaint",
                "channel": "phone",
                "complainant": {"name": "客户"},
                "content": "内容",
                "received_at": f"{month}-10 09:00",
            },
            by="吴芳",
            render=False,
        )["case_no"]
    void_case(ws, numbers["2026-01"], by="吴芳", reason="重复登记")
    void_case(ws, numbers["2026-03"], by="吴芳", reason="重复登记")
    store = clerk.app.extensions["complaintforms"].get().store
    read: list[str] = []
    original = store._partition

    def spy(key, collection="cases"):
        if collection == "cases":
            read.append(key)
        return original(key, collection)

    monkeypatch.setattr(store, "_partition", spy)
    page = clerk.text("/")
    assert numbers["2026-02"] in page and numbers["2026-01"] not in page
    assert read == ["2026-02"]  # not the months holding only settled cases


# -- supervision ------------------------------------------------------------------------------------------
def test_supervision_lists_due_and_overdue_cases_and_issues_the_notices(ws, web, monkeypatch):
    monkeypatch.setenv("COMPLAINTFORMS_NOW", "2026-11-20T10:00:00+08:00")  # a Friday
    manager = web("manager")
    overdue = register_case(
        ws,
        {
            "kind": "complaint",
            "channel": "phone",
            "complainant": {"name": "李四"},
            "content": "久拖不办。",
            "received_at": "2026-11-10 09:00",
        },
        by="吴芳",
        render=False,
    )["case_no"]
    accept_case(ws, overdue, by="吴芳", department="SVC", at="2026-11-10 10:00")
    assert web("clerk").get("/supervision").status_code == 403
    page = manager.text("/supervision")
    assert overdue in page and "issue today&#39;s notices" in page
    response = manager.post("/supervision")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    links = re.findall(r'href="(/supervision/notices/2026-11-20/[^"]+\.pdf)"', page)
    assert links, page[:3000]
    reminders = ws.store.get(overdue)["reminders"]
    assert [r["level"] for r in reminders] == ["supervise"]
    pdf = manager.get(links[0])
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert manager.get("/supervision/notices/2026-11-20/index.json").status_code == 404
    assert manager.get("/supervision/notices/nonsense/x.pdf").status_code == 404
    # Run again the same day: nothing new; the notices stay listed for the day.
    again = manager.post("/supervision").get_data(as_text=True)
    assert "Nothing new to remind or supervise today." in again
    assert links[0] in again
    assert len(ws.store.get(overdue)["reminders"]) == 1
    # The case lists the notice among its files.
    assert links[0].rsplit("/", 1)[1] in manager.text(f"/cases/{overdue}")


# -- the language -----------------------------------------------------------------------------------------
def test_the_pages_speak_chinese(ws, monkeypatch):
    from complaintforms import i18n
    from complaintforms.web import create_app
    from tests.webutil import WebClient, add_user

    monkeypatch.setenv("COMPLAINTFORMS_LANG", "zh-CN")
    try:
        app = create_app(ws.root)
        add_user(ws, "clerk")
        clerk = WebClient(app)
        clerk.login("wufang")
        case_no = register(clerk)
        page = clerk.text(f"/cases/{case_no}")
        assert '<html lang="zh-CN">' in page
        for word in (
            "受理</h3>",
            "不受理</h3>",
            "<dt>投诉内容</dt>",
            "文书与扫描件",
            "办理经过",
            "· 已登记",
            "当前可办理的步骤",
            "纸面办理时间",
        ):
            assert word in page, word
        refused = clerk.post(f"/cases/{case_no}/accept", {"department": "NOPE"})
        assert refused.status_code == 422
        beside = re.search(
            r'id="error-department">([^<]*)<',
            section(refused.get_data(as_text=True), "step-accept"),
        )
        assert beside and "责任部门" in beside.group(1) and "NOPE" in beside.group(1)
        assert "department" not in beside.group(1)
        desk = clerk.text("/")
        for word in ("今日到期", "逾期", "待受理判定", "待回访"):
            assert word in desk, word
        form = clerk.text("/cases/new")
        assert "登记" in form and "投诉人电话" in form
    finally:
        i18n.set_language("en")


@pytest.mark.parametrize("path", ["/", "/cases", "/cases/new", "/supervision"])
def test_pages_without_a_session_go_to_sign_in(web_app, path):
    response = web_app.test_client().get(path)
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
