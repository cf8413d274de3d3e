"""Text shown by the CLI for people (the --json forms are the data itself)."""

from __future__ import annotations

from .config import Config
from .enums import label
from .timeutil import display


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
    asg = case["assignment"]
    if asg.get("department"):
        lines.append(
            f"  routed to {asg['department']} ({asg.get('handler') or '-'}), due {asg['due']}"
        )
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
