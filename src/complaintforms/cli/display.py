"""Text shown by the CLI for people, in their language (the --json forms are the data itself).

`case show` prints every recorded field under its label (DESIGN.md section 13), the labels
being message ids translated when shown; values and codes stay as recorded.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from complaintforms import i18n
from complaintforms.config import Config
from complaintforms.domain import enums
from complaintforms.domain.labels import ACTIONS, ENUM_FIELDS, label_of
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


def _department(config: Config, code: str | None) -> str:
    if not code:
        return ""
    dep = config.department(code)
    return f"{dep.name} ({code})" if dep else code


# -- case show: every recorded field under its label -----------------------------------------
# The labels, the enumeration fields and the actions: complaintforms.domain.labels.
# The order of a case's parts; keys not named here follow in the record's own order.
ORDER = (
    "void",
    "received_at",
    "recorded_at",
    "recorded_by",
    "late_entry",
    "first_receiver",
    "channel",
    "kind",
    "severity",
    "category",
    "complainant_count",
    "complainant",
    "target",
    "extra",
    "content",
    "demand",
    "decision",
    "assignment",
    "extensions",
    "handling",
    "callback",
    "closure",
    "signoff",
    "archive",
    "amendments",
    "attachments",
    "documents",
    "reopens",
)
# Shown in the heading line, not again below it.
HEADING_KEYS = ("case_no", "status", "overdue")
_ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def _label_of(path: str) -> str:
    return label_of(path, _)


def _empty(value: Any) -> bool:
    """Nothing recorded: None, "", and a part or list of nothing but that (a step not taken
    yet is a mapping of None)."""
    if isinstance(value, dict):
        return all(_empty(v) for v in value.values())
    if isinstance(value, list):
        return all(_empty(v) for v in value)
    return value is None or value == ""


def _scalar(path: str, value: Any, config: Config) -> str:
    """One recorded value as a person reads it: labels for codes, names for departments,
    times as shown everywhere, yes / no."""
    key = path.rsplit(".", 1)[-1]
    if key == "customer_signed" and isinstance(value, bool):
        return _(N_("yes (投诉人已签字)")) if value else _(N_("no (投诉人未签字)"))
    if isinstance(value, bool):
        return _(N_("yes")) if value else _(N_("no"))
    if not isinstance(value, str):
        return str(value)
    if path == "target.type":
        return label("target_type", value)
    if key in ("type", "kind") and "penalt" in path:
        return label("penalty", value, config)
    if key in ENUM_FIELDS:
        return label(ENUM_FIELDS[key], value, config)
    if key == "department":
        return _department(config, value)
    if (key == "at" or key.endswith("_at")) and _ISO_TIME.match(value):
        try:
            return display(value)
        except ValueError:
            return value
    return value


def _inline(path: str, item: dict, config: Config) -> str:
    """A list entry of plain values on one line: label value, label value, ..."""
    return "  ".join(
        f"{_label_of(f'{path}.{key}')} {_scalar(f'{path}.{key}', value, config)}"
        for key, value in item.items()
        if not _empty(value)
    )


def _block(path: str, record: dict, config: Config, order: tuple[str, ...] = ()) -> list:
    """Rows of a mapping: (label, value) for a plain value, (label, rows) for a nested one."""
    keys = [k for k in order if k in record] + [k for k in record if k not in order]
    rows: list = []
    for key in keys:
        value = record[key]
        sub = f"{path}.{key}" if path else key
        if _empty(value) or (not path and key in HEADING_KEYS):
            continue
        if isinstance(value, dict):
            rows.append((_label_of(sub), _block(sub, value, config)))
        elif isinstance(value, list):
            items = []
            for i, item in enumerate(value, 1):
                if isinstance(item, dict) and any(
                    isinstance(v, dict | list) for v in item.values()
                ):
                    items.append((f"#{i}", _block(sub, item, config)))
                elif isinstance(item, dict):
                    items.append((f"#{i}", _inline(sub, item, config)))
                else:
                    items.append((f"#{i}", _scalar(sub, item, config)))
            rows.append((_label_of(sub), items))
        else:
            rows.append((_label_of(sub), _scalar(sub, value, config)))
    return rows


def _extra_rows(case: dict, config: Config) -> list:
    """Configured extra fields under their configured labels, in the config's order; any
    other key under its dotted key."""
    values = case.get("extra") or {}
    labels = {f.key: f.label for f in config.extra_fields}
    rows = [(labels[k], str(values[k])) for k in labels if not _empty(values.get(k))]
    rows += [
        (f"extra.{k}", _scalar(f"extra.{k}", v, config))
        for k, v in values.items()
        if k not in labels and not _empty(v)
    ]
    return rows


def _lines(rows: list, depth: int = 1) -> list[str]:
    indent = "  " * depth
    columns = max((width(name) for name, value in rows if isinstance(value, str)), default=0)
    out = []
    for name, value in rows:
        if isinstance(value, list):
            out.append(f"{indent}{name}")
            out += _lines(value, depth + 1)
            continue
        first, *more = str(value).split("\n")
        out.append(f"{indent}{pad(name, columns)}  {first}".rstrip())
        out += [f"{indent}{' ' * columns}  {line}".rstrip() for line in more]
    return out


def case_text(case: dict, config: Config) -> str:
    """Every field the case records, under its label in the user's language (DESIGN.md
    section 13); codes as their labels, departments by name. What is not recorded (empty)
    is left out; a field this table does not know is shown under its dotted key."""
    head = f"{case['case_no']}  {label('status', case['status'], config)} ({case['status']})"
    if case.get("overdue"):
        head += "  " + _(N_("OVERDUE"))
    body = {k: v for k, v in case.items() if k != "extra"}
    rows = _block("", body, config, ORDER)
    extra = _extra_rows(case, config)
    if extra:
        where = next(
            (i for i, (name, _v) in enumerate(rows) if name in (_label_of("content"),)), len(rows)
        )
        rows.insert(where, (_label_of("extra"), extra))
    return "\n".join([head, *_lines(rows)])


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
                    # whose case it is: what a clerk checks with the customer on the phone
                    pad((c.get("complainant") or {}).get("name") or _(N_("(anonymous)")), 8),
                    f"{(c['assignment'].get('department') or '-'):<5}",
                    c["assignment"].get("due") or "-",
                    _(N_("OVERDUE")) if c.get("overdue") else "",
                ]
            ).rstrip()
        )
    return "\n".join(rows)


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
