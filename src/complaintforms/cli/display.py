"""Text shown by the CLI for people (the --json forms are the data itself)."""

from __future__ import annotations

from complaintforms.config import Config
from complaintforms.domain.enums import label
from complaintforms.domain.timeutil import display


def case_text(case: dict, config: Config) -> str:
    comp, tgt = case["complainant"], case["target"]
    lines = [
        f"{case['case_no']}  {label('status', case['status'])} ({case['status']})"
        + ("  逾期 OVERDUE" if case.get("overdue") else ""),
        f"  received  {display(case['received_at'])}  {label('channel', case['channel'])}"
        + ("  补办记录" if case.get("late_entry") else "")
        + f"  recorded by {case['recorded_by']}",
        f"  kind      {label('kind', case['kind'])}  severity {label('severity', case['severity'])}"
        f"  category {case.get('category') or '-'}",
        f"  from      {comp.get('name') or '(匿名)'}  {comp.get('phone') or ''}"
        + ("  要求保密" if comp.get("confidential") else ""),
        f"  against   {label('target_type', tgt['type'])} {tgt.get('department') or ''} {tgt.get('staff') or ''}".rstrip(),
        f"  content   {case['content']}",
    ]
    if case.get("demand"):
        lines.append(f"  demand    {case['demand']}")
    dec = case["decision"]
    if dec.get("accepted") is False:
        lines.append(f"  rejected  {display(dec['at'])} by {dec['by']}: {dec['reason']}")
    asg = case["assignment"]
    if asg.get("department"):
        special = " (special)" if asg.get("special") else ""
        lines.append(
            f"  routed to {asg['department']} ({asg.get('handler') or '-'}), due {asg['due']}{special}"
        )
    for past in case.get("reopens", []):
        lines.append(f"  reopened  {display(past['at'])} by {past['by']}: {past['reason']}")
    h = case["handling"]
    if h.get("resolved_at"):
        signed = (
            "投诉人已签字"
            if h.get("customer_signed")
            else "投诉人未签字 (complainant did not sign)"
        )
        lines.append(f"  result    {display(h['resolved_at'])}: {h['result']}  [{signed}]")
        lines.append(f"  plan      {h['plan']} (approved by {h['approved_by']})")
    cb = case["callback"]
    if cb.get("at"):
        note = f": {cb['note']}" if cb.get("note") else ""
        sat = label("satisfaction", cb["satisfaction"])
        lines.append(f"  callback  {display(cb['at'])} by {cb['by']}: {sat}{note}")
    cl = case["closure"]
    if cl.get("at"):
        lines.append(f"  closed    {display(cl['at'])} by {cl['by']}: {cl['summary']}")
        if cl.get("penalty"):
            pen = cl["penalty"]
            lines.append(
                f"  penalty   {label('penalty', pen['type'])} {pen['person']} ({pen['amount']})"
            )
    for att in case.get("attachments", []):
        lines.append(f"  scan      {att['form']} ({att['pages']} p.)  {att['path']}")
    for doc in case.get("documents", []):
        lines.append(f"  document  {doc['form']} {doc['format']}  {doc['path']}")
    return "\n".join(lines)


def list_text(cases: list[dict]) -> str:
    if not cases:
        return "no cases"
    rows = []
    for c in cases:
        rows.append(
            "  ".join(
                [
                    c["case_no"],
                    f"{c['status']:<11}",
                    display(c["received_at"]),
                    f"{c['kind']:<10}",
                    f"{c['channel']:<12}",
                    f"{(c['assignment'].get('department') or '-'):<5}",
                    c["assignment"].get("due") or "-",
                    "OVERDUE" if c.get("overdue") else "",
                ]
            ).rstrip()
        )
    return "\n".join(rows)


def history_text(events: list[dict]) -> str:
    lines = []
    for e in events:
        changed = (
            ", ".join(sorted((e.get("after") or {}).keys()))
            if e["action"] != "case.new"
            else "registered"
        )
        lines.append(f"#{e['seq']}  {display(e['at'])}  {e['by']}  {e['action']}  {changed}")
    return "\n".join(lines) or "no events"
