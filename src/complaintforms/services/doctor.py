"""`doctor`: is this machine and workspace ready to print correct forms?"""

from __future__ import annotations

from dataclasses import dataclass

from complaintforms.errors import ComplaintFormsError
from complaintforms.i18n import N_
from complaintforms.services.messages import Notice, joined, notice
from complaintforms.workspace import Workspace


@dataclass
class Check:
    """One finding. `detail` is a Notice: the English text (as `--json` gives it) with its
    message id (`msgid`) and values (`params`); shown as `detail.render(_)`."""

    name: str
    ok: bool
    detail: str
    # A warning: something is missing, but every form can still be printed correctly.
    warning: bool = False

    def __post_init__(self) -> None:
        self.detail = notice(self.detail)

    @property
    def msgid(self) -> str:
        return getattr(self.detail, "msgid", str(self.detail))

    @property
    def params(self) -> dict:
        return getattr(self.detail, "params", {})

    def as_dict(self) -> dict:
        return {
            "check": self.name,
            "ok": self.ok,
            "warning": self.warning,
            "detail": str(self.detail),
        }


def check_fonts(ws: Workspace | None) -> list[Check]:
    from complaintforms.documents.render import cjk_fonts, font_families

    families = cjk_fonts()
    if not families:
        return [
            Check(
                "cjk-font",
                False,
                Notice(
                    N_(
                        "no font covers Simplified Chinese; PDFs would show empty boxes. "
                        "Install fonts-noto-cjk (apt-get install fonts-noto-cjk)"
                    )
                ),
            )
        ]
    checks = [
        Check(
            "cjk-font",
            True,
            Notice(
                N_("{count} CJK font families, e.g. {examples}"),
                count=len(families),
                examples=", ".join(families[:3]),
            ),
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
            detail = Notice(
                N_("not installed: {fonts} (fonts in complaintforms.yaml)"),
                fonts=", ".join(needed),
            )
        else:
            detail = Notice(
                N_("{fonts} installed"), fonts=", ".join(f for f in wanted if f in installed)
            )
        checks.append(Check("configured-fonts", not needed, detail))
        if optional:
            checks.append(
                Check(
                    "fallback-fonts",
                    True,
                    Notice(
                        N_(
                            "not installed: {fonts} (fonts.fallback); forms print, but a symbol "
                            "or emoji the CJK font lacks is refused. Install fonts-symbola "
                            "(apt-get install fonts-symbola)"
                        ),
                        fonts=", ".join(optional),
                    ),
                    warning=True,
                )
            )
    return checks


def check_subsetting() -> Check:
    from complaintforms.documents.render import harfbuzz_subsetting

    if harfbuzz_subsetting():
        return Check(
            "pdf-font-subsetting", True, Notice(N_("HarfBuzz subsetting (about 0.1 s a PDF)"))
        )
    return Check(
        "pdf-font-subsetting",
        False,
        Notice(
            N_(
                "libharfbuzz-subset0 is missing: every PDF costs ~8 s of font subsetting. "
                "Install it (apt-get install libharfbuzz-subset0)"
            )
        ),
    )


def check_templates(ws: Workspace) -> Check:
    from complaintforms.documents.check import check_forms

    problems = check_forms(ws.forms_dir)
    if problems:
        return Check("templates", False, joined(problems))
    return Check("templates", True, Notice(N_("every template matches its form's fields")))


def check_database(ws: Workspace) -> Check:
    try:
        problems, summary = ws.store.check()
    except ComplaintFormsError as exc:
        return Check("database", False, exc)
    if problems:
        return Check("database", False, joined(problems))
    return Check("database", True, summary)


def check_audit(ws: Workspace) -> Check:
    try:
        problems = ws.store.verify_audit()
    except ComplaintFormsError as exc:
        return Check("audit-log", False, exc)
    if len(problems) > 3:
        return Check(
            "audit-log",
            False,
            Notice(
                N_("{problems} (and {more} more)"),
                problems=joined(problems[:3]),
                more=len(problems) - 3,
            ),
        )
    if problems:
        return Check("audit-log", False, joined(problems))
    return Check(
        "audit-log",
        True,
        Notice(N_("chain intact, {events} events"), events=ws.store.audit_head()["seq"]),
    )


def run_doctor(ws: Workspace | None) -> list[Check]:
    checks = check_fonts(ws)
    checks.append(check_subsetting())
    if ws is None:
        checks.append(
            Check(
                "workspace",
                False,
                Notice(N_("not in a workspace; templates, database and audit log not checked")),
            )
        )
        return checks
    try:
        ws.config  # noqa: B018
        checks.append(Check("config", True, str(ws.config_path)))
    except ComplaintFormsError as exc:
        checks.append(Check("config", False, exc))
        return checks
    checks.append(check_templates(ws))
    checks.append(check_database(ws))
    checks.append(check_audit(ws))
    checks.append(check_form_font(ws))
    checks.append(check_render_server(ws))
    checks.append(check_command_server())
    return checks


def check_form_font(ws: Workspace) -> Check:
    """Informational: a missing compact font only makes PDFs slower and larger."""
    from complaintforms.documents.fonts import form_font

    font = form_font(ws.config.font_sans)
    if font is None:
        return Check(
            "form-font",
            True,
            Notice(
                N_(
                    "no compact copy of {font} (font or HarfBuzz subsetter missing, or no "
                    "writable cache): PDFs embed the installed font, about 40 % slower"
                ),
                font=ws.config.font_sans,
            ),
        )
    return Check(
        "form-font",
        True,
        Notice(N_("GB 2312 copy of {font} at {path}"), font=font.source, path=str(font.path)),
    )


def check_render_server(ws: Workspace) -> Check:
    from complaintforms.documents import server as renderd

    if not renderd.enabled():
        return Check("render-server", True, Notice(N_("off (COMPLAINTFORMS_RENDER_SERVER=0)")))
    info = renderd.status(ws.forms_dir, ws.config.font_sans)
    if info is None:
        return Check(
            "render-server",
            True,
            Notice(N_("not running; the next command that renders a form starts it")),
        )
    return Check(
        "render-server",
        True,
        Notice(
            N_("running, pid {pid}, {served} documents served"),
            pid=info["pid"],
            served=info["served"],
        ),
    )


def check_command_server() -> Check:
    from complaintforms import runtime

    if not runtime.enabled():
        return Check("command-server", True, Notice(N_("off (COMPLAINTFORMS_COMMAND_SERVER=0)")))
    info = runtime.status()
    if info is None:
        return Check(
            "command-server",
            True,
            Notice(N_("not running; the next command starts it for the commands after it")),
        )
    return Check(
        "command-server",
        True,
        Notice(
            N_("running, pid {pid}; commands started: {served}"),
            pid=info["pid"],
            served=info["served"],
        ),
    )
