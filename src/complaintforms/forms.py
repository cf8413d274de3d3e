"""The printed forms: what each one is called, its code, and the values it is filled with.

Each form has one docx template (docxtpl) and one HTML template (Jinja2 -> WeasyPrint) under
the workspace's forms/ folder, using exactly the fields listed here; `forms check` fails when
a template drifts from them. Context building is pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import model
from .config import Config
from .enums import label
from .timeutil import display

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
    leaves_centre: bool  # masked for confidential complainants when True

    def with_overrides(self, config: Config) -> FormSpec:
        over = config.form_overrides.get(self.name, {})
        if not over:
            return self
        return FormSpec(
            self.name,
            over.get("code", self.code),
            over.get("version", self.version),
            self.title,
            self.fields,
            self.leaves_centre,
        )


FORMS: dict[str, FormSpec] = {
    "record_card": FormSpec(
        name="record_card",
        code="KF-01",
        version="1.0",
        title="顾客投诉记录卡",
        fields=COMMON_FIELDS
        + (
            "complainant",
            "received_at",
            "channel",
            "kind",
            "target",
            "category",
            "severity",
            "content",
            "demand",
            "recorded_by",
            "late_entry",
            "extra",
            "decision",
        ),
        leaves_centre=False,
    ),
}


def get_form(name: str, config: Config | None = None) -> FormSpec:
    from .errors import NotFoundError

    spec = FORMS.get(name)
    if spec is None:
        raise NotFoundError(f"no form {name!r}; forms: {', '.join(FORMS)}")
    return spec.with_overrides(config) if config else spec


def complainant_view(case: dict, masked: bool) -> dict:
    """The complainant as printed. Forms that leave the centre always mask the phone, and
    mask name and address too when the complainant asked for confidentiality."""
    comp = case["complainant"]
    confidential = comp.get("confidential") and masked
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


def build_context(
    spec: FormSpec, case: dict, config: Config, *, qr: str, serial: int, generated_at: str
) -> dict:
    """The values a form is filled with; the renderer turns `qr` (the payload) into an image."""
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
        "generated_at": display(generated_at),
        "fonts": {
            "serif": config.font_serif,
            "sans": config.font_sans,
            "fallback": list(config.font_fallback),
        },
        "complainant": complainant_view(case, masked=spec.leaves_centre),
        "received_at": display(case["received_at"]),
        "channel": label("channel", case["channel"]),
        "kind": label("kind", case["kind"]),
        "target": target_text(case, config),
        "category": case.get("category") or "",
        "severity": label("severity", case.get("severity")),
        "content": case.get("content") or "",
        "demand": case.get("demand") or "",
        "recorded_by": case.get("recorded_by") or "",
        "late_entry": bool(case.get("late_entry")),
        "extra": [
            {"label": f.label, "value": case.get("extra", {}).get(f.key, "")}
            for f in config.extra_fields
        ],
        "decision": {
            "accepted": {True: "受理", False: "不受理", None: ""}[decision.get("accepted")],
            "reason": decision.get("reason") or "",
            "department": dep.name if dep else "",
            "handler": assignment.get("handler") or "",
            "due": assignment.get("due") or "",
            "by": decision.get("by") or "",
        },
    }
    return {k: ctx[k] for k in (*spec.fields, *HTML_ONLY_FIELDS)}
