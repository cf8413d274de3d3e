"""Extensions (延期) and send-backs (退单), and the per-department figures they feed (issue 14,
DESIGN.md section 12)."""

from __future__ import annotations

import pytest

from .test_corrections import plain_case, returned
from .test_hostile_input import refused
from .test_procedure import accept, register

ACCEPTED = "2026-11-16T10:00:00+08:00"  # received Monday 2026-11-16: due Thursday 2026-11-19


def extend(cf, case_no: str, *args: str) -> dict:
    return cf.json(
        "case", "extend", case_no, "--reason", "需要厂家鉴定", "--approved-by", "赵敏", *args
    )


def test_an_extension_moves_the_due_date_in_force_and_keeps_the_original(cf, ws):
    case_no = register(cf, plain_case())
    accept(cf, case_no, at=ACCEPTED)
    out = extend(
        cf, case_no, "--days", "3", "--at", "2026-11-18 10:00", "--notified-at", "2026-11-18 11:00"
    )["case"]
    assert out["assignment"]["due"] == "2026-11-19"  # the original stays
    [ext] = out["extensions"]
    assert ext["from"] == "2026-11-19" and ext["to"] == "2026-11-24" and ext["days"] == 3
    assert ext["approved_by"] == "赵敏" and ext["reason"] == "需要厂家鉴定"
    assert ext["notified_at"] == "2026-11-18T11:00:00+08:00"
    # Resolved after the original due date but before the extended one: on time.
    returned(cf, case_no, at="2026-11-23T16:00:00+08:00")
    figs = cf.json("report", "monthly", "2026-11", "--as-of", "2026-11-30", "--by", "赵敏")
    assert figs["resolved_on_time"] == 1 and figs["extended"] == 1
    assert figs["departments"]["SVC"]["extended"] == 1
    assert figs["departments"]["SVC"]["on_time_rate"] == 1.0
    event = cf.json("case", "history", case_no)[-2]
    assert event["action"] == "case.extend" and event["reason"] == "需要厂家鉴定"


def test_extension_limits(cf, ws):
    case_no = register(cf, plain_case())
    accept(cf, case_no, at=ACCEPTED)
    at = ("--at", "2026-11-17 10:00")
    refused(cf, ws, "case", "extend", case_no, "--days", "8", "--reason", "x",
            "--approved-by", "赵敏", *at, expect="at most 7")  # fmt: skip
    refused(cf, ws, "case", "extend", case_no, "--reason", "x", "--approved-by", "赵敏", *at,
            expect="give the working days or the new date")  # fmt: skip
    refused(cf, ws, "case", "extend", case_no, "--to", "2026-11-18", "--reason", "x",
            "--approved-by", "赵敏", *at, expect="is not after the due date")  # fmt: skip
    refused(cf, ws, "case", "extend", case_no, "--days", "两天", "--reason", "x",
            "--approved-by", "赵敏", *at, expect="must be a whole number")  # fmt: skip
    extend(cf, case_no, "--to", "2026-11-25", *at)
    refused(cf, ws, "case", "extend", case_no, "--days", "1", "--reason", "x",
            "--approved-by", "赵敏", "--at", "2026-11-18 10:00",
            expect="already extended 1 time")  # fmt: skip


def test_an_extension_after_the_due_date_is_refused(cf, ws):
    case_no = register(cf, plain_case())
    accept(cf, case_no, at=ACCEPTED)
    refused(cf, ws, "case", "extend", case_no, "--days", "2", "--reason", "x",
            "--approved-by", "赵敏", "--at", "2026-11-20 09:00",
            expect="has passed")  # fmt: skip


def test_more_extensions_when_the_config_allows_them(cf, ws):
    text = ws.config_path.read_text(encoding="utf-8")
    ws.config_path.write_text(
        text.replace("special: 7}", "special: 7, extensions: 2, max_extension: 10}"),
        encoding="utf-8",
    )
    case_no = register(cf, plain_case())
    accept(cf, case_no, at=ACCEPTED)
    extend(cf, case_no, "--days", "10", "--at", "2026-11-17 10:00")
    out = extend(cf, case_no, "--days", "1", "--at", "2026-11-18 10:00")["case"]
    assert [e["to"] for e in out["extensions"]] == ["2026-12-03", "2026-12-04"]


def test_a_send_back_returns_the_case_for_routing_and_keeps_the_round(cf, ws):
    case_no = register(cf, plain_case())
    cf.json("case", "accept", case_no, "--department", "FIN", "--at", ACCEPTED)
    out = cf.json(
        "case", "send-back", case_no, "--reason", "非本部门业务", "--at", "2026-11-16 15:00"
    )["case"]
    assert out["status"] == "registered"
    assert out["decision"]["accepted"] is None and out["assignment"]["department"] is None
    [round_] = out["routing_history"]
    assert round_["assignment"]["department"] == "FIN" and round_["reason"] == "非本部门业务"
    # Routed again: the new department's limit counts from the new routing.
    again = cf.json("case", "accept", case_no, "--department", "SVC", "--at", "2026-11-17 09:00")[
        "case"
    ]
    assert again["assignment"]["due"] == "2026-11-20"
    figs = cf.json("report", "monthly", "2026-11", "--as-of", "2026-11-30", "--by", "赵敏")
    assert figs["sent_back"] == 1
    assert figs["departments"]["FIN"]["sent_back"] == 1
    assert figs["departments"]["FIN"]["assigned"] == 0
    assert figs["departments"]["SVC"]["assigned"] == 1
    history = [e["action"] for e in cf.json("case", "history", case_no)]
    assert history[-2:] == ["case.send_back", "case.accept"]
    # Not before the send-back, and not once handled.
    returned(cf, case_no)
    refused(cf, ws, "case", "send-back", case_no, "--reason", "x", expect="cannot send back")


@pytest.mark.parametrize("step", ["extend", "send-back"])
def test_a_case_not_routed_cannot_be_extended_or_sent_back(cf, ws, step):
    case_no = register(cf, plain_case())
    extra = ("--days", "1", "--approved-by", "赵敏") if step == "extend" else ()
    result = cf("case", step, case_no, "--reason", "x", *extra)
    assert result.exit_code == 1 and len(result.stderr.strip().splitlines()) == 1


def test_per_department_figures_recompute_from_the_export(cf, ws, tmp_path):
    """Every per-department figure, counted again from `case export` by hand."""
    import json

    a, b, c = (register(cf, plain_case()) for _ in range(3))
    accept(cf, a, at=ACCEPTED)
    accept(cf, b, at=ACCEPTED)
    cf.json("case", "accept", c, "--department", "SAL", "--at", ACCEPTED)
    returned(cf, a, at="2026-11-18T16:00:00+08:00")  # on time
    returned(cf, b, at="2026-11-20T16:00:00+08:00")  # late
    cf.json("case", "callback", a, "--satisfaction", "满意", "--at", "2026-11-19 10:00")
    cf.json("case", "callback", b, "--satisfaction", "不满意", "--at", "2026-11-23 10:00")
    figs = cf.json("report", "monthly", "2026-11", "--as-of", "2026-11-30", "--by", "赵敏")
    out = tmp_path / "cases.json"
    assert cf("case", "export", "--format", "json", "-o", str(out)).exit_code == 0
    cases = json.loads(out.read_text(encoding="utf-8"))
    svc = [x for x in cases if x["assignment"]["department"] == "SVC"]
    resolved = [x for x in svc if x["handling"]["resolved_at"]]
    on_time = [x for x in resolved if x["handling"]["resolved_at"][:10] <= x["assignment"]["due"]]
    assert figs["departments"]["SVC"] == {
        "assigned": len(svc),
        "resolved": len(resolved),
        "resolved_on_time": len(on_time),
        "on_time_rate": round(len(on_time) / len(resolved), 4),
        "satisfaction_rate": 0.5,
        "overdue_open": 0,
        "extended": 0,
        "sent_back": 0,
        "reminded": 0,
    }
    assert figs["departments"]["SAL"]["overdue_open"] == 1
    assert figs["departments"]["SAL"]["on_time_rate"] is None
    csv_file = next(f["path"] for f in figs["files"] if f["format"] == "csv")
    text = (ws.root / csv_file).read_text(encoding="utf-8-sig")
    assert "departments.SVC,on_time_rate,0.5" in text


def test_export_and_import_keep_extensions_and_send_backs(cf, ws, tmp_path):
    from complaintforms.workspace import Workspace, init_workspace

    from .conftest import Runner

    extended = register(cf, plain_case())
    accept(cf, extended, at=ACCEPTED)
    extend(cf, extended, "--days", "2", "--at", "2026-11-18 10:00")
    moved = register(cf, plain_case())
    cf.json("case", "accept", moved, "--department", "FIN", "--at", ACCEPTED)
    cf.json("case", "send-back", moved, "--reason", "非本部门", "--at", "2026-11-16 15:00")
    cf.json("case", "accept", moved, "--department", "SVC", "--at", "2026-11-17 09:00")
    for fmt in ("json", "csv"):
        out = tmp_path / f"export.{fmt}"
        assert cf("case", "export", "--format", fmt, "-o", str(out)).exit_code == 0
        fresh = Runner(Workspace.open(init_workspace(tmp_path / f"fresh-{fmt}").root))
        assert fresh.json("case", "import", str(out))["imported"] == 2, fmt
        for number in (extended, moved):
            a, b = cf.json("case", "show", number), fresh.json("case", "show", number)
            for key in ("extensions", "routing_history", "assignment", "overdue"):
                assert (a.get(key) or []) == (b.get(key) or []), (fmt, number, key)
