"""Import and export of case ledgers: JSON, YAML, or CSV with flattened keys.

An import replays each record's life cycle through the same validation and workflow steps
as the CLI (register, accept or reject, return, call back, reopen, close, sign off), in one
transaction: it stops at the first bad record, naming it, and the store stays as it was.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from complaintforms.domain import model, workflow
from complaintforms.domain.timeutil import iso, parse_date, parse_time
from complaintforms.domain.timeutil import now as clock_now
from complaintforms.errors import ComplaintFormsError, RecordError, StateError, ValidationError
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
LIST_KEYS = (
    "documents",
    "attachments",
    "reopens",
    "extra",
    "amendments",
    "extensions",
    "routing_history",
    "reminders",
    "repeat_of",
)
# A case is a few levels deep (reopens[0].closure.penalty.type); anything far deeper is not
# a case, and past Python's recursion limit it cannot even be read.
MAX_DEPTH = 32
# Digits of a number read as a number; longer ones stay text (Python refuses to turn more
# than 4,300 digits into text again), for the field's own check to refuse.
MAX_NUMBER_DIGITS = 4_000
# CSV export: a cell starting with one of these is a formula to a spreadsheet (OWASP CSV
# injection); export puts a ' before it, which import takes away again.
FORMULA_START = ("=", "+", "-", "@")
_QUOTED_FORMULA = re.compile(r"^'+[=+\-@]")


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


# -- parsing: JSON and YAML read strictly ----------------------------------------------------------
class _Pairs(dict):
    """A JSON object as read: remembers a key it was given twice."""

    duplicate: str | None = None


def _json_object(pairs: list[tuple[str, Any]]) -> dict:
    out = _Pairs()
    for key, value in pairs:
        if key in out and out.duplicate is None:
            out.duplicate = key
        out[key] = value
    return out


def _json_int(digits: str) -> int | str:
    return int(digits) if len(digits.lstrip("-")) <= MAX_NUMBER_DIGITS else digits


def parse_json(text: str, source: str, *, records: bool = False, prefix: tuple = ()) -> Any:
    """JSON as a case file holds it: duplicate keys, depth and size checked (check_tree).
    Raises json.JSONDecodeError for text that is not JSON, ValidationError for the rest."""
    try:
        data = json.loads(text, object_pairs_hook=_json_object, parse_int=_json_int)
    except RecursionError:
        raise _too_deep(source) from None
    check_tree(data, source, len(text), records=records, prefix=prefix)
    return data


def _yaml_loader(source: str):
    import yaml

    class Loader(yaml.SafeLoader):
        """safe_load that refuses a key given twice and keeps very long numbers as text."""

        def construct_mapping(self, node, deep=False):
            if isinstance(node, yaml.MappingNode):
                self.flatten_mapping(node)
                seen: set = set()
                for key_node, _value in node.value:
                    key = self.construct_object(key_node, deep=True)
                    try:
                        duplicate = key in seen
                        seen.add(key)
                    except TypeError:  # unhashable: the base class says so
                        continue
                    if duplicate:
                        raise ValidationError(
                            N_("{source}: key {field} is given twice (line {line})"),
                            source=source,
                            field=shown_key(key),
                            line=key_node.start_mark.line + 1,
                        )
            return super().construct_mapping(node, deep=deep)

        def construct_yaml_int(self, node):
            value = self.construct_scalar(node)
            if len(str(value)) > MAX_NUMBER_DIGITS:
                return str(value)
            return super().construct_yaml_int(node)

    Loader.add_constructor("tag:yaml.org,2002:int", Loader.construct_yaml_int)
    Loader.add_constructor("tag:yaml.org,2002:map", _yaml_map)
    return Loader


def _yaml_map(loader, node):
    data: dict = {}
    yield data
    data.update(loader.construct_mapping(node))


def parse_yaml(text: str, source: str, *, records: bool = False) -> Any:
    """YAML as a case file holds it (yaml.YAMLError for text that is not YAML): a key given
    twice is an error; depth and size are checked (check_tree: aliases can expand a small
    file into billions of values)."""
    import yaml

    try:
        data = yaml.load(text, Loader=_yaml_loader(source))  # noqa: S506 - a SafeLoader
    except RecursionError:
        raise _too_deep(source) from None
    check_tree(data, source, len(text), records=records)
    return data


def _too_deep(source: str) -> ValidationError:
    return ValidationError(
        N_("{source}: nested too deep (at most {limit} levels)"), source=source, limit=MAX_DEPTH
    )


def check_tree(
    data: Any, source: str, size: int, *, records: bool = False, prefix: tuple = ()
) -> None:
    """Refuse what no case holds and what later steps could not walk: nesting deeper than
    MAX_DEPTH (or a YAML structure that contains itself), more values than the text has
    characters (YAML aliases), keys that are not text, and a key given twice in one JSON
    object. With `records`, `data` is a list of records and a problem is named by its
    record; `prefix` is where `data` is (the column of a CSV cell)."""
    budget = size + 1_000
    stack: list[tuple[Any, tuple]] = [(data, prefix)]
    while stack:
        node, path = stack.pop()
        budget -= 1
        if budget < 0:
            raise ValidationError(
                N_("{source}: expands to more values than the file has characters"),
                source=source,
            )
        if len(path) - len(prefix) > MAX_DEPTH:
            raise _too_deep(source)
        if isinstance(node, dict):
            for key in node:
                if not isinstance(key, str):
                    raise _located(
                        source, (*path, repr(key)), N_("{field}: a key that is not text"), records
                    )
            duplicate = getattr(node, "duplicate", None)
            if duplicate is not None:
                raise _located(source, (*path, duplicate), N_("{field}: given twice"), records)
            stack.extend((value, (*path, key)) for key, value in node.items())
        elif isinstance(node, list):
            stack.extend((value, (*path, i)) for i, value in enumerate(node))


def _located(source: str, path: tuple, msgid: str, records: bool) -> ValidationError:
    """The error `msgid` about the value at `path`, named as a dotted key of its record (a
    file of one record, a mapping rather than a list, holds record 1)."""
    if records and path:
        number, path = (path[0] + 1, path[1:]) if isinstance(path[0], int) else (1, path)
        where = Notice(N_("{source}: record {number}"), source=source, number=number)
        return RecordError(where, ValidationError(msgid, field=dotted(path)))
    return ValidationError(msgid, field=dotted(path))


def dotted(path: tuple) -> str:
    """('reopens', 0, 'handling') -> 'reopens[0].handling'; a key that is empty, padded or
    not printable as its repr (shown_key): ('extra', 'a\\nb') -> extra.'a\\nb'."""
    out = ""
    for part in path:
        part = part if isinstance(part, int) else shown_key(part)
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def shown_key(key: Any) -> str:
    """A key or column name of a file as a message shows it: as it is, or its repr when it
    is empty, has spaces around it or characters that are not printable (a line break would
    split the one-line message, a bidi control reorder it)."""
    text = str(key)
    return text if text and text.isprintable() and text.strip() == text else repr(text)


# -- reading --------------------------------------------------------------------------------------------
def read_records(text: str, fmt: str, source: str) -> list[tuple[str, Any]]:
    """[(where, record)], where names the record for error messages."""
    if fmt == "csv":
        return list(_read_csv(text, source))
    if fmt == "json":
        try:
            data = parse_json(text, source, records=True)
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
            data = parse_yaml(text, source, records=True)
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
    try:
        if not reader.fieldnames:
            raise ValidationError(N_("{source}: empty CSV"), source=source)
        seen: set[str] = set()
        for name in reader.fieldnames:
            if name in seen:
                raise ValidationError(
                    N_("{source}: column {field} is given twice"),
                    source=source,
                    field=shown_key(name),
                )
            seen.add(name)
        for row in reader:
            where = Notice(N_("{source}: line {line}"), source=source, line=reader.line_num)
            if None in row:
                raise RecordError(where, N_("more cells than columns"))
            if None in row.values():  # a short row: DictReader fills it up with None
                raise RecordError(
                    where,
                    N_("fewer cells than columns ({cells} of {columns})"),
                    cells=sum(value is not None for value in row.values()),
                    columns=len(reader.fieldnames),
                )
            yield where, unflatten(row, where)
    except csv.Error as exc:  # a cell over the field size limit, a stray quote
        raise ValidationError(
            N_("{source}: line {line}: not valid CSV: {error}"),
            source=source,
            line=reader.line_num + 1,
            error=str(exc),
        ) from None


def unflatten(row: dict[str, str], where: str) -> dict:
    out: dict[str, Any] = {}
    for key, value in row.items():
        value = unquote_formula(value) if value != "" else None
        if key in LIST_KEYS and value is not None:
            try:
                value = parse_json(value, key, prefix=(key,))
            except json.JSONDecodeError:
                raise RecordError(where, N_("{field}: not valid JSON"), field=key) from None
            except ComplaintFormsError as exc:
                raise RecordError(where, exc) from None
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
                if isinstance(subval, dict | list):  # an empty one is an empty cell
                    subval = json.dumps(subval, ensure_ascii=False) if subval else None
                row[f"{key}.{sub}"] = subval
        else:
            row[key] = value
    return {k: ("" if v is None else v) for k, v in row.items()}


def quote_formula(value: Any) -> Any:
    """A text cell that a spreadsheet would take for a formula (=, +, -, @), with a ' before
    it; one that already starts with ' before such a character gets one more, so that
    import (unquote_formula) gives back exactly what was stored."""
    if isinstance(value, str) and value.lstrip("'").startswith(FORMULA_START):
        return "'" + value
    return value


def unquote_formula(value: str) -> str:
    """A CSV cell as export wrote it, its formula guard (a leading ') taken away."""
    return value[1:] if _QUOTED_FORMULA.match(value) else value


# -- replaying a record -------------------------------------------------------------------------------
def _section(rec: dict, name: str, prefix: str = "") -> dict:
    value = rec.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationError(N_("{field}: must be a mapping"), field=prefix + name)
    unknown = sorted(set(value) - set(model.SECTIONS[name]) - {"recorded_by"})
    if unknown:
        raise ValidationError(
            N_("{field}: unknown field {value}"), field=prefix + name, value=repr(unknown[0])
        )
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
    amendments = _amendments(rec.pop("amendments", None), now)
    # Supervision's history comes along as recorded (the decision replayed below keeps the
    # original due date; the extensions say what was in force).
    kept = {key: _list_of_mappings(rec.pop(key, None), key) for key in SUPERVISION_KEYS}
    repeat_of = _repeat_of(rec.pop("repeat_of", None))
    sections = {
        name: _section(rec, name)
        for name in (
            "decision",
            "assignment",
            "handling",
            "callback",
            "closure",
            "signoff",
            "void",
        )
    }
    for name in sections:
        rec.pop(name, None)
    case = model.parse_registration(rec, config, now=now)
    case["case_no"] = case_no or "(new)"
    # The record holds the registration as corrected; its corrections come along as history.
    case["amendments"] = amendments
    # The earlier cases it repeats, as the ledger recorded them (not looked for again).
    case["repeat_of"] = repeat_of
    case = _replay_decision(case, sections, config, cal, now)
    void = sections.pop("void")
    if void.get("at"):
        case = workflow.void(
            case, at=_at(void["at"], "void.at", now), by=void.get("by"), reason=void.get("reason")
        )
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
    # After the steps, whose times they would otherwise precede.
    case.update({key: value for key, value in kept.items() if value})
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
    if any(
        v not in (None, [])
        for name, s in sections.items()
        if s is not asg and name != "void"
        for v in s.values()
    ):
        raise ValidationError(
            N_("{field}: later steps are recorded but the case was never accepted"),
            field="decision.accepted",
        )
    return case


def _replay_round(case: dict, rec: dict, config, now, *, prefix: str) -> dict:
    """One round of handling: the returned slip, the call-back, the closing, those of them
    the record holds (`prefix` names where it is, for messages: "reopens[0].")."""
    handling = _section(rec, "handling", prefix)
    callback = _section(rec, "callback", prefix)
    closure = _section(rec, "closure", prefix)
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
            compensation=handling.get("compensation"),
        )
    if callback.get("at"):
        reached = model.boolean(callback.get("reached"), f"{prefix}callback.reached", True)
        case = workflow.callback(
            case,
            at=_at(callback["at"], f"{prefix}callback.at", now),
            by=callback.get("by"),
            satisfaction=callback.get("satisfaction"),
            note=callback.get("note"),
            reached=bool(reached),
        )
    penalties = _penalties(closure.get("penalties"), config, now, f"{prefix}closure.penalties")
    if penalties:
        # closure.penalty is the first of them, as export writes it: the list is the record.
        case = {**case, "closure": {**case["closure"], "penalties": penalties}}
    if closure.get("at"):
        penalty = {} if penalties else _penalty(closure.get("penalty"), f"{prefix}closure.penalty")
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


def max_seq(pattern: str) -> int:
    """The largest sequence number `pattern` writes in its width: 999,999 for {seq:06d} (and
    for a {seq} without one)."""
    m = re.search(r"{seq(?::[^}\d]*(\d+)[^}]*)?}", pattern)
    width = int(m.group(1)) if m and m.group(1) else 6
    return 10 ** min(width, 12) - 1


def parse_case_no(case_no: str, pattern: str, regex: re.Pattern) -> tuple[str | None, int]:
    """An imported case number's year (None when the pattern has none) and sequence number;
    refused unless it is exactly what the numbering pattern makes (no other digits, no
    other padding) and its sequence is within the pattern's width, so that the counter it
    moves stays usable."""
    m = regex.fullmatch(case_no)
    groups = m.groupdict() if m else {}
    digits = [groups.get("year") or "", groups.get("seq") or ""]
    if (
        m is None
        or not all(d.isascii() and d.isdigit() for d in digits if d)
        or len(digits[1]) > 12
        or case_number(pattern, int(digits[0] or 0), int(digits[1])) != case_no
    ):
        raise ValidationError(
            N_("{field}: {value} does not fit the numbering pattern {pattern}"),
            field="case_no",
            value=repr(case_no),
            pattern=pattern,
        )
    seq, limit = int(digits[1]), max_seq(pattern)
    if not 1 <= seq <= limit:
        raise ValidationError(
            N_("{field}: {value}: the sequence number must be between 1 and {limit}"),
            field="case_no",
            value=case_no,
            limit=f"{limit:,}",
        )
    return groups.get("year"), seq


def _json_cell(value: Any, field: str) -> Any:
    """A nested value that a CSV cell holds as JSON text."""
    if isinstance(value, str):
        try:
            return parse_json(value, field, prefix=(field,))
        except json.JSONDecodeError:
            raise ValidationError(N_("{field}: not valid JSON"), field=field) from None
    return value


def _list_of_mappings(value: Any, field: str) -> list[dict]:
    value = _json_cell(value, field) or []
    if not isinstance(value, list):
        raise ValidationError(N_("{key}: must be a list"), key=field)
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise ValidationError(N_("{key}: must be a mapping"), key=f"{field}[{i}]")
    return value


def _penalties(value: Any, config, now, field: str) -> list[dict]:
    """closure.penalties: each checked as `case penalize` checks it."""
    out = []
    for i, item in enumerate(_list_of_mappings(value, field)):
        where = f"{field}[{i}]"
        unknown = sorted(set(item) - PENALTY_KEYS)
        if unknown:
            raise ValidationError(
                N_("{field}: unknown field {value}"), field=where, value=repr(unknown[0])
            )
        at = _at(item["at"], f"{where}.at", now) if item.get("at") else now
        record = workflow.penalty_record(
            config,
            kind=item.get("type"),
            person=item.get("person"),
            at=at,
            by=item.get("by") or "-",
            amount_=item.get("amount"),
            note=item.get("note"),
        )
        if not item.get("at"):
            record["at"] = None
        if not item.get("by"):
            record["by"] = None
        if item.get("unit") is not None:
            record["unit"] = model.text(item["unit"], f"{where}.unit", limit=20)
        out.append(record)
    return out


SUPERVISION_KEYS = ("extensions", "routing_history", "reminders")
PENALTY_KEYS = {"type", "person", "amount", "unit", "note", "at", "by"}
AMENDMENT_KEYS = {"at", "by", "reason", "changes"}


def _amendments(value: Any, now) -> list[dict]:
    """amendments[]: the history of corrections, kept as recorded (who, when, why, what)."""
    out = []
    for i, item in enumerate(_list_of_mappings(value, "amendments")):
        where = f"amendments[{i}]"
        unknown = sorted(set(item) - AMENDMENT_KEYS)
        if unknown:
            raise ValidationError(
                N_("{field}: unknown field {value}"), field=where, value=repr(unknown[0])
            )
        changes = item.get("changes") or {}
        if not isinstance(changes, dict):
            raise ValidationError(N_("{field}: must be a mapping"), field=f"{where}.changes")
        for key, change in changes.items():
            if not isinstance(change, dict) or set(change) - {"before", "after"}:
                raise ValidationError(
                    N_("{field}: must be a mapping of before and after"),
                    field=f"{where}.changes.{key}",
                )
            for side in ("before", "after"):
                if isinstance(change.get(side), str):
                    model.text(change[side], f"{where}.changes.{key}.{side}", limit=10_000)
        out.append(
            {
                "at": iso(_at(item.get("at"), f"{where}.at", now)),
                "by": model.text(item.get("by"), f"{where}.by", required=True, limit=100),
                "reason": model.text(item.get("reason"), f"{where}.reason", required=True),
                "changes": changes,
            }
        )
    return out


def _repeat_of(value: Any) -> list[str]:
    """repeat_of[]: the case numbers of the earlier cases (a CSV cell holds them as JSON)."""
    if isinstance(value, str) and value.strip().startswith("["):
        value = _json_cell(value, "repeat_of")
    value = [] if value is None else value
    if not isinstance(value, list):
        raise ValidationError(N_("{key}: must be a list"), key="repeat_of")
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise ValidationError(N_("{field}: must be text"), field=f"repeat_of[{i}]")
        out.append(model.text(item, f"repeat_of[{i}]", required=True, limit=60))
    return out


def _penalty(value, field: str) -> dict:
    """closure.penalty as a mapping: a CSV cell holds it as JSON."""
    penalty = value or {}
    if isinstance(penalty, str):
        try:
            penalty = parse_json(penalty, field, prefix=(field,))
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
    pattern: str | None = None,
) -> list[str]:
    """`case import FILE`: the file (or - for standard input) read in its format (from the
    name when not given) and imported, all records or none. `pattern`: the numbering of a
    legacy ledger, when it is not the workspace's."""
    fmt = detect_format(path, fmt)
    return import_cases(
        ws,
        read_source(path),
        fmt,
        source=path,
        by=by,
        progress=progress,
        on_total=on_total,
        pattern=pattern,
    )


def legacy_pattern(pattern: str) -> str:
    """A legacy ledger's numbering pattern, checked like numbering.pattern."""
    from complaintforms.config import _PATTERN_FIELDS

    names = set(_PATTERN_FIELDS.findall(pattern or ""))
    literal = _PATTERN_FIELDS.sub("", pattern or "")
    problem = None
    if "seq" not in names:
        problem = N_("{field}: {value} must contain {{seq}}, e.g. TS-{{year}}-{{seq:06d}}")
    elif names - {"seq", "year"}:
        problem = N_("{field}: {value} may name only {{year}} and {{seq}}")
    elif any(c in literal for c in "|/\\:") or any(c.isspace() for c in literal):
        problem = N_("{field}: {value} must not contain spaces or any of | / \\ :")
    else:
        try:
            pattern.format(year=2026, seq=1)
        except (ValueError, IndexError, KeyError):
            problem = N_("{field}: {value} cannot be formatted")
    if problem:
        raise ValidationError(problem, field="pattern", value=repr(pattern))
    return pattern


def import_cases(
    ws: Workspace,
    text: str,
    fmt: str,
    *,
    source: str,
    by: str,
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
    pattern: str | None = None,
) -> list[str]:
    """Import every record or none. Returns the case numbers in order. Numbers of a legacy
    `pattern` are kept as they are; only those the workspace's own pattern makes move its
    counters (so that a new number never repeats one)."""
    config = ws.config
    own = config.numbering_pattern
    pattern = legacy_pattern(pattern) if pattern else own
    records = read_records(text, fmt, source)
    if on_total:
        on_total(len(records))
    cal, now = work_calendar(ws), clock_now()
    regex, own_regex = number_regex(pattern), number_regex(own)
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
                    year, seq = parse_case_no(case["case_no"], pattern, regex)
                    if txn.exists(case["case_no"]) or case["case_no"] in seen:
                        raise ValidationError(
                            N_("{key}: {value} already exists"),
                            key="case_no",
                            value=case["case_no"],
                        )
                    if pattern != own and own_regex.fullmatch(case["case_no"]):
                        year, seq = parse_case_no(case["case_no"], own, own_regex)
                    if pattern == own or own_regex.fullmatch(case["case_no"]):
                        txn.bump_seq(year or counter, seq)
            except (ValidationError, StateError) as exc:  # a step out of order: its record
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
    writer.writerows({k: quote_formula(v) for k, v in row.items()} for row in rows)
    return "\ufeff" + buf.getvalue()  # a BOM, so that Excel opens it as UTF-8 (Chinese)


def read_source(path: str) -> str:
    import sys

    if path == "-":
        try:
            return sys.stdin.read()
        except UnicodeDecodeError:
            raise ValidationError(N_("{path}: not UTF-8 text"), path=path) from None
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
