"""The opinion book (意见簿) and the opinion register (意见登记簿).

An opinion, praise or suggestion that is not handled as a complaint case is entered here,
with how it was handled and replied to. The register of a month lists these entries and the
month's cases together, for the branch head's signature.
"""

from __future__ import annotations

from typing import Any

from complaintforms.domain import model
from complaintforms.domain.enums import label, parse_enum
from complaintforms.domain.paper import cn_date, cn_period
from complaintforms.domain.periods import parse_month
from complaintforms.domain.timeutil import iso, minute, parse_time
from complaintforms.domain.timeutil import now as clock_now
from complaintforms.errors import ValidationError
from complaintforms.i18n import N_
from complaintforms.workspace import Workspace

OPINION_PATTERN = "OP-{year}-{seq:04d}"


def add_opinion(ws: Workspace, data: dict[str, Any], *, by: str) -> dict:
    """`opinion add`: validate and store one entry."""
    config = ws.config
    now = clock_now()
    received = parse_time(data.get("at") or now, "at", reference=now)
    reply_at = (
        parse_time(data["reply_at"], "reply_at", reference=now) if data.get("reply_at") else None
    )
    if reply_at is not None and minute(reply_at) < minute(received):
        raise ValidationError(N_("{field} is before the opinion was received"), field="reply_at")
    entry = {
        "id": None,
        "kind": parse_enum("opinion_kind", data.get("kind") or "opinion", "kind"),
        "channel": parse_enum("channel", data.get("channel") or "opinion_book", "channel", config),
        "received_at": iso(received),
        "customer": model.text(data.get("name"), "name", limit=model.MAX_NAME),
        "contact": model.phone(data.get("phone"), "phone"),
        "confidential": bool(data.get("confidential")),
        "content": model.text(
            data.get("content"), "content", required=True, limit=model.MAX_CONTENT
        ),
        "handling": model.text(data.get("handling"), "handling"),
        "reply": {
            "at": iso(reply_at),
            "how": model.text(data.get("reply_how"), "reply_how", limit=model.MAX_NAME),
        },
        "department": model.department_code(config, data["department"], "department")
        if data.get("department")
        else None,
        "handler": model.text(by, "by", required=True, limit=model.MAX_NAME),
        "recorded_at": iso(now),
    }
    with ws.store.transaction() as txn:
        year = entry["received_at"][:4]
        entry["id"] = OPINION_PATTERN.format(year=year, seq=txn.next_seq(f"OP-{year}"))
        txn.insert(entry, collection="opinions")
        txn.log("opinion.add", by, entry["id"], at=iso(now), after=entry)
    return entry


def _customer(name: str | None, confidential: bool, anonymous: bool = False) -> str:
    if anonymous or not name:
        return "匿名"
    return model.mask_name(name) if confidential else name


def case_row(case: dict, config) -> dict:
    """A case as a line of the register (contact masked; confidential names masked)."""
    comp, status = case["complainant"], case["status"]
    dep = (
        config.department(case["assignment"]["department"])
        if case["assignment"].get("department")
        else None
    )
    if status == "rejected":
        handling = f"不受理：{case['decision'].get('reason') or ''}"
    elif status == "registered":
        handling = "待受理"
    elif status == "assigned":
        handling = (
            f"已转{dep.name if dep else ''}处理，时限 {cn_date(case['assignment'].get('due'))}"
        )
    else:
        handling = case["handling"].get("result") or ""
        if case["closure"].get("at"):
            handling += "（已结案）"
    if case["callback"].get("at"):
        reply = f"{cn_date(case['callback']['at'])} 电话回访（{label('satisfaction', case['callback']['satisfaction'])}）"
    elif status == "rejected":
        reply = f"{cn_date(case['decision']['at'])} 书面答复"
    else:
        reply = ""
    return {
        "ref": case["case_no"],
        "date": cn_date(case["received_at"]),
        "customer": _customer(
            comp.get("name"), bool(comp.get("confidential")), bool(comp.get("anonymous"))
        ),
        "contact": model.mask_phone(comp.get("phone")),
        "channel": label("channel", case["channel"], config),
        "kind": label("kind", case["kind"]),
        "content": case["content"],
        "handling": handling,
        "reply": reply,
        "handler": case["assignment"].get("handler") or case["recorded_by"],
        "sort": case["received_at"],
    }


def opinion_row(entry: dict, config) -> dict:
    reply = ""
    if entry["reply"].get("at"):
        reply = f"{cn_date(entry['reply']['at'])} {entry['reply'].get('how') or ''}".strip()
    return {
        "ref": entry["id"],
        "date": cn_date(entry["received_at"]),
        "customer": _customer(entry.get("customer"), entry.get("confidential", False)),
        "contact": model.mask_phone(entry.get("contact")),
        "channel": label("channel", entry["channel"], config),
        "kind": label("opinion_kind", entry["kind"]),
        "content": entry["content"],
        "handling": entry.get("handling") or "",
        "reply": reply,
        "handler": entry["handler"],
        "sort": entry["received_at"],
    }


def register_rows(ws: Workspace, month: str, department: str | None = None) -> list[dict]:
    dep = model.department_code(ws.config, department, "department") if department else None
    rows = [
        case_row(c, ws.config)
        for c in ws.store.iter_records(months=[month])
        if c["status"] != "void"  # a registration made in error is in no register
        and (not dep or dep in (c["assignment"].get("department"), c["target"].get("department")))
    ]
    rows += [
        opinion_row(o, ws.config)
        for o in ws.store.iter_records("opinions", months=[month])
        if not dep or o.get("department") == dep
    ]
    rows.sort(key=lambda r: r["sort"])
    for i, row in enumerate(rows, 1):
        row["no"] = i
        del row["sort"]
    return rows


def render_register(ws: Workspace, month: str, *, department: str | None = None, by: str) -> dict:
    """`register render`: the 顾客意见登记簿 of a month as PDF and docx."""
    from complaintforms.documents.pipeline import (
        prepare_list,
        render_files,
        reserve_serials,
        store_files,
    )

    month = parse_month(month, "month")
    rows = register_rows(ws, month, department)
    dep = ws.config.department(department) if department else None
    now = iso(clock_now())
    doc = prepare_list(
        ws,
        "opinion_register",
        period=month + (f" {dep.code}" if dep else ""),
        printed_period=cn_period(month) + (f" {dep.name}" if dep else ""),
        rows=rows,
        by=by,
        serial=reserve_serials(ws, 1)[0],
        at=now,
        kind="register",
        where={"month": month},
    )
    files = render_files(ws, doc, ("pdf", "docx"))
    with ws.store.transaction() as txn:
        docs = store_files(txn, doc, files, at=now)
        txn.log(
            "register.render",
            by,
            None,
            at=now,
            after={"month": month, "department": department, "documents": docs},
        )
    return {"month": month, "department": department, "entries": len(rows), "documents": docs}
