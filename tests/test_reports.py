"""The opinion register and the statistics report: every figure recomputed independently."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections import Counter

import chinese_calendar
import pytest

from .conftest import docx_text, pdf_text

TZ = dt.timezone(dt.timedelta(hours=8))
PHONES = ["13812345678", "13900001111", "0571-87654321", "18600002222"]
SECRET_NAME = "欧阳保密"
CATEGORIES = ["产品质量", "维修质量", "服务态度", "服务时效", "收费争议", "其他", None]
DEADLINES = {"inquiry": 1, "suggestion": 3, "complaint": 3}


def t(day: dt.date, hour: int) -> str:
    return dt.datetime(day.year, day.month, day.day, hour, 0, tzinfo=TZ).isoformat()


def workday_after(day: dt.date, n: int) -> dt.date:
    """Independent of the package: the n-th official working day strictly after `day`."""
    while n:
        day += dt.timedelta(days=1)
        if chinese_calendar.is_workday(day):
            n -= 1
    return day


def workdays_between(start: dt.date, end: dt.date) -> int:
    return sum(
        1
        for i in range(1, (end - start).days + 1)
        if chinese_calendar.is_workday(start + dt.timedelta(days=i))
    )


def make_ledger(seed: int = 20261123, n: int = 360) -> list[dict]:
    rnd = random.Random(seed)
    start, end = dt.date(2026, 4, 1), dt.date(2026, 11, 6)
    staff = [("李明", "SVC"), ("张伟", "SVC"), ("孙丽", "SAL"), ("周杰", "FIN")]
    ledger = []
    for i in range(n):
        received = start + dt.timedelta(days=rnd.randrange((end - start).days))
        if i < 40:  # a cluster around National Day, for the working-day counts
            received = dt.date(2026, 9, 25) + dt.timedelta(days=rnd.randrange(8))
        kind = rnd.choice(["complaint", "complaint", "complaint", "inquiry", "suggestion"])
        target_type = rnd.choice(["company", "department", "staff"])
        target = {"type": target_type}
        if target_type == "department":
            target["department"] = rnd.choice(["SVC", "SAL", "FIN"])
        elif target_type == "staff":
            target["staff"] = rnd.choice(staff)[0]
        rec = {
            "case_no": f"TS-2026-{i + 1:06d}",
            "kind": kind,
            "channel": rnd.choice(
                ["phone", "letter", "visit", "email", "web", "wechat", "opinion_book"]
            ),
            "received_at": t(received, 9),
            "recorded_by": "吴芳",
            "complainant": {
                "name": SECRET_NAME if i % 7 == 0 else f"顾客{i}",
                "phone": rnd.choice(PHONES),
                "address": "杭州市某路 1 号",
                "confidential": i % 7 == 0,
            },
            "target": target,
            "category": rnd.choice(CATEGORIES),
            "severity": "major" if rnd.random() < 0.1 else "general",
            "content": f"投诉内容 {i}",
        }
        state = rnd.choice(
            [
                "registered",
                "rejected",
                "assigned",
                "resolved",
                "followed_up",
                "closed",
                "closed",
                "reopened",
            ]
        )
        if state == "registered":
            rec["status"] = "registered"
            ledger.append(rec)
            continue
        if state == "rejected":
            rec["decision"] = {
                "accepted": False,
                "by": "吴芳",
                "at": t(received, 10),
                "reason": "不属实",
                "validity": rnd.choice(["invalid", "malicious"]),
            }
            rec["status"] = "rejected"
            ledger.append(rec)
            continue
        rec["decision"] = {
            "accepted": True,
            "by": "吴芳",
            "at": t(received, 10),
            "validity": rnd.choice(["valid", None]),
        }
        rec["assignment"] = {"department": rnd.choice(["SVC", "SAL", "FIN", "CSC"])}
        rec["status"] = "assigned"
        if state != "assigned":
            done = received + dt.timedelta(days=rnd.randrange(0, 12))
            rec["handling"] = {
                "findings": "已查",
                "plan": "处理",
                "approved_by": "王强",
                "result": "已办",
                "customer_signed": rnd.random() < 0.8,
                "resolved_at": t(done, 16),
            }
            rec["status"] = "resolved"
            if state in ("followed_up", "closed", "reopened"):
                rec["callback"] = {
                    "at": t(done + dt.timedelta(days=1), 10),
                    "by": "吴芳",
                    "satisfaction": rnd.choice(
                        ["satisfied", "basically_satisfied", "dissatisfied"]
                    ),
                }
                rec["status"] = "followed_up"
            if state == "closed":
                rec["closure"] = {
                    "at": t(done + dt.timedelta(days=2), 10),
                    "by": "赵敏",
                    "summary": "结案",
                    "penalty": {"type": "warning", "person": "张伟"}
                    if rnd.random() < 0.2
                    else None,
                }
                rec["status"] = "closed"
            if state == "reopened":  # reopened after the callback, now waiting again
                rec["reopens"] = [
                    {
                        "at": t(done + dt.timedelta(days=2), 11),
                        "by": "吴芳",
                        "reason": "不满意",
                        "handling": rec.pop("handling"),
                        "callback": rec.pop("callback"),
                        "closure": {},
                    }
                ]
                rec["status"] = "assigned"
        ledger.append(rec)
    return ledger


@pytest.fixture
def ledger_ws(cf, tmp_path):
    ledger = make_ledger()
    source = tmp_path / "ledger.json"
    source.write_text(json.dumps(ledger, ensure_ascii=False), encoding="utf-8")
    assert cf.json("case", "import", str(source))["imported"] == len(ledger)
    return ledger


def expected(ledger: list[dict], months: set[str], as_of: dt.date) -> dict:
    """The figures, counted here without the package's code."""
    cur = [r for r in ledger if r["received_at"][:7] in months]

    def received(r):
        return dt.date.fromisoformat(r["received_at"][:10])

    def due(r):
        start = received(r)
        if r.get("reopens"):
            start = dt.date.fromisoformat(r["reopens"][-1]["at"][:10])
        return workday_after(start, DEADLINES[r["kind"]])

    resolved = [r for r in cur if r.get("handling", {}).get("resolved_at")]
    done = {
        r["case_no"]: dt.date.fromisoformat(r["handling"]["resolved_at"][:10]) for r in resolved
    }
    on_time = [r for r in resolved if done[r["case_no"]] <= due(r)]
    days = [workdays_between(received(r), done[r["case_no"]]) for r in resolved]
    callbacks = [r for r in cur if r.get("callback")]
    sat = Counter(r["callback"]["satisfaction"] for r in callbacks)
    return {
        "total": len(cur),
        "by_kind": Counter(r["kind"] for r in cur),
        "by_channel": Counter(r["channel"] for r in cur),
        "by_category": Counter(r["category"] or "unclassified" for r in cur),
        "by_severity": Counter(r["severity"] for r in cur),
        "by_validity": Counter(
            (r.get("decision") or {}).get("validity") or "unclassified" for r in cur
        ),
        "by_target_type": Counter(r["target"]["type"] for r in cur),
        "by_staff": Counter(r["target"]["staff"] for r in cur if r["target"].get("staff")),
        "accepted": sum(1 for r in cur if (r.get("decision") or {}).get("accepted") is True),
        "rejected": sum(1 for r in cur if (r.get("decision") or {}).get("accepted") is False),
        "resolved": len(resolved),
        "resolved_on_time": len(on_time),
        "on_time_rate": round(len(on_time) / len(resolved), 4),
        "handling_days_mean": round(sum(days) / len(days), 2),
        "handling_days_max": max(days),
        "overdue_open": sum(
            1 for r in cur if r["status"] in ("registered", "assigned") and due(r) < as_of
        ),
        "closed": sum(1 for r in cur if r["status"] == "closed"),
        "callbacks": len(callbacks),
        "satisfaction": {
            k: sat.get(k, 0) for k in ("satisfied", "basically_satisfied", "dissatisfied")
        },
        "satisfaction_rate": round(
            (sat["satisfied"] + sat["basically_satisfied"]) / len(callbacks), 4
        ),
        "previous_period_total": sum(
            1 for r in ledger if r["received_at"][:7] in {"2026-04", "2026-05", "2026-06"}
        ),
        "same_period_last_year_total": 0,
        "penalties": sum(1 for r in cur if (r.get("closure") or {}).get("penalty")),
        "major": sum(1 for r in cur if r["severity"] == "major"),
    }


def test_every_quarterly_figure_recounted(cf, ledger_ws):
    as_of = dt.date(2026, 10, 15)
    got = cf.json("report", "quarterly", "2026Q3", "--as-of", as_of.isoformat(), "--format", "csv")
    want = expected(ledger_ws, {"2026-07", "2026-08", "2026-09"}, as_of)
    assert want["total"] > 100 and want["resolved"] > 20 and want["overdue_open"] > 0
    for key, value in want.items():
        if key == "penalties":
            assert len(got["penalties"]) == value
        elif key == "major":
            assert len(got["major_cases"]) == value
        elif isinstance(value, Counter):
            assert got[key] == dict(value), key
        else:
            assert got[key] == value, key
    # by_department counts the target department of cases against a department or its staff.
    staff_dep = {"李明": "SVC", "张伟": "SVC", "孙丽": "SAL", "周杰": "FIN"}
    cur = [r for r in ledger_ws if r["received_at"][:7] in {"2026-07", "2026-08", "2026-09"}]
    deps = Counter(
        r["target"].get("department") or staff_dep.get(r["target"].get("staff")) for r in cur
    )
    deps.pop(None, None)
    assert got["by_department"] == dict(deps)
    assert got["period"] == "2026Q3" and got["as_of"] == "2026-10-15"
    assert sum(got["by_month"].values()) == got["total"]
    assert [f["format"] for f in got["files"]] == ["csv"]


def test_monthly_figures_and_the_national_day_month(cf, ledger_ws):
    got = cf.json("report", "monthly", "2026-10", "--as-of", "2026-11-20", "--format", "csv")
    want = expected(ledger_ws, {"2026-10"}, dt.date(2026, 11, 20))
    for key in (
        "total",
        "resolved",
        "resolved_on_time",
        "handling_days_max",
        "handling_days_mean",
        "overdue_open",
        "callbacks",
        "satisfaction_rate",
    ):
        assert got[key] == want[key], key
    assert got["previous_period"] == "2026-09" and got["same_period_last_year"] == "2025-10"


def test_the_report_holds_no_personal_data(cf, ws, ledger_ws):
    got = cf.json("report", "quarterly", "2026Q3", "--as-of", "2026-10-15")
    paths = {f["format"]: ws.root / f["path"] for f in got["files"]}
    texts = [
        pdf_text(paths["pdf"]),
        docx_text(paths["docx"]),
        paths["csv"].read_text(encoding="utf-8-sig"),
    ]
    for text in texts:
        compact = text.replace(" ", "").replace("\n", "")
        for phone in PHONES:
            assert phone not in compact and phone.replace("-", "") not in compact
        assert SECRET_NAME not in compact and "顾客1" not in compact and "杭州市某路" not in compact
    flat = texts[0].replace(" ", "")
    assert "季度投诉统计报告" in flat and "环比" in flat and "同比" in flat and "按时率" in flat
    assert "对部门" in flat and "对业务代表" in flat and "售后服务部" in flat


def test_the_report_has_charts(cf, ws, ledger_ws):
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    got = cf.json("report", "quarterly", "2026Q3", "--format", "pdf,docx")
    pdf_path = next(ws.root / f["path"] for f in got["files"] if f["format"] == "pdf")
    pdf = pdfium.PdfDocument(str(pdf_path))
    images = sum(
        len(
            list(
                page.get_objects(
                    filter=(raw.FPDF_PAGEOBJ_FORM, raw.FPDF_PAGEOBJ_IMAGE, raw.FPDF_PAGEOBJ_PATH)
                )
            )
        )
        for page in pdf
    )
    pdf.close()
    assert images > 50  # the QR code and the charts' bars and glyphs
    from docx import Document

    docx_path = next(ws.root / f["path"] for f in got["files"] if f["format"] == "docx")
    pictures = [r for r in Document(str(docx_path)).part.rels.values() if "image" in r.reltype]
    assert len(pictures) >= 4  # QR + at least three charts


def test_an_empty_quarter_says_so(cf, ws):
    got = cf.json("report", "quarterly", "2025Q1")
    assert got["total"] == 0 and got["on_time_rate"] is None and got["satisfaction_rate"] is None
    assert got["handling_days_mean"] is None and got["by_kind"] == {}
    pdf = next(ws.root / f["path"] for f in got["files"] if f["format"] == "pdf")
    assert "本期未收到投诉" in pdf_text(pdf).replace(" ", "")


def test_bad_periods_are_refused(cf):
    result = cf("report", "quarterly", "2026Q5")
    assert result.exit_code == 1 and "is not a quarter like 2026Q4" in result.stderr
    result = cf("report", "monthly", "2026-1")
    assert result.exit_code == 1 and "is not a month like 2026-11" in result.stderr
    result = cf("report", "monthly", "2026-13")
    assert result.exit_code == 1 and "is not a month" in result.stderr
    result = cf("report", "quarterly", "2026Q3", "--as-of", "someday")
    assert result.exit_code == 1 and "not a valid date" in result.stderr


def test_the_register_runs_to_several_pages_with_the_header_on_each(cf, ws):
    import pypdfium2 as pdfium

    for i in range(30):
        cf.json(
            "opinion",
            "add",
            "--content",
            f"意见{i}：" + "大厅等候区座位不足，希望增加。" * 3,
            "--name",
            f"顾客{i}",
            "--phone",
            "13812345678",
            "--handling",
            "已转行政部",
            "--reply-at",
            "2026-11-10 15:00",
            "--reply-how",
            "电话",
            "--by",
            "吴芳",
            "--at",
            "2026-11-10 09:00",
        )
    for i in range(15):
        cf.json(
            "case",
            "new",
            "--from",
            "-",
            input=json.dumps(
                {
                    "channel": "来电",
                    "recorded_by": "吴芳",
                    "received_at": "2026-11-12T10:00:00+08:00",
                    "complainant": {
                        "name": SECRET_NAME,
                        "phone": "13900001111",
                        "confidential": True,
                    },
                    "content": f"投诉{i}：" + "维修后仍有异响。" * 4,
                },
                ensure_ascii=False,
            ),
        )
    result = cf.json("register", "render", "--month", "2026-11")
    assert result["entries"] == 45
    pdf_path = next(ws.root / d["path"] for d in result["documents"] if d["format"] == "pdf")
    pdf = pdfium.PdfDocument(str(pdf_path))
    pages = [pdf[i].get_textpage().get_text_range() for i in range(len(pdf))]
    pdf.close()
    assert len(pages) >= 3
    for text in pages:
        flat = text.replace(" ", "").replace("\r\n", "")
        assert "序号" in flat and "意见内容" in flat and "处理情况" in flat and "回复情况" in flat
    everything = "".join(pages)
    assert f"共 {len(pages)} 页" in everything
    assert "负责人签字" in pages[-1].replace(" ", "")
    assert "13812345678" not in everything and "138****5678" in everything
    assert SECRET_NAME not in everything
    docx = docx_text(
        next(ws.root / d["path"] for d in result["documents"] if d["format"] == "docx")
    )
    assert "意见29" in docx and "13812345678" not in docx and SECRET_NAME not in docx
    from docx import Document

    table = Document(
        str(next(ws.root / d["path"] for d in result["documents"] if d["format"] == "docx"))
    ).tables[1]
    header = table.rows[0]._tr.trPr
    assert (
        header is not None
        and header.find("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}tblHeader")
        is not None
    )


def test_opinion_add_refuses_bad_input(cf, ws):
    from .conftest import snapshot

    before = snapshot(ws)
    for args, expect in (
        (("--content", "x", "--kind", "complaint"), "unknown value 'complaint'"),
        (
            (
                "--content",
                "",
            ),
            "--content: required",
        ),
        (("--content", "x", "--at", "2999-01-01"), "in the future"),
        (
            ("--content", "x", "--at", "2026-11-10 09:00", "--reply-at", "2026-11-09 09:00"),
            "before the opinion",
        ),
    ):
        result = cf("opinion", "add", *args, "--by", "吴芳")
        assert result.exit_code == 1 and expect in result.stderr, (args, result.stderr)
    assert snapshot(ws) == before


def test_the_figures_are_one_pure_function_of_the_cases(cf, ws, ledger_ws):
    from complaintforms.domain import figures
    from complaintforms.domain.workdays import WorkCalendar

    cases = [json.loads(json.dumps(c)) for c in ws.store.iter_records()]
    pure = figures.compute(
        cases,
        figures.Period.parse("2026Q3"),
        as_of=dt.date(2026, 10, 15),
        deadlines=ws.config.deadlines,
        cal=WorkCalendar(),
    )
    cli = cf.json("report", "quarterly", "2026Q3", "--as-of", "2026-10-15", "--format", "csv")
    assert {k: v for k, v in cli.items() if k != "files"} == pure
    # The exported cases give the same figures: an auditor can recompute them.
    exported = cf.json("case", "export")
    again = figures.compute(
        exported,
        figures.Period.parse("2026Q3"),
        as_of=dt.date(2026, 10, 15),
        deadlines=ws.config.deadlines,
        cal=WorkCalendar(),
    )
    assert again == pure
