"""The printed forms: what each one is called, its code, and the values it is filled with.

Each form has one docx template (docxtpl) and one HTML template (Jinja2 -> WeasyPrint) under
the workspace's forms/ folder, using exactly the fields listed here; `forms check` fails when
a template drifts from them. Context building is pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from complaintforms.config import Config
from complaintforms.domain import model
from complaintforms.domain.enums import label
from complaintforms.domain.paper import cn_date, cn_datetime, money
from complaintforms.errors import NotFoundError, RenderError
from complaintforms.i18n import N_

# Values every form receives (the header, the QR code, the footer).
COMMON_FIELDS = ("org", "form", "case_no", "qr", "serial", "generated_at")
# Given to the HTML templates as well, for their CSS; Word templates set fonts themselves.
HTML_ONLY_FIELDS = ("fonts",)


@dataclass(frozen=True)
class FormSpec:
    name: str
    code: str
    version: str
    title: str
    fields: tuple[str, ...]
    # Forms that leave the customer service centre mask the complainant's phone (138****5678)
    # and, for a confidential complainant (要求保密), the name and address too.
    leaves_centre: bool
    # A letter to the complainant leaves the centre but names its addressee.
    masks_name: bool = True
    # Extra QR codes on the same document (e.g. the receipt stub), by context key -> form.
    extra_codes: tuple[tuple[str, str], ...] = ()
    # "case": filled from one case; "list": a register of many (rows), for a period.
    kind: str = "case"

    def with_overrides(self, config: Config) -> FormSpec:
        over = config.form_overrides.get(self.name, {})
        if not over:
            return self
        return replace(
            self, code=over.get("code", self.code), version=over.get("version", self.version)
        )


CASE_FIELDS = (
    "complainant",
    "received_at",
    "channel",
    "kind",
    "target",
    "category",
    "severity",
    "content",
    "demand",
    "extra",
)

FORMS: dict[str, FormSpec] = {
    "record_card": FormSpec(
        name="record_card",
        code="KF-01",
        version="1.0",
        title="顾客投诉记录卡",
        fields=COMMON_FIELDS
        + CASE_FIELDS
        + ("recorded_by", "late_entry", "decision")
        # 首问负责人, 投诉人数 / 群体投诉, 重复投诉 (DESIGN.md section 12)
        + ("first_receiver", "complainants", "repeat_of"),
        leaves_centre=False,
    ),
    "feedback_slip": FormSpec(
        name="feedback_slip",
        code="KF-02",
        version="1.0",
        title="三来处理反馈单",
        fields=COMMON_FIELDS + CASE_FIELDS + ("assignment", "handling", "callback"),
        leaves_centre=True,
    ),
    "contact_letter": FormSpec(
        name="contact_letter",
        code="KF-03",
        version="1.0",
        title="工作联系函",
        fields=COMMON_FIELDS + CASE_FIELDS + ("assignment", "letter", "qr_receipt"),
        leaves_centre=True,
        extra_codes=(("qr_receipt", "contact_receipt"),),
    ),
    "reply_letter": FormSpec(
        name="reply_letter",
        code="KF-04",
        version="1.0",
        title="投诉答复函",
        fields=COMMON_FIELDS
        + ("complainant", "received_at", "channel", "content", "demand", "reply"),
        leaves_centre=True,
        masks_name=False,
    ),
    # How the case ended, on paper (DESIGN.md section 13, last bullet): issued on closing and
    # sealed into the bundle with the other forms.
    "closing_form": FormSpec(
        name="closing_form",
        code="KF-09",
        version="1.0",
        title="投诉处理结案单",
        fields=COMMON_FIELDS
        + CASE_FIELDS
        + ("recorded_by", "decision", "assignment", "handling", "callback", "closure", "reopens"),
        leaves_centre=False,
    ),
}

# Registers and lists: not one case's form, but rows for a period.
# `anchor`: the audit head (SEQ:HASH) when the list was made, printed on the papers a manager
# signs, so that a later rewrite of the history cannot match them (DESIGN.md section 10).
LIST_FIELDS = ("org", "form", "period", "rows", "by", "qr", "serial", "generated_at", "anchor")
FORMS["transfer_list"] = FormSpec(
    name="transfer_list",
    code="KF-05",
    version="1.0",
    title="归档移交清单",
    fields=LIST_FIELDS,
    leaves_centre=False,
    kind="list",
)
FORMS["disposal_register"] = FormSpec(
    name="disposal_register",
    code="KF-06",
    version="1.0",
    title="档案销毁清册",
    fields=LIST_FIELDS,
    leaves_centre=False,
    kind="list",
)

FORMS["statistics_report"] = FormSpec(
    name="statistics_report",
    code="KF-08",
    version="1.0",
    title="投诉统计报告",
    fields=(
        "org",
        "form",
        "period",
        "by",
        "qr",
        "serial",
        "generated_at",
        "anchor",
        "heading",
        "as_of",
        "empty",
        "summary",
        "tables",
        "departments",
        "trend",
        "major",
        "penalties",
        "more",
        "charts",
    ),
    leaves_centre=False,
    kind="list",
)
FORMS["opinion_register"] = FormSpec(
    name="opinion_register",
    code="KF-07",
    version="1.0",
    title="顾客意见登记簿",
    fields=LIST_FIELDS,
    leaves_centre=False,
    kind="list",
)

# 重大投诉呈报单 (DESIGN.md section 13): issued when a case is or becomes major, to
# `escalation.major_to` (default 总经理): the facts, why it is major, the impact, the proposed
# handling (the routing, once there is one), and boxes for the instruction and signature. It
# goes up the line, so the complainant is masked as on the forms that leave the centre.
FORMS["major_report"] = FormSpec(
    name="major_report",
    code="KF-10",
    version="1.0",
    title="重大投诉呈报单",
    fields=COMMON_FIELDS + CASE_FIELDS + ("assignment", "major"),
    leaves_centre=True,
)


def build_list_context(
    spec: FormSpec,
    config: Config,
    *,
    period: str,
    rows: list[dict],
    by: str,
    qr: str,
    serial: int,
    generated_at: str,
    anchor: str = "",
) -> dict:
    ctx = {
        "anchor": anchor,
        "org": {
            "name": config.org_name,
            "unit": config.org_unit,
            "phone": config.org_phone,
            "address": config.org_address,
        },
        "form": {
            "code": spec.code,
            "version": spec.version,
            "title": spec.title,
            "name": spec.name,
        },
        "period": period,
        "rows": rows,
        "by": by,
        "qr": qr,
        "serial": f"{serial:06d}",
        "generated_at": cn_datetime(generated_at),
        "fonts": {
            "serif": config.font_serif,
            "sans": config.font_sans,
            "fallback": list(config.font_fallback),
            "form": "",  # the compact form font's family, filled in by the PDF renderer
        },
    }
    return ctx


# The receipt stub of the contact letter is printed on the letter but returned on its own.
RETURNABLE_FORMS = ("feedback_slip", "contact_receipt")


def get_form(name: str, config: Config | None = None, *, case_form: bool = False) -> FormSpec:
    spec = FORMS.get(name)
    if spec is None or (case_form and spec.kind != "case"):
        names = [n for n, f in FORMS.items() if f.kind == "case" or not case_form]
        raise NotFoundError(
            N_("no form {value}; forms: {known}"), value=repr(name), known=", ".join(names)
        )
    return spec.with_overrides(config) if config else spec


def complainant_view(case: dict, masked: bool, masks_name: bool = True) -> dict:
    """The complainant as printed. Forms that leave the centre always mask the phone, and
    mask name and address too when the complainant asked for confidentiality."""
    comp = case["complainant"]
    confidential = comp.get("confidential") and masked and masks_name
    if comp.get("anonymous"):
        name = "（匿名）"
    elif confidential:
        name = model.mask_name(comp.get("name"))
    else:
        name = comp.get("name") or ""
    phone = comp.get("phone") or ""
    if masked:
        phone = model.mask_phone(phone)
    address = comp.get("address") or ""
    if confidential and address:
        address = "（保密）"
    return {
        "name": name,
        "phone": phone,
        "address": address,
        "confidential": bool(comp.get("confidential")),
        "anonymous": bool(comp.get("anonymous")),
    }


def target_text(case: dict, config: Config) -> str:
    tgt = case["target"]
    parts = [label("target_type", tgt["type"])]
    if tgt.get("department"):
        dep = config.department(tgt["department"])
        parts.append(dep.name if dep else tgt["department"])
    if tgt.get("staff"):
        parts.append(tgt["staff"])
    return " ".join(parts)


def department_name(config: Config, code: str | None) -> str:
    """A department as printed: its name, never its code (the code only when unknown)."""
    if not code:
        return ""
    dep = config.department(code)
    return dep.name if dep else code


def handling_view(case: dict) -> dict:
    h = case["handling"]
    signed = {True: "已签字确认", False: "投诉人未签字", None: ""}[h.get("customer_signed")]
    return {
        "findings": h.get("findings") or "",
        "cause": h.get("cause") or "",
        "responsible": h.get("responsible") or "",
        "plan": h.get("plan") or "",
        "approved_by": h.get("approved_by") or "",
        "approved_at": cn_date(h.get("approved_at")),
        "notified_at": cn_date(h.get("notified_at")),
        "result": h.get("result") or "",
        "compensation": money(h.get("compensation")),
        "customer_signed": signed,
        "resolved_at": cn_date(h.get("resolved_at")),
        "recorded_by": h.get("recorded_by") or "",
    }


def callback_view(case: dict) -> dict:
    c = case["callback"]
    return {
        "at": cn_date(c.get("at")),
        "by": c.get("by") or "",
        "satisfaction": label("satisfaction", c.get("satisfaction")),
        "note": c.get("note") or "",
    }


def closure_view(case: dict, config=None) -> dict:
    c = case["closure"]
    penalties = [
        p for p in (c.get("penalties") or ([c["penalty"]] if c.get("penalty") else [])) if p
    ]
    return {
        "at": cn_date(c.get("at")),
        "by": c.get("by") or "",
        "summary": c.get("summary") or "",
        "cause": c.get("cause") or "",
        "measures": c.get("measures") or "",
        "validity": label("validity", case["decision"].get("validity")),
        "penalties": [
            {
                "type": label("penalty", p.get("type"), config),
                "person": p.get("person") or "",
                "amount": money(p.get("amount"), p.get("unit")),
            }
            for p in penalties
        ],
    }


def reopens_view(case: dict) -> list[dict]:
    return [
        {"at": cn_date(r.get("at")), "by": r.get("by") or "", "reason": r.get("reason") or ""}
        for r in case.get("reopens") or []
    ]


def assignment_view(case: dict, config: Config) -> dict:
    a = case["assignment"]
    dep = config.department(a["department"]) if a.get("department") else None
    limit = config.deadlines["special" if a.get("special") else case["kind"]]
    return {
        "department": dep.name if dep else "",
        "department_code": a.get("department") or "",
        "head": dep.head if dep else "",
        "handler": a.get("handler") or "",
        "due": cn_date(a.get("due")),
        "limit": f"{limit} 个工作日" + ("（特殊情况）" if a.get("special") else ""),
    }


def extra_view(case: dict, config: Config) -> list[dict]:
    """The configured extra fields that have a value, in the configured order: a field
    left empty is not printed at all (DESIGN.md section 14)."""
    values = case.get("extra") or {}
    return [
        {"label": f.label, "value": values[f.key]} for f in config.extra_fields if values.get(f.key)
    ]


# The record card names at most this many earlier cases of a repeat complaint (and how many
# more there are), so that a frequent complainant's card still fits its page.
REPEATS_LISTED = 8


def complainants_view(case: dict, config: Config) -> dict:
    """投诉人数 as printed: the count when more than one (None: not printed), and whether
    that makes it a group complaint (群体投诉, at `group_threshold` or more)."""
    n = case.get("complainant_count")
    several = isinstance(n, int) and not isinstance(n, bool) and n > 1
    return {"count": n if several else None, "group": several and model.is_group(case, config)}


def repeats_view(case: dict) -> dict:
    """重复投诉 as printed: the earlier cases (newest first), at most REPEATS_LISTED of them,
    and how many more."""
    earlier = [c for c in case.get("repeat_of") or [] if isinstance(c, str)]
    return {
        "cases": earlier[:REPEATS_LISTED],
        "more": max(len(earlier) - REPEATS_LISTED, 0),
        "count": len(earlier),
    }


def build_context(
    spec: FormSpec,
    case: dict,
    config: Config,
    *,
    qr: str,
    serial: int,
    generated_at: str,
    codes: dict[str, str] | None = None,
    extra: dict | None = None,
) -> dict:
    """The values a form is filled with. `qr` and `codes` hold QR payloads, which the renderer
    turns into images; `extra` holds values of one issue of a form (a letter's addressee)."""
    decision = case["decision"]
    assignment = case["assignment"]
    dep = config.department(assignment["department"]) if assignment.get("department") else None
    ctx = {
        "org": {
            "name": config.org_name,
            "unit": config.org_unit,
            "phone": config.org_phone,
            "address": config.org_address,
        },
        "form": {
            "code": spec.code,
            "version": spec.version,
            "title": spec.title,
            "name": spec.name,
        },
        "case_no": case["case_no"],
        "qr": qr,
        "serial": f"{serial:06d}",
        "generated_at": cn_datetime(generated_at),
        "fonts": {
            "serif": config.font_serif,
            "sans": config.font_sans,
            "fallback": list(config.font_fallback),
            "form": "",  # the compact form font's family, filled in by the PDF renderer
        },
        "complainant": complainant_view(
            case, masked=spec.leaves_centre, masks_name=spec.masks_name
        ),
        "received_at": cn_datetime(case["received_at"]),
        "channel": label("channel", case["channel"], config),
        "kind": label("kind", case["kind"]),
        "target": target_text(case, config),
        "category": case.get("category") or "",
        "severity": label("severity", case.get("severity")),
        "content": case.get("content") or "",
        "demand": case.get("demand") or "",
        "recorded_by": case.get("recorded_by") or "",
        "first_receiver": case.get("first_receiver") or "",
        "complainants": complainants_view(case, config),
        "repeat_of": repeats_view(case),
        "late_entry": bool(case.get("late_entry")),
        "extra": extra_view(case, config),
        "decision": {
            "accepted": {True: "受理", False: "不受理", None: ""}[decision.get("accepted")],
            "reason": decision.get("reason") or "",
            "department": dep.name if dep else "",
            "handler": assignment.get("handler") or "",
            "due": cn_date(assignment.get("due")),
            "by": decision.get("by") or "",
            "at": cn_date(decision.get("at")),
        },
    }
    ctx["assignment"] = assignment_view(case, config)
    ctx["handling"] = handling_view(case)
    ctx["callback"] = callback_view(case)
    ctx["closure"] = closure_view(case, config)
    ctx["reopens"] = reopens_view(case)
    ctx.update(codes or {})
    ctx.update(extra or {})
    missing = [k for k in spec.fields if k not in ctx]
    if missing:
        raise RenderError(
            N_("{form}: no value for {names}"), form=spec.name, names=", ".join(missing)
        )
    return {k: ctx[k] for k in (*spec.fields, *HTML_ONLY_FIELDS)}


def major_view(
    case: dict,
    config: Config,
    *,
    by: str = "",
    date: str | None = None,
    reason: str | None = None,
    impact: str | None = None,
) -> dict:
    """The values of one issue of the 重大投诉呈报单 (`extra["major"]`): to whom and from which
    unit, when and by whom it is reported, why the case is major and its impact (as given
    when issued; '' leaves a box to write in by hand), and the number of complainants of a
    group complaint (None for one complainant: not printed)."""
    count = case.get("complainant_count")
    several = isinstance(count, int) and not isinstance(count, bool) and count > 1
    threshold = getattr(config, "group_threshold", 5)
    return {
        "to": config.major_to,
        "unit": config.org_unit,
        "by": by or "",
        "date": cn_date(date),
        "reason": reason or "",
        "impact": impact or "",
        "count": count if several else None,
        "group": bool(several and isinstance(threshold, int) and count >= threshold),
    }


# 催办通知书 / 督办通知书 (DESIGN.md section 12, services.supervision): one per department and
# level, listing its cases due soon (催办) or overdue (督办; escalated ones copied to
# supervision.leader). `notice`: to whom, as of when, by when to answer, the copy. They leave
# the centre, but print no complainant at all: case number, dates, category and handler only.
NOTICE_FIELDS = (*LIST_FIELDS, "notice")
FORMS["reminder_notice"] = FormSpec(
    name="reminder_notice",
    code="KF-11",
    version="1.0",
    title="催办通知书",
    fields=NOTICE_FIELDS,
    leaves_centre=True,
    kind="list",
)
FORMS["supervision_notice"] = FormSpec(
    name="supervision_notice",
    code="KF-12",
    version="1.0",
    title="督办通知书",
    fields=NOTICE_FIELDS,
    leaves_centre=True,
    kind="list",
)
