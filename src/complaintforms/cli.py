"""The command line: parse, call one library function, print, map errors to exit codes.

Heavy modules (WeasyPrint, docxtpl, TinyDB) are imported inside the commands so that
`complaintforms --help` stays fast.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from .errors import ComplaintFormsError

CHANNELS = "phone|letter|visit|email|web|wechat|opinion_book (or 来电 来信 来访 电子邮件 网站留言 微信 意见簿)"


class CFGroup(click.Group):
    """Maps the library's exceptions to a one-line message and exit 1, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except ComplaintFormsError as exc:
            click.echo(f"complaintforms: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("complaintforms: interrupted", err=True)
            ctx.exit(130)
        except Exception as exc:  # a bug: still one line, with a way to see more
            if os.environ.get("COMPLAINTFORMS_DEBUG"):
                raise
            click.echo(
                f"complaintforms: internal error: {type(exc).__name__}: {exc} "
                "(set COMPLAINTFORMS_DEBUG=1 for the traceback)",
                err=True,
            )
            ctx.exit(1)


class State:
    def __init__(self, workspace: str | None, as_json: bool):
        self.workspace_arg = workspace
        self.json = as_json
        self._ws = None

    @property
    def ws(self):
        if self._ws is None:
            from .workspace import Workspace

            self._ws = Workspace.open(self.workspace_arg)
        return self._ws


pass_state = click.make_pass_decorator(State)


def emit(state: State, data: Any, text: str | None = None) -> None:
    """--json prints machine-readable data only; otherwise the text form."""
    if state.json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
    elif text is not None:
        click.echo(text)


class _NoBar:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, n: int) -> None:
        pass


def progress_bar(state: State, label: str, length: int):
    """A progress bar on stderr when a person is watching; silent in scripts and pipes."""
    if not sys.stderr.isatty():
        return _NoBar()
    return click.progressbar(length=length, label=label, file=sys.stderr, show_pos=True)


@click.group(cls=CFGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--workspace",
    "-w",
    metavar="DIR",
    envvar="COMPLAINTFORMS_WORKSPACE",
    help="Workspace folder (default: $COMPLAINTFORMS_WORKSPACE or the current folder).",
)
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON only on stdout.")
@click.version_option(package_name="complaintforms")
@click.pass_context
def cli(ctx: click.Context, workspace: str | None, as_json: bool) -> None:
    """complaintforms: the customer-complaint procedure (客户投诉管理制度) on paper and PDF.

    Register complaints, print the forms that route them, keep the records safe.
    """
    ctx.obj = State(workspace, as_json)


# -- workspace -----------------------------------------------------------------------------------------
@cli.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False))
@pass_state
def init(state: State, directory: str) -> None:
    """Create a workspace in DIRECTORY (config, forms/, records/) from the defaults."""
    from .workspace import init_workspace

    ws = init_workspace(Path(directory))
    emit(
        state,
        {"workspace": str(ws.root), "id": ws.workspace_id},
        f"workspace created: {ws.root}\n  edit {ws.config_path.name} for your organisation",
    )


@cli.command()
@pass_state
def doctor(state: State) -> None:
    """Check fonts, PDF font subsetting, templates, database and audit log."""
    from .doctor import run_doctor
    from .errors import WorkspaceError

    try:
        ws = state.ws
    except WorkspaceError:
        ws = None
    checks = run_doctor(ws)
    lines = [f"{'ok  ' if c.ok else 'FAIL'}  {c.name}: {c.detail}" for c in checks]
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
    from .demo import run_demo

    def tick(text: str) -> None:
        if not state.json:
            click.echo(text, err=True)

    result = run_demo(Path(directory), progress=tick)
    lines = [f"workspace: {result['workspace']}"]
    for case in result["cases"]:
        lines.append(
            f"{case['case_no']}  {case['status']}  ({case['channel']}, against {case['target']})"
        )
        lines += [f"    {path}" for path in case["documents"]]
        lines += [f"    scan: {path}" for path in case["scans"]]
    scans = result["scans"]
    lines.append(f"scans:     {len(scans['matched'])} matched, {len(scans['unmatched'])} unmatched")
    root = Path(result["workspace"])
    lines += [f"    unmatched: {root / u['path']} ({u['reason']})" for u in scans["unmatched"]]
    lines += [f"bundle:    {path}" for path in result["bundles"]]
    lines += [f"transfer list: {path}" for path in result["transfer_list"]]
    lines.append(f"verified:  {result['verified']} bundles, no problems")
    lines += [f"register:  {path}" for path in result["register"]]
    lines += [f"report:    {path}" for path in result["report"]]
    lines.append(f"records:   {result['records']}")
    emit(state, result, "\n".join(lines))


# -- cases --------------------------------------------------------------------------------------------------
@cli.group(cls=CFGroup)
def case() -> None:
    """Register, show, list, import and export complaint cases."""


def _load_input(path: str) -> dict:
    from .errors import ValidationError
    from .ledger import read_source

    text = read_source(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" (line {mark.line + 1})" if mark else ""
            raise ValidationError(f"{path}: neither JSON nor valid YAML{where}") from None
    if not isinstance(data, dict):
        raise ValidationError(f"{path}: expected one case (a mapping of fields)")
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
@click.option("--by", "recorded_by", metavar="NAME", help="Who records it (记录人).")
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
@pass_state
def case_new(state: State, source: str | None, **flags: Any) -> None:
    """Register a complaint (登记) and write its record card (pdf + docx)."""
    from .cases import register_case
    from .errors import ValidationError

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
    )
    for key in simple:
        if flags.get(key) is not None:
            data[key] = flags[key]
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
                raise ValidationError(f"--extra: {item!r} is not KEY=VALUE")
            extra[key.strip()] = value
        data["extra"] = extra
    case = register_case(state.ws, data)
    lines = [case["case_no"]]
    if not state.json:
        lines += [f"  {state.ws.root / d['path']}" for d in case["documents"]]
    emit(state, case, "\n".join(lines))


@case.command("show")
@click.argument("case_no")
@pass_state
def case_show(state: State, case_no: str) -> None:
    """Show one case."""
    from .cases import show_case
    from .display import case_text

    case = show_case(state.ws, case_no)
    emit(state, case, case_text(case, state.ws.config))


def _filter(status, department, quarter, overdue):
    from .cases import CaseFilter

    return CaseFilter(status=status, department=department, quarter=quarter, overdue=overdue)


def filter_options(func):
    for option in reversed(
        [
            click.option("--status", help="Only cases in this status (registered, assigned, ...)."),
            click.option("--department", help="Only cases routed to or about this department."),
            click.option(
                "--quarter", metavar="YYYYQn", help="Only cases received in this quarter."
            ),
            click.option("--overdue", is_flag=True, help="Only open cases past their due date."),
        ]
    ):
        func = option(func)
    return func


@case.command("list")
@filter_options
@pass_state
def case_list(state: State, status, department, quarter, overdue) -> None:
    """List cases (filters: --status --department --quarter --overdue)."""
    from .cases import list_cases
    from .display import list_text

    cases = list_cases(state.ws, _filter(status, department, quarter, overdue))
    emit(state, cases, list_text(cases))


@case.command("history")
@click.argument("case_no")
@pass_state
def case_history(state: State, case_no: str) -> None:
    """The audit events of one case."""
    from .cases import case_history as history
    from .display import history_text

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
@click.option("--by", default="import", show_default=True, help="Who imports (for the audit log).")
@pass_state
def case_import(state: State, file: str, fmt: str | None, by: str) -> None:
    """Import (migrate) cases from JSON, YAML or CSV: all records or none."""
    from .ledger import detect_format, import_cases, read_source

    ws = state.ws
    fmt = detect_format(file, fmt)
    text = read_source(file)
    bar = None

    def on_total(n: int) -> None:
        nonlocal bar
        bar = progress_bar(state, "importing", n)
        bar.__enter__()

    try:
        numbers = import_cases(
            ws, text, fmt, source=file, by=by, progress=lambda n: bar.update(n), on_total=on_total
        )
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    emit(state, {"imported": len(numbers), "cases": numbers}, f"imported {len(numbers)} cases")


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
    from .ledger import export_cases
    from .storage import atomic_write

    text = export_cases(state.ws, fmt, _filter(status, department, quarter, overdue))
    if output:
        atomic_write(Path(output), text.encode("utf-8"))
        if state.json:
            emit(state, {"output": output, "format": fmt})
    else:
        click.echo(text, nl=False)


# -- the routing procedure ---------------------------------------------------------------------------------
def step_options(func):
    """--at and --by, which every step that records a paper event takes."""
    func = click.option(
        "--by", required=True, metavar="NAME", help="Who did it (for the record and the audit log)."
    )(func)
    func = click.option(
        "--at",
        metavar="TIME",
        help="When it happened on paper (default now; not in the future, not before the previous step).",
    )(func)
    return func


def report_step(state: State, result, headline: str) -> None:
    for warning in result.warnings:
        click.echo(f"complaintforms: warning: {warning}", err=True)
    lines = [headline] + [f"  {state.ws.root / d['path']}" for d in result.documents]
    emit(state, result.as_dict(), "\n".join(lines))


@case.command("accept")
@click.argument("case_no", metavar="CASE")
@click.option("--department", required=True, help="Responsible department (code or name).")
@click.option("--handler", help="Who handles it (default: the department's head).")
@click.option(
    "--special", is_flag=True, help="A special case: the longer deadline (deadlines.special)."
)
@click.option("--severity", help="general|major (一般 重大).")
@click.option("--category", help="Category from the config.")
@click.option("--validity", help="valid|invalid|malicious (有效 无效 恶意).")
@step_options
@pass_state
def case_accept(state: State, case_no: str, at, by, **options) -> None:
    """Accept a case (受理) and route it to a department; sets the due date in working days."""
    from .procedure import accept_case

    result = accept_case(state.ws, case_no, at=at, by=by, **options)
    a = result.case["assignment"]
    report_step(
        state, result, f"{case_no} assigned to {a['department']} ({a['handler']}), due {a['due']}"
    )


@case.command("reject")
@click.argument("case_no", metavar="CASE")
@click.option("--reason", required=True, help="Why it is not accepted; quoted in the reply letter.")
@click.option("--validity", help="valid|invalid|malicious (有效 无效 恶意).")
@step_options
@pass_state
def case_reject(state: State, case_no: str, at, by, reason, validity) -> None:
    """Do not accept a case (不受理); writes the reply letter to the complainant (pdf + docx)."""
    from .procedure import reject_case

    result = reject_case(state.ws, case_no, at=at, by=by, reason=reason, validity=validity)
    report_step(state, result, f"{case_no} rejected; reply letter:")


@case.command("callback")
@click.argument("case_no", metavar="CASE")
@click.option(
    "--satisfaction",
    required=True,
    help="satisfied|basically_satisfied|dissatisfied (满意 基本满意 不满意).",
)
@click.option("--note", help="What the complainant said.")
@step_options
@pass_state
def case_callback(state: State, case_no: str, at, by, satisfaction, note) -> None:
    """Record the call back (回访) to the complainant."""
    from .procedure import callback_case

    result = callback_case(state.ws, case_no, at=at, by=by, satisfaction=satisfaction, note=note)
    report_step(state, result, f"{case_no} called back: {result.case['callback']['satisfaction']}")


@case.command("reopen")
@click.argument("case_no", metavar="CASE")
@click.option("--reason", required=True, help="Why the case goes back to its department.")
@step_options
@pass_state
def case_reopen(state: State, case_no: str, at, by, reason) -> None:
    """Reopen a followed-up or closed case: back to its department with a new due date."""
    from .procedure import reopen_case

    result = reopen_case(state.ws, case_no, at=at, by=by, reason=reason)
    report_step(state, result, f"{case_no} reopened, due {result.case['assignment']['due']}")


@case.command("close")
@click.argument("case_no", metavar="CASE")
@click.option("--summary", required=True, help="Summary and improvement measures (结案).")
@click.option("--cause", help="The cause found.")
@click.option(
    "--penalty",
    help="warning|minor_demerit|major_demerit (警告 小过 大过); amount from the config.",
)
@click.option("--penalty-person", help="Who is penalised.")
@click.option("--validity", help="valid|invalid|malicious (有效 无效 恶意).")
@step_options
@pass_state
def case_close(state: State, case_no: str, at, by, **options) -> None:
    """Close a case after its call back (结案)."""
    from .procedure import close_case

    result = close_case(state.ws, case_no, at=at, by=by, **options)
    report_step(state, result, f"{case_no} closed")


@case.command("signoff")
@click.argument("case_nos", nargs=-1, metavar="CASE...")
@click.option(
    "--quarter", metavar="YYYYQn", help="Every case closed in this quarter (the quarterly review)."
)
@step_options
@pass_state
def case_signoff(state: State, case_nos: tuple[str, ...], quarter: str | None, at, by) -> None:
    """The manager signs off closed cases (审核); signed-off cases can no longer be changed."""
    from .procedure import signoff_cases

    if bool(case_nos) == bool(quarter):
        raise click.UsageError("give case numbers or --quarter (not both)")
    signed = signoff_cases(state.ws, list(case_nos) or None, quarter=quarter, by=by, at=at)
    emit(
        state,
        signed,
        f"signed off {len(signed)} case(s): " + ", ".join(c["case_no"] for c in signed),
    )


@case.command("hold")
@click.argument("case_no", metavar="CASE")
@click.option("--reason", help="Why it must be kept (dispute, audit, litigation).")
@click.option("--release", is_flag=True, help="Lift the hold.")
@click.option("--by", required=True, metavar="NAME", help="Who puts or lifts the hold.")
@pass_state
def case_hold(state: State, case_no: str, reason: str | None, release: bool, by: str) -> None:
    """Keep a case's archive bundle past its retention period (never purged while held)."""
    from .archive import set_hold

    result = set_hold(state.ws, case_no, by=by, reason=reason, release=release)
    emit(state, result, f"{case_no}: {'hold lifted' if release else 'under hold'}")


@cli.group(cls=CFGroup)
def archive() -> None:
    """Sealed archive bundles (BagIt, zipped, SHA-256) for auditors."""


@archive.command("build")
@click.argument("case_nos", nargs=-1, metavar="CASE...")
@click.option(
    "--quarter",
    metavar="YYYYQn",
    help="Every signed-off case closed in this quarter; also writes the transfer list.",
)
@click.option("--by", required=True, metavar="NAME", help="Who seals the bundles.")
@pass_state
def archive_build(state: State, case_nos: tuple[str, ...], quarter: str | None, by: str) -> None:
    """Seal signed-off cases into bundles under records/archive/YYYY/Qn/."""
    from .archive import build

    if bool(case_nos) == bool(quarter):
        raise click.UsageError("give case numbers or --quarter (not both)")
    result = build(state.ws, list(case_nos) or None, quarter=quarter, by=by)
    lines = [
        f"{b['case_no']}  {state.ws.root / b['bundle']}  sha256 {b['sha256'][:16]}…"
        for b in result.bundles
    ]
    lines += [f"transfer list: {state.ws.root / d['path']}" for d in result.transfer_list]
    emit(
        state, {"bundles": result.bundles, "transfer_list": result.transfer_list}, "\n".join(lines)
    )


@archive.command("list")
@click.option("--quarter", metavar="YYYYQn", help="Closed in this quarter.")
@click.option("--department", help="Routed to or about this department.")
@pass_state
def archive_list(state: State, quarter: str | None, department: str | None) -> None:
    """List archived cases and their bundles."""
    from .archive import list_bundles

    rows = list_bundles(state.ws, quarter=quarter, department=department)
    emit(state, rows, "\n".join(_bundle_line(r) for r in rows) or "no bundles")


def _bundle_line(r: dict) -> str:
    gone = "  (disposed)" if r["disposed"] else ""
    return f"{r['case_no']}  closed {r['closed_at'][:10]}  {r['department'] or '-'}  {r['category'] or '-'}  {r['bundle']}{gone}"


@archive.command("search")
@click.option("--case", "case_no", help="Case number (or part of it).")
@click.option("--complainant", help="Complainant's name (or part of it).")
@click.option("--department", help="Department code or name.")
@click.option("--category", help="Category.")
@click.option("--text", help="Words in the content, demand, result or summary.")
@click.option("--from", "date_from", metavar="DATE", help="Received on or after.")
@click.option("--to", "date_to", metavar="DATE", help="Received on or before.")
@pass_state
def archive_search(state: State, **criteria) -> None:
    """Find archived cases by number, complainant, department, category, text or dates."""
    from .archive import search

    rows = search(state.ws, **criteria)
    emit(state, rows, "\n".join(_bundle_line(r) for r in rows) or "nothing found")


@archive.command("show")
@click.argument("ref", metavar="CASE|PATH")
@pass_state
def archive_show(state: State, ref: str) -> None:
    """A bundle's metadata and contents, without extracting it."""
    from .archive import show

    info = show(state.ws, ref)
    lines = [f"{info['bundle']}  sha256 {info['sha256']}"]
    lines += [f"  {k}: {v}" for k, v in info["bag_info"].items()]
    lines += [f"  {f['bytes']:>9}  {f['name']}" for f in info["files"]]
    emit(state, info, "\n".join(lines))


@archive.command("verify")
@click.argument("refs", nargs=-1, metavar="CASE|PATH...")
@click.option("--all", "all_bundles", is_flag=True, help="Every bundle in the workspace.")
@pass_state
def archive_verify(state: State, refs: tuple[str, ...], all_bundles: bool) -> None:
    """Check bundles: bag manifests, and the digests recorded on the case and in the audit log.
    Exit 1 naming every problem found."""
    from .archive import ArchiveVerificationError, verify

    if bool(refs) == all_bundles:
        raise click.UsageError("give bundles (case numbers or paths) or --all")
    try:
        result = verify(state.ws, None if all_bundles else list(refs))
    except ArchiveVerificationError as exc:
        emit(state, {"ok": False, "problems": exc.problems}, "\n".join(exc.problems))
        click.echo(f"complaintforms: {len(exc.problems)} problem(s) found", err=True)
        sys.exit(1)
    emit(state, {"ok": True, **result}, f"{result['verified']} bundle(s) verified, no problems")


@archive.command("extract")
@click.argument("ref", metavar="CASE|PATH")
@click.option(
    "--to",
    "target",
    required=True,
    type=click.Path(file_okay=False),
    help="Folder to extract into.",
)
@pass_state
def archive_extract(state: State, ref: str, target: str) -> None:
    """Unpack a bundle (refuses entries outside the folder, links and absolute paths)."""
    from .archive import extract

    result = extract(state.ws, ref, Path(target))
    emit(state, result, f"extracted {result['files']} files to {result['to']}")


@archive.command("purge")
@click.option("--dry-run", is_flag=True, help="Only list the bundles past their retention period.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--by", required=True, metavar="NAME", help="Who disposes of the bundles.")
@pass_state
def archive_purge(state: State, dry_run: bool, yes: bool, by: str) -> None:
    """Dispose of bundles past retention (from closing; major cases longer), entered in the
    disposal register (销毁清册); held cases are kept."""
    from .archive import purge

    def confirm(candidates: list[dict]) -> bool:
        if yes:
            return True
        if not sys.stdin.isatty():
            raise click.UsageError("confirm with --yes (no terminal to ask on)")
        for c in candidates:
            click.echo(f"  {c['case_no']}  kept until {c['retain_until']}  {c['bundle']}", err=True)
        return click.confirm(f"dispose of {len(candidates)} bundle(s)?", err=True)

    result = purge(state.ws, by=by, confirm=confirm, dry_run=dry_run)
    if dry_run:
        text = "\n".join(
            f"{c['case_no']}  kept until {c['retain_until']}  {c['bundle']}"
            for c in result["candidates"]
        )
        emit(state, result, text or "nothing past its retention period")
    else:
        lines = [f"disposed of {len(result['disposed'])} bundle(s)"]
        lines += [f"  register: {state.ws.root / d['path']}" for d in result["register"]]
        emit(state, result, "\n".join(lines))


@cli.group(cls=CFGroup)
def slip() -> None:
    """The handling feedback slip (三来处理反馈单): issue it, record its return."""


@slip.command("issue")
@click.argument("case_no", metavar="CASE")
@click.option("--by", required=True, metavar="NAME", help="Who issues it.")
@click.option("--format", "formats", default="pdf,docx", show_default=True, help="pdf, docx, html.")
@pass_state
def slip_issue(state: State, case_no: str, by: str, formats: str) -> None:
    """Issue the feedback slip for the responsible department (pdf + docx)."""
    from .documents import parse_formats
    from .procedure import issue_slip

    result = issue_slip(state.ws, case_no, by=by, formats=parse_formats(formats))
    report_step(state, result, f"{case_no} feedback slip:")


@slip.command("return")
@click.argument("case_no", metavar="CASE")
@click.option("--findings", required=True, help="调查情况.")
@click.option("--cause", help="原因分析.")
@click.option("--responsible", help="责任人.")
@click.option("--plan", required=True, help="处理方案.")
@click.option(
    "--approved-by", required=True, help="The supervisor who approved the plan (主管批示)."
)
@click.option("--approved-at", metavar="TIME", help="When the supervisor approved it.")
@click.option("--notified-at", metavar="TIME", help="When the customer was told.")
@click.option("--result", "result_text", required=True, help="处理结果.")
@click.option(
    "--customer-signed/--no-customer-signed",
    default=None,
    help="Did the complainant sign the slip (投诉人签字确认)?",
)
@click.option(
    "--scan",
    type=click.Path(dir_okay=False),
    help="The scanned returned slip (PDF or image) to attach.",
)
@step_options
@pass_state
def slip_return(
    state: State, case_no: str, at, by, result_text, customer_signed, scan, **options
) -> None:
    """Record what the returned slip says; the case is resolved."""
    from .procedure import return_slip

    if customer_signed is None:
        raise click.UsageError(
            "say whether the complainant signed: --customer-signed or --no-customer-signed"
        )
    result = return_slip(
        state.ws,
        case_no,
        at=at,
        by=by,
        result=result_text,
        customer_signed=customer_signed,
        scan=Path(scan) if scan else None,
        **options,
    )
    report_step(state, result, f"{case_no} resolved")


@cli.group(cls=CFGroup)
def letter() -> None:
    """The work contact letter (工作联系函) with its receipt stub."""


@letter.command("issue")
@click.argument("case_no", metavar="CASE")
@click.option("--to", help="Receiving department (default: the responsible one).")
@click.option("--by", required=True, metavar="NAME", help="Who sends it (发函人).")
@click.option("--format", "formats", default="pdf,docx", show_default=True, help="pdf, docx, html.")
@pass_state
def letter_issue(state: State, case_no: str, to: str | None, by: str, formats: str) -> None:
    """Issue the work contact letter, in duplicate with its 签收回执 (pdf + docx)."""
    from .documents import parse_formats
    from .procedure import issue_letter

    result = issue_letter(state.ws, case_no, by=by, to=to, formats=parse_formats(formats))
    report_step(state, result, f"{case_no} work contact letter:")


# -- scans ---------------------------------------------------------------------------------------------------
@cli.group(cls=CFGroup)
def scan() -> None:
    """Scanned returns: attach them to their cases by their QR codes."""


@scan.command("intake")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option(
    "--by", default="scan", show_default=True, help="Who takes the scans in (for the audit log)."
)
@pass_state
def scan_intake(state: State, paths: tuple[str, ...], by: str) -> None:
    """Take in scanned PDFs / images (files or folders): each page lands on its case and form
    by its QR code; pages that cannot be matched are kept under records/unmatched/ and reported."""
    from .intake import intake

    bar = None

    def on_total(n: int) -> None:
        nonlocal bar
        bar = progress_bar(state, "reading scans", n)
        bar.__enter__()

    try:
        report = intake(
            state.ws,
            [Path(p) for p in paths],
            by=by,
            progress=lambda n: bar.update(n),
            on_total=on_total,
        )
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    lines = [
        f"{len(report.matched)} matched, {len(report.unmatched)} unmatched, "
        f"{len(report.duplicates)} duplicates ({report.pages} pages)"
    ]
    for m in report.matched:
        lines.append(
            f"  matched    {m['case_no']} {m['form']}  {m['source']} p.{','.join(map(str, m['pages']))}"
        )
    for u in report.unmatched:
        lines.append(f"  unmatched  {u['source']} p.{u['page']}: {u['reason']}  -> {u['path']}")
    for d in report.duplicates:
        lines.append(
            f"  duplicate  {d['source']} p.{','.join(map(str, d.get('pages', [d.get('page')])))}"
        )
    emit(state, report.as_dict(), "\n".join(lines))


# -- the opinion register ---------------------------------------------------------------------------------------
@cli.group(cls=CFGroup)
def opinion() -> None:
    """Entries of the opinion book (意见簿) that are not complaint cases."""


@opinion.command("add")
@click.option("--content", required=True, help="What the customer wrote or said (意见内容).")
@click.option("--kind", help="opinion|praise|suggestion (意见 表扬 建议); default opinion.")
@click.option("--channel", help=f"Default opinion_book. {CHANNELS}.")
@click.option("--name", help="Customer (optional).")
@click.option("--phone", help="Contact (printed masked).")
@click.option("--confidential", is_flag=True, help="Mask the name in the register.")
@click.option("--department", help="Department concerned (code or name).")
@click.option("--handling", help="How it was handled (处理情况).")
@click.option("--reply-at", metavar="TIME", help="When the customer was answered.")
@click.option("--reply-how", help="How (电话, 书面, 当面 ...).")
@step_options
@pass_state
def opinion_add(state: State, by: str, **data) -> None:
    """Enter an opinion, praise or suggestion with its handling and reply."""
    from .opinions import add_opinion

    entry = add_opinion(state.ws, data, by=by)
    emit(state, entry, entry["id"])


@cli.group(cls=CFGroup)
def register() -> None:
    """The customer opinion register (顾客意见登记簿)."""


@register.command("render")
@click.option("--month", required=True, metavar="YYYY-MM", help="The month to list.")
@click.option("--department", help="Only this department's entries.")
@click.option("--by", default="客户服务中心", show_default=True, help="Who compiles it.")
@pass_state
def register_render(state: State, month: str, department: str | None, by: str) -> None:
    """The month's register, cases and opinion entries, as PDF and docx for the branch head."""
    from .opinions import render_register

    result = render_register(state.ws, month, department=department, by=by)
    lines = [f"{result['entries']} entries"] + [
        f"  {state.ws.root / d['path']}" for d in result["documents"]
    ]
    emit(state, result, "\n".join(lines))


# -- reports ----------------------------------------------------------------------------------------------------
@cli.group(cls=CFGroup)
def report() -> None:
    """The monthly summary and the quarterly statistics report (季度投诉统计报告)."""


def _report(state: State, period: str, as_of: str | None, formats: str, by: str) -> None:
    from .reports import build_report

    fmts = tuple(f.strip().lower() for f in formats.split(",") if f.strip())
    unknown = [f for f in fmts if f not in ("pdf", "docx", "html", "csv")]
    if unknown or not fmts:
        raise click.UsageError(
            f"--format: pdf, docx, html, csv (not {', '.join(unknown) or 'nothing'})"
        )
    result = build_report(state.ws, period, as_of=as_of, by=by, formats=fmts)
    rate = result["on_time_rate"]
    lines = [
        f"{result['period']}: {result['total']} cases (previous {result['previous_period_total']}, "
        f"same period last year {result['same_period_last_year_total']}); on time "
        f"{'—' if rate is None else f'{rate:.1%}'}; {result['overdue_open']} overdue open",
    ] + [f"  {state.ws.root / f['path']}" for f in result["files"]]
    emit(state, result, "\n".join(lines))


report_options = [
    click.option(
        "--as-of", metavar="DATE", help="Count overdue cases as of this date (default today)."
    ),
    click.option(
        "--format",
        "formats",
        default="pdf,docx,csv",
        show_default=True,
        help="pdf, docx, html, csv.",
    ),
    click.option("--by", default="客户服务中心", show_default=True, help="Who compiles it."),
]


def with_report_options(func):
    for option in reversed(report_options):
        func = option(func)
    return func


@report.command("monthly")
@click.argument("month", metavar="YYYY-MM")
@with_report_options
@pass_state
def report_monthly(state: State, month: str, as_of, formats, by) -> None:
    """The month's summary: every figure, with charts; --json prints the figures."""
    import re

    if not re.fullmatch(r"\d{4}-\d{2}", month):
        raise click.UsageError(f"{month!r} is not a month like 2026-11")
    _report(state, month, as_of, formats, by)


@report.command("quarterly")
@click.argument("quarter", metavar="YYYYQn")
@with_report_options
@pass_state
def report_quarterly(state: State, quarter: str, as_of, formats, by) -> None:
    """The quarterly statistics report: every figure, tables, charts; --json prints the figures."""
    import re

    if not re.fullmatch(r"\d{4}[Qq][1-4]", quarter):
        raise click.UsageError(f"{quarter!r} is not a quarter like 2026Q4")
    _report(state, quarter, as_of, formats, by)


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
@click.option("--by", default="system", help="Who renders (for the audit log).")
@pass_state
def form_render(
    state: State,
    form_name: str,
    case_nos: tuple[str, ...],
    all_cases: bool,
    status: str | None,
    formats: str,
    by: str,
) -> None:
    """(Re-)render FORM (e.g. record_card) for CASE... or --all."""
    from .cases import render_forms
    from .documents import parse_formats

    if bool(case_nos) == all_cases:
        raise click.UsageError("give case numbers or --all (not both)")
    if status and not all_cases:
        raise click.UsageError("--status goes with --all")
    from .forms import get_form

    fmts = parse_formats(formats)
    ws = state.ws
    get_form(form_name, case_form=True)  # fail before the progress bar starts
    if all_cases:
        from .cases import CaseFilter, iter_cases

        total = sum(
            1
            for c in iter_cases(ws, CaseFilter(status=status))
            if c["status"] not in ("signed_off", "archived")
        )
    else:
        total = len(set(case_nos))
    with progress_bar(state, f"rendering {form_name}", total) as bar:
        docs = render_forms(
            ws,
            form_name,
            None if all_cases else case_nos,
            formats=fmts,
            status=status,
            by=by,
            progress=bar.update,
        )
    emit(state, docs, "\n".join(str(ws.root / d["path"]) for d in docs) or "nothing to render")


@cli.group(cls=CFGroup)
def forms() -> None:
    """Check the workspace's form templates."""


@forms.command("check")
@pass_state
def forms_check(state: State) -> None:
    """Check every template against its form's fields (and for IME-typed tags)."""
    from .formcheck import check_forms

    problems = check_forms(state.ws.forms_dir)
    emit(
        state,
        {"ok": not problems, "problems": [str(p) for p in problems]},
        "\n".join(str(p) for p in problems) or "all templates match their forms",
    )
    if problems:
        sys.exit(1)


def main() -> None:
    cli(prog_name="complaintforms")


if __name__ == "__main__":
    main()
