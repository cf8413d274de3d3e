"""What the JSON API (/api/v1/, DESIGN.md section 11) needs beyond the library calls the
command line makes: a request body read as strictly as `case new --from` reads its file,
the case as a role is shown it (a department sees the complainant masked, as on the slip),
a listing cut into pages, and a report's figures computed without writing anything.

No HTTP here: the web layer parses the request and maps the errors to statuses.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Iterable
from typing import Any

from complaintforms.domain import model, roles
from complaintforms.errors import ValidationError
from complaintforms.i18n import N_
from complaintforms.services.messages import Notice
from complaintforms.workspace import Workspace

# A request body above this is refused (a case is a few kilobytes; the record card limits
# its texts well below this).
MAX_BODY = 1024 * 1024
PER_PAGE = 50
MAX_PER_PAGE = 500

# The sections of a case body that are mappings (checked before validation, as `case new
# --from` checks them).
SECTIONS = ("complainant", "target", "extra")
# The complainant fields a department does not see in full (DESIGN.md section 9).
MASKED_FIELDS = ("complainant.name", "complainant.phone", "complainant.address")
WITHHELD_ADDRESS = "（保密）"  # as the slip prints a confidential complainant's address


def body_source() -> Notice:
    """How an error names the request body (in the user's language when shown)."""
    return Notice(N_("the request body"))


# -- request bodies --------------------------------------------------------------------------
def read_object(raw: bytes, *, empty: bool = False) -> dict:
    """A JSON object from a request body, read as strictly as a case file (a key given
    twice, nesting past any case's depth refused). With `empty`, no body at all is an
    empty object (a step without fields)."""
    from complaintforms.services.ledger import parse_json

    if len(raw) > MAX_BODY:
        raise ValidationError(
            N_("{source}: larger than {limit} bytes"), source=body_source(), limit=MAX_BODY
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError(N_("{source}: not UTF-8 text"), source=body_source()) from None
    if not text.strip():
        if empty:
            return {}
        raise ValidationError(N_("{source}: expected a JSON object"), source=body_source())
    try:
        data = parse_json(text, body_source())
    except json.JSONDecodeError as exc:
        raise ValidationError(
            N_("{source}: not JSON ({problem}, line {line} column {column})"),
            source=body_source(),
            problem=exc.msg,
            line=exc.lineno,
            column=exc.colno,
        ) from None
    if not isinstance(data, dict):
        raise ValidationError(N_("{source}: expected a JSON object"), source=body_source())
    return data


def registration(data: dict, recorder: dict) -> dict:
    """The body of `POST /api/v1/cases` (what `case new --from` reads) as register_case
    takes it: the sections that are mappings checked, and the signed-in user as the one who
    records it (a body may name them, by name or display name, but nobody else)."""
    for section in SECTIONS:
        if data.get(section) is not None and not isinstance(data[section], dict):
            raise ValidationError(N_("{field}: must be a mapping"), field=section)
    shown = recorder.get("display_name") or recorder["name"]
    given = data.get("recorded_by")
    if given not in (None, "") and given not in (shown, recorder["name"]):
        raise ValidationError(
            N_("{field}: the API records a case as the token's user ({name}); leave it out"),
            field="recorded_by",
            name=shown,
        )
    return {**data, "recorded_by": shown}


def step_fields(data: dict) -> dict[str, Any]:
    """The fields of a step as the step table takes them: values are text, numbers or
    yes/no; a field given as null or "" is left out (as an empty form field is)."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict | list):
            raise ValidationError(N_("{field}: must be text, a number or true/false"), field=key)
        if isinstance(value, float) and not math.isfinite(value):
            raise ValidationError(N_("{field}: must be text, a number or true/false"), field=key)
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        out[key] = value
    return out


# -- the case as a role sees it ------------------------------------------------------------
def _mask(field: str, value: Any, confidential: bool) -> Any:
    if not isinstance(value, str) or not value:
        return value
    if field == "complainant.phone":
        return model.mask_phone(value)
    if not confidential:
        return value
    if field == "complainant.name":
        return model.mask_name(value)
    return WITHHELD_ADDRESS


def shown_case(user: dict, case: dict) -> dict:
    """The case as `case show --json` prints it, for this user: a department user sees the
    complainant as the slip shows them (the phone masked; name and address too when the
    complainant asked for confidentiality), in corrections as well."""
    if not roles.masked_for(user):
        return case
    out = copy.deepcopy(case)
    comp = out.get("complainant") or {}
    confidential = bool(comp.get("confidential"))
    for field in MASKED_FIELDS:
        key = field.split(".", 1)[1]
        if key in comp:
            comp[key] = _mask(field, comp[key], confidential)
    for amendment in out.get("amendments") or []:
        changes = amendment.get("changes") if isinstance(amendment, dict) else None
        for field in MASKED_FIELDS:
            change = (changes or {}).get(field)
            if isinstance(change, dict):
                for side in ("before", "after"):
                    if side in change:
                        change[side] = _mask(field, change[side], True)
    return out


def shown_result(user: dict, result: dict) -> dict:
    """A step's result (`{case, documents, warnings}`) with its case as this user sees it."""
    if isinstance(result, dict) and isinstance(result.get("case"), dict):
        return {**result, "case": shown_case(user, result["case"])}
    return result


# -- listings ---------------------------------------------------------------------------------
def page_number(value: Any, field: str, default: int, limit: int | None = None) -> int:
    if value is None or value == "":
        return default
    text = str(value).strip()
    if not text.isdigit() or int(text) < 1 or (limit is not None and int(text) > limit):
        if limit is None:
            raise ValidationError(
                N_("{field}: {value} is not a whole number from 1"), field=field, value=repr(value)
            )
        raise ValidationError(
            N_("{field}: {value} is not a whole number from 1 to {limit}"),
            field=field,
            value=repr(value),
            limit=limit,
        )
    return int(text)


def visible_page(
    user: dict, cases: Iterable[dict], page: int, per_page: int
) -> tuple[list[dict], int]:
    """The cases of one page of those this user sees (each as they see it), and how many
    they see in all."""
    start, total, items = (page - 1) * per_page, 0, []
    for case in cases:
        if not roles.may_see(user, case):
            continue
        if start <= total < start + per_page:
            items.append(shown_case(user, case))
        total += 1
    return items, total


def pages(total: int, per_page: int) -> int:
    return max(1, -(-total // per_page))


# -- reports ---------------------------------------------------------------------------------
def report_figures(ws: Workspace, period_text: str, as_of: object = None) -> dict:
    """What `report monthly|quarterly --json` prints, without its files: the same figures
    (services.reports.period_figures, which the command also uses), computed read-only
    (the command always writes at least the CSV and an audit event; a GET must not).
    `files` is there and empty: nothing was written."""
    from complaintforms.services.reports import period_figures

    _period, figs = period_figures(ws, period_text, as_of)
    return {**figs, "files": []}


__all__ = [
    "MAX_BODY",
    "MAX_PER_PAGE",
    "PER_PAGE",
    "pages",
    "page_number",
    "read_object",
    "registration",
    "report_figures",
    "shown_case",
    "shown_result",
    "step_fields",
    "visible_page",
]
