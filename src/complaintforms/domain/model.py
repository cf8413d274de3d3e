"""The case record: its shape (DESIGN.md section 3) and the validation of registration input.

Pure functions over plain dicts: no I/O. A case is stored exactly in the shape that
`case show --json` prints, less the computed `overdue`.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import re
import unicodedata
from typing import Any

from complaintforms.config import Config
from complaintforms.domain.enums import parse_enum
from complaintforms.domain.timeutil import iso, parse_time
from complaintforms.errors import ComplaintFormsError, ValidationError
from complaintforms.i18n import N_

MAX_CONTENT = 10_000  # characters; a record card runs to a few pages at most
MAX_TEXT = 2_000  # any other free text
MAX_NAME = 100
# complainant_count: more people than this on one complaint is a typing error
MAX_COMPLAINANTS = 100_000
# No case of this office was received before this day: earlier dates are typing errors (or
# 0001-01-01, which no calendar arithmetic survives).
EARLIEST_RECEIVED = dt.date(2000, 1, 1)

SECTIONS: dict[str, tuple[str, ...]] = {
    "complainant": ("name", "phone", "address", "anonymous", "confidential"),
    "target": ("type", "department", "staff"),
    "decision": ("accepted", "by", "at", "reason", "validity"),
    "assignment": ("department", "handler", "due", "special"),
    "handling": (
        "findings",
        "cause",
        "responsible",
        "plan",
        "approved_by",
        "approved_at",
        "notified_at",
        "result",
        "customer_signed",
        "resolved_at",
        "compensation",
    ),
    # reached: False for a call-back that reached nobody (无法回访), with no satisfaction
    "callback": ("at", "by", "satisfaction", "note", "reached"),
    # penalties: every penalty of the case (the direct person, the department head...), each
    # {type, person, amount, note, at, by}; penalty: the first of them (DESIGN.md section 3)
    "closure": ("at", "by", "summary", "cause", "measures", "penalty", "penalties"),
    "signoff": ("by", "at"),
    "archive": ("bundle", "sha256", "at"),
    # a registration made in error (作废): out of every figure, its number never reused
    "void": ("at", "by", "reason"),
}

REGISTRATION_KEYS = {
    "kind",
    "channel",
    "received_at",
    "recorded_by",
    "late_entry",
    "complainant",
    "target",
    "category",
    "severity",
    "content",
    "demand",
    "extra",
    # 首问负责人: the employee who first took the complaint (any name, staff or not)
    "first_receiver",
    # 群体投诉: how many people complain together (default 1); see group_severity
    "complainant_count",
}
LIFECYCLE_KEYS = {
    "case_no",
    "status",
    "recorded_at",
    "decision",
    "assignment",
    "handling",
    "callback",
    "closure",
    "signoff",
    "archive",
    "documents",
    "attachments",
    "overdue",
    "reopens",
    "amendments",
    "void",
    # 重复投诉: the earlier cases of the same complainant, found at registration (not input)
    "repeat_of",
    # supervision (DESIGN.md section 12): kept as recorded by an import
    "extensions",
    "routing_history",
    "reminders",
}

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_PHONE = re.compile(r"^\+?[0-9][0-9 ()\-]{4,24}$")
_ZWJ = "\u200d"
# Characters an emoji sequence is made of, around a zero-width joiner (👨‍👩‍👧, 🏳️‍🌈, 🧑‍⚕️):
# the pictographs and symbols, skin tones, and the emoji variation selector.
_EMOJI_RANGES = (
    (0x1F000, 0x1FAFF),
    (0x2190, 0x21FF),
    (0x2300, 0x23FF),
    (0x2460, 0x24FF),
    (0x25A0, 0x27BF),
    (0x2900, 0x297F),
    (0x2B00, 0x2BFF),
    (0x3030, 0x3030),
    (0x303D, 0x303D),
    (0x3297, 0x3299),
    (0x00A9, 0x00A9),
    (0x00AE, 0x00AE),
    (0x203C, 0x203C),
    (0x2049, 0x2049),
    (0x2122, 0x2122),
    (0x2139, 0x2139),
    (0xFE0F, 0xFE0F),
)


def _is_emoji(char: str) -> bool:
    code = ord(char)
    return any(lo <= code <= hi for lo, hi in _EMOJI_RANGES)


def _hidden_character(value: str) -> str | None:
    """The first character of `value` that is a lone surrogate (not Unicode text at all) or a
    format character (category Cf: bidi overrides and isolates, zero-width spaces, a BOM),
    which would make what is shown differ from what is stored; a zero-width joiner inside
    an emoji sequence is what it is for, and stays."""
    for i, char in enumerate(value):
        category = unicodedata.category(char)
        if category == "Cs":
            return char
        if category != "Cf":
            continue
        if (
            char == _ZWJ
            and 0 < i < len(value) - 1
            and _is_emoji(value[i - 1])
            and _is_emoji(value[i + 1])
        ):
            continue
        return char
    return None


def blank_case() -> dict:
    case: dict[str, Any] = {
        "case_no": None,
        "status": None,
        "kind": None,
        "channel": None,
        "received_at": None,
        "recorded_at": None,
        "recorded_by": None,
        "late_entry": False,
    }
    for section, keys in SECTIONS.items():
        case[section] = dict.fromkeys(keys)
    case.update(
        {"category": None, "severity": "general", "content": None, "demand": None, "extra": {}}
    )
    case.update({"first_receiver": None, "complainant_count": 1, "repeat_of": []})
    case["complainant"].update(anonymous=False, confidential=False)
    case["target"]["type"] = "company"
    case["closure"]["penalties"] = []
    case.update({"documents": [], "attachments": [], "reopens": [], "amendments": []})
    return case


# -- field parsers ---------------------------------------------------------------------------
def text(value: Any, field: str, *, required: bool = False, limit: int = MAX_TEXT) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValidationError(N_("{field}: required"), field=field)
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, str | int | float)
        or (isinstance(value, float) and not math.isfinite(value))  # NaN, inf: not text
    ):
        raise ValidationError(N_("{field}: must be text"), field=field)
    if isinstance(value, int) and value.bit_length() > 13_000:  # str() refuses 4,300 digits
        raise ValidationError(N_("{field}: a number too long to be text"), field=field)
    out = str(value).replace("\r\n", "\n").replace("\r", "\n").strip()
    bad = _CONTROL.search(out)
    if bad:
        raise ValidationError(
            N_("{field}: contains a control character ({char})"),
            field=field,
            char=f"U+{ord(bad.group()):04X}",
        )
    hidden = _hidden_character(out)
    if hidden is not None:
        if unicodedata.category(hidden) == "Cs":
            raise ValidationError(
                N_("{field}: contains {char}, which is not a character (a lone surrogate)"),
                field=field,
                char=f"U+{ord(hidden):04X}",
            )
        raise ValidationError(
            N_(
                "{field}: contains an invisible formatting character ({char}) that would make "
                "the text read differently from what is stored"
            ),
            field=field,
            char=f"U+{ord(hidden):04X}",
        )
    if len(out) > limit:
        raise ValidationError(
            N_("{field}: {count} characters; at most {limit}"),
            field=field,
            count=f"{len(out):,}",
            limit=f"{limit:,}",
        )
    return out


def boolean(value: Any, field: str, default: bool | None = False) -> bool | None:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    lowered = str(value).strip().lower()
    if lowered in ("true", "yes", "y", "1", "是", "t"):
        return True
    if lowered in ("false", "no", "n", "0", "否", "f"):
        return False
    raise ValidationError(
        N_("{field}: {value} is not true or false"), field=field, value=repr(value)
    )


def phone(value: Any, field: str) -> str | None:
    out = text(value, field, limit=40)
    if out is not None and not _PHONE.match(out):
        raise ValidationError(
            N_("{field}: {value} is not a phone number"), field=field, value=repr(out)
        )
    return out


def mapping(value: Any, field: str, allowed: tuple[str, ...] | set[str]) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationError(N_("{field}: must be a mapping"), field=field)
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise ValidationError(
            N_("{field}: unknown field {value}"), field=field, value=repr(unknown[0])
        )
    return value


def department_code(config: Config, value: Any, field: str) -> str:
    name = text(value, field, required=True, limit=MAX_NAME)
    dep = config.department(name)
    if dep is None:
        known = ", ".join(f"{d.code} ({d.name})" for d in config.departments)
        raise ValidationError(
            N_("{field}: unknown department {value}; known: {known}"),
            field=field,
            value=repr(name),
            known=known,
        )
    return dep.code


def staff_name(config: Config, value: Any, field: str) -> str:
    name = text(value, field, required=True, limit=MAX_NAME)
    if config.staff_member(name) is None:
        known: str | ComplaintFormsError = ", ".join(s.name for s in config.staff)
        if not known:
            known = ComplaintFormsError(N_("none configured"))
        raise ValidationError(
            N_("{field}: unknown staff member {value}; known: {known}"),
            field=field,
            value=repr(name),
            known=known,
        )
    return name


def category(config: Config, value: Any, field: str = "category") -> str | None:
    name = text(value, field, limit=MAX_NAME)
    if name is not None and name not in config.categories:
        raise ValidationError(
            N_("{field}: unknown category {value}; known: {known}"),
            field=field,
            value=repr(name),
            known=", ".join(config.categories),
        )
    return name


def positive_count(
    value: Any, field: str, *, default: int = 1, limit: int = MAX_COMPLAINANTS
) -> int:
    """A whole number of at least 1: an int, or its digits as text (a CSV cell, a flag);
    not true/false, not a fraction."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str):
        digits = unicodedata.normalize("NFKC", value).strip()
        if digits.isascii() and digits.isdigit() and len(digits) <= 20:
            number = int(digits)
    if number is None or number < 1:
        if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
            shown = "-…"  # a negative number too long to print
        else:
            shown = repr(value[:40] if isinstance(value, str) else value)
            shown = shown if len(shown) <= 60 else shown[:60] + "…"
        raise ValidationError(
            N_("{field}: {value} is not a whole number of at least 1"), field=field, value=shown
        )
    if number > limit:
        raise ValidationError(
            N_("{field}: {value}; at most {limit}"),
            field=field,
            value=f"{number:,}" if number.bit_length() <= 64 else "…",
            limit=f"{limit:,}",
        )
    return number


def is_group(case: dict, config: Config) -> bool:
    """群体投诉: as many complainants as `group_threshold` or more."""
    n = case.get("complainant_count")
    return isinstance(n, int) and not isinstance(n, bool) and n >= config.group_threshold


def group_severity(before: dict | None, after: dict, config: Config, *, given: bool) -> str:
    """The severity of `after`: major when it becomes a group complaint (at registration,
    `before` None; or by a correction that raises complainant_count to the threshold),
    unless the severity was given explicitly with it; otherwise as it is."""
    if not given and is_group(after, config) and not (before and is_group(before, config)):
        return "major"
    return after["severity"]


def received_time(value: Any, now: dt.datetime) -> dt.datetime:
    """When a complaint was received: a time not in the future, and not before 2000."""
    received = parse_time(value, "received_at", reference=now)
    if received.date() < EARLIEST_RECEIVED:
        raise ValidationError(
            N_("{field}: {value} is before {earliest}"),
            field="received_at",
            value=received.date().isoformat(),
            earliest=EARLIEST_RECEIVED.isoformat(),
        )
    return received


# -- registration ------------------------------------------------------------------------------
def parse_registration(
    data: Any, config: Config, *, now: dt.datetime, allow_lifecycle: bool = False
) -> dict:
    """Validate the registration part of an input record and return a new case (no number).

    Raises ValidationError naming the field. `allow_lifecycle` lets an import carry the
    later sections, which the caller replays through the workflow.
    """
    if not isinstance(data, dict):
        raise ValidationError(N_("a case must be a mapping of fields"))
    allowed = REGISTRATION_KEYS | (LIFECYCLE_KEYS if allow_lifecycle else set())
    unknown = sorted(set(data) - allowed)
    if unknown:
        if unknown[0] in LIFECYCLE_KEYS:
            raise ValidationError(
                N_(
                    "unknown field {value} (later steps are recorded with their own commands, "
                    "or by case import)"
                ),
                value=repr(unknown[0]),
            )
        raise ValidationError(N_("unknown field {value}"), value=repr(unknown[0]))

    case = blank_case()
    case["kind"] = parse_enum("kind", data.get("kind") or "complaint", "kind")
    if not data.get("channel"):
        raise ValidationError(N_("{field}: required"), field="channel")
    case["channel"] = parse_enum("channel", data["channel"], "channel", config)
    received = received_time(data.get("received_at") or now, now)
    case["received_at"] = iso(received)
    case["recorded_at"] = iso(now)
    case["recorded_by"] = text(
        data.get("recorded_by"), "recorded_by", required=True, limit=MAX_NAME
    )
    case["late_entry"] = (
        bool(boolean(data.get("late_entry"), "late_entry")) or received.date() < now.date()
    )

    comp = mapping(data.get("complainant"), "complainant", SECTIONS["complainant"])
    anonymous = boolean(comp.get("anonymous"), "complainant.anonymous")
    case["complainant"] = {
        "name": text(comp.get("name"), "complainant.name", required=not anonymous, limit=MAX_NAME),
        "phone": phone(comp.get("phone"), "complainant.phone"),
        "address": text(comp.get("address"), "complainant.address", limit=500),
        "anonymous": anonymous,
        "confidential": boolean(comp.get("confidential"), "complainant.confidential"),
    }

    tgt = mapping(data.get("target"), "target", SECTIONS["target"])
    ttype = parse_enum("target_type", tgt.get("type") or "company", "target.type")
    target = {"type": ttype, "department": None, "staff": None}
    if ttype == "staff":
        target["staff"] = staff_name(config, tgt.get("staff"), "target.staff")
        target["department"] = config.staff_member(target["staff"]).department
        if (
            tgt.get("department")
            and department_code(config, tgt["department"], "target.department")
            != target["department"]
        ):
            raise ValidationError(
                N_("{field}: {value} belongs to {department}, not {given}"),
                field="target.department",
                value=target["staff"],
                department=target["department"],
                given=tgt["department"],
            )
    elif ttype == "department":
        target["department"] = department_code(config, tgt.get("department"), "target.department")
    elif tgt.get("department") or tgt.get("staff"):
        raise ValidationError(
            N_("{field}: a complaint against the company names no department or staff member"),
            field="target",
        )
    case["target"] = target

    case["category"] = category(config, data.get("category"))
    case["severity"] = parse_enum("severity", data.get("severity") or "general", "severity")
    case["content"] = text(data.get("content"), "content", required=True, limit=MAX_CONTENT)
    case["demand"] = text(data.get("demand"), "demand")
    case["first_receiver"] = text(data.get("first_receiver"), "first_receiver", limit=MAX_NAME)
    case["complainant_count"] = positive_count(data.get("complainant_count"), "complainant_count")
    case["severity"] = group_severity(
        None, case, config, given=data.get("severity") not in (None, "")
    )

    extra_keys = {f.key for f in config.extra_fields}
    extra = mapping(data.get("extra"), "extra", extra_keys)
    case["extra"] = {
        k: text(v, f"extra.{k}", limit=MAX_NAME) for k, v in extra.items() if v not in (None, "")
    }
    case["status"] = "registered"
    return case


def partition_key(case: dict) -> str:
    """Cases are stored by the month they were received in."""
    return case["received_at"][:7]


def mask_phone(value: str | None) -> str:
    """138****5678: the first three and last four digits stay."""
    if not value:
        return ""
    digits = re.sub(r"\D", "", value)
    if len(digits) <= 7:
        return digits[:1] + "*" * max(len(digits) - 2, 1) + digits[-1:]
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_name(value: str | None) -> str:
    """张** : the family name stays, the rest is starred."""
    if not value:
        return ""
    return value[0] + "*" * max(len(value) - 1, 1)


def copy_case(case: dict) -> dict:
    return copy.deepcopy(case)
