"""Reminder and supervision notices (催办 / 督办, issue 14, DESIGN.md section 12): which cases
get which entry as of a day, one notice per department and level read back from PDF and
docx, the entries on the cases and in their history, nothing twice on one day, more the next
day, escalation to the leader, and refusals."""

from __future__ import annotations

import re

import pytest

from complaintforms.documents.qrcode import parse_payload, verify

from .conftest import docx_text, pdf_qr_codes, pdf_text, snapshot
from .pdfcheck import pdf_problems

# Friday 2026-11-20: the supervision days below (Monday 16th, Tuesday 17th) are in the past.
NOW = "2026-11-20T08:30:00+08:00"
LEADER = "总经理 孙建华"
COMPLAINANT = ("王小明", "13812345678")


@pytest.fixture(autouse=True)
def pinned_clock(monkeypatch):
    monkeypatch.setenv("COMPLAINTFORMS_NOW", NOW)


def new_case(cf, at: str) -> str:
    return cf.json(
        "case",
        "new",
        "--channel",
        "来电",
        "--kind",
        "投诉",
        "--name",
        COMPLAINANT[0],
        "--phone",
        COMPLAINANT[1],
        "--category",
        "维修质量",
        "--content",
        "更换刹车片后仍有异响",
        "--at",
        at,
    )["case_no"]


def accepted(cf, day: str, department: str, handler: str | None = None) -> str:
    case_no = new_case(cf, f"{day} 09:00")
    extra = ["--handler", handler] if handler else []
    cf.json("case", "accept", case_no, "--department", department, "--at", f"{day} 10:00", *extra)
    return case_no


def set_leader(ws, leader: str = LEADER) -> None:
    path = ws.root / "complaintforms.yaml"
    path.write_text(
        path.read_text(encoding="utf-8") + f"\nsupervision: {{leader: {leader}}}\n",
        encoding="utf-8",
    )


@pytest.fixture
def office(cf):
    """Complaints (3 working days) as of Monday 2026-11-16 (remind_before 1, escalate_after 5):
    overdue 7 and 5 working days, due today, due tomorrow, due in two days, one not routed
    and overdue, one rejected."""
    cases = {
        "late7": accepted(cf, "2026-11-02", "SVC", "张伟"),  # due 11-05, 7 working days over
        "late5": accepted(cf, "2026-11-04", "SVC", "李明"),  # due 11-09, 5 over: not escalated
        "today": accepted(cf, "2026-11-11", "SVC"),  # due 11-16
        "tomorrow": accepted(cf, "2026-11-12", "SAL", "孙丽"),  # due 11-17
        "later": accepted(cf, "2026-11-13", "SVC"),  # due 11-18: nothing yet
        "unrouted": new_case(cf, "2026-11-05 09:00"),  # registered, due 11-10
        "rejected": new_case(cf, "2026-11-02 11:00"),
    }
    cf.json(
        "case", "reject", cases["rejected"], "--reason", "非本公司业务", "--at", "2026-11-02 12:00"
    )
    return cases


def flat(text: str) -> str:
    """Text without white space: the titles are letter-spaced, and lines break anywhere."""
    return re.sub(r"\s+", "", text)


def by_key(result: dict) -> dict:
    return {(n["department"], n["level"]): n for n in result["notices"]}


def notice_file(cf, notice: dict, fmt: str):
    return cf.ws.local_path(next(d["path"] for d in notice["documents"] if d["format"] == fmt))


def test_one_notice_per_department_and_level(cf, office):
    set_leader(cf.ws)
    result = cf.json("supervise", "--as-of", "2026-11-16", "--by", "吴芳")
    assert result["as_of"] == "2026-11-16" and result["workday"] is True
    notices = by_key(result)
    # The unrouted case belongs to the centre itself: its own department (CSC, 客户服务中心).
    assert set(notices) == {
        ("SVC", "remind"),
        ("SVC", "supervise"),
        ("SAL", "remind"),
        ("CSC", "supervise"),
    }
    assert result["reminded"] == 5

    overdue = notices[("SVC", "supervise")]
    assert [c["case_no"] for c in overdue["cases"]] == [office["late7"], office["late5"]]
    assert [c["overdue_days"] for c in overdue["cases"]] == [7, 5]
    assert [c["escalated"] for c in overdue["cases"]] == [True, False]
    assert overdue["copied_to"] == LEADER
    assert [c["case_no"] for c in notices[("SVC", "remind")]["cases"]] == [office["today"]]
    assert [c["case_no"] for c in notices[("SAL", "remind")]["cases"]] == [office["tomorrow"]]
    assert [c["case_no"] for c in notices[("CSC", "supervise")]["cases"]] == [office["unrouted"]]
    assert notices[("CSC", "supervise")]["copied_to"] is None
    for notice in result["notices"]:
        assert sorted(d["format"] for d in notice["documents"]) == ["docx", "pdf"]

    late = cf.json("case", "show", office["late7"])
    (entry,) = late["reminders"]
    assert entry["as_of"] == "2026-11-16" and entry["level"] == "supervise"
    assert entry["escalated"] is True and entry["copied_to"] == LEADER
    assert entry["overdue_days"] == 7 and entry["due"] == "2026-11-05"
    assert entry["by"] == "吴芳" and entry["at"].startswith("2026-11-20T08:30")
    assert entry["document"] == next(
        d["path"] for d in overdue["documents"] if d["format"] == "pdf"
    )
    (soon,) = cf.json("case", "show", office["tomorrow"])["reminders"]
    assert soon["level"] == "remind" and soon["overdue_days"] == 0 and soon["due"] == "2026-11-17"
    for key in ("later", "rejected"):
        assert not cf.json("case", "show", office[key]).get("reminders")


def test_the_notices_read_back_from_pdf_and_docx(cf, office):
    set_leader(cf.ws)
    notices = by_key(cf.json("supervise", "--as-of", "2026-11-16"))
    overdue = notices[("SVC", "supervise")]
    pdf = notice_file(cf, overdue, "pdf")
    assert pdf_problems(pdf, pdfa=False) == []
    text = flat(pdf_text(pdf))
    for expected in (
        "示例汽车销售服务有限公司",
        "督办通知书",
        "KF-12",
        "致：售后服务部（负责人：王强）",
        "截至 2026年11月16日",
        "2026年11月17日 前办结",  # the next working day
        office["late7"],
        office["late5"],
        "2026年11月2日",  # received
        "2026年11月5日",  # due
        "维修质量",
        "张伟",
        "抄送：总经理 孙建华",
        "部门负责人签收",
        "签收日期",
        "审计锚点",
        f"文档 {overdue['serial']:06d}",
    ):
        assert flat(expected) in text, expected
    assert office["today"] not in text  # on the 催办 notice, not this one
    # A notice leaves the centre: no complainant at all.
    assert COMPLAINANT[0] not in text and COMPLAINANT[1] not in text and "****" not in text
    (code,) = pdf_qr_codes(pdf)
    ref = parse_payload(code)
    verify(cf.ws, ref)
    assert ref.form == "supervision_notice" and ref.serial == overdue["serial"]
    assert ref.case_no == "2026-11-16 SVC"

    words = flat(docx_text(notice_file(cf, overdue, "docx")))
    for expected in (
        "督办通知书",
        "致：售后服务部（负责人：王强）",
        office["late7"],
        "抄送：总经理 孙建华",
        "部门负责人签收",
    ):
        assert flat(expected) in words, expected
    assert COMPLAINANT[0] not in words and COMPLAINANT[1] not in words and "****" not in words

    remind = notice_file(cf, notices[("SAL", "remind")], "pdf")
    text = flat(pdf_text(remind))
    for expected in (
        "催办通知书",
        "KF-11",
        "致：销售部（负责人：陈静）",
        office["tomorrow"],
        "1 个工作日",
        "孙丽",
    ):
        assert flat(expected) in text, expected
    assert "抄送" not in text
    assert "当日到期" in pdf_text(notice_file(cf, notices[("SVC", "remind")], "pdf"))
    assert "当日到期" in docx_text(notice_file(cf, notices[("SVC", "remind")], "docx"))

    centre = flat(pdf_text(notice_file(cf, notices[("CSC", "supervise")], "pdf")))
    assert "致：客户服务中心（负责人：赵敏）" in centre and "尚未受理分派" in centre


def test_a_second_run_on_the_same_day_adds_nothing(cf, office):
    cf.json("supervise", "--as-of", "2026-11-16")
    before = snapshot(cf.ws)
    again = cf.json("supervise", "--as-of", "2026-11-16")
    assert again["notices"] == [] and again["reminded"] == 0
    assert snapshot(cf.ws) == before
    text = cf("supervise", "--as-of", "2026-11-16")
    assert text.exit_code == 0 and "nothing new" in text.stdout
    assert snapshot(cf.ws) == before


def test_the_next_day_adds_new_entries(cf, office):
    cf.json("supervise", "--as-of", "2026-11-16")
    notices = by_key(cf.json("supervise", "--as-of", "2026-11-17"))
    assert set(notices) == {
        ("SVC", "remind"),
        ("SVC", "supervise"),
        ("SAL", "remind"),
        ("CSC", "supervise"),
    }
    overdue = notices[("SVC", "supervise")]
    # Due yesterday, reminded then: overdue today; the others a day later.
    assert [(c["case_no"], c["overdue_days"]) for c in overdue["cases"]] == [
        (office["late7"], 8),
        (office["late5"], 6),
        (office["today"], 1),
    ]
    assert [c["escalated"] for c in overdue["cases"]] == [True, True, False]
    assert [c["case_no"] for c in notices[("SVC", "remind")]["cases"]] == [office["later"]]
    assert [c["case_no"] for c in notices[("SAL", "remind")]["cases"]] == [office["tomorrow"]]
    late = cf.json("case", "show", office["late7"])["reminders"]
    assert [(r["as_of"], r["level"]) for r in late] == [
        ("2026-11-16", "supervise"),
        ("2026-11-17", "supervise"),
    ]
    today = cf.json("case", "show", office["today"])["reminders"]
    assert [(r["as_of"], r["level"]) for r in today] == [
        ("2026-11-16", "remind"),
        ("2026-11-17", "supervise"),
    ]
    text = flat(pdf_text(notice_file(cf, overdue, "pdf")))
    assert "第2次督办" in text  # late7 and late5 were supervised the day before


def test_escalation_without_a_leader_is_marked_but_copied_to_nobody(cf, office):
    result = cf.json("supervise", "--as-of", "2026-11-16")
    overdue = by_key(result)[("SVC", "supervise")]
    assert overdue["copied_to"] is None
    assert [c["escalated"] for c in overdue["cases"]] == [True, False]
    (entry,) = cf.json("case", "show", office["late7"])["reminders"]
    assert entry["escalated"] is True and entry["copied_to"] is None
    text = flat(pdf_text(notice_file(cf, overdue, "pdf")))
    assert "抄送" not in text and "逾期超过5个工作日" in text


def test_reminders_are_audit_events_in_the_history(cf, office):
    set_leader(cf.ws)
    cf.json("supervise", "--as-of", "2026-11-16", "--by", "吴芳")
    events = cf.json("case", "history", office["late7"])
    event = events[-1]
    assert event["action"] == "case.supervise" and event["by"] == "吴芳"
    assert event["as_of"] == "2026-11-16" and event["level"] == "supervise"
    assert event["before"] == {"reminders": None}
    assert event["after"]["reminders"][0]["copied_to"] == LEADER
    assert cf.json("case", "history", office["tomorrow"])[-1]["action"] == "case.remind"
    text = cf("case", "history", office["late7"]).stdout
    assert "supervised (督办通知书)" in text
    chinese = cf("case", "history", office["tomorrow"], env={"COMPLAINTFORMS_LANG": "zh-CN"}).stdout
    assert "已催办（催办通知书）" in chinese
    assert cf("audit", "verify").exit_code == 0


def test_unrouted_cases_go_to_the_unit_when_no_department_is_the_centre(cf, office):
    path = cf.ws.root / "complaintforms.yaml"
    text = path.read_text(encoding="utf-8")
    assert "{code: CSC, name: 客户服务中心, head: 赵敏}" in text
    path.write_text(text.replace("name: 客户服务中心, head: 赵敏", "name: 投诉管理部, head: 赵敏"))
    notices = by_key(cf.json("supervise", "--as-of", "2026-11-16"))
    centre = notices[(None, "supervise")]
    assert centre["department_name"] == "客户服务中心"
    assert [c["case_no"] for c in centre["cases"]] == [office["unrouted"]]
    pdf = notice_file(cf, centre, "pdf")
    assert (
        "致：客户服务中心" in flat(pdf_text(pdf)) and "负责人" not in pdf_text(pdf).split("截至")[0]
    )
    assert parse_payload(pdf_qr_codes(pdf)[0]).case_no == "2026-11-16 centre"


def test_text_output_lists_each_notice_with_its_files(cf, office):
    result = cf("supervise", "--as-of", "2026-11-16")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "supervision notice (督办通知书) to 售后服务部: 2 case(s), 1 escalated" in out
    assert "reminder notice (催办通知书) to 销售部: 1 case(s)" in out
    assert "5 case(s) reminded as of 2026-11-16" in out
    paths = [line.strip() for line in out.splitlines() if line.startswith("  ")]
    assert len(paths) == 8
    assert all(
        p.startswith(str(cf.ws.root / "records" / "supervision" / "2026" / "2026-11-16"))
        for p in paths
    )
    chinese = cf("supervise", "--as-of", "2026-11-17", env={"COMPLAINTFORMS_LANG": "zh-CN"})
    assert "督办通知书　致售后服务部：3 件" in chinese.stdout


def test_a_day_off_issues_nothing(cf, office):
    before = snapshot(cf.ws)
    result = cf.json("supervise", "--as-of", "2026-11-15")  # a Sunday
    assert result["workday"] is False and result["notices"] == [] and result["reminded"] == 0
    assert snapshot(cf.ws) == before
    assert "not a working day" in cf("supervise", "--as-of", "2026-11-15").stdout


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("2026-13-01", "--as-of: '2026-13-01' is not a valid date"),
        ("yesterday", "--as-of: 'yesterday' is not a valid date"),
        ("2026-11-23", "--as-of: 2026-11-23 is in the future (today is 2026-11-20)"),
    ],
)
def test_a_bad_as_of_is_refused_with_one_line(cf, office, value, reason):
    before = snapshot(cf.ws)
    result = cf("supervise", "--as-of", value)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"complaintforms: {reason}")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert snapshot(cf.ws) == before


def test_who_issues_them_is_required(cf, office):
    before = snapshot(cf.ws)
    result = cf("supervise", "--as-of", "2026-11-16", env={"COMPLAINTFORMS_USER": None})
    assert result.exit_code == 2 and "--by" in result.stderr
    assert snapshot(cf.ws) == before


def test_a_case_changed_while_the_notices_are_rendered_is_taken_again(cf, office, monkeypatch):
    """Rendering holds no lock: a case routed meanwhile makes the run start again from the
    new state (the unrouted case is then on the department's notice, not the centre's)."""
    from complaintforms.documents import pipeline
    from complaintforms.services.procedure import accept_case
    from complaintforms.services.supervision import supervise

    real = pipeline.render_files
    calls = []

    def render_and_interfere(ws, doc, formats, renderers=None):
        if not calls:
            accept_case(ws, office["unrouted"], by="吴芳", department="SAL", at="2026-11-05 10:00")
        calls.append(doc.spec.name)
        return real(ws, doc, formats, renderers)

    monkeypatch.setattr(pipeline, "render_files", render_and_interfere)
    result = supervise(cf.ws, as_of="2026-11-16", by="吴芳")
    notices = by_key(result)
    assert ("CSC", "supervise") not in notices
    assert [c["case_no"] for c in notices[("SAL", "supervise")]["cases"]] == [office["unrouted"]]
    assert len(calls) > len(result["notices"])  # rendered again
    serials = [n["serial"] for n in result["notices"]]
    assert len(set(serials)) == len(serials)
    assert cf("audit", "verify").exit_code == 0


def test_forms_check_passes_for_the_notices(cf):
    from complaintforms.documents.check import check_forms

    assert check_forms(cf.ws.forms_dir, ["reminder_notice", "supervision_notice"]) == []
    assert cf("forms", "check").exit_code == 0


def test_many_cases_are_rendered_in_a_pool_with_the_same_notices(cf, office, monkeypatch):
    """Long notices are spread over worker processes (services.supervision.POOL_ROWS); the
    notices are the same as rendered here."""
    from complaintforms.services import supervision

    monkeypatch.setattr(supervision, "POOL_ROWS", 1)
    set_leader(cf.ws)
    notices = by_key(supervision.supervise(cf.ws, as_of="2026-11-16", by="吴芳"))
    assert len(notices) == 4
    overdue = notices[("SVC", "supervise")]
    pdf = notice_file(cf, overdue, "pdf")
    assert pdf_problems(pdf, pdfa=False) == []
    assert flat("抄送：总经理 孙建华") in flat(pdf_text(pdf))
    assert parse_payload(pdf_qr_codes(pdf)[0]).serial == overdue["serial"]
    assert office["late7"] in docx_text(notice_file(cf, overdue, "docx"))
