"""`doctor`: is this machine and workspace ready to print correct forms?"""

from __future__ import annotations

from dataclasses import dataclass

from complaintforms.errors import ComplaintFormsError
from complaintforms.workspace import Workspace


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    # A warning: something is missing, but every form can still be printed correctly.
    warning: bool = False

    def as_dict(self) -> dict:
        return {"check": self.name, "ok": self.ok, "warning": self.warning, "detail": self.detail}


def check_fonts(ws: Workspace | None) -> list[Check]:
    from complaintforms.documents.render import cjk_fonts, font_families

    families = cjk_fonts()
    if not families:
        return [
            Check(
                "cjk-font",
                False,
                "no font covers Simplified Chinese; PDFs would show empty boxes. "
                "Install fonts-noto-cjk (apt-get install fonts-noto-cjk)",
            )
        ]
    checks = [
        Check(
            "cjk-font", True, f"{len(families)} CJK font families, e.g. {', '.join(families[:3])}"
        )
    ]
    if ws is not None:
        try:
            wanted = (ws.config.font_serif, ws.config.font_sans, *ws.config.font_fallback)
        except ComplaintFormsError:
            return checks  # reported by the config check
        installed = font_families()
        missing = [f for f in wanted if f not in installed]
        # The fallback fonts only draw symbols and emoji the CJK face lacks; without one a
        # form that holds such a character is refused (never printed with an empty box),
        # so a missing fallback is a warning, not a failure.
        fallback = set(ws.config.font_fallback) - {ws.config.font_sans, ws.config.font_serif}
        needed = [f for f in missing if f not in fallback]
        optional = [f for f in missing if f in fallback]
        if needed:
            detail = f"not installed: {', '.join(needed)} (fonts in complaintforms.yaml)"
        else:
            detail = f"{', '.join(f for f in wanted if f in installed)} installed"
        checks.append(Check("configured-fonts", not needed, detail))
        if optional:
            checks.append(
                Check(
                    "fallback-fonts",
                    True,
                    f"not installed: {', '.join(optional)} (fonts.fallback); forms print, but "
                    "a symbol or emoji the CJK font lacks is refused. Install fonts-symbola "
                    "(apt-get install fonts-symbola)",
                    warning=True,
                )
            )
    return checks


def check_subsetting() -> Check:
    from complaintforms.documents.render import harfbuzz_subsetting

    if harfbuzz_subsetting():
        return Check("pdf-font-subsetting", True, "HarfBuzz subsetting (about 0.1 s a PDF)")
    return Check(
        "pdf-font-subsetting",
        False,
        "libharfbuzz-subset0 is missing: every PDF costs ~8 s "
        "of font subsetting. Install it (apt-get install libharfbuzz-subset0)",
    )


def check_templates(ws: Workspace) -> Check:
    from complaintforms.documents.check import check_forms

    problems = check_forms(ws.forms_dir)
    if problems:
        return Check("templates", False, "; ".join(str(p) for p in problems))
    return Check("templates", True, "every template matches its form's fields")


def check_database(ws: Workspace) -> Check:
    try:
        problems, summary = ws.store.check()
    except ComplaintFormsError as exc:
        return Check("database", False, str(exc))
    if problems:
        return Check("database", False, "; ".join(problems))
    return Check("database", True, summary)


def check_audit(ws: Workspace) -> Check:
    try:
        problems = ws.store.verify_audit()
    except ComplaintFormsError as exc:
        return Check("audit-log", False, str(exc))
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        return Check("audit-log", False, "; ".join(problems[:3]) + more)
    return Check("audit-log", True, f"chain intact, {ws.store.audit_head()['seq']} events")


def run_doctor(ws: Workspace | None) -> list[Check]:
    checks = check_fonts(ws)
    checks.append(check_subsetting())
    if ws is None:
        checks.append(
            Check(
                "workspace",
                False,
                "not in a workspace; templates, database and audit log not checked",
            )
        )
        return checks
    try:
        ws.config  # noqa: B018
        checks.append(Check("config", True, str(ws.config_path)))
    except ComplaintFormsError as exc:
        checks.append(Check("config", False, str(exc)))
        return checks
    checks.append(check_templates(ws))
    checks.append(check_database(ws))
    checks.append(check_audit(ws))
    checks.append(check_form_font(ws))
    checks.append(check_render_server(ws))
    return checks


def check_form_font(ws: Workspace) -> Check:
    """Informational: a missing compact font only makes PDFs slower and larger."""
    from complaintforms.documents.fonts import form_font

    font = form_font(ws.config.font_sans)
    if font is None:
        return Check(
            "form-font",
            True,
            f"no compact copy of {ws.config.font_sans} (font or HarfBuzz subsetter missing, or "
            "no writable cache): PDFs embed the installed font, about 40 % slower",
        )
    return Check("form-font", True, f"GB 2312 copy of {font.source} at {font.path}")


def check_render_server(ws: Workspace) -> Check:
    from complaintforms.documents import server as renderd

    if not renderd.enabled():
        return Check("render-server", True, "off (COMPLAINTFORMS_RENDER_SERVER=0)")
    info = renderd.status(ws.forms_dir, ws.config.font_sans)
    if info is None:
        return Check(
            "render-server", True, "not running; the next command that renders a form starts it"
        )
    return Check(
        "render-server", True, f"running, pid {info['pid']}, {info['served']} documents served"
    )
