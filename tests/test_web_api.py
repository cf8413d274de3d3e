"""The JSON API under /api/v1/ (DESIGN.md section 11): bearer tokens from `user token`, the
same answers as the command line's --json, errors as JSON, and nothing changed by a refusal."""

from __future__ import annotations

import json

import pytest

from complaintforms import i18n
from complaintforms.services import users
from tests.webutil import add_user

NOW = "2026-11-20T10:00:00+08:00"  # a Friday

# A complaint as a company's WeChat form sends it (channel wechat, no recorded_by: the
# token's user records it).
WECHAT = {
    "kind": "complaint",
    "channel": "wechat",
    "received_at": "2026-11-20T09:12:00+08:00",
    "complainant": {
        "name": "林小雨",
        "phone": "13900001111",
        "address": "杭州市滨江区 <江南大道> 8 号",
    },
    "target": {"type": "department", "department": "SVC"},
    "category": "服务时效",
    "content": "预约保养等了三个小时 & 无人解释",
    "demand": "说明原因，赔偿误工",
}

# Cases registered through the command line, for the listings.
CASES = [
    {
        "channel": "phone",
        "received_at": "2026-10-12T09:00:00+08:00",
        "complainant": {"name": "王五", "phone": "13811112222"},
        "category": "产品质量",
        "content": "空调异响",
    },
    {
        "channel": "visit",
        "received_at": "2026-11-02T09:00:00+08:00",
        "complainant": {
            "name": "欧阳保密",
            "phone": "13812345678",
            "address": "杭州市秘密路 9 号",
            "confidential": True,
        },
        "target": {"type": "department", "department": "SVC"},
        "category": "维修质量",
        "content": "刹车片安装不到位",
    },
    {
        "channel": "letter",
        "received_at": "2026-11-18T09:00:00+08:00",
        "complainant": {"name": "赵六", "phone": "0571-88001234"},
        "target": {"type": "department", "department": "SAL"},
        "category": "收费争议",
        "content": "多收了上牌费 Fee",
    },
    {
        "channel": "email",
        "received_at": "2026-11-19T15:00:00+08:00",
        "complainant": {"name": "钱七", "phone": "13700007777"},
        "category": "服务态度",
        "content": "电话无人接听",
    },
]


@pytest.fixture(autouse=True)
def pinned_clock(monkeypatch):
    monkeypatch.setenv("COMPLAINTFORMS_NOW", NOW)


@pytest.fixture
def token(ws):
    """`token("clerk")`: a new user of that role (tests/webutil.py) and an API token of
    theirs, as `user token` makes it."""

    def make(role: str, *, name: str | None = None, department: str | None = None) -> str:
        user = add_user(ws, role, name=name, department=department)
        return users.new_token(ws, user["name"], by="管理员")

    return make


@pytest.fixture
def client(web_app):
    return web_app.test_client()


def bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


def register(cf, data: dict) -> str:
    return cf.json("case", "new", "--from", "-", input=json.dumps(data, ensure_ascii=False))[
        "case_no"
    ]


@pytest.fixture
def cases(ws, cf) -> list[str]:
    """CASES registered (without their record cards, to keep the tests quick); the second
    accepted to SVC on the day (overdue by NOW), the third to SAL."""
    from complaintforms.services.cases import register_case

    numbers = [
        register_case(ws, {**data, "recorded_by": "测试员"}, render=False)["case_no"]
        for data in CASES
    ]
    cf.json(
        "case", "accept", numbers[1], "--department", "SVC", "--at", "2026-11-02T10:00:00+08:00"
    )
    cf.json(
        "case", "accept", numbers[2], "--department", "SAL", "--at", "2026-11-18T10:00:00+08:00"
    )
    return numbers


def cases_in_store(ws) -> list[str]:
    return sorted(c["case_no"] for c in ws.store.iter_records())


def assert_json_error(response, status: int, field: str | None = None) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/json"
    data = response.get_json()
    assert isinstance(data["error"], str) and data["error"]
    assert "Traceback" not in data["error"] and "<" not in data["error"][:1]
    if field is not None:
        assert data["field"] == field
    return data


# -- authentication -----------------------------------------------------------------------------
def test_without_a_valid_bearer_token_every_api_route_is_401_json(ws, client, token, cases):
    good = token("clerk")
    before = ws.store.audit_head()
    for headers in ({}, bearer("cf_not-a-token"), bearer(""), {"Authorization": good}):
        for method, path in (
            ("get", f"/api/v1/cases/{cases[0]}"),
            ("get", "/api/v1/cases"),
            ("post", "/api/v1/cases"),
            ("post", f"/api/v1/cases/{cases[0]}/accept"),
            ("get", "/api/v1/reports/quarterly/2026Q4"),
            ("get", "/api/v1/no-such-route"),
        ):
            response = getattr(client, method)(path, headers=headers, json=WECHAT)
            assert_json_error(response, 401)
    assert ws.store.audit_head() == before
    # The same token, spelt as RFC 6750 allows ("bearer" in any case), works.
    assert (
        client.get("/api/v1/cases", headers={"Authorization": f"bearer {good}"}).status_code == 200
    )


def test_a_disabled_users_token_stops_working_and_works_again_when_enabled(
    ws, client, token, cases
):
    secret = token("clerk")
    assert client.get(f"/api/v1/cases/{cases[0]}", headers=bearer(secret)).status_code == 200
    users.set_active(ws, "wufang", False, by="管理员")
    assert_json_error(client.get(f"/api/v1/cases/{cases[0]}", headers=bearer(secret)), 401)
    users.set_active(ws, "wufang", True, by="管理员")
    assert client.get(f"/api/v1/cases/{cases[0]}", headers=bearer(secret)).status_code == 200


def test_a_session_cookie_alone_does_not_reach_the_api(ws, web, cf):
    """A browser signed in to the pages: another site making it POST to the API gets 401,
    with or without the session's CSRF token; nothing is stored."""
    clerk = web("clerk")
    number = register(cf, CASES[0])
    before, stored = ws.store.audit_head(), cases_in_store(ws)
    for headers in ({}, {"X-CSRF-Token": clerk.csrf}):
        response = clerk.client.post("/api/v1/cases", json=WECHAT, headers=headers)
        assert_json_error(response, 401)
        response = clerk.client.post(
            f"/api/v1/cases/{number}/accept", json={"department": "SVC"}, headers=headers
        )
        assert_json_error(response, 401)
        assert_json_error(clerk.client.get(f"/api/v1/cases/{number}", headers=headers), 401)
    assert ws.store.audit_head() == before and cases_in_store(ws) == stored
    assert clerk.get("/").status_code == 200  # the pages still know the session


def test_a_bearer_post_needs_no_csrf_token(ws, client, token):
    secret = token("clerk")
    response = client.post("/api/v1/cases", json=WECHAT, headers=bearer(secret))
    assert response.status_code == 201, response.get_json()
    assert "csrf" not in json.dumps(response.get_json()).lower()


# -- GET /api/v1/cases/<case_no> ----------------------------------------------------------------
def test_show_is_case_show_json_and_is_an_audit_event(ws, cf, client, token, cases):
    secret = token("clerk")
    for number in cases:
        before = ws.store.audit_head()
        response = client.get(f"/api/v1/cases/{number}", headers=bearer(secret))
        assert response.status_code == 200
        assert response.get_json() == cf.json("case", "show", number)
        events = list(ws.store.iter_events())
        assert ws.store.audit_head() != before
        assert events[-1]["action"] == "case.view" and events[-1]["case"] == number
        assert events[-1]["by"] == "吴芳"


def test_show_answers_404_alike_for_a_hidden_and_a_missing_case_and_logs_nothing(
    ws, client, token, cases
):
    sales = token("department", name="sunli", department="SAL")
    auditor, admin = token("auditor"), token("admin")
    before = ws.store.audit_head()
    hidden = client.get(f"/api/v1/cases/{cases[1]}", headers=bearer(sales))  # SVC's case
    missing = client.get("/api/v1/cases/TS-2026-999999", headers=bearer(sales))
    assert assert_json_error(hidden, 404) == assert_json_error(missing, 404)
    assert_json_error(client.get("/api/v1/cases/not..a..number", headers=bearer(sales)), 404)
    for secret in (auditor, admin):  # nothing archived yet; admin sees no case at all
        assert_json_error(client.get(f"/api/v1/cases/{cases[0]}", headers=bearer(secret)), 404)
    assert ws.store.audit_head() == before
    # Its own department's case it sees.
    assert client.get(f"/api/v1/cases/{cases[2]}", headers=bearer(sales)).status_code == 200


def test_a_department_sees_the_complainant_masked_as_on_the_slip(cf, client, token, cases):
    secret = token("department")  # SVC
    shown = client.get(f"/api/v1/cases/{cases[1]}", headers=bearer(secret)).get_json()
    full = cf.json("case", "show", cases[1])
    assert full["complainant"]["phone"] == "13812345678"
    assert shown["complainant"]["phone"] == "138****5678"
    assert shown["complainant"]["name"] == "欧*" + "*" * 2  # confidential: the name masked
    assert shown["complainant"]["address"] == "（保密）"
    assert "13812345678" not in json.dumps(shown) and "秘密路" not in json.dumps(shown)
    # Everything else as the command line shows it.
    assert {k: v for k, v in shown.items() if k != "complainant"} == {
        k: v for k, v in full.items() if k != "complainant"
    }


# -- GET /api/v1/cases --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "query, options",
    [
        ("", ()),
        ("status=assigned", ("--status", "assigned")),
        ("status=registered", ("--status", "registered")),
        ("department=SVC", ("--department", "SVC")),
        ("department=销售部", ("--department", "销售部")),
        ("quarter=2026Q4", ("--quarter", "2026Q4")),
        ("month=2026-10", ("--month", "2026-10")),
        ("overdue=1", ("--overdue",)),
        ("phone=5678", ("--phone", "5678")),
        ("name=王", ("--name", "王")),
        ("category=收费争议", ("--category", "收费争议")),
        ("text=fee", ("--text", "fee")),
        (
            "status=assigned&quarter=2026Q4&overdue=1",
            ("--status", "assigned", "--quarter", "2026Q4", "--overdue"),
        ),
    ],
)
def test_list_is_case_list_json_for_the_same_filters(cf, client, token, cases, query, options):
    secret = token("manager")
    response = client.get(f"/api/v1/cases?{query}", headers=bearer(secret))
    assert response.status_code == 200, response.get_json()
    page = response.get_json()
    expected = cf.json("case", "list", *options)
    assert page["items"] == expected
    assert page["total"] == len(expected) and page["page"] == 1 and page["pages"] == 1
    assert page["next"] is None and page["prev"] is None


def test_filters_that_pick_something_pick_the_right_cases(client, token, cases):
    secret = token("clerk")

    def numbers(query: str) -> list[str]:
        page = client.get(f"/api/v1/cases?{query}", headers=bearer(secret)).get_json()
        return [c["case_no"] for c in page["items"]]

    assert numbers("") == cases
    assert numbers("overdue=1") == [cases[0], cases[1]]  # never routed, and past due
    assert numbers("overdue=0") == cases
    assert numbers("status=assigned") == [cases[1], cases[2]]
    assert numbers("phone=13812345678") == [cases[1]]
    assert numbers("month=2026-10") == [cases[0]]
    assert numbers("text=FEE") == [cases[2]]


def test_list_pages_keep_the_order_and_say_how_to_go_on(cf, client, token, cases):
    secret = token("clerk")
    expected = cf.json("case", "list")
    seen, path, pages = [], "/api/v1/cases?per_page=3&quarter=2026Q4", 0
    while path:
        page = client.get(path, headers=bearer(secret)).get_json()
        assert page["per_page"] == 3 and page["total"] == 4 and page["pages"] == 2
        assert len(page["items"]) <= 3
        seen += page["items"]
        pages += 1
        path = page["next"]
        assert path is None or "quarter=2026Q4" in path  # the filters go on
    assert pages == 2 and seen == expected
    last = client.get("/api/v1/cases?per_page=3&page=2", headers=bearer(secret)).get_json()
    assert last["prev"] is not None and "page=1" in last["prev"]
    beyond = client.get("/api/v1/cases?per_page=3&page=9", headers=bearer(secret)).get_json()
    assert beyond["items"] == [] and beyond["total"] == 4


def test_a_departments_token_lists_only_its_cases_masked(cf, client, token, cases):
    svc = token("department")
    page = client.get("/api/v1/cases", headers=bearer(svc)).get_json()
    assert [c["case_no"] for c in page["items"]] == [cases[1]] and page["total"] == 1
    assert page["items"][0]["complainant"]["phone"] == "138****5678"
    # Asking for another department's cases shows none of them.
    other = client.get("/api/v1/cases?department=SAL", headers=bearer(svc)).get_json()
    assert other["items"] == [] and other["total"] == 0
    # Looking cases up by complainant is the centre's; a department would unmask them.
    for query in ("phone=13812345678", "name=欧阳"):
        assert_json_error(
            client.get(f"/api/v1/cases?{query}", headers=bearer(svc)), 403, query.split("=")[0]
        )


def test_roles_without_the_case_list_get_403(client, token, cases):
    for role in ("auditor", "admin"):
        assert_json_error(client.get("/api/v1/cases", headers=bearer(token(role))), 403)


@pytest.mark.parametrize(
    "query, field",
    [
        ("status=bogus", "status"),
        ("department=XYZ", "department"),
        ("quarter=2026Q5", "quarter"),
        ("month=2026-13", "month"),
        ("overdue=maybe", "overdue"),
        ("phone=12", "phone"),
        ("category=不存在", "category"),
        ("page=0", "page"),
        ("page=x", "page"),
        ("per_page=100000", "per_page"),
        ("stauts=assigned", "stauts"),
        ("status=assigned&status=closed", "status"),
    ],
)
def test_a_bad_filter_is_refused_with_its_field(client, token, cases, query, field):
    assert_json_error(
        client.get(f"/api/v1/cases?{query}", headers=bearer(token("clerk"))), 422, field
    )


# -- POST /api/v1/cases ---------------------------------------------------------------------------
def test_a_wechat_form_files_a_complaint(ws, cf, client, token):
    secret = token("clerk")
    response = client.post("/api/v1/cases", json=WECHAT, headers=bearer(secret))
    assert response.status_code == 201, response.get_json()
    case = response.get_json()
    number = case["case_no"]
    assert number == "TS-2026-000001"
    assert response.headers["Location"] == f"/api/v1/cases/{number}"
    stored = ws.store.get(number)
    assert stored["channel"] == "wechat" and stored["status"] == "registered"
    assert stored["complainant"] == {
        **WECHAT["complainant"],
        "anonymous": False,
        "confidential": False,
    }
    assert stored["content"] == WECHAT["content"]
    assert stored["recorded_by"] == "吴芳"  # the token's user records it
    assert {d["form"] for d in stored["documents"]} == {"record_card"}
    # What `case new --json` prints is the case as `case show --json` shows it.
    assert case == cf.json("case", "show", number)
    assert [e["action"] for e in ws.store.iter_events()][-1] == "case.new"
    # The Location answers with the same case.
    again = client.get(response.headers["Location"], headers=bearer(secret)).get_json()
    assert again == case


def test_the_body_is_what_case_new_from_takes(cf, client, token):
    """The same file registered by the command line and by the API: the same case."""
    secret = token("clerk")
    data = {**WECHAT, "channel": "微信", "recorded_by": "吴芳", "severity": "重大"}
    by_cli = cf.json(
        "case", "new", "--from", "-", "--by", "吴芳", input=json.dumps(data, ensure_ascii=False)
    )
    by_api = client.post("/api/v1/cases", json=data, headers=bearer(secret)).get_json()

    def same(case: dict) -> dict:
        return {k: v for k, v in case.items() if k not in ("case_no", "documents", "repeat_of")}

    assert same(by_api) == same(by_cli)
    assert by_api["repeat_of"] == [by_cli["case_no"]]  # the same complainant again
    assert [d["form"] for d in by_api["documents"]] == [d["form"] for d in by_cli["documents"]]


@pytest.mark.parametrize(
    "body, status, field",
    [
        ({**WECHAT, "content": ""}, 422, "content"),
        ({k: v for k, v in WECHAT.items() if k != "channel"}, 422, "channel"),
        ({**WECHAT, "channel": "pigeon"}, 422, "channel"),
        ({**WECHAT, "complainant": "林小雨"}, 422, "complainant"),
        (
            {**WECHAT, "complainant": {**WECHAT["complainant"], "phone": "call me"}},
            422,
            "complainant.phone",
        ),
        (
            {**WECHAT, "target": {"type": "department", "department": "XYZ"}},
            422,
            "target.department",
        ),
        ({**WECHAT, "recorded_by": "别人"}, 422, "recorded_by"),
        ({**WECHAT, "status": "closed"}, 422, None),
        ({**WECHAT, "received_at": "2027-01-01T09:00:00+08:00"}, 422, "received_at"),
        ("[1, 2]", 400, None),
        ('"a case"', 400, None),
        ("{not json", 400, None),
        ('{"channel": "wechat", "channel": "web"}', 400, "channel"),
        ("", 400, None),
        (b"\xff\xfe{}", 400, None),
    ],
)
def test_a_refused_registration_stores_nothing(ws, client, token, body, status, field):
    secret = token("clerk")
    before = ws.store.audit_head()
    if isinstance(body, dict):
        response = client.post("/api/v1/cases", json=body, headers=bearer(secret))
    else:
        response = client.post(
            "/api/v1/cases",
            data=body,
            headers={**bearer(secret), "Content-Type": "application/json"},
        )
    data = assert_json_error(response, status)
    if field is not None:
        assert data["field"] == field
    if status == 422:
        assert "field" in data  # a refusal names its field (null when it has none)
    assert ws.store.audit_head() == before and cases_in_store(ws) == []


def test_a_body_past_the_limit_is_refused(ws, client, token):
    from complaintforms.services.api import MAX_BODY

    big = {**WECHAT, "content": "长" * MAX_BODY}
    secret = token("clerk")
    before = ws.store.audit_head()
    response = client.post("/api/v1/cases", json=big, headers=bearer(secret))
    assert_json_error(response, 413)
    assert ws.store.audit_head() == before and cases_in_store(ws) == []


@pytest.mark.parametrize("role", ["department", "auditor", "admin"])
def test_roles_that_may_not_register_get_403_and_nothing_is_stored(ws, client, token, role):
    secret = token(role)
    before = ws.store.audit_head()
    assert_json_error(client.post("/api/v1/cases", json=WECHAT, headers=bearer(secret)), 403)
    assert ws.store.audit_head() == before and cases_in_store(ws) == []


# -- POST /api/v1/cases/<case_no>/<step> ----------------------------------------------------------
def test_a_step_through_the_api_is_the_step_of_the_command_line(ws, cf, client, token, cases):
    secret = token("clerk")
    number = cases[3]
    before_docs = ws.store.get(number)["documents"]
    response = client.post(
        f"/api/v1/cases/{number}/accept",
        json={"department": "FIN", "handler": "刘洋", "special": True, "at": "2026-11-20T09:30"},
        headers=bearer(secret),
    )
    assert response.status_code == 200, response.get_json()
    result = response.get_json()
    assert set(result) == {"case", "documents", "warnings"}
    assert result["case"] == cf.json("case", "show", number)
    assignment = result["case"]["assignment"]
    assert assignment["department"] == "FIN" and assignment["handler"] == "刘洋"
    assert assignment["special"] is True and result["case"]["status"] == "assigned"
    assert result["case"]["decision"]["by"] == "吴芳"  # the token user's display name
    assert result["case"]["documents"] == before_docs + result["documents"]
    event = list(ws.store.iter_events())[-1]
    assert event["case"] == number and event["by"] == "吴芳"


def test_the_slip_return_by_its_department(ws, cf, client, token, cases):
    """The department's one step, with its yes/no as JSON true; its answer masked."""
    number = cases[1]  # SVC's
    response = client.post(
        f"/api/v1/cases/{number}/return",
        json={
            "findings": "核实属实",
            "plan": "免费重新安装",
            "approved_by": "王强",
            "result": "已重新安装",
            "customer_signed": True,
            "at": "2026-11-20T09:00",
        },
        headers=bearer(token("department")),
    )
    assert response.status_code == 200, response.get_json()
    case = response.get_json()["case"]
    assert case["status"] == "resolved" and case["handling"]["customer_signed"] is True
    assert case["complainant"]["phone"] == "138****5678"
    assert ws.store.get(number)["handling"]["findings"] == "核实属实"
    full = cf.json("case", "show", number)
    assert {k: v for k, v in case.items() if k != "complainant"} == {
        k: v for k, v in full.items() if k != "complainant"
    }


@pytest.mark.parametrize(
    "who, number, step, body, status, field",
    [
        ("department", 1, "accept", {"department": "SVC"}, 403, None),  # its own case, not its step
        ("department", 1, "close", {"summary": "x"}, 403, None),
        ("department", 2, "return", {"findings": "x"}, 404, None),  # SAL's case
        ("auditor", 0, "accept", {"department": "SVC"}, 404, None),
        ("clerk", 0, "signoff", {}, 403, None),  # a manager's step
        ("clerk", 0, "fly", {}, 404, None),
        ("clerk", "TS-2026-999999", "accept", {"department": "SVC"}, 404, None),
        ("clerk", 0, "accept", {"department": "XYZ"}, 422, "department"),
        ("clerk", 0, "accept", {}, 422, "department"),
        ("clerk", 0, "accept", {"department": "SVC", "colour": "red"}, 422, "colour"),
        ("clerk", 0, "accept", {"department": ["SVC"]}, 422, "department"),
        ("clerk", 0, "accept", {"department": "SVC", "at": "2027-01-01T09:00"}, 422, "at"),
        ("clerk", 0, "close", {"summary": "已处理"}, 422, None),  # not in that state
        ("clerk", 0, "accept", "[]", 400, None),
        ("clerk", 0, "accept", "{oops", 400, None),
    ],
)
def test_a_refused_step_changes_nothing(
    ws, client, token, cases, who, number, step, body, status, field
):
    secret = token(who)
    case_no = cases[number] if isinstance(number, int) else number
    before, stored = ws.store.audit_head(), [ws.store.get(n) for n in cases]
    if isinstance(body, dict):
        response = client.post(f"/api/v1/cases/{case_no}/{step}", json=body, headers=bearer(secret))
    else:
        response = client.post(
            f"/api/v1/cases/{case_no}/{step}",
            data=body,
            headers={**bearer(secret), "Content-Type": "application/json"},
        )
    data = assert_json_error(response, status)
    if field is not None:
        assert data["field"] == field
    assert ws.store.audit_head() == before
    assert [ws.store.get(n) for n in cases] == stored


def test_a_steps_numbers_and_yes_no_come_as_json_values(ws, client, token, cases):
    """A manager's extension with `days` as a JSON number; `special: false` is no."""
    manager = token("manager")
    number = cases[2]  # SAL's, due 2026-11-23
    due = ws.store.get(number)["assignment"]["due"]
    response = client.post(
        f"/api/v1/cases/{number}/extend",
        json={"days": 2, "reason": "等待厂家配件", "approved_by": "赵敏", "notified_at": None},
        headers=bearer(manager),
    )
    assert response.status_code == 200, response.get_json()
    extension = response.get_json()["case"]["extensions"][-1]
    assert extension["from"] == due and extension["to"] > due
    assert ws.store.get(number)["extensions"][-1] == extension
    response = client.post(
        f"/api/v1/cases/{cases[3]}/accept",
        json={"department": "SVC", "special": False},
        headers=bearer(manager),
    )
    assert response.get_json()["case"]["assignment"]["special"] is False


def test_a_post_takes_no_query_parameters(ws, client, token, cases):
    secret = token("clerk")
    before = ws.store.audit_head()
    response = client.post("/api/v1/cases?channel=web", json=WECHAT, headers=bearer(secret))
    assert_json_error(response, 422, "channel")
    response = client.post(
        f"/api/v1/cases/{cases[0]}/accept?department=SVC", json={}, headers=bearer(secret)
    )
    assert_json_error(response, 422, "department")
    assert ws.store.audit_head() == before and ws.store.get(cases[0])["status"] == "registered"


def test_a_step_on_a_hidden_case_answers_as_one_that_does_not_exist(client, token, cases):
    sales = token("department", name="sunli", department="SAL")
    hidden = client.post(f"/api/v1/cases/{cases[1]}/return", json={}, headers=bearer(sales))
    missing = client.post("/api/v1/cases/TS-2026-999999/return", json={}, headers=bearer(sales))
    assert assert_json_error(hidden, 404) == assert_json_error(missing, 404)


# -- reports ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "path, command",
    [
        ("/api/v1/reports/quarterly/2026Q4", ("report", "quarterly", "2026Q4")),
        ("/api/v1/reports/monthly/2026-11", ("report", "monthly", "2026-11")),
        (
            "/api/v1/reports/quarterly/2026Q4?as_of=2026-11-04",
            ("report", "quarterly", "2026Q4", "--as-of", "2026-11-04"),
        ),
    ],
)
def test_a_report_is_the_figures_of_report_json_and_writes_nothing(
    ws, cf, client, token, cases, path, command
):
    secret = token("manager")
    before = ws.store.audit_head()
    response = client.get(path, headers=bearer(secret))
    assert response.status_code == 200, response.get_json()
    figures = response.get_json()
    assert ws.store.audit_head() == before  # GET changes nothing, not even the audit log
    assert figures["files"] == []
    printed = cf.json(*command, "--format", "csv")
    assert printed["files"]  # the command line writes its files; the API does not
    assert {k: v for k, v in figures.items() if k != "files"} == {
        k: v for k, v in printed.items() if k != "files"
    }
    assert figures["total"] > 0


def test_the_report_in_any_form_of_the_period_and_its_refusals(client, token, cases):
    manager, auditor = token("manager"), token("auditor")
    canonical = client.get("/api/v1/reports/quarterly/2026Q4", headers=bearer(manager)).get_json()
    assert canonical["period"] == "2026Q4" and canonical["total"] == 4
    chinese = client.get("/api/v1/reports/quarterly/2026年第四季度", headers=bearer(auditor))
    assert chinese.get_json() == canonical  # an auditor reads reports too
    assert_json_error(
        client.get("/api/v1/reports/quarterly/2026-11", headers=bearer(manager)), 422, "quarter"
    )
    assert_json_error(
        client.get("/api/v1/reports/monthly/2026Q4", headers=bearer(manager)), 422, "month"
    )
    assert_json_error(
        client.get("/api/v1/reports/quarterly/2026Q4?as_of=yesterday", headers=bearer(manager)),
        422,
        "as_of",
    )
    assert_json_error(
        client.get("/api/v1/reports/quarterly/2026Q4?x=1", headers=bearer(manager)), 422, "x"
    )
    for role in ("clerk", "department", "admin"):
        assert_json_error(
            client.get("/api/v1/reports/quarterly/2026Q4", headers=bearer(token(role))), 403
        )


# -- errors are JSON ------------------------------------------------------------------------------
def test_errors_are_json_never_a_page_or_a_traceback(ws, client, token, cases, monkeypatch):
    secret = token("clerk")
    assert_json_error(client.get(f"/api/v1/cases/{cases[0]}/accept", headers=bearer(secret)), 405)
    assert_json_error(client.delete(f"/api/v1/cases/{cases[0]}", headers=bearer(secret)), 405)
    assert_json_error(client.get("/api/v1/nothing/here", headers=bearer(secret)), 404)

    def broken(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr("complaintforms.services.cases.iter_cases", broken)
    response = client.get("/api/v1/cases", headers=bearer(secret))
    data = assert_json_error(response, 500)
    assert "secret internals" not in data["error"] and "RuntimeError" not in data["error"]


def test_errors_are_in_the_users_language(ws, monkeypatch, cf):
    """The workspace's language (Chinese by default) for the reasons; codes and fields stay."""
    from complaintforms.web import create_app

    monkeypatch.setenv("COMPLAINTFORMS_LANG", "zh-CN")
    try:
        app = create_app(ws.root)
        add_user(ws, "clerk")
        secret = users.new_token(ws, "wufang", by="管理员")
        client = app.test_client()
        response = client.post(
            "/api/v1/cases", json={**WECHAT, "content": ""}, headers=bearer(secret)
        )
        data = assert_json_error(response, 422, "content")
        assert data["error"].isascii() is False, data
        bad = client.get("/api/v1/cases?status=bogus", headers=bearer(secret)).get_json()
        assert bad["field"] == "status" and not bad["error"].isascii()
    finally:
        i18n.set_language("en")
