"""The monthly summary and the quarterly statistics report: figures, charts, PDF, docx, CSV.

The figures come from figures.compute (pure); this module only lays them out. No personal
data goes in: no complainant's name, phone or address appears in any report.
"""

from __future__ import annotations

import csv
import hashlib
import io

from complaintforms.documents.forms import department_name
from complaintforms.domain import figures as fig
from complaintforms.domain.enums import label
from complaintforms.domain.paper import cn_date, cn_month, cn_period, money
from complaintforms.domain.timeutil import iso, parse_date
from complaintforms.domain.timeutil import now as clock_now
from complaintforms.storage.paths import shown, stored_path
from complaintforms.workspace import Workspace

# Lists printed in full up to this many rows; the CSV and --json always hold them all.
LISTED = 50

LABELS = {
    "by_kind": ("kind", "按性质"),
    "by_channel": ("channel", "按渠道"),
    "by_severity": ("severity", "按程度"),
    "by_validity": ("validity", "按有效性"),
    "by_target_type": ("target_type", "按投诉对象"),
}


def share(n: int, total: int) -> str:
    return f"{n / total:.1%}" if total else "—"


def change(now: int, before: int) -> str:
    if not before:
        return "—"
    return f"{(now - before) / before:+.1%}"


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate:.1%}"


def tables(figs: dict, config) -> list[dict]:
    total = figs["total"]

    def rows(mapping: dict, name=None) -> list[dict]:
        out = []
        for key, n in mapping.items():
            if key == fig.UNCLASSIFIED:
                text = "未分类"
            elif name:
                text = label(name, key, config)
            else:
                text = key
            out.append({"label": text, "count": n, "share": share(n, total)})
        return out

    deps = {}
    for code, n in figs["by_department"].items():
        dep = config.department(code)
        deps[dep.name if dep else code] = n
    out = [
        {
            "title": "按投诉对象（对公司 / 对部门 / 对业务代表）",
            "rows": rows(figs["by_target_type"], "target_type"),
        }
    ]
    out.append({"title": "按部门（对部门及其业务代表的投诉）", "rows": rows(deps)})
    out.append({"title": "按业务代表", "rows": rows(figs["by_staff"])})
    out.append({"title": "按类别", "rows": rows(figs["by_category"])})
    for key in ("by_channel", "by_kind", "by_severity", "by_validity"):
        name, title = LABELS[key]
        out.append({"title": title, "rows": rows(figs[key], name)})
    return out


def charts(figs: dict, config) -> list:
    from complaintforms.documents.charts import bar_chart, comparison_chart

    if not figs["total"]:
        return []
    font = config.font_sans
    cats = figs["by_category"]
    pictures = [
        bar_chart(
            "按类别",
            [("未分类" if k == fig.UNCLASSIFIED else k) for k in cats],
            list(cats.values()),
            font=font,
            horizontal=True,
        ),
        bar_chart(
            "按渠道",
            [label("channel", k, config) for k in figs["by_channel"]],
            list(figs["by_channel"].values()),
            font=font,
        ),
        comparison_chart(
            ["本期", "上期", "去年同期"],
            [figs["total"], figs["previous_period_total"], figs["same_period_last_year_total"]],
            font=font,
        ),
    ]
    if len(figs["by_month"]) > 1:
        pictures.append(
            bar_chart(
                "月度趋势",
                [cn_month(m) for m in figs["by_month"]],
                list(figs["by_month"].values()),
                font=font,
            )
        )
    return pictures


def report_context(figs: dict, config, period: fig.Period) -> dict:
    sat = figs["satisfaction"]
    # 按部门办理情况: ranked by on-time rate (best first; a department with nothing resolved
    # yet, rate None, last), then by name.
    departments = [
        {"code": code, "name": department_name(config, code), **row}
        for code, row in (figs.get("departments") or {}).items()
    ]
    departments.sort(
        key=lambda d: (d.get("on_time_rate") is None, -(d.get("on_time_rate") or 0), d["name"])
    )
    return {
        "heading": cn_period(period.label)
        + ("投诉统计报告" if period.is_quarter else "投诉统计月报"),
        "as_of": cn_date(figs["as_of"]),
        "empty": figs["total"] == 0,
        "figures": figs,
        "summary": {
            "total": figs["total"],
            "previous": figs["previous_period_total"],
            "previous_label": cn_period(figs["previous_period"]),
            "previous_change": change(figs["total"], figs["previous_period_total"]),
            "last_year": figs["same_period_last_year_total"],
            "last_year_label": cn_period(figs["same_period_last_year"]),
            "last_year_change": change(figs["total"], figs["same_period_last_year_total"]),
            "accepted": figs["accepted"],
            "rejected": figs["rejected"],
            "closed": figs["closed"],
            "resolved": figs["resolved"],
            "on_time": figs["resolved_on_time"],
            "on_time_rate": percent(figs["on_time_rate"]),
            "days_mean": "—"
            if figs["handling_days_mean"] is None
            else f"{figs['handling_days_mean']:.1f}",
            "days_max": "—"
            if figs["handling_days_max"] is None
            else str(figs["handling_days_max"]),
            "overdue": figs["overdue_open"],
            "callbacks": figs["callbacks"],
            "satisfied": sat["satisfied"],
            "basically": sat["basically_satisfied"],
            "dissatisfied": sat["dissatisfied"],
            "satisfaction_rate": percent(figs["satisfaction_rate"]),
            "voided": figs["voided"],
            "repeats": figs.get("repeats", 0),
            "group_complaints": figs.get("group_complaints", 0),
            "extended": figs.get("extended", 0),
            "sent_back": figs.get("sent_back", 0),
            "callbacks_unreachable": figs["callbacks_unreachable"],
            "callbacks_on_time": figs["callbacks_on_time"],
            "callback_overdue": figs["callback_overdue"],
            "compensation": money(figs["compensation_total"]) or "—",
            "compensation_detail": "；".join(
                f"{department_name(config, code) or '未分派'} {money(amount)}"
                for code, amount in figs["compensation_by_department"].items()
            )
            or "无",
        },
        "tables": tables(figs, config),
        "departments": [
            {
                "name": d["name"],
                **{
                    key: d.get(key, 0)
                    for key in (
                        "assigned",
                        "resolved",
                        "resolved_on_time",
                        "overdue_open",
                        "extended",
                        "sent_back",
                        "reminded",
                    )
                },
                "on_time_rate": percent(d.get("on_time_rate")),
                "satisfaction_rate": percent(d.get("satisfaction_rate")),
            }
            for d in departments
        ],
        "trend": [{"month": cn_month(m), "count": n} for m, n in figs["by_month"].items()],
        "major": [
            {
                **m,
                "received": cn_date(m["received"]),
                "category": m["category"] or "未分类",
                "department": department_name(config, m["department"]) or "—",
                "status": label("status", m["status"]),
                "summary": m["summary"] or "",
            }
            for m in figs["major_cases"][:LISTED]
        ],
        "penalties": [
            {
                **p,
                "type": label("penalty", p["type"], config),
                "amount": money(p["amount"], p.get("unit")),
            }
            for p in figs["penalties"][:LISTED]
        ],
        "more": {
            "major": max(len(figs["major_cases"]) - LISTED, 0),
            "penalties": max(len(figs["penalties"]) - LISTED, 0),
        },
        "charts": charts(figs, config),
    }


def figures_csv(figs: dict) -> bytes:
    """Every figure as section,key,value rows (the lists as one row per item)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["section", "key", "value"])
    for key, value in figs.items():
        if isinstance(value, dict):
            for sub, n in value.items():
                if isinstance(n, dict):  # departments: one section per department
                    for inner, m in n.items():
                        writer.writerow([f"{key}.{sub}", inner, "" if m is None else m])
                else:
                    writer.writerow([key, sub, "" if n is None else n])
        elif isinstance(value, list):
            for item in value:
                writer.writerow(
                    [
                        key,
                        item.get("case_no", "") if isinstance(item, dict) else item,
                        "; ".join(f"{k}={v}" for k, v in item.items() if k != "case_no")
                        if isinstance(item, dict)
                        else "",
                    ]
                )
        else:
            writer.writerow([key, "", "" if value is None else value])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")  # a BOM so that Excel reads UTF-8


def period_figures(
    ws: Workspace, period_text: str, as_of: object = None
) -> tuple[fig.Period, dict]:
    from complaintforms.services.cases import work_calendar

    period = fig.Period.parse(period_text)
    day = parse_date(as_of, "as_of") if as_of else clock_now().date()
    cases = ws.store.iter_records(months=fig.months_needed(period))
    figs = fig.compute(
        cases,
        period,
        as_of=day,
        deadlines=ws.config.deadlines,
        cal=work_calendar(ws),
        group_threshold=ws.config.group_threshold,
    )
    return period, figs


def build_report(
    ws: Workspace,
    period_text: str,
    *,
    as_of: object = None,
    by: str,
    formats: tuple[str, ...] = ("pdf", "docx", "csv"),
) -> dict:
    """`report monthly|quarterly`: the figures, and the report as PDF, docx and CSV. The
    figures are one snapshot of the cases; the report is rendered with no lock held."""
    from complaintforms.documents.pipeline import prepare_list, reserve_serials
    from complaintforms.documents.render import RendererSet, render_all

    period, figs = period_figures(ws, period_text, as_of)
    now = iso(clock_now())
    serial = reserve_serials(ws, 1)[0]
    outputs: dict[str, bytes] = {}
    doc_formats = tuple(f for f in formats if f in ("pdf", "docx", "html"))
    if doc_formats:
        doc = prepare_list(
            ws,
            "statistics_report",
            period=period.label,
            rows=[],
            by=by,
            serial=serial,
            at=now,
            kind="report",
            where={"period": period.label},
        )
        doc.context.update(report_context(figs, ws.config, period))
        outputs.update(render_all(RendererSet(ws.forms_dir), doc.spec, doc.context, doc_formats))
    if "csv" in formats:
        outputs["csv"] = figures_csv(figs)
    files = []
    with ws.store.transaction() as txn:
        for fmt, data in outputs.items():
            if fmt == "csv":
                rel = stored_path("figures", period=period.label, serial=serial)
            else:
                rel = stored_path("report", period=period.label, serial=serial, ext=fmt)
            txn.put_file(rel, data)
            files.append(
                {"format": fmt, "path": shown(rel), "sha256": hashlib.sha256(data).hexdigest()}
            )
        txn.log(
            "report.build",
            by,
            None,
            at=now,
            after={"period": period.label, "as_of": figs["as_of"], "files": files},
        )
    return {**figs, "files": files}
