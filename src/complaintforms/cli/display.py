"""Text shown by the CLI for people, in their language (the --json forms are the data itself).

`case show` prints every recorded field under its label (DESIGN.md section 13), the labels
being message ids translated when shown; values and codes stay as recorded.
"""

from __future__ import annotations

import unicodedata

from complaintforms import i18n
from complaintforms.config import Config
from complaintforms.domain import enums
from complaintforms.domain.timeutil import display
from complaintforms.i18n import N_, _


def label(name: str, code: str | None, config: Config | None = None) -> str:
    """An enumeration as the user reads it: its Chinese label, or in English the code in
    words (the printed forms always use the Chinese labels)."""
    if code is None or i18n.language() == "zh-CN":
        return enums.label(name, code, config)
    return code.replace("_", " ")


def width(text: str) -> int:
    """Columns on a terminal: a Chinese character takes two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def pad(text: str, columns: int) -> str:
    return text + " " * max(columns - width(text), 0)


def _rows(rows: list[tuple[str, str]]) -> list[str]:
    shown = [(_(name), value) for name, value in rows if value not in (None, "")]
    columns = max((width(name) for name, _value in shown), default=0)
    return [f"  {pad(name, columns)}  {value}" for name, value in shown]


def _department(config: Config, code: str | None) -> str:
    if not code:
        return ""
    dep = config.department(code)
    return f"{dep.name} ({code})" if dep else code


def case_text(case: dict, config: Config) -> str:
    comp, tgt = case["complainant"], case["target"]
    head = f"{case['case_no']}  {label('status', case['status'])} ({case['status']})"
    if case.get("overdue"):
        head += "  " + _(N_("OVERDUE"))
    rows: list[tuple[str, str]] = [
        (
            N_("received"),
            display(case["received_at"])
            + ("  " + _(N_("late entry (补办记录)")) if case.get("late_entry") else ""),
        ),
        (N_("channel"), label("channel", case["channel"], config)),
        (N_("recorded by"), case.get("recorded_by") or ""),
        (N_("kind"), label("kind", case["kind"])),
        (N_("severity"), label("severity", case["severity"])),
        (N_("category"), case.get("category") or ""),
        (
            N_("complainant"),
            (comp.get("name") or _(N_("(anonymous)")))
            + ("  " + _(N_("confidential (要求保密)")) if comp.get("confidential") else ""),
        ),
        (N_("phone"), comp.get("phone") or ""),
        (N_("address"), comp.get("address") or ""),
        (
            N_("against"),
            " ".join(
                p
                for p in (
                    label("target_type", tgt["type"]),
                    _department(config, tgt.get("department")),
                    tgt.get("staff") or "",
                )
                if p
            ),
        ),
    ]
    values = case.get("extra") or {}
    rows += [(f.label, values.get(f.key) or "") for f in config.extra_fields]
    rows += [(N_("content"), case.get("content") or ""), (N_("demand"), case.get("demand") or "")]
    dec = case["decision"]
    if dec.get("accepted") is False:
        rows.append((N_("rejected"), f"{display(dec['at'])} {dec['by']}: {dec['reason']}"))
    elif dec.get("accepted"):
        rows.append((N_("accepted"), f"{display(dec['at'])} {dec['by']}"))
    if dec.get("validity"):
        rows.append((N_("validity"), label("validity", dec["validity"])))
    asg = case["assignment"]
    if asg.get("department"):
        special = "  " + _(N_("special case")) if asg.get("special") else ""
        rows += [
            (N_("department"), _department(config, asg["department"])),
            (N_("handler"), asg.get("handler") or ""),
            (N_("due"), (asg.get("due") or "") + special),
        ]
    for past in case.get("reopens", []):
        rows.append((N_("reopened"), f"{display(past['at'])} {past['by']}: {past['reason']}"))
    h = case["handling"]
    if h.get("resolved_at"):
        signed = "投诉人已签字" if h.get("customer_signed") else "投诉人未签字"
        rows += [
            (N_("findings"), h.get("findings") or ""),
            (N_("cause"), h.get("cause") or ""),
            (N_("responsible"), h.get("responsible") or ""),
            (N_("plan"), h.get("plan") or ""),
            (N_("approved by"), h.get("approved_by") or ""),
            (N_("result"), f"{display(h['resolved_at'])}: {h['result']}  [{signed}]"),
        ]
        if h.get("compensation") not in (None, ""):
            rows.append((N_("compensation"), str(h["compensation"])))
    cb = case["callback"]
    if cb.get("at"):
        note = f": {cb['note']}" if cb.get("note") else ""
        sat = label("satisfaction", cb.get("satisfaction"))
        rows.append((N_("call-back"), f"{display(cb['at'])} {cb['by']}: {sat}{note}"))
    cl = case["closure"]
    if cl.get("at"):
        rows += [
            (N_("closed"), f"{display(cl['at'])} {cl['by']}: {cl['summary']}"),
            (N_("cause found"), cl.get("cause") or ""),
            (N_("measures"), cl.get("measures") or ""),
        ]
        if cl.get("penalty"):
            pen = cl["penalty"]
            rows.append(
                (
                    N_("penalty"),
                    f"{label('penalty', pen['type'])} {pen['person']} ({pen['amount']})",
                )
            )
    if case["signoff"].get("at"):
        rows.append((N_("signed off"), f"{display(case['signoff']['at'])} {case['signoff']['by']}"))
    if case["archive"].get("bundle"):
        rows.append((N_("bundle"), case["archive"]["bundle"]))
    rows += [
        (N_("scan"), f"{att['form']} ({att['pages']} p.)  {att['path']}")
        for att in case.get("attachments", [])
    ]
    rows += [
        (N_("document"), f"{doc['form']} {doc['format']}  {doc['path']}")
        for doc in case.get("documents", [])
    ]
    return "\n".join([head, *_rows(rows)])


def list_text(cases: list[dict], config: Config | None = None) -> str:
    if not cases:
        return _(N_("no cases"))
    rows = []
    for c in cases:
        rows.append(
            "  ".join(
                [
                    c["case_no"],
                    pad(label("status", c["status"]), 6),
                    display(c["received_at"]),
                    pad(label("kind", c["kind"]), 4),
                    pad(label("channel", c["channel"], config), 8),
                    f"{(c['assignment'].get('department') or '-'):<5}",
                    c["assignment"].get("due") or "-",
                    _(N_("OVERDUE")) if c.get("overdue") else "",
                ]
            ).rstrip()
        )
    return "\n".join(rows)


# The audit log's actions as a person reads them.
ACTIONS = {
    "case.new": N_("registered"),
    "case.import": N_("imported"),
    "case.accept": N_("accepted"),
    "case.reject": N_("not accepted"),
    "slip.issue": N_("feedback slip issued"),
    "letter.issue": N_("contact letter issued"),
    "slip.return": N_("slip returned"),
    "scan.attach": N_("scan attached"),
    "scan.unmatched": N_("scans kept unmatched"),
    "case.callback": N_("called back"),
    "case.reopen": N_("reopened"),
    "case.close": N_("closed"),
    "case.signoff": N_("signed off"),
    "case.hold": N_("put under hold"),
    "case.hold.release": N_("hold lifted"),
    "form.render": N_("form rendered"),
    "archive.build": N_("sealed into its bundle"),
    "archive.dispose": N_("bundle disposed of"),
}


def history_text(events: list[dict]) -> str:
    lines = []
    for e in events:
        what = _(ACTIONS[e["action"]]) if e["action"] in ACTIONS else e["action"]
        changed = (
            ", ".join(sorted((e.get("after") or {}).keys())) if e["action"] != "case.new" else ""
        )
        line = f"#{e['seq']}  {display(e['at'])}  {e['by']}  {what}"
        lines.append(f"{line}  ({e['action']}{': ' + changed if changed else ''})")
    return "\n".join(lines) or _(N_("no events"))
