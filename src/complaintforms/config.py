"""complaintforms.yaml: load and validate; a bad value names the file, the key and the problem."""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from complaintforms.errors import ConfigError
from complaintforms.i18n import N_

CONFIG_NAME = "complaintforms.yaml"
TOP_LEVEL = N_("(top level)")  # the key named when the whole file is not a mapping


@dataclass(frozen=True)
class Department:
    code: str
    name: str
    head: str


@dataclass(frozen=True)
class Staff:
    name: str
    department: str
    title: str


@dataclass(frozen=True)
class PenaltyKind:
    """A penalty `--penalty` accepts: its code, label, default amount (a number, a text such
    as 当月效益奖金全额, or None when each case states it) and unit (元, 分)."""

    code: str
    label: str
    amount: Any = None
    unit: str = "元"


@dataclass(frozen=True)
class ExtraField:
    key: str
    label: str


@dataclass(frozen=True)
class Config:
    path: Path
    org_name: str
    org_unit: str
    org_phone: str
    org_address: str
    numbering_pattern: str
    departments: tuple[Department, ...]
    staff: tuple[Staff, ...]
    categories: tuple[str, ...]
    deadlines: dict[str, int]
    extra_holidays: frozenset[dt.date]
    extra_workdays: frozenset[dt.date]
    retention_default_years: int
    retention_major_years: int
    penalties: dict[str, Any]
    font_serif: str
    font_sans: str
    font_fallback: tuple[str, ...] = ()
    language: str = "zh-CN"
    # scan intake's limits (max_file_mb, max_pages, max_page_mm, max_page_megapixels); the
    # defaults of services/intake.py for what is not set
    scan: dict[str, float] = field(default_factory=dict)
    extra_fields: tuple[ExtraField, ...] = field(default_factory=tuple)
    form_overrides: dict[str, dict[str, str]] = field(default_factory=dict)
    # channels added to the built-in ones (code -> label), e.g. {"fax": "传真"}
    channels: dict[str, str] = field(default_factory=dict)
    # every penalty kind: the built-in three and those configured
    penalty_kinds: dict[str, PenaltyKind] = field(default_factory=dict)
    # who a major complaint (重大投诉) is reported to at once
    major_to: str = "总经理"
    # supervision (催办 / 督办): remind_before, escalate_after (working days), leader
    supervision: dict[str, Any] = field(
        default_factory=lambda: {"remind_before": 1, "escalate_after": 5, "leader": ""}
    )
    # earlier cases of the same complainant within this many days are repeats (重复投诉)
    repeat_window_days: int = 90
    # this many complainants or more make a group complaint (群体投诉)
    group_threshold: int = 5
    # where the records are (DESIGN.md section 10): "tinydb" (records/) or "postgresql"
    # with `storage_dsn` (COMPLAINTFORMS_DSN overrides it: keeps passwords out of the file)
    storage_backend: str = "tinydb"
    storage_dsn: str = ""

    def enum_additions(self, name: str) -> dict[str, str]:
        """Codes this workspace adds to an enumeration of domain.enums (code -> label)."""
        if name == "channel":
            return self.channels
        if name == "penalty":
            return {k.code: k.label for k in self.penalty_kinds.values()}
        return {}

    def department(self, value: str) -> Department | None:
        """Find a department by code or name."""
        for dep in self.departments:
            if value in (dep.code, dep.name):
                return dep
        return None

    def staff_member(self, name: str) -> Staff | None:
        for member in self.staff:
            if member.name == name:
                return member
        return None


class _Reader:
    """Reads typed values out of the parsed YAML, raising ConfigError with the key path."""

    def __init__(self, path: Path):
        self.path = path

    def fail(self, key: str, problem: str, **params: Any) -> ConfigError:
        """'complaintforms.yaml: departments[0].code: missing': `problem` is a message id,
        filled with `params`. A config key is not a field of a form: it is named as it is."""
        return ConfigError(
            N_("{file}: {key}: {problem}"),
            file=str(self.path),
            key=ConfigError(TOP_LEVEL) if key == TOP_LEVEL else key,
            problem=ConfigError(problem, **params),
        )

    def mapping(
        self,
        value: Any,
        key: str,
        *,
        required: bool = True,
        known: tuple[str, ...] | None = None,
    ) -> dict:
        """A mapping; with `known`, a key not among them is refused with its path (a typo
        such as deadlines.compliant must not pass silently)."""
        if value is None and not required:
            return {}
        if not isinstance(value, dict):
            raise self.fail(key, N_("missing") if value is None else N_("must be a mapping"))
        if known is not None:
            for name in value:
                if name not in known:
                    where = str(name) if key == TOP_LEVEL else f"{key}.{name}"
                    raise self.fail(
                        where, N_("unknown setting; known: {known}"), known=", ".join(known)
                    )
        return value

    def text(self, value: Any, key: str, *, required: bool = True, default: str = "") -> str:
        if value is None or value == "":
            if required:
                raise self.fail(key, N_("missing"))
            return default
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.fail(key, N_("must be text"))
        return str(value).strip()

    def positive_int(self, value: Any, key: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise self.fail(
                key, N_("must be a whole number of at least 1, not {value}"), value=repr(value)
            )
        return value

    def count(self, value: Any, key: str) -> int:
        """A whole number of at least 0."""
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.fail(
                key, N_("must be a whole number of at least 0, not {value}"), value=repr(value)
            )
        return value

    def list_(self, value: Any, key: str, *, required: bool = True) -> list:
        if value is None and not required:
            return []
        if not isinstance(value, list):
            raise self.fail(key, N_("missing") if value is None else N_("must be a list"))
        return value

    def dates(self, value: Any, key: str) -> frozenset[dt.date]:
        out = set()
        for i, item in enumerate(self.list_(value, key, required=False)):
            if isinstance(item, dt.date):
                out.add(item)
                continue
            try:
                out.add(dt.date.fromisoformat(str(item)))
            except ValueError:
                raise self.fail(
                    f"{key}[{i}]", N_("{value} is not a date (YYYY-MM-DD)"), value=repr(item)
                ) from None
        return frozenset(out)


_PATTERN_FIELDS = re.compile(r"{(\w+)(?::[^}]*)?}")


def parse_config(raw: Any, path: Path) -> Config:
    """Validate the parsed YAML document, section by section. No I/O."""
    r = _Reader(path)
    top = r.mapping(raw, TOP_LEVEL, known=TOP_KEYS)
    # In the order of the file, so that the first problem reported is the first one there.
    org = r.mapping(
        top.get("organization"), "organization", known=("name", "unit", "phone", "address")
    )
    pattern = _numbering(r, top.get("numbering"))
    departments = _departments(r, top.get("departments"))
    staff = _staff(r, top.get("staff"), {d.code for d in departments})
    categories = _categories(r, top.get("categories"))
    channels = _channels(r, top.get("channels"))
    deadlines = _deadlines(r, top.get("deadlines"))
    cal = r.mapping(
        top.get("calendar"), "calendar", required=False, known=("extra_holidays", "extra_workdays")
    )
    retention = r.mapping(top.get("retention"), "retention", known=("default_years", "major_years"))
    penalty_kinds = _penalties(r, top.get("penalties"))
    escalation = r.mapping(top.get("escalation"), "escalation", required=False, known=("major_to",))
    supervision = r.mapping(
        top.get("supervision"),
        "supervision",
        required=False,
        known=("remind_before", "escalate_after", "leader"),
    )
    fonts = r.mapping(
        top.get("fonts"), "fonts", required=False, known=("serif", "sans", "fallback")
    )
    return Config(
        path=path,
        org_name=r.text(org.get("name"), "organization.name"),
        org_unit=r.text(
            org.get("unit"), "organization.unit", required=False, default="客户服务中心"
        ),
        org_phone=r.text(org.get("phone"), "organization.phone", required=False),
        org_address=r.text(org.get("address"), "organization.address", required=False),
        numbering_pattern=pattern,
        departments=departments,
        staff=staff,
        categories=categories,
        deadlines=deadlines,
        extra_holidays=r.dates(cal.get("extra_holidays"), "calendar.extra_holidays"),
        extra_workdays=r.dates(cal.get("extra_workdays"), "calendar.extra_workdays"),
        retention_default_years=r.positive_int(
            retention.get("default_years"), "retention.default_years"
        ),
        retention_major_years=r.positive_int(retention.get("major_years"), "retention.major_years"),
        penalties={code: kind.amount for code, kind in penalty_kinds.items()},
        penalty_kinds=penalty_kinds,
        channels=channels,
        major_to=r.text(
            escalation.get("major_to"), "escalation.major_to", required=False, default="总经理"
        ),
        supervision={
            "remind_before": r.count(
                supervision.get("remind_before", 1), "supervision.remind_before"
            ),
            "escalate_after": r.positive_int(
                supervision.get("escalate_after", 5), "supervision.escalate_after"
            ),
            "leader": r.text(supervision.get("leader"), "supervision.leader", required=False),
        },
        repeat_window_days=r.positive_int(top.get("repeat_window_days", 90), "repeat_window_days"),
        group_threshold=r.positive_int(top.get("group_threshold", 5), "group_threshold"),
        font_serif=r.text(
            fonts.get("serif"), "fonts.serif", required=False, default="Noto Serif CJK SC"
        ),
        font_sans=r.text(
            fonts.get("sans"), "fonts.sans", required=False, default="Noto Sans CJK SC"
        ),
        font_fallback=tuple(
            r.text(f, f"fonts.fallback[{i}]")
            for i, f in enumerate(
                r.list_(fonts.get("fallback", ["Symbola"]), "fonts.fallback", required=False)
            )
        ),
        extra_fields=_extra_fields(r, top.get("extra_fields")),
        form_overrides=_form_overrides(r, top.get("forms")),
        language=_language(r, top.get("language")),
        scan=_scan(r, top.get("scan")),
        **_storage(r, top.get("storage")),
    )


STORAGE_BACKENDS = ("tinydb", "postgresql")


def _storage(r: _Reader, raw: Any) -> dict[str, str]:
    storage = r.mapping(raw, "storage", required=False, known=("backend", "dsn"))
    backend = r.text(storage.get("backend"), "storage.backend", required=False, default="tinydb")
    if backend not in STORAGE_BACKENDS:
        raise r.fail(
            "storage.backend",
            N_("unknown backend {value}; known: {known}"),
            value=repr(backend),
            known=", ".join(STORAGE_BACKENDS),
        )
    dsn = r.text(storage.get("dsn"), "storage.dsn", required=False, default="")
    return {"storage_backend": backend, "storage_dsn": dsn}


TOP_KEYS = (
    "language",
    "organization",
    "numbering",
    "departments",
    "staff",
    "categories",
    "channels",
    "deadlines",
    "calendar",
    "retention",
    "penalties",
    "escalation",
    "supervision",
    "repeat_window_days",
    "group_threshold",
    "fonts",
    "extra_fields",
    "forms",
    "scan",
    "storage",
)
# The built-in kinds of penalty (警告 小过 大过; DESIGN.md section 1, step 7).
BUILTIN_PENALTIES = {"warning": "警告", "minor_demerit": "小过", "major_demerit": "大过"}
DEADLINE_KINDS = ("inquiry", "suggestion", "complaint", "special")
# Optional limits with their defaults: the call-back after the result (working days).
DEADLINE_DEFAULTS = {"callback": 2, "max_extension": 7, "extensions": 1}
_CODE = re.compile(r"[a-z][a-z0-9_]*")

SCAN_KEYS = ("max_file_mb", "max_pages", "max_page_mm", "max_page_megapixels")


def _scan(r: _Reader, raw: Any) -> dict[str, float]:
    scan = r.mapping(raw, "scan", required=False)
    out = {}
    for key, value in scan.items():
        if key not in SCAN_KEYS:
            raise r.fail(
                f"scan.{key}", N_("unknown setting; known: {known}"), known=", ".join(SCAN_KEYS)
            )
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not 0 < value < float("inf")
        ):
            raise r.fail(
                f"scan.{key}", N_("must be a number above 0, not {value}"), value=repr(value)
            )
        out[key] = float(value)
    return out


def _numbering(r: _Reader, raw: Any) -> str:
    numbering = r.mapping(raw, "numbering", known=("pattern",))
    pattern = r.text(numbering.get("pattern"), "numbering.pattern")
    names = set(_PATTERN_FIELDS.findall(pattern))
    if "seq" not in names:
        # No values: the braces are the text itself, not placeholders.
        raise r.fail("numbering.pattern", N_("must contain {seq}, e.g. TS-{year}-{seq:06d}"))
    if names - {"seq", "year"}:
        raise r.fail(
            "numbering.pattern",
            N_("unknown placeholder {value}"),
            value=str(sorted(names - {"seq", "year"})),
        )
    literal = _PATTERN_FIELDS.sub("", pattern)
    if any(c in literal for c in "|/\\:") or any(c.isspace() for c in literal):
        raise r.fail("numbering.pattern", N_("must not contain spaces or any of | / \\ :"))
    try:
        pattern.format(year=2026, seq=1)
    except (ValueError, IndexError, KeyError) as exc:
        raise r.fail(
            "numbering.pattern", N_("cannot be formatted: {error}"), error=str(exc)
        ) from None
    return pattern


def _departments(r: _Reader, raw: Any) -> tuple[Department, ...]:
    departments = []
    seen_codes: set[str] = set()
    for i, item in enumerate(r.list_(raw, "departments")):
        key = f"departments[{i}]"
        item = r.mapping(item, key, known=("code", "name", "head"))
        code = r.text(item.get("code"), f"{key}.code")
        if code in seen_codes:
            raise r.fail(f"{key}.code", N_("duplicate department code {value}"), value=repr(code))
        seen_codes.add(code)
        departments.append(
            Department(
                code,
                r.text(item.get("name"), f"{key}.name"),
                r.text(item.get("head"), f"{key}.head"),
            )
        )
    if not departments:
        raise r.fail("departments", N_("at least one department is needed"))
    return tuple(departments)


def _staff(r: _Reader, raw: Any, codes: set[str]) -> tuple[Staff, ...]:
    staff = []
    for i, item in enumerate(r.list_(raw, "staff", required=False)):
        key = f"staff[{i}]"
        item = r.mapping(item, key, known=("name", "department", "title"))
        dep = r.text(item.get("department"), f"{key}.department")
        if dep not in codes:
            raise r.fail(
                f"{key}.department", N_("unknown department code {value}"), value=repr(dep)
            )
        staff.append(
            Staff(
                r.text(item.get("name"), f"{key}.name"),
                dep,
                r.text(item.get("title"), f"{key}.title", required=False),
            )
        )
    return tuple(staff)


def _categories(r: _Reader, raw: Any) -> tuple[str, ...]:
    categories = tuple(
        r.text(c, f"categories[{i}]") for i, c in enumerate(r.list_(raw, "categories"))
    )
    if not categories:
        raise r.fail("categories", N_("at least one category is needed"))
    if len(set(categories)) != len(categories):
        raise r.fail("categories", N_("duplicate category"))
    return categories


def _deadlines(r: _Reader, raw: Any) -> dict[str, int]:
    deadlines_raw = r.mapping(raw, "deadlines", known=DEADLINE_KINDS + tuple(DEADLINE_DEFAULTS))
    deadlines = {}
    for kind in DEADLINE_KINDS:
        if kind not in deadlines_raw:
            raise r.fail(f"deadlines.{kind}", N_("missing"))
        deadlines[kind] = r.positive_int(deadlines_raw[kind], f"deadlines.{kind}")
    for kind, default in DEADLINE_DEFAULTS.items():
        value = deadlines_raw.get(kind, default)
        deadlines[kind] = r.positive_int(value, f"deadlines.{kind}")
    return deadlines


def _channels(r: _Reader, raw: Any) -> dict[str, str]:
    """Channels beyond the built-in ones ({code: fax, label: 传真})."""
    from complaintforms.domain.enums import ENUMS

    builtin = ENUMS["channel"]
    out: dict[str, str] = {}
    for i, item in enumerate(r.list_(raw, "channels", required=False)):
        key = f"channels[{i}]"
        item = r.mapping(item, key, known=("code", "label"))
        code = r.text(item.get("code"), f"{key}.code")
        label = r.text(item.get("label"), f"{key}.label")
        if not _CODE.fullmatch(code):
            raise r.fail(f"{key}.code", N_("must be lower-case letters, digits and _"))
        taken = {**builtin, **out}
        if code in taken or label in taken.values():
            raise r.fail(key, N_("{value} is already a channel"), value=repr(code))
        out[code] = label
    return out


def _penalties(r: _Reader, raw: Any) -> dict[str, PenaltyKind]:
    """Every key a penalty kind: `warning: 400` (a built-in kind's amount), `扣绩效分: 15`
    (the key is its label too), or `performance_points: {label: 扣绩效分, unit: 分,
    amount: 15}`. The built-in kinds stay available when not listed (amount per case)."""
    penalties_raw = r.mapping(raw, "penalties", required=False)
    kinds = {code: PenaltyKind(code, label) for code, label in BUILTIN_PENALTIES.items()}
    labels = dict(BUILTIN_PENALTIES)
    for name, value in penalties_raw.items():
        code = str(name)
        key = f"penalties.{code}"
        label, unit, amount = BUILTIN_PENALTIES.get(code, code), "元", value
        if isinstance(value, dict):
            spec = r.mapping(value, key, known=("label", "unit", "amount"))
            label = r.text(spec.get("label"), f"{key}.label", required=False, default=label)
            unit = r.text(spec.get("unit"), f"{key}.unit", required=False, default=unit)
            amount = spec.get("amount")
            where = f"{key}.amount"
        else:
            where = key
        if amount is not None and (
            isinstance(amount, bool) or not isinstance(amount, int | float | str)
        ):
            raise r.fail(where, N_("must be an amount or a text"))
        if isinstance(amount, float) and not math.isfinite(amount):
            raise r.fail(where, N_("must be an amount or a text"))
        clash = next((c for c, lab in labels.items() if c != code and label in (c, lab)), None)
        if clash is not None or (code != label and code in labels.values()):
            raise r.fail(key, N_("{value} is already a penalty kind"), value=repr(label))
        labels[code] = label
        kinds[code] = PenaltyKind(code, label, amount, unit)
    return kinds


def _extra_fields(r: _Reader, raw: Any) -> tuple[ExtraField, ...]:
    extra = []
    for i, item in enumerate(r.list_(raw, "extra_fields", required=False)):
        key = f"extra_fields[{i}]"
        item = r.mapping(item, key, known=("key", "label"))
        fkey = r.text(item.get("key"), f"{key}.key")
        if not re.fullmatch(r"[a-z][a-z0-9_]*", fkey):
            raise r.fail(f"{key}.key", N_("must be lower-case letters, digits and _"))
        extra.append(ExtraField(fkey, r.text(item.get("label"), f"{key}.label")))
    return tuple(extra)


def _form_overrides(r: _Reader, raw: Any) -> dict[str, dict[str, str]]:
    overrides = {}
    for form, spec in r.mapping(raw, "forms", required=False).items():
        spec = r.mapping(spec, f"forms.{form}", known=("code", "version"))
        overrides[str(form)] = {
            k: r.text(spec.get(k), f"forms.{form}.{k}") for k in ("code", "version") if k in spec
        }
    return overrides


def _language(r: _Reader, value: Any) -> str:
    from complaintforms.i18n import LANGUAGES, normalize

    if value is None:
        return "zh-CN"
    language = normalize(r.text(value, "language"))
    if language is None:
        raise r.fail(
            "language",
            N_("{value} is not one of {languages}"),
            value=repr(value),
            languages=", ".join(LANGUAGES),
        )
    return language


def load_config(path: Path) -> Config:
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(N_("{file}: not found"), file=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            N_("{file}: cannot be read: {error}"), file=str(path), error=str(exc)
        ) from None
    try:
        # libyaml's loader where PyYAML has it: the same safe loader, ten times faster, and
        # every command loads the config.
        raw = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        # PyYAML's own description of the problem, in English: a technical detail.
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        if mark:
            raise ConfigError(
                N_("{file}: not valid YAML (line {line}, column {column}): {problem}"),
                file=str(path),
                line=mark.line + 1,
                column=mark.column + 1,
                problem=problem,
            ) from None
        raise ConfigError(
            N_("{file}: not valid YAML: {problem}"), file=str(path), problem=problem
        ) from None
    except ValueError as exc:  # PyYAML builds dates while parsing: 2027-13-01 fails here
        raise ConfigError(
            N_("{file}: a value that looks like a date is not one: {error}"),
            file=str(path),
            error=str(exc),
        ) from None
    return parse_config(raw, path)
