"""Commands of the workspace, registration, case lookup, import and export, and forms:
each parses its options, calls one library function and prints."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from complaintforms.cli.base import (
    CHANNELS,
    CFGroup,
    State,
    by_option,
    case,
    cli,
    emit,
    pass_state,
    progress_bar,
    shown,
    tr,
)
from complaintforms.cli.display import label
from complaintforms.i18n import N_, _


@cli.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False))
@pass_state
def init(state: State, directory: str) -> None:
    """Create a workspace in DIRECTORY (config, forms/, records/) from the defaults."""
    from complaintforms.workspace import init_workspace

    ws = init_workspace(Path(directory))
    emit(
        state,
        {"workspace": str(ws.root), "id": ws.workspace_id},
        tr(
            "workspace created: {root}\n  edit {config} for your organisation",
            root=ws.root,
            config=ws.config_path.name,
        ),
    )


@cli.command()
@pass_state
def doctor(state: State) -> None:
    """Check fonts, PDF font subsetting, templates, database and audit log."""
    from complaintforms.errors import WorkspaceError
    from complaintforms.services.doctor import run_doctor

    try:
        ws = state.ws
    except WorkspaceError:
        ws = None
    checks = run_doctor(ws)
    lines = [
        f"{'FAIL' if not c.ok else 'warn' if c.warning else 'ok  '}  {c.name}: {shown(c.detail)}"
        for c in checks
    ]
    emit(
        state,
        {"ok": all(c.ok for c in checks), "checks": [c.as_dict() for c in checks]},
        "\n".join(lines),
    )
    if not all(c.ok for c in checks):
        sys.exit(1)


@cli.command()
@click.argument("directory", default="complaintforms-demo", type=click.Path(file_okay=False))
@pass_state
def demo(state: State, directory: str) -> None:
    """Run the procedure on sample cases in a fresh workspace DIRECTORY; print every output."""
    from complaintforms.services.demo import run_demo

    def tick(text: str) -> None:
        if not state.json:
            click.echo(text, err=True)

    result = run_demo(Path(directory), progress=tick)
    lines = [tr("workspace: {path}", path=result["workspace"])]
    for item in result["cases"]:
        lines.append(
            f"{item['case_no']}  {label('status', item['status'])}  "
            f"({label('channel', item['channel'])}, {label('target_type', item['target'])})"
        )
        lines += [f"    {path}" for path in item["documents"]]
        lines += ["    " + tr("scan: {path}", path=path) for path in item["scans"]]
    scans = result["scans"]
    lines.append(
        tr(
            "scans: {matched} matched, {unmatched} unmatched",
            matched=len(scans["matched"]),
            unmatched=len(scans["unmatched"]),
        )
    )
    root = Path(result["workspace"])
    lines += [
        "    "
        + tr("unmatched: {path} ({reason})", path=root / u["path"], reason=shown(u["reason"]))
        for u in scans["unmatched"]
    ]
    lines += [tr("bundle: {path}", path=path) for path in result["bundles"]]
    lines += [tr("transfer list: {path}", path=path) for path in result["transfer_list"]]
    lines.append(tr("verified: {n} bundles, no problems", n=result["verified"]))
    lines += [tr("register: {path}", path=path) for path in result["register"]]
    lines += [tr("report: {path}", path=path) for path in result["report"]]
    lines.append(tr("records: {path}", path=result["records"]))
    emit(state, result, "\n".join(lines))


# -- cases --------------------------------------------------------------------------------------------------


def _load_input(path: str) -> dict:
    """The case in FILE (or standard input), JSON or else YAML, read strictly (a key given
    twice, nesting past any case's depth are refused); the sections that are mappings are
    checked as such here, since the flags are merged into them before validation."""
    from complaintforms.errors import ValidationError
    from complaintforms.services.ledger import parse_json, parse_yaml, read_source

    text = read_source(path)
    try:
        data = parse_json(text, path)
    except json.JSONDecodeError:
        import yaml

        try:
            data = parse_yaml(text, path)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" (line {mark.line + 1})" if mark else ""
            raise ValidationError(
                N_("{path}: neither JSON nor valid YAML{where}"), path=path, where=where
            ) from None
    if not isinstance(data, dict):
        raise ValidationError(N_("{path}: expected one case (a mapping of fields)"), path=path)
    for section in ("complainant", "target", "extra"):
        if data.get(section) is not None and not isinstance(data[section], dict):
            raise ValidationError(N_("{field}: must be a mapping"), field=section)
    return data


@case.command("new")
@click.option(
    "--from",
    "source",
    metavar="FILE",
    help="Read the case from a YAML or JSON file ('-' for stdin).",
)
@click.option("--kind", help="inquiry|suggestion|complaint (咨询 建议 投诉); default complaint.")
@click.option("--channel", help=f"How it came in: {CHANNELS}.")
@click.option(
    "--at",
    "received_at",
    metavar="TIME",
    help="When it was received (default now); earlier times are flagged 补办记录.",
)
# Not from the environment here: a file's recorded_by comes before $COMPLAINTFORMS_USER.
@by_option("Who records it (记录人).", "recorded_by", required=False, envvar=None)
@click.option("--name", help="Complainant's name.")
@click.option("--phone", help="Complainant's phone.")
@click.option("--address", help="Complainant's address.")
@click.option("--anonymous", is_flag=True, default=None, help="The complainant gave no name.")
@click.option(
    "--confidential",
    is_flag=True,
    default=None,
    help="The complainant asked to be kept confidential (要求保密).",
)
@click.option(
    "--target", "target_type", help="company|department|staff (对公司 对部门 对业务代表)."
)
@click.option("--department", help="Department complained about (code or name).")
@click.option("--staff", help="Staff member complained about.")
@click.option("--category", help="Category from the config.")
@click.option("--severity", help="general|major (一般 重大).")
@click.option("--content", help="What the complaint says (投诉内容).")
@click.option("--demand", help="What the complainant asks for (投诉要求).")
@click.option(
    "--late-entry", is_flag=True, default=None, help="Flag as recorded after the fact (补办记录)."
)
@click.option(
    "--extra",
    multiple=True,
    metavar="KEY=VALUE",
    help="A configured extra field, e.g. plate=浙A12345.",
)
@click.option(
    "--first-receiver",
    metavar="NAME",
    help="Who first took the complaint (首问负责人): any employee's name.",
)
@click.option(
    "--complainant-count",
    metavar="N",
    help="How many people complain together (投诉人数, default 1); at the configured "
    "group_threshold or more it is a group complaint (群体投诉), major unless --severity is given.",
)
@pass_state
def case_new(state: State, source: str | None, **flags: Any) -> None:
    """Register a complaint (登记) and write its record card (pdf + docx)."""
    from complaintforms.errors import ValidationError
    from complaintforms.services.cases import register_case

    data: dict = _load_input(source) if source else {}
    simple = (
        "kind",
        "channel",
        "received_at",
        "recorded_by",
        "category",
        "severity",
        "content",
        "demand",
        "late_entry",
        "first_receiver",
        "complainant_count",
    )
    for key in simple:
        if flags.get(key) is not None:
            data[key] = flags[key]
    if not data.get("recorded_by") and os.environ.get("COMPLAINTFORMS_USER"):
        data["recorded_by"] = os.environ["COMPLAINTFORMS_USER"]
    comp = dict(data.get("complainant") or {})
    for key in ("name", "phone", "address", "anonymous", "confidential"):
        if flags.get(key) is not None:
            comp[key] = flags[key]
    if comp:
        data["complainant"] = comp
    tgt = dict(data.get("target") or {})
    for flag, key in (("target_type", "type"), ("department", "department"), ("staff", "staff")):
        if flags.get(flag) is not None:
            tgt[key] = flags[flag]
    if flags.get("staff") and not flags.get("target_type") and "type" not in tgt:
        tgt["type"] = "staff"
    elif flags.get("department") and not flags.get("target_type") and "type" not in tgt:
        tgt["type"] = "department"
    if tgt:
        data["target"] = tgt
    if flags["extra"]:
        extra = dict(data.get("extra") or {})
        for item in flags["extra"]:
            key, sep, value = item.partition("=")
            if not sep:
                raise ValidationError(
                    N_("{field}: {value} is not KEY=VALUE"), field="extra", value=repr(item)
                )
            extra[key.strip()] = value
        data["extra"] = extra
    case = register_case(state.ws, data)
    lines = [case["case_no"]]
    if not state.json:
        lines += [f"  {state.ws.local_path(d['path'])}" for d in case["documents"]]
    emit(state, case, "\n".join(lines))


@case.command("show")
@click.argument("case_no")
@pass_state
def case_show(state: State, case_no: str) -> None:
    """Show one case: every recorded field under its label."""
    from complaintforms.cli.display import case_text
    from complaintforms.services.cases import show_case

    case = show_case(state.ws, case_no)
    emit(state, case, case_text(case, state.ws.config))


def _filter(status, department, quarter, overdue, **lookup):
    """The listing's filter from the options of filter_options (and of lookup_options)."""
    from complaintforms.services.cases import CaseFilter

    return CaseFilter(
        status=status, department=department, quarter=quarter, overdue=overdue, **lookup
    )


def _options(func, options: list) -> Any:
    for option in reversed(options):
        func = option(func)
    return func


def filter_options(func):
    return _options(
        func,
        [
            click.option("--status", help="Only cases in this status (registered, assigned, ...)."),
            click.option("--department", help="Only cases routed to or about this department."),
            click.option(
                "--quarter", metavar="YYYYQn", help="Only cases received in this quarter."
            ),
            click.option("--overdue", is_flag=True, help="Only open cases past their due date."),
        ],
    )


def lookup_options(func):
    """Finding the case of a customer who calls (DESIGN.md section 13): the options beside
    filter_options, passed on to _filter as keywords."""
    return _options(
        func,
        [
            click.option(
                "--phone",
                metavar="NUMBER",
                help="Only cases of this complainant's phone: the whole number, however "
                "written (138 1234 5678, +86 13812345678), or its last 4 or more digits.",
            ),
            click.option(
                "--name", metavar="TEXT", help="Only cases whose complainant's name contains TEXT."
            ),
            click.option(
                "--month",
                metavar="YYYY-MM",
                help="Only cases received in this month (2026-11 or 2026年11月).",
            ),
            click.option("--category", help="Only cases of this category (from the config)."),
            click.option(
                "--text",
                metavar="TEXT",
                help="Only cases whose content, demand, findings, result or closing summary "
                "contains TEXT.",
            ),
        ],
    )


@case.command("list")
@filter_options
@lookup_options
@pass_state
def case_list(state: State, status, department, quarter, overdue, **lookup) -> None:
    """List cases; the filters given must all hold (a customer who calls: --phone, --name)."""
    from complaintforms.cli.display import list_text
    from complaintforms.services.cases import list_cases

    cases = list_cases(state.ws, _filter(status, department, quarter, overdue, **lookup))
    emit(state, cases, list_text(cases, state.ws.config))


@case.command("history")
@click.argument("case_no")
@pass_state
def case_history(state: State, case_no: str) -> None:
    """The audit events of one case."""
    from complaintforms.cli.display import history_text
    from complaintforms.services.cases import case_history as history

    events = history(state.ws, case_no)
    emit(state, events, history_text(events))


@case.command("import")
@click.argument("file")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "yaml", "csv"]),
    help="Default: from the file name.",
)
@click.option(
    "--pattern",
    metavar="PATTERN",
    help="The numbering of a legacy ledger, e.g. KS{year}{seq:04d} (default: the workspace's).",
)
@by_option("Who imports (for the audit log).")
@pass_state
def case_import(state: State, file: str, fmt: str | None, by: str, pattern: str | None) -> None:
    """Import (migrate) cases from JSON, YAML or CSV: all records or none."""
    from complaintforms.services.ledger import import_file

    bar = None

    def on_total(n: int) -> None:
        nonlocal bar
        bar = progress_bar(state, _("importing"), n)
        bar.__enter__()

    try:
        numbers = import_file(
            state.ws,
            file,
            fmt,
            by=by,
            progress=lambda n: bar.update(n),
            on_total=on_total,
            pattern=pattern,
        )
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    emit(
        state,
        {"imported": len(numbers), "cases": numbers},
        tr("imported {n} cases", n=len(numbers)),
    )


@case.command("export")
@click.option(
    "--format", "fmt", type=click.Choice(["json", "yaml", "csv"]), default="json", show_default=True
)
@click.option(
    "--output", "-o", metavar="FILE", help="Write to FILE (atomically) instead of stdout."
)
@filter_options
@pass_state
def case_export(
    state: State, fmt: str, output: str | None, status, department, quarter, overdue
) -> None:
    """Export cases as JSON, YAML or CSV (the shape that import reads)."""
    from complaintforms.services.ledger import export_cases
    from complaintforms.storage.localfiles import atomic_write

    text = export_cases(state.ws, fmt, _filter(status, department, quarter, overdue))
    if output:
        atomic_write(Path(output), text.encode("utf-8"))
        if state.json:
            emit(state, {"output": output, "format": fmt})
    else:
        click.echo(text, nl=False)


# -- forms ----------------------------------------------------------------------------------------------------
@cli.group(cls=CFGroup)
def form() -> None:
    """Render printed forms."""


@form.command("render")
@click.argument("form_name", metavar="FORM")
@click.argument("case_nos", nargs=-1, metavar="CASE...")
@click.option("--all", "all_cases", is_flag=True, help="Every case (not signed off).")
@click.option("--status", help="With --all: only cases in this status.")
@click.option(
    "--format",
    "formats",
    default="pdf,docx",
    show_default=True,
    help="pdf, docx, html (comma-separated).",
)
@by_option("Who renders (for the audit log).")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    help="Render processes for a batch (default: one per core).",
)
@pass_state
def form_render(
    state: State,
    form_name: str,
    case_nos: tuple[str, ...],
    all_cases: bool,
    status: str | None,
    formats: str,
    by: str,
    workers: int | None,
) -> None:
    """(Re-)render FORM (e.g. record_card) for CASE... or --all."""
    from complaintforms.documents.forms import get_form
    from complaintforms.documents.pipeline import parse_formats
    from complaintforms.services.cases import render_forms

    if bool(case_nos) == all_cases:
        raise click.UsageError(_("give case numbers or --all (not both)"))
    if status and not all_cases:
        raise click.UsageError(_("--status goes with --all"))
    fmts = parse_formats(formats)
    get_form(form_name, case_form=True)  # fail before the progress bar starts
    bar = None

    def on_total(n: int) -> None:
        nonlocal bar
        bar = progress_bar(state, tr("rendering {form}", form=form_name), n)
        bar.__enter__()

    try:
        docs = render_forms(
            state.ws,
            form_name,
            None if all_cases else case_nos,
            formats=fmts,
            status=status,
            by=by,
            progress=lambda n: bar.update(n),
            on_total=on_total,
            workers=workers,
        )
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    emit(
        state,
        docs,
        "\n".join(str(state.ws.local_path(d["path"])) for d in docs) or _("nothing to render"),
    )


@cli.group(cls=CFGroup)
def forms() -> None:
    """Check the workspace's form templates."""


@forms.command("check")
@pass_state
def forms_check(state: State) -> None:
    """Check every template against its form's fields (and for IME-typed tags)."""
    from complaintforms.documents.check import check_forms

    problems = check_forms(state.ws.forms_dir)
    emit(
        state,
        {"ok": not problems, "problems": [str(p) for p in problems]},
        "\n".join(shown(p) for p in problems) or _("all templates match their forms"),
    )
    if problems:
        sys.exit(1)


# The other command groups live in their own modules; importing them adds their commands.
