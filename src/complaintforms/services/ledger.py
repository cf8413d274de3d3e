"""Import and export of case ledgers: JSON, YAML, or CSV with flattened keys.

An import replays each record's life cycle through the same validation and workflow steps
as the CLI (register, accept or reject, return, call back, reopen, close, sign off), in one
transaction: it stops at the first bad record, naming it, and the store stays as it was.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from complaintforms.domain import model, workflow
from complaintforms.domain.timeutil import iso, parse_date, parse_time
from complaintforms.domain.timeutil import now as clock_now
from complaintforms.errors import RecordError, ValidationError
from complaintforms.i18n import N_
from complaintforms.services.cases import (
    CaseFilter,
    case_number,
    iter_cases,
    number_regex,
    seq_counter,
    work_calendar,
)
from complaintforms.services.messages import Notice
from complaintforms.workspace import Workspace

FORMATS = ("json", "yaml", "csv")
# Kept by export for the auditor; not taken by import (files are not copied, overdue is computed).
IGNORED_ON_IMPORT = ("documents", "attachments", "overdue", "recorded_at", "archive")
# Nested lists are JSON text in a CSV cell.
LIST_KEYS = ("documents", "attachments", "reopens", "extra")


def detect_format(path: str, fmt: str | None) -> str:
    if fmt:
        fmt = fmt.lower()
    elif path.lower().endswith(".csv"):
        fmt = "csv"
    elif path.lower().endswith((".yaml", ".yml")):
        fmt = "yaml"
    elif path.lower().endswith(".json"):
        fmt = "json"
    else:
        raise ValidationError(
            N_("{path}: cannot tell the format from the name; give {field} json|yaml|csv"),
            field="format",
            path=path,
        )
    if fmt not in FORMATS:
        raise ValidationError(
            N_("{field}: {value}; formats: {formats}"),
            field="format",
            value=repr(fmt),
            formats=", ".join(FORMATS),
        )
    return fmt


# -- reading --------------------------------------------------------------------------------------------
def read_records(text: str, fmt: str, source: str) -> list[tuple[str, Any]]:
    """[(where, record)], where names the record for error messages."""
    if fmt == "csv":
        return list(_read_csv(text, source))
    if fmt == "json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValidationError(
                N_("{source}: not valid JSON (line {line}, column {column}): {error}"),
                source=source,
                line=exc.lineno,
                column=exc.colno,
                error=exc.msg,
            ) from None
    else:
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            problem = str(getattr(exc, "problem", None) or exc)
            if mark:
                raise ValidationError(
                    N_("{source}: not valid YAML (line {line}): {error}"),
                    source=source,
                    line=mark.line + 1,
                    error=problem,
                ) from None
            raise ValidationError(
                N_("{source}: not valid YAML: {error}"), source=source, error=problem
            ) from None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise ValidationError(N_("{source}: expected a list of cases"), source=source)
    return [
        (Notice(N_("{source}: record {number}"), source=source, number=i + 1), rec)
        for i, rec in enumerate(data)
    ]


def _read_csv(text: str, source: str) -> Iterator[tuple[str, dict]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    if not reader.fieldnames:
        raise ValidationError(N_("{source}: empty CSV"), source=source)
    for row in reader:
        where = Notice(N_("{source}: line {line}"), source=source, line=reader.line_num)
        if None in row:
            raise RecordError(where, N_("more cells than columns"))
        yield where, unflatten(row, where)


def unflatten(row: dict[str, str], where: str) -> dict:
    out: dict[str, Any] = {}
    for key, value in row.items():
        value = value if value != "" else None
        if key in LIST_KEYS and value is not None:
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                raise RecordError(where, N_("{key}: not valid JSON"), key=key) from None
        parts = key.split(".")
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise RecordError(
                    where, N_("column {key} clashes with another column"), key=repr(key)
                )
        node[parts[-1]] = value
    return out


def flatten(case: dict) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for key, value in case.items():
        if key in LIST_KEYS:
            row[key] = json.dumps(value, ensure_ascii=False) if value else ""
        elif isinstance(value, dict):
            for sub, subval in value.items():
                row[f"{key}.{sub}"] = (
                    json.dumps(subval, ensure_ascii=False)
                    if isinstance(subval, dict | list)
                    else subval
                )
        else:
            row[key] = value
    return {k: ("" if v is None else v) for k, v in row.items()}


# -- replaying a record -------------------------------------------------------------------------------
def _section(rec: dict, name: str) -> dict:
    value = rec.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationError(N_("{key}: must be a mapping"), key=name)
    unknown = sorted(set(value) - set(model.SECTIONS[name]) - {"recorded_by"})
    if unknown:
        raise ValidationError(N_("{key}: unknown field {value}"), key=name, value=repr(unknown[0]))
    return value


def _at(value: Any, field: str, now):
    return parse_time(value, field, reference=now)


def replay(rec: dict, ws: Workspace, cal, now) -> dict:
    """Build a case from an imported record by replaying its steps through the workflow, in
    the order the procedure takes them: registration, the decision, each earlier round
    (return, call-back, closing, reopening), the last round, the sign-off."""
    config = ws.config
    for key in IGNORED_ON_IMPORT:
        rec.pop(key, None)
    status = rec.pop("status", None)
    case_no = model.text(rec.pop("case_no", None), "case_no", limit=60)
    reopens = rec.pop("reopens", None) or []
    sections = {
        name: _section(rec, name)
        for name in ("decision", "assignment", "handling", "callback", "closure", "signoff")
    }
    for name in sections:
        rec.pop(name, None)
    case = model.parse_registration(rec, config, now=now)
    case["case_no"] = case_no or "(new)"
    case = _replay_decision(case, sections, config, cal, now)
    if not isinstance(reopens, list):
        raise ValidationError(N_("{key}: must be a list"), key="reopens")
    for i, past in enumerate(reopens):
        if not isinstance(past, dict):
            raise ValidationError(N_("{key}: must be a mapping"), key=f"reopens[{i}]")
        case = _replay_round(case, past, config, now, prefix=f"reopens[{i}].")
        case = workflow.reopen(
            case,
            config,
            cal,
            at=_at(past.get("at"), f"reopens[{i}].at", now),
            by=past.get("by"),
            reason=past.get("reason"),
        )
    case = _replay_round(case, sections, config, now, prefix="")
    if sections["signoff"].get("at"):
        case = workflow.signoff(
            case,
            at=_at(sections["signoff"]["at"], "signoff.at", now),
            by=sections["signoff"].get("by"),
        )
    if status is not None and status != case["status"]:
        raise ValidationError(
            N_("{key}: the record says {recorded} but its steps lead to {actual}"),
            key="status",
            recorded=repr(status),
            actual=repr(case["status"]),
        )
    return case


def _replay_decision(case: dict, sections: dict, config, cal, now) -> dict:
    """受理 or 不受理, as the record's decision says; later steps need one of them."""
    dec, asg = sections["decision"], sections["assignment"]
    accepted = model.boolean(dec.get("accepted"), "decision.accepted", None)
    if accepted is True:
        return workflow.accept(
            case,
            config,
            cal,
            at=_at(dec.get("at"), "decision.at", now),
            by=dec.get("by"),
            department=asg.get("department"),
            handler=asg.get("handler"),
            special=bool(model.boolean(asg.get("special"), "assignment.special")),
            validity=dec.get("validity"),
            due=parse_date(asg["due"], "assignment.due") if asg.get("due") else None,
        )
    if accepted is False:
        return workflow.reject(
            case,
            at=_at(dec.get("at"), "decision.at", now),
            by=dec.get("by"),
            reason=dec.get("reason"),
            validity=dec.get("validity"),
        )
    if any(v is not None for s in sections.values() for v in s.values() if s is not asg):
        raise ValidationError(
            N_("{field}: later steps are recorded but the case was never accepted"),
            field="decision.accepted",
        )
    return case


def _replay_round(case: dict, rec: dict, config, now, *, prefix: str) -> dict:
    """One round of handling: the returned slip, the call-back, the closing, those of them
    the record holds (`prefix` names where it is, for messages: "reopens[0].")."""
    handling = rec.get("handling") or {}
    callback = rec.get("callback") or {}
    closure = rec.get("closure") or {}
    if handling.get("resolved_at"):

        def when(key: str):
            value = handling.get(key)
            return _at(value, f"{prefix}handling.{key}", now) if value else None

        case = workflow.record_return(
            case,
            at=when("resolved_at"),
            by=handling.get("recorded_by") or handling.get("approved_by"),
            findings=handling.get("findings"),
            cause=handling.get("cause"),
            responsible=handling.get("responsible"),
            plan=handling.get("plan"),
            approved_by=handling.get("approved_by"),
            result=handling.get("result"),
            customer_signed=bool(
                model.boolean(handling.get("customer_signed"), f"{prefix}handling.customer_signed")
            ),
            approved_at=when("approved_at"),
            notified_at=when("notified_at"),
        )
    if callback.get("at"):
        case = workflow.callback(
            case,
            at=_at(callback["at"], f"{prefix}callback.at", now),
            by=callback.get("by"),
            satisfaction=callback.get("satisfaction"),
            note=callback.get("note"),
        )
    if closure.get("at"):
        penalty = _penalty(closure.get("penalty"), f"{prefix}closure.penalty")
        case = workflow.close(
            case,
            config,
            at=_at(closure["at"], f"{prefix}closure.at", now),
            by=closure.get("by"),
            summary=closure.get("summary"),
            cause=closure.get("cause"),
            measures=closure.get("measures"),
            penalty=penalty.get("type"),
            penalty_person=penalty.get("person"),
        )
    return case


def _penalty(value, field: str) -> dict:
    """closure.penalty as a mapping: a CSV cell holds it as JSON."""
    penalty = value or {}
    if isinstance(penalty, str):
        try:
            penalty = json.loads(penalty)
        except json.JSONDecodeError:
            raise ValidationError(N_("{field}: not valid JSON"), field=field) from None
    if not isinstance(penalty, dict):
        raise ValidationError(N_("{field}: must be a mapping"), field=field)
    return penalty


def import_file(
    ws: Workspace,
    path: str,
    fmt: str | None,
    *,
    by: str,
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> list[str]:
    """`case import FILE`: the file (or - for standard input) read in its format (from the
    name when not given) and imported, all records or none."""
    fmt = detect_format(path, fmt)
    return import_cases(
        ws, read_source(path), fmt, source=path, by=by, progress=progress, on_total=on_total
    )


def import_cases(
    ws: Workspace,
    text: str,
    fmt: str,
    *,
    source: str,
    by: str,
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> list[str]:
    """Import every record or none. Returns the case numbers in order."""
    config = ws.config
    records = read_records(text, fmt, source)
    if on_total:
        on_total(len(records))
    cal, now = work_calendar(ws), clock_now()
    regex = number_regex(config.numbering_pattern)
    numbers: list[str] = []
    with ws.store.transaction() as txn:
        seen: set[str] = set()
        for where, rec in records:
            try:
                if not isinstance(rec, dict):
                    raise ValidationError(N_("a case must be a mapping of fields"))
                case = replay(dict(rec), ws, cal, now)
                counter = seq_counter(case)
                if case["case_no"] == "(new)":
                    case["case_no"] = case_number(
                        config.numbering_pattern, int(counter), txn.next_seq(counter)
                    )
                else:
                    if txn.exists(case["case_no"]) or case["case_no"] in seen:
                        raise ValidationError(
                            N_("{key}: {value} already exists"),
                            key="case_no",
                            value=case["case_no"],
                        )
                    if any(c in case["case_no"] for c in "/\\|") or case["case_no"] in (".", ".."):
                        raise ValidationError(
                            N_("{key}: {value} is not a usable number"),
                            key="case_no",
                            value=repr(case["case_no"]),
                        )
                    m = regex.match(case["case_no"])
                    if m:
                        year = m.groupdict().get("year") or counter
                        txn.bump_seq(year, int(m.group("seq")))
            except ValidationError as exc:
                raise RecordError(where, exc) from None
            seen.add(case["case_no"])
            txn.insert(case)
            txn.log("case.import", by, case["case_no"], at=iso(now), after=case, source=source)
            numbers.append(case["case_no"])
            if progress:
                progress(1)
    return numbers


# -- export ---------------------------------------------------------------------------------------------
def export_cases(ws: Workspace, fmt: str, flt: CaseFilter | None = None) -> str:
    cases = list(iter_cases(ws, flt))
    if fmt == "json":
        return json.dumps(cases, ensure_ascii=False, indent=2) + "\n"
    if fmt == "yaml":
        import yaml

        return yaml.safe_dump(cases, allow_unicode=True, sort_keys=False)
    rows = [flatten(c) for c in cases]
    columns: list[str] = []
    for row in rows or [flatten({**model.blank_case(), "overdue": False})]:
        for key in row:
            if key not in columns:
                columns.append(key)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return "\ufeff" + buf.getvalue()  # a BOM, so that Excel opens it as UTF-8 (Chinese)


def read_source(path: str) -> str:
    import sys

    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ValidationError(N_("{path}: no such file"), path=path) from None
    except UnicodeDecodeError:
        raise ValidationError(N_("{path}: not UTF-8 text"), path=path) from None
    except OSError as exc:
        raise ValidationError(
            N_("{path}: cannot be read: {error}"), path=path, error=exc.strerror or str(exc)
        ) from None
